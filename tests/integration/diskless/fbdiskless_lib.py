"""A small real image root for the diskless_image tests, and the tools that check the results.

The root is real where the role reads it: Debian's kernel (boot/vmlinuz-<kver>), a real module
tree for it (a subset of /lib/modules/<kver>: the boot NIC, squashfs/loop/overlay/isofs that
dracut's dmsquash-live installs, the mlx5/IPoIB driver set and Soft-RoCE, indexed by depmod),
busybox, device nodes and files in the pseudo file system directories the squashfs leaves
out. It is not bootable to multi-user (no systemd): the booted image is the lab's
(lab/image/build-diskless-root.sh); here the build, the squashfs and the initrd are proven.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from fabric_test_env import debian_kernel  # noqa: E402  (fails, never skips, without a kernel)

KVER, VMLINUZ, MODDIR, _unused = debian_kernel()
COLLECTIONS = os.path.join(ROOT, "build", "collections")
# what the image's module tree holds (with their dependencies)
MODULES = ["virtio_net", "virtio_pci", "e1000", "squashfs", "loop", "overlay", "isofs", "dm_mod",
           "mlx5_ib", "ib_ipoib", "ib_umad", "rdma_ucm", "rdma_rxe", "crc32_generic"]


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(cmd, check=False, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{cmd!r} failed rc={r.returncode}\nstdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-4000:]}")
    return r


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def module_files():
    """Paths (relative to MODDIR) of MODULES and everything they depend on."""
    out = set()
    for mod in MODULES:
        r = run(["modprobe", "--show-depends", "--set-version", KVER, mod])
        for line in r.stdout.splitlines():
            m = re.match(r"^insmod (\S+)", line)
            if m:
                out.add(os.path.relpath(m.group(1), MODDIR))
    return sorted(out)


def make_root(path):
    """Build the image root at path (about 20 MB)."""
    for d in ("proc", "sys", "dev", "run/lock", "tmp", "boot", "etc/NetworkManager/system-connections",
              "usr/bin", "usr/lib", "var/tmp", "lib/firmware"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    os.chmod(os.path.join(path, "tmp"), 0o1777)
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/bin")):
        os.symlink(target, os.path.join(path, link))
    shutil.copy2("/bin/busybox", os.path.join(path, "usr/bin/busybox"))
    os.symlink("busybox", os.path.join(path, "usr/bin/sh"))
    with open(os.path.join(path, "etc/os-release"), "w") as f:
        f.write('PRETTY_NAME="fabric.boot diskless test root"\nID=debian\nVERSION_ID="12"\n')
    with open(os.path.join(path, "etc/hostname"), "w") as f:
        f.write("diskless\n")
    os.mknod(os.path.join(path, "dev/null"), 0o20666, os.makedev(1, 3))
    with open(os.path.join(path, "tmp/leftover"), "w") as f:
        f.write("must not be in the squashfs\n")
    with open(os.path.join(path, "run/lock/stale.pid"), "w") as f:
        f.write("1\n")
    shutil.copy2(VMLINUZ, os.path.join(path, "boot", "vmlinuz-" + KVER))
    moddir = os.path.join(path, "lib/modules", KVER)
    for rel in module_files():
        os.makedirs(os.path.dirname(os.path.join(moddir, rel)), exist_ok=True)
        shutil.copy2(os.path.join(MODDIR, rel), os.path.join(moddir, rel))
    for name in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if os.path.exists(os.path.join(MODDIR, name)):
            shutil.copy2(os.path.join(MODDIR, name), os.path.join(moddir, name))
    run(["depmod", "-b", path, KVER])
    return path


def unsquashfs_list(image):
    """{path: {mode, owner, date, line}} from unsquashfs -lln (numeric owners), paths without '/'.
    A line: <mode> <uid/gid> <size> <date> <time> squashfs-root/<path> [-> <target>]."""
    r = run(["unsquashfs", "-lln", image])
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        names = [p for p in parts[5:6] if p.startswith("squashfs-root")]
        if len(parts) < 6 or not names:
            continue
        rel = names[0][len("squashfs-root"):].lstrip("/")
        out[rel] = {"mode": parts[0], "owner": parts[1], "date": parts[3], "line": line}
    return out


def manifest(images, name, gen):
    with open(os.path.join(images, f"{name}@{gen}", "manifest.json")) as f:
        return json.load(f)


def snapshot(top):
    """(path, inode, mtime_ns, size) of every file below top: what a no-change run must leave alone."""
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(filenames + dirnames):
            st = os.lstat(os.path.join(dirpath, name))
            out.append((os.path.relpath(os.path.join(dirpath, name), top), st.st_ino, st.st_mtime_ns, st.st_size))
    return out
