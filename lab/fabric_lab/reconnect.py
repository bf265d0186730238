"""The quick-reboot check of the lab (`--quick-reboot`, run by `make test`): a GRUB that powers off
while it closes its HTTP connection, then boots again on the same TCP port.

GRUB picks its source port from a clock that starts at the same value every boot, so a node
that reboots at once often sends its SYN on the 4-tuple of its last connection. When that node
powered off after its FIN, Apache's end sits in LAST-ACK: Linux answers the new SYN with a
challenge ACK (RFC 5961), GRUB acts only on SYN|ACK or RST, and it retries GRUB_NET_TRIES times
before "connection timeout". The http_server role shortens the orphan's life with
net.ipv4.tcp_orphan_retries (docs/roles/http_server.md, "Quick reboots").

A VM is not needed to create that state; what matters is the server's kernel and Apache, both
real here. The client is scapy inside the lab netns, from its own address (CLIENT_IP), whose
kernel RSTs are dropped (iptables), as a powered-off node sends none:

  1. SYN, SYN|ACK, a HEAD request over HTTP/1.1 (Apache keeps the connection), the response ACKed;
  2. FIN, as GRUB sends when it has the file; Apache answers with its FIN, which is never ACKed
     (the node is off): the server must now show the connection in LAST-ACK (`ss`);
  3. at once, SYNs from the same port on GRUB's own schedule (include/grub/net.h: 40 tries,
     400 ms + 20 ms per try, 31.6 s in all) until a SYN|ACK comes or GRUB would have given up.

The check runs it twice on the live server: with the value the role set (the SYN must be
answered within GRUB's tries), then with the kernel's default 0 (it must not be: the probe can
fail), and restores the role's value.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

from . import server

CLIENT_IP = "192.168.100.250"      # outside transfer.CLIENT_HOSTS
SYSCTL = "net.ipv4.tcp_orphan_retries"
GRUB_TRIES, GRUB_INTERVAL, GRUB_INTERVAL_ADDITION = 40, 0.4, 0.02   # grub-core: include/grub/net.h
HEAD_PATH = "/boot/images/lab/vmlinuz"
LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def grub_schedule():
    """Seconds GRUB waits for an answer after each of its SYNs."""
    return [GRUB_INTERVAL + i * GRUB_INTERVAL_ADDITION for i in range(GRUB_TRIES)]


# ---- the client, inside the lab netns (a child process: `ip netns exec`) -------------------------

def probe(port, server_pid):
    from scapy.all import IP, TCP, AsyncSniffer, conf, send   # pylint: disable=import-outside-toplevel
    conf.verb = 0
    srv = server.SERVER_IP
    seen = []
    sniffer = AsyncSniffer(iface=server.BRIDGE, store=False, prn=seen.append,
                           filter="tcp and src host %s and src port 80 and dst host %s and dst port %d"
                           % (srv, CLIENT_IP, port))
    sniffer.start()
    time.sleep(0.5)               # the capture socket is open before the first packet
    ip = IP(src=CLIENT_IP, dst=srv)

    def wait_for(pred, timeout):
        end = time.monotonic() + timeout
        while True:
            for p in list(seen):
                if pred(p):
                    return p
            if time.monotonic() >= end:
                return None
            time.sleep(0.005)

    out = {"port": port}
    try:
        seq = random.randrange(1 << 31)
        send(ip / TCP(sport=port, dport=80, flags="S", seq=seq))
        synack = wait_for(lambda p: p[TCP].flags == "SA", 3.0)
        if synack is None:
            out["error"] = "no SYN|ACK to the first connection"
            return out
        ack = synack[TCP].seq + 1
        request = ("HEAD %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: GRUB 2.06\r\n\r\n" % (HEAD_PATH, srv)).encode()
        send(ip / TCP(sport=port, dport=80, flags="PA", seq=seq + 1, ack=ack) / request)
        reply = wait_for(lambda p: b"\r\n\r\n" in bytes(p[TCP].payload), 5.0)
        if reply is None:
            out["error"] = "no HTTP response"
            return out
        out["status_line"] = bytes(reply[TCP].payload).split(b"\r\n", 1)[0].decode("ascii", "replace")
        ack = reply[TCP].seq + len(reply[TCP].payload)
        send(ip / TCP(sport=port, dport=80, flags="FA", seq=seq + 1 + len(request), ack=ack))
        fin = wait_for(lambda p: "F" in p[TCP].flags, 5.0)
        out["server_fin"] = fin is not None
        # never ACKed: the node is off
        time.sleep(0.1)
        # the server's sockets, read in its own network namespace (podman exec does not work from
        # inside `ip netns exec`, which remounts /sys and hides the cgroups)
        ss = subprocess.run(["nsenter", "-t", str(server_pid), "-n", "ss", "-Htn", "state", "last-ack",
                             "dst", CLIENT_IP], capture_output=True, text=True, check=False)
        out["last_ack"] = "%s:%d" % (CLIENT_IP, port) in ss.stdout.split()
        gone = time.monotonic()
        for i, wait in enumerate(grub_schedule()):
            seq = random.randrange(1 << 31)
            mark = len(seen)
            send(ip / TCP(sport=port, dport=80, flags="S", seq=seq))
            answer = wait_for(lambda p, s=seq: p[TCP].flags == "SA" and p[TCP].ack == s + 1, wait)
            out["challenge_acks"] = out.get("challenge_acks", 0) + sum(
                1 for p in seen[mark:] if p[TCP].flags == "A")
            if answer is not None:
                out.update(answered_try=i + 1, answered_after=round(time.monotonic() - gone, 2))
                send(ip / TCP(sport=port, dport=80, flags="R", seq=seq + 1))
                return out
        out.update(answered_try=None, answered_after=None, gave_up_after=round(time.monotonic() - gone, 2))
        return out
    finally:
        sniffer.stop()


# ---- outside the netns ---------------------------------------------------------------------------

def _netns(*cmd, check=True):
    return server.sh(["ip", "netns", "exec", server.NETNS] + list(cmd), check=check)


def _run_probe(port, server_pid):
    env = dict(os.environ, PYTHONPATH=LAB)
    proc = subprocess.run(["ip", "netns", "exec", server.NETNS, sys.executable, "-m", "fabric_lab.reconnect",
                           "--port", str(port), "--server-pid", str(server_pid)],
                          capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        return {"port": port, "error": "probe failed (rc %d): %s" % (proc.returncode, proc.stderr[-1500:])}
    return json.loads(proc.stdout)


def check():
    """Both variants on the live lab server; passed when the role's value lets GRUB's SYNs through
    and the kernel's default, in the same run, does not."""
    role_value = server.exec_("sysctl", "-n", SYSCTL).stdout.strip()
    server_pid = server.sh(["podman", "inspect", "-f", "{{.State.Pid}}", server.CONTAINER]).stdout.strip()
    rst_rule = ["OUTPUT", "-s", CLIENT_IP, "-p", "tcp", "--tcp-flags", "RST", "RST", "-j", "DROP"]
    server.sh(["ip", "-n", server.NETNS, "addr", "replace", CLIENT_IP + "/24", "dev", server.BRIDGE])
    _netns("iptables", "-I", *rst_rule)
    out = {"role_value": role_value, "variants": []}
    try:
        # ports of this run only: a LAST-ACK left by an earlier run (the default's lives ~100 s) must
        # not meet the first SYN
        ports = random.sample(range(40000, 60000), 2)
        for (name, value), port in zip((("role", role_value), ("kernel default", "0")), ports):
            server.exec_("sysctl", "-q", "-w", "%s=%s" % (SYSCTL, value))
            res = _run_probe(port, server_pid)
            res.update(variant=name, value=value)
            out["variants"].append(res)
    finally:
        server.exec_("sysctl", "-q", "-w", "%s=%s" % (SYSCTL, role_value), check=False)
        _netns("iptables", "-D", *rst_rule, check=False)
        server.sh(["ip", "-n", server.NETNS, "addr", "del", CLIENT_IP + "/24", "dev", server.BRIDGE], check=False)
    role, default = out["variants"]
    out["passed"] = bool(role_value != "0" and role.get("last_ack") and role.get("answered_try")
                         and default.get("last_ack") and "error" not in default
                         and default.get("answered_try") is None)
    return out


def describe(res):
    """One line per variant, for the lab's log."""
    lines = []
    for v in res["variants"]:
        if "error" in v:
            lines.append("%s=%s (%s): %s" % (SYSCTL, v["value"], v["variant"], v["error"]))
            continue
        fate = ("answered at GRUB's SYN %d, %.1f s after the node went" % (v["answered_try"], v["answered_after"])
                if v.get("answered_try") else "not answered in GRUB's %d SYNs (%.1f s): connection timeout"
                % (GRUB_TRIES, v["gave_up_after"]))
        lines.append("%s=%s (%s): LAST-ACK on the server %s, %d challenge ACKs, %s" % (
            SYSCTL, v["value"], v["variant"], "yes" if v.get("last_ack") else "NO", v.get("challenge_acks", 0), fate))
    return lines


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True, help="a process in the server's network namespace")
    a = ap.parse_args()
    json.dump(probe(a.port, a.server_pid), sys.stdout)
