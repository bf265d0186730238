# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mksquashfs command line (squashfs-tools 4.5) for a reproducible root image.

mksquashfs sorts directory entries itself (the format requires it) and, since 4.4, is
reproducible by default whatever the number of processors; what still varies between two
builds of the same tree are the timestamps, so every file (-all-time) and the superblock
(-mkfs-time) get one fixed time. SOURCE_DATE_EPOCH is not used: 4.5 refuses it together with
those options, so the caller removes it from the environment.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError

COMPRESSORS = ("gzip", "xz", "zstd", "lz4", "lzo")


# -Xcompression-level ranges of squashfs-tools 4.5 (xz, lz4 and lzo take other options or none)
LEVELS = {"gzip": (1, 9), "zstd": (1, 22)}


def argv(root, dest, excludes, compression="xz", block_size="1M", timestamp=0, processors=None, level=None):
    if compression not in COMPRESSORS:
        raise DisklessError("squashfs compression %r is not one of %s" % (compression, ", ".join(COMPRESSORS)),
                            "compression", compression)
    if not isinstance(timestamp, int) or timestamp < 0 or timestamp > 0xFFFFFFFF:
        raise DisklessError("squashfs timestamp must be 0 .. 4294967295, got %r" % (timestamp,),
                            "timestamp", timestamp)
    cmd = ["mksquashfs", root, dest, "-noappend", "-no-progress", "-comp", compression,
           "-b", str(block_size), "-mkfs-time", str(timestamp), "-all-time", str(timestamp)]
    if level is not None:
        low, high = LEVELS.get(compression, (None, None))
        if low is None or isinstance(level, bool) or not isinstance(level, int) or not low <= level <= high:
            raise DisklessError("squashfs compression level %r: %s" % (
                level, "%s takes %d .. %d" % (compression, low, high) if low else
                "only gzip and zstd take a level, not %s" % compression), "compression_level", level)
        cmd += ["-Xcompression-level", str(level)]
    if processors:
        cmd += ["-processors", str(int(processors))]
    if excludes:
        # -e and its list must come last; paths are relative to the source (no wildcards)
        cmd += ["-e"] + list(excludes)
    return cmd
