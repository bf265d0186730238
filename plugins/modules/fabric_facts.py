#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: fabric_facts
version_added: 0.2.0
author: fabric.boot contributors (@fabric-boot)
short_description: Port GUIDs, link state and IPoIB settings of a live node, from sysfs
description:
  - Reads C(/sys/class/infiniband/*) (node GUID, and per port the link layer, state, physical state, rate,
    LID, GID 0 and the port GUID it carries) and C(/sys/class/net/*) (link type, address, MTU, operational
    state, and for IPoIB the transport mode, the P_Key and the port GUID its 20-byte address ends in).
  - Ties each IPoIB interface to its device and port by that GUID, and a RoCE port to its netdev by
    C(gid_attrs/ndevs/0).
  - Sets the facts C(fabric_infiniband) and C(fabric_net). With C(fabric.boot.node_table_append) (option
    C(facts)) the ports of nodes that are already up become node table rows, the usual first step of moving
    an existing cluster to fabric boot.
  - Only reads sysfs.
options:
  sysfs_root:
    description: Where sysfs is mounted (a copy of a node's tree for tests).
    type: path
    default: /sys
attributes:
  check_mode:
    support: full
    description: Only reads; the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  facts:
    support: full
    description: Sets fabric_infiniband and fabric_net.
  platform:
    support: full
    platforms: posix
    description: Linux (sysfs).
notes:
  - IPv4 addresses are not in sysfs; C(ansible_facts) has them.
"""

EXAMPLES = r"""
- name: Read the fabric ports of the running nodes
  fabric.boot.fabric_facts:

- name: Show each IPoIB interface's GUID
  ansible.builtin.debug:
    msg: "{{ item.key }}: {{ item.value.port_guid }} {{ item.value.mode }} mtu {{ item.value.mtu }}"
  loop: "{{ fabric_net | dict2items | selectattr('value.link_type', 'eq', 'infiniband') }}"
"""

RETURN = r"""
ansible_facts:
  description: The facts set.
  returned: always
  type: dict
  contains:
    fabric_infiniband:
      description: RDMA device name to node_guid, node_type, fw_ver and ports (number to link_layer, state,
        phys_state, rate, lid, gid0, port_guid, netdev).
      type: dict
      sample:
        mlx5_0:
          node_guid: "00:02:c9:03:00:0c:78:10"
          ports:
            "1": {link_layer: InfiniBand, state: ACTIVE, phys_state: LinkUp, rate: "100 Gb/sec (4X EDR)",
                  lid: 5, gid0: "fe80:0000:0000:0000:0002:c903:000c:7811", port_guid: "00:02:c9:03:00:0c:78:11"}
    fabric_net:
      description: Interface name to link_type (infiniband, ether), address, mtu, operstate, mode, pkey,
        port_guid, ib_device, ib_port.
      type: dict
      sample:
        ib0: {link_type: infiniband, mode: datagram, mtu: 2044, port_guid: "00:02:c9:03:00:0c:78:11",
              ib_device: mlx5_0, ib_port: 1}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fabric.boot.plugins.module_utils import fabric_sysfs


def main():
    module = AnsibleModule(argument_spec=dict(sysfs_root=dict(type="path", default="/sys")),
                           supports_check_mode=True)
    found = fabric_sysfs.facts(module.params["sysfs_root"])
    module.exit_json(changed=False, ansible_facts={"fabric_infiniband": found["infiniband"],
                                                   "fabric_net": found["net"]})


if __name__ == "__main__":
    main()
