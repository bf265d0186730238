# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kea DHCPv4's per-lease log messages (kea-dhcp4, severity INFO and above), as DhcpEvents.

    DHCP4_LEASE_ADVERT <label>: lease <ip> will be advertised                     (an OFFER)
    DHCP4_LEASE_ALLOC <label>: lease <ip> has been allocated for <n> seconds      (an ACK)
    DHCP4_RELEASE <label>: address <ip> was released properly.
    ALLOC_ENGINE_V4_ALLOC_FAIL[_SUBNET|_NO_POOLS|_CLASSES|...] <label>: <why>     (no address)

<label> is Kea's packet label, "[hwtype=<htype> <chaddr>], cid=[<option 61>|no info], tid=0x<xid>";
an htype 32 client with hlen 0 shows an empty chaddr. Kea logs nothing per packet at INFO for
DISCOVER and REQUEST, so a boot's Kea timeline has offers and acks, and a refused client shows
as the allocation failure (one event per transaction, not one per failure message).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fabric.boot.plugins.module_utils.boot_log.dhcpd import DhcpEvent
from ansible_collections.fabric.boot.plugins.module_utils.boot_log.identity import decode

PROGRAMS = ("kea-dhcp4",)
_LABEL = r"\[hwtype=(?P<htype>\d+) (?P<hw>[0-9A-Fa-f:]*)\], cid=\[(?P<cid>[^\]]*)\], tid=(?P<tid>0x[0-9A-Fa-f]+)"
_PATTERNS = (
    ("OFFER", re.compile(r"\bDHCP4_LEASE_ADVERT " + _LABEL + r": lease (?P<ip>[\d.]+) will be advertised")),
    ("ACK", re.compile(r"\bDHCP4_LEASE_ALLOC " + _LABEL + r": lease (?P<ip>[\d.]+) has been allocated")),
    ("RELEASE", re.compile(r"\bDHCP4_RELEASE " + _LABEL + r": address (?P<ip>[\d.]+) was released")),
    ("DISCOVER", re.compile(r"\b(?P<id>ALLOC_ENGINE_V4_ALLOC_FAIL\w*) " + _LABEL + r": (?P<note>.*?)\s*$")),
)
# An InfiniBand client's client-id names the port better than its chaddr (FlexBoot's 20 bytes,
# 20:GUID with an empty chaddr). An Ethernet client's 01:<MAC> (iPXE, dhclient) does not: its
# chaddr is the MAC, as ISC dhcpd prints it.
_BETTER_CID = ("flexboot", "htype32")


def client(htype, hw, cid):
    """What Kea printed, as the identity text dhcpd.py's events carry (lowercase colon hex)."""
    cid = "" if cid == "no info" else cid.lower()
    if htype == "32" and cid and decode(cid)["kind"] in _BETTER_CID:
        return cid
    return hw.lower() or cid or None


def parse(message, time_=None):
    """(DhcpEvent, transaction id) for a Kea lease message, else None."""
    for kind, pattern in _PATTERNS:
        m = pattern.search(message)
        if m:
            d = m.groupdict()
            note = None
            if kind == "DISCOVER":
                # "no free leases" is the refusal timeline.py recognises, in ISC's words
                note = "no free leases (Kea %s: %s)" % (d["id"], d["note"])
            ev = DhcpEvent(time_, kind, d.get("ip"), client(d["htype"], d["hw"], d["cid"]), note=note, daemon="kea")
            return ev, d["tid"].lower()
    return None


def events(records):
    """DhcpEvents of the Kea records among records."""
    out = []
    failed = set()       # (tid, client): Kea logs each failed allocation at every level it tried
    for rec in records:
        # a bare line (the daemon's own output read as a file) has no program of its own
        if rec.program not in PROGRAMS and rec.source != "bare":
            continue
        got = parse(rec.message, rec.time)
        if got is None:
            continue
        ev, tid = got
        if ev.kind == "DISCOVER":
            if (tid, ev.client) in failed:
                continue
            failed.add((tid, ev.client))
        out.append(ev)
    return out
