# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kea-dhcp4.conf from the DHCP intent, built as a Python structure and dumped as JSON.

Boot files: Kea's classes are global, but the file depends on the network (Secure Boot, the
HTTP URL), so each network has its own only-if-required classes, evaluated after subnet
selection (require-client-classes). Kea sets the BOOTP fields from the subnet, then from the
client's classes (the first class that has a value wins), then from its reservation
(Dhcpv4Srv::setFixedFields), which is why a port's own Secure Boot choice is a class of its
own, listed first, and not a boot-file-name in its reservation (that would apply to BIOS and
ARM64 too). Stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import FABRIC_TYPES, IntentError
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.strategy import address_holders

PXE = "substring(option[60].hex,0,9) == 'PXEClient'"
HTTP = "substring(option[60].hex,0,10) == 'HTTPClient'"
X64 = "(option[93].hex == 0x0007 or option[93].hex == 0x0009)"
ARM64 = "option[93].hex == 0x000b"
BIOS = "(not option[93].exists or option[93].hex == 0x0000)"
HTTP_X64 = "option[93].hex == 0x0010"
# Assigned by reservations of ports whose Secure Boot choice differs from their network's.
PORT_SB = "fabric-port-secure-boot"
PORT_PLAIN = "fabric-port-plain-uefi"


def refuse_isc_only(cfg):
    used = [k for k in ("global_snippet", "subnet_snippets", "include_files") if cfg.get(k)]
    if used:
        raise IntentError("%s hold ISC dhcpd syntax and are not written for this backend; remove them or use "
                          "dhcp_server_backend: isc" % ", ".join("dhcp_server_" + k for k in used))


def check_servable(subnet):
    """Kea's raw sockets have no IPoIB framing: a fabric network must be reached through a relay."""
    if subnet["fabric"] and not subnet.get("relay"):
        raise IntentError(
            "network %s has InfiniBand/Omni-Path ports but no relay: Kea cannot receive or answer DHCP on a "
            "directly attached IPoIB interface (its packet filter has no IPoIB framing). Set "
            "fabric_networks.%s.relay (the relay agent's address, giaddr) if a relay forwards this network, "
            "or serve it with dhcp_server_backend: isc (EL) or dnsmasq" % (subnet["name"], subnet["name"]))


def _classes(intent):
    cfg = intent["settings"]
    files = cfg["boot_files"]
    classes = [
        {"name": PORT_SB},
        {"name": PORT_PLAIN},
        {"name": "fabric-efi64-port-sb", "only-if-required": True,
         "test": "%s and %s and member('%s')" % (PXE, X64, PORT_SB), "boot-file-name": files["efi_x64_secure_boot"]},
        {"name": "fabric-efi64-port-plain", "only-if-required": True,
         "test": "%s and %s and member('%s')" % (PXE, X64, PORT_PLAIN), "boot-file-name": files["efi_x64"]},
    ]
    for s in intent["subnets"]:
        n = s["name"]
        boot = s["boot"]
        if boot["http_x64"] is not None:
            classes.append({"name": "fabric-%s-httpclient" % n, "only-if-required": True, "test": HTTP,
                            # The firmware takes the offer only if it echoes the vendor class.
                            "option-data": [{"name": "vendor-class-identifier", "data": "HTTPClient",
                                             "always-send": True}]})
            classes.append({"name": "fabric-%s-http-x64" % n, "only-if-required": True,
                            "test": "%s and %s" % (HTTP, HTTP_X64), "boot-file-name": boot["http_x64"]})
        classes.append({"name": "fabric-%s-efi64" % n, "only-if-required": True,
                        "test": "%s and %s" % (PXE, X64), "boot-file-name": boot["efi_x64"]})
        classes.append({"name": "fabric-%s-arm64" % n, "only-if-required": True,
                        "test": "%s and %s" % (PXE, ARM64), "boot-file-name": boot["efi_arm64"]})
        classes.append({"name": "fabric-%s-bios" % n, "only-if-required": True,
                        "test": "%s and %s" % (PXE, BIOS), "boot-file-name": boot["bios"]})
    return classes


