"""The ISO step of fabric.boot.http_server (tasks/iso.yml) run for real on this host:
extraction with xorriso and with bsdtar, the stamp that makes it idempotent, a new ISO
replacing the tree, and the mount method (on this host the kernel has no iso9660, so what
is proven here is that its failure leaves the published tree and no mount behind).

Runs ansible-playbook against localhost on a private directory; needs root, xorriso and
bsdtar (tests/ci/apt-packages.sh). No daemon, no network.
"""
import filecmp
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def setup_module():
    assert os.geteuid() == 0, "needs root (chown to the tree owner, mount)"
    for prog in ("/usr/bin/xorriso", "/usr/bin/bsdtar"):
        assert os.path.exists(prog), "%s missing: install the packages of tests/ci/apt-packages.sh" % prog


def _make_iso(tmp_path, name, payload):
    tree = tmp_path / ("tree-" + name)
    (tree / "images" / "pxeboot").mkdir(parents=True)
    (tree / "EFI" / "BOOT").mkdir(parents=True)
    (tree / ".treeinfo").write_text("[general]\nname = %s\n" % name)
    (tree / "images" / "install.img").write_bytes(payload)
    (tree / "images" / "pxeboot" / "vmlinuz").write_bytes(b"k" * 4096)
    (tree / "images" / "pxeboot" / "initrd.img").write_bytes(b"i" * 2048)
    (tree / "EFI" / "BOOT" / "grubx64.efi").write_bytes(b"g" * 1024)
    iso = tmp_path / (name + ".iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", name, "-o", str(iso), str(tree)],
                   check=True, capture_output=True)
    return tree, iso


def _run(tmp_path, method, tool, iso, preflight=False, owner=("nobody", "nogroup")):
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {
            "http_server_root": str(tmp_path / "netinstall"),
            "http_server_state_dir": str(tmp_path / "state"),
            "http_server_iso_extract_tool": tool,
            **({"http_server_tree_owner": owner[0], "http_server_tree_group": owner[1]} if owner else {}),
            **({} if preflight else {"__http_server_iso_method": method}),
            "ansible_python_interpreter": sys.executable,
        },
        "tasks": ([{
            "name": "Decide the method as the role does",
            "ansible.builtin.include_role": {"name": "fabric.boot.http_server", "tasks_from": "preflight.yml"},
            "vars": {"http_server_isos": [{"name": "T1", "src": str(iso)}], "http_server_iso_method": "auto",
                     "http_server_manage_listen": False, "http_server_allow_from": ["all"]},
        }] if preflight else []) + [{
            "name": "Publish the ISO",
            "ansible.builtin.include_role": {"name": "fabric.boot.http_server", "tasks_from": "iso.yml"},
            "loop": [{"name": "T1", "src": str(iso)}],
            "loop_control": {"loop_var": "__http_server_iso"},
        }],
    }]
    pb = tmp_path / "iso.yml"
    pb.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build/collections"),
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb)], capture_output=True, text=True, env=env, check=False)
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    return r, int(m.group(2)), int(m.group(3))


def _same_tree(a, b):
    cmp = filecmp.dircmp(str(a), str(b))
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files, (cmp.left_only, cmp.right_only, cmp.diff_files)
    for sub in cmp.common_dirs:
        _same_tree(os.path.join(str(a), sub), os.path.join(str(b), sub))


@pytest.mark.parametrize("tool", ["xorriso", "bsdtar"])
def test_extract_idempotent_and_replaced_by_new_iso(tmp_path, tool):
    tree, iso = _make_iso(tmp_path, "A", os.urandom(300000))
    r, changed, failed = _run(tmp_path, "extract", tool, iso)
    assert failed == 0 and changed > 0, r.stdout
    dest = tmp_path / "netinstall" / "ISO" / "T1"
    _same_tree(tree, dest)
    st = os.stat(str(dest / "images" / "install.img"))
    assert (st.st_mode & 0o777) == 0o644 and st.st_uid == 65534, oct(st.st_mode)
    assert (os.stat(str(dest / "images")).st_mode & 0o777) == 0o755
    stamp = (tmp_path / "state" / "T1.stamp").read_text()
    assert stamp.startswith("sha256:") and stamp.endswith(" %s\n" % iso)
    assert not (tmp_path / "netinstall" / "ISO" / ".T1.fabric-new").exists()

    # Second run: nothing to do, nothing reported.
    marker = dest / "images" / "install.img"
    mtime = os.stat(str(marker)).st_mtime_ns
    r, changed, failed = _run(tmp_path, "extract", tool, iso)
    assert failed == 0 and changed == 0, r.stdout
    assert os.stat(str(marker)).st_mtime_ns == mtime

    # A different ISO at the same path: the tree is replaced, the stamp follows.
    tree_b, _unused = _make_iso(tmp_path, "B", os.urandom(200000))
    os.replace(str(tmp_path / "B.iso"), str(iso))
    r, changed, failed = _run(tmp_path, "extract", tool, iso)
    assert failed == 0 and changed > 0, r.stdout
    _same_tree(tree_b, dest)
    assert (tmp_path / "state" / "T1.stamp").read_text() != stamp


