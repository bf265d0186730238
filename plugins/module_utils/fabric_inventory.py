# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory model: networks described once, interfaces carried by hosts.

validate() checks everything in one pass and returns every problem at once, so
an admin fixing a 10,000-node inventory sees the whole list, not one error per
run. reservations() is the host x network join the DHCP role renders.
Stdlib only. The schema is documented in docs/inventory.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    DEFAULT_CLIENT_ID_FORMS,
    IdentityError,
    PortGuid,
    check_forms,
    parse_mac,
)

INTERFACE_TYPES = ("infiniband", "omnipath", "ethernet")
FABRIC_TYPES = ("infiniband", "omnipath")
# Linux IFNAMSIZ is 16 including the terminating NUL.
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_RESERVATION_NAME = re.compile(r"[^A-Za-z0-9_-]")
NETWORK_KEYS = ("subnet", "boot_server", "gateway", "dns_servers", "domain_name", "dynamic_range",
                "client_id_forms", "boot_image", "mtu", "description", "secure_boot", "boot_fetch")
# Optional boot-path overrides of a network or one interface (docs/inventory.md "Boot paths"):
# None means "the server-wide default" (fabric_secure_boot / boot_loader_fetch).
BOOT_FETCH_VALUES = ("tftp", "http")


def _boot_path_keys(data, where, problems):
    """secure_boot (true/false) and boot_fetch (tftp/http) of a network or interface, or None."""
    secure_boot = data.get("secure_boot")
    if secure_boot is not None and not isinstance(secure_boot, bool):
        problems.append("%s.secure_boot: must be true or false, got %r" % (where, secure_boot))
        secure_boot = None
    fetch = data.get("boot_fetch")
    if fetch is not None and fetch not in BOOT_FETCH_VALUES:
        problems.append("%s.boot_fetch: must be one of %s, got %r" % (where, ", ".join(BOOT_FETCH_VALUES), fetch))
        fetch = None
    return {"secure_boot": secure_boot, "boot_fetch": fetch}


class ModelError(ValueError):
    """Raised with every problem found, one per line, so one run shows the admin the whole list."""

    HEADING = "fabric inventory has %d problem(s), nothing was changed:"

    def __init__(self, problems):
        self.problems = list(problems)
        lines = [self.HEADING % len(self.problems)]
        lines.extend("  - %s" % p for p in self.problems)
        super(ModelError, self).__init__("\n".join(lines))


def _ip(value, where, problems):
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except (ipaddress.AddressValueError, ValueError):
        problems.append("%s: %r is not an IPv4 address" % (where, value))
        return None


def _inside(addr, net, where, problems):
    if addr is None:
        return False
    if addr not in net:
        problems.append("%s: %s is outside subnet %s" % (where, addr, net))
        return False
    if net.prefixlen < 31 and addr in (net.network_address, net.broadcast_address):
        problems.append("%s: %s is the %s address of %s" % (
            where, addr, "network" if addr == net.network_address else "broadcast", net))
        return False
    return True


