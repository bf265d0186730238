#!/usr/bin/env python3
"""Benchmark fabric.boot.initrd against the vendor shell procedure and the codec's floor.

The shell side is what the NVIDIA and Cornelis guides do (unpack with cpio,
copy modules, repack with `find | cpio -o -H newc -R root:root | compressor`),
plus `depmod -b` so both sides produce a bootable image with the same modules.
It uses each compressor as the guides call it (single-threaded) at the level
the module uses. On an image with early microcode in front, the shell skips it
with dracut's skipcpio and puts it back in front, as a careful admin would.

The module runs through its entry point, as Ansible runs it on a managed host
(python + a JSON args file), so start-up costs are counted. With --before DIR
(the collections root of another checkout, e.g. main), both versions run in the
same iterations, alternating, and their outputs are compared byte for byte.

Floors: what the same tools at the same levels need for the same data, without
Python or cpio: rewrite = decompress the main archive + recompress its newc with
the module's compressor and level; append = decompress the main archive (depmod
needs every module) + `depmod -b` on the unpacked image + compress the appended
archive's newc with the module's compressor and level.

Peak memory of the module process: peak RSS (VmHWM, which counts the pages of
files the process maps) and peak anonymous RSS (RssAnon sampled every 10 ms):
mapped file pages are page cache the kernel can drop; anonymous memory is not.

Writes its figures to docs/performance.md between the initrd markers.
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = "ansible_collections/fabric/boot/plugins/modules/initrd.py"
BEGIN, END = "<!-- BEGIN initrd -->", "<!-- END initrd -->"

sys.path.insert(0, COLLECTIONS)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression  # noqa: E402
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import surgery  # noqa: E402

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
SKIPCPIO = "/usr/lib/dracut/skipcpio"
MICROCODE_PACKAGES = ("intel-microcode", "amd64-microcode")


def sh(cmd, cwd=None):
    subprocess.run(["bash", "-o", "pipefail", "-ec", cmd], cwd=cwd, check=True)


def timed_sh(cmd, cwd=None):
    """Wall and CPU seconds (user + system of every process) of a shell command."""
    before = os.times()
    start = time.monotonic()
    sh(cmd, cwd)
    elapsed = time.monotonic() - start
    after = os.times()
    return elapsed, (after.children_user - before.children_user
                     + after.children_system - before.children_system)


def _ucode_from_debs(debs, work):
    """The early cpio dracut builds from the distribution's microcode packages."""
    unpack = os.path.join(work, "ucode-unpacked")
    tree = os.path.join(work, "ucode-tree")
    for path in (unpack, tree):
        shutil.rmtree(path, ignore_errors=True)
    for deb in debs:
        sh("dpkg-deb -x %s %s" % (deb, unpack))
    dest = os.path.join(tree, "kernel", "x86", "microcode")
    os.makedirs(dest)
    with open(os.path.join(tree, "early_cpio"), "w") as handle:
        handle.write("1\n")
    for vendor, pattern in (("GenuineIntel", "intel-ucode/*"), ("AuthenticAMD", "amd-ucode/*.bin")):
        files = sorted(p for p in glob.glob(os.path.join(unpack, "lib", "firmware", pattern))
                       if os.path.isfile(p))
        if not files:
            raise SystemExit("no %s microcode in %s" % (vendor, " ".join(debs)))
        with open(os.path.join(dest, vendor + ".bin"), "wb") as out:
            for path in files:
                with open(path, "rb") as handle:
                    out.write(handle.read())
    return tree


