# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""InfiniBand/RDMA ports and network interfaces of a live node, read from sysfs (stdlib only).

Layout (Linux Documentation/ABI/stable/sysfs-class-infiniband, sysfs-class-net, and
Documentation/infiniband/ipoib.rst for the IPoIB attributes):

  /sys/class/infiniband/<dev>/node_guid            0002:c903:000c:7810
  /sys/class/infiniband/<dev>/node_type, fw_ver
  /sys/class/infiniband/<dev>/ports/<n>/state      4: ACTIVE
  /sys/class/infiniband/<dev>/ports/<n>/phys_state 5: LinkUp
  /sys/class/infiniband/<dev>/ports/<n>/rate       100 Gb/sec (4X EDR)
  /sys/class/infiniband/<dev>/ports/<n>/link_layer InfiniBand | Ethernet
  /sys/class/infiniband/<dev>/ports/<n>/lid        0x5
  /sys/class/infiniband/<dev>/ports/<n>/gids/0     fe80:0000:0000:0000:0002:c903:000c:7811
  /sys/class/infiniband/<dev>/ports/<n>/gid_attrs/ndevs/0   the netdev of GID 0 (RoCE)
  /sys/class/net/<if>/type (32 = ARPHRD_INFINIBAND, 1 = Ethernet), address, mtu, operstate
  /sys/class/net/<if>/mode (IPoIB: datagram | connected), pkey

An InfiniBand port's GUID is the interface ID of GID 0 (its last 8 bytes); an IPoIB interface's
20-byte address ends in the same 8 bytes, which is how an interface is tied to its port.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import IdentityError, PortGuid

ARPHRD = {1: "ether", 32: "infiniband", 772: "loopback"}


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def _after_colon(value):
    """'4: ACTIVE' -> 'ACTIVE' (the kernel prints the number and the name)."""
    if value is None:
        return None
    return value.split(":", 1)[1].strip() if ":" in value else value


def _gid_guid(gid):
    if not gid:
        return None
    digits = gid.replace(":", "")
    if len(digits) != 32:
        return None
    try:
        return PortGuid.parse(digits[16:]).canonical
    except IdentityError:
        return None          # an all-zero GID (an unused table entry)


def _int(value):
    try:
        return int(value, 0)
    except (TypeError, ValueError):
        return None


def read_infiniband(sysfs="/sys"):
    """{device: {node_guid, node_type, fw_ver, ports: {number: {...}}}}."""
    base = os.path.join(sysfs, "class", "infiniband")
    out = {}
    if not os.path.isdir(base):
        return out
    for dev in sorted(os.listdir(base)):
        ddir = os.path.join(base, dev)
        node_guid = _read(os.path.join(ddir, "node_guid"))
        try:
            node_guid = PortGuid.parse(node_guid).canonical if node_guid else None
        except IdentityError:
            pass
        ports = {}
        pdir = os.path.join(ddir, "ports")
        for num in sorted(os.listdir(pdir) if os.path.isdir(pdir) else [], key=lambda n: _int(n) or 0):
            p = os.path.join(pdir, num)
            gid0 = _read(os.path.join(p, "gids", "0"))
            layer = _read(os.path.join(p, "link_layer"))
            ports[num] = {
                "port": _int(num),
                "link_layer": layer,
                "state": _after_colon(_read(os.path.join(p, "state"))),
                "phys_state": _after_colon(_read(os.path.join(p, "phys_state"))),
                "rate": _read(os.path.join(p, "rate")),
                "lid": _int(_read(os.path.join(p, "lid"))),
                "gid0": gid0,
                # RoCE ports have no port GUID of their own: GID 0 derives from the Ethernet MAC
                "port_guid": _gid_guid(gid0) if (layer or "").lower() == "infiniband" else None,
                "netdev": _read(os.path.join(p, "gid_attrs", "ndevs", "0")),
            }
        out[dev] = {"node_guid": node_guid, "node_type": _after_colon(_read(os.path.join(ddir, "node_type"))),
                    "fw_ver": _read(os.path.join(ddir, "fw_ver")), "ports": ports}
    return out


def read_net(sysfs="/sys", infiniband=None):
    """{interface: {link_type, address, mtu, operstate, mode, pkey, port_guid, ib_device, ib_port}}."""
    base = os.path.join(sysfs, "class", "net")
    ib = infiniband if infiniband is not None else read_infiniband(sysfs)
    by_guid, by_netdev = {}, {}
    for dev, d in ib.items():
        for num, port in d["ports"].items():
            if port["port_guid"]:
                by_guid[port["port_guid"]] = (dev, port["port"])
            if port["netdev"]:
                by_netdev[port["netdev"]] = (dev, port["port"])
    out = {}
    if not os.path.isdir(base):
        return out
    for name in sorted(os.listdir(base)):
        ndir = os.path.join(base, name)
        htype = _int(_read(os.path.join(ndir, "type")))
        link = ARPHRD.get(htype, str(htype))
        if link == "loopback":
            continue
        address = _read(os.path.join(ndir, "address"))
        entry = {"link_type": link, "address": address, "mtu": _int(_read(os.path.join(ndir, "mtu"))),
                 "operstate": _read(os.path.join(ndir, "operstate")), "mode": None, "pkey": None,
                 "port_guid": None, "ib_device": None, "ib_port": None}
        if link == "infiniband":
            entry["mode"] = _read(os.path.join(ndir, "mode"))
            entry["pkey"] = _read(os.path.join(ndir, "pkey"))
            try:
                entry["port_guid"] = PortGuid.parse(address).canonical if address else None
            except IdentityError:
                pass
        owner = by_guid.get(entry["port_guid"]) if entry["port_guid"] else by_netdev.get(name)
        if owner:
            entry["ib_device"], entry["ib_port"] = owner
        out[name] = entry
    return out


def facts(sysfs="/sys"):
    ib = read_infiniband(sysfs)
    return {"infiniband": ib, "net": read_net(sysfs, ib)}
