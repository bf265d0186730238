# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkManager keyfile profiles for a node's fabric interfaces.

One host's fabric_interfaces + fabric_networks in, one profile per interface
(and per P_Key child) out, each with its keyfile text. The inventory is checked
by fabric_inventory.validate(), the same code dhcp_server uses, so a profile can
only be built for an interface that also has a DHCP reservation.

Why the DHCP client-id is written explicitly: NetworkManager's internal DHCP
client (the default plugin since 1.20) sends, when ipv4.dhcp-client-id is
unset, nm_utils_dhcp_client_id_mac(ARPHRD_INFINIBAND, hwaddr): the type byte
0x20 followed by nm_utils_arp_type_get_hwaddr_relevant_part(), which for
InfiniBand is the last 8 bytes of the 20-byte IPoIB address, the port GUID.
That is the "htype32" form dhcp_server reserves. The dhclient plugin leaves
the choice to dhclient, whose behaviour differs between distributions, so the
profile states the form the reservation was made for and does not depend on
the plugin. Stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import uuid

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    CLIENT_ID_FORMS,
    IdentityError,
    PortGuid,
)
from ansible_collections.fabric.boot.plugins.module_utils.config_syntax import check_keyfile_value
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import (
    TRANSPORT_MODES,
    ModelError,
    int_rule,
    mtu_rule,
    pkey_rule,
    validate,
)

FABRIC_TYPES = ("infiniband", "omnipath")
IPV6_METHODS = ("auto", "link-local", "ignore", "disabled", "dhcp")
# IPoIB datagram mode carries one IB packet: the link MTU minus the 4-byte IPoIB header.
IPOIB_HEADER = 4
CONNECTED_MTU = 65520
# Namespace for uuid5: a fixed value, so the UUID of host+interface never changes between runs.
UUID_NAMESPACE = uuid.UUID("3c0c9b0e-6d2f-5a8e-9f4e-0fab41c0b007")
HEADER = ("# Managed by fabric.boot (role fabric_client) from the inventory;\n"
          "# local changes are overwritten on the next run.\n")
OPTION_KEYS = ("interface_types", "transport_mode", "link_mtu", "ipv4_method", "ipv6_method",
               "client_id_form", "match_port_guid", "autoconnect")
DEFAULT_OPTIONS = {
    "interface_types": list(FABRIC_TYPES),
    "transport_mode": "datagram",
    # IB link MTU per type; datagram IPoIB MTU = link MTU - 4 (2044 on 2K fabrics, 4092 on 4K).
    "link_mtu": {"infiniband": 2048, "omnipath": 4096},
    "ipv4_method": "auto",
    "ipv6_method": "auto",
    "client_id_form": "htype32",
    "match_port_guid": False,
    "autoconnect": True,
}
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*\Z")


class NmKeyfileError(ModelError):
    """Raised with every problem found, one per line."""

    HEADING = "fabric_client: %d problem(s), nothing was changed:"


def profile_uuid(host, ifname):
    """Stable connection UUID: reruns rewrite the same profile instead of adding one."""
    return str(uuid.uuid5(UUID_NAMESPACE, "%s/%s" % (host, ifname)))


def _bool(value, where, problems):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    problems.append("%s: %r is not a boolean" % (where, value))
    return False


def _int(value, where, low, high, problems):
    number, reason = int_rule(value, low, high)
    if reason:
        problems.append("%s: %r %s" % (where, value, reason))
    return number


def _options(options, problems):
    opts = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in OPTION_KEYS:
            problems.append("options: unknown key %r; known: %s" % (key, ", ".join(OPTION_KEYS)))
        elif value is not None:
            opts[key] = value
    link = dict(DEFAULT_OPTIONS["link_mtu"])
    link.update(opts["link_mtu"] or {})
    opts["link_mtu"] = link
    return opts


