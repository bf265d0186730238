# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A no-op shortcut kept in an extended attribute of the written file.

The manifest inside the image is the record of what was done, but reading it means
decompressing the archive that holds it (seconds for a large xz image). The same
facts, plus the sha256 of the whole file, are kept in `user.fabric_boot.initrd` on the
file written, so a rerun that finds the attribute and a file with that sha256 needs no
decompression. It is only a cache: a copy of the file, a file system without user
xattrs or a record too large for one attribute simply falls back to the manifest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import zlib

XATTR = "user.fabric_boot.initrd"
# ext4 keeps every attribute of an inode in one 4 KiB block; stay well inside it.
MAX_SIZE = 3072


def save(path, record):
    """Attach record (a JSON-able dict) to path; silently skipped where unsupported."""
    if not hasattr(os, "setxattr"):
        return False
    value = zlib.compress(json.dumps(record, sort_keys=True).encode(), 9)
    if len(value) > MAX_SIZE:
        return False
    try:
        os.setxattr(path, XATTR, value)
    except OSError:
        return False
    return True


def load(path):
    """The record attached to path, or None."""
    if not hasattr(os, "getxattr"):
        return None
    try:
        record = json.loads(zlib.decompress(os.getxattr(path, XATTR)).decode("utf-8"))
    except (OSError, ValueError, zlib.error):
        return None
    return record if isinstance(record, dict) else None
