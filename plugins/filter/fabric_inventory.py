# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host x network join for DHCP, computed once in Python instead of nested Jinja loops."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import (
    ModelError,
    nodes_value,
    normalize_networks,
    reservations,
)


def dhcp_reservations(fabric_nodes, fabric_networks):
    problems = []
    networks = normalize_networks(fabric_networks, problems)
    if problems:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: %s" % ModelError(problems))
    try:
        fabric_nodes = nodes_value(fabric_nodes)
    except ValueError as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: %s" % exc)
    try:
        return reservations(fabric_nodes, networks)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: fabric_nodes is not in the form "
                                 "fabric.boot.validate_inventory returns (%s)" % exc)


class FilterModule(object):
    def filters(self):
        return {"dhcp_reservations": dhcp_reservations}
