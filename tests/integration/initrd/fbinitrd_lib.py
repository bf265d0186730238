"""Helpers for the fabric.boot.initrd integration tests: real initrds, independent checks, qemu.

Everything here uses tools that are not the module under test (dracut, lsinitrd, cpio,
modinfo, zstd/xz/gzip, qemu), so the assertions do not share code with the module.
"""
import hashlib
import json
import lzma
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from fabric_test_env import debian_kernel  # noqa: E402  (fails, never skips, without a kernel)
from fabric_lab import vm  # noqa: E402  (the one qemu launcher)

# Debian's linux-image-amd64 (6.1.0-56-amd64 when this was written): real ib_core, ib_ipoib,
# mlx4_ib, mlx5_ib, hfi1, rdmavt and rdma_rxe modules, and a kernel qemu can boot.
KVER, VMLINUZ, MODDIR, _unused = debian_kernel()
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE_FILE = os.path.join(ROOT, "plugins", "modules", "initrd.py")
# what every injected test image gets: real IB/OPA/RXE modules, a load order, an ib_ipoib option
ADD = ["ib_ipoib", "rdma_rxe", "mlx5_ib", "hfi1"]
IPOIB_OPTS = "options ib_ipoib send_queue_size=256"

# magic bytes -> compression name (what `file` and the kernel's decompressors key on)
MAGIC = [
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x5d\x00\x00", "lzma"),
    (b"BZh", "bzip2"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"070701", "none"),
    (b"070702", "none"),
]
DECOMPRESS = {
    "gzip": ["gzip", "-dc"],
    "xz": ["xz", "-dc"],
    "lzma": ["xz", "-dc", "--format=lzma"],
    "zstd": ["zstd", "-dcq"],
    "bzip2": ["bzip2", "-dc"],
    "lz4": ["lz4", "-dcq"],
    "none": ["cat"],
}


