"""The lab as the end-to-end test (docs/lab.md): one `python -m fabric_lab --site-checks --discover
--transfer-load --quick-reboot --switch kea,dnsmasq` run, asserted here per boot path, for
site.yml's own check mode and idempotence, for each live switch of the DHCP backend, for the
transfer load and for a quick reboot's reconnect.

The lab boots every VM once; the tests below only read its results, so a failing path shows up
as its own failed test with the check that failed, and no path is booted twice.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from fabric_lab import backends, paths  # noqa: E402

SWITCHES = ("kea", "dnsmasq")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab") / "lab.json"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lab"))
    env.pop("KEEP", None)
    env.pop("DHCP", None)
    proc = subprocess.run([sys.executable, "-m", "fabric_lab", "--site-checks", "--discover", "--transfer-load", "--quick-reboot",
                           "--switch", ",".join(SWITCHES), "--json", str(out)],
                          cwd=ROOT, env=env, text=True, capture_output=True, timeout=3600, check=False)
    print(proc.stdout[-6000:])
    assert out.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    results = json.loads(out.read_text())
    results["output"] = proc.stdout
    return results


def test_site_check_mode_and_idempotence(lab):
    site = lab["site"]
    assert site.get("check", {}).get("rc") == 0, lab["output"][-4000:]
    assert site.get("run", {}).get("rc") == 0, lab["output"][-4000:]
    assert site.get("rerun", {}).get("recap", {}).get("changed") == 0, site


@pytest.mark.parametrize("name", [p.name for p in paths.PATHS] + ["discovered"]
                         + ["%s@%s" % (backends.SWITCH_PATH, b) for b in SWITCHES])
def test_boot_path(lab, name):
    got = {r["path"]: r for r in lab["paths"]}
    assert name in got, "path %s was not booted\n%s" % (name, lab["output"][-4000:])
    failed = [c["what"] for c in got[name]["checks"] if not c["ok"]]
    assert not failed, "%s: %s\n%s" % (name, failed, lab["output"][-6000:])
    assert got[name]["passed"]


@pytest.mark.parametrize("kind", ["tftp", "http"])
def test_transfer_load(lab, kind):
    """Issue 10's transfer load on the lab's servers as site.yml left them: 50 TFTP clients (blksize
    1468), then 200 HTTP clients, all at once; every client gets the kernel and the initrd intact."""
    t = lab.get("transfer", {}).get(kind)
    assert t is not None, lab["output"][-4000:]
    assert t["clients"] == (50 if kind == "tftp" else 200), t["clients"]
    assert t["ok"] == t["clients"] and t["mismatch"] == 0, (t["ok"], t["mismatch"], t["errors"])


def test_quick_reboot_reconnect(lab):
    """A GRUB that powered off while closing its connection comes back on the same port: with the
    http_server role's tcp_orphan_retries its SYN is answered within GRUB's tries, with the
    kernel's default (same run, same server) it is not, so the probe itself can fail."""
    r = lab.get("reconnect")
    assert r is not None, lab["output"][-4000:]
    role, default = r["variants"]
    assert role.get("last_ack") and default.get("last_ack"), r     # the fault really happened
    assert role.get("answered_try"), r
    assert default.get("answered_try") is None and "error" not in default, r
    assert r["passed"]


def test_boot_status_knows_every_client(lab):
    """boot_status read the lab's logs, and found no client the inventory lacks (there is none)."""
    assert lab.get("status") is not None, lab["output"][-4000:]
    assert lab["status"]["unknown"] == [], lab["status"]["unknown"]


def test_discovery_round_trip(lab):
    """The unknown VM was refused, became exactly one node table row, and site.yml served it
    (its boot passing every check is test_boot_path[discovered])."""
    d = lab.get("discovery")
    assert d and "error" not in d, "%s\n%s" % (d, lab["output"][-4000:])
    assert d["discover_rc"] == 0 and d["site"]["rc"] == 0 and d["site"]["recap"].get("changed", 0) > 0, d
    (row,) = d["rows"]
    assert (row["mac"], row["type"], row["network"], row["groups"]) == ("52:54:00:fb:1a:f0", "ethernet", "lab", "lab_nodes")
    assert row["host"] == "lab-found001" and row["ipv4"] == "192.168.100.3", row


@pytest.mark.parametrize("backend", SWITCHES)
def test_live_backend_switch(lab, backend):
    """site.yml with another dhcp_server_backend on the live server, a DISCOVER every 0.1 s
    throughout: never two offers to one DISCOVER, a short gap, the new daemon answering at the
    end and the only one running (its boot through it is test_boot_path[uefi-tftp@<backend>])."""
    got = {sw["backend"]: sw for sw in lab.get("switches", [])}
    assert backend in got, lab["output"][-4000:]
    sw = got[backend]
    assert sw["rc"] == 0, lab["output"][-4000:]
    watch = sw["watch"]
    assert watch["probes"] > 100 and watch["answered"] > 0, watch
    assert watch["double"] == 0, watch
    assert watch["longest_gap_s"] < 20, watch
    assert watch["stretches"][-1]["last"] >= watch["duration_s"] - 5, watch
    # each daemon orders its offer's options its own way: the old one answered, then the new one
    assert len(watch["stretches"]) >= 2 and watch["stretches"][0]["signature"] != watch["stretches"][-1]["signature"], watch
    assert sw["active"] == dict((b, "active" if b == backend else "inactive") for b in backends.BACKENDS), sw["active"]
