"""Build real test inputs: ELF modules with a .modinfo section, newc images made
by GNU cpio from a staged directory, compressed by the real command-line tools.

Nothing here uses the code under test, so a bug there cannot hide in a fixture.
"""
import os
import shutil
import struct
import subprocess

KVER = "6.1.0-test"
MODROOT = "usr/lib/modules/" + KVER

# How each format is produced by the tools distributions use for initrds.
COMPRESSORS = {
    "gzip": ["gzip", "-n", "-c", "-6"],
    "xz": ["xz", "-c", "--check=crc32"],
    "lzma": ["lzma", "-c"],
    "zstd": ["zstd", "-q", "-c", "-3"],
    "bzip2": ["bzip2", "-c"],
    "lz4": ["lz4", "-q", "-l", "-c"],
    "none": ["cat"],
}
DECOMPRESSORS = {
    "gzip": ["gzip", "-dc"], "xz": ["xz", "-dc"], "lzma": ["lzma", "-dc"], "zstd": ["zstd", "-dcq"],
    "bzip2": ["bzip2", "-dc"], "lz4": ["lz4", "-dcq"], "none": ["cat"],
}


def elf_module(name, vermagic=KVER + " SMP preempt mod_unload modversions", depends=(), pad=0):
    """A minimal relocatable x86-64 ELF that depmod and our parser accept as a module."""
    modinfo = b"".join(s.encode() + b"\0" for s in (
        "license=GPL", "depends=" + ",".join(depends), "name=" + name, "vermagic=" + vermagic))
    modinfo += b"\0" * pad
    shstrtab = b"\0.modinfo\0.symtab\0.strtab\0.shstrtab\0.gnu.linkonce.this_module\0"
    symtab = b"\0" * 24
    strtab = b"\0"
    this_module = b"\0" * 64
    blobs = [modinfo, symtab, strtab, shstrtab, this_module]
    offsets = []
    pos = 64
    for blob in blobs:
        pos = (pos + 7) & ~7
        offsets.append(pos)
        pos += len(blob)
    shoff = (pos + 7) & ~7
    body = bytearray(shoff)
    for blob, off in zip(blobs, offsets):
        body[off:off + len(blob)] = blob
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header = ident + struct.pack("<HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0, 64, 0, 0, 64, 6, 4)
    body[0:64] = header

    def shdr(name_off, stype, off, size, link=0, info=0, align=1, entsize=0, flags=0):
        return struct.pack("<IIQQQQIIQQ", name_off, stype, flags, 0, off, size, link, info, align,
                           entsize)

    sections = [
        b"\0" * 64,
        shdr(1, 1, offsets[0], len(modinfo), flags=2),
        shdr(10, 2, offsets[1], len(symtab), link=3, info=1, align=8, entsize=24),
        shdr(18, 3, offsets[2], len(strtab)),
        shdr(26, 3, offsets[3], len(shstrtab)),
        shdr(36, 1, offsets[4], len(this_module), flags=3, align=8),
    ]
    return bytes(body) + b"".join(sections)


def stage(root, files):
    """files: path -> bytes | ("symlink", target) | ("dir",) | ("hardlink", other path)."""
    os.makedirs(root, exist_ok=True)
    for path, value in sorted(files.items()):
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(value, tuple) and value[0] == "symlink":
            os.symlink(value[1], full)
        elif isinstance(value, tuple) and value[0] == "dir":
            os.makedirs(full, exist_ok=True)
        elif isinstance(value, tuple) and value[0] == "hardlink":
            os.link(os.path.join(root, value[1]), full)
        else:
            with open(full, "wb") as handle:
                handle.write(value)


def cpio_of(root):
    names = subprocess.run("find . | LC_ALL=C sort", shell=True, cwd=root, check=True,
                           stdout=subprocess.PIPE).stdout
    return subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "root:root"], cwd=root,
                          input=names, stdout=subprocess.PIPE, check=True).stdout


def compress(data, fmt):
    return subprocess.run(COMPRESSORS[fmt], input=data, stdout=subprocess.PIPE, check=True).stdout


def decompress(data, fmt):
    return subprocess.run(DECOMPRESSORS[fmt], input=data, stdout=subprocess.PIPE, check=True).stdout


