"""The lab's wiring: netns fblab with bridge br0 (no route out), the boot-server container on it,
taps for the VMs, and a packet capture of the bridge.

Names are global on the host. FB_LAB_PREFIX (default "fblab") names the netns, the container
(<prefix>-server), the taps (<prefix>-t<N>) and the temporary directories (/tmp/<prefix>-*), so a
second lab (a benchmark, a developer's run) can run beside `make lab` without touching it. The
inventory host stays fblab-server; its ansible_host follows the prefix (lab/inventory/host_vars).

The netns and veth come from tests/ci/netns.sh, the one netns helper of the project. The
container is the systemd image every Molecule scenario uses; its eth0 is podman's NAT, used only
for the roles' package installs, and its pxe0 is the veth end on br0.
"""
import os
import re
import subprocess
import time

from . import container_ssh

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NETNS_SH = os.path.join(ROOT, "tests", "ci", "netns.sh")
IMAGE = os.environ.get("FBLAB_IMAGE", "localhost/debian12-systemd:latest")
PREFIX = os.environ.get("FB_LAB_PREFIX", "") or "fblab"
if not re.fullmatch(r"[a-z][a-z0-9]{0,9}", PREFIX):
    # the taps are <prefix>-t<N>: an interface name has at most 15 characters
    raise SystemExit("FB_LAB_PREFIX=%r: want a lower-case letter, then at most 9 letters or digits" % PREFIX)
NETNS = PREFIX
CONTAINER = PREFIX + "-server"
INVENTORY_HOST = "fblab-server"     # lab/inventory/hosts.yml; ansible_host = CONTAINER
SERVER_IP = "192.168.100.2"
BRIDGE = "br0"


def sh(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, text=True, capture_output=True, **kw)


def exists():
    have_ns = NETNS in sh(["ip", "netns", "list"]).stdout.split()
    have_ct = sh(["podman", "container", "exists", CONTAINER], check=False).returncode == 0
    return have_ns or have_ct


def up(volumes=()):
    """Start the container and cable it to br0 in netns NETNS; waits for its systemd."""
    cmd = ["podman", "run", "-d", "--name", CONTAINER, "--hostname", CONTAINER,
           "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--systemd", "always",
           # writable /proc/sys, as on a real boot server: http_server sets net.ipv4.tcp_orphan_retries
           # (per network namespace, so only the container's value changes)
           "--security-opt", "unmask=/proc/sys"]
    for v in volumes:
        cmd += ["-v", v]
    sh(cmd + [IMAGE, "/sbin/init"])
    sh([NETNS_SH, "up", NETNS, CONTAINER, SERVER_IP + "/24"])
    for attempt_ in range(120):
        state = sh(["podman", "exec", CONTAINER, "systemctl", "is-system-running", "--wait"], check=False).stdout.strip()
        if state in ("running", "degraded"):
            container_ssh.authorize(CONTAINER)     # site.yml reaches it over ssh (lab/inventory/host_vars)
            return
        time.sleep(1)
    raise RuntimeError("systemd in %s did not finish starting (state %r)" % (CONTAINER, state))


def down():
    """Remove everything up() and add_tap() made; safe to call when nothing exists."""
    sh([NETNS_SH, "down", NETNS], check=False)     # takes br0, the veth and the taps with it
    sh(["podman", "rm", "-f", "-t", "3", CONTAINER], check=False)
    container_ssh.forget(CONTAINER)


def add_tap(tap):
    sh(["ip", "-n", NETNS, "tuntap", "add", "dev", tap, "mode", "tap"])
    sh(["ip", "-n", NETNS, "link", "set", tap, "master", BRIDGE, "up"])


def exec_(*args, check=True):
    return sh(["podman", "exec", CONTAINER] + list(args), check=check)


def write_file(path, text):
    """Write text to path inside the container (through stdin: no quoting of the content)."""
    return sh(["podman", "exec", "-i", CONTAINER, "sh", "-c", 'cat > "$1"', "sh", path], input=text)


def journal(unit_pattern=None):
    """The container's journal with microsecond wall-clock stamps (journalctl -o short-unix)."""
    cmd = ["journalctl", "--no-pager", "-o", "short-unix"]
    if unit_pattern:
        cmd += ["-u", unit_pattern]
    return exec_(*cmd, check=False).stdout


class Capture:
    """tcpdump on br0 into a pcap file (full packets: DHCP, TFTP requests, HTTP requests)."""

    def __init__(self, path):
        self.path = path
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["ip", "netns", "exec", NETNS, "tcpdump", "-i", BRIDGE, "-U", "-n", "-s", "0",
                                      "-w", self.path, "udp or tcp port 80"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tcpdump prints "listening on br0" once the socket is open
        line = self.proc.stderr.readline()
        if self.proc.poll() is not None:
            raise RuntimeError("tcpdump did not start: %s" % line)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
