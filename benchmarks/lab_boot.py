"""Per-path network boot times of the lab (docs/lab.md), one VM at a time, medians of --runs.

  python benchmarks/lab_boot.py --variant after [--runs 3] [--paths a,b] [--initrd FILE]
  python benchmarks/lab_boot.py --render [--write docs/performance.md] [--plot docs/lab-boot.png]

A measuring run sets the lab up once through the lab runner itself (`python -m fabric_lab
--keep`: container, site.yml, the first path booted once to warm up), then:

* fetches the published kernel and initrd from the boot server with real clients inside the lab
  netns (curl: TFTP at the block sizes the boot stages ask for, and HTTP), three times each, to
  show what the server side can deliver without a VM in the way;
* boots every path alone --runs times (`--reuse --keep --parallel 1`, the runner's one VM
  launcher lab/fabric_lab/vm.py), recording the load average around every boot;
* reads from the bridge capture which TFTP options each boot stage asked for and what in.tftpd
  granted;
* removes the lab, and stores everything under --variant in --data (JSON, committed), so that
  variants measured on different days (image before/after, server options) render side by side.

--render writes the lab section of docs/performance.md and the plot from --data without booting.
Needs root (the lab does). Set FB_LAB_PREFIX to run beside another lab. The plot needs
matplotlib (benchmarks/requirements.txt), the measuring run only the lab's own tools.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fabric_lab import paths, report, server  # noqa: E402
from perfdoc import replace_section, save_json  # noqa: E402

DATA = os.path.join(ROOT, "docs", "data", "lab_boot.json")
PLOT = os.path.join(ROOT, "docs", "lab-boot-times.png")
PHASES = ("offer", "loader", "images", "marker")
PHASE_TITLES = {"offer": "DHCP offer", "loader": "loader fetched", "images": "kernel+initrd fetched",
                "marker": "smoke marker"}
# Hand-built reference boots of the same paths on this kind of machine (issue 8), seconds to the
# end of the boot; the iPXE paths' goal is 22 s (no IPv6 wait).
REFERENCE = {"uefi-tftp": 17.1, "uefi-http": 19.5, "secureboot": 21.5, "bios-pxelinux": 27.6,
             "ipxe-ib": 22.0, "uefi-httpboot": 19.5}
REFERENCE_NOTE = {"ipxe-ib": "goal (hand-built 31.6 with the IPv6 wait)",
                  "uefi-httpboot": "no own reference; UEFI/HTTP's"}
# Block sizes the boot stages ask for (read from the capture: GRUB 1024, pxelinux 1408, iPXE
# 1432), RFC 1350's 512 and 1468, the largest that fits a 1500-byte frame.
BLKSIZES = (512, 1024, 1408, 1432, 1468)


def lab(*args):
    """One run of the lab runner; returns its --json results."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lab"))
    env.pop("KEEP", None)
    fd, out = tempfile.mkstemp(prefix=server.PREFIX + "-bench-", suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.run([sys.executable, "-m", "fabric_lab", "--json", out] + list(args),
                              cwd=ROOT, env=env, check=False, text=True, capture_output=True)
        if proc.returncode and "down" not in args:
            print(proc.stdout[-3000:], proc.stderr[-2000:], file=sys.stderr)
        with open(out) as f:
            text = f.read()
        return json.loads(text) if text else {}
    finally:
        os.unlink(out)


def in_netns(cmd):
    return subprocess.run(["ip", "netns", "exec", server.NETNS] + cmd, check=False, text=True, capture_output=True)


def fetch_seconds(url, extra=()):
    """Wall seconds of one curl fetch from inside the lab netns (None when it failed)."""
    t0 = time.time()
    proc = in_netns(["curl", "-sf", "--max-time", "120", "-o", "/dev/null"] + list(extra) + [url])
    return time.time() - t0 if proc.returncode == 0 else None


def transfers(files, repeat=3):
    """{file: {"size": bytes, "tftp-<blksize>": [s...], "http": [s...]}} for real clients."""
    out = {}
    for name in files:
        size = int(server.exec_("stat", "-c", "%s", "/var/lib/tftpboot/" + name).stdout.strip())
        row = {"size": size}
        for attempt_ in range(repeat):
            for bs in BLKSIZES:
                row.setdefault("tftp-%d" % bs, []).append(
                    fetch_seconds("tftp://%s/%s" % (server.SERVER_IP, name), ["--tftp-blksize", str(bs)]))
            row.setdefault("http", []).append(fetch_seconds("http://%s/boot/%s" % (server.SERVER_IP, name)))
        out[name] = row
    return out


def negotiated(pcap):
    """{(file, asked blksize / windowsize, granted)}: what the boot stages asked in.tftpd for."""
    seen = set()
    for ip_, name, asked, granted in report.tftp_requests(pcap, server.SERVER_IP):
        seen.add((name, " ".join("%s=%s" % kv for kv in sorted(asked.items())),
                  " ".join("%s=%s" % kv for kv in sorted(granted.items()))))
    return sorted(seen)


def measure(args):
    names = args.paths.split(",")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    setup_args = ["--keep", "--paths", names[0]] + (["--initrd", args.initrd] if args.initrd else [])
    t0 = time.time()
    if not args.reuse:
        setup = lab(*setup_args)
        if not setup.get("site", {}).get("run", {}).get("rc") == 0:
            lab("down")
            raise SystemExit("lab set-up failed: %s" % json.dumps(setup.get("site")))
    variant = {"date": started, "runs": args.runs, "setup_seconds": None if args.reuse else time.time() - t0,
               "boots": {},
               "load_before": load_before, "note": args.note}
    try:
        images = ["images/lab/vmlinuz", "images/lab/initrd.img"]
        variant["transfers"] = transfers(images)
        variant["sizes"] = {n: variant["transfers"][n]["size"] for n in images}
        source = args.initrd or os.path.join(ROOT, "build", "lab", "source", "initrd.img")
        variant["source_initrd"] = os.path.getsize(source)
        options = set()
        if args.append:
            # more boots of the same set-up: a variant measured in several sittings
            old = load_data(args.data).get(args.variant, {})
            variant["boots"] = old.get("boots", {})
            variant["runs"] = old.get("runs", 0) + args.runs
            variant["load_before"] = old.get("load_before", load_before)
            variant["date"] = old.get("date", started)
            options.update(tuple(o) for o in old.get("tftp_options", []))
        for run_ in range(args.runs):
            for n in names:
                load = os.getloadavg()[0]
                res = lab("--reuse", "--keep", "--parallel", "1", "--paths", n)
                for r in res.get("paths", []):
                    sample = dict(r["timing"], passed=r["passed"], load_before=load, load_after=os.getloadavg()[0])
                    variant["boots"].setdefault(n, []).append(sample)
                    print("%s run %d: %s" % (n, run_ + 1, sample), flush=True)
                pcap = os.path.join(res.get("workdir", ""), "br0.pcap")
                if os.path.exists(pcap):
                    options.update((n,) + o for o in negotiated(pcap))
                variant["tftp_options"] = sorted(options)
                # saved after every boot: a run stopped early keeps what it measured
                variant["load_after"] = os.getloadavg()
                save(args.data, args.variant, variant)
    finally:
        if not args.keep:
            lab("down")
    variant["load_after"] = os.getloadavg()
    save(args.data, args.variant, variant)


def save(path, key, variant):
    data = load_data(path)
    data[key] = variant
    save_json(path, data)


def load_data(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def medians(variant, name):
    """{phase: median seconds over the passed boots} and (passed, total) for one path."""
    boots = variant["boots"].get(name, [])
    good = [b for b in boots if b["passed"]]
    return {c: median([b[c] for b in good]) for c in PHASES + ("total",)}, (len(good), len(boots))


def fmt(v):
    return "-" if v is None else "%.1f" % v


def render(data, order):
    lines = ["## Lab boots (`benchmarks/lab_boot.py`)", ""]
    lines.append("One VM at a time under TCG (`-accel tcg`, one vCPU), each path booted through the servers "
                 "site.yml configured in the lab container; seconds after qemu started, medians of the passed "
                 "boots. The machine is shared (2 cores, up to six other jobs): the load average around the "
                 "boots is given with each variant, and figures from a loaded machine are slower than an idle "
                 "one's.")
    lines.append("")
    for key in order:
        v = data[key]
        loads = [b["load_before"] for bs in v["boots"].values() for b in bs]
        lines.append("### %s" % key)
        lines.append("")
        lines.append("%s. Measured %s; up to %d runs per path (column passed: passed boots / boots); load average %.1f before, %.1f after, "
                     "%.1f-%.1f (median %.1f) at the start of the boots. Published kernel %.1f MB, initrd "
                     "%.1f MB (source initrd %.1f MB)." % (
                         (v.get("note") or key).rstrip("."), v["date"], v["runs"], v["load_before"][0], v["load_after"][0],
                         min(loads) if loads else 0, max(loads) if loads else 0, median(loads) or 0,
                         v["sizes"]["images/lab/vmlinuz"] / 1e6, v["sizes"]["images/lab/initrd.img"] / 1e6,
                         v["source_initrd"] / 1e6))
        lines.append("")
        lines.append("| path | passed | DHCP offer | loader | kernel+initrd | marker | qemu exit | reference |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for name in [p.name for p in paths.PATHS if p.name in v["boots"]]:
            m, (good, total) = medians(v, name)
            ref = REFERENCE.get(name)
            lines.append("| %s | %d/%d | %s | %s | %s | %s | %s | %s%s |" % (
                name, good, total, fmt(m["offer"]), fmt(m["loader"]), fmt(m["images"]), fmt(m["marker"]),
                fmt(m["total"]), fmt(ref), " (%s)" % REFERENCE_NOTE[name] if name in REFERENCE_NOTE else ""))
        lines.append("")
    if len(order) > 1:
        lines.append("### Side by side: qemu exit (median s)")
        lines.append("")
        lines.append("| path | " + " | ".join(order) + " | reference |")
        lines.append("|---|" + "---|" * len(order) + "---|")
        for name in [p.name for p in paths.PATHS]:
            cells = [fmt(medians(data[k], name)[0]["total"]) if name in data[k]["boots"] else "-" for k in order]
            lines.append("| %s | %s | %s |" % (name, " | ".join(cells), fmt(REFERENCE.get(name))))
        lines.append("")
    last = data[order[-1]]
    lines.append("### Transfers with real clients (variant %s)" % order[-1])
    lines.append("")
    lines.append("curl inside the lab netns fetches the published files from the container, no VM involved: "
                 "what in.tftpd and Apache deliver at each TFTP block size (median of 3 fetches, MB/s).")
    lines.append("")
    cols = ["tftp-%d" % b for b in BLKSIZES] + ["http"]
    lines.append("| file | MB | " + " | ".join(c.replace("tftp-", "TFTP blksize ") for c in cols) + " |")
    lines.append("|---|---|" + "---|" * len(cols))
    for name, row in sorted(last["transfers"].items()):
        cells = []
        for c in cols:
            s = median(row[c])
            cells.append("-" if not s else "%.0f" % (row["size"] / 1e6 / s))
        lines.append("| `%s` | %.1f | %s |" % (name, row["size"] / 1e6, " | ".join(cells)))
    lines.append("")
    lines.append("What each boot stage asked in.tftpd for, read from the bridge capture (RRQ options, and the "
                 "OACK in.tftpd answered):")
    lines.append("")
    lines.append("| path | file | asked | granted |")
    lines.append("|---|---|---|---|")
    for path, name, asked, granted in last.get("tftp_options", []):
        if name.endswith((".efi", ".0", "vmlinuz", "initrd.img")):
            lines.append("| %s | `%s` | %s | %s |" % (path, name, asked or "(none)", granted or "(none)"))
    lines.append("")
    return "\n".join(lines) + "\n"


def plot(data, order, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [p.name for p in paths.PATHS]
    colors = {"offer": "#9ecae1", "loader": "#4292c6", "images": "#fd8d3c", "marker": "#74c476",
              "total": "#bdbdbd"}
    fig, axes = plt.subplots(1, len(order), figsize=(6 * len(order), 4), sharex=True, squeeze=False)
    for ax, key in zip(axes[0], order):
        for i, name in enumerate(names):
            if name not in data[key]["boots"]:
                continue
            m, counts_ = medians(data[key], name)
            start = 0.0
            for phase in PHASES + ("total",):
                end = m[phase]
                if end is None:
                    continue
                ax.barh(i, end - start, left=start, color=colors[phase],
                        label=PHASE_TITLES.get(phase, "power-off") if i == 0 else None)
                start = end
            if name in REFERENCE:
                ax.plot([REFERENCE[name]] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2,
                        label="reference / goal" if i == 0 else None)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names)
        ax.invert_yaxis()
        ax.set_xlabel("seconds after power-on (median)")
        ax.set_title(key)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--paths", default=",".join(p.name for p in paths.PATHS))
    ap.add_argument("--variant", help="name to store this measurement under in --data")
    ap.add_argument("--note", default="", help="one sentence on what this variant is")
    ap.add_argument("--initrd", help="source initrd to build the lab image from (the runner's --initrd)")
    ap.add_argument("--reuse", action="store_true",
                    help="measure the lab a `make lab KEEP=1` (same FB_LAB_PREFIX) left running; no set-up")
    ap.add_argument("--keep", action="store_true", help="leave the lab running at the end")
    ap.add_argument("--append", action="store_true", help="add the boots to --variant's earlier ones (with --reuse)")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--render", action="store_true", help="only write the section and the plot from --data")
    ap.add_argument("--order", help="comma-separated variants to render, in order (default: all, by date)")
    ap.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    ap.add_argument("--plot", default=None, metavar="PNG", help="plot file (default %s when --write)" % PLOT)
    args = ap.parse_args()
    if not args.render:
        if not args.variant:
            ap.error("--variant is required for a measuring run")
        measure(args)
    data = load_data(args.data)
    if not data:
        raise SystemExit("no measurements in %s" % args.data)
    order = args.order.split(",") if args.order else sorted(data, key=lambda k: data[k]["date"])
    body = render(data, order)
    print(body)
    if args.write:
        plot_path = args.plot or PLOT
        plot(data, order, plot_path)
        body += "\n![lab boot phases per path](%s)\n" % os.path.relpath(plot_path, os.path.dirname(args.write))
        replace_section(args.write, "lab", body)


if __name__ == "__main__":
    main()