def run(cmd, **kw):
    """subprocess.run with text output; raises with the output on failure."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    want_success = kw.pop("check", True)
    r = subprocess.run(cmd, check=False, **kw)
    if r.returncode != 0 and want_success:
        raise AssertionError(f"{cmd!r} failed rc={r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}")
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def magic_of(data):
    for m, name in MAGIC:
        if data.startswith(m):
            return name
    return None


# ---------------------------------------------------------------------------- building images
def build_dracut(out, compression, tmpdir, extra=()):
    """A small real dracut image for Debian's kernel (about 22 MB unpacked): dracut's shell init
    (no systemd), udev, kmod and a few host-only drivers with modules.dep; no InfiniBand."""
    # The host's dracut configuration stays out (--conf/--confdir): Debian's dracut-network ships
    # /etc/dracut.conf.d/11-ifcfg.conf, whose ifcfg module drags in network-manager and systemd,
    # and the image would no longer be the shell-init image these tests are written for.
    noconf = os.path.join(tmpdir, "no-dracut-conf.d")
    os.makedirs(noconf, exist_ok=True)
    cmd = ["dracut", "--conf", "/dev/null", "--confdir", noconf,
           "--kver", KVER, "--force", "--no-hostonly-cmdline", "--hostonly",
           "-m", "base", "--add-drivers", "virtio_pci virtio_blk crc32_generic",
           f"--{compression}", "--tmpdir", tmpdir, *extra, out]
    run(cmd)
    return out


def build_initramfs_tools(out, tmpdir):
    """A real initramfs-tools image (Debian's other generator: busybox /bin/sh, kmod, zstd) for
    the same kernel, from a configuration of its own (-d), so the host's /etc stays out:
    MODULES=list with crc32_generic, plus what the stock hooks add."""
    conf = os.path.join(tmpdir, "initramfs-tools-conf")
    for sub in ("conf.d", "hooks", "scripts"):
        os.makedirs(os.path.join(conf, sub), exist_ok=True)
    with open(os.path.join(conf, "initramfs.conf"), "w") as f:
        f.write("MODULES=list\nBUSYBOX=y\nCOMPRESS=zstd\nRUNSIZE=10%\nFSTYPE=auto\n")
    with open(os.path.join(conf, "modules"), "w") as f:
        f.write("crc32_generic\n")
    run(["mkinitramfs", "-d", conf, "-o", out, KVER], env=dict(os.environ, TMPDIR=tmpdir))
    return out


def build_early_cpio(workdir):
    """An uncompressed newc archive holding kernel/x86/microcode/GenuineIntel.bin (like early microcode)."""
    root = os.path.join(workdir, "early-root")
    os.makedirs(os.path.join(root, "kernel/x86/microcode"), exist_ok=True)
    with open(os.path.join(root, "kernel/x86/microcode/GenuineIntel.bin"), "wb") as f:
        f.write(b"\x00" * 48 + b"fabric.boot test microcode placeholder\n")
    out = os.path.join(workdir, "early.cpio")
    names = "kernel\nkernel/x86\nkernel/x86/microcode\nkernel/x86/microcode/GenuineIntel.bin\n"
    with open(out, "wb") as f:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], input=names.encode(),
                       cwd=root, stdout=f, check=True)
    return out


def concat(parts, out):
    with open(out, "wb") as o:
        for p in parts:
            with open(p, "rb") as i:
                shutil.copyfileobj(i, o)
    return out


# ---------------------------------------------------------------------------- the module, via ansible
def run_module(args, check=False, diff=False, expect_fail=False, workdir=None):
    """Run fabric.boot.initrd on localhost through ansible-playbook; returns the module's result dict."""
    assert os.path.exists(MODULE_FILE), f"the module under test is missing: {MODULE_FILE}"
    if workdir is None:
        own = tempfile.mkdtemp(prefix="fb-initrd-play-")
        try:
            return run_module(args, check=check, diff=diff, expect_fail=expect_fail, workdir=own)
        finally:
            shutil.rmtree(own, ignore_errors=True)
    result_file = os.path.join(workdir, f"result-{secrets.token_hex(4)}.json")
    play = [{
        "name": "fabric.boot.initrd integration",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {"name": "Run the module", "fabric.boot.initrd": args, "register": "fb_result",
             "ignore_errors": True},
            {"name": "Save the result", "ansible.builtin.copy": {
                "content": "{{ fb_result | to_json }}", "dest": result_file, "mode": "0600"},
             "check_mode": False, "diff": False},
        ],
    }]
    pb = os.path.join(workdir, f"play-{secrets.token_hex(4)}.yml")
    with open(pb, "w") as f:
        json.dump(play, f)  # JSON is YAML
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_PYTHON_INTERPRETER=shutil.which("python3") or "/usr/bin/python3")
    cmd = ["ansible-playbook", "-i", "localhost,", pb]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    t0 = time.monotonic()
    r = run(cmd, env=env, check=False)
    elapsed = time.monotonic() - t0
    assert os.path.exists(result_file), f"playbook did not save a result\n{r.stdout}\n{r.stderr}"
    with open(result_file) as f:
        res = json.load(f)
    res["_elapsed"] = elapsed
    res["_stdout"] = r.stdout
    if expect_fail:
        assert res.get("failed"), f"module was expected to fail: {res}"
    else:
        assert not res.get("failed"), f"module failed: {res.get('msg')}\n{json.dumps(res, indent=1)[:4000]}\n{r.stdout[-3000:]}"
    return res


# ---------------------------------------------------------------------------- independent inspection
def lsinitrd_list(image):
    """File list of an image by dracut's lsinitrd (handles early cpio in front)."""
    out = run(["lsinitrd", image]).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        # "-rw-r--r--   1 root root 123 Nov 21 17:19 path [-> target]"
        if len(parts) >= 9 and parts[0][0] in "-dlcbps" and len(parts[0]) == 10:
            rest = parts[8:]
            if "->" in rest:
                rest = rest[:rest.index("->")]
            names.add(" ".join(rest))
    return names


SKIPCPIO = "/usr/lib/dracut/skipcpio"