def normalize_networks(networks, problems):
    """Check fabric_networks; return {name: normalised dict} for the usable ones."""
    result = {}
    if networks is None:
        problems.append("fabric_networks: is not defined; describe each network once (see docs/inventory.md)")
        return result
    if not isinstance(networks, dict):
        problems.append("fabric_networks: must be a dictionary of network name to settings, got %s"
                        % type(networks).__name__)
        return result
    for name in sorted(networks):
        data = networks[name]
        where = "fabric_networks.%s" % name
        if not isinstance(data, dict):
            problems.append("%s: must be a dictionary, got %r" % (where, data))
            continue
        unknown = sorted(set(data) - set(NETWORK_KEYS))
        if unknown:
            problems.append("%s: unknown key(s) %s; known: %s" % (where, ", ".join(unknown), ", ".join(NETWORK_KEYS)))
        before = len(problems)
        try:
            net = ipaddress.IPv4Network(str(data.get("subnet", "")).strip(), strict=True)
        except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
            problems.append("%s.subnet: %r is not an IPv4 network in CIDR form with host bits zero (%s)"
                            % (where, data.get("subnet"), exc))
            continue
        server = _ip(data.get("boot_server"), where + ".boot_server", problems)
        _inside(server, net, where + ".boot_server", problems)
        gateway = None
        if data.get("gateway") not in (None, ""):
            gateway = _ip(data["gateway"], where + ".gateway", problems)
            _inside(gateway, net, where + ".gateway", problems)
        dns = []
        for i, d in enumerate(data.get("dns_servers") or []):
            addr = _ip(d, "%s.dns_servers[%d]" % (where, i), problems)
            if addr is not None:
                dns.append(str(addr))
        dyn = None
        if data.get("dynamic_range") not in (None, [], ""):
            rng = data["dynamic_range"]
            if not isinstance(rng, (list, tuple)) or len(rng) != 2:
                problems.append("%s.dynamic_range: must be [first, last], got %r" % (where, rng))
            else:
                first = _ip(rng[0], where + ".dynamic_range[0]", problems)
                last = _ip(rng[1], where + ".dynamic_range[1]", problems)
                ok = _inside(first, net, where + ".dynamic_range[0]", problems)
                ok = _inside(last, net, where + ".dynamic_range[1]", problems) and ok
                if ok and first > last:
                    problems.append("%s.dynamic_range: first %s is after last %s" % (where, first, last))
                elif ok:
                    dyn = (first, last)
                    if server is not None and first <= server <= last:
                        problems.append("%s.dynamic_range: contains the boot server %s" % (where, server))
        try:
            forms = check_forms(data.get("client_id_forms", list(DEFAULT_CLIENT_ID_FORMS)), where + ".client_id_forms")
        except IdentityError as exc:
            problems.append(str(exc))
            forms = []
        boot_path = _boot_path_keys(data, where, problems)
        if len(problems) != before:
            continue
        result[name] = {
            "name": name,
            "subnet": str(net),
            "network_address": str(net.network_address),
            "netmask": str(net.netmask),
            "prefix": net.prefixlen,
            "broadcast": str(net.broadcast_address),
            "boot_server": str(server),
            "gateway": str(gateway) if gateway else None,
            "dns_servers": dns,
            "domain_name": data.get("domain_name"),
            "dynamic_range": [str(dyn[0]), str(dyn[1])] if dyn else None,
            "client_id_forms": forms,
            "boot_image": data.get("boot_image"),
            "mtu": data.get("mtu"),
            "secure_boot": boot_path["secure_boot"],
            "boot_fetch": boot_path["boot_fetch"],
            "_net": net,
            "_dyn": dyn,
            "_server": server,
            "_gateway": gateway,
        }
    return result


def _check_hostname(host, problems):
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        problems.append("%s: inventory name is not a valid RFC 1123 host name (letters, digits, inner hyphens, "
                        "dots between labels); DHCP host-name and per-node boot files need one" % host)


def _interface(host, index, iface, networks, problems):
    """Return (normalised interface, ok). Fields that parsed are filled in even when another field
    is wrong, so duplicate detection still sees them and the admin gets the whole list at once."""
    where = "%s: fabric_interfaces[%d]" % (host, index)
    if not isinstance(iface, dict):
        problems.append("%s: must be a dictionary with name, type, port_guid or mac, ipv4, network; got %r"
                        % (where, iface))
        return {}, False
    before = len(problems)
    name = iface.get("name")
    if not isinstance(name, str) or not _IFNAME.match(name):
        problems.append("%s.name: %r is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . : -)" % (where, name))
    else:
        where = "%s: fabric_interfaces[%d] (%s)" % (host, index, name)
    itype = iface.get("type")
    if itype not in INTERFACE_TYPES:
        problems.append("%s.type: %r is not one of %s" % (where, itype, ", ".join(INTERFACE_TYPES)))
    out = dict((k, v) for k, v in iface.items() if k not in ("port_guid", "mac", "ipv4"))
    if itype in FABRIC_TYPES:
        if iface.get("mac") not in (None, ""):
            problems.append("%s.mac: an %s interface is identified by its port_guid, not a MAC; got mac %r"
                            % (where, itype, iface.get("mac")))
        try:
            out["port_guid"] = PortGuid.parse(iface.get("port_guid"), "port_guid").canonical
        except IdentityError as exc:
            problems.append("%s.%s" % (where, exc))
    elif itype == "ethernet":
        if iface.get("port_guid") not in (None, ""):
            problems.append("%s.port_guid: an ethernet interface is identified by its mac, got port_guid %r"
                            % (where, iface.get("port_guid")))
        try:
            out["mac"] = parse_mac(iface.get("mac"), "mac")
        except IdentityError as exc:
            problems.append("%s.%s" % (where, exc))
    netname = iface.get("network")
    net = networks.get(netname) if isinstance(netname, str) else None
    if net is None:
        problems.append("%s.network: %r is not a network in fabric_networks (known: %s)"
                        % (where, netname, ", ".join(sorted(networks)) or "none"))
    if iface.get("ipv4") not in (None, ""):
        addr = _ip(iface["ipv4"], where + ".ipv4", problems)
        if addr is not None and net is not None and _inside(addr, net["_net"], where + ".ipv4", problems):
            if addr == net["_server"]:
                problems.append("%s.ipv4: %s is the boot server address of network %s" % (where, addr, netname))
            elif addr == net["_gateway"]:
                problems.append("%s.ipv4: %s is the gateway of network %s" % (where, addr, netname))
            elif net["_dyn"] and net["_dyn"][0] <= addr <= net["_dyn"][1]:
                first, last = net["_dyn"]
                problems.append("%s.ipv4: %s is inside the dynamic range %s-%s of network %s; a reservation "
                                "there could be leased to another client" % (where, addr, first, last, netname))
        out["ipv4"] = str(addr) if addr is not None else None
    else:
        out["ipv4"] = None
    _boot_path_keys(iface, where, problems)   # checked here, passed on as given (None: unset)
    if len(problems) != before:
        return out, False
    out["prefix"] = net["prefix"]
    return out, True


