"""boot_status on Kea and dnsmasq: their log lines as the real daemons wrote them in the DHCP
packet test (fixtures/README.md), parsed and built into the same timeline as ISC dhcpd's."""
import os
import re
import sys

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import dnsmasq, kea, sources, syslog, timeline

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_model  # noqa: E402  pylint: disable=wrong-import-position

FIX = capture_model.FIXTURES
LOGS = {"kea": "kea-dhcp4-packet-test.log", "dnsmasq": "dnsmasq-packet-test.log"}
GUID1 = "00:02:c9:03:00:0c:78:11"         # node001 ib0, reserved 192.168.100.11
UNKNOWN_GUID = "00:02:c9:03:00:ff:ff:ff"  # a port in no inventory


@pytest.fixture(scope="module")
def model():
    return capture_model.packet_test_model()


def _text(backend):
    with open(os.path.join(FIX, LOGS[backend])) as f:
        return f.read()


def _events(backend):
    # the daemons' own output, read as a file: bare lines, given the program they came from
    records = sources.read_records(_text(backend), program="dhcpd")
    return sources.events_from(records, [])


def test_every_kea_lease_message_is_an_event():
    text = _text("kea")
    dhcp, files_ = _events("kea")
    assert all(ev.daemon == "kea" for ev in dhcp)
    assert sum(1 for ev in dhcp if ev.kind == "OFFER") == text.count("DHCP4_LEASE_ADVERT") > 0
    assert sum(1 for ev in dhcp if ev.kind == "ACK") == text.count("DHCP4_LEASE_ALLOC") > 0
    # Kea logs each failed allocation at three levels (subnet, classes, pools): one refusal each
    tids = set(re.findall(r"ALLOC_ENGINE_V4_ALLOC_FAIL\w* \[[^]]*\], cid=\[[^]]*\], tid=(0x[0-9a-f]+)", text))
    refused = [ev for ev in dhcp if ev.kind == "DISCOVER"]
    assert len(refused) == len(tids) > 0
    assert all(ev.note.startswith("no free leases (Kea ALLOC_ENGINE_V4_ALLOC_FAIL") for ev in refused)


def test_every_dnsmasq_packet_message_is_an_event():
    text = _text("dnsmasq")
    dhcp, files_ = _events("dnsmasq")
    assert all(ev.daemon == "dnsmasq" for ev in dhcp)
    for kind in ("DISCOVER", "OFFER", "REQUEST", "ACK"):
        assert sum(1 for ev in dhcp if ev.kind == kind) == len(re.findall(r"DHCP%s\(" % kind, text)) > 0


def test_kea_names_an_ib_port_by_its_client_id_and_ethernet_by_its_mac():
    label = "[hwtype=32 00:02:c9:0c:78:11], cid=[ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11], tid=0x1"
    ev, tid = kea.parse("DHCP4_LEASE_ALLOC %s: lease 192.168.100.200 has been allocated for 3600 seconds" % label)
    assert (ev.kind, ev.ip, ev.client, tid) == ("ACK", "192.168.100.200", label.split("cid=[")[1].split("]")[0], "0x1")
    ev, tid_ = kea.parse("DHCP4_LEASE_ADVERT [hwtype=32 ], cid=[20:%s], tid=0x2: lease 192.168.100.11 will be "
                         "advertised" % GUID1)
    assert (ev.kind, ev.client) == ("OFFER", "20:" + GUID1)
    # an Ethernet client's 01:<MAC> client-id is not an IB form: the MAC names it, as on ISC
    ev, tid_ = kea.parse("DHCP4_LEASE_ALLOC [hwtype=1 52:54:00:12:34:56], cid=[01:52:54:00:12:34:56], tid=0x3: "
                         "lease 192.168.100.12 has been allocated for 3600 seconds")
    assert ev.client == "52:54:00:12:34:56"
    assert kea.parse("DHCP4_STARTED Kea DHCPv4 server version 2.2.0 started") is None


def test_dnsmasq_line_shapes():
    ev = dnsmasq.parse("DHCPACK(pxe0) 192.168.100.21 52:54:00:fb:1a:01 lab-uefi-tftp")
    assert (ev.kind, ev.ip, ev.client, ev.name, ev.via, ev.note) == (
        "ACK", "192.168.100.21", "52:54:00:fb:1a:01", "lab-uefi-tftp", "pxe0", None)
    ev = dnsmasq.parse("1701725277 DHCPDISCOVER(br0) 52:54:00:77:77:77 no address available")
    assert (ev.kind, ev.ip, ev.client, ev.note) == ("DISCOVER", None, "52:54:00:77:77:77", "no address available")
    ev = syslog.parse_line("dnsmasq-dhcp: 2706096451 DHCPOFFER(br0) 192.168.100.213 00:02:c9:0c:78:11 ",
                           program="dhcpd")
    assert dnsmasq.events([ev])[0].ip == "192.168.100.213"
    assert dnsmasq.parse("DHCP, IP range 10.99.0.200 -- 10.99.0.230, lease time 1h") is None


@pytest.mark.parametrize("backend", sorted(LOGS))
def test_ib_port_boot_stage_forms_from_the_pool_are_its_own(model, backend):
    """Kea and dnsmasq reserve the port's address for its htype32 form only; its FlexBoot and
    iPXE forms got pool addresses (the packet test checks that). boot_status files those
    answers under the port, with no 'not reserved' finding and no stranger."""
    dhcp, files = _events(backend)
    result = timeline.build(dhcp, files, model["nodes"], model["networks"])
    node = next(n for n in result["nodes"] if n["host"] == "node001")
    answers = [e for e in node["dhcp"] if e["kind"] in ("OFFER", "ACK")]
    assert any(e["ip"] == "192.168.100.11" for e in answers)
    pooled = [e for e in answers if e["ip"] != "192.168.100.11"]
    assert pooled and all(e.get("pooled") for e in pooled)
    assert all(timeline.Index(model["nodes"], model["networks"]).in_dynamic(e["ip"]) for e in pooled)
    assert not [f for f in node["findings"] if "not reserved" in f or "not its reservation" in f]
    strangers = dict((s["wire"], s) for s in result["unknown"])
    assert not [w for w, s in strangers.items() if s["collides_with"]], strangers
    # the unknown clients the test sends are listed, refused (deny unknown-clients on fabric0)
    refused = dict((w, s["refused"]) for w, s in strangers.items() if s["refused"])
    assert "52:54:00:77:77:77" in refused and "52:54:00:99:99:99" in refused
    assert any(UNKNOWN_GUID in w for w in refused), refused
