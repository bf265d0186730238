# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compression formats of initrd archives: detection by magic and the back ends.

Reading must know where each compressed stream ends, because an initrd is a
series of archives and the kernel starts the next one right after the bytes
its decompressor consumed. The stdlib decompressors report that (unused_data);
zstd and lz4 are not in the stdlib, so their frame layout is walked here and
only the stream itself is piped through the tool.

Writing prefers the parallel tools (pigz, xz -T0, zstd -T0) when present; their
output is deterministic whatever the thread count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bz2
import errno
import gzip
import lzma
import mmap
import os
import shutil
import struct
import subprocess
import tempfile
import zlib

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError, ScratchFull

FORMATS = ("gzip", "xz", "lzma", "zstd", "bzip2", "lz4", "none")
# A level N means what `<tool> -N` means on the command line (xz -9: preset 9 with its 64 MiB
# dictionary). Without a level: what the distribution tools write (dracut: gzip -9, xz
# --lzma2=dict=1MiB, lz4 -9, bzip2 -9; initramfs-tools: zstd -9).
DEFAULT_LEVEL = {"gzip": 9, "xz": 6, "lzma": 6, "zstd": 9, "bzip2": 9, "lz4": 9, "none": None}
# dracut's own xz command line: `xz --check=crc32 --lzma2=dict=1MiB -T0` (preset 6, 1 MiB
# dictionary); used when no level is given, so the default output is what dracut writes.
DRACUT_XZ_DICT = 1 << 20
LEVELS = {"gzip": (1, 9), "xz": (0, 9), "lzma": (0, 9), "zstd": (1, 22), "bzip2": (1, 9),
          "lz4": (1, 12)}

_LZ4_LEGACY = 0x184C2102
_LZ4_FRAME = 0x184D2204
# Magic numbers as the kernel's decompress_method() lists them.
MAGICS = (
    (b"070701", "none"),
    (b"070702", "none"),
    (b"\x1f\x8b", "gzip"),
    (b"\x1f\x9e", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x89LZO", "lzo"),
)


def detect(buf, offset=0):
    """Return the format name of the data at offset, 'lzo' (unsupported) or None."""
    head = bytes(buf[offset:offset + 8])
    for magic, name in MAGICS:
        if head.startswith(magic):
            return name
    return None


def which(tool):
    return shutil.which(tool)


def _need(tool, why):
    path = which(tool)
    if not path:
        raise InitrdError("%s needs the '%s' tool, which is not installed on this host" % (why, tool))
    return path


def scratch_dir(need=0):
    """A tmpfs directory for scratch files when one has room, else the default.

    Creating hundreds of files and moving 100+ MB through pipes on a busy disk
    costs seconds; on tmpfs it costs milliseconds.
    """
    for path in ("/dev/shm", "/run/shm"):
        try:
            if os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK):
                info = os.statvfs(path)
                if info.f_bavail * info.f_frsize > 2 * need + (64 << 20):
                    return path
        except OSError:
            continue
    return None


def _run(argv, data, what, expect=0):
    """Run a filter with files for stdin and stdout: pipes cost a context switch per 64 KB."""
    scratch = scratch_dir(len(data) + expect)
    with tempfile.TemporaryFile(dir=scratch) as inp, tempfile.TemporaryFile(dir=scratch) as out:
        inp.write(data)
        inp.seek(0)
        proc = subprocess.run(argv, stdin=inp, stdout=out, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise InitrdError("%s failed (%s exit %d): %s" % (
                what, argv[0], proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))
        out.seek(0)
        return out.read()


def _zstd_frame_end(view, pos, where):
    """End offset of the zstd frame at pos (RFC 8878 section 3.1.1)."""
    size = len(view)

    def need(n):
        if pos + n > size:
            raise InitrdError("truncated zstd data in %s" % where)

    need(5)
    magic = struct.unpack_from("<I", view, pos)[0]
    if 0x184D2A50 <= magic <= 0x184D2A5F:
        need(8)
        return pos + 8 + struct.unpack_from("<I", view, pos + 4)[0]
    fhd = view[pos + 4]
    single = (fhd >> 5) & 1
    fcs_len = {0: single, 1: 2, 2: 4, 3: 8}[fhd >> 6]
    dict_len = {0: 0, 1: 1, 2: 2, 3: 4}[fhd & 3]
    pos += 5 + (0 if single else 1) + dict_len + fcs_len
    while True:
        need(3)
        b0, b1, b2 = view[pos], view[pos + 1], view[pos + 2]
        header = b0 | (b1 << 8) | (b2 << 16)
        last, btype, bsize = header & 1, (header >> 1) & 3, header >> 3
        pos += 3 + (1 if btype == 1 else bsize)
        if btype == 3:
            raise InitrdError("corrupt zstd data in %s (reserved block type)" % where)
        if last:
            break
    if fhd & 4:
        pos += 4
    if pos > size:
        raise InitrdError("truncated zstd data in %s" % where)
    return pos


def _lz4_end(view, pos, where):
    size = len(view)
    magic = struct.unpack_from("<I", view, pos)[0]
    if magic == _LZ4_LEGACY:
        # Legacy format (the only one the kernel reads): 4-byte chunk sizes, no
        # end mark; it stops at the end of data or at the next legacy magic.
        pos += 4
        while pos + 4 <= size:
            chunk = struct.unpack_from("<I", view, pos)[0]
            if chunk == _LZ4_LEGACY or chunk == 0:
                break
            if pos + 4 + chunk > size:
                raise InitrdError("truncated lz4 data in %s" % where)
            pos += 4 + chunk
        return pos
    if pos + 7 > size:
        raise InitrdError("truncated lz4 data in %s" % where)
    flg = view[pos + 4]
    pos += 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0) + 1
    while True:
        if pos + 4 > size:
            raise InitrdError("truncated lz4 data in %s" % where)
        block = struct.unpack_from("<I", view, pos)[0]
        pos += 4
        if block == 0:
            break
        pos += (block & 0x7FFFFFFF) + (4 if flg & 0x10 else 0)
    pos += 4 if flg & 0x04 else 0
    if pos > size:
        raise InitrdError("truncated lz4 data in %s" % where)
    return pos


