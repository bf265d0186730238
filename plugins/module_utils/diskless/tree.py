# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an image root is, as a digest: the input that decides whether a new squashfs is built.

The digest covers exactly what the squashfs keeps: every path (sorted, bytes), its type, mode,
owner, group, extended attributes (file capabilities such as ping's cap_net_raw live there),
a regular file's content (sha256), a symlink's target and a device's numbers. Timestamps are
left out on purpose: mksquashfs runs with -all-time, so a touched but unchanged file gives the
same image, and must not give a new generation. The contents of the pseudo file systems the
booted system mounts over (/proc, /sys, /dev, /run, /tmp) are left out of digest and squashfs
alike; the directories themselves stay (dmsquash-live looks for /proc to recognise a root).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat

from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError

# Top-level directories whose contents are not part of the image.
EMPTY_DIRS = ("proc", "sys", "dev", "run", "tmp")

_KVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]*$")
_CHUNK = 1 << 20


def _xattrs(path):
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return b""
    out = []
    for name in names:
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        out.append(name.encode() + b"=" + value)
    return b"\0".join(out)


def _file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest().encode()


def _walk(root, rel):
    """Relative paths below root/rel in byte order (mksquashfs's directory order)."""
    top = os.path.join(root, rel) if rel else root
    try:
        names = sorted(os.listdir(os.fsencode(top)))
    except OSError as exc:
        raise DisklessError("cannot read %s: %s" % (top, exc.strerror), "root", root)
    for name in names:
        child = os.path.join(os.fsencode(rel), name) if rel else name
        yield child
        st = os.lstat(os.path.join(os.fsencode(root), child))
        if stat.S_ISDIR(st.st_mode):
            if not rel and os.fsdecode(name) in EMPTY_DIRS:
                continue
            yield from _walk(root, os.fsdecode(child))


def excluded(root):
    """Paths (relative) mksquashfs must leave out: the entries directly inside EMPTY_DIRS."""
    out = []
    for top in EMPTY_DIRS:
        path = os.path.join(root, top)
        if os.path.isdir(path) and not os.path.islink(path):
            out.extend("%s/%s" % (top, name) for name in sorted(os.listdir(path)))
    return out


def digest(root, parts=()):
    """{'digest': sha256 hex of the tree, 'entries': count, 'bytes': regular file bytes,
    'parts': {part: sha256 hex of the subtree}}.

    parts are relative paths (lib/modules/<kver>, lib/firmware) whose own digests are taken in
    the same walk: the initrd depends on them only, so a generation that changes elsewhere in
    the tree can reuse the previous generation's initrd."""
    if not os.path.isabs(root) or not os.path.isdir(root) or os.path.islink(root):
        raise DisklessError("image root %s is not an absolute path to a directory" % root, "root", root)
    broot = os.fsencode(root)
    h = hashlib.sha256(b"fabric.boot diskless tree v1\n")
    subs = dict((os.fsencode(p.strip("/")) + b"/", hashlib.sha256(b"fabric.boot diskless tree v1\n"))
                for p in parts)
    entries = size = 0
    for rel in _walk(root, ""):
        path = os.path.join(broot, rel)
        st = os.lstat(path)
        fmt = stat.S_IFMT(st.st_mode)
        if stat.S_ISREG(fmt):
            what = b"f" + _file_sha256(path)
            size += st.st_size
        elif stat.S_ISLNK(fmt):
            what = b"l" + os.readlink(path)
        elif stat.S_ISDIR(fmt):
            what = b"d"
        elif stat.S_ISCHR(fmt) or stat.S_ISBLK(fmt):
            what = b"%s%d,%d" % (b"c" if stat.S_ISCHR(fmt) else b"b", os.major(st.st_rdev), os.minor(st.st_rdev))
        else:
            what = b"p%o" % fmt
        fields = (rel, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what, _xattrs(path))
        line = b"%s\0%o\0%d\0%d\0%s\0%s\n" % fields
        h.update(line)
        for prefix, sub in subs.items():
            if rel.startswith(prefix):
                sub.update(line[len(prefix):])
        entries += 1
    return {"digest": h.hexdigest(), "entries": entries, "bytes": size,
            "parts": dict((os.fsdecode(k[:-1]), v.hexdigest()) for k, v in subs.items())}


def kernel(root, kver=None):
    """(kernel version, kernel path, module dir) of the image: <root>/lib/modules/<kver> and
    <root>/boot/vmlinuz-<kver>. Without kver the image must hold exactly one kernel."""
    moddir = os.path.join(root, "lib", "modules")
    if kver in (None, ""):
        try:
            found = sorted(d for d in os.listdir(moddir) if os.path.isdir(os.path.join(moddir, d)))
        except OSError:
            found = []
        if len(found) != 1:
            raise DisklessError("image root %s: %s under lib/modules; set kernel_version on the image"
                                % (root, "no kernel" if not found else "kernels %s" % ", ".join(found)),
                                "kernel_version", None)
        kver = found[0]
    if not _KVER.match(kver):
        raise DisklessError("kernel_version %r is not a kernel release name" % kver, "kernel_version", kver)
    if not os.path.isdir(os.path.join(moddir, kver)):
        raise DisklessError("image root %s has no lib/modules/%s" % (root, kver), "kernel_version", kver)
    vmlinuz = os.path.join(root, "boot", "vmlinuz-" + kver)
    if not os.path.isfile(vmlinuz):
        raise DisklessError("image root %s has no boot/vmlinuz-%s (the kernel package's image)" % (root, kver),
                            "kernel_version", kver)
    return kver, vmlinuz, os.path.join(moddir, kver)
