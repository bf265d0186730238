# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""newc ("070701") cpio archives: parse from memory, write as a stream of chunks.

The kernel's initramfs unpacker only understands newc (and its "070702" CRC
variant), so that is all this file reads; it always writes plain newc.
Parsing keeps file data as memoryview slices of the decompressed buffer, so a
130 MB image is never copied entry by entry.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import stat

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

MAGICS = (b"070701", b"070702")
HEADER_LEN = 110
TRAILER = "TRAILER!!!"
_FIELDS = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
           "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")


def align4(n):
    return (n + 3) & ~3


class Entry:
    """One archive member. `data` holds file contents or the symlink target."""

    __slots__ = ("name", "mode", "uid", "gid", "mtime", "data", "rdevmajor", "rdevminor",
                 "link_key")

    def __init__(self, name, mode, data=b"", uid=0, gid=0, mtime=0, rdevmajor=0, rdevminor=0,
                 link_key=None):
        self.name = name
        self.mode = mode
        self.data = data
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.rdevmajor = rdevmajor
        self.rdevminor = rdevminor
        # Hard links (busybox applets: hundreds of names, one body) share a key;
        # the writer turns a group back into links so the image does not grow.
        self.link_key = link_key

    @property
    def is_dir(self):
        return stat.S_ISDIR(self.mode)

    @property
    def is_reg(self):
        return stat.S_ISREG(self.mode)

    @property
    def is_symlink(self):
        return stat.S_ISLNK(self.mode)

    @property
    def size(self):
        return len(self.data)

    def target(self):
        return bytes(self.data).decode("utf-8", "surrogateescape")

    def same_content(self, other):
        return (self.mode == other.mode and self.rdevmajor == other.rdevmajor
                and self.rdevminor == other.rdevminor and len(self.data) == len(other.data)
                and self.data == other.data)


def normalize_name(name):
    """Archive names without './' or '/' prefixes ('.' stays the root entry)."""
    while name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/")
    return name or "."


def parse(buf, offset, where):
    """Parse one archive starting at `offset`; return (entries, end offset after the trailer).

    `where` names the archive in error messages (file and offset).
    """
    view = memoryview(buf)
    size = len(view)
    pos = offset
    entries = []
    while True:
        if pos + HEADER_LEN > size:
            raise InitrdError("truncated cpio archive in %s: header at byte %d runs past the end "
                              "(%d bytes)" % (where, pos, size))
        magic = bytes(view[pos:pos + 6])
        if magic not in MAGICS:
            raise InitrdError("corrupt cpio archive in %s: bad magic %r at byte %d"
                              % (where, magic, pos))
        try:
            fields = [int(bytes(view[pos + 6 + 8 * i:pos + 14 + 8 * i]), 16) for i in range(13)]
        except ValueError:
            raise InitrdError("corrupt cpio archive in %s: bad header at byte %d" % (where, pos))
        hdr = dict(zip(_FIELDS, fields))
        name_start = pos + HEADER_LEN
        name_end = name_start + hdr["namesize"]
        data_start = align4(name_end)
        data_end = data_start + hdr["filesize"]
        if data_end > size or name_end > size:
            raise InitrdError("truncated cpio archive in %s: member at byte %d needs %d bytes, "
                              "the data ends at %d" % (where, pos, data_end - pos, size))
        name = bytes(view[name_start:name_end - 1]).decode("utf-8", "surrogateescape")
        pos = align4(data_end)
        if name == TRAILER:
            return entries, min(pos, size)
        entry = Entry(normalize_name(name), hdr["mode"], view[data_start:data_end], hdr["uid"],
                      hdr["gid"], hdr["mtime"], hdr["rdevmajor"], hdr["rdevminor"])
        if entry.is_reg and hdr["nlink"] > 1:
            key = (where, hdr["ino"], hdr["devmajor"], hdr["devminor"])
            entry.link_key = key
        entries.append(entry)


