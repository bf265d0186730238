# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, strict parser for the pxelinux configs the boot_loader role writes.

syslinux ships no config checker, so the tests parse with this instead. It follows the
syslinux rules that matter for network boot (keywords case-insensitive, one directive per
line, SERIAL before everything else, LABEL starts an entry) and is stricter than
pxelinux where pxelinux would silently misbehave:
* every LABEL has exactly one KERNEL (or LINUX), at most one INITRD and one APPEND;
* KERNEL/INITRD paths are '::/...' (relative to the TFTP root; pxelinux otherwise prefixes
  its own directory, so '/images/x' would be fetched as 'pxelinux//images/x');
* DEFAULT names a LABEL; unknown keywords are errors.
"""

GLOBAL_KEYWORDS = {"SERIAL", "DEFAULT", "PROMPT", "TIMEOUT", "TOTALTIMEOUT", "ONTIMEOUT",
                   "UI", "MENU", "SAY", "NOESCAPE", "ALLOWOPTIONS", "IPAPPEND", "INCLUDE"}
LABEL_KEYWORDS = {"KERNEL", "LINUX", "INITRD", "APPEND", "MENU", "IPAPPEND", "SYSAPPEND", "TEXT",
                  "ENDTEXT", "LOCALBOOT"}


class PxelinuxConfigError(ValueError):
    pass


def parse(text, require_root_relative=True):
    """Return {'globals': {KEY: value}, 'serial': (port, speed) | None, 'labels': {name: {...}}, 'order': [...]}"""
    cfg = {"globals": {}, "serial": None, "labels": {}, "order": []}
    current = None
    seen_directive = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        key, value = parts[0].upper(), (parts[1].strip() if len(parts) > 1 else "")
        where = "line %d (%r)" % (lineno, raw)
        if key == "SERIAL":
            if seen_directive:
                raise PxelinuxConfigError("%s: SERIAL must be the first directive" % where)
            fields = value.split()
            if not fields or not all(f.isdigit() for f in fields[:2]):
                raise PxelinuxConfigError("%s: SERIAL needs a port and a baud rate" % where)
            cfg["serial"] = (int(fields[0]), int(fields[1]) if len(fields) > 1 else 9600)
            seen_directive = True
            continue
        seen_directive = True
        if key == "LABEL":
            if not value or len(value.split()) != 1:
                raise PxelinuxConfigError("%s: LABEL needs exactly one name" % where)
            if value in cfg["labels"]:
                raise PxelinuxConfigError("%s: LABEL %s defined twice" % (where, value))
            current = {"name": value}
            cfg["labels"][value] = current
            cfg["order"].append(value)
            continue
        if current is None:
            if key not in GLOBAL_KEYWORDS:
                raise PxelinuxConfigError("%s: unknown global keyword %s" % (where, key))
            if key in ("PROMPT", "TIMEOUT", "TOTALTIMEOUT") and not value.isdigit():
                raise PxelinuxConfigError("%s: %s needs a number" % (where, key))
            cfg["globals"][key] = value
            continue
        if key not in LABEL_KEYWORDS:
            raise PxelinuxConfigError("%s: unknown keyword %s in LABEL %s" % (where, key, current["name"]))
        if key == "MENU":
            current.setdefault("MENU", []).append(value)
            continue
        key = "KERNEL" if key == "LINUX" else key
        if key in current:
            raise PxelinuxConfigError("%s: second %s in LABEL %s" % (where, key, current["name"]))
        if key in ("KERNEL", "INITRD"):
            if not value or len(value.split()) != 1:
                raise PxelinuxConfigError("%s: %s needs exactly one path" % (where, key))
            if require_root_relative and not value.startswith("::/"):
                raise PxelinuxConfigError("%s: %s path %s is not '::/...' (relative to the TFTP root)"
                                          % (where, key, value))
        if key == "APPEND" and "\t" in value:
            raise PxelinuxConfigError("%s: tab in APPEND" % where)
        current[key] = value
    for name in cfg["order"]:
        if "KERNEL" not in cfg["labels"][name]:
            raise PxelinuxConfigError("LABEL %s has no KERNEL" % name)
    default = cfg["globals"].get("DEFAULT")
    if default is not None and default not in cfg["labels"]:
        raise PxelinuxConfigError("DEFAULT %s names no LABEL (labels: %s)" % (default, ", ".join(cfg["order"])))
    return cfg
