"""What the compression level of append mode's small archive costs and saves.

fabric.boot.initrd in append mode writes one small compressed archive after the original
image (the added modules, the regenerated modules.*, configs, the manifest). This script
makes that archive for the benchmark's request with the module itself, takes its newc
bytes, and compresses them with the module's own back end (compression.compress_chunks) at
several levels: CPU and wall seconds (median of --runs), size, and the size of the whole
appended file. Writes its table to docs/performance.md between the initrd-overlay markers.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(COLLECTIONS, "ansible_collections/fabric/boot/plugins/modules/initrd.py")
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression  # noqa: E402
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import surgery  # noqa: E402
from initrd_surgery import DECOMPRESS, PREPARE, _newest_debian_kernel  # noqa: E402
from perfdoc import replace_section  # noqa: E402

LEVELS = {"gzip": (1, 3, 6, 9), "zstd": (1, 3, 9, 19)}


def cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def overlay_newc(initrd, fmt, modules, add, work):
    src = os.path.join(work, "src.img")
    subprocess.run(["bash", "-o", "pipefail", "-ec", "%s < %s | %s > %s" % (
        DECOMPRESS[compression.detect(open(initrd, "rb").read(8))], initrd, PREPARE[fmt], src)],
        check=True)
    dest = os.path.join(work, "append.img")
    args = os.path.join(work, "args.json")
    with open(args, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": {
            "src": src, "dest": dest, "mode": "append", "module_source": modules,
            "add_modules": add, "modules_load": [{"name": "ib", "modules": ["ib_ipoib"]}]}}, handle)
    proc = subprocess.run([sys.executable, MODULE, args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    base = os.path.getsize(src)
    with open(dest, "rb") as handle:
        handle.seek(base)
        appended = handle.read()
    payload, _end = compression.decompress_stream(appended, 0, fmt, "appended archive", work)
    return bytes(payload), base


def measure(data, fmt, level, runs, work):
    walls, cpus, size = [], [], None
    for _run in range(runs):
        with tempfile.TemporaryFile(dir=work) as out:
            before, start = cpu(), time.monotonic()
            compression.compress_chunks([data], fmt, level, out)
            walls.append(time.monotonic() - start)
            cpus.append(cpu() - before)
            size = out.tell()
    return statistics.median(walls), statistics.median(cpus), size


def main():
    kver = _newest_debian_kernel()
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--initrd", default="/boot/initrd.img-%s" % kver)
    parser.add_argument("--modules", default="/lib/modules/%s" % kver)
    parser.add_argument("--add", default="hfi1,ib_ipoib,mlx5_ib,rdma_rxe")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", metavar="FILE")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="initrd-overlay-", dir="/var/tmp")
    rows = []
    loads = [os.getloadavg()[0]]
    try:
        for fmt, levels in sorted(LEVELS.items()):
            data, base = overlay_newc(args.initrd, fmt, args.modules, args.add.split(","), work)
            for level in levels:
                wall, cpus, size = measure(data, fmt, level, args.runs, work)
                rows.append((fmt, level, len(data), base, wall, cpus, size))
                loads.append(os.getloadavg()[0])
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tools = dict((fmt, os.path.basename(compression._tool_argv(fmt, 1)[0]))  # pylint: disable=protected-access
                 for fmt in LEVELS)
    lines = ["## initrd append: level of the appended archive", "",
             "Written by `benchmarks/initrd_overlay_levels.py` on %s, %s, %d CPUs, load average "
             "%.1f-%.1f during the runs; median of %d runs each." % (
                 time.strftime("%Y-%m-%d"), platform.platform(terse=True), os.cpu_count(),
                 min(loads), max(loads), args.runs), "",
             "Input: the newc bytes of the archive append mode writes for the surgery benchmark's "
             "request (add `%s` with their closure to `%s`, re-encoded per codec), compressed by "
             "the module's own back end (%s). Without `compression_level`, append mode uses %s." % (
                 ", ".join(args.add.split(",")), args.initrd,
                 ", ".join("%s: `%s`" % kv for kv in sorted(tools.items())),
                 ", ".join("%s -%d" % (f, surgery.APPEND_LEVEL.get(f, compression.DEFAULT_LEVEL[f]))
                           for f in sorted(LEVELS))), "",
             "| codec | level | newc MB | wall s | CPU s | archive bytes | vs default level | "
             "share of the appended file |", "|---|---|---|---|---|---|---|---|"]
    for fmt, level, raw, base, wall, cpus, size in rows:
        default = surgery.APPEND_LEVEL.get(fmt, compression.DEFAULT_LEVEL[fmt])
        ref = [r[6] for r in rows if r[0] == fmt and r[1] == default][0]
        lines.append("| %s | %d%s | %.2f | %.3f | %.3f | %d | %+.1f%% | %.2f%% |" % (
            fmt, level, " (default)" if level == default else "", raw / 1e6, wall, cpus, size,
            100.0 * (size - ref) / ref, 100.0 * size / (base + size)))
    section = "\n".join(lines) + "\n"
    print(section)
    if args.write:
        replace_section(args.write, "initrd-overlay", section)


if __name__ == "__main__":
    main()
