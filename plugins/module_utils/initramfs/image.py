# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An initrd file as the kernel sees it: a series of archives, then one merged tree.

The kernel unpacks archives in file order and later members overwrite earlier
ones; an uncompressed archive must start on a 4-byte boundary and NUL bytes
between archives are skipped (init/initramfs.c). `gzip -dc | cpio -id` stops
after the first archive, which on an image with early microcode in front is
the microcode alone; reading every archive is what this file is for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

MANIFEST_PATH = "etc/fabric-boot/initrd-manifest.json"
MANIFEST_TOOL = "fabric.boot.initrd"
_MODULE_DIR = re.compile(r"^(?:usr/)?lib/modules/([^/]+)/")


class Archive:
    """One archive of the file: where it is, how it is compressed, what it holds."""

    def __init__(self, offset, end, compression_name, entries):
        self.offset = offset
        self.end = end
        self.compression = compression_name
        self.entries = entries
        self.early = False
        self.manifest = None

    def describe(self):
        role = "manifest" if self.manifest is not None else ("early" if self.early else "main")
        return {"offset": self.offset, "size": self.end - self.offset,
                "compression": self.compression, "entries": len(self.entries), "role": role}


def _early_names(archive):
    """Early archives (CPU microcode, ACPI tables) hold only kernel/... (dracut adds an
    'early_cpio' marker); the kernel reads them before unpacking, so they stay byte-identical."""
    return bool(archive.entries) and all(
        e.name in (".", "kernel", "early_cpio") or e.name.startswith("kernel/")
        for e in archive.entries)


def read_archives(data, where):
    """Split the file into archives; raise InitrdError naming `where` on bad input."""
    archives = []
    pos = 0
    size = len(data)
    view = memoryview(data)
    while pos < size:
        if view[pos] == 0:
            pos += 1
            continue
        fmt = compression.detect(view, pos)
        label = "%s at byte %d" % (where, pos)
        if fmt is None:
            head = bytes(view[pos:pos + 8]).hex()
            if not archives:
                raise InitrdError("%s is not an initrd: it starts with bytes %s, which are neither "
                                  "a cpio archive nor a known compression" % (where, head))
            raise InitrdError("unknown compression in %s: bytes %s match no cpio or compression "
                              "magic" % (label, head))
        if fmt == "lzo":
            raise InitrdError("unsupported compression 'lzo' in %s (supported: %s)"
                              % (label, ", ".join(compression.FORMATS)))
        if fmt == "none":
            if pos % 4:
                raise InitrdError("corrupt initrd %s: an uncompressed archive must start on a "
                                  "4-byte boundary" % label)
            entries, end = cpio.parse(view, pos, label)
            cpio._share_link_data(entries)  # pylint: disable=protected-access
        else:
            payload, end = compression.decompress_stream(view, pos, fmt, label)
            if bytes(payload[:6]) not in cpio.MAGICS:
                raise InitrdError("%s is not an initrd: the %s data in %s does not hold a cpio "
                                  "archive" % (where, fmt, label))
            entries = cpio.parse_all(payload, 0, label)
        archives.append(Archive(pos, end, fmt, entries))
        pos = end
    if not archives:
        raise InitrdError("%s is not an initrd: it is empty or holds only NUL bytes" % where)
    archives[-1].manifest = _manifest_of(archives[-1].entries)
    content = [a for a in archives if a.manifest is None]
    for index, archive in enumerate(content[:-1]):
        if archive.compression != "none":
            break
        # Uncompressed archives in front of a compressed one are early archives whatever
        # they hold; in an all-uncompressed image only microcode-like ones are.
        if not (_early_names(archive) or content[index + 1].compression != "none"):
            break
        archive.early = True
    return archives


def parse_manifest(data):
    try:
        manifest = json.loads(bytes(data).decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("tool") != MANIFEST_TOOL:
        return None
    return manifest


def _manifest_of(entries):
    if entries and entries[-1].name == MANIFEST_PATH:
        return parse_manifest(entries[-1].data)
    return None


def peek_manifest(data, window=1 << 18):
    """Find our trailing manifest archive near the end of data; (manifest, its offset) or (None, None).

    The trailing archive is small and compressed like the archive before it
    (so gzip -dc, zstd -dc and friends still read the file); it is found by
    trying every compression magic in the last `window` bytes, nearest the end
    first, and keeping the one that decodes exactly to the end of the file.
    Nothing else is decompressed, which keeps a no-op rerun cheap.
    """
    view = memoryview(data)
    size = len(data)
    end = size
    while end > 0 and data[end - 1] == 0:
        end -= 1
    tail_start = max(0, size - window)
    candidates = set()
    for magic, _fmt in compression.MAGICS:
        pos = data.find(magic, tail_start)
        while pos >= 0:
            candidates.add(pos)
            pos = data.find(magic, pos + 1)
    for pos in sorted(candidates, reverse=True)[:64]:
        fmt = compression.detect(view, pos)
        try:
            if fmt == "none":
                entries, stop = cpio.parse(view, pos, "manifest")
            elif fmt in compression.FORMATS:
                payload, stop = compression.decompress_stream(view, pos, fmt, "manifest")
                if bytes(payload[:6]) not in cpio.MAGICS:
                    continue
                entries, _stop = cpio.parse(payload, 0, "manifest")
            else:
                continue
        except InitrdError:
            continue
        if stop < end:
            continue
        manifest = _manifest_of(entries)
        if manifest is not None:
            return manifest, pos
    return None, None


class Tree:
    """The merged view: name -> Entry, later archives winning, in first-seen order."""

    def __init__(self, archives):
        self.entries = {}
        for archive in archives:
            if archive.manifest is not None:
                continue
            for entry in archive.entries:
                self.entries[entry.name] = entry

    def resolve(self, path, field="dest"):
        """Canonical name of path, following symlinks in its directories (lib -> usr/lib)."""
        parts = [p for p in path.split("/") if p not in ("", ".")]
        out = []
        hops = 0
        while parts:
            part = parts.pop(0)
            if part == "..":
                if out:
                    out.pop()
                continue
            name = "/".join(out + [part])
            entry = self.entries.get(name)
            if entry is not None and entry.is_symlink and parts:
                hops += 1
                if hops > 40:
                    raise InitrdError("%s=%s: too many symbolic links in the image" % (field, path),
                                      field, path)
                target = entry.target()
                if target.startswith("/"):
                    out = []
                parts = [p for p in target.split("/") if p not in ("", ".")] + parts
                continue
            out.append(part)
        return "/".join(out) or "."

    def kernel_versions(self):
        found = set()
        for name in self.entries:
            match = _MODULE_DIR.match(name)
            if match and (compression.module_suffix(name) or name.endswith("/modules.dep")):
                found.add(match.group(1))
        return sorted(found)
