#!/usr/bin/env python3
"""DHCP storm: 1,000 boot clients at once against the real dhcpd serving a 10,000-node config.

The dhcp_server role renders dhcpd.conf for 10,000 InfiniBand nodes (3 client-id forms each),
200 Omni-Path and 500 Ethernet nodes (tests/integration/dhcp/storm.py, also used by the storm
test); `dhcpd -t` and dhcpd's start-up are timed; then, per run, a fresh dhcpd in our own network
namespace (no route out) and --clients clients in mixed identity forms and architectures doing
DISCOVER/OFFER/REQUEST/ACK all at once (tests/integration/dhcp/dhcp_client.py --storm, raw
sockets, RFC 2131 retry backoff). Every answer is checked (address, next-server, file).
Two server settings: the kernel's default socket receive buffer (net.core.rmem_default 212992,
which dhcpd's packet socket gets) and 4 MiB.

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
        for rmem in (None, 4 << 20):
            runs = []
            for _r in range(args.runs):
                with storm.Namespace(NS, rmem) as ns:
                    with storm.serve(ns, conf, work) as (startup, _log, cpu):
                        load = os.getloadavg()[0]
                        cpu0 = cpu()
                        stats, results = storm.run_clients(ns, cases)
                        dhcpd_cpu = cpu() - cpu0
                wrong, lost = storm.check(expect, results)
                first_try = sum(1 for r in results.values() if r["ack"] and r["sends"] == 2)
                runs.append(dict(stats=stats, wrong=len(wrong), lost=len(lost), startup=startup, load=load,
                                 first_try=first_try, dhcpd_cpu=dhcpd_cpu, wrong_examples=wrong[:3], lost_examples=lost[:3]))
                print("rmem %s: %s wrong %d lost %d first-try %d load %.1f"
                      % (rmem, stats, len(wrong), len(lost), first_try, load), flush=True)
            rows.append((rmem, runs))
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
        "| dhcpd socket buffer | dhcpd start-up s | DORA/s | last ACK after s | done at first try "
        "| retransmits | dhcpd CPU s | DORA per dhcpd CPU s | wrong | lost | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for rmem, runs in rows:
        lines.append("| %s | %.2f | %.0f | %.1f | %d | %d | %.2f | %.0f | %d | %d | %s |" % (
            "kernel default (212992)" if rmem is None else "net.core.rmem_default=%d" % rmem,
            med(r["startup"] for r in runs), med(r["stats"]["dora_per_s"] for r in runs),
            med(r["stats"]["elapsed_s"] for r in runs), med(r["first_try"] for r in runs),
            med(r["stats"]["retransmits"] for r in runs), med(r["dhcpd_cpu"] for r in runs),
            med(r["stats"]["completed"] / r["dhcpd_cpu"] if r["dhcpd_cpu"] else 0 for r in runs),
            max(r["wrong"] for r in runs),
            max(r["lost"] for r in runs), " ".join("%.1f" % r["load"] for r in runs)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
