# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which reservation of a fabric port carries the port's address, for daemons that lease.

ISC dhcpd gives fixed addresses without a lease, so every client-id form of a port can carry
the same address. Kea and dnsmasq lease reserved addresses too: Kea gives the address to the
first form that asks and refuses it to the next as a conflict (measured with Kea 2.2: 22 of
37 wire cases wrong), dnsmasq refuses the configuration ("duplicate dhcp-host IP address").
So for them one form per port, the one the installed OS sends (htype32), keeps the port's
address; the boot-stage forms (FlexBoot, iPXE) stay reserved (known, with the port's boot
policy and host name) but lease from the network's dynamic range, the boot pool.
docs/roles/dhcp_server.md "Reservations on Kea and dnsmasq" has the trade-off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import FABRIC_TYPES, OS_FORM, IntentError


def address_holders(subnet, backend):
    """Return the set of host-block names that carry their ipv4; raise when a boot pool is needed but absent."""
    ports = {}
    for h in subnet["hosts"]:
        if h["type"] in FABRIC_TYPES:
            ports.setdefault((h["host"], h["interface"]), []).append(h)
    holders = set(h["name"] for h in subnet["hosts"] if h["type"] not in FABRIC_TYPES)
    pool_needed = []
    for key in sorted(ports):
        forms = ports[key]
        chosen = next((h for h in forms if h["form"] == OS_FORM), forms[0])
        holders.add(chosen["name"])
        if len(forms) > 1:
            pool_needed.append("%s:%s" % key)
    if pool_needed and not subnet["dynamic_range"]:
        raise IntentError(
            "network %s: %s gives one address to one client-id per port, and the other forms of %s "
            "(boot stages) lease from the network's dynamic_range, which this network has none of; "
            "add a dynamic_range (the boot pool) or reduce client_id_forms (docs/roles/dhcp_server.md)"
            % (subnet["name"], backend, ", ".join(pool_needed[:5]) + (" ..." if len(pool_needed) > 5 else "")))
    return holders
