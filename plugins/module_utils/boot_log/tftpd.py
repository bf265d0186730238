# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""in.tftpd (tftpd-hpa) messages, logged with -v (--verbose; more v's add nothing boot_status uses):

    RRQ from 192.168.100.12 filename uefi/grubx64.efi
    sending NAK (1, File not found) to 192.168.100.13

A NAK comes from the same in.tftpd process (pid) as its RRQ, which is how it is paired. in.tftpd
logs neither the end of a transfer nor its size, so a TFTP transfer cut short is not visible in
its log (Apache's is: apache.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_RRQ = re.compile(r"^(?P<op>RRQ|WRQ) from (?P<ip>\S+) filename (?P<file>.*?)(?: remapped to (?P<remap>.*))?$")
_NAK = re.compile(r"^sending NAK \((?P<code>\d+), (?P<why>[^)]*)\) to (?P<ip>\S+)$")


class FileRequest:
    """A file a client asked for, over TFTP or HTTP, and what came of it."""

    __slots__ = ("time", "via", "ip", "path", "ok", "error", "bytes", "agent", "status")

    def __init__(self, time_, via, ip, path, ok=True, error=None, nbytes=None, agent=None, status=None):
        self.time = time_
        self.via = via
        self.ip = ip
        self.path = path
        self.ok = ok
        self.error = error
        self.bytes = nbytes
        self.agent = agent
        self.status = status

    def as_dict(self):
        return dict((k, getattr(self, k)) for k in self.__slots__)

    def __repr__(self):
        return "FileRequest(%s %s %s ok=%s)" % (self.via, self.ip, self.path, self.ok)


def requests(records):
    """FileRequests of the in.tftpd records (RRQ only; a NAK of the same pid marks it failed)."""
    out = []
    by_pid = {}
    for rec in records:
        if rec.program not in ("in.tftpd", "tftpd", "in.tftpd-hpa"):
            continue
        m = _RRQ.match(rec.message)
        if m and m.group("op") == "RRQ":
            # in.tftpd --secure strips a leading slash the same way
            req = FileRequest(rec.time, "tftp", m.group("ip"), (m.group("remap") or m.group("file")).lstrip("/"))
            out.append(req)
            by_pid[rec.pid] = req
            continue
        m = _NAK.match(rec.message)
        if m:
            req = by_pid.get(rec.pid)
            if req is not None and req.ip == m.group("ip"):
                req.ok = False
                req.error = m.group("why")
    return out
