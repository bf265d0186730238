"""Decompressed archives live in a mapped spool file, and depmod runs while the members that sort
before its outputs are written: same bytes as the serial order, without the whole image in
process memory."""
import mmap
import os
import re

import pytest

import builders
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio, depmod, surgery
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

PAYLOAD = b"070701" + bytes(range(256)) * 9000
ROOT = "usr/lib/modules/6.1.0-test"


@pytest.mark.parametrize("fmt", ["gzip", "xz", "lzma", "zstd", "bzip2", "lz4"])
def test_decompressed_archive_is_a_mapped_file_not_a_bytes_copy(tmp_path, fmt):
    data = builders.compress(PAYLOAD, fmt) + b"\0" * 8
    out, end = compression.decompress_stream(data, 0, fmt, "test", str(tmp_path))
    assert isinstance(out.obj, mmap.mmap)
    assert out == PAYLOAD and end <= len(data) - 4
    # The spool is unlinked at once: nothing is left in the spool directory.
    assert not list(tmp_path.iterdir())


class _Tree:
    def __init__(self, entries):
        self.entries = dict((e.name, e) for e in entries)


class _FakeDepmod:
    """Stands in for depmod.Depmod's interface only; records what had been written when the
    writer first needed depmod's output."""

    def __init__(self, outputs, pieces):
        self.names = sorted(outputs)
        self.outputs = outputs
        self.pieces = pieces
        self.written_before = None

    def result(self):
        if self.written_before is None:
            self.written_before = re.findall(rb"070701[0-9A-F]{104}([^\0]+)\0", b"".join(
                bytes(p) for p in self.pieces))
        return self.outputs


def _entries():
    return [cpio.Entry(".", surgery.DIR_MODE), cpio.Entry("etc", surgery.DIR_MODE),
            cpio.Entry(ROOT + "/kernel/a.ko", surgery.FILE_MODE, b"A" * 5000),
            cpio.Entry(ROOT + "/modules.alias", surgery.FILE_MODE, b"old alias\n"),
            cpio.Entry(ROOT + "/modules.dep", surgery.FILE_MODE, b"old dep\n"),
            cpio.Entry(ROOT + "/modules.order", surgery.FILE_MODE, b"kernel/a.ko\n"),
            cpio.Entry(ROOT + "/updates/b.ko", surgery.FILE_MODE, b"B" * 3000),
            cpio.Entry("usr/sbin/x", surgery.FILE_MODE, b"x")]


def test_depmod_outputs_wait_and_the_bytes_match_the_serial_order():
    outputs = {ROOT + "/modules.dep": b"new dep\n", ROOT + "/modules.dep.bin": b"\x00bin",
               ROOT + "/modules.alias": b"old alias\n"}
    entries = _entries()
    pieces = []
    fake = _FakeDepmod(outputs, pieces)
    plan, tree = surgery.Plan(), _Tree(entries)
    final = dict(tree.entries)
    payload = list(entries)
    resolve = surgery._depmod_resolver(fake, plan, tree, final, payload)
    for piece in cpio.write_entries(payload, resolve=resolve):
        pieces.append(piece)
    # Everything before modules.alias (depmod's first output in sorted order) was written
    # before depmod's result was needed; nothing after it.
    assert [n.decode() for n in fake.written_before] == [".", "etc", ROOT + "/kernel/a.ko"]
    # Same bytes as writing the final tree in one go: the changed outputs replaced, the new
    # modules.dep.bin in its sorted place, the unchanged modules.alias kept as it was.
    serial = dict((e.name, e) for e in entries)
    serial[ROOT + "/modules.dep"] = cpio.Entry(ROOT + "/modules.dep", surgery.FILE_MODE,
                                               b"new dep\n")
    serial[ROOT + "/modules.dep.bin"] = cpio.Entry(ROOT + "/modules.dep.bin", surgery.FILE_MODE,
                                                   b"\x00bin")
    expected = cpio.to_bytes(sorted(serial.values(), key=surgery._order_key))
    assert b"".join(bytes(p) for p in pieces) == expected
    assert sorted(plan.changes) == [ROOT + "/modules.dep", ROOT + "/modules.dep.bin"]


def test_append_leaves_out_depmod_outputs_that_did_not_change():
    """In append mode only changes are written: an unchanged output's placeholder is dropped and
    inode numbers stay consecutive."""
    base = _entries()
    outputs = {ROOT + "/modules.dep": b"new dep\n", ROOT + "/modules.alias": b"old alias\n"}
    plan, tree = surgery.Plan(), _Tree(base)
    added = cpio.Entry(ROOT + "/kernel/c.ko", surgery.FILE_MODE, b"C" * 100)
    plan.changes[added.name] = added
    fake = _FakeDepmod(outputs, [])
    payload = [added]
    resolve = surgery._depmod_resolver(fake, plan, tree, dict(tree.entries), payload)
    written = b"".join(
        bytes(p) for p in cpio.write_entries(payload, resolve=resolve))
    expected = cpio.to_bytes([added, plan.changes[ROOT + "/modules.dep"]])
    assert written == expected


def test_depmod_failure_in_the_background_is_reported(monkeypatch, tmp_path):
    false = compression.which("false")
    monkeypatch.setattr(depmod.shutil, "which", lambda tool: false)
    entries = dict((e.name, e) for e in _entries())
    pending = depmod.Depmod(entries, ROOT, "6.1.0-test")
    with pytest.raises(InitrdError, match=r"depmod -b for kernel 6.1.0-test failed \(exit 1\)"):
        pending.result()
    assert not os.path.exists(pending.tmp)
