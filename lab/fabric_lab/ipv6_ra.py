"""End iPXE's IPv6 wait on the lab bridge: answer with an empty router advertisement.

iPXE runs its IPv4 (DHCP) and IPv6 configurators side by side and waits for both before
it boots. The IPv6 one (net/ndp.c, ipv6conf) sends router solicitations until its retry
timer gives up (about 13 s with ipxe-qemu 1.0.0+git-20190125, BIOS and EFI ROMs) unless
a router advertisement arrives while it waits: the first one stops the timer and, with
neither the M (managed) nor the O (other configuration) flag set, ends IPv6 configuration
at once with success and no DHCPv6. So the fix is one RA with flags 0, router lifetime 0
(not a default router: nothing routes through the lab) and no prefix options (no address
is configured): nothing changes for any client except that the wait ends.

It is sent to all-nodes (ff02::1) as an answer to every router solicitation (ff02::2) and
every `interval` seconds, so a client that missed one gets the next. Stdlib only; the
kernel fills in the ICMPv6 checksum of a raw ICMPv6 socket. Run it inside the lab netns:

    ip netns exec fbboot python3 lab/fabric_lab/ipv6_ra.py br0

or from Python: ``proc = start("fbboot", "br0")`` ... ``stop(proc)``.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

ICMPV6_ROUTER_SOLICITATION = 133
ICMPV6_ROUTER_ADVERTISEMENT = 134
ALL_NODES = "ff02::1"
ALL_ROUTERS = "ff02::2"


def advertisement():
    """RFC 4861 4.2: type, code, checksum (kernel), hop limit, flags M=O=0, lifetime 0, timers 0."""
    return struct.pack("!BBHBBHII", ICMPV6_ROUTER_ADVERTISEMENT, 0, 0, 0, 0, 0, 0, 0)


def _socket(ifname):
    index = socket.if_nametoindex(ifname)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # RFC 4861 6.1.2: receivers drop an RA whose hop limit is not 255
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    group = socket.inet_pton(socket.AF_INET6, ALL_ROUTERS) + struct.pack("@I", index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    return sock, index


def serve(ifname, interval=1.0, duration=None):
    """Send RAs on ifname until killed (or for duration seconds). Returns the number sent."""
    sock, index = _socket(ifname)
    ra = advertisement()
    sent, next_at, end = 0, 0.0, (time.monotonic() + duration) if duration else None
    while end is None or time.monotonic() < end:
        now = time.monotonic()
        if now >= next_at:
            sock.sendto(ra, (ALL_NODES, 0, 0, index))
            sent += 1
            next_at = now + interval
        ready, _, _ = select.select([sock], [], [], max(0.0, next_at - time.monotonic()))
        if ready:
            data = sock.recv(1500)
            if data and data[0] == ICMPV6_ROUTER_SOLICITATION:
                sock.sendto(ra, (ALL_NODES, 0, 0, index))
                sent += 1
    return sent


def start(netns, ifname="br0", interval=1.0):
    """Run serve() in netns as a child process (the bridge needs its IPv6 link-local address)."""
    return subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, os.path.abspath(__file__),
                             ifname, str(interval)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc):
    """Stop a sender start() returned; raises if it had already died (with its error output)."""
    if proc.poll() is not None:
        raise RuntimeError("IPv6 RA sender exited early (%s): %s"
                           % (proc.returncode, proc.stderr.read().decode(errors="replace")))
    proc.terminate()
    proc.wait(timeout=10)


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
