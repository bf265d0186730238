"""newc reading and writing against GNU cpio."""
import os
import subprocess

import pytest

import builders
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError


def test_parse_gnu_cpio_output_and_write_it_back(tmp_path):
    builders.stage(str(tmp_path / "in"), builders.base_files())
    raw = builders.cpio_of(str(tmp_path / "in"))
    entries, end = cpio.parse(raw, 0, "test")
    assert end <= len(raw) and raw[end:].strip(b"\0") == b""
    cpio._share_link_data(entries)
    names = [e.name for e in entries]
    assert "." in names and "lib" in names and "bin/busybox" in names
    lib = [e for e in entries if e.name == "lib"][0]
    assert lib.is_symlink and lib.target() == "usr/lib"
    out = cpio.to_bytes(entries)
    dest = tmp_path / "out"
    dest.mkdir()
    subprocess.run(["cpio", "--quiet", "-idm"], input=out, cwd=str(dest), check=True)
    assert os.readlink(str(dest / "lib")) == "usr/lib"
    busybox = dest / "bin" / "busybox"
    assert busybox.read_bytes() == b"\x7fELF busybox" * 100
    # Hard links stay links: one body, three names.
    assert os.stat(str(busybox)).st_ino == os.stat(str(dest / "bin" / "sh")).st_ino
    assert os.stat(str(busybox)).st_nlink == 3


def test_writer_normalises_owner_and_time():
    entry = cpio.Entry("etc/x", 0o100600, b"abc", uid=1000, gid=1000, mtime=123456)
    out = cpio.to_bytes([entry])
    parsed, _end = cpio.parse(out, 0, "test")
    assert (parsed[0].uid, parsed[0].gid, parsed[0].mtime) == (0, 0, 0)
    assert bytes(parsed[0].data) == b"abc"
    assert cpio.to_bytes([entry]) == out


def test_truncated_archive_is_an_error():
    out = cpio.to_bytes([cpio.Entry("etc/x", 0o100644, b"x" * 1000)])
    with pytest.raises(InitrdError, match="truncated cpio archive in image.img"):
        cpio.parse(out[:500], 0, "image.img")


def test_bad_magic_is_an_error():
    with pytest.raises(InitrdError, match="bad magic"):
        cpio.parse(b"070799" + b"0" * 200, 0, "image.img")


def test_normalize_name():
    assert cpio.normalize_name("./usr/lib") == "usr/lib"
    assert cpio.normalize_name(".") == "."
    assert cpio.normalize_name("/etc") == "etc"
