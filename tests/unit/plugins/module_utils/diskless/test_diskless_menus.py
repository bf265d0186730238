"""Boot menu arguments of a diskless image, and the inventory rules for it.

The arguments are checked against what dracut 059 reads: livenet's parse-livenet.sh takes
root=live:<url> with a URL handler (http), dmsquash-live-root.sh reads rd.live.overlay.overlayfs.
"""
import pytest

from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import check_images, validate_site

NETWORKS = {"fabric0": {"subnet": "198.51.100.0/24", "boot_server": "198.51.100.1", "boot_image": "dl"}}
PUBLISHED = {"kind": "diskless", "generation": 3, "kernel": "images/dl@3/vmlinuz",
             "initrd": "images/dl@3/initrd.img", "squashfs": "images/dl@3/rootfs.squashfs",
             "live_args": ["rd.live.overlay.overlayfs=1"]}
IMAGES = {"dl": dict(PUBLISHED, root="/srv/diskless/dl", kernel_args=["quiet"])}
IB = {"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811", "ipv4": "198.51.100.11",
      "network": "fabric0", "kernel_args": ["systemd.unit=multi-user.target"]}
ETH = {"name": "eth0", "type": "ethernet", "mac": "52:54:00:12:34:56", "ipv4": "198.51.100.12", "network": "fabric0"}


def test_ib_node_args():
    args = bm.compose_kernel_args(IMAGES["dl"], IB, "198.51.100.1")
    assert args == ["rd.driver.pre=mlx5_ib,ib_ipoib", "rd.neednet=1", "ip=ib0:dhcp", "rd.net.timeout.carrier=60",
                    "root=live:http://198.51.100.1/boot/images/dl@3/rootfs.squashfs", "rd.live.overlay.overlayfs=1",
                    "quiet", "systemd.unit=multi-user.target", "console=ttyS0,115200"]


def test_ethernet_node_args_with_alias_and_pinned_name():
    args = bm.compose_kernel_args(IMAGES["dl"], ETH, "198.51.100.1",
                                  {"http_boot_alias": "/tftp/", "pin_ifname": True})
    assert args[:4] == ["rd.neednet=1", "ip=eth0:dhcp", "ifname=eth0:52:54:00:12:34:56",
                        "root=live:http://198.51.100.1/tftp/images/dl@3/rootfs.squashfs"]


def test_empty_alias():
    args = bm.compose_kernel_args(IMAGES["dl"], ETH, "198.51.100.1", {"http_boot_alias": ""})
    assert "root=live:http://198.51.100.1/images/dl@3/rootfs.squashfs" in args


def test_default_menu_uses_the_generic_network_args():
    menu = bm.default_menu(NETWORKS, IMAGES)
    assert menu["entries"][0]["args"][:3] == ["rd.neednet=1", "ip=dhcp",
                                              "root=live:http://198.51.100.1/boot/images/dl@3/rootfs.squashfs"]


def test_menus_name_the_generation_in_kernel_initrd_and_root():
    nodes = validate_site({"n1": {"interfaces": [IB]}}, NETWORKS, IMAGES)[0]["nodes"]
    menu = bm.node_menus(nodes, NETWORKS, IMAGES, options={"fetch": "http"})[0]
    entry = menu["entries"][0]
    assert entry["kernel"] == "(http,198.51.100.1)/boot/images/dl@3/vmlinuz"
    assert entry["pxelinux_initrd"] == "::/images/dl@3/initrd.img"
    assert "root=live:http://198.51.100.1/boot/images/dl@3/rootfs.squashfs" in entry["cmdline"]


def test_unpublished_diskless_image_fails():
    with pytest.raises(bm.BootMenuError, match="run the diskless_image role before boot_loader"):
        bm.compose_kernel_args({"kind": "diskless", "root": "/srv/x"}, IB, "198.51.100.1")


def test_no_server_fails():
    with pytest.raises(bm.BootMenuError, match="needs a boot server address"):
        bm.compose_kernel_args(IMAGES["dl"], None, None)


def test_installer_images_get_no_live_root():
    args = bm.compose_kernel_args({"kernel": "k", "initrd": "i"}, ETH, "198.51.100.1")
    assert not [a for a in args if a.startswith("root=live:")]


@pytest.mark.parametrize("field, value, message", [
    ("kind", "livecd", "fabric_boot_images.dl.kind: 'livecd' is not one of installer, diskless"),
    ("root", "relative/path", "fabric_boot_images.dl.root: 'relative/path' must be the absolute path"),
    ("root", "/", "fabric_boot_images.dl.root: '/' must be the absolute path"),
    ("root", "/srv/a b", "fabric_boot_images.dl.root: '/srv/a b'"),
    ("kernel_version", "6.1;reboot", "fabric_boot_images.dl.kernel_version: '6.1;reboot' is not a kernel release"),
    ("generation", 0, "fabric_boot_images.dl.generation: 0 must be a generation number"),
    ("generation", "2", "fabric_boot_images.dl.generation: '2' must be a generation number"),
    ("iso", "/srv/x.iso", "fabric_boot_images.dl.iso: '/srv/x.iso' is not used by a diskless image"),
    ("kernel", "images/x", "fabric_boot_images.dl.kernel: 'images/x' is not used by a diskless image"),
    ("smoke_test", "yes", "fabric_boot_images.dl.smoke_test: must be true or false, got 'yes'"),
    ("smoke_action", "halt", "fabric_boot_images.dl.smoke_action: must be poweroff or continue, got 'halt'"),
    ("profile_host", "ghost", "fabric_boot_images.dl.profile_host: 'ghost' is not a host of the inventory"),
    ("interface_types", ["token-ring"], "fabric_boot_images.dl.interface_types: ['token-ring'] must be a list"),
    ("modules", ["mlx5;x"], "fabric_boot_images.dl.modules[0]"),
    ("live_args", ["a b"], "fabric_boot_images.dl.live_args[0]"),
])
def test_inventory_rules(field, value, message):
    image = {"kind": "diskless", "root": "/srv/diskless/dl", field: value}
    problems = check_images({"dl": image}, ["n1"])
    assert any(p.startswith(message) for p in problems), problems


def test_a_good_diskless_image_passes():
    image = {"kind": "diskless", "root": "/srv/diskless/dl/", "kernel_version": "6.1.0-27-amd64", "generation": 2,
             "driver_set": "mlx5_ib", "profile_host": "n1", "interface_types": ["ethernet"], "smoke_test": True,
             "smoke_action": "continue", "live_args": ["rd.live.overlay.overlayfs=1"], "kernel_args": ["quiet"]}
    assert check_images({"dl": image}, ["n1"]) == []


def test_per_interface_kernel_args_are_checked_with_host_and_field():
    bad = dict(IB, kernel_args=["ok", "a;reboot"])
    problems = validate_site({"n1": {"interfaces": [bad]}}, NETWORKS, IMAGES)[1]
    assert [p for p in problems if p.startswith("n1: fabric_interfaces[0] (ib0).kernel_args[1]: 'a;reboot'")], problems


def test_profile_host_is_not_checked_by_a_networks_only_validation():
    """dhcp_server validates its served networks with hosts: [] (no nodes): a profile_host there
    must not be an error, or site.yml fails on every inventory with a diskless image."""
    images = {"dl": {"kind": "diskless", "root": "/srv/diskless/dl", "profile_host": "n1"}}
    assert not [p for p in validate_site({}, NETWORKS, images)[1] if "profile_host" in p]
    problems = validate_site({"n2": {"interfaces": []}}, NETWORKS, images)[1]
    assert [p for p in problems if "profile_host: 'n1' is not a host" in p], problems