def _mtu(iface, net, mode, opts, where, problems):
    """Explicit interface mtu, else the network's mtu, else the default that fits the mode."""
    itype = iface["type"]
    for source, value in (("mtu", iface.get("mtu")), ("network mtu", (net or {}).get("mtu"))):
        if value in (None, ""):
            continue
        # The same rule validate_inventory applies before the boot servers are configured.
        mtu, reason = mtu_rule(value, itype, mode)
        if reason:
            problems.append("%s.%s: %r %s" % (where, source.replace(" ", "_"), value, reason))
        return mtu
    if mode == "connected":
        return CONNECTED_MTU
    link = _int(opts["link_mtu"].get(itype, 2048), "options.link_mtu.%s" % itype, 256, 10240, problems)
    return None if link is None else link - IPOIB_HEADER


def _ipv4(section, iface, net, dhcp, guid, opts, where, problems):
    """Fill [ipv4]: DHCP with the reserved client-id, or the inventory address with the network's prefix."""
    if dhcp:
        section["method"] = "auto"
        if iface["type"] in FABRIC_TYPES:
            form = iface.get("client_id_form", opts["client_id_form"])
            if form in (None, "", "none"):
                pass  # NetworkManager's own default (htype32 with the internal plugin)
            elif form not in CLIENT_ID_FORMS:
                problems.append("%s.client_id_form: %r is not one of %s" % (where, form, ", ".join(CLIENT_ID_FORMS)))
            elif form not in net["client_id_forms"]:
                problems.append("%s.client_id_form: %s is not reserved on network %s (client_id_forms: %s), "
                                "so the DHCP server would not recognise this client"
                                % (where, form, net["name"], ", ".join(net["client_id_forms"])))
            else:
                section["dhcp-client-id"] = guid.client_id(form)
        return
    if not iface.get("ipv4"):
        problems.append("%s: static IPv4 (dhcp: false) needs an ipv4 address" % where)
        return
    section["method"] = "manual"
    section["address1"] = "%s/%d" % (iface["ipv4"], net["prefix"])
    if net.get("gateway"):
        section["gateway"] = net["gateway"]
    if net.get("dns_servers"):
        section["dns"] = "".join("%s;" % d for d in net["dns_servers"])
    if net.get("domain_name"):
        section["dns-search"] = "%s;" % net["domain_name"]


def _merge(settings, overrides, where, problems):
    """Per-interface nm_settings: {section: {key: value}}; a null value removes the key."""
    if overrides in (None, {}):
        return
    if not isinstance(overrides, dict):
        problems.append("%s.nm_settings: must be a dictionary of section to {key: value}" % where)
        return
    for sec, keys in overrides.items():
        if not isinstance(sec, str) or not _KEY.match(sec) or not isinstance(keys, dict):
            problems.append("%s.nm_settings.%s: must be a section name with a dictionary of keys" % (where, sec))
            continue
        target = settings.setdefault(sec, {})
        for key, value in keys.items():
            if not isinstance(key, str) or not _KEY.match(key):
                problems.append("%s.nm_settings.%s: %r is not a keyfile key" % (where, sec, key))
            elif value is None:
                target.pop(key, None)
            else:
                target[key] = _text(value)


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if check_keyfile_value(text):
        raise NmKeyfileError(["a keyfile value cannot span lines or hold control characters: %r" % text])
    return text


