# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host x network join for DHCP, computed once in Python instead of nested Jinja loops."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import (
    ModelError,
    nodes_value,
    normalize_networks,
    reservations,
)


def dhcp_reservations(fabric_nodes, fabric_networks, json_text=False):
    problems = []
    networks = normalize_networks(fabric_networks, problems)
    if problems:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: %s" % ModelError(problems))
    try:
        fabric_nodes = nodes_value(fabric_nodes)
    except ValueError as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: %s" % exc)
    try:
        result = reservations(fabric_nodes, networks)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_reservations: fabric_nodes is not in the form "
                                 "fabric.boot.validate_inventory returns (%s)" % exc)
    # As text, the next filter reads plain data: a structure handed from one template to the next
    # is wrapped by ansible-core 2.19 and templated again element by element (31,100 reservations
    # at 10,000 nodes: 1.9 s in dhcp_plan, against 0.1 s from the text; docs/performance.md).
    return json.dumps(result, sort_keys=True, separators=(",", ":")) if json_text else result


class FilterModule(object):
    def filters(self):
        return {"dhcp_reservations": dhcp_reservations}
