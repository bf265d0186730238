#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: validate_inventory
version_added: 0.1.0
author: fabric.boot contributors (@fabric-boot)
short_description: Check the whole fabric inventory once, before anything changes
description:
  - Reads C(fabric_networks), C(fabric_boot_images) and every host's C(fabric_interfaces) and
    C(fabric_boot_image) on the controller, and checks them in one pass.
  - Rejects malformed port GUIDs and MACs (with the accepted notations), an Ethernet MAC where a
    GUID is required and the reverse, duplicate GUIDs, MACs, IPv4 addresses and host names
    (case-insensitive), addresses outside their network, on its network or broadcast address, on the
    boot server or gateway, or inside the dynamic range, unknown networks and images, and malformed
    network definitions.
  - Rejects what a role would trip over later (see docs/inventory.md, section Rules), such as overlapping subnets,
    image paths that leave the TFTP or netinstall root, strings that would be read as syntax in
    dhcpd.conf, pxelinux or GRUB menus and kernel command lines, client-side MTUs and P_Keys
    fabric_client would refuse, DHCP host names that collide after normalisation, and ISO names
    that are not plain directory names.
  - Fails with one message that names every offending host and field. It changes nothing, so a bad
    inventory stops the play before any configuration is written.
  - Returns the normalised nodes (canonical GUIDs and MACs) that the roles consume, so each fact is
    parsed once.
  - This is an action plugin; it runs on the controller and never connects to a host. Use C(run_once).
options:
  hosts:
    description:
      - Inventory host names to check. Hosts without C(fabric_interfaces) are not nodes and are skipped.
      - Defaults to every host of the inventory (C(groups['all'])).
    type: list
    elements: str
  networks:
    description: The networks; defaults to the C(fabric_networks) variable.
    type: dict
  boot_images:
    description:
      - The boot images; defaults to the C(fabric_boot_images) variable.
      - When set, a host's C(fabric_boot_image) must name one of them.
    type: dict
  isos:
    description:
      - The netinstall ISOs; defaults to the C(http_server_isos) variable (if visible to the task).
      - Each C(name) must be a plain directory name.
    type: list
    elements: raw
  interfaces_var:
    description: Name of the host variable that holds the interfaces.
    type: str
    default: fabric_interfaces
  boot_image_var:
    description: Name of the host variable that names a node's boot image.
    type: str
    default: fabric_boot_image
  json_text:
    description:
      - Return C(fabric_nodes) as one compact JSON string instead of a dictionary.
      - ansible-core templates a registered structure again, element by element, wherever a later
        task uses it (about 2 s per use of 10,000 nodes); a string it hands on as it is. The
        collection's roles and filters (C(fabric_nodes), C(boot_loader_nodes),
        C(fabric.boot.dhcp_reservations), C(fabric.boot.boot_menu_set)) take either form.
      - C(playbooks/site.yml) sets it.
    type: bool
    default: false
    version_added: 0.2.0
attributes:
  check_mode:
    support: full
    description: Nothing is ever changed; the check runs the same way in check mode.
  diff_mode:
    support: none
    description: There is nothing to compare; the inventory is only read.
  platform:
    support: full
    platforms: all
    description: Runs on the controller; the managed hosts are never contacted.
seealso:
  - name: The inventory model
    description: docs/inventory.md in the collection.
    link: https://example.invalid/fabric/boot/docs/inventory.md
notes:
  - The schema is described in docs/inventory.md.
"""

EXAMPLES = r"""
- name: Refuse a bad inventory before anything is configured
  fabric.boot.validate_inventory:
  run_once: true
  register: fabric_model

- name: Hand the nodes of a large site to later plays as one string (site.yml does)
  fabric.boot.validate_inventory:
    json_text: true
  run_once: true
  register: fabric_model

- name: Check only the compute nodes against an explicit network table
  fabric.boot.validate_inventory:
    hosts: "{{ groups['compute'] }}"
    networks: "{{ my_networks }}"
  run_once: true
"""

RETURN = r"""
fabric_nodes:
  description:
    - Host name to its normalised interfaces (canonical C(port_guid) or C(mac), C(ipv4), C(prefix), C(boot_image)).
    - With O(json_text), the same as one JSON string.
  returned: success
  type: raw
  sample:
    node001:
      - name: ib0
        type: infiniband
        port_guid: "00:02:c9:03:00:0c:78:11"
        ipv4: 192.168.100.11
        prefix: 24
        network: fabric0
        boot_image: rhel95
fabric_networks:
  description: The networks, normalised (netmask, broadcast, prefix, client_id_forms filled in).
  returned: success
  type: dict
node_count:
  description: Number of hosts that carry interfaces.
  returned: success
  type: int
interface_count:
  description: Number of interfaces checked.
  returned: success
  type: int
problems:
  description: Every problem found, one per entry, each naming the host and the field.
  returned: failure
  type: list
  elements: str
  sample:
    - "node007: fabric_interfaces[0] (ib0).port_guid '52:54:00:12:34:56' is 6 bytes, an Ethernet MAC, not a port GUID"
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    # Only reached when the action plugin is bypassed (e.g. run with a raw module path).
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type="list", elements="str"),
            networks=dict(type="dict"),
            boot_images=dict(type="dict"),
            isos=dict(type="list", elements="raw"),
            interfaces_var=dict(type="str", default="fabric_interfaces"),
            boot_image_var=dict(type="str", default="fabric_boot_image"),
            json_text=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="fabric.boot.validate_inventory runs on the controller as an action plugin")


if __name__ == "__main__":
    main()