def pipe_list(image, kind, skip=0, skipcpio=False):
    """`[skip early bytes |] decompress | cpio -it` under `set -o pipefail`, as an admin script
    runs it: fails when the decompressor dies of SIGPIPE because cpio stopped early. skipcpio:
    drop the early archive with dracut's skipcpio (what lsinitrd does) instead of `tail -c`."""
    dec = " ".join(DECOMPRESS[kind])
    if skipcpio:
        head = f'{SKIPCPIO} "$1"'
    else:
        head = f'tail -c +{skip + 1} "$1"' if skip else 'cat "$1"'
    r = run(["bash", "-c", f"set -o pipefail; {head} | {dec} | cpio --quiet -it", "list", image])
    return [n for n in r.stdout.split("\n") if n]


def segment_list(image, offset, size, kind):
    """One archive of a file by hand, as docs/initrd.md tells: `dd` its bytes (from the offset and
    size mode=list reports) | decompress | cpio -it, under pipefail."""
    dec = " ".join(DECOMPRESS[kind])
    r = run(["bash", "-c", f'set -o pipefail; dd if="$1" iflag=skip_bytes,count_bytes skip={offset} '
             f'count={size} status=none | {dec} | cpio --quiet -it', "segment", image])
    return [n for n in r.stdout.split("\n") if n]


def lsinitrd_file(image, path):
    return subprocess.run(["lsinitrd", "-f", path, image], capture_output=True, check=True).stdout


def split_segments(data):
    """Split an initramfs blob into (kind, bytes) segments the way the kernel walks it: zero
    padding is skipped, uncompressed newc archives end after TRAILER!!!, compressed streams end
    where their decompressor stops (zlib/lzma from the standard library, a zstd frame walker
    here). Independent of the module's own parser."""
    segs = []
    off = 0
    n = len(data)
    while off < n:
        while off < n and data[off] == 0:
            off += 1
        if off >= n:
            break
        kind = magic_of(data[off:off + 8])
        if kind == "none":
            end = _newc_end(data, off)
        elif kind == "gzip":
            end = off
            while data[end:end + 2] == b"\x1f\x8b":
                d = zlib.decompressobj(31)
                d.decompress(data[end:])
                end = n - len(d.unused_data)
        elif kind in ("xz", "lzma"):
            fmt = lzma.FORMAT_XZ if kind == "xz" else lzma.FORMAT_ALONE
            d = lzma.LZMADecompressor(format=fmt)
            d.decompress(data[off:])
            end = n - len(d.unused_data)
        elif kind == "zstd":
            end = off
            while data[end:end + 4] == b"\x28\xb5\x2f\xfd":
                end = _zstd_frame_end(data, end)
        else:
            end = n
        segs.append((kind, data[off:end]))
        off = end
    return segs


