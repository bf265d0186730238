"""Transfer load: many clients fetching the lab's kernel + initrd from one boot server at once.

  python benchmarks/transfer_load.py [--runs 3] [--tftp-clients 50] [--http-clients 200] [--reuse] [--keep]
  python benchmarks/transfer_load.py --render [--write docs/performance.md] [--plot docs/transfer-load.png]

The lab (docs/lab.md) is set up once through its own runner (`python -m fabric_lab --keep
--paths uefi-tftp`, the same call benchmarks/lab_boot.py makes): the boot-server container with
in.tftpd and Apache as site.yml configured them, serving images/lab/vmlinuz and
images/lab/initrd.img. Then, --runs times, every variant one after the other (so a busy moment of
the shared machine hits all of them alike):

* TFTP: --tftp-clients processes inside the lab netns, each reading the kernel then the initrd
  with lab/fabric_lab/tftp_client.py at blksize 512 / 1468 / 8192 (tsize asked; windowsize asked once,
  to record whether in.tftpd grants it);
* HTTP: --http-clients threads, each GETting the kernel then the initrd from the /boot alias,
  against Apache with Debian's mpm_event settings (what the http_server role leaves in place)
  and with more workers (TUNED below, written to a conf-enabled file for that variant only).

Every client binds its own address (192.168.100.100-199 added to br0), hashes what it received
and the sha256 is compared with the server's file. Recorded per client: seconds for both files
(and the HTTP time to the first response), timeouts and duplicate blocks (TFTP); per batch: wall
time, aggregate MB/s, failures, UDP receive errors on both sides, load average. Stored in --data
(JSON, committed); --render writes the transfer-load section of docs/performance.md from it.
Needs root (the lab does); the plot needs matplotlib (benchmarks/requirements.txt).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, HERE)
from fabric_lab import server  # noqa: E402
from fabric_lab.transfer import (FILES, HTTP_PREFIX, client_addresses, run_batch, server_sums,  # noqa: E402
                                 server_udp, summarize)
from perfdoc import lab_bench_args, save_json, write_section_with_plot  # noqa: E402

DATA = os.path.join(ROOT, "docs", "data", "transfer_load.json")
PLOT = os.path.join(ROOT, "docs", "transfer-load.png")
BLKSIZES = (512, 1468, 8192)
# Apache variants. "default": nothing added, Debian's mods-available/mpm_event.conf rules
# (StartServers 2, ThreadsPerChild 25, MaxRequestWorkers 150, ServerLimit 16 compiled in).
# "tuned": enough workers for every client at once, started up front.
TUNED_FILE = "/etc/apache2/conf-enabled/zz-%s-bench-mpm.conf" % server.PREFIX
TUNED = {"StartServers": 10, "ServerLimit": 16, "ThreadsPerChild": 25, "MinSpareThreads": 75,
         "MaxSpareThreads": 250, "MaxRequestWorkers": 400}


# ---- orchestration ---------------------------------------------------------------------------

def apache(variant):
    """Apply an Apache variant in the container: tested with apache2ctl -t, then a full restart
    (MPM limits are read at start-up only)."""
    if variant == "tuned":
        body = "# written by benchmarks/transfer_load.py for one variant, removed afterwards\n<IfModule mpm_event_module>\n"
        body += "".join("    %s %d\n" % kv for kv in TUNED.items()) + "</IfModule>\n"
        server.write_file(TUNED_FILE, body)
    else:
        server.exec_("rm", "-f", TUNED_FILE)
    server.exec_("apache2ctl", "-t")
    server.exec_("systemctl", "restart", "apache2")
    for _i in range(50):
        # the container has no curl: ask from the lab netns, where the clients are
        if server.sh(["ip", "netns", "exec", server.NETNS, "curl", "-sf", "-o", "/dev/null",
                      "http://%s%s%s" % (server.SERVER_IP, HTTP_PREFIX, FILES[0])], check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit("Apache did not come back after the %s restart" % variant)


def measure(args):
    from lab_boot import lab          # the lab runner, called as lab_boot does
    data = load_data(args.data) if args.append else {}
    if not args.reuse:
        setup = lab("--keep", "--paths", "uefi-tftp")
        if setup.get("site", {}).get("run", {}).get("rc") != 0:
            lab("down")
            raise SystemExit("lab set-up failed: %s" % json.dumps(setup.get("site")))
    try:
        client_addresses()
        sums, sizes = server_sums()
        mpm = server.exec_("sh", "-c", "grep -v '^\\s*#' /etc/apache2/mods-enabled/mpm_*.conf | grep -v '^\\s*$'").stdout
        data.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), sizes=sizes, sha256=sums,
                    mpm_default=mpm, tuned=TUNED, cpus=os.cpu_count(), load_before=open("/proc/loadavg").read().strip(),
                    tftpd=server.exec_("sh", "-c", "in.tftpd -V 2>&1 | head -1; systemctl cat tftp.service | grep ^ExecStart",
                                       check=False).stdout.strip(),
                    apache_version=server.exec_("apache2", "-v", check=False).stdout.splitlines()[0],
                    tftp_clients=args.tftp_clients, http_clients=args.http_clients)
        data["windowsize_probe"] = run_batch("probe")
        print("windowsize probe: granted %s" % data["windowsize_probe"].get("oack"), flush=True)
        data.setdefault("runs", [])
        for run in range(args.runs):
            for kind, variant in [("tftp", b) for b in BLKSIZES] + [("http", "default"), ("http", "tuned")]:
                load = open("/proc/loadavg").read().split()[0]
                before = server_udp()
                if kind == "tftp":
                    res = run_batch("tftp", "--clients", args.tftp_clients, "--blksize", variant)
                    name = "tftp blksize %d" % variant
                else:
                    apache(variant)
                    res = run_batch("http", "--clients", args.http_clients)
                    name = "http %s" % variant
                res["server_udp"] = {k: v - before[k] for k, v in server_udp().items()}
                s = summarize(res, sums)
                s.update(variant=name, run=run + 1, load=float(load), load_after=float(open("/proc/loadavg").read().split()[0]))
                data["runs"].append(s)
                print("run %d %-18s ok %d/%d wall %.1f s %.0f MB/s median client %.1f s max %.1f s load %s %s" % (
                    run + 1, name, s["ok"], s["clients"], s["wall"], s["mb_s"], statistics.median(s["per_client"]),
                    s["per_client"][-1], load, s["errors"][:3]), flush=True)
                save_json(args.data, data)
        data["load_after"] = open("/proc/loadavg").read().strip()
        save_json(args.data, data)
    finally:
        try:
            apache("default")
        except (SystemExit, subprocess.CalledProcessError) as exc:
            print("could not restore Apache: %s" % exc, file=sys.stderr)
        if not args.keep:
            lab("down")


def load_data(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


# ---- rendering ---------------------------------------------------------------------------------

def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def variants(data):
    order = []
    for r in data["runs"]:
        if r["variant"] not in order:
            order.append(r["variant"])
    return order


def med(runs, fn):
    return statistics.median(fn(r) for r in runs)


def render(data):
    mb = sum(data["sizes"].values()) / 1e6
    lines = ["## Transfer load (`benchmarks/transfer_load.py`)", ""]
    lines.append(
        "%d TFTP clients and %d HTTP clients at once fetch the lab's kernel (%.1f MB) and initrd (%.1f MB), one "
        "after the other like a boot loader, from the lab's boot-server container (in.tftpd and Apache as "
        "site.yml configured them) over the lab bridge (veth, MTU 1500). Clients run on the same machine "
        "inside the lab netns, each from its own address: TFTP as one process per client "
        "(`lab/fabric_lab/tftp_client.py`), HTTP as one thread per client (`http.client`). Every file every client "
        "received was hashed and compared with the server's sha256. Measured %s, %d runs per variant, run one "
        "after the other in each round; figures are medians over the runs. Machine: %d cores shared with "
        "other jobs, clients and servers on the same cores (a real boot server has its cores to itself and "
        "the clients elsewhere: read the figures as a lower bound); `/proc/loadavg` before: `%s`, after: `%s`."
        % (data["tftp_clients"], data["http_clients"], data["sizes"][FILES[0]] / 1e6, data["sizes"][FILES[1]] / 1e6,
           data["date"], max(r["run"] for r in data["runs"]), data["cpus"], data["load_before"],
           data.get("load_after", "-")))
    lines.append("")
    lines.append("| variant | clients ok (all runs) | sha256 mismatches | per-client s: median | p90 | max | "
                 "batch wall s | aggregate MB/s | client timeouts | duplicate blocks | UDP errors client/server | "
                 "load 1-min at start |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    derived = []
    for v in variants(data):
        runs = [r for r in data["runs"] if r["variant"] == v]
        ok = sum(r["ok"] for r in runs)
        total = sum(r["clients"] for r in runs)
        udp_c = med(runs, lambda r: r.get("udp", {}).get("InErrors", 0))
        udp_s = med(runs, lambda r: r.get("server_udp", {}).get("InErrors", 0))
        tftp = "timeouts" in runs[0]
        lines.append("| %s | %d/%d | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %s | %s | %s | %s |" % (
            v, ok, total, sum(r["mismatch"] for r in runs),
            med(runs, lambda r: statistics.median(r["per_client"])), med(runs, lambda r: pct(r["per_client"], 0.9)),
            med(runs, lambda r: r["per_client"][-1]), med(runs, lambda r: r["wall"]), med(runs, lambda r: r["mb_s"]),
            "%g" % med(runs, lambda r: r["timeouts"]) if tftp else "-",
            "%g" % med(runs, lambda r: r["duplicates"]) if tftp else "-",
            "%g / %g" % (udp_c, udp_s) if tftp else "-",
            "/".join("%.1f" % r["load"] for r in runs)))
        wall = med(runs, lambda r: r["per_client"][-1])
        derived.append((v, runs[0]["clients"] * 60 / wall, med(runs, lambda r: r["mb_s"]) * 60 / mb))
    lines.append("")
    http = [v for v in variants(data) if v.startswith("http")]
    if http:
        lines.append("HTTP time to the first response byte (the wait for a free Apache worker), per client the "
                     "longer of its two requests, medians over the runs:")
        lines.append("")
        lines.append("| variant | median s | p90 s | max s |")
        lines.append("|---|---|---|---|")
        for v in http:
            runs = [r for r in data["runs"] if r["variant"] == v]
            lines.append("| %s | %.2f | %.2f | %.2f |" % (
                v, med(runs, lambda r: statistics.median(r["first_byte"])), med(runs, lambda r: pct(r["first_byte"], 0.9)),
                med(runs, lambda r: r["first_byte"][-1])))
        lines.append("")
    errors = sorted({e for r in data["runs"] for e in r["errors"]})
    lines.append("Errors seen: %s." % ("; ".join("`%s`" % e for e in errors) if errors else "none"))
    probe = data.get("windowsize_probe", {})
    lines.append("")
    lines.append("in.tftpd (%s) options: every TFTP client asked for `tsize` and its `blksize`; granted: %s. "
                 "A probe asking `blksize=1468 windowsize=8` was granted `%s`: tftpd-hpa 5.2 has no RFC 7440 "
                 "windowsize (its option table lists blksize, blksize2, tsize, timeout, utimeout, rollover), so "
                 "every TFTP transfer here is lock-step, one ACK per block." % (
                     data["tftpd"].replace("\n", "; "),
                     "; ".join(sorted({g for r in data["runs"] for g in r.get("granted", [])})),
                     json.dumps(probe.get("oack"), sort_keys=True)))
    lines.append("")
    lines.append("Apache %s. `default` is what the http_server role leaves in place, Debian's "
                 "`mods-enabled/mpm_event.conf`: `%s`. `tuned` adds, for that variant only, `%s` "
                 "(checked with `apache2ctl -t`, full restart before each HTTP batch of either variant)." % (
                     data["apache_version"].replace("Server version: ", ""),
                     "; ".join(line.strip() for line in data["mpm_default"].splitlines()
                               if not line.strip().startswith("<")).replace("/etc/apache2/mods-enabled/", ""),
                     ", ".join("%s %d" % kv for kv in data["tuned"].items())))
    lines.append("")
    lines.append("### Nodes booted per minute (derived)")
    lines.append("")
    lines.append("Derived from the table above, not measured with booting nodes: only the kernel + initrd fetch "
                 "(%.1f MB) loads the boot server; firmware, DHCP, the loader and the kernel's own start-up run on "
                 "the nodes in parallel and add latency, not server load. *batch*: a wave of as many nodes as "
                 "clients above, all starting at once, is served in the slowest client's time (max per-client s), "
                 "so waves back to back give clients x 60 / max. *throughput*: aggregate MB/s x 60 / %.1f MB, "
                 "what the server sustains when nodes arrive spread out." % (mb, mb))
    lines.append("")
    lines.append("| variant | nodes/min, batch | nodes/min, throughput |")
    lines.append("|---|---|---|")
    for v, batch, thr in derived:
        lines.append("| %s | %.0f | %.0f |" % (v, batch, thr))
    lines.append("")
    return "\n".join(lines) + "\n"


def plot(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for v in variants(data):
        runs = [r for r in data["runs"] if r["variant"] == v]
        # the run with the median batch wall time stands for the variant
        r = sorted(runs, key=lambda x: x["wall"])[len(runs) // 2]
        ys = [(i + 1) / len(r["per_client"]) for i in range(len(r["per_client"]))]
        ax.step(r["per_client"], ys, where="post", label="%s (%d clients)" % (v, r["clients"]))
    ax.set_xscale("log")
    ax.set_xlabel("seconds per client for kernel + initrd (log)")
    ax.set_ylabel("fraction of clients done")
    ax.set_title("Transfer load: clients at once against one boot server (run with the median wall time)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tftp-clients", type=int, default=50)
    ap.add_argument("--http-clients", type=int, default=200)
    ap.add_argument("--append", action="store_true", help="add the runs to those already in --data")
    args = lab_bench_args(ap, DATA, PLOT, "python -m fabric_lab --keep")
    if not args.render:
        measure(args)
    data = load_data(args.data)
    if not data.get("runs"):
        raise SystemExit("no measurements in %s" % args.data)
    body = render(data)
    print(body)
    if args.write:
        write_section_with_plot(args.write, "transfer-load", body, lambda out: plot(data, out), args.plot or PLOT,
                                "per-client fetch times")
    return 0


if __name__ == "__main__":
    sys.exit(main())