def base_files(module_suffix=".ko", extra=None):
    """A small initramfs-tools-like tree: lib -> usr/lib, modules under usr/lib/modules."""
    files = {
        "init": b"#!/bin/sh\nexec /sbin/init\n",
        "lib": ("symlink", "usr/lib"),
        "bin/busybox": b"\x7fELF busybox" * 100,
        "bin/sh": ("hardlink", "bin/busybox"),
        "bin/ls": ("hardlink", "bin/busybox"),
        "etc/modprobe.d/stock.conf": b"options foo bar=1\n",
        "scripts/functions": b"load_modules() { :; }\n",
        "conf/initramfs.conf": b"MODULES=most\n",
        MODROOT + "/modules.order": b"kernel/drivers/infiniband/core/ib_core.ko\n",
        MODROOT + "/modules.builtin": b"kernel/crypto/crc32c_generic.ko\n",
    }
    core = elf_module("ib_core")
    files[MODROOT + "/kernel/drivers/infiniband/core/ib_core" + module_suffix] = \
        _module_bytes(core, module_suffix)
    files[MODROOT + "/kernel/drivers/net/dummy" + module_suffix] = \
        _module_bytes(elf_module("dummy"), module_suffix)
    files[MODROOT + "/modules.dep"] = (
        "kernel/drivers/infiniband/core/ib_core%s:\nkernel/drivers/net/dummy%s:\n"
        % (module_suffix, module_suffix)).encode()
    files.update(extra or {})
    return files


def _module_bytes(elf, suffix):
    if suffix == ".ko":
        return elf
    fmt = {".ko.xz": "xz", ".ko.zst": "zstd", ".ko.gz": "gzip"}[suffix]
    return compress(elf, fmt)


def make_image(path, fmt="gzip", files=None, early=None):
    """Write an initrd to path; early: files of an uncompressed archive put in front."""
    work = path + ".stage"
    shutil.rmtree(work, ignore_errors=True)
    stage(work, files if files is not None else base_files())
    data = compress(cpio_of(work), fmt)
    prefix = b""
    if early:
        stage(work + "-early", early)
        prefix = cpio_of(work + "-early")
    with open(path, "wb") as handle:
        handle.write(prefix + data)
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(work + "-early", ignore_errors=True)
    return prefix


def source_tree(root, vermagic=KVER + " SMP preempt mod_unload modversions"):
    """A /lib/modules/<kver>-like tree whose modules.dep gives ib_ipoib its closure."""
    mods = {
        "kernel/drivers/infiniband/core/ib_core.ko": elf_module("ib_core", vermagic, pad=16),
        "kernel/drivers/infiniband/core/ib_cm.ko": elf_module("ib_cm", vermagic, ["ib_core"]),
        "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko": elf_module(
            "ib_ipoib", vermagic, ["ib_cm", "ib_core"]),
        "kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko": elf_module("mlxfw", vermagic),
        "kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko": elf_module(
            "mlx5_ib", vermagic, ["ib_core"]),
    }
    dep = (
        "kernel/drivers/infiniband/core/ib_core.ko:\n"
        "kernel/drivers/infiniband/core/ib_cm.ko: kernel/drivers/infiniband/core/ib_core.ko\n"
        "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko: kernel/drivers/infiniband/core/ib_cm.ko "
        "kernel/drivers/infiniband/core/ib_core.ko\n"
        "kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko:\n"
        # modules.dep knows what .modinfo does not say: mlx5_ib needs mlxfw.
        "kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko: "
        "kernel/drivers/net/ethernet/mellanox/mlxfw/mlxfw.ko "
        "kernel/drivers/infiniband/core/ib_core.ko\n")
    files = dict(mods)
    files["modules.dep"] = dep.encode()
    stage(root, files)
    return root


def list_image(data, fmt, skip=0):
    """Names in the main archive, read by the real tools (decompressor | cpio -t)."""
    raw = decompress(data[skip:], fmt)
    out = subprocess.run(["cpio", "--quiet", "-t"], input=raw, stdout=subprocess.PIPE,
                         check=True).stdout
    return [n for n in out.decode().split("\n") if n]


def extract(data, fmt, dest, skip=0):
    os.makedirs(dest, exist_ok=True)
    raw = decompress(data[skip:], fmt)
    subprocess.run(["cpio", "--quiet", "-idm"], input=raw, cwd=dest, check=True)
    return dest


def gzip_env(tmp_path):
    """(tmp dir, a gzip test initrd, a kernel module tree for KVER): the `env` fixture of the
    initramfs unit tests and of the initrd module tests."""
    src = str(tmp_path / "initrd.img")
    make_image(src, "gzip")
    tree = source_tree(str(tmp_path / "src" / KVER))
    return tmp_path, src, tree
