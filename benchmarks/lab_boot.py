"""Per-path network boot times of the lab (docs/lab.md), one VM at a time, median of --runs.

  python benchmarks/lab_boot.py [--runs 3] [--paths a,b] [--write docs/performance.md]

Sets the lab up once (container, site.yml: `make lab` with --keep), then boots every path alone
--runs times with `--reuse --parallel 1`, and removes the lab at the end. Run it on an idle
machine: the load average before and after is written with the figures.
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
from fabric_lab import paths  # noqa: E402
from perfdoc import replace_section  # noqa: E402

COLUMNS = ("offer", "loader", "images", "marker", "total")


def lab(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lab"))
    env.pop("KEEP", None)
    fd, out = tempfile.mkstemp(prefix="fblab-bench-", suffix=".json")
    os.close(fd)
    try:
        subprocess.run([sys.executable, "-m", "fabric_lab", "--json", out] + list(args),
                       cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)
    finally:
        os.unlink(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--paths", default=",".join(p.name for p in paths.PATHS))
    ap.add_argument("--write")
    args = ap.parse_args()
    names = args.paths.split(",")
    load0 = os.getloadavg()
    setup = lab("--keep", "--paths", names[0])
    samples = {n: [] for n in names}
    try:
        for run_ in range(args.runs):
            for n in names:
                res = lab("--reuse", "--keep", "--parallel", "1", "--paths", n)
                for r in res["paths"]:
                    if r["passed"]:
                        samples[n].append(r["timing"])
    finally:
        lab("down")
    load1 = os.getloadavg()
    lines = ["## Lab boots (`benchmarks/lab_boot.py`)", "",
             "Seconds after power-on, one VM at a time under TCG, median of %d runs (passed boots only); "
             "load average %.2f before, %.2f after; site.yml set-up took %.0f s. %s." % (
                 args.runs, load0[0], load1[0], setup.get("wall_seconds", 0), time.strftime("%Y-%m-%d")), "",
             "| path | runs passed | DHCP offer | loader | kernel+initrd | marker | qemu exit |",
             "|---|---|---|---|---|---|---|"]
    for n in names:
        row = ["%.1f" % statistics.median(s[c] for s in samples[n]) if samples[n] and all(s[c] is not None for s in samples[n])
               else "-" for c in COLUMNS]
        lines.append("| %s | %d/%d | %s |" % (n, len(samples[n]), args.runs, " | ".join(row)))
    body = "\n".join(lines) + "\n"
    print(body)
    if args.write:
        replace_section(args.write, "lab", body)


if __name__ == "__main__":
    main()