def _profile(host, iface, net, opts, where, problems, parent=None):
    """Build one profile dict; parent is the base interface for a P_Key child."""
    before = len(problems)
    itype = iface["type"]
    mode = iface.get("transport_mode", opts["transport_mode"])
    if itype in FABRIC_TYPES and mode not in TRANSPORT_MODES:
        problems.append("%s.transport_mode: %r is not one of %s" % (where, mode, ", ".join(TRANSPORT_MODES)))
    dhcp = iface.get("dhcp")
    if dhcp is None:
        method = opts["ipv4_method"]
        if method not in ("auto", "manual"):
            problems.append("options.ipv4_method: %r is not auto or manual" % method)
        dhcp = method == "auto"
    else:
        dhcp = _bool(dhcp, where + ".dhcp", problems)
    ipv6 = iface.get("ipv6_method", opts["ipv6_method"])
    if ipv6 not in IPV6_METHODS:
        problems.append("%s.ipv6_method: %r is not one of %s" % (where, ipv6, ", ".join(IPV6_METHODS)))
    match = _bool(iface.get("match_port_guid", opts["match_port_guid"]), where + ".match_port_guid", problems)
    autoconnect = _bool(iface.get("autoconnect", opts["autoconnect"]), where + ".autoconnect", problems)
    guid = PortGuid.parse((parent or iface)["port_guid"]) if itype in FABRIC_TYPES else None
    name = iface["name"]
    settings = {"connection": {
        "id": name,
        "uuid": profile_uuid(host, name),
        "type": "infiniband" if itype in FABRIC_TYPES else "ethernet",
        "interface-name": name,
        "autoconnect": _text(autoconnect),
    }}
    if itype in FABRIC_TYPES:
        mtu = _mtu(iface, net, mode, opts, where, problems) if mode in TRANSPORT_MODES else None
        link = {"transport-mode": mode, "mtu": str(mtu)}
        if parent is not None:
            link["p-key"] = str(iface["pkey"])
            link["parent"] = parent["name"]
        elif match:
            # NetworkManager compares only the last 8 bytes (the GUID); the first 12 hold a QPN
            # the kernel picks at run time.
            link["mac-address"] = guid.ipoib_hwaddr()
        settings["infiniband"] = link
    else:
        eth = {}
        if match:
            eth["mac-address"] = iface["mac"]
        if iface.get("mtu") not in (None, ""):
            mtu, reason = mtu_rule(iface["mtu"], itype)
            if reason:
                problems.append("%s.mtu: %r %s" % (where, iface["mtu"], reason))
            eth["mtu"] = str(mtu)
        settings["ethernet"] = eth
    ipv4 = {}
    _ipv4(ipv4, iface, net, dhcp, guid, opts, where, problems)
    settings["ipv4"] = ipv4
    settings["ipv6"] = {"addr-gen-mode": "eui64", "method": ipv6}
    _merge(settings, iface.get("nm_settings"), where, problems)
    if len(problems) != before:
        return None
    return {
        "id": name,
        "uuid": settings["connection"]["uuid"],
        "file": "%s.nmconnection" % name,
        "interface": name,
        "type": itype,
        "device": parent["name"] if parent is not None else name,
        "parent": parent["name"] if parent is not None else None,
        "transport_mode": settings.get("infiniband", {}).get("transport-mode"),
        "mtu": int(settings.get("infiniband", settings.get("ethernet", {})).get("mtu") or 0) or None,
        "ipv4_method": ipv4.get("method"),
        "ipv4_address": ipv4.get("address1"),
        "dhcp_client_id": ipv4.get("dhcp-client-id"),
        "optional": bool(iface.get("optional", False)),
        "settings": settings,
        "content": render(settings),
    }


