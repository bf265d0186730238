"""Verify fabric.boot.dhcp_server (backend kea) in fbdm-kea, with real DHCP clients in netns fbdmk.

The verifier runs after side_effect.yml, so every exchange here is also served by the
configuration that survived the rejected ones. Kea cannot serve directly attached IPoIB:
the InfiniBand node's request arrives the way a relay agent (fabric0's relay, 192.168.100.254)
forwards it, and the answer must go back to the relay.
"""
import json
import os
import sys

import testinfra

NETNS = "fbdmk"
CONTAINER = "fbdm-kea"
SERVER = "192.168.100.2"
RELAY = "192.168.100.254"   # fabric0.relay in molecule.yml
CLIENT_MAC = "02:fb:d0:00:00:01"  # fbc0, which also plays the relay agent
CONF = "/etc/kea/kea-dhcp4.conf"
LOCAL = testinfra.get_host("local://")
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(PROJECT, "tests", "integration", "dhcp"))
import veth_client  # noqa: E402  pylint: disable=wrong-import-position
GUID = "0002c903000c7811"  # node001 ib0 in molecule.yml


def netns(cmd):
    return LOCAL.run("ip netns exec %s %s" % (NETNS, cmd))


def test_package(host):
    assert host.package("kea-dhcp4-server").is_installed
    assert not host.package("isc-dhcp-server").is_installed


def test_service_active_and_enabled(host):
    assert host.run("systemctl is-active kea-dhcp4-server").stdout.strip() == "active"
    assert host.service("kea-dhcp4-server").is_enabled
    assert host.process.filter(comm="kea-dhcp4")


def test_config_passes_kea(host):
    r = host.run("kea-dhcp4 -t %s" % CONF)
    assert r.rc == 0, r.stdout + r.stderr


def test_config_is_the_role_s(host):
    f = host.file(CONF)
    assert f.user == "root" and f.group == "root" and f.mode == 0o644
    conf = json.loads(f.content_string)
    dhcp4 = conf["Dhcp4"]
    assert dhcp4["interfaces-config"]["interfaces"] == ["pxe0"]
    (subnet,) = dhcp4["subnet4"]
    assert subnet["subnet"] == "192.168.100.0/24"
    assert subnet["relay"] == {"ip-addresses": [RELAY]}
    # side_effect.yml's rejected candidate (lease time 7200) did not land.
    assert dhcp4.get("valid-lifetime") != 7200
    # Listening sockets, whatever address form the daemon binds (0.0.0.0, 0.0.0.0%pxe0, SERVER).
    ports = [line.split()[3].rsplit(":", 1)[1] for line in host.check_output("ss -Hlun").splitlines()]
    assert "67" in ports, ports


def _relay_neighbour():
    # Kea answers the relay at 192.168.100.254: that address lives on fbc0 (no IP needed, the
    # client reads frames), so the instance is told where it is.
    pid = LOCAL.check_output("podman inspect -f '{{.State.Pid}}' %s" % CONTAINER)
    neigh = LOCAL.run("nsenter -t %s -n ip neigh replace %s lladdr %s dev pxe0 nud permanent" % (pid, RELAY, CLIENT_MAC))
    assert neigh.rc == 0, neigh


def _ask(cases):
    return veth_client.ask(LOCAL, NETNS, cases, client_mac=CLIENT_MAC, prepare=_relay_neighbour)


def test_dhcp_exchange_from_netns(host):
    server_mac = host.file("/sys/class/net/pxe0/address").content_string.strip()
    cases = [
        dict(id="ethernet-uefi", iface="fbc0", src_mac="52:54:00:12:34:56", htype=1, hlen=6,
             chaddr="525400123456", client_id=None, arch=7,
             vendor_class="PXEClient:Arch:00007:UNDI:003000"),
        dict(id="relay-ib-os-htype32", iface="fbc0", src_mac=CLIENT_MAC, server_mac=server_mac,
             server_ip=SERVER, relay=RELAY, htype=32, hlen=8, chaddr=GUID, client_id="20" + GUID,
             arch=None, vendor_class=None),
    ]
    got = _ask(cases)
    eth, ib = got["ethernet-uefi"], got["relay-ib-os-htype32"]
    for reply in (eth["offer"], eth["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.12" and reply["siaddr"] == SERVER, got
        assert reply["file"] == "uefi/grubx64.efi", got
    for reply in (ib["offer"], ib["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.11", got
        # Back to the relay agent, unicast, giaddr kept; the installed OS gets no boot file.
        assert reply["ip_dst"] == RELAY and reply["giaddr"] == RELAY, got
        assert reply["file"] == "", got
