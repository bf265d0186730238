"""The diskless_image role through ansible-playbook on this host, then boot_loader's menu tasks,
on a small real image root (fbdiskless_lib.make_root): real mksquashfs, real dracut for
Debian's kernel, real fabric.boot.initrd, real fabric_client in image-root mode.

The tests run in file order on one image root and publish root (each step builds on the one
before): check mode, first build, no-change run, byte-identical rebuild, a change, rollback by
pin, a pin to a missing generation, pruning. Measured: 402 s at load 14 on 2 cores (one dracut
run; the later generations reuse the initrd).
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import fbdiskless_lib as L

PLAY = """---
- name: diskless_image, then boot_loader's menus
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: diskless_image
  tasks:
    - name: Compose, lay out and write the menus (Debian variables)
      ansible.builtin.include_role:
        name: boot_loader
        tasks_from: "{{ item }}"
        vars_from: Debian.yml
      loop: [model.yml, layout.yml, menus.yml]
"""
MAC = "52:54:00:d1:5c:01"
MENU_PXE = "pxelinux/pxelinux.cfg/01-" + MAC.replace(":", "-")
MENU_GRUB = "uefi/grub.cfg-01-" + MAC.replace(":", "-")
IFACE = {"name": "eth0", "type": "ethernet", "mac": MAC, "ipv4": "192.168.100.11", "network": "fabric0"}


@pytest.fixture(scope="module")
def env():
    for tool in ("mksquashfs", "unsquashfs", "dracut", "lsinitrd", "depmod", "busybox", "grub-script-check",
                 "ansible-playbook", "nmcli"):
        assert shutil.which(tool), f"{tool} is not installed (tests/ci/apt-packages.sh)"
    assert os.path.isdir("/usr/lib/dracut/modules.d/90livenet"), "dracut-live is not installed"
    base = "/var/tmp/fbdl-test-diskless"
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    e = {"base": base, "root": L.make_root(os.path.join(base, "root")), "tftp": os.path.join(base, "tftp"),
         "image": {"kind": "diskless", "root": os.path.join(base, "root"), "driver_set": "mlx5_ib",
                   "modules": ["virtio_net"], "smoke_test": True, "profile_host": "localhost",
                   "interface_types": ["ethernet"]}}
    e["images"] = os.path.join(e["tftp"], "images")
    try:
        yield e
    finally:
        shutil.rmtree(base, ignore_errors=True)


def play(e, check=False, diff=False, expect_rc=0, **image_over):
    image = dict(e["image"], **image_over)
    image = {k: v for k, v in image.items() if v is not None}
    extra = {
        "fabric_tftp_root": e["tftp"], "diskless_image_install_packages": False,
        "boot_loader_grub_script_check": shutil.which("grub-script-check"), "boot_loader_timeout": 0,
        "diskless_image_keep": e.get("keep", 3),
        "fabric_networks": {"fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1",
                                        "boot_image": "dl"}},
        "fabric_boot_images": {"dl": image},
        "fabric_nodes": {"node001": [dict(IFACE, boot_image="dl", prefix=24, kernel_args=["fbdl.node=1"])]},
        "fabric_interfaces": [IFACE],
    }
    with open(os.path.join(e["base"], "play.yml"), "w") as f:
        f.write(PLAY)
    with open(os.path.join(e["base"], "extra.json"), "w") as f:
        json.dump(extra, f)
    envv = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=L.COLLECTIONS, ANSIBLE_ROLES_PATH=os.path.join(L.ROOT, "roles"),
                ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    cmd = [shutil.which("ansible-playbook"), "-i", "localhost,", os.path.join(e["base"], "play.yml"),
           "-e", "@" + os.path.join(e["base"], "extra.json")]
    cmd += ["--check"] if check else []
    cmd += ["--diff"] if diff else []
    r = subprocess.run(cmd, env=envv, capture_output=True, text=True, check=False)
    assert r.returncode == expect_rc, f"rc={r.returncode}\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)", r.stdout)
    assert m, r.stdout[-3000:]
    return int(m.group(2)), r.stdout


def menu(e, path):
    with open(os.path.join(e["tftp"], path)) as f:
        return f.read()


def test_check_mode_on_a_fresh_host_writes_nothing(env):
    before = L.snapshot(env["root"])
    changed, out = play(env, check=True, diff=True)
    assert changed > 0
    assert "generation 1 (no generation yet)" in out
    assert "eth0.nmconnection" in out          # fabric_client's --diff shows the profile it would write
    assert not os.path.exists(env["tftp"])
    assert L.snapshot(env["root"]) == before


def test_first_run_publishes_generation_1(env):
    changed = play(env)[0]
    assert changed > 0
    gen = os.path.join(env["images"], "dl@1")
    assert sorted(os.listdir(env["images"])) == ["dl@1"]
    assert sorted(os.listdir(gen)) == ["initrd.img", "manifest.json", "rootfs.squashfs", "vmlinuz"]
    man = L.manifest(env["images"], "dl", 1)
    for name, info in man["files"].items():
        assert L.sha256(os.path.join(gen, name)) == info["sha256"]
    assert L.sha256(os.path.join(gen, "vmlinuz")) == L.sha256(L.VMLINUZ)
    assert man["inputs"]["kernel_version"] == L.KVER
    # the profile fabric_client wrote into the image, parsed by NetworkManager's own parser
    profile = os.path.join(env["root"], "etc/NetworkManager/system-connections/eth0.nmconnection")
    assert "interface-name=eth0" in open(profile).read()


def test_squashfs_is_the_tree_with_fixed_times_and_empty_pseudo_dirs(env):
    sq = os.path.join(env["images"], "dl@1", "rootfs.squashfs")
    stat = L.run(["unsquashfs", "-s", sq]).stdout
    assert "Creation or last append time Thu Jan  1 00:00:00 1970" in stat
    assert "Compression zstd" in stat and "Block size 1048576" in stat
    listing = L.unsquashfs_list(sq)
    for d in ("proc", "sys", "dev", "run", "tmp"):
        assert listing[d]["mode"].startswith("d")
    assert listing["tmp"]["mode"] == "drwxrwxrwt"
    for gone in ("tmp/leftover", "run/lock", "run/lock/stale.pid", "dev/null"):
        assert gone not in listing, gone
    for kept in ("etc/hostname", "usr/bin/busybox", "boot/vmlinuz-" + L.KVER,
                 "etc/NetworkManager/system-connections/eth0.nmconnection",
                 "etc/systemd/system/multi-user.target.wants/fabric-boot-smoke.service",
                 "usr/lib/fabric-boot/diskless-smoke", "lib/modules/%s/modules.dep" % L.KVER):
        assert kept in listing, kept
    assert {v["line"].split()[3] for v in listing.values()} == {"1970-01-01"}
    assert listing["etc/NetworkManager/system-connections/eth0.nmconnection"]["mode"] == "-rw-------"
    assert listing["bin"]["mode"].startswith("l")


def test_initrd_is_a_dracut_live_image_with_the_driver_set(env):
    initrd = os.path.join(env["images"], "dl@1", "initrd.img")
    files = L.run(["lsinitrd", initrd]).stdout
    for want in ("usr/lib/dracut/hooks/cmdline/29-parse-livenet.sh", "usr/sbin/livenetroot",
                 "usr/lib/dracut/hooks/cmdline/30-parse-dmsquash-live.sh", "usr/sbin/dmsquash-live-root",
                 "usr/lib/dracut/hooks/mount/01-mount-overlayfs.sh", "usr/sbin/dhclient", "usr/bin/curl",
                 "kernel/fs/squashfs/squashfs.ko", "kernel/fs/overlayfs/overlay.ko", "kernel/drivers/block/loop.ko",
                 "mlx5_ib.ko", "ib_ipoib.ko", "virtio_net.ko", "etc/modules-load.d/fabric-boot.conf"):
        assert want in files, want
    load = [w for w in L.run(["lsinitrd", "-f", "etc/modules-load.d/fabric-boot.conf", initrd]).stdout.splitlines()
            if w and not w.startswith("#")]
    assert load == ["mlx5_core", "mlx5_ib", "ib_ipoib", "ib_umad", "rdma_ucm", "virtio_net"]
    assert "--kmoddir" in files and env["root"] in files       # dracut's recorded arguments


def test_menus_name_generation_1(env):
    for path in (MENU_PXE, MENU_GRUB):
        text = menu(env, path)
        assert "images/dl@1/vmlinuz" in text and "images/dl@1/initrd.img" in text
        assert "root=live:http://192.168.100.1/boot/images/dl@1/rootfs.squashfs rd.live.overlay.overlayfs=1" in text
        assert "rd.neednet=1 ip=eth0:dhcp" in text and "fbdl.node=1" in text


def test_no_change_run_changes_and_rewrites_nothing(env):
    before = (L.snapshot(env["tftp"]), L.snapshot(env["root"]))
    changed, out = play(env)
    assert changed == 0, out[-4000:]
    assert (L.snapshot(env["tftp"]), L.snapshot(env["root"])) == before


def test_touched_files_are_no_change(env):
    for dirpath, _dirs, files in os.walk(os.path.join(env["root"], "etc")):
        for name in files:
            os.utime(os.path.join(dirpath, name), (1_000_000, 1_000_000))
    before = L.snapshot(env["tftp"])
    changed, out = play(env, check=True)
    assert changed == 0, out[-3000:]
    assert L.snapshot(env["tftp"]) == before


def test_squashfs_rebuild_is_byte_identical(env):
    """The module's squashfs step again, into a partial directory of its own, from the same tree."""
    envv = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=L.COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                SOURCE_DATE_EPOCH="1234567890")     # the module must drop it (mksquashfs 4.5 refuses it)
    # the role's settings (defaults/main.yml: zstd, level 3), not the module's defaults
    args = (f"state=squashfs name=dl root={env['root']} images_dir={env['images']} generation=99 "
            "compression=zstd compression_level=3")
    r = subprocess.run([shutil.which("ansible"), "localhost", "-i", "localhost,", "-c", "local",
                        "-m", "fabric.boot.diskless_generation", "-a", args], env=envv, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    again = os.path.join(env["images"], ".dl@99.partial", "rootfs.squashfs")
    assert L.sha256(again) == L.sha256(os.path.join(env["images"], "dl@1", "rootfs.squashfs"))
    # a partial directory reserves its number (never reused); this one is the test's own
    shutil.rmtree(os.path.dirname(again))


def test_a_change_gives_generation_2_with_the_initrd_reused(env):
    with open(os.path.join(env["root"], "etc/motd"), "w") as f:
        f.write("generation 2\n")
    changed, out = play(env)
    assert changed > 0
    assert "inputs differ from generation 1" in out
    assert "Reuse the initrd" in out and "Build the live initrd with dracut" not in out
    assert os.path.isdir(os.path.join(env["images"], "dl@1"))          # kept for nodes on the old menu
    assert L.sha256(os.path.join(env["images"], "dl@2", "initrd.img")) == \
        L.sha256(os.path.join(env["images"], "dl@1", "initrd.img"))
    assert "etc/motd" in L.unsquashfs_list(os.path.join(env["images"], "dl@2", "rootfs.squashfs"))
    for path in (MENU_PXE, MENU_GRUB):
        assert "images/dl@2/rootfs.squashfs" in menu(env, path) and "dl@1" not in menu(env, path)


def test_pin_rolls_the_menus_back(env):
    before = L.snapshot(env["images"])
    changed, out = play(env, generation=1)
    assert changed > 0                         # the menus
    assert "pinned to generation 1" in out
    assert L.snapshot(env["images"]) == before
    for path in (MENU_PXE, MENU_GRUB):
        text = menu(env, path)
        assert "images/dl@1/vmlinuz" in text and "root=live:http://192.168.100.1/boot/images/dl@1/rootfs.squashfs" in text
        assert "dl@2" not in text


def test_pin_to_a_missing_generation_fails(env):
    _changed, out = play(env, expect_rc=2, generation=7)
    assert "generation 7 is pinned" in out and "(published: 1, 2)" in out


def test_unpinned_change_prunes_to_keep(env):
    env["keep"] = 2
    with open(os.path.join(env["root"], "etc/motd"), "w") as f:
        f.write("generation 3\n")
    changed = play(env)[0]
    assert changed > 0
    assert sorted(os.listdir(env["images"])) == ["dl@2", "dl@3"]
    assert "images/dl@3/rootfs.squashfs" in menu(env, MENU_PXE)
