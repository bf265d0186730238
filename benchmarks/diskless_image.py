"""Diskless images: what a build costs, and N nodes fetching kernel + initrd + squashfs at once.

  python benchmarks/diskless_image.py [--runs 3] [--clients 10,50,200] [--reuse] [--keep]
  python benchmarks/diskless_image.py --render [--write docs/performance.md] [--plot docs/diskless-fetch.png]

The lab (docs/lab.md) is set up once through its own runner (`python -m fabric_lab --keep
--paths diskless`, as benchmarks/lab_boot.py calls it): site.yml builds the lab-diskless image
(lab/image/build-diskless-root.sh's Debian 12 root) and a VM boots it, so what is measured is an
image that boots. Then, --runs times:

* build: benchmarks/diskless_build.yml (the validation play and the diskless_image role, as
  site.yml runs them) against the boot-server container, three ways: *first build* (every
  generation of the image removed first: squashfs, dracut initrd, fabric_client in the root),
  *no change* (must report changed=0 and publish nothing), *one file changed* in the image root
  (a new generation: a new squashfs, the initrd reused from the previous generation);
* fetch: for each N of --clients, N HTTP clients at once inside the lab netns, each from its own
  address, GET the newest generation's vmlinuz, initrd.img and rootfs.squashfs one after the
  other, as a node does (GRUB fetches the first two, dracut's livenet the third), from Apache as
  the http_server role configured it. The HTTP clients are lab/fabric_lab/transfer.py's (one
  thread per client, every file hashed and compared with the server's sha256).

Stored in --data (JSON, committed); --render writes the diskless-image section of
docs/performance.md and its plot. Needs root (the lab does); the plot needs matplotlib
(benchmarks/requirements.txt).
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, HERE)
from fabric_lab import server  # noqa: E402
from perfdoc import lab_bench_args, save_json, write_section_with_plot  # noqa: E402
import transfer_load  # noqa: E402
from fabric_lab import transfer  # noqa: E402

DATA = os.path.join(ROOT, "docs", "data", "diskless_image.json")
PLOT = os.path.join(ROOT, "docs", "diskless-fetch.png")
BUILD_PLAY = os.path.join(HERE, "diskless_build.yml")
IMAGE = "lab-diskless"                                   # lab/inventory/group_vars/all.yml
IMAGE_ROOT = "/srv/fabric-lab/diskless-root"             # its root, in the container (a podman overlay)
IMAGES_DIR = transfer.TFTP_ROOT + "/images"              # diskless_image_publish_root + /images
STAMP = IMAGE_ROOT + "/etc/fabric-bench-stamp"           # the "one file changed"
PARTS = ("vmlinuz", "initrd.img", "rootfs.squashfs")


def generations():
    out = server.exec_("sh", "-c", 'ls -d "$1"/"$2"@* 2>/dev/null || true', "sh", IMAGES_DIR, IMAGE).stdout.split()
    return sorted(int(p.rsplit("@", 1)[1]) for p in out if p.rsplit("@", 1)[1].isdigit())


def build(workdir, label):
    """One diskless_build.yml run: wall seconds, rc, recap, the generation now newest."""
    from fabric_lab.__main__ import playbook     # the lab runner needs PyYAML; --render does not
    t0 = time.monotonic()
    rc, recap = playbook(workdir, label, play=BUILD_PLAY)
    seconds = time.monotonic() - t0
    if rc:
        raise SystemExit("diskless_build.yml %s failed (log %s/site-%s.log)" % (label, workdir, label))
    gens = generations()
    return {"seconds": seconds, "changed": recap.get("changed"), "generation": gens[-1] if gens else None}


def sizes(gen):
    d = "%s/%s@%d" % (IMAGES_DIR, IMAGE, gen)
    out = {p: int(server.exec_("stat", "-c", "%s", "%s/%s" % (d, p)).stdout) for p in PARTS}
    out["root tree"] = int(server.exec_("du", "-sb", "--one-file-system", IMAGE_ROOT).stdout.split()[0])
    return out


def measure_builds(args, workdir, data):
    for run in range(args.runs):
        server.exec_("sh", "-c", 'rm -rf "$1"/"$2"@* "$1"/."$2"@*', "sh", IMAGES_DIR, IMAGE)
        row = {"run": run + 1, "load": os.getloadavg()[0]}
        row["first build"] = build(workdir, "first-%d" % (run + 1))
        row["no change"] = build(workdir, "nochange-%d" % (run + 1))
        server.write_file(STAMP, "benchmarks/diskless_image.py run %d %s\n" % (run + 1, time.time()))
        row["one file changed"] = build(workdir, "onefile-%d" % (run + 1))
        data.setdefault("builds", []).append(row)
        print("build run %d: %s" % (run + 1, ", ".join("%s %.0f s changed=%s gen %s" % (
            k, row[k]["seconds"], row[k]["changed"], row[k]["generation"]) for k in BUILD_PHASES)), flush=True)
        save_json(args.data, data)


BUILD_PHASES = ("first build", "no change", "one file changed")


def measure_fetches(args, data):
    gen = generations()[-1]
    files = ["images/%s@%d/%s" % (IMAGE, gen, p) for p in PARTS]
    sums = {n: server.exec_("sha256sum", "%s/%s" % (transfer.TFTP_ROOT, n)).stdout.split()[0] for n in files}
    data.update(files=files, sizes=sizes(gen))
    transfer.client_addresses()
    transfer_load.apache("default")           # what the http_server role left, after a fresh start
    for run in range(args.runs):
        for n in args.clients:
            load = os.getloadavg()[0]
            res = transfer.run_batch("http", "--clients", n, "--files", ",".join(files))
            s = transfer.summarize(res, sums, files)
            s.update(run=run + 1, load=load)
            data.setdefault("fetches", []).append(s)
            print("fetch run %d: %3d clients ok %d wall %.1f s %.0f MB/s median client %.1f s max %.1f s load %.1f %s" % (
                run + 1, n, s["ok"], s["wall"], s["mb_s"], statistics.median(s["per_client"]), s["per_client"][-1],
                load, s["errors"][:3]), flush=True)
            save_json(args.data, data)


def measure(args):
    from lab_boot import lab
    data = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
            "load_before": open("/proc/loadavg").read().strip(), "clients": args.clients}
    if not args.reuse:
        setup = lab("--keep", "--paths", "diskless")
        booted = [p for p in setup.get("paths", []) if p.get("path") == "diskless"]
        data["lab"] = {"site": setup.get("site"), "diskless boot": booted[0].get("passed") if booted else None,
                       "timing": booted[0].get("timing") if booted else None}
        if setup.get("site", {}).get("run", {}).get("rc") != 0:
            lab("down")
            raise SystemExit("lab set-up failed: %s" % json.dumps(setup.get("site")))
    workdir = tempfile.mkdtemp(prefix=server.PREFIX + "-diskless-bench-", dir=os.path.join(ROOT, "build"))
    try:
        data["mksquashfs"] = server.exec_("sh", "-c", "mksquashfs -version | head -1").stdout.strip()
        data["dracut"] = server.exec_("sh", "-c", "dracut --version 2>&1 | head -1", check=False).stdout.strip()
        measure_builds(args, workdir, data)
        measure_fetches(args, data)
        data["load_after"] = open("/proc/loadavg").read().strip()
        save_json(args.data, data)
    finally:
        if not args.keep:
            lab("down")


# ---- rendering ---------------------------------------------------------------------------------

def fetch_rows(data):
    """[(clients, [runs])] in --clients order."""
    return [(n, [r for r in data["fetches"] if r["clients"] == n]) for n in data["clients"]]


def render(data):
    med, pct = statistics.median, transfer_load.pct
    sz = data["sizes"]
    node_mb = sum(sz[p] for p in PARTS) / 1e6
    runs = len(data["builds"])
    lines = ["## Diskless images (`benchmarks/diskless_image.py`)", ""]
    lines.append(
        "The lab's diskless image (`lab-diskless`: a Debian 12 root made by `lab/image/build-diskless-root.sh`, "
        "kernel, NetworkManager, rdma-core; see docs/lab.md), built by the `diskless_image` role in the lab's "
        "boot-server container and booted by a VM before the figures were taken (%s). Measured %s, %d runs; "
        "figures are medians. %s; %s. Machine: %d cores, shared with other jobs; `/proc/loadavg` before: `%s`, "
        "after: `%s`." % (
            "boot passed" if data.get("lab", {}).get("diskless boot") else "boot result: %s" % data.get("lab", {}).get("diskless boot"),
            data["date"], runs, data.get("mksquashfs", "mksquashfs"), data.get("dracut", "dracut"), data["cpus"],
            data["load_before"], data.get("load_after", "-")))
    lines += ["", "### Image size", "", "| part | MB |", "|---|---|"]
    for p in ("root tree",) + PARTS:
        lines.append("| %s | %.1f |" % (p, sz[p] / 1e6))
    lines.append("")
    lines.append("A node fetches %.1f MB (kernel, initrd, squashfs); the squashfs is %.0f%% of the root tree "
                 "(zstd, the role's default)." % (node_mb, 100.0 * sz["rootfs.squashfs"] / sz["root tree"]))
    lines += ["", "### Build time (`benchmarks/diskless_build.yml`: the validation play + the diskless_image role)", "",
              "| run | median s | min s | max s | changed (each run) | generation published |", "|---|---|---|---|---|---|"]
    for phase in BUILD_PHASES:
        rows = [b[phase] for b in data["builds"]]
        secs = [r["seconds"] for r in rows]
        lines.append("| %s | %.1f | %.1f | %.1f | %s | %s |" % (
            phase, med(secs), min(secs), max(secs), "/".join(str(r["changed"]) for r in rows),
            "/".join(str(r["generation"]) for r in rows)))
    lines.append("")
    lines.append("*first build*: every generation removed, then squashfs, dracut initrd (with the driver set), "
                 "kernel copy and fabric_client's files in the root; *no change*: the role reads the root's digest "
                 "(paths, modes, owners, xattrs, contents) and the manifests and builds nothing, so its time is "
                 "ansible-core's fixed cost plus reading the tree; *one file changed*: a new generation with a new "
                 "squashfs, the initrd copied from the previous generation (same kernel, modules and recipe). "
                 "1-minute load at the start of each run: %s." % "/".join("%.1f" % b["load"] for b in data["builds"]))
    lines += ["", "### N nodes fetching the image at once (HTTP, Apache as the http_server role left it)", "",
              "| nodes at once | clients ok (all runs) | sha256 mismatches | per-node s: median | p90 | max | "
              "batch wall s | aggregate MB/s | nodes/min, batch | nodes/min, throughput | load 1-min at start |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, rs in fetch_rows(data):
        if not rs:
            continue
        mx = med(r["per_client"][-1] for r in rs)
        mbs = med(r["mb_s"] for r in rs)
        lines.append("| %d | %d/%d | %d | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %s |" % (
            n, sum(r["ok"] for r in rs), sum(r["clients"] for r in rs), sum(r["mismatch"] for r in rs),
            med(statistics.median(r["per_client"]) for r in rs), med(pct(r["per_client"], 0.9) for r in rs), mx,
            med(r["wall"] for r in rs), mbs, n * 60 / mx, mbs * 60 / node_mb, "/".join("%.1f" % r["load"] for r in rs)))
    errors = sorted({e for r in data["fetches"] for e in r["errors"]})
    lines.append("")
    seen = "; ".join("`%s`" % e for e in errors) if errors else "none"
    lines.append("Errors seen: %s. Each client fetched %s one after the other. *nodes/min, batch*: waves of N "
                 "nodes back to back (N x 60 / slowest node); *throughput*: aggregate MB/s x 60 / %.1f MB, what "
                 "the server sustains when nodes arrive spread out. Clients and server share the same two cores "
                 "and the link is a veth pair, so read these as what one busy boot server delivers, not what a "
                 "NIC limits. The load averages of the fetch rows are mostly the benchmark's own: up to N client "
                 "threads hashing what they receive, and Apache's workers, on those two cores."
                 % (seen, ", ".join("`%s`" % f for f in data["files"]), node_mb))
    lines.append("")
    return "\n".join(lines) + "\n"


def plot(data, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [(n, rs) for n, rs in fetch_rows(data) if rs]
    ns = [n for n, _rs in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for label, fn in (("median", lambda r: statistics.median(r["per_client"])),
                      ("p90", lambda r: transfer_load.pct(r["per_client"], 0.9)),
                      ("slowest", lambda r: r["per_client"][-1])):
        ax1.plot(ns, [statistics.median(fn(r) for r in rs) for _n, rs in rows], marker="o", label=label)
    ax1.legend(fontsize=8)
    ax2.plot(ns, [statistics.median(r["mb_s"] for r in rs) for _n, rs in rows], marker="o")
    for ax, ylabel in ((ax1, "seconds per node for kernel + initrd + squashfs"),
                       (ax2, "aggregate MB/s from one boot server")):
        ax.set_xscale("log")
        ax.set_xticks(ns)
        ax.set_xticklabels([str(n) for n in ns])
        ax.set_xlabel("nodes fetching at once")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    fig.suptitle("Diskless image fetch (medians of %d runs)" % max(r["run"] for r in data["fetches"]))
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50, 200],
                    help="comma-separated numbers of nodes fetching at once (from %d addresses, reused beyond)"
                    % len(transfer.CLIENT_HOSTS))
    args = lab_bench_args(ap, DATA, PLOT, "python -m fabric_lab --keep --paths diskless")
    if not args.render:
        measure(args)
    with open(args.data) as f:
        data = json.load(f)
    if not data.get("fetches") or not data.get("builds"):
        raise SystemExit("no measurements in %s" % args.data)
    body = render(data)
    print(body)
    if args.write:
        write_section_with_plot(args.write, "diskless-image", body, lambda out: plot(data, out), args.plot or PLOT,
                                "diskless image fetch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
