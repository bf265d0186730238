"""Many clients fetching the published kernel + initrd from the boot server at once: the transfer
check of the lab (`--transfer-load`, run by `make test`) and the batches of
benchmarks/transfer_load.py (which varies block sizes and Apache settings around them).

Clients run inside the lab netns (`ip netns exec`, a child process running this module), each
from its own address (CLIENT_HOSTS, added to br0 by client_addresses()): TFTP as one process per
client (tftp_client, lock-step RRQ like a boot loader), HTTP as one thread per client
(http.client, through the http_server role's /boot alias). Each client reads the kernel, then
the initrd, hashes what it received, and summarize() compares every hash with the server's file.
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from . import server

FILES = ("images/lab/vmlinuz", "images/lab/initrd.img")     # lab/inventory: fabric_boot_images.lab
TFTP_ROOT = "/var/lib/tftpboot"
HTTP_PREFIX = "/boot/"                                       # http_server_boot_alias -> the TFTP root
CLIENT_NET = "192.168.100.%d"
CLIENT_HOSTS = range(100, 200)
LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the batches, run inside the lab netns (a child process: `ip netns exec`) -------------------

def udp_counters():
    """InErrors and RcvbufErrors of /proc/net/snmp's Udp line (the current netns)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    table = dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))
    return {k: table[k] for k in ("InErrors", "RcvbufErrors", "InDatagrams", "OutDatagrams")}


def tftp_worker(idx, blksize, start, out):
    from . import tftp_client
    start.wait()
    t0 = time.monotonic()
    row = {"client": idx, "files": []}
    for name in FILES:
        r = tftp_client.fetch(server.SERVER_IP, name, blksize=blksize, source=source_ip(idx))
        row["files"].append(r)
        if not r["ok"]:
            break
    row["seconds"] = time.monotonic() - t0
    out.put(row)


def source_ip(idx):
    return CLIENT_NET % CLIENT_HOSTS[idx % len(CLIENT_HOSTS)]


def tftp_batch(clients, blksize):
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=tftp_worker, args=(i, blksize, start, out)) for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(1.0)         # every process is forked and waiting on the event
    before = udp_counters()
    t0 = time.monotonic()
    start.set()
    rows = [out.get(timeout=900) for _p in procs]
    wall = time.monotonic() - t0
    for p in procs:
        p.join()
    return {"wall": wall, "clients": sorted(rows, key=lambda r: r["client"]),
            "udp": {k: v - before[k] for k, v in udp_counters().items()}}


def http_get(idx, name):
    conn = http.client.HTTPConnection(server.SERVER_IP, 80, timeout=300, source_address=(source_ip(idx), 0))
    import hashlib
    digest, size, buf = hashlib.sha256(), 0, bytearray(1 << 18)
    t0 = time.monotonic()
    try:
        conn.request("GET", HTTP_PREFIX + name)
        resp = conn.getresponse()
        first = time.monotonic() - t0
        view = memoryview(buf)
        while True:
            n = resp.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            size += n
        ok = resp.status == 200
        return {"ok": ok, "status": resp.status, "bytes": size, "sha256": digest.hexdigest(),
                "first_byte": first, "seconds": time.monotonic() - t0, "error": None if ok else "HTTP %d" % resp.status}
    except OSError as exc:
        return {"ok": False, "bytes": size, "sha256": None, "seconds": time.monotonic() - t0, "error": repr(exc)}
    finally:
        conn.close()


def http_batch(clients, files=FILES):
    start = threading.Barrier(clients + 1)
    rows = [None] * clients

    def client(idx):
        start.wait()
        t0 = time.monotonic()
        row = {"client": idx, "files": []}
        for name in files:
            r = http_get(idx, name)
            row["files"].append(r)
            if not r["ok"]:
                break
        row["seconds"] = time.monotonic() - t0
        rows[idx] = row

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    start.wait()
    for t in threads:
        t.join()
    return {"wall": time.monotonic() - t0, "clients": rows}


