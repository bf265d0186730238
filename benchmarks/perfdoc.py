"""Each benchmark owns one section of docs/performance.md, between BEGIN/END markers."""
import os

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
