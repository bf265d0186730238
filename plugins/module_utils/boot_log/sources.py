# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the logs come from: the journal (journalctl -o json) or log files, since a time.

The journal is asked for the syslog identifiers of the daemons (dhcpd, kea-dhcp4, dnsmasq-dhcp,
in.tftpd) rather than
units: the unit is isc-dhcp-server on Debian and dhcpd on RHEL, tftp.service or tftpd-hpa, but
the identifier is the program's name on both.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import apache, dhcpd, dnsmasq, kea, syslog, tftpd

_REL = re.compile(r"^-(\d+)\s*(s|sec|m|min|h|hour|d|day)s?$")
_ABS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?(?:\s*(?:UTC|Z))?$")
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
# the DHCP daemons of every dhcp_server backend: ISC dhcpd, Kea (its stdout, under the
# executable's name) and dnsmasq (its DHCP messages have their own identifier)
DHCP_IDENTIFIERS = ("dhcpd", "kea-dhcp4", "dnsmasq-dhcp")
IDENTIFIERS = DHCP_IDENTIFIERS + ("in.tftpd",)


def parse_since(text, now=None):
    """Seconds since the epoch for -30min, -2h, -1d, @<epoch> or YYYY-MM-DD[ HH:MM[:SS]] (UTC); None for ''."""
    if text in (None, ""):
        return None
    text = str(text).strip()
    now = time.time() if now is None else now
    m = _REL.match(text)
    if m:
        return now - int(m.group(1)) * _UNIT[m.group(2)]
    if text.startswith("@"):
        try:
            return float(text[1:])
        except ValueError:
            pass
    m = _ABS.match(text)
    if m:
        parts = [int(g) if g else 0 for g in m.groups()]
        return float(calendar.timegm((parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], 0, 0, 0)))
    raise ValueError("since %r is not -<n>min, -<n>h, -<n>d, @<epoch seconds> or YYYY-MM-DD HH:MM:SS (UTC)" % text)


def journal_command(since=None, identifiers=IDENTIFIERS, journalctl="journalctl"):
    cmd = [journalctl, "--no-pager", "-o", "json"]
    for ident in identifiers:
        cmd += ["-t", ident]
    if since is not None:
        cmd += ["--since", "@%d" % int(since)]
    return cmd


def read_records(text, since=None, year=None, utc_offset=0, program=None):
    """Syslog/journal records of a text, those at or after since (records without a time are kept)."""
    out = []
    for rec in syslog.parse_lines(text.splitlines(), year, utc_offset, program):
        if since is None or rec.time is None or rec.time >= since:
            out.append(rec)
    return out


def events_from(records, access_lines=(), since=None):
    """(dhcp events, file requests) of syslog/journal records and Apache access log lines."""
    requests = tftpd.requests(records)
    for req in apache.requests(access_lines):
        if since is None or req.time >= since:
            requests.append(req)
    dhcp = dhcpd.events(records) + kea.events(records) + dnsmasq.events(records)
    dhcp.sort(key=lambda ev: ev.time or 0)
    return dhcp, requests
