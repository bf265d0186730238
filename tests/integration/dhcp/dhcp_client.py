"""Raw DHCP client for the protocol and storm tests; run inside the test's network namespace.

Default mode: reads a JSON list of cases on stdin, does DISCOVER -> OFFER -> REQUEST -> ACK for
each in turn with scapy on a raw socket, and prints a JSON object {case id: {"offer": reply,
"ack": reply}} where a reply is null when nothing came back before the timeout.

--storm: the same cases, all at once, on raw AF_PACKET sockets (stdlib, no scapy: scapy builds
and parses a few hundred packets a second, the storm needs thousands). Every DISCOVER goes out
back to back; each OFFER is answered by its REQUEST as soon as it arrives; a client that hears
nothing for --retry seconds sends its DISCOVER or REQUEST again, and waits twice as long
before the next try, randomised (RFC 2131 4.1, as firmware does; up to --tries sends).
Prints {"stats": {...}, "results": {case id: {"offer": reply, "ack": reply, "sends": n}}} with
the same reply fields as the default mode.

--watch: the first case's DISCOVER, a new one every --interval seconds, until SIGTERM; then
prints {"probes": [{"t": seconds, "offers": [[seconds, signature], ...]}, ...]}. A signature is
the offer's option codes in wire order: each daemon orders them its own way, so the lab's
backend switch can show which server answered when, and that no DISCOVER got two offers.

The packets carry exactly the fields each kind of boot client puts on the wire (htype, hlen,
chaddr, option 61, option 60, option 93); nothing here consults the collection's code.
"""
import argparse
import json
import random
import select
import signal
import socket
import struct
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


def scapy_main(cases):
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


# --- storm mode: stdlib raw sockets ---------------------------------------------------
ETH_P_IP = 0x0800
MAGIC = b"\x63\x82\x53\x63"
PRL = bytes([1, 3, 6, 12, 15, 51, 54, 60, 66, 67])
OPT_NAMES = {1: "subnet_mask", 3: "router", 6: "name_server", 12: "hostname", 15: "domain", 51: "lease_time",
             53: "message-type", 54: "server_id", 60: "vendor_class_id", 66: "tftp_server_name",
             67: "boot-file-name"}


def _csum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _raw_packet(case, xid, msg_type, requested=None, server_id=None):
    """Ethernet/IPv4/UDP/BOOTP frame, broadcast, as a boot client sends it (UDP checksum 0: allowed)."""
    chaddr = bytes.fromhex(case.get("chaddr", ""))
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, case["htype"], case["hlen"], 0, xid, 0, 0x8000,
                        b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr.ljust(16, b"\0"), b"", b"")
    opts = bytes([53, 1, msg_type])
    if case.get("client_id"):
        cid = bytes.fromhex(case["client_id"])
        opts += bytes([61, len(cid)]) + cid
    if case.get("arch") is not None:
        opts += bytes([93, 2]) + case["arch"].to_bytes(2, "big")
    if case.get("vendor_class"):
        vc = case["vendor_class"].encode()
        opts += bytes([60, len(vc)]) + vc
    if requested:
        opts += bytes([50, 4]) + socket.inet_aton(requested)
    if server_id:
        opts += bytes([54, 4]) + socket.inet_aton(server_id)
    opts += bytes([55, len(PRL)]) + PRL + b"\xff"
    payload = bootp + MAGIC + opts
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, b"\0" * 4, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    eth = b"\xff" * 6 + bytes.fromhex(case["src_mac"].replace(":", "")) + struct.pack("!H", ETH_P_IP)
    return eth + ip + udp


