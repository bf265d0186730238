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
