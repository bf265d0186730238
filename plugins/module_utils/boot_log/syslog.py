# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One log line of any format the boot servers write, split into (time, host, program, pid, message).

Formats (samples of each are the unit-test fixtures, captured from the real daemons):
- journalctl -o json: one JSON object per line (__REALTIME_TIMESTAMP in microseconds)
- journalctl -o short-unix (what the lab reads): 1796233055.766470 host prog[pid]: msg
- journalctl -o short-iso / short-iso-precise: 2026-12-02T17:37:35.766470+0000 host prog[pid]: msg
- rsyslog RFC 3339 (Debian 12 /var/log/syslog): 2026-12-02T17:37:35.766470+00:00 host prog[pid]: msg
- traditional syslog (RHEL /var/log/messages, journalctl -o short): Dec  2 17:37:35 host prog[pid]: msg;
  it carries no year or zone: the caller says which (default: this year, UTC)
- a daemon's own stderr (dhcpd -d): the message alone, no time
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time

_ISO = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$")
_TRAD = re.compile(r"^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$")
_UNIX = re.compile(r"^(\d{9,}\.\d+)\s+(\S+)\s+([^\s\[:]+)(?:\[(\d+)\])?:\s?(.*)$")
_MONTHS = dict((m, i) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1))


class Record:
    """A log line: time (seconds since the epoch, None when the line has none), host, program, pid, message."""

    __slots__ = ("time", "host", "program", "pid", "message", "source")

    def __init__(self, time_, host, program, pid, message, source=None):
        self.time = time_
        self.host = host
        self.program = program
        self.pid = pid
        self.message = message
        self.source = source

    def __repr__(self):
        return "Record(%r, %r, %r, %r)" % (self.time, self.program, self.pid, self.message)


def _zone(text):
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)


def parse_line(line, year=None, utc_offset=0, program=None):
    """A Record, or None for a blank line or one of no known format.

    year and utc_offset (seconds east of UTC) complete traditional-syslog stamps. program: the
    program name to give a bare message (a daemon's stderr), which has none of its own.
    """
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return None
        stamp = obj.get("__REALTIME_TIMESTAMP")
        message = obj.get("MESSAGE")
        if isinstance(message, list):
            # journald stores a message with invalid UTF-8 as an array of bytes
            message = bytes(bytearray(message)).decode("utf-8", "replace")
        pid = obj.get("SYSLOG_PID") or obj.get("_PID")
        return Record(int(stamp) / 1e6 if stamp else None, obj.get("_HOSTNAME"),
                      obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM"), int(pid) if pid else None,
                      message or "", "journal-json")
    m = _ISO.match(line)
    if m:
        y, mo, d, hh, mm, ss, frac, zone, host, prog, pid, msg = m.groups()
        t = calendar.timegm((int(y), int(mo), int(d), int(hh), int(mm), int(ss), 0, 0, 0))
        t += float(frac) if frac else 0.0
        return Record(t - _zone(zone), host, prog, int(pid) if pid else None, msg, "iso")
    m = _UNIX.match(line)
    if m:
        stamp, host, prog, pid, msg = m.groups()
        return Record(float(stamp), host, prog, int(pid) if pid else None, msg, "unix")
    m = _TRAD.match(line)
    if m and m.group(1) in _MONTHS:
        mon, d, hh, mm, ss, host, prog, pid, msg = m.groups()
        y = year or time.gmtime().tm_year
        t = calendar.timegm((y, _MONTHS[mon], int(d), int(hh), int(mm), int(ss), 0, 0, 0))
        return Record(t - utc_offset, host, prog, int(pid) if pid else None, msg, "traditional")
    if program:
        return Record(None, None, program, None, line.strip(), "bare")
    return None


def parse_lines(lines, year=None, utc_offset=0, program=None):
    """Records of every line that has a known format (others are skipped)."""
    out = []
    for line in lines:
        rec = parse_line(line, year, utc_offset, program)
        if rec is not None:
            out.append(rec)
    return out
