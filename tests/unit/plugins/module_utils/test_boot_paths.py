"""Boot paths side by side: secure_boot and boot_fetch per network and per port.

The inventory model checks the keys and keeps them; boot_menu resolves port > network >
server default; reservations carry a port's own Secure Boot choice to dhcpd's host block.
"""
import pytest

from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import reservations, validate

NETWORKS = {
    "plain": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "boot_image": "e2e"},
    "sbpart": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1", "boot_image": "e2e",
               "secure_boot": True, "boot_fetch": "http"},
}
IMAGES = {"e2e": {"kernel": "images/e2e/vmlinuz", "initrd": "images/e2e/initrd.img"}}


def eth(mac, ip, net, **extra):
    return dict(name="eth0", type="ethernet", mac=mac, ipv4=ip, network=net, **extra)


NODES = {
    "a": {"interfaces": [eth("52:54:00:00:00:01", "192.168.100.11", "plain")]},
    "b": {"interfaces": [eth("52:54:00:00:00:02", "192.168.100.12", "plain", secure_boot=True)]},
    "c": {"interfaces": [eth("52:54:00:00:00:03", "192.168.100.13", "plain", boot_fetch="http")]},
    "d": {"interfaces": [eth("52:54:00:00:00:04", "10.0.0.14", "sbpart")]},
    "e": {"interfaces": [eth("52:54:00:00:00:05", "10.0.0.15", "sbpart", secure_boot=False, boot_fetch="tftp")]},
}


def model():
    m, problems = validate(NODES, NETWORKS, IMAGES)
    assert problems == []
    return m


def menus(**options):
    m = model()
    return {x["host"]: x for x in bm.node_menus(m["nodes"], m["networks"], IMAGES, {}, options)}


def test_network_keys_are_normalised_and_default_to_none():
    nets = model()["networks"]
    assert nets["sbpart"]["secure_boot"] is True and nets["sbpart"]["boot_fetch"] == "http"
    assert nets["plain"]["secure_boot"] is None and nets["plain"]["boot_fetch"] is None


@pytest.mark.parametrize("where,change,fragment", [
    ("network", {"secure_boot": "yes"}, "fabric_networks.plain.secure_boot: must be true or false, got 'yes'"),
    ("network", {"boot_fetch": "nfs"}, "fabric_networks.plain.boot_fetch: must be one of tftp, http, got 'nfs'"),
    ("interface", {"secure_boot": 1}, "a: fabric_interfaces[0] (eth0).secure_boot: must be true or false, got 1"),
    ("interface", {"boot_fetch": "HTTP"}, "a: fabric_interfaces[0] (eth0).boot_fetch: must be one of tftp, http"),
])
def test_bad_values_are_named(where, change, fragment):
    nets = {"plain": dict(NETWORKS["plain"])}
    iface = eth("52:54:00:00:00:01", "192.168.100.11", "plain")
    (nets["plain"] if where == "network" else iface).update(change)
    _m, problems = validate({"a": {"interfaces": [iface]}}, nets, IMAGES)
    assert any(fragment in p for p in problems), problems


def test_port_over_network_over_server_default():
    got = menus()
    assert {h: (m["secure_boot"], m["fetch"]) for h, m in got.items()} == {
        "a": (False, "tftp"),
        "b": (True, "tftp"),     # port's own secure_boot on a plain network
        "c": (False, "http"),    # port's own boot_fetch
        "d": (True, "http"),     # network's settings
        "e": (False, "tftp"),    # port overrides its network both ways
    }
    # the server defaults apply only where neither port nor network says anything
    got = menus(secure_boot=True, fetch="http")
    assert (got["a"]["secure_boot"], got["a"]["fetch"]) == (True, "http")
    assert (got["e"]["secure_boot"], got["e"]["fetch"]) == (False, "tftp")


def test_fetch_decides_the_grub_paths_per_port():
    got = menus()
    assert got["a"]["entries"][0]["kernel"] == "/images/e2e/vmlinuz"
    assert got["c"]["entries"][0]["kernel"] == "(http,192.168.100.1)/boot/images/e2e/vmlinuz"
    assert got["c"]["entries"][0]["initrd"] == "(http,192.168.100.1)/boot/images/e2e/initrd.img"
    assert got["d"]["entries"][0]["kernel"] == "(http,10.0.0.1)/boot/images/e2e/vmlinuz"
    # pxelinux always reads from the TFTP root
    assert got["c"]["entries"][0]["pxelinux_kernel"] == "::/images/e2e/vmlinuz"


def test_default_menu_follows_the_server_default():
    assert bm.default_menu(NETWORKS, IMAGES, {"fetch": "http"})["entries"][0]["kernel"].startswith("(http,")
    assert bm.default_menu(NETWORKS, IMAGES)["fetch"] == "tftp"


def test_boot_path_rejects_a_bad_fetch_given_directly():
    with pytest.raises(bm.BootMenuError, match="boot_fetch must be tftp or http"):
        bm.boot_path({"name": "eth0", "boot_fetch": "ftp"}, {})


def test_reservations_carry_only_a_ports_own_secure_boot():
    m = model()
    res = reservations(m["nodes"], m["networks"])
    by_host = dict((r["host"], r) for rs in res.values() for r in rs)
    assert by_host["b"]["secure_boot"] is True
    assert by_host["e"]["secure_boot"] is False
    assert "secure_boot" not in by_host["a"] and "secure_boot" not in by_host["d"]