def validate(nodes, networks, boot_images=None):
    """Check every node and network; return (model, problems).

    nodes: {hostname: {"interfaces": fabric_interfaces or None, "boot_image": fabric_boot_image or None}}
    model: {"networks": {...}, "nodes": {hostname: [normalised interface, ...]}}; hosts without
    interfaces (the boot server itself, say) are not nodes and are left out.
    """
    problems = []
    nets = normalize_networks(networks, problems)
    model_nodes = {}
    seen_names = {}
    owners = {"port_guid": {}, "mac": {}, "ipv4": {}}
    for host in sorted(nodes):
        entry = nodes[host] or {}
        interfaces = entry.get("interfaces")
        if interfaces is None:
            continue
        _check_hostname(host, problems)
        folded = host.lower()
        if folded in seen_names:
            problems.append("%s: same host name as %s (DNS and DHCP names are case-insensitive)"
                            % (host, seen_names[folded]))
        seen_names[folded] = host
        if not isinstance(interfaces, list):
            problems.append("%s: fabric_interfaces must be a list, got %s" % (host, type(interfaces).__name__))
            continue
        image = entry.get("boot_image")
        if image is not None and boot_images is not None and image not in boot_images:
            problems.append("%s: fabric_boot_image %r is not in fabric_boot_images (known: %s)"
                            % (host, image, ", ".join(sorted(boot_images)) or "none"))
        ifnames = set()
        normalised = []
        for index, iface in enumerate(interfaces):
            out, ok = _interface(host, index, iface, nets, problems)
            label = "%s:%s" % (host, out.get("name", "fabric_interfaces[%d]" % index))
            for key in ("port_guid", "mac", "ipv4"):
                value = out.get(key)
                if value:
                    owners[key].setdefault(value, []).append(label)
            if out.get("name") in ifnames:
                problems.append("%s: fabric_interfaces[%d].name: %s appears twice" % (host, index, out["name"]))
                ok = False
            ifnames.add(out.get("name"))
            if not ok:
                continue
            out["boot_image"] = image if image is not None else nets[out["network"]]["boot_image"]
            normalised.append(out)
        model_nodes[host] = normalised
    for key, label in (("port_guid", "port GUID"), ("mac", "MAC"), ("ipv4", "IPv4 address")):
        for value in sorted(owners[key]):
            users = owners[key][value]
            if len(users) > 1:
                problems.append("%s %s is used by %s" % (label, value, ", ".join(users)))
    public_nets = dict((n, dict((k, v) for k, v in d.items() if not k.startswith("_"))) for n, d in nets.items())
    return {"networks": public_nets, "nodes": model_nodes}, problems


def reservation_name(*parts):
    return _RESERVATION_NAME.sub("_", "-".join(parts))


def reservations(nodes, networks):
    """DHCP reservations per network: one per Ethernet interface, one per client-id form per fabric port.

    nodes is validate()'s model["nodes"]; networks its model["networks"] (or raw fabric_networks,
    whose client_id_forms default to all forms). Interfaces without an IPv4 address get no reservation.
    """
    result = dict((name, []) for name in networks)
    for host in sorted(nodes):
        for iface in nodes[host]:
            netname = iface.get("network")
            if not iface.get("ipv4") or netname not in networks:
                continue
            base = {
                "host": host,
                "interface": iface["name"],
                "type": iface["type"],
                "ipv4": iface["ipv4"],
                "network": netname,
                "boot_image": iface.get("boot_image"),
            }
            if iface.get("secure_boot") is not None:
                # the port's own Secure Boot choice; without it, its network's, then the server's
                base["secure_boot"] = iface["secure_boot"]
            if iface["type"] == "ethernet":
                entry = dict(base, name=reservation_name(host, iface["name"]), mac=iface["mac"], form=None)
                result[netname].append(entry)
                continue
            guid = PortGuid.parse(iface["port_guid"])
            forms = networks[netname].get("client_id_forms") or list(DEFAULT_CLIENT_ID_FORMS)
            for form in forms:
                result[netname].append(dict(base, name=reservation_name(host, iface["name"], form), form=form,
                                            client_id=guid.client_id(form), port_guid=guid.canonical,
                                            mac48=guid.mac48))
    return result
