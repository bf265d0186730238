# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: node_table
version_added: 0.1.0
author: fabric.boot contributors (@fabric-boot)
short_description: Cluster nodes from one CSV table, one row per interface
description:
  - Reads a CSV node table, one row per node interface, and creates one host per distinct C(host)
    value with its C(fabric_interfaces) list and optional C(fabric_boot_image) set as host variables.
  - Meant for machine rooms of thousands of nodes, where one file per host is slow to load and
    hard to review. See docs/inventory.md and docs/performance.md for the measurements.
  - Values are taken as written; C(fabric.boot.validate_inventory) checks them before anything changes.
  - The configuration file name must end in C(.fabric.yml) or C(.fabric.yaml).
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [fabric.boot.node_table]
  table:
    description:
      - Path of the CSV file, relative to this configuration file unless absolute.
      - The first line names the columns. Required columns are C(host), C(interface), C(type) and
        C(network); C(port_guid), C(mac), C(ipv4), C(groups) (separated by spaces or C(;)), C(boot_image)
        and any other column (for example C(transport_mode), C(mtu)) are optional, and empty cells are
        left out of the interface.
      - Give the configuration file itself to C(-i), not its directory, so the CSV is not read as an INI
        inventory; C(group_vars/) beside the configuration file still applies.
    type: str
    required: true
  groups:
    description: Groups every node of the table joins, in addition to its C(groups) column.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
# inventory/nodes.fabric.yml
plugin: fabric.boot.node_table
table: nodes.csv
groups: [compute]

# inventory/nodes.csv
# host,groups,interface,type,port_guid,mac,ipv4,network,boot_image,transport_mode
# node0001,rack01,ib0,infiniband,0x0002c903000c7811,,192.168.100.11,fabric0,rhel95,datagram
# node0001,rack01,eno1,ethernet,,52:54:00:12:34:01,10.0.0.11,mgmt,,
"""

import csv
import os

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin

_REQUIRED = ("host", "interface", "type", "network")
# Columns that describe the host, not the interface.
_HOST_COLUMNS = ("host", "groups", "boot_image")


class InventoryModule(BaseInventoryPlugin):
    NAME = "fabric.boot.node_table"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith((".fabric.yml", ".fabric.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._read_config_data(path)
        table = os.path.expanduser(self.get_option("table"))
        if not os.path.isabs(table):
            table = os.path.join(os.path.dirname(path), table)
        extra_groups = self.get_option("groups")
        try:
            with open(table, newline="") as handle:
                rows = list(csv.DictReader(handle))
                columns = rows[0].keys() if rows else []
        except (IOError, OSError, csv.Error) as exc:
            raise AnsibleParserError("fabric.boot.node_table: cannot read %s: %s" % (table, to_native(exc)))
        missing = [c for c in _REQUIRED if rows and c not in columns]
        if missing:
            raise AnsibleParserError("fabric.boot.node_table: %s lacks column(s) %s; required: %s"
                                     % (table, ", ".join(missing), ", ".join(_REQUIRED)))
        for group in extra_groups:
            self.inventory.add_group(group)
        interfaces = {}
        images = {}
        for lineno, row in enumerate(rows, start=2):
            host = (row.get("host") or "").strip()
            if not host:
                raise AnsibleParserError("fabric.boot.node_table: %s line %d: the host cell is empty" % (table, lineno))
            if host not in interfaces:
                self.inventory.add_host(host)
                interfaces[host] = []
                for group in extra_groups:
                    self.inventory.add_child(group, host)
            for group in (row.get("groups") or "").replace(";", " ").split():
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            if (row.get("boot_image") or "").strip():
                images[host] = row["boot_image"].strip()
            interfaces[host].append(dict(
                (("name" if key == "interface" else key), value.strip())
                for key, value in row.items()
                if key and key not in _HOST_COLUMNS and value is not None and value.strip()))
        for host, ifaces in interfaces.items():
            self.inventory.set_variable(host, "fabric_interfaces", ifaces)
            if host in images:
                self.inventory.set_variable(host, "fabric_boot_image", images[host])
