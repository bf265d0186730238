#!/usr/bin/env python3
"""How long Ansible takes to load a 10,000-node fabric inventory, per layout.

Generates the same nodes (one InfiniBand port and one Ethernet port each) in three
layouts and times, for each:
  * `ansible-inventory --list` (loading and serialising every host's variables);
  * a play that reads every node's interfaces once (fabric.boot.validate_inventory run
    once on localhost over all nodes) and computes the DHCP reservations.
Results go to docs/performance.md between the inventory markers.

Usage: benchmarks/inventory_scale.py [--nodes 10000] [--runs 3] [--write docs/performance.md]
"""
import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from perfdoc import replace_section  # noqa: E402

NETWORKS = """---
fabric_networks:
  fabric0:
    subnet: 172.16.0.0/16
    boot_server: 172.16.0.1
    dynamic_range: [172.16.250.1, 172.16.250.200]
  mgmt:
    subnet: 10.8.0.0/16
    boot_server: 10.8.0.1
"""

PLAY = """---
- name: Read every node's interfaces once
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate the whole inventory
      fabric.boot.validate_inventory:
        hosts: "{{ groups['compute'] }}"
      register: fabric_model
    - name: Count the DHCP reservations
      ansible.builtin.debug:
        msg: "{{ fabric_model.msg }}; {{ (fabric_model.fabric_nodes | fabric.boot.dhcp_reservations(fabric_networks)).fabric0 | length }} fabric reservations"
"""


def node(i):
    guid = "0x0002c90300%06x" % i
    mac = "52:54:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)
    ib_ip = "172.16.%d.%d" % (1 + i // 250, 2 + i % 250)
    eth_ip = "10.8.%d.%d" % (1 + i // 250, 2 + i % 250)
    return "node%05d" % i, guid, mac, ib_ip, eth_ip


def iface_yaml(indent, guid, mac, ib_ip, eth_ip):
    pad = " " * indent
    return (f"{pad}fabric_interfaces:\n"
            f"{pad}  - {{name: ib0, type: infiniband, port_guid: \"{guid}\", ipv4: {ib_ip}, network: fabric0}}\n"
            f"{pad}  - {{name: eno1, type: ethernet, mac: \"{mac}\", ipv4: {eth_ip}, network: mgmt}}\n")


def write_common(d):
    os.makedirs(os.path.join(d, "group_vars", "all"))
    with open(os.path.join(d, "group_vars", "all", "fabric.yml"), "w") as f:
        f.write(NETWORKS)


def layout_host_vars_files(d, n):
    """One YAML file per host (host_vars/), the layout of most HPC collections."""
    write_common(d)
    os.makedirs(os.path.join(d, "host_vars"))
    with open(os.path.join(d, "hosts.yml"), "w") as f:
        f.write("all:\n  children:\n    compute:\n      hosts:\n")
        for i in range(n):
            name, guid, mac, ib_ip, eth_ip = node(i)
            f.write("        %s:\n" % name)
            with open(os.path.join(d, "host_vars", name + ".yml"), "w") as h:
                h.write("---\n" + iface_yaml(0, guid, mac, ib_ip, eth_ip))
    return d


def layout_single_yaml(d, n):
    """Every host and its interfaces inline in one YAML inventory file."""
    write_common(d)
    with open(os.path.join(d, "hosts.yml"), "w") as f:
        f.write("all:\n  children:\n    compute:\n      hosts:\n")
        for i in range(n):
            name, guid, mac, ib_ip, eth_ip = node(i)
            f.write("        %s:\n" % name + iface_yaml(10, guid, mac, ib_ip, eth_ip))
    return d


def layout_node_table(d, n):
    """fabric.boot.node_table: one CSV row per interface."""
    write_common(d)
    with open(os.path.join(d, "nodes.csv"), "w") as f:
        f.write("host,interface,type,port_guid,mac,ipv4,network\n")
        for i in range(n):
            name, guid, mac, ib_ip, eth_ip = node(i)
            f.write(f"{name},ib0,infiniband,{guid},,{ib_ip},fabric0\n{name},eno1,ethernet,,{mac},{eth_ip},mgmt\n")
    with open(os.path.join(d, "nodes.fabric.yml"), "w") as f:
        f.write("plugin: fabric.boot.node_table\ntable: nodes.csv\ngroups: [compute]\n")
    return os.path.join(d, "nodes.fabric.yml")


LAYOUTS = [
    ("host_vars/ file per node", layout_host_vars_files),
    ("single YAML inventory", layout_single_yaml),
    ("fabric.boot.node_table (CSV)", layout_node_table),
]


def timed(cmd, env):
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("command failed (%s): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr[-3000:]))
    return elapsed, proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", help="markdown file to update (section between inventory markers)")
    args = ap.parse_args()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    work = tempfile.mkdtemp(prefix="fabric-inv-bench-")
    play = os.path.join(work, "read_all.yml")
    with open(play, "w") as f:
        f.write(PLAY)
    rows = []
    try:
        for label, make in LAYOUTS:
            d = os.path.join(work, make.__name__)
            os.makedirs(d)
            source = make(d, args.nodes)
            inv, run = [], []
            for _unused in range(args.runs):
                t, out = timed(["ansible-inventory", "-i", source, "--list"], env)
                inv.append(t)
                t, out = timed(["ansible-playbook", "-i", source, play], env)
                run.append(t)
            expected = "%d nodes, %d interfaces" % (args.nodes, 2 * args.nodes)
            if expected not in out:
                raise SystemExit("%s: the play did not read every node (%r not in output)" % (label, expected))
            rows.append((label, statistics.median(inv), min(inv), statistics.median(run), min(run)))
            print("%-32s inventory --list %6.1f s   read-all play %6.1f s" % (label, rows[-1][1], rows[-1][3]),
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ansible_version = subprocess.run(["ansible", "--version"], env=env, stdout=subprocess.PIPE,
                                     text=True, check=False).stdout.splitlines()[0]
    lines = [
        "### Loading a %d-node inventory" % args.nodes,
        "",
        "Measured by `benchmarks/inventory_scale.py --nodes %d --runs %d` on %s, %d cores, Python %s, %s." % (
            args.nodes, args.runs, platform.system(), os.cpu_count(), platform.python_version(), ansible_version),
        "Each node has one InfiniBand and one Ethernet interface. Median (best) wall time of %d runs." % args.runs,
        "",
        "| layout | `ansible-inventory --list` | play reading every node once (validate + reservations) |",
        "|---|---|---|",
    ]
    for label, inv_med, inv_min, run_med, run_min in rows:
        lines.append("| %s | %.1f s (%.1f s) | %.1f s (%.1f s) |" % (label, inv_med, inv_min, run_med, run_min))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        replace_section(args.write, "inventory", text)


if __name__ == "__main__":
    main()
