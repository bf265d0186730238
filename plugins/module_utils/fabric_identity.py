# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Port GUIDs and every identity a boot client derives from one.

Stdlib only: this file is imported by filters on the controller and by modules
on managed hosts. A GUID is parsed once into a PortGuid; each identity is a
view of it. The byte layouts and their sources are in docs/identities.md.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

GUID_NOTATIONS = (
    "0x0002c903000c7811 (ibstat), 0002:c903:000c:7811 (ibv_devinfo), "
    "00:02:c9:03:00:0c:78:11, 00-02-c9-03-00-0c-78-11, 0002c903000c7811, "
    "a 20-byte IPoIB hardware address, a 20-byte FlexBoot client-id "
    "(ff:00:00:00:00:00:02:00:00:02:c9:00:<GUID>) or a client-id of type 20 "
    "followed by the GUID or by the 20-byte hardware address"
)
MAC_NOTATIONS = "52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456 or 525400123456"

# RFC 4390 section 2.1 and RFC 4361 section 6.1: type 255, a 4-byte IAID,
# then a DUID. FlexBoot uses IAID 0 and a DUID-EN (type 2) under Mellanox's
# IANA enterprise number 713 (0x2c9) whose identifier is 0x00 + port GUID.
FLEXBOOT_CLIENT_ID_PREFIX = bytes.fromhex("ff 00000000 0002 000002c9 00")
# ARPHRD_INFINIBAND / DHCP htype 32: NetworkManager, RHEL dhclient, NVIDIA UEFI.
HTYPE_INFINIBAND = 0x20
# DHCP htype 1: upstream iPXE presents an IPoIB port as Ethernet (ll_proto
# ARPHRD_ETHER, 6-byte link-layer address) and sends 01 + that address.
HTYPE_ETHERNET = 0x01
# First 12 bytes of a 20-byte IPoIB address: 4 bytes of flags + queue pair
# number (0x80 = connected mode capable, QPN 0x000048 as commonly seen) and
# the default GID prefix fe80::/64. The kernel picks the QPN at run time, which
# is why NetworkManager compares only the last 8 bytes (the GUID).
DEFAULT_IPOIB_PREFIX = "80:00:00:48:fe:80:00:00:00:00:00:00"

CLIENT_ID_FORMS = ("flexboot", "htype32", "ipxe")
DEFAULT_CLIENT_ID_FORMS = CLIENT_ID_FORMS

_HEX = re.compile(r"^[0-9a-fA-F]+$")


class IdentityError(ValueError):
    """A value that is not a usable identifier; the message says why."""


def _describe(value):
    if value is None:
        return "None"
    return repr(value)


def _split_hex(value, what, notations):
    """Turn a hex string in any field notation into bytes, or raise."""
    if value is None or isinstance(value, bool):
        raise IdentityError("%s is required, got %s; accepted: %s" % (what, _describe(value), notations))
    if isinstance(value, int):
        raise IdentityError(
            "%s %s is a number; quote it so YAML keeps it a string; accepted: %s" % (what, value, notations))
    if not isinstance(value, str):
        raise IdentityError("%s must be a string, got %s; accepted: %s" % (what, _describe(value), notations))
    text = value.strip()
    if not text:
        raise IdentityError("%s is empty; accepted: %s" % (what, notations))
    if text[:2] in ("0x", "0X"):
        digits = text[2:]
        if len(digits) != 16 or not _HEX.match(digits):
            raise IdentityError(
                "%s %s: 0x must be followed by exactly 16 hex digits; accepted: %s" % (what, _describe(value), notations))
        return bytes.fromhex(digits)
    for sep in (":", "-", "."):
        if sep in text:
            groups = text.split(sep)
            sizes = set(len(g) for g in groups)
            if len(sizes) != 1 or sizes.pop() not in (2, 4) or not all(_HEX.match(g) for g in groups):
                raise IdentityError(
                    "%s %s is not hex in groups of 2 or 4 digits; accepted: %s" % (what, _describe(value), notations))
            return bytes.fromhex("".join(groups))
    if not _HEX.match(text) or len(text) % 2:
        raise IdentityError("%s %s is not a hex string; accepted: %s" % (what, _describe(value), notations))
    return bytes.fromhex(text)


def _colon(raw):
    # bytes.hex with a separator (Python 3.8+) is C code: a third of the time of formatting
    # byte by byte, and each of 10,000 nodes' ports is shown in several forms per run.
    return bytes(raw).hex(":")


