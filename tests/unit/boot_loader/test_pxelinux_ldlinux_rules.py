"""pxelinux menus checked against how pxelinux itself reads them.

The rules below follow the config reader of syslinux 6 (com32/elflink/ldlinux/readconfig.c,
read for this test; nothing copied), which pxelinux.0 loads as ldlinux.c32:

* lines are read with fgets() into a 4096-byte buffer: a line of more than 4095 characters is
  cut and its remainder is read as the next line, i.e. as a directive of its own;
* the first carriage return ends the line, wherever it is (everything after it is dropped);
* a keyword is recognised only when whitespace or the end of the line follows it, matched
  case-insensitively; anything unrecognised (comments included) is ignored without a word;
* LABEL takes the first word only (the rest of the line is dropped) and that word is also
  the entry's kernel until a KERNEL line; KERNEL, INITRD, APPEND and DEFAULT take the whole
  rest of the line;
* the entry's command line is "<kernel> <append> initrd=<initrd>": a space inside the KERNEL
  or INITRD value turns its tail into kernel arguments;
* DEFAULT is matched against the labels by its first word; no match means pxelinux tries to
  boot DEFAULT's value as a kernel file name.

Linux then receives the command line; x86 kernels keep the first 2047 bytes (boot protocol
cmdline_size) and drop the rest silently.

The checker is strict: it refuses every menu on which pxelinux would do something other than
what the file says. The tests run it on what the boot_loader templates render (with the
hostile-but-legal values of test_hostile_values and with long argument lists) and on menus
written to break each rule, so it is known to fail.
"""
import copy

import pytest

from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm

from .test_templates import NETWORKS, NODES, _render, _vars
from .test_hostile_values import IMAGES as HOSTILE_IMAGES

FGETS_BUFFER = 4096                # MAX_LINE in readconfig.c
X86_CMDLINE = 2047                 # boot protocol cmdline_size of x86 kernels
KEYWORDS = ("menu", "text", "include", "append", "initrd", "label", "kernel", "linux", "localboot",
            "boot", "bss", "pxe", "fdimage", "comboot", "com32", "config", "timeout", "totaltimeout",
            "ontimeout", "allowoptions", "ipappend", "sysappend", "default", "ui", "display", "font",
            "kbdmap", "implicit", "prompt", "console", "noescape", "nocomplete", "nohalt", "onerror",
            "pxeretry", "serial", "say", "path", "sendcookies")
KERNEL_TYPES = ("kernel", "linux", "localboot", "boot", "bss", "pxe", "fdimage", "comboot", "com32", "config")


class Rejected(AssertionError):
    pass


def _keyword(line):
    """The keyword pxelinux sees at the start of a (stripped) line, or None: a keyword counts
    only when followed by whitespace or the end of the line."""
    low = line.lower()
    for kw in sorted(KEYWORDS, key=len, reverse=True):
        if low.startswith(kw) and (len(line) == len(kw) or line[len(kw)] in " \t\n\v\f"):
            return kw
    return None


def check(text):
    """Return the entries as pxelinux would build them; raise Rejected where pxelinux would
    read something other than what is written."""
    raw_lines = text.split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    labels, order, current, default = {}, [], None, None
    for no, raw in enumerate(raw_lines, 1):
        if len(raw) > FGETS_BUFFER - 1:
            raise Rejected("line %d is %d characters: pxelinux reads the part after %d as a new line"
                           % (no, len(raw), FGETS_BUFFER - 1))
        if "\r" in raw:
            raise Rejected("line %d: a carriage return ends the line for pxelinux: %r" % (no, raw))
        line = raw.lstrip(" \t\v\f")
        if not line or line.startswith("#"):
            continue
        kw = _keyword(line)
        if kw is None:
            raise Rejected("line %d: pxelinux ignores %r (no keyword it knows)" % (no, raw))
        rest = line[len(kw):].strip(" \t\v\f")
        if kw == "label":
            words = rest.split()
            if len(words) != 1:
                raise Rejected("line %d: LABEL keeps only its first word: %r" % (no, raw))
            if words[0] in labels:
                raise Rejected("line %d: LABEL %s twice" % (no, words[0]))
            current = {"label": words[0], "kernel": words[0]}
            labels[words[0]] = current
            order.append(words[0])
        elif kw in KERNEL_TYPES or kw == "initrd":
            if current is None:
                raise Rejected("line %d: %s outside a LABEL is ignored" % (no, kw.upper()))
            if not rest or len(rest.split()) != 1:
                raise Rejected("line %d: %s value must be one word (a space makes the rest kernel "
                               "arguments): %r" % (no, kw.upper(), raw))
            current["initrd" if kw == "initrd" else "kernel"] = rest
        elif kw == "append":
            (current if current is not None else {})["append"] = rest
        elif kw == "default":
            default = rest
        elif kw == "menu":
            sub = rest.split(None, 1)
            if not sub or sub[0].lower() not in ("label", "title", "default", "hide"):
                raise Rejected("line %d: MENU %s is not one the menus use" % (no, rest))
    if default is not None and default.split()[0] not in labels:
        raise Rejected("DEFAULT %s names no LABEL: pxelinux would boot it as a file" % default)
    entries = []
    for name in order:
        e = labels[name]
        cmdline = e["kernel"] + ((" " + e["append"]) if e.get("append") and e["append"] != "-" else "")
        if e.get("initrd"):
            cmdline += " initrd=" + e["initrd"]
        args = cmdline.split(" ", 1)[1] if " " in cmdline else ""
        if len(args) > X86_CMDLINE:
            raise Rejected("LABEL %s: the kernel command line is %d bytes; Linux keeps %d"
                           % (name, len(args), X86_CMDLINE))
        entries.append(dict(e, cmdline=cmdline))
    return entries


