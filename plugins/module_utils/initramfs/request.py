# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module's parameters, validated, and the hash that identifies a request.

The request hash covers every parameter that changes the result and the
content of every host file read (module files of the closure, `files` sources),
so a rerun whose hash matches the manifest in the destination is a no-op.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import kmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.image import (
    LEGACY_MANIFEST_PATH, MANIFEST_PATH)

# 2: manifest inside the last archive; an explicit xz level is `xz -N`.
REQUEST_FORMAT = 2
RESERVED_PATHS = (MANIFEST_PATH, LEGACY_MANIFEST_PATH)
_CONF_NAME = re.compile(r"^[A-Za-z0-9_.@+-]+$")
_LOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+*-]*$")


def _fail(msg, field, value):
    raise InitrdError(msg, field, value)


def _conf_name(item, field):
    name = item.get("name")
    if not isinstance(name, str) or not _CONF_NAME.match(name) or name in (".", ".."):
        _fail("%s: name=%r must be a plain file name (letters, digits, . _ - @ +)"
              % (field, name), field + ".name", name)
    return name


def image_path(path, field):
    if not isinstance(path, str) or not path.strip("/"):
        _fail("%s=%r is not a path inside the image" % (field, path), field, path)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        _fail("%s=%r must not contain '..'" % (field, path), field, path)
    return "/".join(parts)


class Request:
    """Validated parameters plus what they resolve to on this host."""

    def __init__(self, params):
        self.src = params["src"]
        self.dest = params.get("dest") or params["src"]
        self.mode = params.get("mode") or "rewrite"
        self.compression = params.get("compression") or "auto"
        self.level = params.get("compression_level")
        self.force_vermagic = bool(params.get("force_vermagic"))
        self.depmod = params.get("depmod", True) is not False
        self.backup = bool(params.get("backup"))
        self.add_modules = [kmod.canon(n) for n in params.get("add_modules") or []]
        self.remove_modules = [kmod.canon(n) for n in params.get("remove_modules") or []]
        self.module_source = params.get("module_source")
        self._check_paths()
        if self.compression not in ("auto",) + compression.FORMATS:
            _fail("compression=%r is not one of auto, %s" % (
                self.compression, ", ".join(compression.FORMATS)), "compression", self.compression)
        if self.compression != "auto":
            compression.check_level(self.compression, self.level)
        both = sorted(set(self.add_modules) & set(self.remove_modules))
        if both:
            _fail("remove_modules: %s also listed in add_modules" % ", ".join(both),
                  "remove_modules", both)
        for name in self.add_modules + self.remove_modules:
            if not name or "/" in name:
                _fail("module name %r is not a module name" % name, "add_modules", name)
        self.files = [self._file(i, f) for i, f in enumerate(params.get("files") or [])]
        self.modules_load = []
        for item in params.get("modules_load") or []:
            name = _conf_name(item, "modules_load")
            mods = item.get("modules") or []
            if not mods or not all(isinstance(m, str) and m.strip() for m in mods):
                _fail("modules_load %s: modules=%r must be a non-empty list of names"
                      % (name, mods), "modules_load.modules", mods)
            names = [m.strip() for m in mods]
            for m in names:
                # one name per line in modules-load.d and a word in dracut's load hook: no
                # blanks, quotes, comment or shell characters
                if not _LOAD_NAME.match(m):
                    _fail("modules_load %s: %r is not a module name or alias (letters, digits and _ - . : + *)"
                          % (name, m), "modules_load.modules", m)
            self.modules_load.append((name, names))
        self.modprobe_conf = []
        for item in params.get("modprobe_conf") or []:
            name = _conf_name(item, "modprobe_conf")
            lines = item.get("lines") or []
            if not all(isinstance(line, str) and "\n" not in line for line in lines):
                _fail("modprobe_conf %s: lines=%r must be single-line strings" % (name, lines),
                      "modprobe_conf.lines", lines)
            self.modprobe_conf.append((name, list(lines)))
        self.source = None
        self.closure = []
        self.external = {}
        if self.add_modules:
            if not self.module_source:
                _fail("add_modules needs module_source", "module_source", None)
            self.source = kmod.ModuleSource(self.module_source)
            self.closure, self.external = kmod.closure(self.source, self.add_modules)
        elif self.module_source and not os.path.isdir(self.module_source):
            _fail("module_source=%s is not a directory" % self.module_source, "module_source",
                  self.module_source)

    def _check_paths(self):
        if not os.path.exists(self.src):
            _fail("src=%s does not exist" % self.src, "src", self.src)
        if not os.path.isfile(self.src):
            _fail("src=%s is not a regular file" % self.src, "src", self.src)
        if not os.access(self.src, os.R_OK):
            _fail("src=%s is not readable" % self.src, "src", self.src)
        if os.path.isdir(self.dest):
            _fail("dest=%s is a directory, not a file" % self.dest, "dest", self.dest)
        parent = os.path.dirname(os.path.abspath(self.dest))
        if not os.path.isdir(parent):
            _fail("dest=%s: directory %s does not exist" % (self.dest, parent), "dest", self.dest)
        if not os.access(parent, os.W_OK):
            _fail("dest=%s: directory %s is not writable" % (self.dest, parent), "dest", self.dest)

    def _file(self, index, item):
        field = "files[%d]" % index
        if not isinstance(item, dict):
            _fail("%s=%r must be a dict with dest and src or content" % (field, item), field, item)
        dest = image_path(item.get("dest"), field + ".dest")
        if dest in RESERVED_PATHS:
            _fail("%s.dest=%s is reserved for the fabric.boot.initrd manifest" % (field, dest),
                  field + ".dest", dest)
        mode_text = item.get("mode") or "0644"
        try:
            mode = int(str(mode_text), 8)
        except ValueError:
            mode = -1
        if not 0 <= mode <= 0o7777:
            _fail("%s.mode=%r is not an octal permission such as '0644'" % (field, mode_text),
                  field + ".mode", mode_text)
        has_src, has_content = item.get("src") is not None, item.get("content") is not None
        if has_src == has_content:
            _fail("%s (dest %s) needs exactly one of src or content" % (field, dest), field, dest)
        if has_src:
            try:
                with open(item["src"], "rb") as handle:
                    data = handle.read()
            except (IOError, OSError) as exc:
                _fail("%s.src=%s cannot be read: %s" % (field, item["src"], exc),
                      field + ".src", item["src"])
        else:
            data = item["content"].encode("utf-8")
        return dest, mode, data

    def sha256(self):
        doc = {
            "format": REQUEST_FORMAT,
            "mode": self.mode,
            "compression": self.compression,
            "compression_level": self.level,
            "force_vermagic": self.force_vermagic,
            "depmod": self.depmod,
            "add_modules": sorted(set(self.add_modules)),
            "remove_modules": sorted(set(self.remove_modules)),
            "closure": [[m.name, m.relpath, m.sha256()] for m, _e, _p in self.closure],
            "source_is_tree": bool(self.source and self.source.is_tree),
            "files": [[d, m, hashlib.sha256(data).hexdigest()] for d, m, data in self.files],
            "modules_load": self.modules_load,
            "modprobe_conf": self.modprobe_conf,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
