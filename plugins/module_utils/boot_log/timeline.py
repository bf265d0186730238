# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per node and interface: which identity asked, what was answered, which files were fetched,
the last stage reached and what probably went wrong; and every client the inventory lacks.

build() takes the parsed events (dhcpd.events, tftpd.requests, apache.requests) and the
inventory model of fabric_inventory.validate() (nodes and networks). A port is recognised by
every identity fabric_identity derives from it (MAC, GUID, mac48, client-ids) and by its
reserved address, so one GUID in the inventory is enough to follow a node through firmware,
boot loader and OS stage.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import posixpath
import time

from ansible_collections.fabric.boot.plugins.module_utils.boot_log.identity import decode
from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import PortGuid

STAGES = ("dhcp-firmware", "loader", "menu", "kernel", "initrd", "dhcp-os")
DEFAULT_MENUS = ("grub.cfg", "default")
LOADER_SUFFIXES = (".efi", ".0", ".kpxe", ".pxe", ".c32", ".lkrn")
# shim (15.8, Debian 12's, in the lab's capture) asks for these beside itself and carries on
# when they are absent: a "File not found" on them is not a failed loader
SHIM_OPTIONAL = ("revocations_", "shim_certificate")
# edk2 HttpBootDxe's User-Agent: the UEFI firmware's own HTTP boot client (HTTPClient, arch 16)
HTTP_BOOT_AGENT = "UefiHttpBoot"
# ISC dhcpd's words, and dnsmasq's "no address available" (kea.py words Kea's failures as ISC's)
REFUSED_NOTES = ("unknown client", "no free leases", "ignored", "not authoritative", "wrong network",
                 "no address available")
ALL_FORMS = ("flexboot", "htype32", "ipxe")
# Kea and dnsmasq reserve a port's address for its htype32 (OS) form only; its boot-stage forms
# lease from the network's dynamic range by design (module_utils/dhcp/strategy.py), so such an
# answer is part of the port's boot, not a stranger, and its file requests come from that address.
POOLED_BOOT_DAEMONS = ("kea", "dnsmasq")
POOLED_BOOT_FORMS = ("flexboot", "ipxe", "mac48")


def _key(host, iface):
    return "%s:%s" % (host, iface)


class Index:
    """Inventory lookups: every identity of every port, and reserved addresses."""

    def __init__(self, nodes, networks=None):
        self.ports = {}
        self.by_ip, self.by_mac, self.by_mac48, self.by_guid = {}, {}, {}, {}
        self.networks = networks or {}
        self.dynamic = []
        for net in self.networks.values():
            rng = (net or {}).get("dynamic_range")
            if rng:
                self.dynamic.append((ipaddress.IPv4Address(rng[0]), ipaddress.IPv4Address(rng[1])))
        for host in sorted(nodes or {}):
            for iface in nodes[host]:
                key = _key(host, iface["name"])
                port = {"host": host, "interface": iface["name"], "type": iface.get("type"),
                        "network": iface.get("network"), "ipv4": iface.get("ipv4")}
                if iface.get("port_guid"):
                    guid = PortGuid.parse(iface["port_guid"])
                    port.update(port_guid=guid.canonical, mac48=guid.mac48)
                    self.by_guid[guid.canonical] = key
                    self.by_mac48[guid.mac48] = key
                elif iface.get("mac"):
                    port["mac"] = iface["mac"]
                    self.by_mac[iface["mac"]] = key
                if iface.get("ipv4"):
                    self.by_ip[iface["ipv4"]] = key
                self.ports[key] = port

    def forms(self, key):
        """The client-id forms reserved for the port's network (None: all)."""
        net = self.networks.get(self.ports[key].get("network")) or {}
        forms = net.get("client_id_forms")
        return list(ALL_FORMS) if forms is None else list(forms)

    def in_dynamic(self, ip):
        try:
            addr = ipaddress.IPv4Address(ip)
        except (ValueError, ipaddress.AddressValueError):
            return False
        return any(first <= addr <= last for first, last in self.dynamic)

    def port_of(self, ident):
        """(key, form) of the inventoried port this decoded identity belongs to, or (None, None)."""
        if ident["kind"] == "ethernet-or-mac48":
            if ident["mac"] in self.by_mac:
                return self.by_mac[ident["mac"]], "ethernet"
            if ident["mac48"] in self.by_mac48:
                return self.by_mac48[ident["mac48"]], "mac48"
        if ident["guid"] and ident["guid"] in self.by_guid:
            return self.by_guid[ident["guid"]], ident["form"]
        if ident["kind"] == "ipxe" and ident["mac48"] in self.by_mac48:
            return self.by_mac48[ident["mac48"]], "ipxe"
        return None, None


