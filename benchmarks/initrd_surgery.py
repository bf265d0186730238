#!/usr/bin/env python3
"""Benchmark fabric.boot.initrd against the vendor shell procedure on a real initrd.

The shell side is what the NVIDIA and Cornelis guides do (unpack with cpio,
copy modules, repack with `find | cpio -o -H newc -R root:root | compressor`),
plus `depmod -b` so both sides produce a bootable image with the same modules.
It uses each compressor as the guides call it (single-threaded) at the level
the module uses. The module runs through its entry point, as Ansible runs it
on a managed host (python + a JSON args file), so start-up costs are counted.

Writes its figures to docs/performance.md between the initrd markers.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(ROOT, "plugins", "modules", "initrd.py")
BEGIN, END = "<!-- BEGIN initrd -->", "<!-- END initrd -->"
CPU = [0.0]  # CPU seconds (user + system, children included) of the last timed run

sys.path.insert(0, COLLECTIONS)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression  # noqa: E402

SHELL_COMPRESS = {
    # xz: the module's settings (dracut's 1 MiB dictionary), so both sides do the same work.
    "zstd": "zstd -q -9", "gzip": "gzip -n -9", "xz": "xz --check=crc32 --lzma2=preset=6,dict=1MiB",
    "bzip2": "bzip2 -9", "lz4": "lz4 -q -l -9", "lzma": "lzma -6",
}
DECOMPRESS = {
    "zstd": "zstd -dcq", "gzip": "gzip -dc", "xz": "xz -dc", "bzip2": "bzip2 -dc",
    "lz4": "lz4 -dcq", "lzma": "lzma -dc",
}
# Parallel tools only to prepare inputs quickly (not timed).
PREPARE = {"zstd": "zstd -q -T0 -9", "gzip": "pigz -n -9",
           "xz": "xz -T0 --check=crc32 --lzma2=preset=6,dict=1MiB",
           "bzip2": "bzip2 -9", "lz4": "lz4 -q -l -9", "lzma": "lzma -6"}


def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sh(cmd, cwd=None):
    subprocess.run(["bash", "-o", "pipefail", "-ec", cmd], cwd=cwd, check=True)


def prepare(initrd, fmt, work):
    with open(initrd, "rb") as handle:
        stock = compression.detect(handle.read(8))
    path = os.path.join(work, "initrd-%s.img" % fmt)
    if stock == fmt:
        shutil.copyfile(initrd, path)
    else:
        sh("%s < %s | %s > %s" % (DECOMPRESS[stock], initrd, PREPARE[fmt], path))
    return path


def run_module(work, **args):
    path = os.path.join(work, "args.json")
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    start, cpu = time.monotonic(), child_cpu()
    proc = subprocess.run([sys.executable, MODULE, path], stdout=subprocess.PIPE, env=env,
                          check=False)
    elapsed = time.monotonic() - start
    CPU[0] = child_cpu() - cpu
    out = proc.stdout.decode()
    result = json.loads(out[out.index("{"):])
    if proc.returncode != 0:
        raise SystemExit("module failed: %s" % result.get("msg"))
    return elapsed, result


def shell_procedure(initrd, fmt, kver, modules, work):
    tree = os.path.join(work, "shell-tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    out = os.path.join(work, "shell-out.img")
    copies = "\n".join("mkdir -p %s && cp %s %s" % (os.path.dirname(m["path"]), m["source"], m["path"])
                       for m in modules)
    script = "\n".join([
        "%s < %s | cpio -idm --quiet" % (DECOMPRESS[fmt], initrd),
        copies,
        "mkdir -p etc/modules-load.d && printf 'ib_ipoib\\n' > etc/modules-load.d/ib.conf",
        "depmod -b . %s" % kver,
        "find . | cpio -o -H newc -R root:root --quiet | %s > %s" % (SHELL_COMPRESS[fmt], out),
    ])
    start, cpu = time.monotonic(), child_cpu()
    sh(script, cwd=tree)
    elapsed = time.monotonic() - start
    CPU[0] = child_cpu() - cpu
    shutil.rmtree(tree, ignore_errors=True)
    return elapsed, os.path.getsize(out)


def verify(path, fmt, module_path):
    """The rewrite output must be readable by the stock tools and hold the new module."""
    listing = subprocess.run("%s < %s | cpio -t --quiet" % (DECOMPRESS[fmt], path), shell=True,
                             stdout=subprocess.PIPE, check=True).stdout.decode().split("\n")
    if module_path not in listing:
        raise SystemExit("%s does not hold %s" % (path, module_path))


def bench_format(initrd, fmt, modules_dir, add, work):
    src = prepare(initrd, fmt, work)
    common = dict(src=src, module_source=modules_dir, add_modules=add,
                  modules_load=[{"name": "ib", "modules": ["ib_ipoib"]}])
    rewrite_dest = os.path.join(work, "rewrite.img")
    append_dest = os.path.join(work, "append.img")
    for path in (rewrite_dest, append_dest):
        if os.path.exists(path):
            os.unlink(path)
    rewrite, result = run_module(work, dest=rewrite_dest, **common)
    rewrite_cpu = CPU[0]
    verify(rewrite_dest, fmt, result["modules_added"][0]["path"])
    noop, again = run_module(work, dest=rewrite_dest, **common)
    assert again["changed"] is False
    append, appended = run_module(work, dest=append_dest, mode="append", **common)
    append_cpu = CPU[0]
    append_noop, again = run_module(work, dest=append_dest, mode="append", **common)
    assert again["changed"] is False
    shell, shell_size = shell_procedure(src, fmt, result["kernel_version"], result["modules_added"],
                                        work)
    shell_cpu = CPU[0]
    return {
        "format": fmt, "input_size": os.path.getsize(src), "shell": shell, "shell_size": shell_size,
        "rewrite": rewrite, "rewrite_size": result["size_after"], "rewrite_noop": noop,
        "append": append, "append_size": appended["size_after"], "append_noop": append_noop,
        "modules": len(result["modules_added"]), "shell_cpu": shell_cpu,
        "rewrite_cpu": rewrite_cpu, "append_cpu": append_cpu,
        "load": os.getloadavg()[0],
    }


def mark(value, limit):
    return "yes" if value <= limit else "**no**"


def render(rows, initrd, add):
    out = [BEGIN, "## initrd surgery (`fabric.boot.initrd`)", "",
           "Written by `benchmarks/initrd_surgery.py` on %s, %s, %d CPUs (load average when "
           "written %.1f; the machine is shared, so treat single figures as rough)." % (
               time.strftime("%Y-%m-%d"), platform.platform(terse=True), os.cpu_count(),
               os.getloadavg()[0]),
           "",
           "Input: `%s` (%s), re-encoded for the other formats. Request: add `%s` with their "
           "dependency closure from `/lib/modules/<kver>` (%d modules) and a modules-load.d file; "
           "`depmod -b` on both sides." % (
               initrd, rows[0]["format"] if rows else "?", ", ".join(add),
               rows[0]["modules"] if rows else 0),
           "",
           "Shell = the vendor procedure: `<decompress> < initrd | cpio -idm`, `cp` the modules, "
           "`depmod -b`, `find . | cpio -o -H newc -R root:root | <compressor>` (the compressor "
           "single-threaded, as the guides call it, same level as the module). Module times are "
           "wall-clock times of the module entry point (Python start-up included).",
           "",
           "| format | input MB | shell s | rewrite s (ratio) | no-op rerun s (ratio) | "
           "append s (ratio) | append no-op s | sizes MB shell / rewrite / append |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        shell = r["shell"]
        out.append("| %s | %.1f | %.2f | %.2f (%.0f%%) | %.2f (%.1f%%) | %.2f (%.1f%%) | %.2f | "
                   "%.1f / %.1f / %.1f |" % (
                       r["format"], r["input_size"] / 1e6, shell, r["rewrite"],
                       100 * r["rewrite"] / shell, r["rewrite_noop"], 100 * r["rewrite_noop"] / shell,
                       r["append"], 100 * r["append"] / shell, r["append_noop"],
                       r["shell_size"] / 1e6, r["rewrite_size"] / 1e6, r["append_size"] / 1e6))
    out += ["", "CPU seconds (user + system of every process involved): what the work costs "
            "whatever else runs on the machine; the rewrite's wall-clock gain over the shell comes "
            "from parallel compressors and needs idle cores.", "",
            "| format | shell CPU s | rewrite CPU s | append CPU s | load average after |",
            "|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %.2f | %.2f | %.2f | %.1f |" % (
            r["format"], r["shell_cpu"], r["rewrite_cpu"], r["append_cpu"], r["load"]))
    out += ["", "Targets: rewrite at most 50% of the shell time, no-op rerun at most 5%, append at "
            "most 5%.", "", "| format | rewrite <= 50% | no-op <= 5% | append <= 5% |",
            "|---|---|---|---|"]
    for r in rows:
        shell = r["shell"]
        out.append("| %s | %s | %s | %s |" % (
            r["format"], mark(r["rewrite"], shell / 2), mark(r["rewrite_noop"], shell / 20),
            mark(r["append"], shell / 20)))
    out.append(END)
    return "\n".join(out) + "\n"


def write_section(path, section):
    text = ""
    if os.path.exists(path):
        with open(path) as handle:
            text = handle.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        if not text:
            text = "# Performance\n\n"
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as handle:
        handle.write(text)


def _newest_debian_kernel():
    """The kernel tests/ci/apt-packages.sh installs moves with Debian point releases: look it up."""
    import glob
    import re

    found = [os.path.basename(d) for d in glob.glob("/lib/modules/*-amd64")
             if os.path.exists("/boot/initrd.img-%s" % os.path.basename(d))]
    if not found:
        return "NONE-install-linux-image-amd64"
    return max(found, key=lambda k: [int(p) if p.isdigit() else p for p in re.split(r"[.-]", k)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    kver = _newest_debian_kernel()
    parser.add_argument("--initrd", default="/boot/initrd.img-%s" % kver,
                        help="default: the newest installed Debian kernel's initrd")
    parser.add_argument("--modules", default="/lib/modules/%s" % kver)
    parser.add_argument("--formats", default="zstd,gzip,xz")
    parser.add_argument("--add", default="hfi1,ib_ipoib,mlx5_ib,rdma_rxe")
    parser.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    args = parser.parse_args()
    for path in (args.initrd, os.path.join(args.modules, "modules.dep")):
        if not os.path.exists(path):
            raise SystemExit("%s is missing: this benchmark needs a real kernel and initrd" % path)
    add = args.add.split(",")
    work = tempfile.mkdtemp(prefix="initrd-bench-", dir="/var/tmp")
    rows = []
    try:
        for fmt in args.formats.split(","):
            row = bench_format(args.initrd, fmt, args.modules, add, work)
            print(json.dumps(row), flush=True)
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = render(rows, args.initrd, add)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
