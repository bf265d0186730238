# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""boot_status for callers that already hold the log text (the lab reads the boot-server
container's journal with podman exec): one call from texts to (result, table)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import sources, timeline


def from_texts(journal_text, access_text="", nodes=None, networks=None, boot_images=None, sizes=None,
               http_prefix="boot/", since=None, relative_to=None, year=None):
    """(result, table) for a journal/syslog text holding dhcpd and in.tftpd lines (any format
    syslog.py reads: journalctl -o short-unix, json, short-iso, syslog files) and an Apache access log.

    nodes/networks: fabric_nodes/fabric_networks of validate_inventory (or fabric_inventory.validate()).
    relative_to: seconds since the epoch the table's times count from (the lab's power-on).
    """
    records = sources.read_records(journal_text or "", since, year)
    dhcp, files = sources.events_from(records, (access_text or "").splitlines(), since)
    result = timeline.build(dhcp, files, nodes or {}, networks or {}, boot_images, sizes, http_prefix)
    return result, timeline.table(result, relative_to)