def classify(path, images=None):
    """loader, menu, kernel, initrd or other, for a path relative to the TFTP root."""
    base = posixpath.basename(path)
    for image in (images or {}).values():
        image = image or {}
        if path == str(image.get("kernel", "")).lstrip("/"):
            return "kernel"
        if path == str(image.get("initrd", "")).lstrip("/"):
            return "initrd"
    if base.startswith(SHIM_OPTIONAL):
        return "other"
    if base.startswith("grub.cfg") or "/pxelinux.cfg/" in "/" + path:
        return "menu"
    if base.startswith(("vmlinuz", "bzImage", "linux")) and not base.endswith(LOADER_SUFFIXES):
        return "kernel"
    if base.startswith(("initrd", "initramfs")):
        return "initrd"
    if base.endswith(LOADER_SUFFIXES):
        return "loader"
    return "other"


def _is_default_menu(path):
    return posixpath.basename(path) in DEFAULT_MENUS


def _refused(ev):
    note = ev.get("note") if isinstance(ev, dict) else ev.note
    return bool(note) and any(n in note for n in REFUSED_NOTES)


class _Port:
    def __init__(self, key, port):
        self.key = key
        self.port = port
        self.dhcp = []
        self.files = []


def _file_entry(req, role, sizes, http_prefix):
    path = req.path
    if req.via == "http" and http_prefix and path.startswith(http_prefix):
        path = path[len(http_prefix):]
    entry = {"time": req.time, "via": req.via, "path": path, "role": role, "ok": req.ok, "error": req.error,
             "bytes": req.bytes, "size": None, "truncated": False, "agent": req.agent}
    size = (sizes or {}).get(path)
    if size is not None:
        entry["size"] = size
        if req.ok and req.bytes is not None and req.bytes < size:
            entry["truncated"] = True
    return entry


