# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel modules: .modinfo from the ELF file, modules.dep, module sources and closures.

The dependency closure comes from the SOURCE tree's modules.dep (what
`modprobe --show-depends` uses): hand-written lists miss helpers such as
mlxfw, psample, pci-hyperv-intf or configfs. A directory of loose .ko files
(a vendor driver package's extra/ or updates/) has no modules.dep, so there
each module's own `depends=` field is followed instead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import hashlib
import os
import struct

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.compression import (
    decompress_module, module_suffix)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError


def module_name(path):
    """Module name of a file path: basename without .ko*, '-' read as '_' like modprobe."""
    base = os.path.basename(path)
    suffix = module_suffix(base)
    if suffix:
        base = base[:-len(suffix)]
    return base.replace("-", "_")


def canon(name):
    return name.strip().replace("-", "_")


def modinfo(data, where):
    """Parse the .modinfo section of an ELF module into {key: [values]}."""
    view = memoryview(data)
    if len(view) < 64 or bytes(view[:4]) != b"\x7fELF":
        raise InitrdError("%s is not a kernel module (no ELF header)" % where)
    elf_class, endian = view[4], view[5]
    order = "<" if endian == 1 else ">"
    try:
        if elf_class == 2:
            shoff = struct.unpack_from(order + "Q", view, 0x28)[0]
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", view, 0x3A)
            fmt, name_at, off_at = order + "IIQQQQ", 0, 4
        else:
            shoff = struct.unpack_from(order + "I", view, 0x20)[0]
            shentsize, shnum, shstrndx = struct.unpack_from(order + "HHH", view, 0x2E)
            fmt, name_at, off_at = order + "IIIIII", 0, 4
        sections = []
        for i in range(shnum):
            fields = struct.unpack_from(fmt, view, shoff + i * shentsize)
            sections.append((fields[name_at], fields[off_at], fields[off_at + 1]))
        str_off, str_size = sections[shstrndx][1], sections[shstrndx][2]
        strtab = bytes(view[str_off:str_off + str_size])
    except (struct.error, IndexError):
        raise InitrdError("%s is not a valid kernel module (broken ELF section table)" % where)
    for name_off, off, size in sections:
        end = strtab.find(b"\0", name_off)
        if strtab[name_off:end] == b".modinfo":
            info = {}
            for item in bytes(view[off:off + size]).split(b"\0"):
                if b"=" in item:
                    key, _sep, value = item.decode("utf-8", "replace").partition("=")
                    info.setdefault(key, []).append(value)
            return info
    raise InitrdError("%s is not a kernel module (no .modinfo section)" % where)


def kernel_release(vermagic):
    return vermagic.split()[0] if vermagic and vermagic.split() else ""


def parse_modules_dep(text):
    """modules.dep text -> {name: (path, [dependency paths])}."""
    deps = {}
    for line in text.splitlines():
        if ":" not in line:
            continue
        path, _sep, rest = line.partition(":")
        path = path.strip()
        deps[module_name(path)] = (path, rest.split())
    return deps


def close_matches(name, names):
    return difflib.get_close_matches(name, sorted(names), n=5, cutoff=0.6)


class SourceModule:
    """One module file in a module source; content is read and hashed on demand."""

    def __init__(self, name, relpath, fullpath):
        self.name = name
        self.relpath = relpath
        self.fullpath = fullpath
        self._raw = None

    def raw(self):
        if self._raw is None:
            try:
                with open(self.fullpath, "rb") as handle:
                    self._raw = handle.read()
            except (IOError, OSError) as exc:
                raise InitrdError("cannot read module file %s: %s" % (self.fullpath, exc))
        return self._raw

    def elf(self):
        return decompress_module(self.raw(), module_suffix(self.fullpath), self.fullpath)

    def sha256(self):
        return hashlib.sha256(self.raw()).hexdigest()


class ModuleSource:
    """A kernel's /lib/modules/<kver> tree (has modules.dep) or a directory of .ko files."""

    def __init__(self, path):
        self.path = path
        if not os.path.isdir(path):
            raise InitrdError("module_source=%s is not a directory" % path, "module_source", path)
        self.modules = {}
        self.deps = {}
        self.duplicates = []
        self._walked = False
        dep_file = os.path.join(path, "modules.dep")
        self.is_tree = os.path.isfile(dep_file)
        if self.is_tree:
            with open(dep_file, "r") as handle:
                parsed = parse_modules_dep(handle.read())
            for name, (rel, dep_paths) in parsed.items():
                self.modules[name] = SourceModule(name, rel, os.path.join(path, rel))
                self.deps[name] = dep_paths
        else:
            self._walk()
        self.kernel_version = os.path.basename(os.path.normpath(path)) if self.is_tree else None

    def _walk(self):
        """Index loose module files; in a tree only when modules.dep lacks a name (extra/ copied
        in without depmod), since walking 4,000 files costs more than the rest of a no-op run."""
        if self._walked:
            return
        self._walked = True
        found = []
        for root, dirs, files in os.walk(self.path):
            dirs.sort()
            for fname in sorted(files):
                if module_suffix(fname):
                    full = os.path.join(root, fname)
                    found.append((os.path.relpath(full, self.path), full))
        for rel, full in found:
            name = module_name(rel)
            if name in self.modules:
                if self.modules[name].relpath != rel and not self.is_tree:
                    self.duplicates.append(rel)
                continue
            self.modules[name] = SourceModule(name, rel, full)

    def get(self, name, field="add_modules"):
        key = canon(name)
        if key not in self.modules:
            self._walk()
        if key not in self.modules:
            hint = close_matches(key, self.modules)
            raise InitrdError("module '%s' (%s) not found in module_source %s%s" % (
                name, field, self.path,
                "; close matches: %s" % ", ".join(hint) if hint else ""), field, name)
        return self.modules[key]

    def dependencies(self, name):
        """Direct dependencies: modules.dep when it lists the module, else .modinfo depends."""
        if name in self.deps:
            return [module_name(p) for p in self.deps[name]]
        module = self.modules[name]
        info = modinfo(module.elf(), module.fullpath)
        value = ",".join(info.get("depends", []))
        return [canon(d) for d in value.split(",") if d.strip()]


def closure(source, names):
    """Resolve names and their dependencies in source.

    Returns (ordered list of (SourceModule, explicit, required_by), external
    dependency names that the source does not hold and the image must provide).
    """
    order = []
    seen = {}
    external = {}
    queue = [(source.get(n), True, None) for n in names]
    while queue:
        module, explicit, parent = queue.pop(0)
        if module.name in seen:
            if explicit:
                seen[module.name][1] = True
            continue
        record = [module, explicit, parent]
        seen[module.name] = record
        order.append(record)
        for dep in source.dependencies(module.name):
            if dep not in source.modules:
                source._walk()  # pylint: disable=protected-access
            if dep in source.modules:
                queue.append((source.modules[dep], False, module.name))
            else:
                external.setdefault(dep, module.name)
    return [tuple(r) for r in order], external