def _parse_reply(frame):
    """(xid, fields) of a BOOTREPLY to port 68, else None. Fields as _reply_fields gives them."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 15) * 4
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 68:
        return None
    b = udp + 8
    op, htype, hlen = frame[b], frame[b + 1], frame[b + 2]
    if op != 2 or frame[b + 236:b + 240] != MAGIC:
        return None
    xid = struct.unpack("!I", frame[b + 4:b + 8])[0]
    opts, codes, i, end = {}, [], b + 240, len(frame)
    while i < end and frame[i] != 255:
        if frame[i] == 0:
            i += 1
            continue
        code, length = frame[i], frame[i + 1]
        codes.append(code)
        value = frame[i + 2:i + 2 + length]
        i += 2 + length
        name = OPT_NAMES.get(code, str(code))
        if code == 53:
            opts[name] = value[0]
        elif code == 51:
            opts[name] = struct.unpack("!I", value)[0]
        elif code in (1, 3, 6, 54):
            opts[name] = socket.inet_ntoa(value[:4])
        else:
            opts[name] = value.decode("latin-1")
    return xid, {
        "op": op, "htype": htype, "hlen": hlen,
        "chaddr": frame[b + 28:b + 28 + 16].hex(),
        "yiaddr": socket.inet_ntoa(frame[b + 16:b + 20]),
        "siaddr": socket.inet_ntoa(frame[b + 20:b + 24]),
        "file": frame[b + 108:b + 236].rstrip(b"\0").decode("latin-1"),
        "eth_dst": ":".join("%02x" % c for c in frame[0:6]),
        "options": opts,
        "option_codes": codes,
        "message_type": opts.get("message-type"),
    }


def storm(cases, retry=4.0, tries=4, deadline=60.0):
    """All clients at once; returns (stats, results)."""
    socks = {}
    for case in cases:
        if case["iface"] not in socks:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
            try:
                s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)     # SO_RCVBUFFORCE (root)
                s.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)     # SO_SNDBUFFORCE
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind((case["iface"], 0))
            s.setblocking(False)
            socks[case["iface"]] = s
    by_fd = {s.fileno(): s for s in socks.values()}
    xids = random.sample(range(1, 1 << 32), len(cases))
    state = {}
    for case, xid in zip(cases, xids):
        state[xid] = {"case": case, "stage": "discover", "offer": None, "ack": None, "tries": 1,
                      "sent": 0.0, "nak": None}
    stats = {"clients": len(cases), "sent": 0, "retransmits": 0, "replies": 0, "foreign": 0,
             "duplicates": 0, "naks": 0}

    def send(st, now):
        case = st["case"]
        if st["stage"] == "discover":
            pkt = st["discover"]
        else:
            pkt = _raw_packet(case, xid_of[id(st)], 3, st["offer"]["yiaddr"], st["offer"]["options"].get("server_id"))
        while True:
            try:
                socks[case["iface"]].send(pkt)
                break
            except BlockingIOError:
                select.select([], [socks[case["iface"]]], [], 0.01)
        st["sent"] = now
        st["sends"] = st.get("sends", 0) + 1
        # RFC 2131 4.1: the wait doubles with each try and is randomised by +/- 1 s
        st["next"] = now + retry * (2 ** (st["tries"] - 1)) * random.uniform(0.75, 1.25)
        stats["sent"] += 1

    xid_of = {id(st): xid for xid, st in state.items()}
    # Built before the clock starts: the burst is the sends, not Python assembling frames.
    for xid, st in state.items():
        st["discover"] = _raw_packet(st["case"], xid, 1)
    start = time.monotonic()
    for st in state.values():
        send(st, time.monotonic())
    stats["discover_burst_s"] = time.monotonic() - start
    pending = len(state)
    last_ack = start
    next_due = min(st["next"] for st in state.values())
    while pending and time.monotonic() - start < deadline:
        ready = select.select(list(by_fd), [], [], 0.05)[0]
        now = time.monotonic()
        for fd in ready:
            s = by_fd[fd]
            while True:
                try:
                    frame = s.recv(4096)
                except BlockingIOError:
                    break
                got = _parse_reply(frame)
                if got is None:
                    continue
                xid, fields = got
                st = state.get(xid)
                if st is None:
                    stats["foreign"] += 1
                    continue
                stats["replies"] += 1
                mtype = fields["message_type"]
                if mtype == 2 and st["stage"] == "discover":
                    st["offer"] = fields
                    st["stage"] = "request"
                    st["tries"] = 1
                    send(st, now)
                    next_due = min(next_due, st["next"])
                elif mtype in (5, 6) and st["stage"] == "request":
                    st["ack"] = fields
                    st["stage"] = "done"
                    st["acked_at"] = now - start
                    if mtype == 6:
                        stats["naks"] += 1
                    pending -= 1
                    last_ack = now
                else:
                    stats["duplicates"] += 1
        # Retries are due seconds apart, replies arrive thousands a second: scan the clients only
        # when the earliest retry is due (a scan per wake-up would cost the client more CPU than
        # dhcpd spends answering, and the storm would measure the client).
        if now < next_due:
            continue
        next_due = now + retry
        for st in state.values():
            if st["stage"] not in ("discover", "request"):
                continue
            if now >= st["next"]:
                if st["tries"] >= tries:
                    st["stage"] = "lost"
                    pending -= 1
                    continue
                st["tries"] += 1
                stats["retransmits"] += 1
                send(st, now)
            next_due = min(next_due, st["next"])
    for s in socks.values():
        s.close()
    done = sum(1 for st in state.values() if st["stage"] == "done")
    stats.update({"completed": done, "lost": len(state) - done, "elapsed_s": last_ack - start,
                  "dora_per_s": done / (last_ack - start) if done and last_ack > start else 0.0})
    results = {}
    for st in state.values():
        results[st["case"]["id"]] = {"offer": st["offer"], "ack": st["ack"], "sends": st["sends"],
                                     "acked_at": st.get("acked_at")}
    return stats, results


def watch(case, interval):
    """DISCOVERs every interval seconds until SIGTERM; the offers each one got (see --watch)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((case["iface"], 0))
    start = time.monotonic()
    probes, by_xid, next_send = [], {}, start
    print("watching", file=sys.stderr, flush=True)
    while not stop:
        now = time.monotonic()
        if now >= next_send:
            xid = random.getrandbits(32)
            by_xid[xid] = {"t": round(now - start, 3), "offers": []}
            probes.append(by_xid[xid])
            s.send(_raw_packet(case, xid, 1))
            next_send += interval
        try:
            ready = select.select([s], [], [], max(0.0, next_send - time.monotonic()))[0]
        except InterruptedError:
            continue
        if ready:
            got = _parse_reply(s.recv(4096))
            if got and got[0] in by_xid and got[1]["message_type"] == 2:
                by_xid[got[0]]["offers"].append([round(time.monotonic() - start, 3),
                                                 ",".join(str(c) for c in got[1]["option_codes"])])
    s.close()
    return {"probes": probes}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--storm", action="store_true", help="all cases at once on raw sockets")
    ap.add_argument("--retry", type=float, default=4.0, help="storm: seconds before a client first repeats itself")
    ap.add_argument("--tries", type=int, default=4, help="storm: sends per message before a client gives up")
    ap.add_argument("--deadline", type=float, default=60.0, help="storm: seconds for the whole storm")
    ap.add_argument("--watch", action="store_true", help="the first case's DISCOVER every --interval s until SIGTERM")
    ap.add_argument("--interval", type=float, default=0.1, help="watch: seconds between DISCOVERs")
    args = ap.parse_args()
    cases = json.load(sys.stdin)
    if args.watch:
        json.dump(watch(cases[0], args.interval), sys.stdout)
    elif args.storm:
        stats, results = storm(cases, args.retry, args.tries, args.deadline)
        json.dump({"stats": stats, "results": results}, sys.stdout)
    else:
        scapy_main(cases)


if __name__ == "__main__":
    main()
