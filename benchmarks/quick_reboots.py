"""Quick reboots over HTTP (issue 10 item 4, docs/roles/http_server.md "Quick reboots"): one VM
booted back to back on a kept lab, with the boot server's net.ipv4.tcp_orphan_retries as
http_server sets it (3) and, side by side, as the kernel's default (0: 8 retries, ~100 s).

  python benchmarks/quick_reboots.py [--path uefi-http] [--reboots 10] [--without 3] [--write docs/performance.md]

Sets the lab up once (`python -m fabric_lab --keep --paths <path>`), then boots the path again
and again with `--reuse` (a few seconds between one VM's power-off and the next power-on: the
lab's status.yml run). Before each boot it counts the server's LAST-ACK sockets to the node.
The "without" boots set the kernel default inside the container first and restore the role's
value afterwards. Results: docs/data/quick_reboots.json and a section of docs/performance.md.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_boot import lab, server  # noqa: E402  pylint: disable=wrong-import-position
from perfdoc import replace_section  # noqa: E402  pylint: disable=wrong-import-position

DATA = os.path.join(ROOT, "docs", "data", "quick_reboots.json")


def last_ack(ip):
    out = server.exec_("ss", "-Htn", "state", "last-ack", "dst", ip, check=False).stdout
    return len([ln for ln in out.splitlines() if ln.strip()])


def boots(path, n, timeout, ip):
    rows = []
    for i in range(n):
        stale = last_ack(ip)
        load = os.getloadavg()[0]
        res = lab("--reuse", "--keep", "--parallel", "1", "--timeout", str(timeout), "--paths", path)
        got = next((r for r in res.get("paths", []) if r["path"] == path), None)
        serial = open(got["serial"], errors="replace").read() if got and os.path.exists(got["serial"]) else ""
        rows.append({"boot": i + 1, "passed": bool(got and got["passed"]), "last_ack_before": stale,
                     "seconds": got["timing"]["total"] if got else None, "load": load,
                     "grub_timeout": "connection timeout" in serial})
        print("  boot %d: %s, %s s, %d LAST-ACK before, load %.1f%s" % (
            i + 1, "PASS" if rows[-1]["passed"] else "FAIL", rows[-1]["seconds"], stale, load,
            ", GRUB: connection timeout" if rows[-1]["grub_timeout"] else ""), flush=True)
    return rows


def render(data):
    lines = ["## Quick reboots over HTTP", "",
             "`benchmarks/quick_reboots.py` (%s, path %s): one VM booted back to back on a kept lab "
             "(`--reuse`; a few seconds from one power-off to the next power-on), the boot server's "
             "`net.ipv4.tcp_orphan_retries` as http_server sets it and as the kernel's default. "
             "docs/roles/http_server.md, \"Quick reboots\", says why." % (data["date"], data["path"]), "",
             "| tcp_orphan_retries | boots | passed | GRUB \"connection timeout\" | LAST-ACK sockets to the node before a boot (max) | median boot (s) |",
             "|---|---|---|---|---|---|"]
    for name, label in (("with", "3 (http_server)"), ("without", "0 (kernel default)")):
        rows = data.get(name, [])
        if not rows:
            continue
        secs = sorted(r["seconds"] for r in rows if r["passed"] and r["seconds"])
        lines.append("| %s | %d | %d | %d | %d | %s |" % (
            label, len(rows), sum(r["passed"] for r in rows), sum(r["grub_timeout"] for r in rows),
            max(r["last_ack_before"] for r in rows), "%.1f" % secs[len(secs) // 2] if secs else "-"))
    lines += ["", "Load average (1 min) during the boots: %.1f to %.1f." % (
        min(r["load"] for k in ("with", "without") for r in data.get(k, [])),
        max(r["load"] for k in ("with", "without") for r in data.get(k, [])))]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", default="uefi-http")
    ap.add_argument("--reboots", type=int, default=10)
    ap.add_argument("--without", type=int, default=3, help="boots with the kernel default afterwards")
    ap.add_argument("--timeout", type=int, default=240)
    ap.add_argument("--reuse", action="store_true", help="the lab is already up (--keep)")
    ap.add_argument("--write", help="docs/performance.md to update")
    args = ap.parse_args()
    from fabric_lab import paths  # pylint: disable=import-outside-toplevel
    (p_, facts), = paths.nodes([args.path])
    data = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "path": args.path}
    if not args.reuse:
        setup = lab("--keep", "--paths", args.path)
        if setup.get("site", {}).get("run", {}).get("rc") != 0:
            lab("down")
            raise SystemExit("lab set-up failed")
    try:
        print("tcp_orphan_retries %s (http_server):" % server.exec_("sysctl", "-n", "net.ipv4.tcp_orphan_retries").stdout.strip())
        data["with"] = boots(args.path, args.reboots, args.timeout, facts["ip"])
        if args.without:
            server.exec_("sysctl", "-q", "-w", "net.ipv4.tcp_orphan_retries=0")
            print("tcp_orphan_retries 0 (kernel default):")
            data["without"] = boots(args.path, args.without, args.timeout, facts["ip"])
            server.exec_("sysctl", "-q", "-w", "net.ipv4.tcp_orphan_retries=3")
    finally:
        os.makedirs(os.path.dirname(DATA), exist_ok=True)
        with open(DATA, "w") as f:
            json.dump(data, f, indent=1)
    print(render(data))
    if args.write:
        replace_section(args.write, "quick-reboots", render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
