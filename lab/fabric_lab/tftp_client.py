"""A small TFTP read client (RRQ only) for the transfer check of the lab and its benchmark, stdlib only.

RFC 1350 (octet mode, lock-step DATA/ACK), RFC 2347 option negotiation (OACK), RFC 2348
blksize, RFC 2349 tsize, RFC 7440 windowsize when the server grants it (tftpd-hpa 5.2, Debian
12's in.tftpd, does not: its option table has blksize, blksize2, tsize, timeout, utimeout and
rollover, so an OACK without windowsize means one block per ACK). Block numbers wrap at 65535
to 0, as in.tftpd does by default; the kernel at blksize 512 needs more than 65535 blocks.

The client hashes what it receives (sha256) instead of storing it, and counts its own timeouts
(an ACK or the RRQ sent again) and the duplicate DATA blocks the server retransmitted.
"""
import hashlib
import socket
import struct
import time

RRQ, DATA, ACK, ERROR, OACK = 1, 3, 4, 5, 6


def _options(payload):
    parts = payload.split(b"\0")
    return {parts[i].decode().lower(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}


def fetch(server, name, blksize=512, windowsize=None, source="", timeout=1.0, tries=6, port=69):
    """Read one file; returns a dict: ok, bytes, sha256, seconds, oack (granted options),
    timeouts, duplicates, error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((source, 0))
    sock.settimeout(timeout)
    opts = [b"tsize", b"0"]
    if blksize != 512:
        opts += [b"blksize", str(blksize).encode()]
    if windowsize:
        opts += [b"windowsize", str(windowsize).encode()]
    rrq = struct.pack("!H", RRQ) + name.encode() + b"\0octet\0" + b"\0".join(opts) + b"\0"
    res = {"ok": False, "bytes": 0, "sha256": None, "oack": None, "timeouts": 0, "duplicates": 0, "error": None}
    digest = hashlib.sha256()
    t0 = time.monotonic()
    last_sent, peer = rrq, (server, port)
    block_size, window, expected, done, misses = 512, 1, 1, False, 0
    in_window = 0
    try:
        sock.sendto(rrq, peer)
        while not done:
            try:
                pkt, addr = sock.recvfrom(65536)
            except socket.timeout:
                misses += 1
                res["timeouts"] += 1
                if misses > tries:
                    res["error"] = "timeout after %d tries at block %d" % (tries, expected)
                    return res
                sock.sendto(last_sent, peer)
                continue
            if peer[1] == port:
                peer = addr             # the server answers from its own port (the transfer ID)
            elif addr != peer:
                continue                # a stray packet from another transfer
            op = struct.unpack("!H", pkt[:2])[0]
            if op == ERROR:
                res["error"] = "ERROR %d %s" % (struct.unpack("!H", pkt[2:4])[0], pkt[4:].rstrip(b"\0").decode(errors="replace"))
                return res
            if op == OACK:
                if res["oack"] is None:
                    res["oack"] = _options(pkt[2:])
                    block_size = int(res["oack"].get("blksize", 512))
                    window = int(res["oack"].get("windowsize", 1))
                last_sent = struct.pack("!HH", ACK, 0)
                sock.sendto(last_sent, peer)
                misses = 0
                continue
            if op != DATA:
                continue
            if res["oack"] is None:
                res["oack"] = {}        # DATA 1 straight away: the server ignored every option
            block = struct.unpack("!H", pkt[2:4])[0]
            if block != expected:
                res["duplicates"] += 1
                if window == 1 or in_window == 0:
                    sock.sendto(last_sent, peer)
                else:
                    # RFC 7440: a gap ends the window; ACK the last block received in order
                    last_sent = struct.pack("!HH", ACK, (expected - 1) & 0xFFFF)
                    sock.sendto(last_sent, peer)
                    in_window = 0
                continue
            misses = 0
            data = pkt[4:]
            digest.update(data)
            res["bytes"] += len(data)
            done = len(data) < block_size
            in_window += 1
            if done or in_window >= window:
                last_sent = struct.pack("!HH", ACK, block)
                sock.sendto(last_sent, peer)
                in_window = 0
            expected = (block + 1) & 0xFFFF
        res["ok"] = True
        res["sha256"] = digest.hexdigest()
        size = (res["oack"] or {}).get("tsize")
        if size is not None and int(size) != res["bytes"]:
            res["ok"], res["error"] = False, "tsize %s, received %d bytes" % (size, res["bytes"])
        return res
    finally:
        res["seconds"] = time.monotonic() - t0
        sock.close()
