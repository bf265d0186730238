# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client a dhcpd log line names, decoded into the identity forms of docs/identities.md.

What dhcpd prints depends on the build and the client (see dhcpd.py):
- 6 bytes: an Ethernet MAC, or the mac48 of an IPoIB port. Upstream dhcpd prints chaddr, so
  FlexBoot (htype 32, hlen 6) and iPXE (htype 1, 01:mac48) both show as the mac48 and cannot
  be told apart from the log; RHEL's prints FlexBoot's client-id instead, iPXE's chaddr.
- 8 bytes: a port GUID in chaddr (htype 32, hlen 8: RHEL dhclient, NetworkManager) on upstream
  dhcpd: the OS-stage client, whose option 61 is 20:GUID.
- 20 bytes starting ff:00:00:00:00:00:02:00:00:02:c9:00 and 9 or 21 bytes starting 20: RHEL's
  dhcpd printing option 61 of a FlexBoot or 20:GUID client.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    FLEXBOOT_CLIENT_ID_PREFIX,
    HTYPE_INFINIBAND,
    IdentityError,
    PortGuid,
)


def decode(wire):
    """{wire, kind, form, guid, mac48, mac} for what dhcpd printed (lowercase colon hex) or None.

    kind: ethernet-or-mac48 (6 bytes), guid-chaddr, flexboot, htype32, unknown.
    form: the reservation form that answers it (flexboot, htype32, ipxe) when the bytes say so,
    "mac48" when only the 6-byte address is known.
    """
    out = {"wire": wire, "kind": "none", "form": None, "guid": None, "mac48": None, "mac": None}
    if not wire:
        return out
    try:
        raw = bytes.fromhex(wire.replace(":", ""))
    except ValueError:
        out["kind"] = "unknown"
        return out
    n = len(raw)
    if n == 6:
        out.update(kind="ethernet-or-mac48", mac=wire, mac48=wire, form="mac48")
    elif n == 8:
        out.update(kind="guid-chaddr", form="htype32")
    elif n == 20 and raw.startswith(FLEXBOOT_CLIENT_ID_PREFIX):
        out.update(kind="flexboot", form="flexboot")
    elif n in (9, 21) and raw[0] == HTYPE_INFINIBAND:
        out.update(kind="htype32", form="htype32")
    elif n == 7 and raw[0] == 1:
        out.update(kind="ipxe", form="ipxe", mac48=":".join("%02x" % b for b in bytearray(raw[1:])))
    else:
        out["kind"] = "unknown"
        return out
    if out["kind"] in ("guid-chaddr", "flexboot", "htype32"):
        try:
            guid = PortGuid.parse(wire)
        except IdentityError:
            out["kind"] = "unknown"
            return out
        out["guid"] = guid.canonical
        out["mac48"] = guid.mac48
    return out