def batch_main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["tftp", "http", "probe"])
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--blksize", type=int, default=512)
    ap.add_argument("--files", default=",".join(FILES), help="HTTP: paths under the /boot alias, fetched in order")
    a = ap.parse_args(argv)
    if a.kind == "tftp":
        res = tftp_batch(a.clients, a.blksize)
    elif a.kind == "http":
        res = http_batch(a.clients, a.files.split(","))
    else:
        from . import tftp_client
        res = tftp_client.fetch(server.SERVER_IP, FILES[0], blksize=1468, windowsize=8, source=source_ip(0))
    json.dump(res, sys.stdout)


# ---- outside the netns --------------------------------------------------------------------------

def run_batch(*args):
    env = dict(os.environ, PYTHONPATH=LAB)
    proc = subprocess.run(["ip", "netns", "exec", server.NETNS, sys.executable, "-m", "fabric_lab.transfer"]
                          + [str(a) for a in args], check=False, text=True, capture_output=True, env=env)
    if proc.returncode:
        raise SystemExit("batch %s failed: %s" % (args, proc.stderr[-3000:]))
    return json.loads(proc.stdout)


def server_udp():
    text = server.exec_("cat", "/proc/net/snmp").stdout
    rows = [line.split() for line in text.splitlines() if line.startswith("Udp:")]
    table = dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))
    return {k: table[k] for k in ("InErrors", "RcvbufErrors", "SndbufErrors")}


def summarize(res, sums, files=FILES):
    """Check every client's files against the server's sha256; per-batch figures."""
    rows = res["clients"]
    good = [r for r in rows if len(r["files"]) == len(files) and all(
        f["ok"] and f["sha256"] == sums[n] for f, n in zip(r["files"], files))]
    total_bytes = sum(f["bytes"] for r in rows for f in r["files"])
    out = {"clients": len(rows), "ok": len(good), "wall": res["wall"], "mb_s": total_bytes / 1e6 / res["wall"],
           "per_client": sorted(r["seconds"] for r in rows),
           "errors": sorted({f["error"] for r in rows for f in r["files"] if f.get("error")}),
           "mismatch": sum(1 for r in rows for f, n in zip(r["files"], files) if f["ok"] and f["sha256"] != sums[n])}
    if rows and "timeouts" in rows[0]["files"][0]:
        out["timeouts"] = sum(f["timeouts"] for r in rows for f in r["files"])
        out["duplicates"] = sum(f["duplicates"] for r in rows for f in r["files"])
        out["granted"] = sorted({json.dumps(f["oack"], sort_keys=True) for r in rows for f in r["files"]})
    else:
        out["first_byte"] = sorted(max(f.get("first_byte", 0) for f in r["files"]) for r in rows)
    for k in ("udp", "server_udp"):
        if k in res:
            out[k] = res[k]
    return out


def client_addresses():
    """The clients' source addresses on the lab bridge (replace: idempotent)."""
    for h in CLIENT_HOSTS:
        server.sh(["ip", "-n", server.NETNS, "addr", "replace", "%s/24" % (CLIENT_NET % h), "dev", server.BRIDGE])


def server_sums(files=FILES):
    """sha256 and size of each published file, read in the container."""
    sums, sizes = {}, {}
    for n in files:
        path = "%s/%s" % (TFTP_ROOT, n)
        sums[n] = server.exec_("sha256sum", path).stdout.split()[0]
        sizes[n] = int(server.exec_("stat", "-c", "%s", path).stdout)
    return sums, sizes


def check(tftp_clients=50, http_clients=200, blksize=1468):
    """The lab's transfer check: tftp_clients TFTP clients at once (blksize: what OVMF and iPXE
    ask for), then http_clients HTTP clients at once, against the servers as site.yml left them.
    Passed when every client got both files with the server's sha256."""
    client_addresses()
    sums, sizes = server_sums()
    out = {"sizes": sizes, "load": os.getloadavg()[0]}
    for kind, args in (("tftp", ("tftp", "--clients", tftp_clients, "--blksize", blksize)),
                       ("http", ("http", "--clients", http_clients))):
        before = server_udp()
        res = run_batch(*args)
        res["server_udp"] = {k: v - before[k] for k, v in server_udp().items()}
        s = summarize(res, sums)
        s["passed"] = s["ok"] == s["clients"] and s["mismatch"] == 0
        out[kind] = s
    out["passed"] = out["tftp"]["passed"] and out["http"]["passed"]
    return out


if __name__ == "__main__":
    batch_main()
