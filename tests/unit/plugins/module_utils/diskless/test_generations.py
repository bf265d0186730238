"""Generation directories: plan, commit (one rename), pin, prune; on real directories."""
import json
import os

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.diskless import generations as g
from ansible_collections.fabric.boot.plugins.module_utils.diskless import squashfs
from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError

INPUTS = {"tree": "a" * 64, "kernel_version": "6.1.0-99-amd64", "squashfs": {"compression": "xz"}}


def build(images, name, gen, inputs, content=b"x"):
    part = g.partial_dir(images, name, gen)
    os.makedirs(part)
    for f in g.FILES:
        with open(os.path.join(part, f), "wb") as fh:
            fh.write(content + f.encode())
    return g.commit(images, name, gen, inputs)


def test_first_plan_builds_generation_1(tmp_path):
    plan = g.plan(str(tmp_path / "images"), "img", INPUTS)
    assert plan == {"latest": None, "generations": [], "generation": 1, "build": True, "reason": "no generation yet",
                    "initrd_from": None}


def test_commit_renames_and_manifest_lists_files(tmp_path):
    images = str(tmp_path)
    manifest = build(images, "img", 1, INPUTS)
    assert not os.path.exists(g.partial_dir(images, "img", 1))
    with open(os.path.join(g.gen_dir(images, "img", 1), "manifest.json")) as f:
        assert json.load(f) == manifest
    assert sorted(manifest["files"]) == sorted(g.FILES)
    assert manifest["inputs"] == INPUTS


def test_same_inputs_reuse_the_generation(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    # key order does not matter: the manifest stores canonical JSON
    plan = g.plan(images, "img", dict(reversed(list(INPUTS.items()))))
    assert (plan["generation"], plan["build"]) == (1, False)


def test_changed_inputs_build_the_next_generation(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    plan = g.plan(images, "img", dict(INPUTS, tree="b" * 64))
    assert (plan["generation"], plan["build"], plan["reason"]) == (2, True, "inputs differ from generation 1")


def test_numbers_are_not_reused_after_an_unfinished_build(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    os.makedirs(g.partial_dir(images, "img", 2))     # a run that died half way
    assert g.plan(images, "img", dict(INPUTS, tree="c" * 64))["generation"] == 3


def test_a_directory_without_manifest_is_not_published(tmp_path):
    images = str(tmp_path)
    os.makedirs(g.gen_dir(images, "img", 1))
    assert g.complete(images, "img") == []
    assert g.plan(images, "img", INPUTS)["generation"] == 2


def test_other_images_with_a_common_prefix_do_not_count(tmp_path):
    images = str(tmp_path)
    build(images, "img-b", 4, INPUTS)
    assert g.plan(images, "img", INPUTS)["generation"] == 1


def test_pin_serves_a_published_generation(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    build(images, "img", 2, dict(INPUTS, tree="b" * 64))
    plan = g.plan(images, "img", {}, pin=1)
    assert (plan["generation"], plan["build"], plan["reason"]) == (1, False, "pinned to generation 1")


def test_pin_to_a_missing_generation_fails(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    with pytest.raises(DisklessError, match=r"generation 7 is pinned .* \(published: 1\)"):
        g.plan(images, "img", {}, pin=7)


def test_commit_refuses_an_incomplete_build(tmp_path):
    images = str(tmp_path)
    part = g.partial_dir(images, "img", 1)
    os.makedirs(part)
    open(os.path.join(part, "vmlinuz"), "w").write("k")
    with pytest.raises(DisklessError, match="initrd.img is missing or empty"):
        g.commit(images, "img", 1, INPUTS)
    assert not os.path.exists(g.gen_dir(images, "img", 1))


def test_commit_never_overwrites(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    os.makedirs(g.partial_dir(images, "img", 1))
    with pytest.raises(DisklessError, match="never overwritten"):
        g.commit(images, "img", 1, INPUTS)


def test_prune_keeps_the_newest_and_the_served(tmp_path):
    images = str(tmp_path)
    for n in range(1, 6):
        build(images, "img", n, dict(INPUTS, tree=str(n)))
    os.makedirs(g.partial_dir(images, "img", 6))
    would = g.prune(images, "img", 2, 1, check=True)
    assert g.complete(images, "img") == [1, 2, 3, 4, 5]     # check mode removes nothing
    removed = g.prune(images, "img", 2, 1)
    assert removed == would
    assert g.complete(images, "img") == [1, 4, 5]
    assert not os.path.exists(g.partial_dir(images, "img", 6))


def test_prune_needs_keep_2(tmp_path):
    with pytest.raises(DisklessError, match="at least 2"):
        g.prune(str(tmp_path), "img", 1, 1)


def test_squashfs_argv_is_fixed_time_and_excludes_last():
    cmd = squashfs.argv("/r", "/o/rootfs.squashfs", ["proc/1", "tmp/x"], "zstd", "1M", 0)
    assert cmd[:3] == ["mksquashfs", "/r", "/o/rootfs.squashfs"]
    assert cmd[cmd.index("-all-time") + 1] == "0" and cmd[cmd.index("-mkfs-time") + 1] == "0"
    assert cmd[-3:] == ["-e", "proc/1", "tmp/x"]
    assert "-e" not in squashfs.argv("/r", "/o", [])


def test_squashfs_level():
    cmd = squashfs.argv("/r", "/o", ["tmp/x"], "zstd", level=3)
    assert cmd[cmd.index("-Xcompression-level") + 1] == "3" and cmd[-2:] == ["-e", "tmp/x"]


@pytest.mark.parametrize("kw, message", [({"compression": "bz"}, "compression"), ({"timestamp": -1}, "timestamp"),
                                         ({"compression": "zstd", "level": 23}, "zstd takes 1 .. 22"),
                                         ({"compression": "xz", "level": 3}, "only gzip and zstd take a level")])
def test_squashfs_argv_refuses(kw, message):
    with pytest.raises(DisklessError, match=message):
        squashfs.argv("/r", "/o", [], **kw)


def test_initrd_is_reused_from_the_newest_generation_with_the_same_initrd_inputs(tmp_path):
    images = str(tmp_path)
    a = dict(INPUTS, initrd={"modules": "m1", "dracut": {"version": "059"}})
    build(images, "img", 1, a)
    build(images, "img", 2, dict(a, tree="b" * 64))
    build(images, "img", 3, dict(a, tree="c" * 64, initrd={"modules": "m2"}))
    plan = g.plan(images, "img", dict(a, tree="d" * 64))
    assert (plan["generation"], plan["build"], plan["initrd_from"]) == (4, True, 2)
    assert g.plan(images, "img", dict(a, tree="d" * 64, initrd={"modules": "m3"}))["initrd_from"] is None


def test_no_initrd_inputs_never_reuse(tmp_path):
    images = str(tmp_path)
    build(images, "img", 1, INPUTS)
    assert g.plan(images, "img", dict(INPUTS, tree="z"))["initrd_from"] is None
