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
import json
import re

from ansible_collections.fabric.boot.plugins.module_utils import config_syntax
from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    DEFAULT_CLIENT_ID_FORMS,
    IdentityError,
    PortGuid,
    check_forms,
    parse_mac,
)

INTERFACE_TYPES = ("infiniband", "omnipath", "ethernet")
FABRIC_TYPES = ("infiniband", "omnipath")
# Linux IFNAMSIZ is 16 including the terminating NUL. \Z, not $: $ also matches before a final newline.
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}\Z")
# RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_RESERVATION_NAME = re.compile(r"[^A-Za-z0-9_-]")
NETWORK_KEYS = ("subnet", "boot_server", "gateway", "dns_servers", "domain_name", "dynamic_range",
                "client_id_forms", "boot_image", "mtu", "description", "secure_boot", "boot_fetch",
                "relay", "deny_unknown_clients")
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
        relay = None
        if data.get("relay") not in (None, ""):
            # The relay agent's address on this network (the giaddr it puts in forwarded requests):
            # says the network reaches the DHCP server through a relay, not on a directly attached link.
            relay = _ip(data["relay"], where + ".relay", problems)
            _inside(relay, net, where + ".relay", problems)
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
        # None: the DHCP server's own switch (dhcp_server_deny_unknown_clients) decides. A bad value
        # is reported but keeps the network, so its interfaces are not reported as orphans too.
        deny_unknown = data.get("deny_unknown_clients")
        if deny_unknown is not None and not isinstance(deny_unknown, bool):
            problems.append("%s.deny_unknown_clients: must be true or false, got %r" % (where, deny_unknown))
            deny_unknown = None
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
            "relay": str(relay) if relay else None,
            "deny_unknown_clients": deny_unknown,
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
    _kernel_words(iface.get("kernel_args"), where + ".kernel_args", problems)
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
            # An empty list means no fabric reservations on this network (docs/inventory.md);
            # only a network that does not say gets every form.
            forms = networks[netname].get("client_id_forms")
            if forms is None:
                forms = list(DEFAULT_CLIENT_ID_FORMS)
            for form in forms:
                result[netname].append(dict(base, name=reservation_name(host, iface["name"], form), form=form,
                                            client_id=guid.client_id(form), port_guid=guid.canonical,
                                            mac48=guid.mac48))
    return result


# ---------------------------------------------------------------------------------------------
# Site rules: everything a role would trip over later, checked here before any host is touched.
# validate_site() is the entry point validate_inventory uses; each check_* returns problems.
# ---------------------------------------------------------------------------------------------

MIN_MTU = 576
MAX_IPOIB_MTU = 65520       # NetworkManager's NM_INFINIBAND_MAX_MTU; the kernel's connected-mode limit
MAX_DATAGRAM_MTU = 4092     # InfiniBand datagram mode: 4K link MTU minus the 4-byte IPoIB header
MAX_ETHERNET_MTU = 9216
TRANSPORT_MODES = ("datagram", "connected")
_REPO_ARG = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^nfs:|^hd:|^cdrom", re.IGNORECASE)


