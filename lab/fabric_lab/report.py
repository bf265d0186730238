"""What the network saw, per VM, and the timing table.

The bridge capture (tcpdump on br0, classic pcap) is read here with the stdlib: DHCP offers and
acks to the VM's MAC, TFTP read requests and HTTP GETs from its address, and the last packet the
server sent on each transfer. Packet stamps and the serial-line stamps of vm.Boot share the wall
clock, so every column is seconds after qemu was started ("power-on").
"""
import struct

DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 5: "ACK", 6: "NAK"}


def read_pcap(path):
    """Yield (time, src_ip, src_port, dst_ip, dst_port, proto, payload) for IPv4 UDP/TCP frames."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, orig_ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        proto = ip[9]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        l4 = ip[ihl:]
        if proto == 17 and len(l4) >= 8:
            sp, dp = struct.unpack("!HH", l4[:4])
            yield t, src, sp, dst, dp, "udp", l4[8:]
        elif proto == 6 and len(l4) >= 20:
            sp, dp = struct.unpack("!HH", l4[:4])
            doff = (l4[12] >> 4) * 4
            yield t, src, sp, dst, dp, "tcp", l4[doff:]


def _dhcp(payload):
    """(message type, chaddr as aa:bb:..) of a BOOTP payload, or None."""
    if len(payload) < 240 or payload[236:240] != b"\x63\x82\x53\x63":
        return None
    chaddr = ":".join("%02x" % b for b in payload[28:34])
    i, mtype = 240, None
    while i < len(payload) and payload[i] != 255:
        if payload[i] == 0:
            i += 1
            continue
        code, ln = payload[i], payload[i + 1]
        if code == 53:
            mtype = payload[i + 2]
        i += 2 + ln
    return mtype, chaddr


def events(pcap, server_ip, vms):
    """Per VM mac: {'dhcp': [(t, type)], 'requests': [(t, name, proto)], 'ends': {name: [t of its data]}}."""
    by_mac = {v["mac"]: {"dhcp": [], "requests": [], "ends": {}} for v in vms}
    by_ip = {v["ip"]: v["mac"] for v in vms}
    flows = {}   # (vm ip, vm port) -> file name requested on it
    for t, src, sp, dst, dp, proto, payload in read_pcap(pcap):
        if proto == "udp" and {sp, dp} == {67, 68}:
            d = _dhcp(payload)
            if d and d[1] in by_mac:
                by_mac[d[1]]["dhcp"].append((t, DHCP_TYPES.get(d[0], str(d[0]))))
            continue
        if src in by_ip and dst == server_ip:
            name = None
            if proto == "udp" and dp == 69 and payload[:2] == b"\x00\x01":
                name = payload[2:].split(b"\x00", 1)[0].decode("ascii", "replace").lstrip("/")
                via = "tftp"
            elif proto == "tcp" and dp == 80 and payload[:4] == b"GET ":
                name = payload[4:].split(b" ", 1)[0].decode("ascii", "replace").lstrip("/")
                via = "http"
            if name:
                flows[(src, sp)] = name
                by_mac[by_ip[src]]["requests"].append((t, name, via))
        elif src == server_ip and dst in by_ip and (dst, dp) in flows and payload:
            # data only: the TCP close that follows an HTTP transfer is not part of it
            by_mac[by_ip[dst]]["ends"].setdefault(flows[(dst, dp)], []).append(t)
    return by_mac


def tftp_requests(pcap, server_ip):
    """[(client ip, file name, {option: value})] of every TFTP read request to the server, and
    the server's option acknowledgements as {(client ip, client port): {option: value}}: what each
    boot stage asked for (blksize, tsize, windowsize...) and what in.tftpd granted."""
    rrqs, oacks = [], {}
    for t_, src, sp, dst, dp, proto, payload in read_pcap(pcap):
        if proto != "udp":
            continue
        if dst == server_ip and dp == 69 and payload[:2] == b"\x00\x01":
            fields = payload[2:].split(b"\x00")
            name = fields[0].decode("ascii", "replace").lstrip("/")
            opts = fields[2:]
            rrqs.append((src, sp, name, dict(zip((o.decode("ascii", "replace").lower() for o in opts[0::2]),
                                                 (v.decode("ascii", "replace") for v in opts[1::2])))))
        elif src == server_ip and payload[:2] == b"\x00\x06":
            opts = payload[2:].split(b"\x00")
            oacks[(dst, dp)] = dict(zip((o.decode("ascii", "replace").lower() for o in opts[0::2]),
                                        (v.decode("ascii", "replace") for v in opts[1::2])))
    return [(ip, name, opts, oacks.get((ip, port), {})) for ip, port, name, opts in rrqs]


def _first(items, pred):
    for item in items:
        if pred(item):
            return item
    return None


def timings(ev, t0, loader, kernel, initrd, until=None):
    """Seconds after t0 for offer, loader fetched, kernel+initrd fetched; None when not seen.
    Only packets from t0 (less a second of clock skew) to until count: the same VM may boot
    again later in the run (the backend switch), and a DHCP prober may use its MAC."""
    lo, hi = t0 - 1, until if until is not None else float("inf")
    ev = {"dhcp": [d for d in ev["dhcp"] if lo <= d[0] <= hi],
          "requests": [r for r in ev["requests"] if lo <= r[0] <= hi],
          "ends": {n: max(t for t in ts if lo <= t <= hi) for n, ts in ev["ends"].items()
                   if any(lo <= t <= hi for t in ts)}}

    def rel(t):
        return None if t is None else t - t0
    offer = _first(ev["dhcp"], lambda d: d[1] == "OFFER")

    def done(suffix):
        names = [n for t_, n, via_ in ev["requests"] if n.endswith(suffix)]
        ends = [ev["ends"][n] for n in names if n in ev["ends"]]
        return max(ends) if ends else None
    k, i = done(kernel), done(initrd)
    return {"offer": rel(offer[0]) if offer else None,
            "loader": rel(done(loader)),
            "images": rel(max(k, i)) if k and i else None,
            # a diskless node's root image, fetched by dracut's livenet after its own DHCP
            "squashfs": rel(done(".squashfs")),
            "squashfs_via": sorted({via for t_, n, via in ev["requests"] if n.endswith(".squashfs")}),
            "acks": sum(1 for t_, m in ev["dhcp"] if m == "ACK")}


def fmt(v):
    return "-" if v is None else "%.1f" % v


def table(rows):
    """rows: dicts with path, result, offer, loader, images, squashfs (optional), marker, total."""
    head = ["path", "result", "offer", "loader", "kernel+initrd", "squashfs", "marker", "off"]
    lines = [[r["path"], r["result"], fmt(r["offer"]), fmt(r["loader"]), fmt(r["images"]),
              fmt(r.get("squashfs")), fmt(r["marker"]), fmt(r["total"])] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.append("seconds after power-on (qemu start): DHCP offer, boot loader fetched, kernel+initrd "
               "fetched (last server packet), a diskless node's root squashfs fetched, proof marker on "
               "the serial console, qemu exit")
    return "\n".join(out)
