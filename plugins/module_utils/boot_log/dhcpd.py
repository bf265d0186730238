# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ISC dhcpd's per-packet log messages (server/dhcp.c), Debian's and RHEL's.

    DHCPDISCOVER from <client> [(<host name>) ]via <interface or relay>[: <why not answered>]
    DHCPOFFER on <ip> to <client> [(<host name>) ]via <interface>
    DHCPREQUEST for <ip> [(<server id>) ]from <client> [(<host name>) ]via <interface>[: <note>]
    DHCPACK on <ip> to <client> ...      DHCPNAK on <ip> to <client> via <interface>
    DHCPRELEASE of <ip> from <client> ... DHCPDECLINE of <ip> from <client> ...
    BOOTREQUEST from <client> via <interface>[: <note>]   BOOTREPLY for <ip> to <client> via <interface>

<client> is what dhcpd printed for the client: upstream (Debian) prints the BOOTP header's
chaddr (hlen bytes); RHEL's dhcpd (patch "Add GUID/DUID to dhcpd logs", #1064416) prints option
61 instead for htype 32 clients, and '"no client id"' when there is none. identity.py decodes it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_CLIENT = r'(?P<client><no identifier>|<no client hardware address>|"no client id"|[0-9A-Fa-f:]*)'
_NAME = r"(?:\((?P<name>[^)]*)\) )?"
_VIA = r"via (?P<via>\S+?)(?::\s*(?P<note>.*))?$"
_PATTERNS = (
    ("DISCOVER", re.compile(r"^DHCPDISCOVER from " + _CLIENT + r" " + _NAME + _VIA)),
    ("OFFER", re.compile(r"^DHCPOFFER on (?P<ip>[\d.]+) to " + _CLIENT + r" " + _NAME + _VIA)),
    ("REQUEST", re.compile(r"^DHCPREQUEST for (?P<ip>[\d.]+) (?:\((?P<server>[\d.]+)\) )?from " + _CLIENT + r" "
                           + _NAME + _VIA)),
    ("ACK", re.compile(r"^DHCPACK on (?P<ip>[\d.]+) to " + _CLIENT + r" " + _NAME + _VIA)),
    ("NAK", re.compile(r"^DHCPNAK on (?P<ip>[\d.]+) to " + _CLIENT + r" " + _VIA)),
    ("RELEASE", re.compile(r"^DHCPRELEASE of (?P<ip>[\d.]+) from " + _CLIENT + r" " + _NAME + _VIA)),
    ("DECLINE", re.compile(r"^DHCPDECLINE of (?P<ip>[\d.]+) from " + _CLIENT + r" " + _NAME + _VIA)),
    ("BOOTREQUEST", re.compile(r"^BOOTREQUEST from " + _CLIENT + r" " + _VIA)),
    ("BOOTREPLY", re.compile(r"^BOOTREPLY for (?P<ip>[\d.]+) to " + _CLIENT + r" " + _NAME + _VIA)),
)
_ABANDON = re.compile(r"^Abandoning IP address (?P<ip>[\d.]+): (?P<note>.*)$")
ANSWERS = ("OFFER", "ACK", "BOOTREPLY")
_NO_CLIENT = ("<no identifier>", "<no client hardware address>", '"no client id"', "")


class DhcpEvent:
    """One per-packet DHCP server message. client is lowercase colon hex, or None when the daemon
    printed none. daemon: isc, kea or dnsmasq (kea.py and dnsmasq.py make the same events)."""

    __slots__ = ("time", "kind", "ip", "client", "name", "via", "note", "server", "daemon")

    def __init__(self, time_, kind, ip=None, client=None, name=None, via=None, note=None, server=None,
                 daemon="isc"):
        self.time = time_
        self.kind = kind
        self.ip = ip
        self.client = client
        self.name = name
        self.via = via
        self.note = note
        self.server = server
        self.daemon = daemon

    def as_dict(self):
        return dict((k, getattr(self, k)) for k in self.__slots__)

    def __repr__(self):
        return "DhcpEvent(%s %s %s %s)" % (self.kind, self.ip, self.client, self.note)


def _normal_client(text):
    if text in _NO_CLIENT:
        return None
    # dhcpd prints %02x per byte; older releases printed %x ("0:2:c9"): pad each group
    return ":".join(g.rjust(2, "0") for g in text.lower().split(":"))


def parse(message, time_=None):
    """A DhcpEvent for a per-packet dhcpd message, else None."""
    for kind, pattern in _PATTERNS:
        m = pattern.match(message)
        if m:
            d = m.groupdict()
            return DhcpEvent(time_, kind, d.get("ip"), _normal_client(d.get("client") or ""), d.get("name"),
                             d.get("via"), (d.get("note") or "").strip() or None, d.get("server"))
    m = _ABANDON.match(message)
    if m:
        return DhcpEvent(time_, "ABANDON", m.group("ip"), note=m.group("note"))
    return None


def events(records):
    """DhcpEvents of the dhcpd records among records (program dhcpd)."""
    out = []
    for rec in records:
        if rec.program not in ("dhcpd", "dhcpd4"):
            continue
        ev = parse(rec.message, rec.time)
        if ev is not None:
            out.append(ev)
    return out
