"""Detection and stream boundaries for every format, checked against the real tools."""
import random
import shutil
import subprocess

import pytest

import builders
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

PAYLOAD = b"070701" + bytes(range(256)) * 4000

FORMATS = ["gzip", "xz", "lzma", "zstd", "bzip2", "lz4"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_stream_end_is_found_with_data_after_it(fmt):
    first = builders.compress(PAYLOAD, fmt)
    assert compression.detect(first) == fmt
    # What follows must not be swallowed: the kernel starts the next archive there.
    following = builders.compress(b"second", "gzip") if fmt != "lz4" else b"\x00" * 4 + b"070701"
    data = first + following
    out, end = compression.decompress_stream(data, 0, fmt, "test")
    assert bytes(out) == PAYLOAD
    assert end == len(first)


@pytest.mark.parametrize("fmt", FORMATS)
def test_our_compressor_output_is_read_by_the_real_tool(fmt):
    data = compression.compress_bytes(PAYLOAD, fmt)
    assert builders.decompress(data, fmt) == PAYLOAD
    assert compression.compress_bytes(PAYLOAD, fmt) == data


def test_xz_output_uses_crc32_for_the_kernel(tmp_path):
    path = tmp_path / "x.xz"
    path.write_bytes(compression.compress_bytes(PAYLOAD, "xz"))
    listing = subprocess.run(["xz", "--robot", "--list", str(path)], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
    assert "CRC32" in listing


def test_lz4_output_is_the_legacy_format():
    assert compression.compress_bytes(PAYLOAD, "lz4")[:4] == b"\x02\x21\x4c\x18"


@pytest.mark.parametrize("fmt", ["gzip", "xz", "zstd", "bzip2"])
def test_truncated_stream_is_an_error(fmt):
    data = builders.compress(PAYLOAD, fmt)
    with pytest.raises(InitrdError, match="(truncated|corrupt) .*in image.img"):
        compression.decompress_stream(data[:len(data) // 2], 0, fmt, "image.img")


def test_detect_unknown_and_lzo():
    assert compression.detect(b"hello world") is None
    assert compression.detect(b"\x89LZO\x00\r\n") == "lzo"
    assert compression.detect(b"070701") == "none"


def test_level_out_of_range():
    with pytest.raises(InitrdError, match="compression_level=42 is out of range for gzip"):
        compression.check_level("gzip", 42)


@pytest.mark.parametrize("suffix", [".ko.xz", ".ko.zst", ".ko.gz"])
def test_module_compression_round_trip(suffix):
    elf = builders.elf_module("x")
    packed = compression.compress_module(elf, suffix, "x" + suffix)
    assert compression.decompress_module(packed, suffix, "x" + suffix) == elf
    fmt = {".ko.xz": "xz", ".ko.zst": "zstd", ".ko.gz": "gzip"}[suffix]
    assert builders.decompress(packed, fmt) == elf


def _far_repeats():
    """1.1 MiB of random bytes twice: the second copy is only found by a dictionary larger than
    1 MiB, so `xz -9` (64 MiB) halves it and dracut's fixed 1 MiB dictionary does not."""
    block = random.Random(14).randbytes(1152 * 1024)
    return block + block


def _xz_tool(data, *args):
    return subprocess.run(["xz", "-c", "--check=crc32"] + list(args), input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def _filter_chain(data, tmp_path):
    path = tmp_path / "chain.xz"
    path.write_bytes(data)
    listing = subprocess.run(["xz", "--robot", "-lvv", str(path)], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
    return [line.split("\t")[-1] for line in listing.splitlines() if line.startswith("block\t")]


@pytest.mark.parametrize("backend", ["xz", "stdlib"])
def test_xz_level_9_is_xz_minus_9(tmp_path, monkeypatch, backend):
    """compression_level 9 is `xz -9`, through the xz tool and through Python's lzma alike;
    no level is dracut's `--lzma2=dict=1MiB`."""
    assert shutil.which("xz"), "xz is not installed (tests/ci/apt-packages.sh)"
    data = _far_repeats()
    if backend == "stdlib":
        real = compression.which
        monkeypatch.setattr(compression, "which", lambda tool: None if tool == "xz" else real(tool))
    ours = compression.compress_bytes(data, "xz", 9)
    reference = _xz_tool(data, "-9")
    assert builders.decompress(ours, "xz") == data
    assert _filter_chain(ours, tmp_path) == ["--lzma2=dict=64MiB"]
    # Same preset, same size up to the block header and index (the tool's -T0 writes sizes).
    assert abs(len(ours) - len(reference)) <= 64, (len(ours), len(reference))
    default = compression.compress_bytes(data, "xz")
    assert _filter_chain(default, tmp_path) == ["--lzma2=dict=1MiB"]
    assert abs(len(default) - len(_xz_tool(data, "--lzma2=dict=1MiB"))) <= 64
    assert len(ours) < 0.6 * len(default), (len(ours), len(default))


@pytest.mark.parametrize("fmt", ["gzip", "zstd"])   # a stdlib decoder and an external tool
def test_a_full_spool_is_not_called_corrupt_data(monkeypatch, fmt):
    # /dev/full fails every write with ENOSPC, as a full file system under the spool does
    monkeypatch.setattr(compression, "_spool", lambda _d: open("/dev/full", "w+b"))
    with pytest.raises(compression.ScratchFull) as err:
        compression.decompress_stream(builders.compress(PAYLOAD, fmt), 0, fmt, "test.img")
    assert "No space left on device" in err.value.msg and "corrupt" not in err.value.msg
