# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which DHCP daemon serves the intent on a platform: dhcp_server_backend auto | isc | kea | dnsmasq.

Which daemon each release ships, and from where, is the per-release table in
docs/roles/dhcp_server.md (sources listed there). Stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import kea, strategy
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import BACKENDS, IntentError

CHOICES = ("auto",) + BACKENDS


def ships_isc(os_family, major_version):
    """ISC dhcpd is packaged: Debian (isc-dhcp-server), EL up to 9 (dhcp-server); EL 10 dropped it."""
    if os_family == "Debian":
        return True
    if os_family == "RedHat":
        try:
            return int(str(major_version).split(".", maxsplit=1)[0]) < 10
        except ValueError:
            raise IntentError("dhcp_server_backend auto needs the RedHat release (EL 10 ships no ISC dhcpd), got "
                              "dhcp_server_os_version %r: gather facts, or set dhcp_server_os_version or "
                              "dhcp_server_backend" % (major_version,))
    return False


def direct_fabric_networks(intent):
    """Served networks with InfiniBand/Omni-Path ports and no relay: Kea cannot serve them."""
    return [s["name"] for s in intent["subnets"] if s["fabric"] and not s.get("relay")]


def preflight(backend, intent):
    """Raise now, before anything is installed, what rendering for backend would refuse later."""
    if backend == "isc":
        return
    kea.refuse_isc_only(intent["settings"])
    for subnet in intent["subnets"]:
        if backend == "kea":
            kea.check_servable(subnet)
        strategy.address_holders(subnet, "Kea" if backend == "kea" else "dnsmasq")


def choose(requested, os_family, major_version, intent):
    backend, reason = _choose(requested, os_family, major_version, intent)
    preflight(backend, intent)
    return backend, reason


def _choose(requested, os_family, major_version, intent):
    """Return (backend, reason): the daemon for this server and a sentence saying why.

    os_family and major_version are the facts os_family and distribution_major_version."""
    if requested not in CHOICES:
        raise IntentError("dhcp_server_backend: %r is not one of %s" % (requested, ", ".join(CHOICES)))
    platform = " ".join(str(p) for p in (os_family, major_version) if p)
    if requested != "auto":
        return requested, "dhcp_server_backend is %s" % requested
    if ships_isc(os_family, major_version):
        return "isc", "auto: %s ships ISC dhcpd" % platform
    direct = direct_fabric_networks(intent)
    if direct:
        return "dnsmasq", ("auto: %s ships no ISC dhcpd, and network(s) %s have InfiniBand/Omni-Path ports without "
                           "a relay, which Kea cannot serve" % (platform, ", ".join(direct)))
    return "kea", "auto: %s ships no ISC dhcpd; every served network is Ethernet or relayed" % platform
