"""The file layout: one archive in rewrite mode, the manifest inside it, what the standard tools
list, the list mode, and files written by the first releases (a trailing manifest archive)."""
import json
import os
import shutil
import subprocess

import pytest

import builders
from builders import KVER, MODROOT
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cache, image, surgery
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

IPOIB = MODROOT + "/kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko"
# ib_ipoib with its closure from the source tree's modules.dep.
CLOSURE = [IPOIB, MODROOT + "/kernel/drivers/infiniband/core/ib_cm.ko",
           MODROOT + "/kernel/drivers/infiniband/core/ib_core.ko"]
SKIPCPIO = "/usr/lib/dracut/skipcpio"
MICROCODE = "kernel/x86/microcode/GenuineIntel.bin"
DUMMY = MODROOT + "/kernel/drivers/net/dummy.ko"
LEGACY = "etc/fabric-boot/initrd-manifest.json"


def run(**params):
    return surgery.run(params)


def pipe_list(path, fmt, skip_early=False):
    """`decompress < img | cpio -it` under pipefail, as an admin script would run it; with
    skip_early, dracut's skipcpio (what lsinitrd uses) drops the early archive first."""
    dec = " ".join(builders.DECOMPRESSORS[fmt])
    feed = '%s "$1" | %s' % (SKIPCPIO, dec) if skip_early else '%s < "$1"' % dec
    proc = subprocess.run(["bash", "-c", "set -o pipefail; %s | cpio --quiet -it" % feed,
                           "list", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return [n for n in proc.stdout.decode().split("\n") if n]


@pytest.mark.parametrize("fmt", ["gzip", "xz", "zstd"])
def test_rewrite_is_one_archive_every_tool_lists(tmp_path, fmt):
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, fmt)
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    dest = str(tmp_path / "out.img")
    run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    names = pipe_list(dest, fmt)
    assert set(CLOSURE) <= set(names) and names[-1] == image.MANIFEST_PATH
    # The decompressor ends exactly at the end of the file: nothing trails the archive.
    data = open(dest, "rb").read()
    assert [(a.compression, a.end) for a in image.read_archives(data, dest)] == [(fmt, len(data))]
    out = builders.extract(data, fmt, str(tmp_path / "x"))
    manifest = json.load(open(os.path.join(out, image.MANIFEST_PATH)))
    assert manifest["tool"] == "fabric.boot.initrd" and manifest["mode"] == "rewrite"
    assert os.path.isdir(os.path.join(out, "usr/lib/fabric-boot"))


@pytest.mark.parametrize("fmt", ["gzip", "xz", "zstd"])
def test_rewrite_behind_early_microcode_every_tool_lists(tmp_path, fmt):
    """Early cpio + one archive: skipcpio | decompress | cpio -it and lsinitrd list the whole
    main archive, closure and manifest included, and exit 0 under pipefail."""
    assert os.access(SKIPCPIO, os.X_OK) and shutil.which("lsinitrd"), \
        "dracut-core is not installed (tests/ci/apt-packages.sh)"
    src = str(tmp_path / "initrd.img")
    early = builders.make_image(src, fmt, early={MICROCODE: b"\x01microcode" * 50})
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    dest = str(tmp_path / "out.img")
    result = run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    assert [a["role"] for a in result["archives"]] == ["early", "main"]
    data = open(dest, "rb").read()
    assert data[:len(early)] == early
    archives = image.read_archives(data, dest)
    # GNU cpio pads the early archive with NULs to 512 bytes; the main archive follows it and
    # ends at the end of the file.
    assert [(a.compression, a.offset) for a in archives] == [("none", 0), (fmt, len(early))]
    assert archives[1].end == len(data)
    names = pipe_list(dest, fmt, skip_early=True)
    assert set(CLOSURE) <= set(names) and names[-1] == image.MANIFEST_PATH
    assert MICROCODE not in names
    # lsinitrd: the early archive's members, then the main archive's, same set.
    proc = subprocess.run(["lsinitrd", dest], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    listed = set(line.split()[-1] for line in proc.stdout.decode().splitlines() if line.strip())
    assert set(CLOSURE) | {image.MANIFEST_PATH, MICROCODE} <= listed
    assert json.loads(subprocess.run(["lsinitrd", "-f", image.MANIFEST_PATH, dest],
                                     stdout=subprocess.PIPE, check=True).stdout)["mode"] == "rewrite"


def test_list_mode_shows_every_segment(env):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    run(src=src, dest=dest, mode="append", add_modules=["ib_ipoib"], module_source=tree)
    before = open(dest, "rb").read()
    listed = run(src=dest, mode="list")
    assert listed["changed"] is False and open(dest, "rb").read() == before
    main, appended = listed["archives"]
    assert (main["role"], main["compression"], appended["role"]) == ("main", "gzip", "appended")
    assert main["offset"] == 0 and appended["offset"] == main["size"] == os.path.getsize(src)
    assert appended["offset"] + appended["size"] == len(before)
    main_names = [m["name"] for m in main["members"]]
    appended_names = [m["name"] for m in appended["members"]]
    # Same members, same order, as the real tools list each segment.
    assert main_names == builders.list_image(before[:main["size"]], "gzip")
    assert appended_names == builders.list_image(before[appended["offset"]:], "gzip")
    assert IPOIB in appended_names and IPOIB not in main_names
    assert appended_names[-1] == image.MANIFEST_PATH
    lib = next(m for m in main["members"] if m["name"] == "lib")
    assert lib == {"name": "lib", "type": "symlink", "mode": "0777", "size": 0, "target": "usr/lib"}
    ipoib = next(m for m in appended["members"] if m["name"] == IPOIB)
    assert ipoib["type"] == "file" and ipoib["size"] == os.path.getsize(
        os.path.join(tree, "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko"))
    assert listed["manifest"]["mode"] == "append" and listed["kernel_version"] == KVER


def test_list_mode_refuses_change_options(env):
    _tmp, src, _tree = env
    with pytest.raises(InitrdError, match="mode=list only reads src; remove_modules"):
        run(src=src, mode="list", remove_modules=["dummy"])


def test_manifest_path_is_reserved(env):
    _tmp, src, _tree = env
    with pytest.raises(InitrdError, match="reserved"):
        run(src=src, files=[{"dest": "/" + image.MANIFEST_PATH, "content": "{}"}])


def _legacy(src, tmp, mode="rewrite", base_size=None, overlay=None):
    """A file as the first releases wrote it: image [| appended archive] | manifest archive."""
    data = open(src, "rb").read()
    if overlay:
        stage = str(tmp / "overlay")
        builders.stage(stage, overlay)
        data += builders.compress(builders.cpio_of(stage), "gzip")
        shutil.rmtree(stage)
    manifest = {"tool": "fabric.boot.initrd", "format": 1, "mode": mode, "request_sha256": "0" * 64,
                "source_sha256": "0" * 64, "base_size": base_size, "body_size": len(data)}
    stage = str(tmp / "manifest")
    builders.stage(stage, {"etc/fabric-boot": ("dir",), LEGACY: json.dumps(manifest).encode()})
    data += builders.compress(builders.cpio_of(stage), "gzip")
    shutil.rmtree(stage)
    with open(src, "wb") as handle:
        handle.write(data)


def test_legacy_rewrite_output_is_rebuilt_once(env):
    tmp, src, tree = env
    _legacy(src, tmp)
    assert [a.describe()["role"] for a in image.read_archives(open(src, "rb").read(), src)] == [
        "main", "manifest"]
    first = run(src=src, add_modules=["ib_ipoib"], module_source=tree)
    assert first["changed"] and [a["role"] for a in first["archives"]] == ["main"]
    names = pipe_list(src, "gzip")
    assert LEGACY not in names and names[-1] == image.MANIFEST_PATH and IPOIB in names
    assert run(src=src, add_modules=["ib_ipoib"], module_source=tree)["changed"] is False


def test_legacy_append_output_keeps_its_base(env):
    tmp, src, tree = env
    base = open(src, "rb").read()
    _legacy(src, tmp, mode="append", base_size=len(base), overlay={DUMMY: b""})
    result = run(src=src, mode="append", add_modules=["ib_ipoib"], module_source=tree)
    assert [a["role"] for a in result["archives"]] == ["main", "appended"]
    data = open(src, "rb").read()
    assert data[:len(base)] == base
    appended = builders.list_image(data[len(base):], "gzip")
    assert IPOIB in appended and DUMMY not in appended and LEGACY not in appended
    assert run(src=src, mode="append", add_modules=["ib_ipoib"], module_source=tree)["changed"] is False


def test_appended_archive_of_another_tool_is_kept(env):
    """Only our own appended archive is replaced; someone else's stays part of the base."""
    tmp, src, tree = env
    stage = str(tmp / "theirs")
    builders.stage(stage, {"etc/theirs": b"x\n"})
    with open(src, "ab") as handle:
        handle.write(builders.compress(builders.cpio_of(stage), "gzip"))
    base = open(src, "rb").read()
    run(src=src, mode="append", add_modules=["ib_ipoib"], module_source=tree)
    run(src=src, mode="append", add_modules=["ib_cm"], module_source=tree)
    listed = run(src=src, mode="list")["archives"]
    assert [a["role"] for a in listed] == ["main", "main", "appended"]
    assert open(src, "rb").read()[:len(base)] == base


def test_noop_shortcut_from_the_xattr_then_from_the_manifest(env, monkeypatch):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    first = run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    assert cache.load(dest)["sha256"] == first["sha256"]
    # With the attribute, nothing is decompressed.
    real = surgery.find_manifest
    monkeypatch.setattr(surgery, "find_manifest", lambda *a: pytest.fail("decompressed"))
    again = run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    assert again["changed"] is False and again["modules_added"] == first["modules_added"]
    assert again["archives"] == first["archives"] and again["sha256"] == first["sha256"]
    # Without it (a copy, another file system), the manifest inside the image decides.
    monkeypatch.setattr(surgery, "find_manifest", real)
    os.removexattr(dest, cache.XATTR)
    again = run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    assert again["changed"] is False and again["archives"] == first["archives"]
    # An attribute that does not match the bytes is ignored.
    cache.save(dest, dict(cache.load(dest) or {}, sha256="0" * 64))
    data = bytearray(open(dest, "rb").read())
    data[-30] ^= 1
    with open(dest, "wb") as handle:
        handle.write(data)
    assert run(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)["changed"]


def test_record_is_fresh_after_a_move_that_copies_the_old_xattrs(env):
    """Ansible's atomic_move copies the old file's stat and xattrs onto the new one."""
    tmp, src, tree = env
    dest = str(tmp / "out.img")

    def atomic_move(new, old):
        if os.path.exists(old):
            shutil.copystat(old, new)
        os.rename(new, old)

    surgery.run(dict(src=src, dest=dest, add_modules=["ib_cm"], module_source=tree),
                commit_func=atomic_move)
    second = surgery.run(dict(src=src, dest=dest, add_modules=["ib_ipoib"], module_source=tree),
                         commit_func=atomic_move)
    assert second["changed"] and cache.load(dest)["sha256"] == second["sha256"]