def _zstd_frame_end(data, off):
    """End offset of the zstd frame at off (RFC 8878 section 3.1.1)."""
    fhd = data[off + 4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    pos = off + 5 + (0 if single else 1) + [0, 1, 2, 4][dict_flag] + [1 if single else 0, 2, 4, 8][fcs_flag]
    while True:
        hdr = int.from_bytes(data[pos:pos + 3], "little")
        last, btype, bsize = hdr & 1, (hdr >> 1) & 3, hdr >> 3
        assert btype != 3, "reserved zstd block type"
        pos += 3 + (1 if btype == 1 else bsize)
        if last:
            return pos + (4 if checksum else 0)


def _newc_end(data, off):
    while True:
        hdr = data[off:off + 110]
        assert hdr[:6] in (b"070701", b"070702"), f"bad newc header at {off}"
        namesize = int(hdr[94:102], 16)
        filesize = int(hdr[54:62], 16)
        name = data[off + 110:off + 110 + namesize - 1]
        off = (off + 110 + namesize + 3) & ~3
        off = (off + filesize + 3) & ~3
        if name == b"TRAILER!!!":
            return off


def _archives(blob, kind):
    """Decompress one segment and split it into the newc archives it holds."""
    dec = subprocess.run(DECOMPRESS[kind], input=blob, capture_output=True, check=False)
    assert dec.returncode == 0, f"{kind} decompression failed: {dec.stderr[:500]!r}"
    raw = dec.stdout
    out = []
    off = 0
    while off < len(raw):
        while off < len(raw) and raw[off] == 0:
            off += 1
        if off >= len(raw):
            break
        end = _newc_end(raw, off)
        out.append(raw[off:end])
        off = end
    return out


def cpio_list_bytes(blob, kind):
    """cpio -t of every archive in one (possibly compressed) segment."""
    names = set()
    for arc in _archives(blob, kind):
        r = subprocess.run(["cpio", "-t", "--quiet"], input=arc, capture_output=True, check=False)
        assert r.returncode == 0, r.stderr
        names |= set(r.stdout.decode().split("\n")) - {""}
    return names


def cpio_extract_bytes(blob, kind, dest, patterns=()):
    """Unpack every archive of one segment in order (later ones overwrite, like the kernel)."""
    os.makedirs(dest, exist_ok=True)
    for arc in _archives(blob, kind):
        r = subprocess.run(["cpio", "-idmu", "--quiet", "--no-absolute-filenames", *patterns],
                           input=arc, cwd=dest, capture_output=True, check=False)
        assert r.returncode == 0, r.stderr
    return dest


def modinfo(path, field):
    return run(["modinfo", "-F", field, path]).stdout.strip()


def module_closure(names):
    """Every .ko (path relative to MODDIR) modprobe would load for names, from the host tree."""
    rel = set()
    for n in names:
        out = run(["modprobe", "-S", KVER, "--show-depends", n]).stdout
        for line in out.splitlines():
            p = line.split()
            if p and p[0] == "insmod":
                rel.add(os.path.relpath(p[1], MODDIR))
    return rel


# ---------------------------------------------------------------------------- qemu
# The test images have no root file system module: this cmdline hook (sourced by init) says
# the root is handled, so init goes on past its "No or empty root=" check to udev.
ROOT_HOOK = """#!/bin/sh
root=fabric-test
rootok=1
"""

# A pre-trigger hook runs after the pre-udev hooks, so it sees what the module's modules_load
# hook loaded (PRELOADED) before it loads anything itself.
BOOT_HOOK = r"""#!/bin/sh
# fabric.boot integration test hook (dracut pre-trigger hook, sourced by init)
m=$(cat /etc/fabric-test-marker)
echo "$m HOOK-START" > /dev/console
pre=""
for mod in @ADD@; do [ -d "/sys/module/$mod" ] && pre="$pre $mod"; done
echo "$m PRELOADED$pre" > /dev/console
for mod in ib_ipoib rdma_rxe; do
  if modprobe "$mod" > /dev/console 2>&1 && [ -d "/sys/module/$mod" ]; then
    echo "$m MODPROBE $mod OK" > /dev/console
  else
    echo "$m MODPROBE $mod FAILED" > /dev/console
  fi
done
for f in /etc/modules-load.d/fabric* /usr/lib/modules-load.d/fabric* /etc/modprobe.d/fabric* /usr/lib/modprobe.d/fabric*; do
  [ -f "$f" ] || continue
  while IFS= read -r line; do echo "$m CONF $f: $line" > /dev/console; done < "$f"
done
echo "$m PARAM send_queue_size=$(cat /sys/module/ib_ipoib/parameters/send_queue_size 2>/dev/null)" > /dev/console
mods=""
while read -r name rest; do mods="$mods $name"; done < /proc/modules
echo "$m LSMOD$mods" > /dev/console
echo "$m HOOK-DONE" > /dev/console
echo o > /proc/sysrq-trigger
sleep 30
""".replace("@ADD@", " ".join(ADD))


def boot(image, serial_log, timeout=120):
    """Boot Debian's kernel with image under TCG; returns (serial text, seconds, timed_out)."""
    b = vm.Boot("initrd", os.path.dirname(serial_log), serial=serial_log, kernel=VMLINUZ, initrd=image,
                append="console=ttyS0,115200 panic=-1 rd.shell=0 loglevel=4").start().wait(timeout)
    return b.text, b.seconds(), b.timed_out
