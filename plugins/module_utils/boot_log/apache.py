# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apache access log lines, common, combined and vhost_combined formats (Debian's and RHEL's defaults):

    192.168.100.11 - - [02/Dec/2026:17:37:46 +0000] "GET /boot/images/rhel95/vmlinuz HTTP/1.1" 200 1048787 "-" "GRUB 2.06"

The size field is %O on Debian (bytes sent, headers included) and %b on RHEL (body only): a
transfer is complete when it is at least the file's size, so either way a smaller number is a
transfer cut short (one shorter only by less than its headers is missed on Debian).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re

from ansible_collections.fabric.boot.plugins.module_utils.boot_log.tftpd import FileRequest

# Where Apache logs boot requests: Debian's main server, Debian's requests that no enabled site
# claims (every boot request once http_server turned the default site off; vhost_combined
# format, "%v:%p " in front), RHEL's main server.
ACCESS_LOGS = ("/var/log/apache2/access.log", "/var/log/apache2/other_vhosts_access.log", "/var/log/httpd/access_log")

_LINE = re.compile(
    r'^(?:\S+:\d+ )?(?P<ip>\S+) \S+ \S+ \[(?P<d>\d\d)/(?P<mon>\w{3})/(?P<y>\d{4}):(?P<hh>\d\d):(?P<mm>\d\d):(?P<ss>\d\d) '
    r'(?P<zone>[+-]\d{4})\] "(?P<method>[A-Z]+) (?P<path>\S+)(?: HTTP/[\d.]+)?" (?P<status>\d{3}) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?')
_MONTHS = dict((m, i) for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1))


def parse(line):
    """A FileRequest for one access log line, else None."""
    m = _LINE.match(line.strip())
    if not m or m.group("mon") not in _MONTHS:
        return None
    if m.group("method") != "GET":
        # UEFI HTTP boot asks HEAD first for the file's size (no body sent): not a transfer,
        # and counted as one it would read as a loader cut short after its headers
        return None
    zone = m.group("zone")
    offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
    t = calendar.timegm((int(m.group("y")), _MONTHS[m.group("mon")], int(m.group("d")), int(m.group("hh")),
                         int(m.group("mm")), int(m.group("ss")), 0, 0, 0)) - offset
    status = int(m.group("status"))
    nbytes = None if m.group("bytes") == "-" else int(m.group("bytes"))
    path = m.group("path").split("?", 1)[0]
    return FileRequest(t, "http", m.group("ip"), path.lstrip("/"), ok=200 <= status < 300,
                       error=None if 200 <= status < 300 else "HTTP %d" % status, nbytes=nbytes,
                       agent=m.group("agent"), status=status)


def requests(lines):
    out = []
    for line in lines:
        req = parse(line)
        if req is not None:
            out.append(req)
    return out