def early_cpio(work, microcode):
    """(path of an early cpio archive, description). Real Intel + AMD microcode from the Debian
    packages (a directory of their .deb files, or `apt-get download`, which needs the
    non-free-firmware component); else a synthetic one of the same layout."""
    debs = sorted(glob.glob(os.path.join(microcode, "*.deb"))) if microcode else []
    if not debs:
        fetch = os.path.join(work, "ucode-debs")
        os.makedirs(fetch, exist_ok=True)
        subprocess.run(["apt-get", "download"] + list(MICROCODE_PACKAGES), cwd=fetch, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        debs = sorted(glob.glob(os.path.join(fetch, "*.deb")))
    if len(debs) >= 2:
        tree = _ucode_from_debs(debs, work)
        what = "real microcode from %s" % ", ".join(os.path.basename(d) for d in debs)
    else:
        tree = os.path.join(work, "ucode-tree")
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(os.path.join(tree, "kernel", "x86", "microcode"))
        with open(os.path.join(tree, "early_cpio"), "w") as handle:
            handle.write("1\n")
        for vendor, size in (("GenuineIntel", 8 << 20), ("AuthenticAMD", 200 << 10)):
            with open(os.path.join(tree, "kernel", "x86", "microcode", vendor + ".bin"), "wb") as f:
                f.write(os.urandom(size))
        what = ("SYNTHETIC early cpio (random 8 MiB + 200 KiB blobs: the microcode packages "
                "could not be fetched)")
    path = os.path.join(work, "early.cpio")
    sh("find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R root:root --quiet > %s"
       % path, cwd=tree)
    return path, what


def prepare(initrd, case, work, microcode):
    """(src, fmt, early bytes, main archive path, note) for a case name like 'gzip' or
    'early+gzip'."""
    fmt = case.split("+")[-1]
    with open(initrd, "rb") as handle:
        stock = compression.detect(handle.read(8))
    main = os.path.join(work, "main-%s.img" % fmt)
    if not os.path.exists(main):
        if stock == fmt:
            shutil.copyfile(initrd, main)
        else:
            sh("%s < %s | %s > %s" % (DECOMPRESS[stock], initrd, PREPARE[fmt], main))
    if not case.startswith("early+"):
        return main, fmt, 0, main, None
    early, what = early_cpio(work, microcode)
    src = os.path.join(work, "initrd-%s.img" % case)
    sh("cat %s %s > %s" % (early, main, src))
    return src, fmt, os.path.getsize(early), main, what


def run_module(collections, work, **args):
    """Wall s, result, CPU s, peak RSS MB, peak anonymous RSS MB of one module run."""
    path = os.path.join(work, "args.json")
    with open(path, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=collections)
    out_path = os.path.join(work, "module.out")
    start = time.monotonic()
    with open(out_path, "w") as out:
        proc = subprocess.Popen([sys.executable, os.path.join(collections, MODULE), path],
                                stdout=out, env=env)
    anon = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            with open("/proc/%d/status" % proc.pid) as handle:
                for line in handle:
                    if line.startswith("RssAnon:"):
                        anon = max(anon, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path) as handle:
        text = handle.read()
    result = json.loads(text[text.index("{"):])
    if proc.returncode != 0:
        raise SystemExit("module failed: %s" % result.get("msg"))
    return (elapsed, result, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
            anon / 1024.0)


def shell_procedure(src, fmt, early, kver, modules, work):
    tree = os.path.join(work, "shell-tree")
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    out = os.path.join(work, "shell-out.img")
    copies = "\n".join("mkdir -p %s && cp %s %s" % (os.path.dirname(m["path"]), m["source"], m["path"])
                       for m in modules)
    unpack = "%s < %s" % (DECOMPRESS[fmt], src)
    front = ""
    if early:
        # The early archive stays in front; skipcpio hands the rest to the decompressor.
        unpack = "%s %s | %s" % (SKIPCPIO, src, DECOMPRESS[fmt])
        front = "head -c %d %s > %s && " % (early, src, out)
    script = "\n".join([
        "%s | cpio -idm --quiet" % unpack,
        copies,
        "mkdir -p etc/modules-load.d && printf 'ib_ipoib\\n' > etc/modules-load.d/ib.conf",
        "depmod -b . %s" % kver,
        "%sfind . | cpio -o -H newc -R root:root --quiet | %s >> %s" % (
            front or ": > %s && " % out, SHELL_COMPRESS[fmt], out),
    ])
    elapsed, cpu = timed_sh(script, cwd=tree)
    shutil.rmtree(tree, ignore_errors=True)
    return elapsed, cpu, os.path.getsize(out)


def verify(path, fmt, early, module_path):
    """The rewrite output must be readable by the stock tools and hold the new module."""
    reader = ("%s %s | %s" % (SKIPCPIO, path, DECOMPRESS[fmt]) if early
              else "%s < %s" % (DECOMPRESS[fmt], path))
    listing = subprocess.run(["bash", "-o", "pipefail", "-ec", reader + " | cpio -t --quiet"],
                             stdout=subprocess.PIPE, check=True).stdout.decode().split("\n")
    if module_path not in listing:
        raise SystemExit("%s does not hold %s" % (path, module_path))


def _argv(fmt, level):
    """The module's own compressor command line for fmt at level (None: its default)."""
    argv = compression._tool_argv(  # pylint: disable=protected-access
        fmt, compression.DEFAULT_LEVEL[fmt] if level is None else level, level is not None)
    return " ".join(argv)


class Floors:
    """Inputs of the floor commands, prepared once per case (not timed)."""

    def __init__(self, main, fmt, kver, modules, work):
        self.main, self.fmt, self.kver = main, fmt, kver
        self.raw = os.path.join(work, "floor-raw.cpio")
        sh("%s < %s > %s" % (DECOMPRESS[fmt], main, self.raw))
        self.tree = os.path.join(work, "floor-tree")
        shutil.rmtree(self.tree, ignore_errors=True)
        os.makedirs(os.path.join(self.tree, "depmod.d"))
        sh("cpio -idm --quiet < %s" % self.raw, cwd=self.tree)
        for m in modules:
            sh("mkdir -p %s && cp %s %s" % (os.path.dirname(m["path"]), m["source"], m["path"]),
               cwd=self.tree)
        self.overlay = None

    def set_overlay(self, append_img, base_size, work):
        self.overlay = os.path.join(work, "floor-overlay.cpio")
        sh("tail -c +%d %s | %s > %s" % (
            base_size + 1, append_img, DECOMPRESS[self.fmt], self.overlay))

    def measure(self):
        rewrite_cmd = "%s < %s | %s > /dev/null" % (
            DECOMPRESS[self.fmt], self.main, _argv(self.fmt, None))
        rewrite, rewrite_cpu = timed_sh(rewrite_cmd)
        decompress_cmd = "%s < %s > /dev/null" % (DECOMPRESS[self.fmt], self.main)
        decompress, decompress_cpu = timed_sh(decompress_cmd)
        depmod, depmod_cpu = timed_sh("depmod -C depmod.d -b . %s" % self.kver, cwd=self.tree)
        level = surgery.APPEND_LEVEL.get(self.fmt)
        overlay_cmd = "%s < %s > /dev/null" % (_argv(self.fmt, level), self.overlay)
        overlay, overlay_cpu = timed_sh(overlay_cmd)
        return {"floor_rewrite": rewrite, "floor_decompress": decompress, "floor_depmod": depmod,
                "floor_overlay": overlay, "floor_append": decompress + depmod + overlay,
                "floor_rewrite_cpu": rewrite_cpu,
                "floor_append_cpu": decompress_cpu + depmod_cpu + overlay_cpu}

    def close(self):
        shutil.rmtree(self.tree, ignore_errors=True)
        for path in (self.raw, self.overlay):
            if path and os.path.exists(path):
                os.unlink(path)


def _sha(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def module_runs(collections, tag, common, fmt, early, work):
    """rewrite, no-op rerun, append, append no-op of one version; figures keyed by tag."""
    rewrite_dest = os.path.join(work, "rewrite-%s.img" % tag)
    append_dest = os.path.join(work, "append-%s.img" % tag)
    for path in (rewrite_dest, append_dest):
        if os.path.exists(path):
            os.unlink(path)
    row = {}
    row["rewrite"], result, row["rewrite_cpu"], row["rewrite_rss"], row["rewrite_anon"] = \
        run_module(collections, work, dest=rewrite_dest, **common)
    verify(rewrite_dest, fmt, early, result["modules_added"][0]["path"])
    row["rewrite_noop"], again, _c, _r, _a = run_module(collections, work, dest=rewrite_dest,
                                                        **common)
    assert again["changed"] is False
    row["append"], appended, row["append_cpu"], row["append_rss"], row["append_anon"] = \
        run_module(collections, work, dest=append_dest, mode="append", **common)
    row["append_noop"], again, _c, _r, _a = run_module(collections, work, dest=append_dest,
                                                       mode="append", **common)
    assert again["changed"] is False
    row.update(rewrite_size=result["size_after"], append_size=appended["size_after"],
               rewrite_sha=_sha(rewrite_dest), append_sha=_sha(append_dest),
               modules=len(result["modules_added"]), kver=result["kernel_version"],
               added=result["modules_added"])
    return {"%s_%s" % (tag, k): v for k, v in row.items()}, append_dest


def bench_case(initrd, case, runs, modules_dir, add, work, before, microcode):
    src, fmt, early, main, note = prepare(initrd, case, work, microcode)
    common = dict(src=src, module_source=modules_dir, add_modules=add,
                  modules_load=[{"name": "ib", "modules": ["ib_ipoib"]}])
    versions = [("after", COLLECTIONS)] + ([("before", before)] if before else [])
    samples = []
    floors = None
    try:
        for index in range(runs):
            sample = {"load": [os.getloadavg()[0]]}
            # Alternate which version goes first, so neither always meets a warm or cold cache.
            for tag, collections in (versions if index % 2 == 0 else versions[::-1]):
                figures, append_dest = module_runs(collections, tag, common, fmt, early, work)
                sample.update(figures)
                sample["load"].append(os.getloadavg()[0])
                if floors is None and tag == "after":
                    floors = Floors(main, fmt, figures["after_kver"], figures["after_added"], work)
                    floors.set_overlay(append_dest, os.path.getsize(src), work)
            sample["shell"], sample["shell_cpu"], sample["shell_size"] = shell_procedure(
                src, fmt, early, sample["after_kver"], sample["after_added"], work)
            sample["load"].append(os.getloadavg()[0])
            sample.update(floors.measure())
            sample["load"].append(os.getloadavg()[0])
            print(json.dumps(dict((k, v) for k, v in sample.items() if not k.endswith("added"))),
                  flush=True)
            samples.append(sample)
    finally:
        if floors is not None:
            floors.close()
    row = {"case": case, "format": fmt, "runs": runs, "note": note, "initrd": initrd,
           "input_size": os.path.getsize(src), "early_size": early}
    for key in samples[0]:
        values = [s[key] for s in samples]
        if key == "load":
            loads = [v for s in samples for v in s["load"]]
            row["load"] = (min(loads), statistics.median(loads), max(loads))
        elif isinstance(values[0], float):
            row[key] = statistics.median(values)
        else:
            row[key] = values[0]
            if key.endswith("_sha"):
                row[key + "_stable"] = len(set(values)) == 1
    return row


def _ratio(value, shell):
    return "%.2f (%.1f%%)" % (value, 100 * value / shell)


def render(rows, initrd, add, before):
    has_before = bool(before)
    runs = ", ".join("%s %d" % (r["case"], r["runs"]) for r in rows)
    loads = [r["load"] for r in rows]
    out = [BEGIN, "## initrd surgery (`fabric.boot.initrd`)", "",
           "Written by `benchmarks/initrd_surgery.py` on %s, %s, %d CPUs. Medians of alternating "
           "runs (%s); load average during the runs %.1f-%.1f (median %.1f): the machine is "
           "shared, so compare figures of the same row, measured in the same iterations." % (
               time.strftime("%Y-%m-%d"), platform.platform(terse=True), os.cpu_count(), runs,
               min(lo for lo, _m, _h in loads), max(hi for _l, _m, hi in loads),
               statistics.median(m for _l, m, _h in loads)),
           "",
           "Request: add `%s` with their dependency closure from `/lib/modules/<kver>` (%d "
           "modules) and a modules-load.d file; `depmod -b` on both sides." % (
               ", ".join(add), rows[0]["after_modules"]), ""]
    inputs = []
    for r in rows:
        if r.get("initrd", initrd) not in inputs:
            inputs.append(r.get("initrd", initrd))
    for path in inputs:
        cases = [r["case"] for r in rows if r.get("initrd", initrd) == path]
        out += ["Input of %s: `%s`, re-encoded for the other formats." % (
            ", ".join("`%s`" % c for c in cases), path), ""]
    for r in rows:
        if r["note"]:
            out += ["`%s`: %s, %d bytes of early cpio in front of the %s image." % (
                r["case"], r["note"], r["early_size"], r["format"]), ""]
    out += ["Shell = the vendor procedure: `<decompress> < initrd | cpio -idm` (after `skipcpio` "
            "with early microcode, which is put back in front), `cp` the modules, `depmod -b`, "
            "`find . | cpio -o -H newc -R root:root | <compressor>` (single-threaded, as the "
            "guides call it, same level as the module). Module times are wall-clock times of the "
            "module entry point (Python start-up included). Floor = the same tools and levels on "
            "the same data without Python: rewrite = decompress the main archive + recompress it "
            "with the module's compressor; append = decompress + `depmod -b` on the unpacked "
            "image + compress the appended archive. Ratios are against the shell time.", ""]
    if has_before:
        out += ["before = %s (the previous version), after = this checkout, in the same "
                "iterations." % before, ""]
        head = ("| case | input MB | shell s | rewrite before s | rewrite after s | rewrite floor s "
                "| append before s | append after s | append floor s | no-op before / after s |")
    else:
        head = ("| case | input MB | shell s | rewrite s | rewrite floor s | append s | "
                "append floor s | no-op s |")
    out += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        shell = r["shell"]
        if has_before:
            out.append("| %s | %.1f | %.2f | %s | %s | %s | %s | %s | %s | %.2f / %.2f |" % (
                r["case"], r["input_size"] / 1e6, shell, _ratio(r["before_rewrite"], shell),
                _ratio(r["after_rewrite"], shell), _ratio(r["floor_rewrite"], shell),
                _ratio(r["before_append"], shell), _ratio(r["after_append"], shell),
                _ratio(r["floor_append"], shell), r["before_rewrite_noop"],
                r["after_rewrite_noop"]))
        else:
            out.append("| %s | %.1f | %.2f | %s | %s | %s | %s | %.2f |" % (
                r["case"], r["input_size"] / 1e6, shell, _ratio(r["after_rewrite"], shell),
                _ratio(r["floor_rewrite"], shell), _ratio(r["after_append"], shell),
                _ratio(r["floor_append"], shell), r["after_rewrite_noop"]))
    out += ["", "Where the append floor goes (s): decompressing the main archive, `depmod -b`, "
            "compressing the appended archive (at append mode's level: %s, the other codecs "
            "their default); and the append no-op rerun." % (
                ", ".join("%s -%d" % kv for kv in sorted(surgery.APPEND_LEVEL.items())) or
                "none"), "",
            "| case | decompress s | depmod s | appended archive s | append no-op s |",
            "|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %.2f | %.2f | %.2f | %.2f |" % (
            r["case"], r["floor_decompress"], r["floor_depmod"], r["floor_overlay"],
            r["after_append_noop"]))
    tags = ["before", "after"] if has_before else ["after"]
    out += ["", "CPU seconds (user + system of every process involved) and peak memory of the "
            "module process: peak RSS counts the pages of the files it maps (page cache the "
            "kernel can drop and re-read); peak anonymous RSS is memory only the process can "
            "free.", "",
            "| case | shell CPU s | %s |" % " | ".join(
                "%s rewrite CPU s | %s append CPU s | %s peak RSS MB rewrite / append | "
                "%s peak anon MB rewrite / append" % (t, t, t, t) for t in tags)]
    floor_cpu = any("floor_rewrite_cpu" in r for r in rows)
    if floor_cpu:
        out[-1] = out[-1].replace("| shell CPU s |",
                                  "| shell CPU s | floor CPU s rewrite / append |")
    out.append("|" + "---|" * (2 + 4 * len(tags) + floor_cpu))
    for r in rows:
        cells = ["%.2f" % r["shell_cpu"]]
        if floor_cpu:
            cells.append("%.2f / %.2f" % (r["floor_rewrite_cpu"], r["floor_append_cpu"])
                         if "floor_rewrite_cpu" in r else "not recorded")
        for t in tags:
            cells += ["%.2f" % r[t + "_rewrite_cpu"], "%.2f" % r[t + "_append_cpu"],
                      "%.0f / %.0f" % (r[t + "_rewrite_rss"], r[t + "_append_rss"]),
                      "%.0f / %.0f" % (r[t + "_rewrite_anon"], r[t + "_append_anon"])]
        out.append("| %s | %s |" % (r["case"], " | ".join(cells)))
    out += ["", "Output: sizes, and whether every run wrote the same bytes%s." % (
        " and both versions wrote the same bytes" if has_before else ""), "",
        "| case | sizes MB shell / rewrite / append | deterministic | %s" % (
            "before = after |" if has_before else ""),
        "|---|---|---|%s" % ("---|" if has_before else "")]
    for r in rows:
        same = ""
        if has_before:
            same = " %s |" % ("yes" if r["before_rewrite_sha"] == r["after_rewrite_sha"]
                              and r["before_append_sha"] == r["after_append_sha"] else "**no**")
        stable = all(r.get(k, True) for k in r if k.endswith("_sha_stable"))
        out.append("| %s | %.1f / %.1f / %.1f | %s |%s" % (
            r["case"], r["shell_size"] / 1e6, r["after_rewrite_size"] / 1e6,
            r["after_append_size"] / 1e6, "yes" if stable else "**no**", same))
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
    parser.add_argument("--cases", default="zstd,gzip,early+gzip,xz:1",
                        help="formats, early+<format> for early microcode in front; "
                             ":N sets that case's number of runs")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (median)")
    parser.add_argument("--before", metavar="DIR",
                        help="collections root of a previous version to run alongside")
    parser.add_argument("--before-label", help="how the doc names --before (default: its path)")
    parser.add_argument("--microcode", metavar="DIR",
                        help="directory with the intel-microcode and amd64-microcode .deb files "
                             "(default: apt-get download)")
    parser.add_argument("--add", default="hfi1,ib_ipoib,mlx5_ib,rdma_rxe")
    parser.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    parser.add_argument("--rows", metavar="FILE",
                        help="keep each finished case's figures here (JSON lines); with --render, "
                             "write the section from this file instead of measuring")
    parser.add_argument("--render", action="store_true")
    args = parser.parse_args()
    if args.render:
        with open(args.rows) as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        section = render(rows, args.initrd, args.add.split(","), args.before_label or args.before)
        print(section)
        if args.write:
            write_section(args.write, section)
        return
    for path in (args.initrd, os.path.join(args.modules, "modules.dep")):
        if not os.path.exists(path):
            raise SystemExit("%s is missing: this benchmark needs a real kernel and initrd" % path)
    if args.before and not os.path.exists(os.path.join(args.before, MODULE)):
        raise SystemExit("--before %s has no %s" % (args.before, MODULE))
    add = args.add.split(",")
    work = tempfile.mkdtemp(prefix="initrd-bench-", dir="/var/tmp")
    rows = []
    try:
        for spec in args.cases.split(","):
            case, _sep, runs = spec.partition(":")
            row = bench_case(args.initrd, case, int(runs or args.runs), args.modules, add, work,
                             args.before, args.microcode)
            rows.append(row)
            if args.rows:
                with open(args.rows, "a") as handle:
                    handle.write(json.dumps(dict((k, v) for k, v in row.items()
                                                 if not k.endswith("added"))) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = render(rows, args.initrd, add, args.before_label or args.before)
    print(section)
    if args.write:
        write_section(args.write, section)


if __name__ == "__main__":
    main()