def _share_link_data(entries):
    """newc stores a hard link's body once (on the last name); give every name the body."""
    groups = {}
    for entry in entries:
        if entry.link_key is not None:
            groups.setdefault(entry.link_key, []).append(entry)
    for members in groups.values():
        body = b""
        for member in members:
            if len(member.data):
                body = member.data
        for member in members:
            member.data = body


def parse_all(buf, offset, where):
    """Parse every archive in buf from offset (NUL padding between them allowed)."""
    entries = []
    pos = offset
    size = len(buf)
    count = 0
    while pos < size:
        if buf[pos] == 0:
            pos += 1
            continue
        found, pos = parse(buf, pos, "%s, cpio #%d" % (where, count))
        count += 1
        entries.extend(found)
    _share_link_data(entries)
    return entries


def _header(ino, mode, uid, gid, nlink, mtime, filesize, rdevmajor, rdevminor, namesize):
    return ("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
        ino, mode, uid, gid, nlink, mtime, filesize, 0, 0, rdevmajor, rdevminor, namesize, 0
    )).encode("ascii")


def _pad(n):
    return b"\0" * ((4 - n % 4) % 4)


def write_entries(entries, normalize=True, start_ino=0, trailer=True, resolve=None):
    """Yield the newc bytes of `entries` in the given order, then the trailer (unless
    trailer=False, for a caller that writes more members into the same archive).

    resolve (optional) maps each item of `entries` to the Entry to write, or None to leave it
    out, just before it is written: members not known yet when writing starts (depmod's
    output) are placeholders in their sorted place. Placeholders must not be hard links.

    With normalize, owners become root:root and mtimes 0 so that equal inputs
    give equal bytes; inode numbers are assigned in order (after start_ino) for the
    same reason.
    """
    groups = {}
    for entry in entries:
        if entry.link_key is not None and entry.is_reg:
            groups.setdefault(entry.link_key, []).append(entry)
    last_of_group = {}
    group_ino = {}
    for key, members in groups.items():
        last_of_group[key] = members[-1]
    ino = start_ino
    for entry in entries:
        if resolve is not None:
            entry = resolve(entry)
            if entry is None:
                continue
        ino += 1
        nlink = 2 if entry.is_dir else 1
        data = entry.data
        this_ino = ino
        key = entry.link_key
        if key is not None and len(groups.get(key, ())) > 1:
            this_ino = group_ino.setdefault(key, ino)
            nlink = len(groups[key])
            if last_of_group[key] is not entry:
                data = b""
        name = entry.name.encode("utf-8", "surrogateescape")
        uid, gid, mtime = (0, 0, 0) if normalize else (entry.uid, entry.gid, entry.mtime)
        head = _header(this_ino, entry.mode, uid, gid, nlink, mtime, len(data),
                       entry.rdevmajor, entry.rdevminor, len(name) + 1)
        yield head + name + b"\0" + _pad(HEADER_LEN + len(name) + 1)
        if len(data):
            yield data
            yield _pad(len(data))
    if trailer:
        yield trailer_bytes()


def trailer_bytes():
    return _header(0, 0, 0, 0, 1, 0, 0, 0, 0, len(TRAILER) + 1) + TRAILER.encode() + b"\0" \
        + _pad(HEADER_LEN + len(TRAILER) + 1)


def rechunk(pieces, size=1 << 20):
    """Batch many small pieces into ~1 MB writes; pass large bodies through untouched."""
    buf = bytearray()
    for piece in pieces:
        if len(piece) >= size:
            if buf:
                yield bytes(buf)
                buf = bytearray()
            yield piece
            continue
        buf += piece
        if len(buf) >= size:
            yield bytes(buf)
            buf = bytearray()
    if buf:
        yield bytes(buf)


def to_bytes(entries, normalize=True):
    return b"".join(bytes(p) for p in write_entries(entries, normalize))