def test_default_owner_is_root_and_foreign_owners_are_fixed(tmp_path):
    """Default: root-owned trees (the web server user only reads them). A file chowned away
    (e.g. by an older run that used the web server user) is given back to root on the next
    run, without copying the tree again."""
    _tree, iso = _make_iso(tmp_path, "A", os.urandom(100000))
    r, changed, failed = _run(tmp_path, "extract", "xorriso", iso, owner=None)
    assert failed == 0 and changed > 0, r.stdout
    dest = tmp_path / "netinstall" / "ISO" / "T1"
    img = dest / "images" / "install.img"
    for path in (dest, dest / "images", img):
        st = os.stat(str(path))
        assert (st.st_uid, st.st_gid) == (0, 0), (path, st.st_uid, st.st_gid)
        assert not st.st_mode & 0o022, (path, oct(st.st_mode))
    os.chown(str(img), 65534, 65534)
    os.chown(str(dest / "EFI"), 65534, 65534)
    mtime = os.stat(str(img)).st_mtime_ns
    r, changed, failed = _run(tmp_path, "extract", "xorriso", iso, owner=None)
    assert failed == 0 and changed == 1, r.stdout
    assert re.search(r"Keep the owner and group of the tree T1\] \**\nchanged: \[localhost\]", r.stdout), r.stdout
    for path in (img, dest / "EFI"):
        st = os.stat(str(path))
        assert (st.st_uid, st.st_gid) == (0, 0), path
    assert os.stat(str(img)).st_mtime_ns == mtime      # not copied again
    r, changed, failed = _run(tmp_path, "extract", "xorriso", iso, owner=None)
    assert failed == 0 and changed == 0, r.stdout


def test_mount_method(tmp_path):
    """Mount method: where the kernel mounts ISO 9660 the new tree is published; where it
    cannot (this host has no iso9660 module), the play fails and the previous tree stays.
    Either way no mount and no mount point is left behind."""
    tree, iso = _make_iso(tmp_path, "A", os.urandom(100000))
    r, _unused, failed = _run(tmp_path, "extract", "xorriso", iso)
    assert failed == 0, r.stdout
    tree_b, _unused = _make_iso(tmp_path, "B", os.urandom(100000))
    os.replace(str(tmp_path / "B.iso"), str(iso))
    r, changed, failed = _run(tmp_path, "mount", "xorriso", iso)
    dest = tmp_path / "netinstall" / "ISO" / "T1"
    if failed:
        assert "failed in 'Loop-mount the ISO read-only'" in r.stdout, r.stdout
        print("mount method: the kernel refused the loop mount; previous tree kept")
        _same_tree(tree, dest)
        assert not (tmp_path / "netinstall" / "ISO" / ".T1.fabric-new").exists()
    else:
        print("mount method: mounted and copied")
        assert changed > 0
        _same_tree(tree_b, dest)
    with open("/proc/mounts") as f:
        assert "fabric-iso." not in f.read()
    assert not [d for d in os.listdir("/tmp") if d.startswith("fabric-iso.")]


def test_auto_method_picks_what_works_here(tmp_path):
    """auto on this host (loop device present, no iso9660 in the kernel) must extract."""
    tree, iso = _make_iso(tmp_path, "A", os.urandom(100000))
    with open("/proc/filesystems") as f:
        can_mount = "iso9660" in f.read() or subprocess.run(["modprobe", "-n", "-q", "isofs"], check=False).returncode == 0
    r, changed, failed = _run(tmp_path, "auto", "xorriso", iso, preflight=True)
    assert failed == 0 and changed > 0, r.stdout
    expected = "Loop-mount the ISO read-only" if can_mount else "Extract the ISO with xorriso"
    assert re.search(r"TASK \[fabric.boot.http_server : %s\] \**\nchanged: \[localhost\]" % re.escape(expected),
                     r.stdout), r.stdout
    _same_tree(tree, tmp_path / "netinstall" / "ISO" / "T1")
