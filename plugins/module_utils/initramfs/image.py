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

import hashlib
import json
import re

from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

# The manifest is the last member of the last archive (format 2). Format 1 (the first
# releases) wrote it at LEGACY_MANIFEST_PATH in an archive of its own after the image; such
# files are still read, and rebuilt once in the new layout.
MANIFEST_PATH = "usr/lib/fabric-boot/initrd-manifest.json"
LEGACY_MANIFEST_PATH = "etc/fabric-boot/initrd-manifest.json"
MANIFEST_TOOL = "fabric.boot.initrd"
MANIFEST_FORMAT = 2
# The manifest member and the trailer must sit in the last MiB of the decompressed archive.
_MANIFEST_TAIL = 1 << 20
_MODULE_DIR = re.compile(r"^(?:usr/)?lib/modules/([^/]+)/")


class Archive:
    """One archive of the file: where it is, how it is compressed, what it holds."""

    def __init__(self, offset, end, compression_name, entries):
        self.offset = offset
        self.end = end
        self.compression = compression_name
        self.entries = entries
        self.early = False
        # The parsed manifest when this archive ends with ours; legacy: the archive is a
        # format-1 trailing manifest archive (nothing else in it).
        self.manifest = None
        self.manifest_entry = None
        self.legacy = False

    @property
    def appended(self):
        return self.manifest is not None and not self.legacy and self.manifest.get("mode") == "append"

    def describe(self):
        if self.legacy:
            role = "manifest"
        elif self.early:
            role = "early"
        else:
            role = "appended" if self.appended else "main"
        return {"offset": self.offset, "size": self.end - self.offset,
                "compression": self.compression, "entries": len(self.entries), "role": role}


def _early_names(archive):
    """Early archives (CPU microcode, ACPI tables) hold only kernel/... (dracut adds an
    'early_cpio' marker); the kernel reads them before unpacking, so they stay byte-identical."""
    return bool(archive.entries) and all(
        e.name in (".", "kernel", "early_cpio") or e.name.startswith("kernel/")
        for e in archive.entries)


def read_archives(data, where, spool_dir=None):
    """Split the file into archives; raise InitrdError naming `where` on bad input.
    Decompressed archives are spooled to files in spool_dir (compression.decompress_stream)."""
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
            payload, end = compression.decompress_stream(view, pos, fmt, label, spool_dir)
            if bytes(payload[:6]) not in cpio.MAGICS:
                raise InitrdError("%s is not an initrd: the %s data in %s does not hold a cpio "
                                  "archive" % (where, fmt, label))
            entries = cpio.parse_all(payload, 0, label)
        archives.append(Archive(pos, end, fmt, entries))
        pos = end
    if not archives:
        raise InitrdError("%s is not an initrd: it is empty or holds only NUL bytes" % where)
    last = archives[-1]
    if last.entries and last.entries[-1].name == MANIFEST_PATH:
        last.manifest = parse_manifest(last.entries[-1].data)
        if last.manifest is not None:
            last.manifest_entry = last.entries[-1]
            last.entries = last.entries[:-1]
    elif last.entries and last.entries[-1].name == LEGACY_MANIFEST_PATH:
        last.manifest = parse_manifest(last.entries[-1].data)
        last.legacy = last.manifest is not None
    content = [a for a in archives if not a.legacy]
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


def manifest_in_payload(payload):
    """(manifest, offset of its member header) when the decompressed archive `payload` ends with
    our manifest member and the trailer, else (None, None)."""
    size = len(payload)
    base = max(0, size - _MANIFEST_TAIL)
    tail = bytes(payload[base:])
    name = MANIFEST_PATH.encode() + b"\0"
    pos = tail.rfind(name)
    while pos >= cpio.HEADER_LEN:
        hdr = pos - cpio.HEADER_LEN
        try:
            fields = [int(tail[hdr + 6 + 8 * i:hdr + 14 + 8 * i], 16) for i in range(13)]
        except ValueError:
            fields = None
        if fields and tail[hdr:hdr + 6] in cpio.MAGICS and (base + hdr) % 4 == 0 \
                and fields[11] == len(name):
            data_start = cpio.align4(pos + len(name))
            data_end = data_start + fields[6]
            if tail[cpio.align4(data_end):].rstrip(b"\0") == cpio.trailer_bytes().rstrip(b"\0"):
                manifest = parse_manifest(tail[data_start:data_end])
                if manifest is not None:
                    return manifest, base + hdr
        pos = tail.rfind(name, 0, pos)
    return None, None


def find_manifest(data, start=0, spool_dir=None):
    """Walk the archives of data from `start` like the kernel does and read the manifest at the
    end of the last one. Returns a dict (manifest, offset and end of that archive,
    content_sha256: sha256 of its decompressed bytes before the manifest member) or None.

    Early (uncompressed) archives are parsed, not copied; every compressed archive is
    decompressed, since gzip and xz streams have no index to skip to their end.
    """
    view = memoryview(data)
    stop = len(data)
    while stop > start and data[stop - 1] == 0:
        stop -= 1
    pos = start
    try:
        while pos < stop:
            if view[pos] == 0:
                pos += 1
                continue
            fmt = compression.detect(view, pos)
            if fmt is None or fmt == "lzo":
                return None
            if fmt == "none":
                if pos % 4:
                    return None
                _entries, end = cpio.parse(view, pos, "manifest")
                payload = view[pos:end]
            else:
                payload, end = compression.decompress_stream(view, pos, fmt, "manifest", spool_dir)
            if end >= stop:
                manifest, header = manifest_in_payload(payload)
                if manifest is None:
                    return None
                return {"manifest": manifest, "offset": pos, "end": end, "compression": fmt,
                        "content_sha256": hashlib.sha256(memoryview(payload)[:header]).hexdigest()}
            pos = end
    except InitrdError:
        return None
    return None


class Tree:
    """The merged view: name -> Entry, later archives winning, in first-seen order."""

    def __init__(self, archives):
        self.entries = {}
        for archive in archives:
            if archive.legacy:
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
