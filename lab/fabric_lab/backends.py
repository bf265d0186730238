"""The lab on Kea and dnsmasq (docs/lab.md, "DHCP backends").

--dhcp kea|dnsmasq serves the whole lab with that daemon; --switch kea,dnsmasq switches the live
lab to each in turn after the ISC boots (site.yml with the new dhcp_server_backend, the same run
a site does) while a prober sends a DHCPDISCOVER every 0.1 s, and boots the UEFI path again
through the new daemon. The prober is the DHCP test client's --watch mode
(tests/integration/dhcp/dhcp_client.py): no DISCOVER may get two offers, and the longest
stretch without an answer is the switch's gap.

Both run on a copy of lab/inventory that sets dhcp_server_backend on the boot server and leaves
out the paths the backend cannot serve there: the ipxe-ib node is an InfiniBand port on the
directly attached lab network, which Kea refuses, and dnsmasq gives a port's boot-stage forms
pool addresses only (docs/roles/dhcp_server.md, "Backends"), which the lab network has none of.
"""
import json
import os
import shutil
import subprocess
import sys

import yaml

from . import paths, server

BACKENDS = ("isc", "kea", "dnsmasq")
ISC_ONLY = ("ipxe-ib",)
SWITCH_PATH = "uefi-tftp"       # booted again through each backend the lab switches to
CLIENT = os.path.join(server.ROOT, "tests", "integration", "dhcp", "dhcp_client.py")

# One line per DHCPACK, by backend, as each daemon logs it to the journal:
# ISC "DHCPACK on <ip> to <mac> via <if>", Kea "DHCP4_LEASE_ALLOC [hwtype=1 <mac>], cid=...:
# lease <ip> has been allocated" (INFO), dnsmasq "DHCPACK(<if>) <ip> <mac>".
ACK_LINE = {
    "isc": lambda ip, mac, line: ("DHCPACK on %s to %s " % (ip, mac)) in line,
    "kea": lambda ip, mac, line: "DHCP4_LEASE_ALLOC [hwtype=1 %s]" % mac in line and "lease %s has been allocated" % ip in line,
    "dnsmasq": lambda ip, mac, line: "DHCPACK(" in line and (") %s %s" % (ip, mac)) in line,
}


def check(value):
    if value not in BACKENDS:
        raise SystemExit("DHCP backend %r: want one of %s" % (value, ", ".join(BACKENDS)))
    return value


def acks(journal, backend, ip, mac, since=0.0):
    """DHCPACK lines of backend for ip/mac in a journal read with -o short-unix, at or after since."""
    n = 0
    for line in journal.splitlines():
        stamp = line.split(" ", 1)[0]
        try:
            if float(stamp) < since:
                continue
        except ValueError:
            continue
        n += bool(ACK_LINE[backend](ip, mac, line))
    return n


def inventory_copy(workdir, backend):
    """lab/inventory served by backend, without the paths it cannot serve: the copy's directory."""
    inv = os.path.join(workdir, "inventory-%s" % backend)
    shutil.rmtree(inv, ignore_errors=True)
    shutil.copytree(paths.INVENTORY, inv)
    hosts_file = os.path.join(inv, "hosts.yml")
    with open(hosts_file) as f:
        hosts = yaml.safe_load(f)
    nodes = hosts["all"]["children"]["lab_nodes"]["hosts"]
    for p in paths.PATHS:
        if p.name in ISC_ONLY:
            nodes.pop(p.node, None)
    with open(hosts_file, "w") as f:
        f.write("---\n# lab/inventory for DHCP backend %s, without the path(s) %s (lab/fabric_lab/backends.py)\n"
                % (backend, ", ".join(ISC_ONLY)))
        yaml.safe_dump(hosts, f, sort_keys=False)
    with open(os.path.join(inv, "host_vars", "%s.yml" % server.INVENTORY_HOST), "a") as f:
        f.write("dhcp_server_backend: %s\n" % backend)
    return inv


def servable(backend, selected):
    """The path names backend serves in the lab, of those selected (all when empty)."""
    names = selected or [p.name for p in paths.PATHS]
    if backend == "isc":
        return names
    refused = [n for n in names if n in ISC_ONLY]
    if refused and selected:
        raise SystemExit("path(s) %s cannot boot through %s in the lab (lab/fabric_lab/backends.py)"
                         % (", ".join(refused), backend))
    return [n for n in names if n not in ISC_ONLY]


class Prober:
    """dhcp_client.py --watch in the lab's netns, on the bridge: a DISCOVER for mac every 0.1 s."""

    def __init__(self, mac, interval=0.1):
        self.case = {"id": "watch", "iface": server.BRIDGE, "htype": 1, "hlen": 6,
                     "chaddr": mac.replace(":", ""), "src_mac": mac}
        self.interval = interval
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", server.NETNS, sys.executable, CLIENT, "--watch",
                                      "--interval", str(self.interval)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write(json.dumps([self.case]))
        self.proc.stdin.close()
        self.proc.stdin = None          # or communicate() would flush it
        line = self.proc.stderr.readline()      # "watching" once its socket is bound
        if "watching" not in line:
            raise RuntimeError("the DHCP prober did not start: %s%s" % (line, self.proc.stderr.read()))
        return self

    def stop(self):
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=30)
        if self.proc.returncode != 0 or not out:
            raise RuntimeError("the DHCP prober failed (rc %s): %s" % (self.proc.returncode, err[-2000:]))
        return summary(json.loads(out)["probes"], self.interval)


def summary(probes, interval):
    """What the prober saw: answered, double-answered, the longest gap, who answered when."""
    answered = [p for p in probes if p["offers"]]
    double = [p for p in probes if len(p["offers"]) > 1]
    gap, last = 0.0, None
    for p in answered:
        if last is not None:
            gap = max(gap, p["t"] - last - interval)
        last = p["t"]
    # consecutive probes answered with the same option layout: one daemon's stretch
    stretches = []
    for p in answered:
        sig = p["offers"][0][1]
        if stretches and stretches[-1]["signature"] == sig:
            stretches[-1].update(last=p["t"], probes=stretches[-1]["probes"] + 1)
        else:
            stretches.append({"signature": sig, "first": p["t"], "last": p["t"], "probes": 1})
    return {"probes": len(probes), "answered": len(answered), "double": len(double),
            "double_at": [p["t"] for p in double[:10]], "longest_gap_s": round(gap, 2),
            "duration_s": probes[-1]["t"] if probes else 0.0, "stretches": stretches}


def switch(playbook, workdir, log, backend, probe_mac):
    """site.yml on the live lab with backend; the prober watches. Returns (inventory, result)."""
    inv = inventory_copy(workdir, backend)
    prober = Prober(probe_mac).start()
    try:
        rc, recap = playbook(workdir, "switch-%s" % backend, play="site.yml", inventory=inv)
    finally:
        watch = prober.stop()
    log("switch to %s: site.yml rc=%d; prober: %d DISCOVERs, %d answered, %d answered twice, longest gap %.1f s, "
        "%d stretch(es) %s" % (backend, rc, watch["probes"], watch["answered"], watch["double"],
                               watch["longest_gap_s"], len(watch["stretches"]),
                               " then ".join("%.1f-%.1f s" % (s["first"], s["last"]) for s in watch["stretches"])))
    running = server.exec_("systemctl", "is-active", "isc-dhcp-server", "kea-dhcp4-server", "dnsmasq",
                           check=False).stdout.split()
    return inv, {"backend": backend, "rc": rc, "recap": recap, "watch": watch,
                 "active": dict(zip(("isc", "kea", "dnsmasq"), running))}
