# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP intent: what the boot server must answer, independent of the daemon.

build() runs once per play on the validated networks and the reservations
(fabric_inventory.reservations(), which derives every client-id from the stored
GUID), resolves the boot-file policy (architecture, HTTP boot, Secure Boot per
network and per port) and returns plain data every renderer reads. No renderer
derives an identity or a policy of its own. Linear in the number of reservations.
Stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BOOT_FILE_KEYS = ("bios", "efi_x64", "efi_x64_secure_boot", "efi_arm64", "http_x64")
BACKENDS = ("isc", "kea", "dnsmasq")
FABRIC_TYPES = ("infiniband", "omnipath")
# The form every installed OS sends (NetworkManager, dhclient, RFC 4390 firmware, NVIDIA UEFI):
# backends that cannot give one address to several client-ids give it this one (docs/roles/dhcp_server.md).
OS_FORM = "htype32"

SETTING_DEFAULTS = {
    "header": "Ansible managed",
    "boot_files": None,
    "secure_boot": False,
    "http_boot": True,
    "http_boot_alias": "/boot",
    "default_lease_time": 3600,
    "max_lease_time": 7200,
    "authoritative": True,
    "deny_unknown_clients": False,
    "send_host_name": True,
    "global_snippet": "",
    "subnet_snippets": {},
    "include_files": [],
}


class IntentError(ValueError):
    """A setting or reservation the intent cannot be built from; the message names it."""


def _bool(value, what):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    if isinstance(value, int):
        return bool(value)
    raise IntentError("%s must be true or false, got %r" % (what, value))


def _settings(settings):
    out = dict(SETTING_DEFAULTS)
    unknown = sorted(set(settings or {}) - set(SETTING_DEFAULTS))
    if unknown:
        raise IntentError("unknown setting(s) %s; known: %s" % (", ".join(unknown), ", ".join(sorted(SETTING_DEFAULTS))))
    out.update(settings or {})
    files = out["boot_files"] or {}
    missing = [k for k in BOOT_FILE_KEYS if not files.get(k)]
    if missing:
        raise IntentError("dhcp_server_boot_files: missing key(s) %s; give all of %s"
                          % (", ".join(missing), ", ".join(BOOT_FILE_KEYS)))
    for key in ("secure_boot", "http_boot", "authoritative", "deny_unknown_clients", "send_host_name"):
        out[key] = _bool(out[key], "dhcp_server_" + key)
    for key in ("default_lease_time", "max_lease_time"):
        try:
            out[key] = int(out[key])
        except (TypeError, ValueError):
            raise IntentError("dhcp_server_%s must be a number of seconds, got %r" % (key, out[key]))
    return out


def _efi_x64(files, secure_boot):
    return files["efi_x64_secure_boot"] if secure_boot else files["efi_x64"]


def build(networks, reservations, settings=None):
    """Return the intent: {"settings": {...}, "subnets": [...]} with subnets sorted by name.

    networks: the normalised networks of fabric.boot.validate_inventory (fabric_networks output).
    reservations: {network: [reservation, ...]} as fabric.boot.dhcp_reservations returns them.
    """
    cfg = _settings(settings)
    files = cfg["boot_files"]
    stray = sorted(set(reservations or {}) - set(networks))
    if stray:
        raise IntentError("reservations name networks that are not served: %s" % ", ".join(stray))
    subnets = []
    for name in sorted(networks):
        net = networks[name]
        secure_boot = cfg["secure_boot"] if net.get("secure_boot") is None else bool(net["secure_boot"])
        deny_unknown = net.get("deny_unknown_clients")
        if deny_unknown is None:
            deny_unknown = cfg["deny_unknown_clients"]
        elif not isinstance(deny_unknown, bool):
            # Strict like validate_inventory: a quoted "no" is a typo, not a choice.
            raise IntentError("fabric_networks.%s.deny_unknown_clients must be true or false, got %r"
                              % (name, deny_unknown))
        boot = {
            "bios": files["bios"],
            "efi_x64": _efi_x64(files, secure_boot),
            "efi_arm64": files["efi_arm64"],
            "http_x64": ("http://%s%s/%s" % (net["boot_server"], cfg["http_boot_alias"], files["http_x64"])
                         if cfg["http_boot"] else None),
        }
        hosts = []
        for r in (reservations or {}).get(name) or []:
            port_sb = r.get("secure_boot")
            override = None
            if port_sb is not None and bool(port_sb) != secure_boot:
                override = _efi_x64(files, bool(port_sb))
            host = {
                "name": r["name"],
                "host": r["host"],
                "interface": r.get("interface"),
                "type": r["type"],
                "form": r.get("form"),
                "ipv4": r["ipv4"],
                "efi_x64": override,
                "secure_boot": None if override is None else bool(port_sb),
                "host_name": r["host"] if cfg["send_host_name"] else None,
            }
            if r["type"] == "ethernet":
                host["mac"] = r["mac"]
            else:
                host["client_id"] = r["client_id"]
                host["port_guid"] = r.get("port_guid")
            hosts.append(host)
        subnets.append({
            "name": name,
            "subnet": net["subnet"],
            "network_address": net["network_address"],
            "netmask": net["netmask"],
            "broadcast": net["broadcast"],
            "boot_server": net["boot_server"],
            "gateway": net.get("gateway"),
            "dns_servers": list(net.get("dns_servers") or []),
            "domain_name": net.get("domain_name"),
            "mtu": net.get("mtu"),
            "dynamic_range": net.get("dynamic_range"),
            "secure_boot": secure_boot,
            # Only reserved clients get an address on this network (the network's value, else the server's).
            "deny_unknown_clients": deny_unknown,
            "relay": net.get("relay"),
            "fabric": any(h["type"] in FABRIC_TYPES for h in hosts),
            "boot": boot,
            "hosts": hosts,
        })
    return {"settings": cfg, "subnets": subnets}
