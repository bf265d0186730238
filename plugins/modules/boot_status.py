#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: boot_status
version_added: 0.2.0
author: fabric.boot contributors (@fabric-boot)
short_description: Where each node is in its network boot, and who else is asking, from the boot server's logs
description:
  - Runs on a boot server and reads what its daemons logged since a time, ISC dhcpd and in.tftpd from the
    journal (C(journalctl -o json)) or from syslog files, and Apache's access log.
  - Returns per node interface of the inventory a timeline, with the identity form that asked (Ethernet MAC,
    the 6-byte mac48 of FlexBoot or iPXE, the port GUID of an OS-stage client, and on RHEL's dhcpd the
    FlexBoot or C(20:) client-id), the DHCP answer, the boot loader fetched over TFTP or HTTP (HTTPClient
    firmware recognised by its User-Agent), the menu (the node's own file, or the default one, a sign that
    the per-node file is missing), the kernel and initrd (bytes sent compared with the file's size under
    O(tftp_root), a transfer cut short being a finding), the OS-stage DHCP and the last stage reached.
  - Diagnoses what it can, for example a port whose firmware form was answered while its OS-stage form never
    was, with the network's C(client_id_forms) that lacks it.
  - Lists every DHCP client the inventory does not know, or knows under a form the network does not reserve,
    with its identity decoded (the GUID where the wire form carries it), how it was answered, and the
    inventoried port it collides with.
  - Only reads; it changes nothing on the server. The log formats and a screen of output are in docs/status.md.
