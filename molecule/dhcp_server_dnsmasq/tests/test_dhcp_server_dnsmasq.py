"""Verify fabric.boot.dhcp_server (backend dnsmasq) in fbdm-dnsmasq, with real DHCP clients in netns fbdmd.

The verifier runs after side_effect.yml, so every exchange here is also served by the
configuration that survived the rejected one.
"""
import os
import sys

import testinfra

NETNS = "fbdmd"
SERVER = "192.168.100.2"
CONF = "/etc/dnsmasq.d/fabric-boot.conf"
LOCAL = testinfra.get_host("local://")
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(PROJECT, "tests", "integration", "dhcp"))
import veth_client  # noqa: E402  pylint: disable=wrong-import-position
GUID = "0002c903000c7811"  # node001 ib0 in molecule.yml


def netns(cmd):
    return LOCAL.run("ip netns exec %s %s" % (NETNS, cmd))


def test_package(host):
    assert host.package("dnsmasq").is_installed
    assert not host.package("isc-dhcp-server").is_installed


def test_service_active_and_enabled(host):
    assert host.run("systemctl is-active dnsmasq").stdout.strip() == "active"
    assert host.service("dnsmasq").is_enabled
    assert host.process.filter(comm="dnsmasq")


def test_config_passes_dnsmasq(host):
    r = host.run("dnsmasq --test --conf-file=%s" % CONF)
    assert r.rc == 0, r.stderr
    assert "syntax check OK" in r.stderr + r.stdout


def test_config_is_root_owned_and_dhcp_only(host):
    f = host.file(CONF)
    assert f.user == "root" and f.group == "root" and f.mode == 0o644
    lines = f.content_string.splitlines()
    assert "port=0" in lines and "interface=pxe0" in lines
    # The rejected candidate of side_effect.yml did not land.
    assert "dhcp-range=not-an-address" not in lines
    # Listening sockets, whatever address form the daemon binds (0.0.0.0, 0.0.0.0%pxe0, SERVER).
    ports = [line.split()[3].rsplit(":", 1)[1] for line in host.check_output("ss -Hlun").splitlines()]
    assert "67" in ports, ports
    assert "53" not in ports, ports   # port=0: no DNS


def _ask(cases):
    return veth_client.ask(LOCAL, NETNS, cases)


def test_dhcp_exchange_from_netns():
    # dnsmasq pings an address before its first offer and waits up to 3 s: wait a little longer.
    cases = [
        dict(id="ethernet-uefi", iface="fbc0", src_mac="52:54:00:12:34:56", htype=1, hlen=6,
             chaddr="525400123456", client_id=None, arch=7,
             vendor_class="PXEClient:Arch:00007:UNDI:003000", timeout=5.0),
        dict(id="ib-os-htype32", iface="fbc0", src_mac="02:00:00:00:00:02", htype=32, hlen=8,
             chaddr=GUID, client_id="20" + GUID, arch=None, vendor_class=None, timeout=5.0),
    ]
    got = _ask(cases)
    eth, ib = got["ethernet-uefi"], got["ib-os-htype32"]
    for reply in (eth["offer"], eth["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.12" and reply["siaddr"] == SERVER, got
        assert reply["file"] == "uefi/grubx64.efi", got
    for reply in (ib["offer"], ib["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.11", got
        # The installed OS gets its address, no boot file.
        assert reply["file"] == "", got
