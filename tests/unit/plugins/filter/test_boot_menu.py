"""fabric.boot.boot_menus / boot_default_menu / boot_kernel_args and module_utils/boot_menu."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.filter.boot_menu import FilterModule
from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm

F = FilterModule().filters()

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "boot_image": "rhel95"},
    "mgmt": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1"},
}
IMAGES = {
    "rhel95": {"kernel": "images/rhel95/vmlinuz", "initrd": "images/rhel95/initrd.img",
               "repo": "ISO/RHEL95", "kernel_args": ["iommu=pt"], "title": "RHEL 9.5"},
    "debian12": {"kernel": "/images/debian12/vmlinuz", "initrd": "images/debian12/initrd.img"},
}
NODES = {
    "node001": [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811",
                 "ipv4": "192.168.100.11", "network": "fabric0"}],
    "node002": [{"name": "eno1", "type": "ethernet", "mac": "52-54-00-12-34-56", "ipv4": "10.0.0.12",
                 "network": "mgmt"},
                {"name": "hfi1_0", "type": "omnipath", "port_guid": "0011:7501:0167:0001",
                 "ipv4": "192.168.100.12", "network": "fabric0"}],
}


def menus(**kw):
    return F["boot_menus"](NODES, NETWORKS, IMAGES, kw.pop("host_images", {"node002": "debian12"}), kw)


def by_name(ms):
    return {m["name"]: m for m in ms}


def test_public_names():
    assert set(F) == {"boot_menus", "boot_default_menu", "boot_kernel_args", "boot_menu_files", "boot_menu_set"}


def test_infiniband_menu_uses_ib_mac48_and_hex_ip():
    m = by_name(menus())["node001-ib0"]
    assert m["mac"] == "00:02:c9:0c:78:11"
    assert m["grub_files"] == ["grub.cfg-01-00-02-c9-0c-78-11", "grub.cfg-C0A8640B"]
    assert m["pxelinux_files"] == ["01-00-02-c9-0c-78-11", "C0A8640B"]
    assert m["image"] == "rhel95" and m["default"] == "rhel95"
    assert m["server"] == "192.168.100.1"
    assert m["serial"] == {"unit": 0, "speed": 115200}


def test_infiniband_kernel_args_in_order():
    e = by_name(menus())["node001-ib0"]["entries"][0]
    assert e["args"] == [
        "rd.driver.pre=mlx5_ib,ib_ipoib", "rd.neednet=1", "ip=ib0:dhcp", "rd.net.timeout.carrier=60",
        "inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95", "iommu=pt", "console=ttyS0,115200"]
    assert e["kernel"] == "/images/rhel95/vmlinuz"
    assert e["pxelinux_kernel"] == "::/images/rhel95/vmlinuz"
    assert e["pxelinux_initrd"] == "::/images/rhel95/initrd.img"
    assert e["grub_title"] == "'RHEL 9.5'"


def test_omnipath_and_ethernet():
    ms = by_name(menus())
    opa = ms["node002-hfi1_0"]
    assert opa["mac"] == "00:11:75:67:00:01"
    assert opa["image"] == "debian12"  # per-host image beats the network's
    assert opa["entries"][0]["args"][:3] == ["rd.driver.pre=hfi1,ib_ipoib", "rd.neednet=1", "ip=hfi1_0:dhcp"]
    eth = ms["node002-eno1"]
    assert eth["grub_files"] == ["grub.cfg-01-52-54-00-12-34-56", "grub.cfg-0A00000C"]
    assert eth["entries"][0]["args"] == ["rd.neednet=1", "ip=eno1:dhcp", "console=ttyS0,115200"]
    assert [e["id"] for e in eth["entries"]] == ["debian12", "rhel95"]
    # the other image in the same node menu gets the node's server for inst.repo
    assert "inst.repo=http://10.0.0.1/netinstall/ISO/RHEL95" in eth["entries"][1]["args"]


def test_interface_boot_image_wins_and_network_image_is_fallback():
    nodes = {"n": [dict(NODES["node001"][0], boot_image="debian12")]}
    assert F["boot_menus"](nodes, NETWORKS, IMAGES)[0]["image"] == "debian12"
    assert F["boot_menus"](NODES, NETWORKS, IMAGES)[0]["image"] == "rhel95"


def test_interface_without_image_gets_no_menu():
    nodes = {"n": [{"name": "eno1", "type": "ethernet", "mac": "52:54:00:00:00:01", "network": "mgmt"}]}
    assert F["boot_menus"](nodes, NETWORKS, IMAGES) == []
    assert len(F["boot_menus"](nodes, NETWORKS, IMAGES, {}, {"default_image": "debian12"})) == 1


def test_options_change_args():
    e = by_name(menus(console=["tty0", "ttyS1,9600"], kernel_args=["quiet"],
                      driver_modules={"infiniband": ["mlx4_ib", "ib_ipoib"]},
                      type_kernel_args={}))["node001-ib0"]
    args = e["entries"][0]["args"]
    assert args[0] == "rd.driver.pre=mlx4_ib,ib_ipoib"
    assert args[-3:] == ["quiet", "console=tty0", "console=ttyS1,9600"]
    assert "rd.net.timeout.carrier=60" not in args
    assert e["serial"] == {"unit": 1, "speed": 9600}
    assert by_name(menus(console=[]))["node001-ib0"]["serial"] is None


def test_fetch_http_paths():
    e = by_name(menus(fetch="http"))["node001-ib0"]["entries"][0]
    assert e["kernel"] == "(http,192.168.100.1)/boot/images/rhel95/vmlinuz"
    assert e["pxelinux_kernel"] == "::/images/rhel95/vmlinuz"


def test_repo_url_kept_and_repo_arg():
    images = {"x": {"kernel": "k", "initrd": "i", "repo": "http://mirror.invalid/x", "repo_arg": "inst.stage2"}}
    assert bm.compose_kernel_args(images["x"], None, None, {"console": []}) == [
        "rd.neednet=1", "ip=dhcp", "inst.stage2=http://mirror.invalid/x"]


def test_grub_quoting():
    image = {"kernel": "k", "initrd": "i", "kernel_args": ["inst.ks=http://x/ks?a=1&b=$2", "it's"]}
    e = bm.default_menu({}, {"x": image}, {"console": []})["entries"][0]
    assert e["grub_cmdline"] == "rd.neednet=1 ip=dhcp 'inst.ks=http://x/ks?a=1&b=$2' 'it'\\''s'"
    assert e["cmdline"] == "rd.neednet=1 ip=dhcp inst.ks=http://x/ks?a=1&b=$2 it's"


def test_duplicate_args_dropped():
    image = {"kernel": "k", "initrd": "i", "kernel_args": ["rd.neednet=1", "console=ttyS0,115200"]}
    args = bm.compose_kernel_args(image, {"name": "eno1", "type": "ethernet"})
    assert args == ["rd.neednet=1", "ip=eno1:dhcp", "console=ttyS0,115200"]


def test_default_menu():
    m = F["boot_default_menu"](NETWORKS, IMAGES)
    assert m["image"] == "rhel95" and m["server"] == "192.168.100.1"
    assert [e["id"] for e in m["entries"]] == ["rhel95", "debian12"]
    assert m["entries"][0]["args"] == ["rd.neednet=1", "ip=dhcp", "inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95",
                                       "iommu=pt", "console=ttyS0,115200"]
    m = F["boot_default_menu"](NETWORKS, IMAGES, {"default_image": "debian12", "default_server": "10.9.9.9"})
    assert m["default"] == "debian12" and m["server"] == "10.9.9.9"
    assert F["boot_default_menu"]({}, {})["entries"] == []


def test_kernel_args_filter():
    assert F["boot_kernel_args"](IMAGES["debian12"], {"name": "ib0", "type": "infiniband"}) == [
        "rd.driver.pre=mlx5_ib,ib_ipoib", "rd.neednet=1", "ip=ib0:dhcp", "rd.net.timeout.carrier=60",
        "console=ttyS0,115200"]


def test_hex_ip():
    assert bm.hex_ip("192.168.100.11") == "C0A8640B"
    assert bm.hex_ip("10.0.0.1") == "0A000001"
    with pytest.raises(bm.BootMenuError):
        bm.hex_ip("300.1.1.1")


@pytest.mark.parametrize("nodes, images, options, message", [
    ({"n": [{"name": "ib0", "type": "infiniband", "network": "fabric0", "port_guid": "52:54:00:12:34:56"}]},
     IMAGES, {}, "interface ib0"),
    ({"n": [{"name": "ib0", "type": "infiniband", "network": "fabric0"}]}, IMAGES, {}, "has no port_guid"),
    ({"n": [{"name": "e", "type": "ethernet", "mac": "52:54:00:00:00:01", "boot_image": "nope"}]},
     IMAGES, {}, "boot image 'nope' is not defined"),
    ({"n": [{"name": "e", "type": "ethernet", "mac": "52:54:00:00:00:01", "boot_image": "x"}]},
     {"x": {"kernel": "k"}}, {}, "has no initrd"),
    ({"n": [{"name": "e", "type": "ethernet", "mac": "52:54:00:00:00:01", "boot_image": "x"}]},
     {"x": {"kernel": "k", "initrd": "i", "kernel_args": ["a b"]}}, {}, "white space"),
    ({"n": [{"name": "e", "type": "token", "mac": "52:54:00:00:00:01"}]}, IMAGES, {}, "type 'token'"),
    ({"a": [{"name": "e", "type": "ethernet", "mac": "52:54:00:00:00:01", "boot_image": "rhel95"}],
      "b": [{"name": "e", "type": "ethernet", "mac": "52-54-00-00-00-01", "boot_image": "rhel95"}]},
     {"rhel95": {"kernel": "k", "initrd": "i"}}, {}, "would both boot from grub.cfg-01-52-54-00-00-00-01"),
    (NODES, IMAGES, {"fetch": "ftp"}, "fetch must be tftp or http"),
    (NODES, IMAGES, {"colour": "red"}, "unknown boot menu option 'colour'"),
])
def test_errors(nodes, images, options, message):
    with pytest.raises(AnsibleFilterError) as err:
        F["boot_menus"](nodes, NETWORKS, images, {}, options)
    assert "fabric.boot.boot_menus" in str(err.value)
    assert message in str(err.value)


def test_repo_path_needs_server():
    with pytest.raises(AnsibleFilterError, match="no boot server address"):
        F["boot_kernel_args"](IMAGES["rhel95"])


def test_pinned_ifname_follows_ip_and_uses_the_boot_mac():
    ms = by_name(menus(pin_ifname=True))
    # InfiniBand: the port GUID's iPXE mac48 (bytes 0-2 and 5-7), not a second copy of the GUID
    assert ms["node001-ib0"]["entries"][0]["args"][:4] == [
        "rd.driver.pre=mlx5_ib,ib_ipoib", "rd.neednet=1", "ip=ib0:dhcp", "ifname=ib0:00:02:c9:0c:78:11"]
    # Ethernet: the MAC in dracut's lower-case colon form, whatever notation the inventory used
    assert ms["node002-eno1"]["entries"][0]["args"] == [
        "rd.neednet=1", "ip=eno1:dhcp", "ifname=eno1:52:54:00:12:34:56", "console=ttyS0,115200"]
    # every entry of the menu boots from the same NIC
    assert "ifname=eno1:52:54:00:12:34:56" in ms["node002-eno1"]["entries"][1]["args"]


def test_ifname_not_pinned_by_default_and_per_interface_override():
    assert not any(a.startswith("ifname=") for m in menus() for e in m["entries"] for a in e["args"])
    eth = {"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56"}
    image = {"kernel": "k", "initrd": "i"}
    assert "ifname=eno1:52:54:00:12:34:56" in bm.compose_kernel_args(image, dict(eth, pin_ifname=True))
    assert not [a for a in bm.compose_kernel_args(image, dict(eth, pin_ifname=False), None, {"pin_ifname": True})
                if a.startswith("ifname=")]
    # the default menu has no interface, so nothing to pin
    assert not [a for a in bm.compose_kernel_args(image, None, None, {"pin_ifname": True}) if a.startswith("ifname=")]


@pytest.mark.parametrize("iface, options, message", [
    ({"name": "eth:1", "type": "ethernet", "mac": "52:54:00:12:34:56"}, {"pin_ifname": True}, "cannot name an interface with ':'"),
    ({"name": "eno1", "type": "ethernet"}, {"pin_ifname": True}, "pin_ifname needs a mac"),
    ({"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56", "pin_ifname": "yes"}, {}, "interface eno1: pin_ifname must be true or false"),
    ({"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56"}, {"pin_ifname": "yes"}, "pin_ifname must be true or false, got 'yes'"),
])
def test_pin_ifname_errors(iface, options, message):
    with pytest.raises(bm.BootMenuError, match=message):
        bm.compose_kernel_args({"kernel": "k", "initrd": "i"}, iface, None, options)


def test_checked_arguments_are_remembered_but_a_bad_one_is_still_refused(monkeypatch):
    monkeypatch.setattr(bm, "_VALID_ARGS", set())
    image = {"kernel": "k", "initrd": "i", "kernel_args": ["iommu=pt"]}
    bm.compose_kernel_args(image)
    assert "iommu=pt" in bm._VALID_ARGS
    # a remembered word is no shortcut for a different, bad one
    with pytest.raises(bm.BootMenuError, match="contains white space"):
        bm.compose_kernel_args(dict(image, kernel_args=["iommu=pt", "quiet splash"]))
    assert "quiet splash" not in bm._VALID_ARGS
    # non-strings are refused, not looked up (a list is not hashable)
    with pytest.raises(bm.BootMenuError, match="must be a string"):
        bm._check_arg(["iommu=pt"])
    # the memory is bounded: once full, words are checked every time and not added
    monkeypatch.setattr(bm, "_VALID_ARGS_MAX", len(bm._VALID_ARGS))
    assert bm._check_arg("nomodeset") == "nomodeset"
    assert "nomodeset" not in bm._VALID_ARGS


def test_menu_templates_read_dict_keys_first_and_fall_back_to_attributes(tmp_path):
    from ansible_collections.fabric.boot.plugins.filter import boot_menu as fm
    (tmp_path / "t.j2").write_text("{{ m.items }} {{ m.name }} {{ s.upper() }} {{ m.keys() | list | length }}")
    env = fm._templates(str(tmp_path))
    assert isinstance(env, fm._MenuEnvironment)
    # a key that shadows a dict method wins, as the menus mean it; a missing key falls back
    # to the attribute (keys()), and non-dicts (a str) are untouched
    out = env.get_template("t.j2").render(m={"items": "entries", "name": "n1"}, s="ab")
    assert out == "entries n1 AB 2"
