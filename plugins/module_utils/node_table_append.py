# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""New rows for the node table CSV (plugins/inventory/node_table.py): discovered ports get a
generated host name and the next free address of their network; existing rows are never touched.

Candidates come from fabric.boot.boot_status (unknown DHCP clients) or fabric.boot.fabric_facts
(ports of live nodes). plan() only computes; append() adds the lines at the end of the file.
Stdlib only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import fnmatch
import io
import ipaddress
import os
import re

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import IdentityError, PortGuid, parse_mac

DEFAULT_COLUMNS = ("host", "groups", "interface", "type", "port_guid", "mac", "ipv4", "network")


class PlanError(ValueError):
    pass


def read_table(path):
    """(columns, rows) of an existing table; ([], []) when the file does not exist yet."""
    if not os.path.exists(path):
        return [], []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def candidates_from_unknown(unknown):
    """Ports to add from boot_status' unknown clients. Skipped: a client that is an inventoried port
    under another form (collides_with: the fix is the network's client_id_forms, not a new node),
    and a mac48 whose GUID was seen too (same_port_as: the GUID entry is that port)."""
    out = []
    for s in unknown or []:
        if s.get("collides_with") or s.get("same_port_as"):
            continue
        if s.get("guid"):
            out.append({"type": "infiniband", "port_guid": s["guid"], "wire": s.get("wire"), "seen": s.get("first")})
        elif s.get("kind") == "ethernet-or-mac48" and s.get("mac"):
            out.append({"type": "ethernet", "mac": s["mac"], "wire": s.get("wire"), "seen": s.get("first")})
    return out


def candidates_from_facts(host, facts, network, interface_type="infiniband"):
    """One candidate per IPoIB interface of fabric_facts' result on a live node (named after its netdev).
    facts: the registered result, its ansible_facts, or fabric_facts' {"net": ...}."""
    facts = facts or {}
    facts = facts.get("ansible_facts", facts)
    nets = facts.get("fabric_net", facts.get("net")) or {}
    out = []
    for name in sorted(nets):
        net = nets[name]
        if net.get("port_guid") and net.get("link_type") == "infiniband":
            out.append({"host": host, "interface": name, "type": interface_type, "port_guid": net["port_guid"],
                        "network": network, "wire": net.get("address")})
    return out


def _select(candidates, match, count):
    chosen = []
    for c in candidates:
        keys = [c.get("wire") or "", c.get("port_guid") or "", c.get("mac") or "", c.get("host") or ""]
        if match and not any(fnmatch.fnmatchcase(k, match) for k in keys if k):
            continue
        chosen.append(c)
    return chosen[:count] if count else chosen


def _used(rows, nodes):
    used = {"guid": set(), "mac": set(), "ipv4": set(), "host": set(), "port": set()}
    for row in rows:
        used["host"].add((row.get("host") or "").strip().lower())
        used["port"].add(((row.get("host") or "").strip().lower(), (row.get("interface") or "").strip()))
        if (row.get("ipv4") or "").strip():
            used["ipv4"].add(row["ipv4"].strip())
        try:
            if (row.get("port_guid") or "").strip():
                used["guid"].add(PortGuid.parse(row["port_guid"]).canonical)
            if (row.get("mac") or "").strip():
                used["mac"].add(parse_mac(row["mac"]))
        except IdentityError:
            pass      # validate_inventory reports it; here it is only not a collision
    for host, ifaces in (nodes or {}).items():
        used["host"].add(host.lower())
        for iface in ifaces:
            used["port"].add((host.lower(), iface.get("name")))
            if iface.get("ipv4"):
                used["ipv4"].add(iface["ipv4"])
            if iface.get("port_guid"):
                used["guid"].add(iface["port_guid"])
            if iface.get("mac"):
                used["mac"].add(iface["mac"])
    return used


def _free_addresses(net, used):
    subnet = ipaddress.IPv4Network(net["subnet"])
    taken = set(used["ipv4"])
    for key in ("boot_server", "gateway"):
        if net.get(key):
            taken.add(net[key])
    dyn = net.get("dynamic_range")
    lo = hi = None
    if dyn:
        lo, hi = ipaddress.IPv4Address(dyn[0]), ipaddress.IPv4Address(dyn[1])
    for addr in subnet.hosts():
        if str(addr) in taken or (lo is not None and lo <= addr <= hi):
            continue
        yield str(addr)