options:
  since:
    description:
      - Start of the window, C(-30min), C(-2h), C(-1d), C(@<seconds since the epoch>) or C(YYYY-MM-DD HH:MM:SS) in UTC.
      - Empty reads everything the logs hold.
    type: str
    default: "-1h"
  dhcp_log:
    description:
      - C(journal) reads the DHCP daemon's messages from the journal, whichever C(dhcp_server_backend) runs, ISC
        dhcpd (syslog identifier C(dhcpd)), Kea (C(kea-dhcp4), its INFO messages) or dnsmasq (C(dnsmasq-dhcp)).
      - A path reads a syslog file (C(/var/log/messages) on RHEL, C(/var/log/syslog) on Debian) or
        C(journalctl -o short-iso) output.
      - Kea logs no DISCOVER or REQUEST at INFO, so with Kea a boot's DHCP stages are its offers and acks, and a
        refused client is its failed allocation.
    type: str
    default: journal
  tftp_log:
    description: Like O(dhcp_log), for in.tftpd (identifier C(in.tftpd)); in.tftpd must run with C(--verbose).
    type: str
    default: journal
  http_log:
    description:
      - Apache access logs to read (common, combined or Debian's vhost_combined format). Missing files are skipped.
      - Debian's Apache logs requests that no enabled site claims, which is every boot request once
        http_server has turned the default site off, to C(other_vhosts_access.log).
      - Empty list to read none.
    type: list
    elements: path
    default: [/var/log/apache2/access.log, /var/log/apache2/other_vhosts_access.log, /var/log/httpd/access_log]
  nodes:
    description: The normalised nodes, RV(fabric.boot.validate_inventory#module:fabric_nodes) of C(fabric.boot.validate_inventory).
    type: dict
    default: {}
  networks:
    description: The normalised networks, RV(fabric.boot.validate_inventory#module:fabric_networks) (dynamic ranges, client-id forms).
    type: dict
    default: {}
  boot_images:
    description: C(fabric_boot_images), to recognise each image's kernel and initrd paths.
    type: dict
    default: {}
  hosts:
    description: Shell patterns of host names to report (C(node0*)); unknown clients are always listed.
    type: list
    elements: str
    default: ["*"]
  tftp_root:
    description: The TFTP root, where the sizes of the fetched files are read for the truncation check.
    type: path
    default: /var/lib/tftpboot
  http_prefix:
    description: The HTTP alias of the TFTP root without its leading slash and with a trailing one, as in C(fabric_http_boot_alias).
    type: str
    default: boot/
  syslog_year:
    description: Year of traditional syslog stamps (C(Dec  2 17:37:35)), which carry none. Default the current year.
    type: int
  syslog_utc_offset:
    description: Seconds east of UTC of traditional syslog stamps.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Only reads logs and file sizes; runs the same way in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: posix
    description: Runs on the boot server (Linux with journald or syslog files).
notes:
  - Upstream ISC dhcpd (Debian) logs the BOOTP chaddr, so FlexBoot and iPXE both appear as the port's mac48 and
    a FlexBoot GUID cannot be recovered from its log line; RHEL's dhcpd logs the client-id of InfiniBand
    clients, which carries the GUID. An OS-stage client with chaddr = GUID shows its GUID on both.
  - in.tftpd logs no transfer size, so a truncated TFTP transfer is not detected; Apache's is.
  - For watching a boot live, see the follow mode of C(python -m ansible_collections.fabric.boot.plugins.module_utils.boot_log.cli)
    in docs/status.md.
seealso:
  - module: fabric.boot.validate_inventory
"""

EXAMPLES = r"""
- name: Validate the inventory once, for its normalised nodes
  fabric.boot.validate_inventory:
  run_once: true
  delegate_to: localhost
  register: fabric_model

- name: Boot status of the rack-1 nodes over the last 20 minutes
  fabric.boot.boot_status:
    since: "-20min"
    hosts: ["r1n*"]
    nodes: "{{ fabric_model.fabric_nodes }}"
    networks: "{{ fabric_model.fabric_networks }}"
  register: boot

- name: Show the table
  ansible.builtin.debug:
    msg: "{{ boot.table.splitlines() }}"

- name: RHEL boot server logging to /var/log/messages
  fabric.boot.boot_status:
    dhcp_log: /var/log/messages
    tftp_log: /var/log/messages
    http_log: [/var/log/httpd/access_log]
    nodes: "{{ fabric_model.fabric_nodes }}"
"""

RETURN = r"""
nodes:
  description: One timeline per inventoried port that appears in the logs.
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: Inventory host name.
      type: str
    interface:
      description: Interface name.
      type: str
    asked_as:
      description: "First identity form seen: ethernet, mac48 (FlexBoot or iPXE), flexboot, htype32, ipxe."
      type: str
    dhcp_firmware:
      description: Address the firmware stage was given.
      type: str
    dhcp_os:
      description: Address the OS stage was given.
      type: str
    loader:
      description: The boot loader the firmware fetched first (via and path), for example C(tftp uefi-sb/shimx64.efi) before GRUB.
      type: str
    menu:
      description: Menu read, with C((default)) when it was the default menu.
      type: str
    stages:
      description: Stage name to the time (seconds since the epoch) it was reached.
      type: dict
    last_stage:
      description: "Last of dhcp-firmware, loader, menu, kernel, initrd, dhcp-os reached."
      type: str
    last_time:
      description: When it was reached (seconds since the epoch).
      type: float
    findings:
      description: What went wrong or is missing, with the likely cause.
      type: list
      elements: str
    dhcp:
      description: The DHCP messages of this port.
      type: list
      elements: dict
    files:
      description: The files it requested (via, path, role, ok, bytes, size, truncated).
      type: list
      elements: dict
  sample:
    - host: node003
      interface: eno1
      asked_as: ethernet
      menu: uefi/grub.cfg (default)
      last_stage: initrd
      findings: ["per-node menu uefi/grub.cfg-01-52-54-00-00-00-13 is missing: the node got the default menu uefi/grub.cfg"]
unknown:
  description: DHCP clients the inventory lacks, or has under a form the network does not reserve.
  returned: always
  type: list
  elements: dict
  contains:
    wire:
      description: The client as dhcpd printed it.
      type: str
    kind:
      description: "ethernet-or-mac48, guid-chaddr, flexboot, htype32 or unknown."
      type: str
    guid:
      description: The port GUID when the wire form carries it.
      type: str
    mac48:
      description: The 6-byte address (Ethernet MAC or IPoIB mac48).
      type: str
    via:
      description: Interface or relay it came through.
      type: str
    first:
      description: First seen (seconds since the epoch).
      type: float
    answered:
      description: Address it was given (dynamic range), if any.
      type: str
    refused:
      description: dhcpd's reason for not answering.
      type: str
    collides_with:
      description: The inventoried port (host:interface) with the same GUID, MAC or mac48.
      type: str
table:
  description: The same as a table for people, findings under each node, unknown clients at the end.
  returned: always
  type: str
since:
  description: Start of the window read, seconds since the epoch (null when everything was read).
  returned: always
  type: float
sources:
  description: What was read, with the number of log records or lines of each.
  returned: always
  type: dict
"""

import fnmatch
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.fabric.boot.plugins.module_utils.boot_log import apache, sources, timeline


def _read_log(module, name, what, since, identifiers):
    if name == "journal":
        cmd = sources.journal_command(since, identifiers, module.get_bin_path("journalctl", required=True))
        rc, out, err = module.run_command(cmd)
        if rc != 0:
            module.fail_json(msg="%s=journal: %s failed (rc %d): %s" % (what, " ".join(cmd), rc, err.strip()))
        return out, "journal (%s)" % ", ".join(identifiers)
    try:
        with open(name, "rb") as handle:
            return handle.read().decode("utf-8", "replace"), name
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s=%s cannot be read: %s" % (what, name, exc))


def _sizes(root, requests, prefix):
    sizes = {}
    for req in requests:
        path = req.path[len(prefix):] if req.via == "http" and prefix and req.path.startswith(prefix) else req.path
        full = os.path.normpath(os.path.join(root, path))
        if path in sizes or not full.startswith(os.path.normpath(root) + os.sep):
            continue
        try:
            sizes[path] = os.stat(full).st_size
        except OSError:
            pass
    return sizes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            since=dict(type="str", default="-1h"),
            dhcp_log=dict(type="str", default="journal"),
            tftp_log=dict(type="str", default="journal"),
            http_log=dict(type="list", elements="path", default=list(apache.ACCESS_LOGS)),
            nodes=dict(type="dict", default={}),
            networks=dict(type="dict", default={}),
            boot_images=dict(type="dict", default={}),
            hosts=dict(type="list", elements="str", default=["*"]),
            tftp_root=dict(type="path", default="/var/lib/tftpboot"),
            http_prefix=dict(type="str", default="boot/"),
            syslog_year=dict(type="int"),
            syslog_utc_offset=dict(type="int", default=0),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        since = sources.parse_since(p["since"])
    except ValueError as exc:
        module.fail_json(msg="since: %s" % exc)
    for host, ifaces in p["nodes"].items():
        if not isinstance(ifaces, list) or not all(isinstance(i, dict) and i.get("name") for i in ifaces):
            module.fail_json(msg="nodes: %s: expected a list of normalised interfaces (fabric_nodes of "
                             "fabric.boot.validate_inventory), got %r" % (host, ifaces))
    records = []
    read = {}
    texts = {}
    for what, ident in (("dhcp_log", sources.DHCP_IDENTIFIERS), ("tftp_log", ("in.tftpd",))):
        name = p[what]
        if (name, ident) in texts:
            continue
        if name != "journal" and name in [k[0] for k in texts]:
            continue      # the same file holds both daemons
        text, label = _read_log(module, name, what, since, ident)
        texts[(name, ident)] = text
        recs = sources.read_records(text, since, p["syslog_year"], p["syslog_utc_offset"],
                                    program=ident[0])
        read[label] = len(recs)
        records.extend(recs)
    access = []
    for path in p["http_log"]:
        if not os.path.exists(path):
            continue
        try:
            with open(path, "rb") as handle:
                lines = handle.read().decode("utf-8", "replace").splitlines()
        except (IOError, OSError) as exc:
            module.fail_json(msg="http_log %s cannot be read: %s" % (path, exc))
        read[path] = len(lines)
        access.extend(lines)
    records.sort(key=lambda r: r.time or 0)
    dhcp_events, requests = sources.events_from(records, access, since)
    patterns = p["hosts"]
    sizes = _sizes(p["tftp_root"], requests, p["http_prefix"])

    def wanted(host):
        return any(fnmatch.fnmatchcase(host, pat) for pat in patterns)

    result = timeline.build(dhcp_events, requests, p["nodes"], p["networks"], p["boot_images"], sizes,
                            p["http_prefix"], hosts=wanted)
    module.exit_json(changed=False, nodes=result["nodes"], unknown=result["unknown"],
                     unmatched_requests=len(result["unmatched"]), table=timeline.table(result),
                     since=since, sources=read)


if __name__ == "__main__":
    main()
