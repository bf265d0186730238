#!/usr/bin/env python3
"""DHCP storm: 1,000 boot clients at once against the real dhcpd serving a 10,000-node config.

The dhcp_server role renders dhcpd.conf for 10,000 InfiniBand nodes (3 client-id forms each),
200 Omni-Path and 500 Ethernet nodes (tests/integration/dhcp/storm.py, also used by the storm
test); `dhcpd -t` and dhcpd's start-up are timed; then, per run, a fresh dhcpd in our own network
namespace (no route out) and --clients clients in mixed identity forms and architectures doing
DISCOVER/OFFER/REQUEST/ACK all at once (tests/integration/dhcp/dhcp_client.py --storm, raw
sockets, RFC 2131 retry backoff). Every answer is checked (address, next-server, file).
Two server settings, alternated in each round: the host's net.core.rmem_default as found (the
kernel's 212992 bytes), which dhcpd's packet socket gets, and the 4 MiB dhcp_server sets
(dhcp_server_rmem_default). The key is global to the host, so it is set on the host for the run
and restored; the buffer dhcpd really got and the packets its sockets dropped are read back
with `ss -0 -m`.

Results: docs/performance.md between the dhcp-storm markers.
Usage (root): benchmarks/dhcp_storm.py [--nodes 10000] [--clients 1000] [--runs 3] [--write docs/performance.md]
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
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "dhcp"))
from perfdoc import replace_section  # noqa: E402
import storm  # noqa: E402

NS = "fbsc-storm-b"
# roles/dhcp_server/defaults/main.yml: dhcp_server_rmem_default
DHCP_SERVER_RMEM = 4194304


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", help="markdown file to update (dhcp-storm markers)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespace, raw sockets)")
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
    work = tempfile.mkdtemp(prefix="fbsc-storm-")
    rows = []
    try:
        load0 = os.getloadavg()[0]
        conf, render_s = storm.render(work, args.nodes)
        blocks = sum(1 for line in open(conf) if line.startswith("host "))
        t = time.monotonic()
        subprocess.run([storm.DHCPD, "-t", "-q", "-cf", conf], check=True, capture_output=True)
        check_s = time.monotonic() - t
        cases, expect = storm.clients(args.nodes, args.clients)
        variants = (None, DHCP_SERVER_RMEM)
        runs_of = {v: [] for v in variants}
        # Alternate the variants within each round, so that both see the same machine load.
        for _r in range(args.runs):
            for rmem in variants:
                with storm.host_rmem_default(rmem), storm.Namespace(NS) as ns:
                    with storm.serve(ns, conf, work) as (startup, _log, cpu):
                        load = os.getloadavg()[0]
                        cpu0 = cpu()
                        stats, results = storm.run_clients(ns, cases)
                        dhcpd_cpu = cpu() - cpu0
                        sockets = storm.packet_sockets(ns)
                wrong, lost = storm.check(expect, results)
                first_try = sum(1 for r in results.values() if r["ack"] and r["sends"] == 2)
                rb = sorted({v["rb"] for v in sockets.values()})
                drops = sum(v["drops"] for v in sockets.values())
                runs_of[rmem].append(dict(stats=stats, wrong=len(wrong), lost=len(lost), startup=startup, load=load,
                                          first_try=first_try, dhcpd_cpu=dhcpd_cpu, rb=rb, drops=drops,
                                          wrong_examples=wrong[:3], lost_examples=lost[:3]))
                print("rmem %s: socket rb %s drops %d %s wrong %d lost %d first-try %d load %.1f"
                      % (rmem, rb, drops, stats, len(wrong), len(lost), first_try, load), flush=True)
        rows = [(v, runs_of[v]) for v in variants]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(args, blocks, render_s, check_s, load0, rows)
    print(text)
    if args.write:
        replace_section(args.write, "dhcp-storm", text)


def report(args, blocks, render_s, check_s, load0, rows):
    med = statistics.median
    dhcpd_v = subprocess.run([storm.DHCPD, "--version"], capture_output=True, text=True, check=False)
    lines = [
        "## DHCP storm (`dhcpd` serving a %d-node configuration)" % args.nodes,
        "",
        "Written by `benchmarks/dhcp_storm.py --nodes %d --clients %d --runs %d` on %s, %d CPUs, %s. The machine is "
        "shared with other jobs (load average at the start %.1f; per run below): the rates are what dhcpd managed "
        "with the CPU it got." % (args.nodes, args.clients, args.runs, platform.platform(), os.cpu_count(),
                                  (dhcpd_v.stdout + dhcpd_v.stderr).strip().splitlines()[0], load0),
        "",
        "dhcpd.conf rendered by the `dhcp_server` role in %.1f s (ansible-playbook, local connection): %d host "
        "blocks; `dhcpd -t` on it %.2f s." % (render_s, blocks, check_s),
        "",
        "%d clients on distinct ports, all starting at once: FlexBoot (htype 32, hlen 6, DUID client-id), "
        "RFC 4390 (hlen 0, 20:GUID), dhclient (hlen 8, 20:GUID), iPXE (htype 1, 01:mac48) and plain Ethernet, "
        "architectures 0, 7, 9, 11 and 16 (HTTPClient). A client that hears nothing repeats itself after 4 s, "
        "then 8, 16 s (RFC 2131 backoff, +/- 25%%), 4 sends at most. DORA/s = completed exchanges / time from the "
        "first DISCOVER to the last ACK. Median of %d runs, each on a freshly started dhcpd."
        % (args.clients, args.runs),
        "",
        "dhcpd CPU s = user + system seconds dhcpd spent during the storm (from /proc); clients / dhcpd CPU s is the "
        "rate one idle core would sustain.",
        "",
        "| net.core.rmem_default | dhcpd socket rb (ss) | dropped by the socket | dhcpd start-up s | DORA/s "
        "| last ACK after s | done at first try | retransmits | dhcpd CPU s | DORA per dhcpd CPU s | wrong | lost "
        "| load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for rmem, runs in rows:
        lines.append("| %s | %s | %d | %.2f | %.0f | %.2f | %d | %d | %.2f | %.0f | %d | %d | %s |" % (
            "host's (kernel default)" if rmem is None else "%d (dhcp_server_rmem_default)" % rmem,
            "/".join(sorted({"%d" % b for r in runs for b in r["rb"]})), med(r["drops"] for r in runs),
            med(r["startup"] for r in runs), med(r["stats"]["dora_per_s"] for r in runs),
            med(r["stats"]["elapsed_s"] for r in runs), med(r["first_try"] for r in runs),
            med(r["stats"]["retransmits"] for r in runs), med(r["dhcpd_cpu"] for r in runs),
            med(r["stats"]["completed"] / r["dhcpd_cpu"] if r["dhcpd_cpu"] else 0 for r in runs),
            max(r["wrong"] for r in runs),
            max(r["lost"] for r in runs), " ".join("%.1f" % r["load"] for r in runs)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