class PortGuid:
    """An 8-byte InfiniBand or Omni-Path port GUID."""

    __slots__ = ("raw",)

    def __init__(self, raw):
        if len(raw) != 8:
            raise IdentityError("a port GUID is 8 bytes, got %d" % len(raw))
        self.raw = bytes(raw)

    @classmethod
    def parse(cls, value, what="port GUID"):
        """Parse a GUID, a 20-byte IPoIB address or a client-id carrying one."""
        raw = _split_hex(value, what, GUID_NOTATIONS)
        n = len(raw)
        if n == 8:
            guid = raw
        elif n == 20:
            # Either an IPoIB hardware address (flags/QPN, GID prefix, GUID) or
            # a FlexBoot client-id: both end in the GUID.
            guid = raw[12:]
        elif n == 9 and raw[0] == HTYPE_INFINIBAND:
            guid = raw[1:]
        elif n == 21 and raw[0] == HTYPE_INFINIBAND:
            # 20 + the whole hardware address, as OpenStack Ironic/Neutron store it.
            guid = raw[13:]
        elif n == 6:
            raise IdentityError(
                "%s %s is 6 bytes, an Ethernet MAC, not a port GUID (8 bytes); "
                "an InfiniBand or Omni-Path interface needs its port GUID; accepted: %s"
                % (what, _describe(value), GUID_NOTATIONS))
        elif n == 7 and raw[0] == HTYPE_ETHERNET:
            raise IdentityError(
                "%s %s is an iPXE client-id (01 + 6 bytes): GUID bytes 4 and 5 are not in it, so the "
                "GUID cannot be recovered; accepted: %s" % (what, _describe(value), GUID_NOTATIONS))
        else:
            raise IdentityError(
                "%s %s has %d bytes, which is no GUID notation; accepted: %s"
                % (what, _describe(value), n, GUID_NOTATIONS))
        if guid == b"\x00" * 8:
            raise IdentityError("%s %s is all zero, which no port has" % (what, _describe(value)))
        return cls(guid)

    def __eq__(self, other):
        return isinstance(other, PortGuid) and other.raw == self.raw

    def __hash__(self):
        return hash(self.raw)

    def __str__(self):
        return _colon(self.raw)

    def __repr__(self):
        return "PortGuid(%s)" % self

    @property
    def canonical(self):
        return _colon(self.raw)

    @property
    def mac48(self):
        """The 6 bytes iPXE and FlexBoot show as ${mac}: GUID bytes 3 and 4 (0-based) dropped."""
        return _colon(self.raw[:3] + self.raw[5:])

    def client_id_bytes(self, form):
        if form == "flexboot":
            return FLEXBOOT_CLIENT_ID_PREFIX + self.raw
        if form == "htype32":
            return bytes(bytearray([HTYPE_INFINIBAND])) + self.raw
        if form == "ipxe":
            return bytes(bytearray([HTYPE_ETHERNET])) + self.raw[:3] + self.raw[5:]
        raise IdentityError(
            "client-id form %s is unknown; accepted: %s" % (_describe(form), ", ".join(CLIENT_ID_FORMS)))

    def client_id(self, form):
        """DHCP option 61 as lowercase colon hex, type byte included."""
        return _colon(self.client_id_bytes(form))

    def client_ids(self):
        return dict((form, self.client_id(form)) for form in CLIENT_ID_FORMS)

    def ipoib_hwaddr(self, prefix=DEFAULT_IPOIB_PREFIX):
        head = _split_hex(prefix, "IPoIB address prefix", "12 bytes, e.g. " + DEFAULT_IPOIB_PREFIX)
        if len(head) != 12:
            raise IdentityError(
                "IPoIB address prefix %s has %d bytes; it must be 12 (4 bytes flags/QPN + 8 bytes GID prefix), e.g. %s"
                % (_describe(prefix), len(head), DEFAULT_IPOIB_PREFIX))
        return _colon(head + self.raw)

    @property
    def link_local(self):
        """fe80::/64 + GUID with the universal/local bit set, as Linux addrconf_ifid_infiniband() does (|= 2)."""
        iid = bytearray(self.raw)
        iid[0] |= 0x02
        return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + bytes(iid)))


def parse_mac(value, what="MAC address"):
    """Parse a 6-byte Ethernet MAC into lowercase colon form; reject GUIDs and IPoIB addresses."""
    raw = _split_hex(value, what, MAC_NOTATIONS)
    if len(raw) == 8:
        raise IdentityError(
            "%s %s is 8 bytes, a port GUID, not an Ethernet MAC; give it as port_guid on an "
            "infiniband or omnipath interface; accepted: %s" % (what, _describe(value), MAC_NOTATIONS))
    if len(raw) == 20:
        raise IdentityError(
            "%s %s is a 20-byte IPoIB address, not an Ethernet MAC; give its GUID as port_guid on an "
            "infiniband interface; accepted: %s" % (what, _describe(value), MAC_NOTATIONS))
    if len(raw) != 6:
        raise IdentityError("%s %s has %d bytes, an Ethernet MAC has 6; accepted: %s"
                            % (what, _describe(value), len(raw), MAC_NOTATIONS))
    if raw[0] & 0x01:
        raise IdentityError("%s %s is a multicast address, which no NIC has" % (what, _describe(value)))
    if raw == b"\x00" * 6:
        raise IdentityError("%s %s is all zero, which no NIC has" % (what, _describe(value)))
    return _colon(raw)


def check_forms(forms, what="client_id_forms"):
    """Return the list of client-id forms, or raise naming the unknown ones."""
    if isinstance(forms, str) or not isinstance(forms, (list, tuple)):
        raise IdentityError("%s must be a list of forms from %s, got %s"
                            % (what, ", ".join(CLIENT_ID_FORMS), _describe(forms)))
    bad = [f for f in forms if f not in CLIENT_ID_FORMS]
    if bad:
        raise IdentityError("%s has unknown form(s) %s; accepted: %s"
                            % (what, ", ".join(_describe(b) for b in bad), ", ".join(CLIENT_ID_FORMS)))
    return list(forms)