def map_file(handle):
    """A read-only memoryview of the whole open file `handle` (b"" when empty).

    The pages are the file's page cache, not the process's own memory: the kernel can drop and
    re-read them under pressure, so a 1 GB image does not need 1 GB of RAM to be read. The
    mapping stays valid after the file is closed or unlinked.
    """
    size = os.fstat(handle.fileno()).st_size
    if not size:
        return memoryview(b"")
    return memoryview(mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ))


def map_path(path):
    with open(path, "rb") as handle:
        return map_file(handle)


def _spool(spool_dir):
    """An unlinked scratch file for a decompressed archive. Not tmpfs: there it would be
    memory again; the default is the caller's choice (dest's directory), then TMPDIR."""
    try:
        return tempfile.TemporaryFile(dir=spool_dir)
    except OSError:
        return tempfile.TemporaryFile()


_STEP = 1 << 20
_FULL = (errno.ENOSPC, errno.EDQUOT)   # the spool's file system is full, not the archive corrupt


def _stdlib_stream(view, offset, fmt, where, spool):
    if fmt == "gzip":
        dec = zlib.decompressobj(31)
    elif fmt == "xz":
        dec = lzma.LZMADecompressor(lzma.FORMAT_XZ)
    elif fmt == "lzma":
        dec = lzma.LZMADecompressor(lzma.FORMAT_ALONE)
    else:
        dec = bz2.BZ2Decompressor()
    pos = offset
    size = len(view)
    try:
        # 1 MiB of input at a time: the output goes to the spool, never all of it in memory.
        while not dec.eof and pos < size:
            chunk = view[pos:pos + _STEP]
            pos += len(chunk)
            spool.write(dec.decompress(chunk))
    except OSError as exc:
        if exc.errno in _FULL:
            raise ScratchFull("%s decompression of %s: %s" % (fmt, where, exc.strerror))
        raise InitrdError("corrupt %s data in %s: %s" % (fmt, where, exc))
    except (zlib.error, lzma.LZMAError, EOFError, ValueError) as exc:
        raise InitrdError("corrupt %s data in %s: %s" % (fmt, where, exc))
    if not dec.eof:
        raise InitrdError("truncated %s data in %s: the stream ends before its end mark"
                          % (fmt, where))
    return pos - len(dec.unused_data)


def _pipe_size(pipe):
    """A 1 MiB pipe instead of 64 KiB: 16 times fewer wake-ups (Linux; harmless elsewhere)."""
    try:
        import fcntl
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError, ValueError):
        pass