def _names(prefix, digits, used):
    pattern = re.compile(r"^%s(\d+)$" % re.escape(prefix.lower()))
    highest = 0
    for host in used["host"]:
        m = pattern.match(host)
        if m:
            highest = max(highest, int(m.group(1)))
    n = highest
    while True:
        n += 1
        name = "%s%0*d" % (prefix, digits, n)
        if name.lower() not in used["host"]:
            yield name


def plan(rows, candidates, networks, network, nodes=None, name_prefix="node", name_digits=3, interface=None,
         match=None, count=None, groups=""):
    """The rows to append: list of dicts with DEFAULT_COLUMNS' keys, and the candidates skipped (with why)."""
    if network not in (networks or {}):
        raise PlanError("network %r is not in fabric_networks (known: %s)" % (network, ", ".join(sorted(networks or {}))
                                                                              or "none"))
    net = networks[network]
    used = _used(rows, nodes)
    addresses = _free_addresses(net, used)
    names = _names(name_prefix, name_digits, used)
    new, skipped = [], []
    for c in _select(candidates, match, count):
        ident = c.get("port_guid") or c.get("mac")
        key = "guid" if c.get("port_guid") else "mac"
        try:
            value = PortGuid.parse(ident).canonical if key == "guid" else parse_mac(ident)
        except IdentityError as exc:
            skipped.append({"candidate": c, "why": str(exc)})
            continue
        if value in used[key]:
            skipped.append({"candidate": c, "why": "%s %s is already in the node table or inventory" % (key, value)})
            continue
        host = c.get("host") or next(names)
        ifname = c.get("interface") or interface or ("ib0" if c["type"] in ("infiniband", "omnipath") else "eth0")
        if (host.lower(), ifname) in used["port"]:
            skipped.append({"candidate": c, "why": "%s:%s is already in the node table or inventory" % (host, ifname)})
            continue
        try:
            ipv4 = next(addresses)
        except StopIteration:
            raise PlanError("network %s (%s) has no free address left for %s" % (network, net["subnet"], ident))
        row = {"host": host, "groups": groups, "interface": ifname, "type": c["type"],
               "port_guid": value if key == "guid" else "", "mac": value if key == "mac" else "", "ipv4": ipv4,
               "network": c.get("network") or network}
        used[key].add(value)
        used["ipv4"].add(ipv4)
        used["host"].add(host.lower())
        used["port"].add((host.lower(), ifname))
        new.append(row)
    return new, skipped


def interfaces_of(rows):
    """{host: [interface dict]} the node_table inventory plugin would make of these rows (for validation)."""
    out = {}
    for row in rows:
        iface = dict((("name" if k == "interface" else k), v) for k, v in row.items()
                     if k not in ("host", "groups", "boot_image") and v not in (None, ""))
        out.setdefault(row["host"], []).append(iface)
    return out


def render(columns, rows):
    """CSV text of rows in the table's column order (a header line too when columns is new)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    for row in rows:
        writer.writerow(dict((c, row.get(c, "")) for c in columns))
    return buf.getvalue()


def append(path, columns, rows, create_columns=DEFAULT_COLUMNS):
    """Append rows at the end of the table, creating it with a header when absent. Returns the text added."""
    exists = os.path.exists(path)
    columns = list(columns) if exists and columns else list(create_columns)
    missing = [c for c in ("host", "interface", "type", "network", "ipv4") if c not in columns]
    needed = set(k for r in rows for k, v in r.items() if v)
    lost = sorted(needed - set(columns))
    if missing or lost:
        raise PlanError("%s lacks column(s) %s needed for the new rows; add them to its header first"
                        % (path, ", ".join(missing + lost)))
    text = render(columns, rows)
    prefix = ""
    if exists:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    prefix = "\n"
    else:
        prefix = ",".join(columns) + "\n"
    with open(path, "a", newline="") as handle:
        handle.write(prefix + text)
    return prefix + text