def _timeline(p, index, images):
    files = sorted(p.files, key=lambda f: f["time"] or 0)
    dhcp = sorted(p.dhcp, key=lambda e: e["time"] or 0)
    images_at = [f["time"] for f in files if f["role"] in ("kernel", "initrd") and f["ok"]]
    split = max(images_at) if images_at else None
    firmware = [e for e in dhcp if split is None or (e["time"] or 0) <= split]
    os_stage = [e for e in dhcp if split is not None and (e["time"] or 0) > split]
    reserved = p.port.get("ipv4")
    stages = {}
    findings = []

    def answered(events):
        acks = [e for e in events if e["kind"] in ("ACK", "BOOTREPLY")]
        return acks[-1] if acks else None

    fw_ack = answered(firmware)
    if fw_ack:
        stages["dhcp-firmware"] = fw_ack["time"]
    for role in ("loader", "menu", "kernel", "initrd"):
        done = [f for f in files if f["role"] == role and f["ok"]]
        if done:
            stages[role] = done[-1]["time"]
    os_ack = answered(os_stage)
    if os_ack and os_ack["ip"] == reserved:
        stages["dhcp-os"] = os_ack["time"]
    # -- what the firmware stage says
    for e in firmware:
        if _refused(e):
            findings.append("%s asked as %s (%s) and was refused: %s" % (
                "firmware" if split else "a DHCP client", e["form"], e["wire"], e["note"]))
            break
    if fw_ack and fw_ack["ip"] != reserved and not fw_ack.get("pooled"):
        findings.append("got %s, not its reservation %s: the %s form is not reserved on %s" % (
            fw_ack["ip"], reserved, fw_ack["form"], p.port.get("network")))
    # -- files
    menus = [f for f in files if f["role"] == "menu"]
    missing_own = [f for f in menus if not f["ok"] and not _is_default_menu(f["path"])]
    default_ok = [f for f in menus if f["ok"] and _is_default_menu(f["path"])]
    own_ok = [f for f in menus if f["ok"] and not _is_default_menu(f["path"])]
    menu = None
    if own_ok:
        menu = own_ok[-1]["path"]
    elif default_ok:
        menu = default_ok[-1]["path"] + " (default)"
        if missing_own:
            findings.append("per-node menu %s is missing: the node got the default menu %s" % (
                missing_own[0]["path"], default_ok[-1]["path"]))
    for f in files:
        if f["truncated"]:
            findings.append("%s transfer truncated: %d of %d bytes (%s)" % (f["role"], f["bytes"], f["size"], f["path"]))
        elif not f["ok"] and f["role"] in ("loader", "kernel", "initrd"):
            findings.append("%s %s failed over %s: %s" % (f["role"], f["path"], f["via"], f["error"]))
    truncated = set(f["path"] for f in files if f["truncated"])
    for role in ("kernel", "initrd"):
        if role in stages and all(f["path"] in truncated for f in files if f["role"] == role and f["ok"]):
            del stages[role]
    # -- the OS stage
    os_forms = sorted(set(e["form"] for e in os_stage if e["form"]))
    if os_stage and "dhcp-os" not in stages:
        refused = [e for e in os_stage if _refused(e)]
        if os_ack:
            findings.append("OS stage (%s) got %s, not its reservation %s%s" % (
                ", ".join(os_forms), os_ack["ip"], reserved,
                " (dynamic range)" if index.in_dynamic(os_ack["ip"]) else ""))
        else:
            findings.append("OS stage asked as %s and got no answer%s" % (
                ", ".join(os_forms) or "?", (": " + refused[0]["note"]) if refused else ""))
        lacking = [f for f in os_forms if f in ALL_FORMS and f not in index.forms(p.key)]
        if fw_ack and lacking:
            findings.append("likely cause: the firmware form was answered, the OS form never: network %s does "
                            "not reserve the %s client-id form (client_id_forms: %s); add %s" % (
                                p.port.get("network"), "/".join(lacking), ", ".join(index.forms(p.key)) or "none",
                                "/".join(lacking)))
    elif not os_stage and "initrd" in stages:
        findings.append("kernel and initrd fetched, no OS-stage DHCP since: the kernel is still starting, or "
                        "the initrd lacks the network driver, or its DHCP goes to another server")
    if fw_ack and "loader" not in stages:
        findings.append("the DHCP answer was not followed by a boot loader request (boot file name, next-server, "
                        "TFTP/HTTP service)")
    elif "loader" in stages and not menus and "kernel" not in stages:
        findings.append("the boot loader fetched no menu")
    elif menus and "menu" not in stages:
        findings.append("no menu could be read (%s)" % ", ".join(f["path"] for f in menus))
    elif "menu" in stages and not [f for f in files if f["role"] == "kernel"]:
        findings.append("the menu was read but no kernel requested")
    last = None
    for stage in STAGES:
        if stage in stages:
            last = stage
    first_ident = next((e for e in dhcp if e["form"]), None)
    # the boot file the firmware fetched (shimx64.efi, pxelinux.0), not what it loads next
    # (grubx64.efi, ldlinux.c32): that is the file DHCP named, the one an admin checks first
    loader = next((f for f in files if f["role"] == "loader" and f["ok"]), None)
    return {
        "host": p.port["host"], "interface": p.port["interface"], "type": p.port.get("type"),
        "network": p.port.get("network"), "ipv4": reserved,
        "identities": sorted(set("%s %s" % (e["form"], e["wire"]) for e in dhcp if e["wire"])),
        "asked_as": first_ident["form"] if first_ident else None,
        "os_forms": os_forms,
        "dhcp_firmware": fw_ack["ip"] if fw_ack else None,
        "dhcp_os": os_ack["ip"] if os_ack else None,
        "loader": ("%s %s%s" % (loader["via"], loader["path"],
                                " (HTTPClient)" if HTTP_BOOT_AGENT in (loader["agent"] or "") else "")) if loader else None,
        "menu": menu,
        "stages": stages,
        "last_stage": last,
        "last_time": stages[last] if last else None,
        "findings": findings,
        "dhcp": dhcp,
        "files": files,
    }