def int_rule(value, low, high):
    """(number, None) or (None, reason): an integer in low..high, given as a number or a string (0x.. too)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return None, "is not an integer"
    if not low <= number <= high:
        return None, "is outside %d-%d" % (low, high)
    return number, None


def mtu_rule(value, itype=None, mode=None):
    """(mtu, None) or (None, reason): one rule for interface and network MTUs, used by
    validate_site (before the boot servers are configured) and by fabric_client."""
    high = MAX_ETHERNET_MTU if itype == "ethernet" else MAX_IPOIB_MTU
    mtu, reason = int_rule(value, MIN_MTU, high)
    if reason:
        return None, reason
    if itype == "infiniband" and mode == "datagram" and mtu > MAX_DATAGRAM_MTU:
        # The kernel caps datagram mode at the IB link MTU (2048 or 4096) minus 4.
        return None, ("is larger than InfiniBand datagram mode allows (4092 on a 4K-MTU fabric, 2044 on 2K); "
                      "use transport_mode: connected for a larger MTU")
    return mtu, None


def pkey_rule(value):
    """(pkey, None) or (None, reason) for an IPoIB P_Key child."""
    pkey, reason = int_rule(value, 1, 0xFFFF)
    if reason:
        return None, reason
    if pkey == 0x8000:
        return None, "is not a usable P_Key (NetworkManager refuses 0 and 0x8000)"
    return pkey, None


def _rule(problems, where, value, reason):
    if reason:
        problems.append("%s: %r %s" % (where, value, reason))


def _subnet(data):
    try:
        return ipaddress.IPv4Network(str(data.get("subnet", "")).strip(), strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError):
        return None  # normalize_networks reports it


def check_networks(networks, boot_images=None):
    """Names, strings and MTUs of fabric_networks, overlapping subnets, unknown default images."""
    problems = []
    if not isinstance(networks, dict):
        return problems
    subnets = []
    for name in sorted(networks, key=str):
        data = networks[name]
        where = "fabric_networks.%s" % name
        _rule(problems, where, name, config_syntax.check_file_name(name) and
              "is not a usable network name (1-64 of A-Z a-z 0-9 _ . -, not starting with a dot); "
              "it is written into dhcpd.conf comments and variable names")
        if not isinstance(data, dict):
            continue
        if data.get("domain_name") not in (None, ""):
            _rule(problems, where + ".domain_name", data["domain_name"],
                  config_syntax.check_dns_name(data["domain_name"]))
        if data.get("description") not in (None, ""):
            _rule(problems, where + ".description", data["description"],
                  config_syntax.check_text_line(data["description"]))
        if data.get("mtu") not in (None, ""):
            _rule(problems, where + ".mtu", data["mtu"], mtu_rule(data["mtu"])[1])
        image = data.get("boot_image")
        if image not in (None, "") and isinstance(boot_images, dict) and image not in boot_images:
            problems.append("%s.boot_image: %r is not in fabric_boot_images (known: %s)"
                            % (where, image, ", ".join(sorted(boot_images)) or "none"))
        net = _subnet(data)
        if net is not None:
            subnets.append((net, name))
    for i, (net, name) in enumerate(subnets):
        for other, oname in subnets[i + 1:]:
            if net.overlaps(other):
                problems.append("fabric_networks.%s.subnet: %s overlaps fabric_networks.%s.subnet %s; dhcpd "
                                "would refuse to start (\"matches multiple shared networks\")"
                                % (name, net, oname, other))
    return problems


def _kernel_words(values, where, problems):
    """A list of kernel command line words (per image or per interface kernel_args)."""
    if values in (None, ""):
        return
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        problems.append("%s: must be a list of strings, got %r" % (where, values))
        return
    for index, value in enumerate(values):
        _rule(problems, "%s[%d]" % (where, index), value, config_syntax.check_kernel_word(value))


IMAGE_KINDS = ("installer", "diskless")
# Keys of an installer image (boot_image) that make no sense for a diskless one: its kernel,
# initrd and root come from the image root and the generation diskless_image publishes.
_NOT_DISKLESS = ("kernel", "initrd", "kernel_src", "initrd_src", "iso", "tree", "repo", "repo_arg", "mode")
_KVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]*\Z")


def _check_diskless(data, where, problems, hosts):
    """A kind: diskless image (docs/roles/diskless_image.md)."""
    for key in _NOT_DISKLESS:
        if data.get(key) not in (None, ""):
            problems.append("%s.%s: %r is not used by a diskless image (kernel, initrd and squashfs come from its "
                            "root and the published generation)" % (where, key, data[key]))
    root = data.get("root")
    if not isinstance(root, str) or not root.startswith("/") or root.rstrip("/") == "" \
            or config_syntax.check_root_path(root.strip("/")):
        problems.append("%s.root: %r must be the absolute path of the image root on the boot server "
                        "(not /; no white space, .. or control characters)" % (where, root))
    kver = data.get("kernel_version")
    if kver not in (None, "") and (not isinstance(kver, str) or not _KVER.match(kver)):
        problems.append("%s.kernel_version: %r is not a kernel release name (as under lib/modules)" % (where, kver))
    gen = data.get("generation")
    if gen is not None and (isinstance(gen, bool) or not isinstance(gen, int) or gen < 1):
        problems.append("%s.generation: %r must be a generation number (1, 2, ...) to pin, or unset" % (where, gen))
    for key in ("smoke_test",):
        if data.get(key) is not None and not isinstance(data[key], bool):
            problems.append("%s.%s: must be true or false, got %r" % (where, key, data[key]))
    if data.get("smoke_action") not in (None, "poweroff", "continue"):
        problems.append("%s.smoke_action: must be poweroff or continue, got %r" % (where, data["smoke_action"]))
    host = data.get("profile_host")
    if host not in (None, "") and hosts is not None and host not in hosts:
        problems.append("%s.profile_host: %r is not a host of the inventory" % (where, host))
    types = data.get("interface_types")
    if types is not None and (not isinstance(types, list) or any(t not in INTERFACE_TYPES for t in types)):
        problems.append("%s.interface_types: %r must be a list of %s" % (where, types, ", ".join(INTERFACE_TYPES)))
    modules = data.get("modules")
    if modules not in (None, ""):
        if not isinstance(modules, list):
            problems.append("%s.modules: must be a list of module names, got %r" % (where, modules))
        else:
            for index, value in enumerate(modules):
                _rule(problems, "%s.modules[%d]" % (where, index), value, config_syntax.check_module_name(value))
    _kernel_words(data.get("live_args"), where + ".live_args", problems)


def check_images(boot_images, hosts=None):
    """Every image field that becomes a path under the TFTP or netinstall root, a menu line or a
    kernel argument."""
    problems = []
    if boot_images is None:
        return problems
    if not isinstance(boot_images, dict):
        return ["fabric_boot_images: must be a dictionary of image name to settings, got %s"
                % type(boot_images).__name__]
    for name in sorted(boot_images, key=str):
        data = boot_images[name]
        where = "fabric_boot_images.%s" % name
        _rule(problems, where, name, config_syntax.check_file_name(name))
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append("%s: must be a dictionary, got %r" % (where, data))
            continue
        kind = data.get("kind")
        if kind not in (None, "") and kind not in IMAGE_KINDS:
            problems.append("%s.kind: %r is not one of %s" % (where, kind, ", ".join(IMAGE_KINDS)))
        elif kind == "diskless":
            _check_diskless(data, where, problems, hosts)
        for key in ("kernel", "initrd", "kernel_src", "initrd_src"):
            if data.get(key) not in (None, ""):
                _rule(problems, "%s.%s" % (where, key), data[key], config_syntax.check_root_path(data[key]))
        repo = data.get("repo")
        if repo not in (None, ""):
            if isinstance(repo, str) and _URL.match(repo):
                reason = config_syntax.check_kernel_word(repo)
            else:
                reason = config_syntax.check_root_path(repo)
            _rule(problems, where + ".repo", repo, reason)
        if data.get("repo_arg") not in (None, "") and not _REPO_ARG.match(str(data["repo_arg"])):
            problems.append("%s.repo_arg: %r is not a kernel parameter name (A-Z a-z 0-9 _ . -)"
                            % (where, data["repo_arg"]))
        if data.get("title") not in (None, ""):
            _rule(problems, where + ".title", data["title"], config_syntax.check_text_line(data["title"]))
        for key, check in (("kernel_args", config_syntax.check_kernel_word),
                           ("driver_modules", config_syntax.check_module_name)):
            values = data.get(key)
            if values in (None, ""):
                continue
            if isinstance(values, str):
                values = [values]
            if not isinstance(values, list):
                problems.append("%s.%s: must be a list of strings, got %r" % (where, key, values))
                continue
            for index, value in enumerate(values):
                _rule(problems, "%s.%s[%d]" % (where, key, index), value, check(value))
    return problems


def check_isos(isos, what="http_server_isos"):
    """ISO names become directories under the netinstall root; the role replaces them wholesale."""
    problems = []
    if isos in (None, []):
        return problems
    if not isinstance(isos, list):
        return ["%s: must be a list of {name, src}, got %s" % (what, type(isos).__name__)]
    seen = {}
    for index, iso in enumerate(isos):
        where = "%s[%d]" % (what, index)
        if not isinstance(iso, dict):
            problems.append("%s: must be a dictionary with name and src, got %r" % (where, iso))
            continue
        name = iso.get("name")
        _rule(problems, where + ".name", name, config_syntax.check_file_name(name))
        if isinstance(name, str) and name in seen:
            problems.append("%s.name: %r is also %s[%d].name" % (where, name, what, seen[name]))
        elif isinstance(name, str):
            seen[name] = index
    return problems


def check_interface_values(nodes, networks):
    """Client-side values (MTU, transport mode, P_Keys) with the same rules fabric_client applies.

    nodes and networks are validate()'s normalised model. Without a transport_mode on the
    interface the datagram limit is left to fabric_client, whose default mode is a role variable."""
    problems = []
    for host in sorted(nodes):
        for iface in nodes[host]:
            where = "%s: fabric_interfaces (%s)" % (host, iface.get("name"))
            itype = iface.get("type")
            net = networks.get(iface.get("network")) or {}
            mode = iface.get("transport_mode")
            if itype in FABRIC_TYPES and mode is not None and mode not in TRANSPORT_MODES:
                problems.append("%s.transport_mode: %r is not one of %s" % (where, mode, ", ".join(TRANSPORT_MODES)))
                mode = None
            if iface.get("mtu") not in (None, ""):
                _rule(problems, where + ".mtu", iface["mtu"], mtu_rule(iface["mtu"], itype, mode)[1])
            elif net.get("mtu") not in (None, "") and not mtu_rule(net["mtu"])[1]:
                # A network MTU wrong on its own is reported once, by check_networks.
                reason = mtu_rule(net["mtu"], itype, mode)[1]
                if reason:
                    problems.append("%s: network %s mtu %r %s for this %s interface"
                                    % (where, net.get("name"), net["mtu"], reason, itype))
            pkeys = iface.get("pkeys")
            if pkeys in (None, []):
                continue
            if not isinstance(pkeys, list):
                problems.append("%s.pkeys: must be a list of {pkey, network, ipv4, ...}" % where)
                continue
            if itype not in FABRIC_TYPES:
                problems.append("%s.pkeys: P_Keys exist only on infiniband and omnipath interfaces" % where)
                continue
            for index, child in enumerate(pkeys):
                cwhere = "%s.pkeys[%d]" % (where, index)
                if not isinstance(child, dict):
                    problems.append("%s: must be a dictionary with pkey, network and optionally ipv4" % cwhere)
                    continue
                _rule(problems, cwhere + ".pkey", child.get("pkey"), pkey_rule(child.get("pkey"))[1])
                if child.get("network") not in networks:
                    problems.append("%s.network: %r is not a network in fabric_networks" % (cwhere, child.get("network")))
                if child.get("mtu") not in (None, ""):
                    _rule(problems, cwhere + ".mtu", child["mtu"],
                          mtu_rule(child["mtu"], itype, child.get("transport_mode"))[1])
    return problems


def check_reservation_names(nodes, networks):
    """dhcpd host names are global: two interfaces must not normalise to the same one."""
    owners = {}
    for host in sorted(nodes):
        for iface in nodes[host]:
            net = networks.get(iface.get("network"))
            if not iface.get("ipv4") or net is None:
                continue
            label = "%s:%s" % (host, iface["name"])
            if iface["type"] == "ethernet":
                names = [reservation_name(host, iface["name"])]
            else:
                forms = net.get("client_id_forms")
                forms = list(DEFAULT_CLIENT_ID_FORMS) if forms is None else forms
                names = [reservation_name(host, iface["name"], form) for form in forms]
            for name in names:
                owners.setdefault(name, []).append(label)
    problems = []
    for name in sorted(owners):
        users = owners[name]
        if len(users) > 1:
            problems.append("DHCP host name %s is made by %s (host-interface-form, other characters as _); "
                            "rename one interface or host" % (name, ", ".join(users)))
    return problems


def validate_site(nodes, networks, boot_images=None, isos=None):
    """validate() plus every site rule above; (model, problems) like validate()."""
    model, problems = validate(nodes, networks, boot_images)
    problems.extend(check_networks(networks, boot_images))
    # profile_host is checked against the hosts validated; a run that validates networks only
    # (hosts: [], as dhcp_server does for its served networks) has none to check it against.
    problems.extend(check_images(boot_images, sorted(nodes) or None))
    problems.extend(check_isos(isos))
    problems.extend(check_interface_values(model["nodes"], model["networks"]))
    problems.extend(check_reservation_names(model["nodes"], model["networks"]))
    return model, problems


def nodes_text(nodes):
    """The normalised nodes as one compact JSON string (validate_inventory's json_text).

    ansible-core 2.19 templates a registered structure again, element by element, at every use
    (about 2 s per use of 10,000 nodes, docs/performance.md); a string it hands on as it is."""
    return json.dumps(nodes, sort_keys=True, separators=(",", ":"))


def json_dict(value, what, source):
    """A dictionary given as itself or as its JSON text (what source returns with json_text).

    Large structures travel between tasks as text: ansible-core 2.19 templates a structure
    again, element by element, at each use (docs/performance.md)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError("%s: not the JSON text %s returns (%s)" % (what, source, exc))
    if not isinstance(value, dict):
        raise ValueError("%s: must be the dictionary %s returns, or its JSON text; got %s"
                         % (what, source, type(value).__name__))
    return value


def nodes_value(value, what="fabric_nodes"):
    """The normalised nodes from the dict validate_inventory returns or from its JSON text."""
    return json_dict(value, what, "fabric.boot.validate_inventory")
