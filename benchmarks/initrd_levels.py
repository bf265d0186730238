"""What `compression_level` gives in fabric.boot.initrd, against the command-line tools.

The newc stream the module writes for an image (a rewrite with `compression: none`) is
compressed once by the module's own back end (compression.compress_chunks, what a rewrite
runs) at each level and once by the codec's command-line tool as an admin would call it
(`xz -9 --check=crc32`, `gzip -9`, `zstd -19`, ...), so both sides compress the same bytes.
The first release used a fixed 1 MiB xz dictionary whatever the level; that row is kept as
"before". Writes its table to docs/performance.md between the initrd-levels markers.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(ROOT, "plugins", "modules", "initrd.py")
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression  # noqa: E402
from perfdoc import replace_section  # noqa: E402

# (codec, module level or None for the default, the command line it is compared with)
CASES = [
    ("gzip", None, "gzip -n -9"),
    ("gzip", 6, "gzip -n -6"),
    ("xz", None, "xz --check=crc32 --lzma2=dict=1MiB"),
    ("xz", 6, "xz -6 --check=crc32"),
    ("xz", 9, "xz -9 --check=crc32"),
    ("zstd", None, "zstd -q -9"),
    ("zstd", 19, "zstd -q -19"),
]
BEFORE = ("xz", 9, "xz -T0 --check=crc32 --lzma2=preset=9,dict=1MiB")


def module_cpio(initrd, work):
    """The uncompressed member stream the module writes for initrd."""
    dest = os.path.join(work, "none.img")
    args = os.path.join(work, "args.json")
    with open(args, "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": {"src": initrd, "dest": dest, "compression": "none",
                                           "files": [{"dest": "etc/fabric-levels", "content": "x"}]}}, f)
    proc = subprocess.run([sys.executable, MODULE, args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(dest, "rb") as f:
        return f.read()


def timed(func):
    t0 = time.monotonic()
    size = func()
    return size, time.monotonic() - t0


def ours(data, fmt, level, work):
    path = os.path.join(work, "ours")
    with open(path, "wb") as out:
        compression.compress_chunks([data], fmt, level, out)
    return os.path.getsize(path)


def cli(data, cmd, work):
    src, path = os.path.join(work, "in.cpio"), os.path.join(work, "cli")
    if not os.path.exists(src):
        with open(src, "wb") as f:
            f.write(data)
    with open(src, "rb") as inp, open(path, "wb") as out:
        subprocess.run(cmd.split(), stdin=inp, stdout=out, check=True)
    return os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--initrd", required=True, help="a real initrd (dracut, initramfs-tools)")
    parser.add_argument("--label", help="how the table names the input")
    parser.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    opts = parser.parse_args()
    work = tempfile.mkdtemp(prefix="fb-initrd-levels-")
    try:
        data = module_cpio(opts.initrd, work)
        rows = []
        for fmt, level, cmd in CASES + [BEFORE]:
            if (fmt, level, cmd) == BEFORE:
                size, secs = timed(lambda: cli(data, cmd, work))
                rows.append(("before: xz 9 (1 MiB dictionary, first release)", size, secs, None, None, None))
                continue
            size, secs = timed(lambda: ours(data, fmt, level, work))
            ref, ref_secs = timed(lambda: cli(data, cmd, work))
            label = "%s %s" % (fmt, "default" if level is None else level)
            rows.append((label, size, secs, cmd, ref, ref_secs))
        load = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## initrd compression levels (`compression_level`)",
        "",
        "Written by `benchmarks/initrd_levels.py` on %s, %s, %d CPUs (load average %.1f; one run"
        " each, sizes are exact, times rough)." % (
            time.strftime("%Y-%m-%d"), platform.platform(), os.cpu_count(), load),
        "",
        "Input: %s, %.1f MB of newc as the module writes it; both columns compress the same bytes."
        % (opts.label or "`%s`" % opts.initrd, len(data) / 1e6),
        "",
        "| module level | module size | module s | command line | its size | module/CLI | CLI s |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for label, size, secs, cmd, ref, ref_secs in rows:
        if cmd is None:
            lines.append("| %s | %d | | | | | %.1f |" % (label, size, secs))
        else:
            lines.append("| %s | %d | %.1f | `%s` | %d | %+.2f%% | %.1f |" % (
                label, size, secs, cmd, ref, 100.0 * (size - ref) / ref, ref_secs))
    lines += ["", "Module times use the parallel tools (pigz, `xz -T0`, `zstd -T0`); the command"
              " lines run single-threaded, as written."]
    body = "\n".join(lines) + "\n"
    print(body)
    if opts.write:
        replace_section(opts.write, "initrd-levels", body)


if __name__ == "__main__":
    main()
