"""Raw DHCP client for the protocol test; run inside the test's network namespace.

Reads a JSON list of cases on stdin, does DISCOVER -> OFFER -> REQUEST -> ACK for each with
scapy on a raw socket, and prints a JSON object {case id: {"offer": reply, "ack": reply}}
where a reply is null when nothing came back before the timeout. The packets carry exactly
the fields each kind of boot client puts on the wire (htype, hlen, chaddr, option 61,
option 60, option 93); nothing here consults the collection's code.
"""
import json
import random
import select
import sys
import time

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf

conf.verb = 0


def _options(case, msg_type, extra=()):
    opts = [("message-type", msg_type)]
    if case.get("client_id"):
        opts.append(("client_id", bytes.fromhex(case["client_id"])))
    if case.get("arch") is not None:
        opts.append(("pxe_client_architecture", case["arch"].to_bytes(2, "big")))
    if case.get("vendor_class"):
        opts.append(("vendor_class_id", case["vendor_class"].encode()))
    opts.extend(extra)
    # 1 subnet mask, 3 routers, 6 DNS, 12 host name, 15 domain, 51 lease time, 54 server id,
    # 60 vendor class (HTTP boot firmware asks for it back), 66/67 boot server and file.
    opts.append(("param_req_list", [1, 3, 6, 12, 15, 51, 54, 60, 66, 67]))
    opts.append("end")
    return opts


def _packet(case, xid, options):
    chaddr = bytes.fromhex(case.get("chaddr", ""))
    relay = case.get("relay")
    bootp = BOOTP(op=1, htype=case["htype"], hlen=case["hlen"], xid=xid, flags=0x8000,
                  chaddr=chaddr.ljust(16, b"\x00"), hops=1 if relay else 0, giaddr=relay or "0.0.0.0")
    if relay:
        # As a relay agent forwards it (RFC 1542): unicast from the relay's address, port 67 to 67,
        # the client's BOOTP header and options unchanged, giaddr = the relay's address.
        return (Ether(src=case["src_mac"], dst=case["server_mac"])
                / IP(src=relay, dst=case["server_ip"])
                / UDP(sport=67, dport=67) / bootp / DHCP(options=options))
    return (Ether(src=case["src_mac"], dst="ff:ff:ff:ff:ff:ff")
            / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67) / bootp / DHCP(options=options))


def _reply_fields(pkt):
    b = pkt[BOOTP]
    opts = {}
    for opt in pkt[DHCP].options:
        if isinstance(opt, tuple) and len(opt) >= 2:
            value = opt[1]
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            opts[str(opt[0])] = value
    return {
        "op": b.op,
        "htype": b.htype,
        "hlen": b.hlen,
        "chaddr": bytes(b.chaddr).hex(),
        "yiaddr": b.yiaddr,
        "siaddr": b.siaddr,
        "file": bytes(b.file).rstrip(b"\x00").decode("latin-1"),
        "eth_dst": pkt[Ether].dst,
        "ip_dst": pkt[IP].dst,
        "giaddr": b.giaddr,
        "options": opts,
    }


def _exchange(sock, pkt, xid, want, timeout):
    sock.send(pkt)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready = select.select([sock], [], [], left)[0]
        if not ready:
            return None
        reply = sock.recv()
        if reply is None or BOOTP not in reply or DHCP not in reply:
            continue
        if reply[BOOTP].op != 2 or reply[BOOTP].xid != xid:
            continue
        mtype = dict(o for o in reply[DHCP].options if isinstance(o, tuple) and len(o) == 2).get("message-type")
        if mtype in want:
            return reply


def main():
    cases = json.load(sys.stdin)
    sockets = {}
    results = {}
    for case in cases:
        iface = case["iface"]
        if iface not in sockets:
            sockets[iface] = conf.L2socket(iface=iface)
        sock = sockets[iface]
        xid = random.getrandbits(32)
        timeout = case.get("timeout", 3.0)
        offer = _exchange(sock, _packet(case, xid, _options(case, "discover")), xid, (2,), timeout)
        result = {"offer": _reply_fields(offer) if offer else None, "ack": None}
        if offer is not None:
            server_id = dict(o for o in offer[DHCP].options if isinstance(o, tuple) and len(o) == 2)["server_id"]
            request = _options(case, "request", [("requested_addr", offer[BOOTP].yiaddr), ("server_id", server_id)])
            ack = _exchange(sock, _packet(case, xid, request), xid, (5, 6), timeout)
            result["ack"] = _reply_fields(ack) if ack else None
            if ack is not None:
                result["ack"]["message_type"] = dict(
                    o for o in ack[DHCP].options if isinstance(o, tuple) and len(o) == 2)["message-type"]
        results[case["id"]] = result
    for sock in sockets.values():
        sock.close()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
