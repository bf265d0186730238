"""Discovery round trip (docs/lab.md, "Discovery"): a VM the inventory does not know asks for an
address and is refused, playbooks/discover.yml finds it in dhcpd's log through boot_status and
appends it to a node table, site.yml makes it bootable, and the same VM boots to its new
reservation and passes the same checks as every other path.

The committed lab inventory never changes: the round trip works on a copy in the lab's temporary
directory, with an empty node table beside it, the way a site adds a node table to its inventory.
"""
import csv
import os
import shutil
import time

from . import paths, server, vm

# Not in lab/inventory: a locally administered address of the lab's own range.
MAC = "52:54:00:fb:1a:f0"
NAME_PREFIX = "lab-found"
NETWORK = "lab"
GROUP = "lab_nodes"            # dhcp_server_clients_group / boot_loader_clients_group of the lab
TABLE_COLUMNS = "host,groups,interface,type,port_guid,mac,ipv4,network,boot_image"
# BIOS with qemu's iPXE ROM: the quickest firmware to reach its first DHCPDISCOVER
PATH = paths.Path("discovered", None, "a VM not in the inventory: discovered, then booted",
                  "seabios", None, [], False, "pxelinux/pxelinux.0", "tftp")


def inventory_copy(workdir):
    """lab/inventory plus a node table config and an empty node table: (inventory dir, table)."""
    inv = os.path.join(workdir, "inventory")
    shutil.copytree(paths.INVENTORY, inv)
    # outside the inventory directory, so ansible does not read the CSV as an INI inventory
    table = os.path.join(workdir, "nodes.csv")
    with open(table, "w") as f:
        f.write(TABLE_COLUMNS + "\n")
    with open(os.path.join(inv, "nodes.fabric.yml"), "w") as f:
        f.write("---\nplugin: fabric.boot.node_table\ntable: %s\n" % table)
    return inv, table


def knock(workdir, tap, limit=120):
    """Power the unknown VM on until dhcpd has logged its DHCPDISCOVER, then off: seconds taken."""
    b = vm.Boot("discover-knock", workdir, firmware=PATH.firmware, nic=paths.nic(PATH, {"mac": MAC}), tap=tap, netns=server.NETNS)
    b.start()
    try:
        while time.time() - b.started < limit:
            if "DHCPDISCOVER from %s" % MAC in server.journal():
                return time.time() - b.started
            b.poll()
            time.sleep(1)
    finally:
        b.kill()
    raise SystemExit("discovery: dhcpd never logged a DHCPDISCOVER from %s in %d s" % (MAC, limit))


def rows(table):
    with open(table, newline="") as f:
        return list(csv.DictReader(f))


def run(playbook, workdir, log):
    """Knock, discover, site.yml: the discovered node's (Path, facts, inventory dir, details)."""
    inv, table = inventory_copy(workdir)
    tap = "%s-td" % server.PREFIX
    server.add_tap(tap)
    since = time.time() - 2
    details = {"mac": MAC}
    details["knock_seconds"] = knock(workdir, tap)
    log("discovery: dhcpd logged the unknown %s after %.0f s" % (MAC, details["knock_seconds"]))
    rc, recap_ = playbook(workdir, "discover", "-e", "fabric_discover_table=%s" % table,
                          "-e", "fabric_discover_network=%s" % NETWORK, "-e", "fabric_discover_match=%s" % MAC,
                          "-e", "fabric_discover_count=1", "-e", "fabric_discover_since=@%d" % int(since),
                          "-e", "fabric_discover_name_prefix=%s" % NAME_PREFIX,
                          "-e", "fabric_discover_groups=%s" % GROUP, play="discover.yml", inventory=inv)
    details["discover_rc"] = rc
    details["rows"] = rows(table)
    if rc or len(details["rows"]) != 1:
        raise SystemExit("discovery: discover.yml rc=%d, node table rows %r" % (rc, details["rows"]))
    row = details["rows"][0]
    log("discovery: node table row %s" % row)
    rc, recap = playbook(workdir, "discovered", play="site.yml", inventory=inv)
    details["site"] = {"rc": rc, "recap": recap}
    if rc:
        raise SystemExit("discovery: site.yml with the new row failed (log %s/site-discovered.log)" % workdir)
    facts = {"node": row["host"], "iface": row["interface"], "mac": row["mac"].lower(), "ip": row["ipv4"],
             "tap": tap}
    return PATH._replace(node=row["host"]), facts, inv, details


def boot(workdir, path, facts, timeout):
    """The same VM again, now with its reservation and per-node menu."""
    return vm.Boot(path.name, workdir, firmware=path.firmware, nic=paths.nic(path, facts), tap=facts["tap"],
                   netns=server.NETNS).start().wait(timeout)
