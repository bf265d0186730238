"""boot_log parsers on the log lines the real daemons wrote (fixtures/README.md)."""
import os

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import apache, dhcpd, identity, sources, syslog, tftpd

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
FORMATS = ("journal.json", "journal-short-iso.log", "journal-short-iso-precise.log", "journal-short.log",
           "debian-syslog.log", "rsyslog-traditional-messages.log")


def _records(name):
    with open(os.path.join(FIX, name)) as f:
        return syslog.parse_lines(f, year=2026)


@pytest.mark.parametrize("name", FORMATS)
def test_every_line_of_every_format_parses(name):
    with open(os.path.join(FIX, name)) as f:
        lines = [ln for ln in f if ln.strip()]
    recs = _records(name)
    assert len(recs) == len(lines) == 61
    assert set(r.program for r in recs) == {"dhcpd", "in.tftpd"}
    assert all(r.time is not None and r.host == "bootsrv" and r.pid for r in recs)


@pytest.mark.parametrize("name", FORMATS[1:])
def test_formats_agree_with_the_journal(name):
    """Same messages, same programs, same second as journalctl -o json (stamps differ by the
    microseconds between the daemon's call and journald/rsyslog receiving it)."""
    ref = _records("journal.json")
    got = _records(name)
    assert [(r.program, r.pid, r.message) for r in got] == [(r.program, r.pid, r.message) for r in ref]
    assert all(abs(a.time - b.time) < 1.0 for a, b in zip(got, ref))


def test_iso_stamp_and_zone():
    rec = syslog.parse_line("2026-12-02T17:37:35.766470+0100 bootsrv dhcpd[1422]: DHCPDISCOVER from "
                            "52:54:00:12:34:56 via pxe0")
    assert rec.time == pytest.approx(1796229455.766470)
    assert (rec.host, rec.program, rec.pid) == ("bootsrv", "dhcpd", 1422)


def test_traditional_stamp_uses_given_year_and_offset():
    rec = syslog.parse_line("Dec  2 17:37:35 bootsrv in.tftpd[7]: RRQ from 1.2.3.4 filename x", year=2025,
                            utc_offset=3600)
    assert rec.time == 1764697055 - 3600


def test_bare_dhcpd_stderr_line_gets_the_program_given():
    rec = syslog.parse_line("DHCPACK on 192.168.100.12 to 52:54:00:12:34:56 via pxe0", program="dhcpd")
    assert (rec.time, rec.program) == (None, "dhcpd")
    assert syslog.parse_line("DHCPACK on 192.168.100.12 to 52:54:00:12:34:56 via pxe0") is None


def test_dhcpd_events_of_the_capture():
    evs = dhcpd.events(_records("journal.json"))
    kinds = [e.kind for e in evs]
    assert (kinds.count("DISCOVER"), kinds.count("OFFER"), kinds.count("REQUEST"), kinds.count("ACK")) == (13, 9, 9, 9)
    refused = [e for e in evs if e.note]
    assert [(e.client, e.note) for e in refused] == [
        ("00:02:c9:03:00:0c:78:11", "unknown client"),
        ("52:54:00:99:99:99", "unknown client"),
        ("00:02:c9:aa:bb:cc", "unknown client"),
        ("00:02:c9:aa:bb:cc", "unknown client"),
    ]
    req = next(e for e in evs if e.kind == "REQUEST")
    assert (req.ip, req.server, req.client, req.via) == ("192.168.100.12", "192.168.100.2", "52:54:00:12:34:56", "pxe0")


@pytest.mark.parametrize("message, kind, ip, client, name, note", [
    ("DHCPDISCOVER from 52:54:00:99:99:99 (node9) via eth1: network fabric0: no free leases",
     "DISCOVER", None, "52:54:00:99:99:99", "node9", "network fabric0: no free leases"),
    ("DHCPACK on 10.0.0.5 to 0:2:c9:c:78:11 via 10.0.0.254", "ACK", "10.0.0.5", "00:02:c9:0c:78:11", None, None),
    ("DHCPNAK on 10.0.0.9 to 52:54:00:12:34:56 via eth0", "NAK", "10.0.0.9", "52:54:00:12:34:56", None, None),
    ('DHCPDISCOVER from "no client id" via ib0: unknown client', "DISCOVER", None, None, None, "unknown client"),
    ("DHCPOFFER on 192.168.100.11 to <no client hardware address> via ib0", "OFFER", "192.168.100.11", None, None, None),
    ("BOOTREQUEST from 52:54:00:12:34:56 via eth0: BOOTP from dynamic client and no dynamic leases",
     "BOOTREQUEST", None, "52:54:00:12:34:56", None, "BOOTP from dynamic client and no dynamic leases"),
])
def test_dhcpd_message_shapes(message, kind, ip, client, name, note):
    ev = dhcpd.parse(message)
    assert (ev.kind, ev.ip, ev.client, ev.name, ev.note) == (kind, ip, client, name, note)


def test_dhcpd_ignores_other_messages():
    assert dhcpd.parse("Wrote 0 leases to leases file.") is None
    assert dhcpd.parse("Server starting service.") is None


