"""Testinfra verifier for fabric.boot.boot_loader (runs against fb-loader over podman)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests", "unit", "boot_loader"))
from pxelinux_config import parse  # noqa: E402

ROOT = "/var/lib/tftpboot"
# node001 ib0 GUID 0x0002c903000c7811 -> ib_mac48 00:02:c9:0c:78:11; node003 OPA 0x0011750101670001 -> 00:11:75:67:00:01
NODES = {
    "node001-ib0": {
        "grub": ["grub.cfg-01-00-02-c9-0c-78-11", "grub.cfg-C0A8640B"],
        "pxe": ["01-00-02-c9-0c-78-11", "C0A8640B"],
        "image": "rhel95",
        "args": "rd.driver.pre=mlx5_ib,ib_ipoib rd.neednet=1 ip=ib0:dhcp rd.net.timeout.carrier=60 "
                "inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95 iommu=pt console=ttyS0,115200",
    },
    "node002-eno1": {
        "grub": ["grub.cfg-01-52-54-00-12-34-56", "grub.cfg-0A00000C"],
        "pxe": ["01-52-54-00-12-34-56", "0A00000C"],
        "image": "debian12",
        "args": "rd.neednet=1 ip=eno1:dhcp console=ttyS0,115200",
    },
    "node003-ib0": {
        "grub": ["grub.cfg-01-00-11-75-67-00-01", "grub.cfg-C0A8640D"],
        "pxe": ["01-00-11-75-67-00-01", "C0A8640D"],
        "image": "rhel95",
        "args": "rd.driver.pre=hfi1,ib_ipoib rd.neednet=1 ip=ib0:dhcp rd.net.timeout.carrier=60 "
                "inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95 iommu=pt console=ttyS0,115200",
    },
}


def test_packages(host):
    for pkg in ("grub-common", "grub-efi-amd64-bin", "pxelinux", "syslinux-common"):
        assert host.package(pkg).is_installed, pkg


def test_grub_image_is_the_mknetdir_build(host):
    efi = host.file(ROOT + "/uefi/grubx64.efi")
    assert efi.is_file and efi.mode == 0o644
    assert host.run("head -c2 %s/uefi/grubx64.efi" % ROOT).stdout == "MZ"  # PE/COFF
    builds = host.run("ls /var/lib/fabric-boot/grub-mknetdir/*/uefi/x86_64-efi/core.efi").stdout.split()
    assert len(builds) == 1, builds
    assert efi.sha256sum == host.file(builds[0]).sha256sum
    # prefix /uefi is compiled in, modules load from uefi/x86_64-efi/
    assert host.run("grep -c -a '/uefi' %s/uefi/grubx64.efi" % ROOT).rc == 0
    for mod in ("linux.mod", "linuxefi.mod", "http.mod", "normal.mod", "command.lst"):
        assert host.file(ROOT + "/uefi/x86_64-efi/" + mod).is_file, mod


def test_tree_readable_by_the_tftp_user(host):
    """in.tftpd -s drops to nobody and serves only what "other" can read (and search)."""
    assert host.file(ROOT + "/uefi/x86_64-efi").mode == 0o755
    assert host.run("find %s ! -perm -o=r" % ROOT).stdout == ""
    assert host.run("find %s -type d ! -perm -o=x" % ROOT).stdout == ""


def test_no_shim_without_secure_boot(host):
    assert not host.file(ROOT + "/uefi/shimx64.efi").exists
    assert not host.file(ROOT + "/uefi/mmx64.efi").exists


def test_pxelinux_binaries(host):
    for name, src in (("pxelinux.0", "/usr/lib/PXELINUX/pxelinux.0"),
                      ("ldlinux.c32", "/usr/lib/syslinux/modules/bios/ldlinux.c32")):
        f = host.file(ROOT + "/pxelinux/" + name)
        assert f.is_file and f.mode == 0o644
        assert f.sha256sum == host.file(src).sha256sum


def test_every_grub_config_passes_grub_script_check(host):
    found = host.run("find %s -name 'grub.cfg*' -type f" % ROOT).stdout.split()
    expected = {ROOT + "/uefi/grub.cfg", ROOT + "/grub/grub.cfg", ROOT + "/uefi/x86_64-efi/grub.cfg"}
    for node in NODES.values():
        expected |= {ROOT + "/uefi/" + f for f in node["grub"]}
    assert set(found) == expected
    for path in found:
        res = host.run("grub-script-check %s", path)
        assert res.rc == 0, (path, res.stdout, res.stderr)


def test_a_broken_grub_config_fails_grub_script_check(host):
    """The validator the role relies on does reject bad syntax (so the check above can fail)."""
    res = host.run("printf 'menuentry x {\\n  linux /a\\n' > /tmp/bad.cfg; grub-script-check /tmp/bad.cfg")
    assert res.rc != 0


@pytest.mark.parametrize("name", sorted(NODES))
def test_per_node_grub_menus(host, name):
    node = NODES[name]
    for f in node["grub"]:
        text = host.file(ROOT + "/uefi/" + f).content_string
        assert "set default=%s\n" % node["image"] in text
        assert "set timeout=3\n" in text
        assert "  linux /images/%s/vmlinuz %s\n" % (node["image"], node["args"]) in text
        assert "  initrd /images/%s/initrd.img\n" % node["image"] in text
        assert "linuxefi" not in text  # Debian default: linux/initrd


@pytest.mark.parametrize("name", sorted(NODES))
def test_per_node_pxelinux_menus(host, name):
    node = NODES[name]
    for f in node["pxe"]:
        cfg = parse(host.file(ROOT + "/pxelinux/pxelinux.cfg/" + f).content_string)
        assert cfg["serial"] == (0, 115200)
        assert cfg["globals"]["DEFAULT"] == node["image"]
        assert cfg["globals"]["TIMEOUT"] == "30"
        entry = cfg["labels"][node["image"]]
        assert entry["KERNEL"] == "::/images/%s/vmlinuz" % node["image"]
        assert entry["INITRD"] == "::/images/%s/initrd.img" % node["image"]
        assert entry["APPEND"] == node["args"]
        assert set(cfg["order"]) == {"rhel95", "debian12"}


def test_default_menus(host):
    grub = host.file(ROOT + "/uefi/grub.cfg").content_string
    assert "set default=rhel95\n" in grub
    assert ("linux /images/rhel95/vmlinuz rd.neednet=1 ip=dhcp "
            "inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95 iommu=pt console=ttyS0,115200") in grub
    assert "menuentry 'RHEL 9.5 (OPA drivers)' --id rhel95 {" in grub
    cfg = parse(host.file(ROOT + "/pxelinux/pxelinux.cfg/default").content_string)
    assert cfg["globals"]["DEFAULT"] == "rhel95"
    assert cfg["labels"]["debian12"]["APPEND"] == "rd.neednet=1 ip=dhcp console=ttyS0,115200"


def test_signed_grub_dispatch_by_mac(host):
    text = host.file(ROOT + "/grub/grub.cfg").content_string
    for mac, f in (("00:02:c9:0c:78:11", "grub.cfg-01-00-02-c9-0c-78-11"),
                   ("52:54:00:12:34:56", "grub.cfg-01-52-54-00-12-34-56"),
                   ("00:11:75:67:00:01", "grub.cfg-01-00-11-75-67-00-01")):
        assert '[ "$net_default_mac" = "%s" ]; then\n  configfile /uefi/%s\n' % (mac, f) in text
    assert text.endswith("fi\nconfigfile /uefi/grub.cfg\n") and "\nelif " not in text


def test_stale_menus_pruned_other_files_kept(host):
    assert not host.file(ROOT + "/uefi/grub.cfg-01-aa-bb-cc-dd-ee-ff").exists
    assert not host.file(ROOT + "/pxelinux/pxelinux.cfg/C0A86463").exists
    assert host.file(ROOT + "/uefi/grubx64.efi.keep").exists
    listed = set(host.run("ls %s/pxelinux/pxelinux.cfg" % ROOT).stdout.split())
    assert listed == {"default"} | {f for n in NODES.values() for f in n["pxe"]}