def _tool_stream(argv, data, what, spool):
    """Pipe data through a decompressor straight into the spool file (no copy through Python
    on the way out, no temporary file on the way in)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=spool, stderr=err)
        _pipe_size(proc.stdin)
        try:
            for pos in range(0, len(data), _STEP):
                proc.stdin.write(data[pos:pos + _STEP])
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
            code = proc.wait()
        if code != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace").strip()
            # the tool's own words are all there is: it reports a full spool like a read error
            kind = ScratchFull if any(os.strerror(e) in text for e in _FULL) else InitrdError
            raise kind("%s failed (%s exit %d): %s" % (what, argv[0], code, text))


def decompress_stream(buf, offset, fmt, where, spool_dir=None):
    """Decompress the one stream of `fmt` at offset; return (payload, end offset).

    The payload is a read-only memoryview of an unlinked spool file in spool_dir (see
    map_file), so reading an image costs page cache, not the process's memory.
    """
    view = memoryview(buf)
    if fmt not in ("gzip", "xz", "lzma", "bzip2", "zstd", "lz4"):
        raise InitrdError("unsupported compression '%s' in %s" % (fmt, where))
    with _spool(spool_dir) as spool:
        if fmt == "zstd" or fmt == "lz4":
            end = (_zstd_frame_end if fmt == "zstd" else _lz4_end)(view, offset, where)
            tool = _need(fmt, "reading the %s archive in %s" % (fmt, where))
            _tool_stream([tool, "-dcq"], view[offset:end], "%s decompression of %s" % (fmt, where),
                         spool)
        else:
            end = _stdlib_stream(view, offset, fmt, where, spool)
        try:
            spool.flush()
        except OSError as exc:
            if exc.errno in _FULL:
                raise ScratchFull("%s decompression of %s: %s" % (fmt, where, exc.strerror))
            raise
        return map_file(spool), end


def check_level(fmt, level, field="compression_level"):
    if level is None or fmt == "none":
        return
    low, high = LEVELS[fmt]
    if not low <= level <= high:
        raise InitrdError("%s=%r is out of range for %s (%d-%d)" % (field, level, fmt, low, high),
                          field, level)


def _tool_argv(fmt, level, explicit=True):
    """Command line of the external compressor for fmt, or None to use the stdlib."""
    if fmt == "gzip":
        for tool in ("pigz", "gzip"):
            if which(tool):
                return [which(tool), "-n", "-c", "-%d" % level]
        return None
    if fmt == "xz":
        if which("xz"):
            # The kernel's XZ decoder only checks CRC32. An explicit level is `xz -N` (the
            # preset's own dictionary); no level is dracut's `--lzma2=dict=1MiB`.
            preset = ["-%d" % level] if explicit else ["--lzma2=preset=%d,dict=1MiB" % level]
            return [which("xz"), "-c", "-T0", "--check=crc32"] + preset
        return None
    if fmt == "zstd":
        argv = [_need("zstd", "zstd compression"), "-q", "-c", "-T0", "-%d" % level]
        if level > 19:
            argv.insert(2, "--ultra")
        return argv
    if fmt == "lz4":
        # -l: the legacy frame, the only lz4 format the kernel unpacks.
        return [_need("lz4", "lz4 compression"), "-q", "-l", "-c", "-%d" % level]
    return None


def _stdlib_compressor(fmt, level, explicit=True):
    if fmt == "gzip":
        return zlib.compressobj(level, zlib.DEFLATED, 31)
    if fmt == "xz":
        lzma2 = {"id": lzma.FILTER_LZMA2, "preset": level}
        if not explicit:
            lzma2["dict_size"] = DRACUT_XZ_DICT
        return lzma.LZMACompressor(lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=[lzma2])
    if fmt == "lzma":
        return lzma.LZMACompressor(lzma.FORMAT_ALONE, preset=level)
    if fmt == "bzip2":
        return bz2.BZ2Compressor(level)
    return None


def compress_chunks(chunks, fmt, level, out):
    """Compress an iterable of byte chunks into the binary file object `out`.

    A stdlib gzip stream is written with mtime 0 (zlib wbits=31 writes no name
    and no time), like `gzip -n`, for reproducible output.
    """
    explicit = level is not None
    if level is None:
        level = DEFAULT_LEVEL[fmt]
    if fmt == "none":
        for chunk in chunks:
            out.write(chunk)
        return
    argv = _tool_argv(fmt, level, explicit)
    if argv is None:
        comp = _stdlib_compressor(fmt, level, explicit)
        for chunk in chunks:
            out.write(comp.compress(chunk))
        out.write(comp.flush())
        return
    out.flush()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=err)
        _pipe_size(proc.stdin)
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            raise InitrdError("%s compression failed (%s exit %d): %s" % (
                fmt, argv[0], code, err.read().decode("utf-8", "replace").strip()))


def compress_bytes(data, fmt, level=None):
    with tempfile.TemporaryFile() as out:
        compress_chunks([data], fmt, level, out)
        out.seek(0)
        return out.read()


# Kernel module files: how `make modules_install` compresses them.
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")


def module_suffix(name):
    for suffix in (".ko.xz", ".ko.zst", ".ko.gz", ".ko"):
        if name.endswith(suffix):
            return suffix
    return None


def decompress_module(data, suffix, where):
    try:
        if suffix == ".ko.xz":
            return lzma.decompress(data)
        if suffix == ".ko.gz":
            return gzip.decompress(data)
    except (lzma.LZMAError, OSError, EOFError) as exc:
        raise InitrdError("corrupt compressed module %s: %s" % (where, exc))
    if suffix == ".ko.zst":
        return _run([_need("zstd", "reading %s" % where), "-dcq"], data, "decompressing %s" % where)
    return bytes(data)


def compress_module(data, suffix, where):
    """Compress a module for suffix the way Linux's Makefile.modinst does."""
    if suffix == ".ko.xz":
        return lzma.compress(data, lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=[
            {"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 20}])
    if suffix == ".ko.gz":
        return gzip.compress(bytes(data), 9, mtime=0)
    if suffix == ".ko.zst":
        return _run([_need("zstd", "writing %s" % where), "-q", "-c", "-T0"], data,
                    "compressing %s" % where)
    return bytes(data)