# The checker fails on each thing pxelinux would misread.
GOOD = "DEFAULT a\nPROMPT 0\nTIMEOUT 0\n\nLABEL a\n  MENU LABEL A\n  KERNEL ::/k\n  INITRD ::/i\n  APPEND x=1\n"


@pytest.mark.parametrize("bad,why", [
    (GOOD.replace("x=1", "x=1 " + "y" * 4100), "new line"),
    (GOOD.replace("MENU LABEL A", "MENU LABEL A\rKERNEL ::/evil"), "carriage return"),
    (GOOD.replace("KERNEL ::/k", "KERNEL ::/k evil=1"), "one word"),
    (GOOD.replace("INITRD ::/i", "INITRD ::/i rd.break"), "one word"),
    (GOOD.replace("LABEL a\n", "LABEL a b\n"), "first word"),
    (GOOD.replace("KERNEL ::/k", "KERNEL::/k"), "no keyword"),
    (GOOD.replace("DEFAULT a", "DEFAULT b"), "names no LABEL"),
    (GOOD + "\nLABEL a\n  KERNEL ::/k\n", "twice"),
    (GOOD.replace("x=1", " ".join(["arg%04d=%s" % (i, "v" * 40) for i in range(60)])), "Linux keeps"),
])
def test_checker_rejects_what_pxelinux_misreads(bad, why):
    with pytest.raises(Rejected) as exc:
        check(bad)
    assert why in str(exc.value), str(exc.value)


def test_checker_accepts_a_plain_menu():
    (entry,) = check(GOOD)
    assert entry["cmdline"] == "::/k x=1 initrd=::/i"


def _all_menus(images):
    nodes = copy.deepcopy(NODES)
    nodes["node002"][0].pop("boot_image", None)
    return bm.node_menus(nodes, NETWORKS, images) + [bm.default_menu(NETWORKS, images)]


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
@pytest.mark.parametrize("images", [HOSTILE_IMAGES], ids=["hostile-but-legal"])
def test_rendered_menus_read_as_written(family, images):
    for menu in _all_menus(images):
        text = _render("pxelinux.cfg.j2", __boot_loader_menu=menu, **_vars(family))
        entries = check(text)
        assert [e["label"] for e in entries] == [e["label"] for e in menu["entries"]]
        for e, want in zip(entries, menu["entries"]):
            assert e["kernel"] == want["pxelinux_kernel"] and e["initrd"] == want["pxelinux_initrd"]
            assert e["append"] == want["cmdline"]


def test_too_long_command_line_never_reaches_a_menu():
    """Each argument is legal on its own (at most 1024 characters), together they exceed what
    Linux keeps: either boot_menu refuses them, naming the image, or the rendered menu must
    still read as written."""
    images = copy.deepcopy(HOSTILE_IMAGES)
    images["rhel95"]["kernel_args"] = ["arg%02d=%s" % (i, "v" * 1000) for i in range(5)]
    try:
        menus = _all_menus(images)
    except bm.BootMenuError as exc:
        assert "rhel95" in str(exc) and "command line" in str(exc), str(exc)
        return
    for menu in menus:
        check(_render("pxelinux.cfg.j2", __boot_loader_menu=menu, **_vars("Debian")))
