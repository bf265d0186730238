"""The image-root digest: what decides whether a new generation is built.

Real files in a temporary tree; every case changes one thing the squashfs keeps (and the
digest must follow) or one thing it does not keep (and the digest must not).
"""
import os

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.diskless import tree
from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError

KVER = "6.1.0-99-amd64"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    for d in ("etc", "usr/bin", "proc", "sys", "dev", "run/lock", "tmp", "boot", "lib/modules/" + KVER):
        (r / d).mkdir(parents=True)
    (r / "etc/hostname").write_text("node\n")
    (r / "usr/bin/tool").write_bytes(b"\x7fELF tool")
    os.chmod(r / "usr/bin/tool", 0o755)
    os.symlink("usr/bin", r / "bin")
    (r / "boot" / ("vmlinuz-" + KVER)).write_bytes(b"kernel")
    (r / "tmp/scratch").write_text("left out")
    (r / "run/lock/x").write_text("left out")
    return str(r)


def test_same_tree_same_digest(root):
    assert tree.digest(root) == tree.digest(root)


def test_timestamps_are_not_part_of_the_image(root):
    before = tree.digest(root)["digest"]
    os.utime(os.path.join(root, "etc/hostname"), (1, 1))
    assert tree.digest(root)["digest"] == before


@pytest.mark.parametrize("change", ["content", "mode", "owner", "symlink", "new file", "removed file", "xattr"])
def test_what_the_squashfs_keeps_changes_the_digest(root, change):
    before = tree.digest(root)["digest"]
    path = os.path.join(root, "usr/bin/tool")
    if change == "content":
        with open(path, "ab") as f:
            f.write(b"!")
    elif change == "mode":
        os.chmod(path, 0o700)
    elif change == "owner":
        os.chown(path, 1234, 1234)
    elif change == "symlink":
        os.unlink(os.path.join(root, "bin"))
        os.symlink("/usr/bin", os.path.join(root, "bin"))
    elif change == "new file":
        open(os.path.join(root, "etc/new"), "w").close()
    elif change == "removed file":
        os.unlink(os.path.join(root, "etc/hostname"))
    elif change == "xattr":
        try:
            os.setxattr(path, "security.capability", b"\x01\x00\x00\x02" + b"\x00" * 16)
        except OSError as exc:
            pytest.fail("this file system must take xattrs for the test (%s)" % exc)
    assert tree.digest(root)["digest"] != before


def test_pseudo_file_system_contents_are_left_out(root):
    before = tree.digest(root)
    open(os.path.join(root, "tmp/other"), "w").close()
    os.mkdir(os.path.join(root, "proc/1"))
    assert tree.digest(root) == before
    assert tree.excluded(root) == ["proc/1", "run/lock", "tmp/other", "tmp/scratch"]


def test_empty_dir_themselves_stay(root):
    before = tree.digest(root)["digest"]
    os.rmdir(os.path.join(root, "sys"))
    assert tree.digest(root)["digest"] != before


def test_only_top_level_pseudo_dirs_are_emptied(root):
    before = tree.digest(root)["digest"]
    os.makedirs(os.path.join(root, "usr/tmp"))
    open(os.path.join(root, "usr/tmp/kept"), "w").close()
    assert tree.digest(root)["digest"] != before
    assert "usr/tmp/kept" not in tree.excluded(root)


def test_kernel_found(root):
    kver, vmlinuz, moddir = tree.kernel(root)
    assert kver == KVER
    assert vmlinuz == os.path.join(root, "boot", "vmlinuz-" + KVER)
    assert moddir == os.path.join(root, "lib/modules", KVER)


def test_two_kernels_need_kernel_version(root):
    os.makedirs(os.path.join(root, "lib/modules/6.1.0-98-amd64"))
    with pytest.raises(DisklessError, match="kernels 6.1.0-98-amd64, 6.1.0-99-amd64 under lib/modules; set kernel_version"):
        tree.kernel(root)
    assert tree.kernel(root, KVER)[0] == KVER


@pytest.mark.parametrize("kver, message", [("6.1.0-1-amd64", "no lib/modules/6.1.0-1-amd64"),
                                           ("../x", "not a kernel release name")])
def test_bad_kernel_version(root, kver, message):
    with pytest.raises(DisklessError, match=message):
        tree.kernel(root, kver)


def test_missing_vmlinuz(root):
    os.unlink(os.path.join(root, "boot", "vmlinuz-" + KVER))
    with pytest.raises(DisklessError, match="no boot/vmlinuz-"):
        tree.kernel(root)


def test_root_must_be_a_directory(tmp_path):
    with pytest.raises(DisklessError, match="not an absolute path to a directory"):
        tree.digest(str(tmp_path / "missing"))


def test_part_digests_follow_only_their_subtree(root):
    mods = "lib/modules/" + KVER
    before = tree.digest(root, (mods, "lib/firmware"))
    open(os.path.join(root, "etc/other"), "w").close()
    after = tree.digest(root, (mods, "lib/firmware"))
    assert after["digest"] != before["digest"] and after["parts"] == before["parts"]
    open(os.path.join(root, mods, "modules.dep"), "w").close()
    assert tree.digest(root, (mods, "lib/firmware"))["parts"][mods] != before["parts"][mods]