def build(dhcp_events, file_requests, nodes, networks=None, images=None, sizes=None, http_prefix="boot/",
          hosts=None):
    """{"nodes": [timeline per port that appears in the logs], "unknown": [client], "unmatched": [file request]}.

    hosts: a predicate on the host name (the host pattern filter), or None for all.
    sizes: {path relative to the TFTP root: bytes} for the truncation check.
    """
    index = Index(nodes, networks)
    ports = {}
    strangers = {}
    dyn_ip = {}   # an unknown client's dynamic address -> its wire id, for its file requests
    pool_ip = {}  # a port's boot-stage pool address (Kea, dnsmasq) -> the port, for its file requests

    def port(key):
        if key not in ports:
            ports[key] = _Port(key, index.ports[key])
        return ports[key]

    for ev in dhcp_events:
        if ev.kind == "ABANDON":
            continue
        ident = decode(ev.client)
        key, form = index.port_of(ident)
        if key is None and ev.ip and ev.kind in ("OFFER", "ACK", "NAK") and ev.ip in index.by_ip and not ident["wire"]:
            key, form = index.by_ip[ev.ip], None
        entry = {"time": ev.time, "kind": ev.kind, "ip": ev.ip, "wire": ev.client, "form": form or ident["form"],
                 "via": ev.via, "note": ev.note, "daemon": ev.daemon}
        pooled = (key is not None and ev.daemon in POOLED_BOOT_DAEMONS and entry["form"] in POOLED_BOOT_FORMS
                  and ev.kind in ("OFFER", "ACK") and ev.ip != index.ports[key]["ipv4"] and index.in_dynamic(ev.ip))
        if pooled:
            entry["pooled"] = True
            pool_ip[ev.ip] = key
        if key is not None:
            port(key).dhcp.append(entry)
        # a stranger: not in the inventory, or an inventoried port whose form was not reserved
        # (refused, or answered from the dynamic range)
        stranger = key is None or _refused(ev) or (ev.kind in ("OFFER", "ACK") and ev.ip != index.ports[key]["ipv4"]
                                                   and not pooled)
        if stranger and ident["wire"]:
            s = strangers.setdefault(ev.client, dict(ident, first=ev.time, last=ev.time, via=ev.via, requests=0,
                                                     answered=None, refused=None, collides_with=None,
                                                     collides_form=None))
            s["last"] = ev.time
            if ev.kind in ("DISCOVER", "REQUEST", "BOOTREQUEST"):
                s["requests"] += 1
            if ev.kind in ("OFFER", "ACK") and ev.ip:
                s["answered"] = ev.ip
                dyn_ip[ev.ip] = ev.client
            if _refused(ev):
                s["refused"] = ev.note
            if key is not None:
                s["collides_with"], s["collides_form"] = key, form
    unmatched = []
    for req in file_requests:
        role = classify(req.path[len(http_prefix):] if req.via == "http" and http_prefix and
                        req.path.startswith(http_prefix) else req.path, images)
        key = index.by_ip.get(req.ip) or pool_ip.get(req.ip)
        if key is not None:
            port(key).files.append(_file_entry(req, role, sizes, http_prefix))
        elif req.ip in dyn_ip:
            strangers[dyn_ip[req.ip]].setdefault("files", []).append(_file_entry(req, role, sizes, http_prefix))
        else:
            unmatched.append(req.as_dict())
    timelines = [_timeline(ports[k], index, images) for k in sorted(ports)
                 if hosts is None or hosts(index.ports[k]["host"])]
    unknown = sorted(strangers.values(), key=lambda s: (s["first"] or 0, s["wire"]))
    # FlexBoot on upstream dhcpd shows only the mac48; the same port's 8-byte GUID (its OS stage,
    # or RHEL's dhcpd) shows the rest: tell the admin they are one port
    by_mac48 = dict((s["mac48"], s["wire"]) for s in unknown if s["guid"])
    for s in unknown:
        if not s["guid"] and s["mac48"] in by_mac48:
            s["same_port_as"] = by_mac48[s["mac48"]]
    return {"nodes": timelines, "unknown": unknown, "unmatched": unmatched}


def _clock(t, relative_to=None):
    if t is None:
        return "-"
    if relative_to is not None:
        return "%.1f" % (t - relative_to)
    return time.strftime("%H:%M:%S", time.gmtime(t))


def table(result, relative_to=None):
    """The human table: one line per port, its findings below it, then the unknown clients."""
    head = ["host", "iface", "asked as", "dhcp", "loader", "menu", "kernel", "initrd", "os dhcp", "last stage"]
    rows = []
    notes = []
    for n in result["nodes"]:
        st = n["stages"]
        rows.append([n["host"], n["interface"], n["asked_as"] or "-", n["dhcp_firmware"] or "-",
                     _clock(st.get("loader"), relative_to), _clock(st.get("menu"), relative_to),
                     _clock(st.get("kernel"), relative_to), _clock(st.get("initrd"), relative_to),
                     _clock(st.get("dhcp-os"), relative_to),
                     "%s %s" % (n["last_stage"] or "none", _clock(n["last_time"], relative_to))])
        notes.append(n["findings"])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    for row, findings in zip(rows, notes):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        out.extend("    ! " + f for f in findings)
    if not rows:
        out.append("(no inventoried node in the logs)")
    if result["unknown"]:
        out.append("")
        out.append("clients not in the inventory (or asking under a form it does not reserve):")
        for s in result["unknown"]:
            what = []
            if s["guid"]:
                what.append("GUID %s" % s["guid"])
            elif s["kind"] == "ethernet-or-mac48":
                what.append("MAC or IPoIB mac48 %s" % s["mac"])
            what.append("form %s" % s["form"])
            what.append("via %s" % s["via"])
            what.append("answered %s" % s["answered"] if s["answered"] else "refused: %s" % (s["refused"] or "no answer"))
            if s["collides_with"]:
                what.append("same port as inventoried %s" % s["collides_with"])
            if s.get("same_port_as"):
                what.append("same port as %s" % s["same_port_as"])
            out.append("  %s  %s  %s" % (_clock(s["first"], relative_to), s["wire"], ", ".join(what)))
    return "\n".join(out)
