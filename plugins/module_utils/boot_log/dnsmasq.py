# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""dnsmasq's per-packet DHCP log messages (syslog identifier dnsmasq-dhcp), as DhcpEvents.

    DHCPDISCOVER(<if>) <client>[ <why not answered>]      DHCPOFFER(<if>) <ip> <client>[ <name>]
    DHCPREQUEST(<if>) <ip> <client>[ <why>]               DHCPACK(<if>) <ip> <client>[ <name>]
    DHCPNAK(<if>) <ip> <client> <why>                     DHCPRELEASE(<if>) <ip> <client>

With --log-dhcp every line starts with the transaction id in decimal. <client> is the chaddr
(6 bytes for Ethernet, FlexBoot and iPXE), or for an htype 32 client with hlen 0 its client-id
without the leading type byte: the 8-byte port GUID, which identity.py decodes as such.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fabric.boot.plugins.module_utils.boot_log.dhcpd import DhcpEvent

PROGRAMS = ("dnsmasq-dhcp", "dnsmasq")
_LINE = re.compile(r"^(?:\d+ )?DHCP(?P<kind>DISCOVER|OFFER|REQUEST|ACK|NAK|RELEASE|DECLINE)\((?P<via>[^)]*)\) "
                   r"(?:(?P<ip>\d+\.\d+\.\d+\.\d+) )?(?P<client>[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*)?"
                   r"(?: (?P<rest>.*?))?\s*$")
# the text after the client: a host name on answers, the reason on the client's messages
_NAMED = ("OFFER", "ACK")


def parse(message, time_=None):
    """A DhcpEvent for a per-packet dnsmasq DHCP message, else None."""
    m = _LINE.match(message[len("dnsmasq-dhcp: "):] if message.startswith("dnsmasq-dhcp: ") else message)
    if not m:
        return None
    d = m.groupdict()
    rest = d["rest"] or None
    return DhcpEvent(time_, d["kind"], d["ip"], (d["client"] or "").lower() or None,
                     name=rest if d["kind"] in _NAMED else None, via=d["via"],
                     note=None if d["kind"] in _NAMED else rest, daemon="dnsmasq")


def events(records):
    """DhcpEvents of the dnsmasq records among records."""
    out = []
    for rec in records:
        # a bare line (the daemon's own output read as a file) has no program of its own
        if rec.program not in PROGRAMS and rec.source != "bare":
            continue
        ev = parse(rec.message, rec.time)
        if ev is not None:
            out.append(ev)
    return out
