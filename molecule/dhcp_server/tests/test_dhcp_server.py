"""Verify fabric.boot.dhcp_server in fb-dhcp, with real DHCP clients in netns fbdhcp."""
import os
import re
import sys

import testinfra

NETNS = "fbdhcp"
SERVER = "192.168.100.2"
LOCAL = testinfra.get_host("local://")
PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(PROJECT, "tests", "integration", "dhcp"))
import veth_client  # noqa: E402  pylint: disable=wrong-import-position
GUID = "0002c903000c7811"  # node001 ib0 in molecule.yml


def netns(cmd):
    return LOCAL.run("ip netns exec %s %s" % (NETNS, cmd))


def test_package(host):
    assert host.package("isc-dhcp-server").is_installed


def test_service_active_and_enabled(host):
    assert host.run("systemctl is-active isc-dhcp-server").stdout.strip() == "active"
    assert host.service("isc-dhcp-server").is_enabled
    assert host.process.filter(comm="dhcpd")


def test_the_unit_tracks_dhcpd_itself(host):
    """The drop-in makes dhcpd the unit's main process: systemd sees it die, no 2 s sleep per start."""
    dropin = host.file("/etc/systemd/system/isc-dhcp-server.service.d/fabric-boot.conf")
    assert dropin.is_file and dropin.user == "root" and dropin.mode == 0o644
    main = host.run("systemctl show -P MainPID isc-dhcp-server").stdout.strip()
    assert main not in ("", "0"), "the unit has no main process: the drop-in is not in effect"
    assert host.file("/run/dhcpd.pid").content_string.strip() == main
    assert host.file("/proc/%s/comm" % main).content_string.strip() == "dhcpd"
    cmdline = host.run("tr '\\0' ' ' < /proc/%s/cmdline" % main).stdout
    assert "-cf /etc/dhcp/dhcpd.conf" in cmdline and "pxe0" in cmdline, cmdline


def test_config_passes_dhcpd(host):
    r = host.run("dhcpd -t -cf /etc/dhcp/dhcpd.conf")
    assert r.rc == 0, r.stderr


def test_listens_on_pxe0_only(host):
    default = host.file("/etc/default/isc-dhcp-server").content_string
    assert 'INTERFACESv4="pxe0"' in default
    assert 'INTERFACESv6=""' in default
    assert host.socket("udp://0.0.0.0:67").is_listening


def test_config_has_the_reservations(host):
    conf = host.file("/etc/dhcp/dhcpd.conf").content_string
    for name in ("node001-ib0-flexboot", "node001-ib0-htype32", "node001-ib0-ipxe", "node002-eno1"):
        assert "host %s {" % name in conf
    assert "hardware ethernet 52:54:00:12:34:56;" in conf
    assert "option dhcp-client-identifier 20:00:02:c9:03:00:0c:78:11;" in conf


def _ask(cases):
    return veth_client.ask(LOCAL, NETNS, cases)


def test_dhcp_exchange_from_netns():
    cases = [
        dict(id="flexboot-uefi", iface="fbc0", src_mac="02:00:00:00:00:01", htype=32, hlen=6,
             chaddr="0002c90c7811", client_id="ff000000000002000002c900" + GUID, arch=7,
             vendor_class="PXEClient:Arch:00007:UNDI:003000"),
        dict(id="dhclient-os", iface="fbc0", src_mac="02:00:00:00:00:02", htype=32, hlen=8,
             chaddr=GUID, client_id="20" + GUID, arch=None, vendor_class=None),
        dict(id="ethernet-http", iface="fbc0", src_mac="52:54:00:12:34:56", htype=1, hlen=6,
             chaddr="525400123456", client_id=None, arch=16, vendor_class="HTTPClient:Arch:00016:UNDI:003000"),
    ]
    got = _ask(cases)
    flex, os_, http = got["flexboot-uefi"], got["dhclient-os"], got["ethernet-http"]
    for reply in (flex["offer"], flex["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.11" and reply["siaddr"] == SERVER, got
        assert reply["file"] == "uefi/grubx64.efi", got
    assert os_["ack"] and os_["ack"]["yiaddr"] == "192.168.100.11" and os_["ack"]["file"] == "", got
    for reply in (http["offer"], http["ack"]):
        assert reply and reply["yiaddr"] == "192.168.100.12", got
        # UEFI HTTP boot gets the GRUB image whose prefix is (http,<server>)/..., not the TFTP one.
        assert reply["file"] == "http://%s/boot/uefi/grubx64-http.efi" % SERVER, got
        assert reply["options"].get("vendor_class_id") == "HTTPClient", got


def test_udhcpc_gets_a_dynamic_lease():
    """An unreserved stock client gets an address from the dynamic range (unknown clients allowed)."""
    script = ("sh -c 'ip link del fbc1 2>/dev/null; ip link add fbc1 type veth peer name fbc1p && "
              "ip link set fbc1p master br0 up && ip link set fbc1 up && "
              "busybox udhcpc -i fbc1 -n -q -t 5 -T 2 -s /bin/true; rc=$?; ip link del fbc1; exit $rc'")
    r = netns(script)
    assert r.rc == 0, r
    out = r.stdout + r.stderr
    m = re.search(r"lease of 192\.168\.100\.(\d+) obtained", out)
    assert m and 200 <= int(m.group(1)) <= 230, out
