"""Each benchmark owns one section of docs/performance.md, between BEGIN/END markers."""
import json
import os
import sys

HEADER = "# Performance\n\nEvery figure here is written by a benchmark script in `benchmarks/`; rerun it to refresh.\n"


def replace_section(path, name, body):
    begin, end = "<!-- BEGIN %s -->" % name, "<!-- END %s -->" % name
    text = open(path).read() if os.path.exists(path) else HEADER
    block = "%s\n%s%s" % (begin, body if body.endswith("\n") else body + "\n", end)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def save_json(path, data):
    """A benchmark's data file, replaced whole (a run stopped half-way keeps the previous one)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


def write_section_with_plot(path, name, body, plot, plot_path, alt):
    """replace_section, with plot(plot_path) drawn and linked below the body when matplotlib is there."""
    try:
        plot(plot_path)
        body += "\n![%s](%s)\n" % (alt, os.path.relpath(plot_path, os.path.dirname(path)))
    except ImportError:
        print("no matplotlib: section written without the plot", file=sys.stderr)
    replace_section(path, name, body)


def lab_bench_args(ap, data, plot, reuse_from):
    """The options every lab benchmark has (measure on a kept lab, keep it, data file, render
    only, section and plot to write); parses them. Measuring needs root (netns, podman)."""
    ap.add_argument("--reuse", action="store_true", help="measure a lab left by `%s`" % reuse_from)
    ap.add_argument("--keep", action="store_true", help="leave the lab running at the end")
    ap.add_argument("--data", default=data)
    ap.add_argument("--render", action="store_true", help="only write the section (and plot) from --data")
    ap.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    ap.add_argument("--plot", metavar="PNG", help="plot file (default %s with --write, needs matplotlib)" % plot)
    args = ap.parse_args()
    if not args.render and os.geteuid() != 0:
        raise SystemExit("needs root (the lab: netns, podman)")
    return args
