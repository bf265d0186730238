# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the boot servers logged, read back per node: parsers by daemon and a timeline builder.

Stdlib only (runs on the boot servers through fabric.boot.boot_status). syslog.py splits a log
line of any supported format into time, host, program and message; dhcpd.py, tftpd.py and
apache.py read their daemon's messages; identity.py decodes the client a DHCP line names;
timeline.py joins everything with the inventory. Formats and where each was seen: docs/status.md.
"""