def test_rhel_lines_carry_the_client_id():
    evs = dhcpd.events(_records("rhel-dhcpd-messages.log"))
    assert len(evs) == 12
    flex = identity.decode(evs[0].client)
    assert (flex["kind"], flex["guid"], flex["mac48"]) == ("flexboot", "00:02:c9:03:00:0c:78:11", "00:02:c9:0c:78:11")
    os_stage = identity.decode(evs[4].client)
    assert (os_stage["kind"], os_stage["form"], os_stage["guid"]) == ("htype32", "htype32", "00:02:c9:03:00:0c:78:11")
    assert evs[7].client is None and evs[7].note == "unknown client"


@pytest.mark.parametrize("wire, kind, form, guid, mac48", [
    ("52:54:00:12:34:56", "ethernet-or-mac48", "mac48", None, "52:54:00:12:34:56"),
    ("00:02:c9:03:00:0c:78:11", "guid-chaddr", "htype32", "00:02:c9:03:00:0c:78:11", "00:02:c9:0c:78:11"),
    ("ff:00:00:00:00:00:02:00:00:02:c9:00:00:11:75:01:01:7a:12:34", "flexboot", "flexboot",
     "00:11:75:01:01:7a:12:34", "00:11:75:7a:12:34"),
    ("20:00:02:c9:03:00:0c:78:11", "htype32", "htype32", "00:02:c9:03:00:0c:78:11", "00:02:c9:0c:78:11"),
    ("01:00:02:c9:0c:78:11", "ipxe", "ipxe", None, "00:02:c9:0c:78:11"),
    ("01:02:03", "unknown", None, None, None),
    (None, "none", None, None, None),
])
def test_identity_decode(wire, kind, form, guid, mac48):
    d = identity.decode(wire)
    assert (d["kind"], d["form"], d["guid"], d["mac48"]) == (kind, form, guid, mac48)


def test_tftpd_requests_and_naks():
    reqs = tftpd.requests(_records("journal.json"))
    assert len(reqs) == 11
    failed = [(r.ip, r.path, r.error) for r in reqs if not r.ok]
    assert failed == [("192.168.100.13", "uefi/grub.cfg-01-52-54-00-00-00-13", "File not found"),
                      ("192.168.100.13", "uefi/grub.cfg-C0A8640D", "File not found")]


def test_apache_access_log():
    with open(os.path.join(FIX, "apache-access.log")) as f:
        reqs = apache.requests(f)
    assert len(reqs) == 8
    first = reqs[0]
    assert (first.ip, first.path, first.status, first.bytes, first.agent) == (
        "192.168.100.11", "boot/images/rhel95/vmlinuz", 200, 1048787, "GRUB 2.06")
    assert reqs[4].agent == "UefiHttpBoot/1.0"
    assert reqs[3].bytes < 25165824      # the transfer curl abandoned


def test_apache_vhost_combined_and_head():
    """The lab's log: Debian's vhost_combined lines, OVMF's HEAD before its GET (not a transfer)."""
    with open(os.path.join(FIX, "apache-other-vhosts-access.log")) as f:
        lines = f.readlines()
    reqs = apache.requests(lines)
    assert len(reqs) == sum(1 for ln in lines if '"GET ' in ln) == len(lines) - 1
    first = reqs[0]
    assert (first.ip, first.path, first.status, first.bytes, first.agent) == (
        "192.168.100.24", "boot/uefi/grubx64-http.efi", 200, 655600, "UefiHttpBoot/1.0")
    assert {r.ip for r in reqs} == {"192.168.100.23", "192.168.100.24"}


def test_apache_common_format_and_errors():
    req = apache.parse('10.0.0.5 - - [02/Dec/2026:18:00:00 +0100] "GET /boot/x.cfg HTTP/1.1" 404 196')
    assert (req.ok, req.error, req.bytes, req.agent, req.time) == (False, "HTTP 404", 196, None, 1796230800)
    assert apache.parse("garbage") is None


def test_since():
    assert sources.parse_since("-30min", now=1000000) == 1000000 - 1800
    assert sources.parse_since("-2h", now=1000000) == 1000000 - 7200
    assert sources.parse_since("@1796233051") == 1796233051
    assert sources.parse_since("2026-12-02 17:37:35") == 1796233055
    assert sources.parse_since("") is None
    with pytest.raises(ValueError, match="since 'yesterday'"):
        sources.parse_since("yesterday")
    assert sources.journal_command(1796233055.5, ("dhcpd",))[-2:] == ["--since", "@1796233055"]


def test_read_records_filters_by_since():
    with open(os.path.join(FIX, "journal-short-iso-precise.log")) as f:
        text = f.read()
    allr = sources.read_records(text)
    later = sources.read_records(text, since=allr[30].time)
    assert 0 < len(later) < len(allr) and all(r.time >= allr[30].time for r in later)


def test_short_unix_is_what_the_lab_reads():
    rec = syslog.parse_line("1796233055.766470 bootsrv dhcpd[1422]: DHCPDISCOVER from 52:54:00:12:34:56 via pxe0")
    assert (rec.time, rec.program, rec.pid) == (1796233055.766470, "dhcpd", 1422)
