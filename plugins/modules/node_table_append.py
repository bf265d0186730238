#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_table_append
version_added: 0.2.0
author: fabric.boot contributors (@fabric-boot)
short_description: Append discovered ports to the node table CSV, with generated host names and free addresses
description:
  - Adds one row per chosen port at the end of a C(fabric.boot.node_table) CSV. Existing rows are never
    rewritten; a port whose GUID or MAC is already in the table or the inventory is skipped.
  - Ports come from the RV(fabric.boot.boot_status#module:unknown) clients of C(fabric.boot.boot_status)
    (DHCP clients not in the inventory) or from C(fabric.boot.fabric_facts) of live nodes.
  - A new port gets the next host name C(<name_prefix><number>) after the highest one of the table and the
    inventory, and the first free address of O(network) that is not the boot server, the gateway, in the
    dynamic range or used by any row or inventoried interface.
  - Meant to run on the controller, delegated to localhost. playbooks/discover.yml runs it in check mode
    first, checks the result with C(fabric.boot.validate_inventory), and only then writes.
options:
  table:
    description: The node table CSV. Created with a header when it does not exist.
    type: path
    required: true
  unknown:
    description:
      - RV(fabric.boot.boot_status#module:unknown) of C(fabric.boot.boot_status). A client that is an inventoried port
        asking under another form is skipped (its fix is the network's C(client_id_forms)), as is a 6-byte
        mac48 whose GUID was also seen.
    type: list
    elements: dict
    default: []
  facts:
    description: Host name to the result of C(fabric.boot.fabric_facts) on that live node; its IPoIB interfaces are added under that host name.
    type: dict
    default: {}
  network:
    description: The network (a C(fabric_networks) name) the new rows go on and whose free addresses they get.
    type: str
    required: true
  networks:
    description: The normalised networks, RV(fabric.boot.validate_inventory#module:fabric_networks).
    type: dict
    required: true
  nodes:
    description: The normalised nodes, RV(fabric.boot.validate_inventory#module:fabric_nodes), whose names, identities and addresses are taken.
    type: dict
    default: {}
  match:
    description: Only ports whose wire form, GUID, MAC or host name matches this shell pattern.
    type: str
  count:
    description: At most this many ports (after O(match)), in the order they were first seen.
    type: int
  name_prefix:
    description: Host names are this prefix and a number.
    type: str
    default: node
  name_digits:
    description: Digits of the number (zero-padded).
    type: int
    default: 3
  interface:
    description: Interface name of the new rows. Default C(ib0) for InfiniBand, C(eth0) for Ethernet; facts keep the netdev name.
    type: str
  groups:
    description: Value of the C(groups) column of the new rows.
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Computes and returns the rows and the lines it would append; writes nothing.
  diff_mode:
    support: full
    description: The appended lines.
  platform:
    support: full
    platforms: posix
    description: The controller (delegated to localhost), where the node table lives.
"""

EXAMPLES = r"""
- name: Add the first two unknown InfiniBand ports seen by the boot server
  fabric.boot.node_table_append:
    table: inventory/nodes.csv
    unknown: "{{ hostvars['boot1']['fabric_status']['unknown'] }}"
    match: "00:02:c9:*"
    count: 2
    network: fabric0
    networks: "{{ fabric_model.fabric_networks }}"
    nodes: "{{ fabric_model.fabric_nodes }}"
  delegate_to: localhost
"""

RETURN = r"""
rows:
  description: The rows appended (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {host: node005, groups: "", interface: ib0, type: infiniband, port_guid: "00:02:c9:03:00:aa:bb:cc", mac: "",
       ipv4: 192.168.100.3, network: fabric0}
skipped:
  description: Candidates not added, each with the reason.
  returned: always
  type: list
  elements: dict
new_nodes:
  description: Host name to the interfaces the node_table inventory plugin will read from the new rows (to validate them).
  returned: always
  type: dict
appended:
  description: The text added at the end of the table.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fabric.boot.plugins.module_utils import node_table_append as nta


def main():
    module = AnsibleModule(
        argument_spec=dict(
            table=dict(type="path", required=True),
            unknown=dict(type="list", elements="dict", default=[]),
            facts=dict(type="dict", default={}),
            network=dict(type="str", required=True),
            networks=dict(type="dict", required=True),
            nodes=dict(type="dict", default={}),
            match=dict(type="str"),
            count=dict(type="int"),
            name_prefix=dict(type="str", default="node"),
            name_digits=dict(type="int", default=3),
            interface=dict(type="str"),
            groups=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["count"] is not None and p["count"] < 1:
        module.fail_json(msg="count: must be 1 or more, got %d" % p["count"])
    candidates = nta.candidates_from_unknown(p["unknown"])
    for host in sorted(p["facts"]):
        candidates.extend(nta.candidates_from_facts(host, p["facts"][host], p["network"]))
    try:
        columns, rows = nta.read_table(p["table"])
        new, skipped = nta.plan(rows, candidates, p["networks"], p["network"], p["nodes"], p["name_prefix"],
                                p["name_digits"], p["interface"], p["match"], p["count"], p["groups"])
        text = nta.render(columns or nta.DEFAULT_COLUMNS, new)
        if new and not module.check_mode:
            text = nta.append(p["table"], columns, new)
    except (nta.PlanError, IOError, OSError) as exc:
        module.fail_json(msg="%s: %s" % (p["table"], exc))
    result = dict(changed=bool(new), rows=new, skipped=skipped, new_nodes=nta.interfaces_of(new), appended=text)
    if module._diff:
        result["diff"] = {"before": "", "after": text, "before_header": p["table"], "after_header": p["table"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