def _children(host, iface, nets, opts, where, problems):
    """P_Key child profiles declared on their parent as pkeys: [{pkey, ...}]."""
    result = []
    pkeys = iface.get("pkeys") or []
    if not isinstance(pkeys, list):
        problems.append("%s.pkeys: must be a list of {pkey, network, ipv4, ...}" % where)
        return result
    if pkeys and iface["type"] not in FABRIC_TYPES:
        problems.append("%s.pkeys: P_Keys exist only on infiniband and omnipath interfaces" % where)
        return result
    for index, child in enumerate(pkeys):
        cwhere = "%s.pkeys[%d]" % (where, index)
        if not isinstance(child, dict):
            problems.append("%s: must be a dictionary with pkey, network and optionally ipv4" % cwhere)
            continue
        pkey, reason = pkey_rule(child.get("pkey"))
        if reason:
            problems.append("%s.pkey: %r %s" % (cwhere, child.get("pkey"), reason))
            continue
        # NetworkManager requires the child's name to be <parent>.<4 hex digits>.
        name = "%s.%04x" % (iface["name"], pkey)
        if child.get("name") not in (None, name):
            problems.append("%s.name: %r must be %s (NetworkManager names P_Key children <parent>.<pkey>)"
                            % (cwhere, child.get("name"), name))
            continue
        if len(name) > 15:
            problems.append("%s: interface name %s is longer than 15 characters" % (cwhere, name))
            continue
        net = nets.get(child.get("network"))
        if net is None:
            problems.append("%s.network: %r is not a network in fabric_networks" % (cwhere, child.get("network")))
            continue
        entry = dict(child, name=name, type=iface["type"], pkey="0x%04x" % pkey)
        entry.pop("pkeys", None)
        if entry.get("ipv4") not in (None, ""):
            try:
                addr = ipaddress.IPv4Address(str(entry["ipv4"]).strip())
            except ValueError:
                problems.append("%s.ipv4: %r is not an IPv4 address" % (cwhere, entry["ipv4"]))
                continue
            if addr not in ipaddress.IPv4Network(net["subnet"]):
                problems.append("%s.ipv4: %s is outside subnet %s" % (cwhere, addr, net["subnet"]))
                continue
            entry["ipv4"] = str(addr)
        profile = _profile(host, entry, net, opts, cwhere, problems, parent=iface)
        if profile is not None:
            result.append(profile)
    return result


def build_profiles(host, interfaces, networks, options=None):
    """Return the list of profiles for one host, or raise NmKeyfileError listing every problem."""
    problems = []
    opts = _options(options, problems)
    model, inventory_problems = validate({host: {"interfaces": interfaces}}, networks)
    problems.extend(inventory_problems)
    types = opts["interface_types"]
    if not isinstance(types, list) or [t for t in types if t not in FABRIC_TYPES + ("ethernet",)]:
        problems.append("options.interface_types: %r must be a list from infiniband, omnipath, ethernet" % (types,))
        types = []
    if problems:
        raise NmKeyfileError(problems)
    nets = model["networks"]
    profiles = []
    for iface in model["nodes"].get(host, []):
        if iface["type"] not in types:
            continue
        where = "%s: %s" % (host, iface["name"])
        net = nets[iface["network"]]
        profile = _profile(host, iface, net, opts, where, problems)
        if profile is not None:
            profiles.append(profile)
        profiles.extend(_children(host, iface, nets, opts, where, problems))
    if problems:
        raise NmKeyfileError(problems)
    return profiles


# Sections in the order NetworkManager writes them; others follow alphabetically.
_ORDER = ("connection", "infiniband", "ethernet", "ipv4", "ipv6")


def render(settings):
    """Keyfile text (nm-settings-keyfile(5)): [section] then key=value, keys sorted like NetworkManager."""
    out = [HEADER]
    sections = [s for s in _ORDER if s in settings] + sorted(s for s in settings if s not in _ORDER)
    for sec in sections:
        keys = settings[sec]
        out.append("\n[%s]\n" % sec)
        ordered = list(keys) if sec == "connection" else sorted(keys)
        for key in ordered:
            out.append("%s=%s\n" % (key, _text(keys[key])))
    return "".join(out)


def driver_modules(driver_sets, catalogue):
    """Union of the modules of the named driver sets, in first-seen order."""
    problems = []
    result = []
    for name in driver_sets or []:
        if name not in catalogue:
            problems.append("driver set %r is unknown; known: %s" % (name, ", ".join(sorted(catalogue))))
            continue
        for module in catalogue[name]:
            if module not in result:
                result.append(module)
    if problems:
        raise NmKeyfileError(problems)
    return result


__all__ = ["build_profiles", "render", "profile_uuid", "driver_modules", "NmKeyfileError", "IdentityError"]