def _reservation(h, holders):
    r = {"client-id": h["client_id"]} if h["type"] in FABRIC_TYPES else {"hw-address": h["mac"]}
    if h["name"] in holders:
        r["ip-address"] = h["ipv4"]
    if h["host_name"] is not None:
        r["hostname"] = h["host_name"]
    if h["efi_x64"] is not None:
        r["client-classes"] = [PORT_SB if h["secure_boot"] else PORT_PLAIN]
    return r


def _subnet(index, s, cfg):
    check_servable(s)
    holders = address_holders(s, "Kea")
    options = [{"name": "subnet-mask", "data": s["netmask"]},
               {"name": "broadcast-address", "data": s["broadcast"]}]
    if s["gateway"]:
        options.append({"name": "routers", "data": s["gateway"]})
    if s["dns_servers"]:
        options.append({"name": "domain-name-servers", "data": ", ".join(s["dns_servers"])})
    if s["domain_name"]:
        options.append({"name": "domain-name", "data": s["domain_name"]})
    if s["mtu"]:
        options.append({"name": "interface-mtu", "data": str(int(s["mtu"]))})
    n = s["name"]
    required = ["fabric-efi64-port-sb", "fabric-efi64-port-plain"]
    if s["boot"]["http_x64"] is not None:
        required += ["fabric-%s-httpclient" % n, "fabric-%s-http-x64" % n]
    required += ["fabric-%s-efi64" % n, "fabric-%s-arm64" % n, "fabric-%s-bios" % n]
    out = {
        "id": index,
        "subnet": s["subnet"],
        "user-context": {"fabric-network": n},
        "next-server": s["boot_server"],
        "option-data": options,
        "require-client-classes": required,
        "reservations": [_reservation(h, holders) for h in s["hosts"]],
    }
    if s["dynamic_range"]:
        pool = {"pool": "%s - %s" % tuple(s["dynamic_range"])}
        if s.get("deny_unknown_clients", cfg["deny_unknown_clients"]):
            # KNOWN: Kea's built-in class of clients with a host reservation; the pool serves only them.
            pool["client-class"] = "KNOWN"
        out["pools"] = [pool]
    if s.get("relay"):
        out["relay"] = {"ip-addresses": [s["relay"]]}
    return out


def config(intent, interfaces=None, lease_file=None):
    """The kea-dhcp4.conf structure."""
    cfg = intent["settings"]
    refuse_isc_only(cfg)
    lease_db = {"type": "memfile", "persist": True, "lfc-interval": 3600}
    if lease_file:
        lease_db["name"] = lease_file
    dhcp4 = {
        "comment": "%s. Generated by fabric.boot.dhcp_server from the fabric inventory; the next run replaces it."
                   % cfg["header"],
        # raw sockets: clients without an address yet, broadcast replies (the kernel's UDP cannot).
        "interfaces-config": {"interfaces": list(interfaces or ["*"]), "dhcp-socket-type": "raw"},
        "lease-database": lease_db,
        "valid-lifetime": cfg["default_lease_time"],
        "max-valid-lifetime": cfg["max_lease_time"],
        "authoritative": cfg["authoritative"],
        # Ethernet ports are reserved by MAC, fabric ports by client-id (one per form).
        "host-reservation-identifiers": ["hw-address", "client-id"],
        "client-classes": _classes(intent),
        "subnet4": [_subnet(i + 1, s, cfg) for i, s in enumerate(intent["subnets"])],
        "loggers": [{"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": "stdout"}]}],
    }
    return {"Dhcp4": dhcp4}


def render(intent, interfaces=None, lease_file=None):
    return json.dumps(config(intent, interfaces, lease_file), indent=2, sort_keys=False) + "\n"
