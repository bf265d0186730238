"""fabric_lab.transfer.summarize: what the lab's transfer check counts as a client that got its files."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from fabric_lab import transfer  # noqa: E402

SUMS = {transfer.FILES[0]: "aa", transfer.FILES[1]: "bb"}


def client(idx, hashes, ok=True, error=None):
    files = [{"ok": ok, "bytes": 10, "sha256": h, "seconds": 1.0, "first_byte": 0.1, "error": error} for h in hashes]
    return {"client": idx, "files": files, "seconds": 2.0 + idx}


def test_every_client_with_both_files_intact_counts():
    s = transfer.summarize({"wall": 4.0, "clients": [client(0, ["aa", "bb"]), client(1, ["aa", "bb"])]}, SUMS)
    assert (s["clients"], s["ok"], s["mismatch"], s["errors"]) == (2, 2, 0, [])
    assert s["per_client"] == [2.0, 3.0] and s["mb_s"] == 40 / 1e6 / 4.0


def test_a_wrong_hash_a_missing_file_and_a_failed_fetch_do_not():
    rows = [client(0, ["aa", "xx"]),                       # the initrd arrived corrupted
            client(1, ["aa"]),                             # stopped after the kernel
            client(2, ["aa", None], ok=False, error="timeout"),
            client(3, ["aa", "bb"])]
    s = transfer.summarize({"wall": 1.0, "clients": rows}, SUMS)
    assert (s["clients"], s["ok"], s["mismatch"]) == (4, 1, 1)
    assert s["errors"] == ["timeout"]
