# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regenerate modules.dep* of the image with the host's `depmod -b`.

depmod resolves symbols, so it needs every module file of the image on disk;
they are written to a private temporary tree. It runs with an empty config
directory (-C) so the host's /etc/depmod.d cannot change the image's result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.compression import (
    module_suffix, scratch_dir)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

# Inputs depmod reads but never rewrites.
DEPMOD_INPUTS = ("modules.order", "modules.builtin", "modules.builtin.modinfo")
ALWAYS_WRITTEN = ("modules.dep", "modules.dep.bin")


def run_depmod(entries, modules_root, kver):
    """entries: name -> Entry of the final image. Returns {image path: bytes} of depmod output."""
    tool = shutil.which("depmod") or next(
        (p for p in ("/usr/sbin/depmod", "/sbin/depmod") if os.path.exists(p)), None)
    if not tool:
        raise InitrdError("depmod is not installed on this host; install kmod or set depmod: false",
                          "depmod", True)
    prefix = modules_root + "/"
    existing = set()
    need = sum(len(e.data) for n, e in entries.items() if n.startswith(prefix))
    tmp = tempfile.mkdtemp(prefix="fabric-boot-depmod-", dir=scratch_dir(need))
    try:
        # Newer kmod builds look in usr/lib/modules, older in lib/modules: give both.
        moddir = os.path.join(tmp, "usr", "lib", "modules", kver)
        os.makedirs(moddir)
        os.symlink("usr/lib", os.path.join(tmp, "lib"))
        os.mkdir(os.path.join(tmp, "depmod.d"))
        for name, entry in entries.items():
            if not name.startswith(prefix) or not entry.is_reg:
                continue
            rel = name[len(prefix):]
            if "/" not in rel and rel.startswith("modules."):
                existing.add(rel)
                if rel not in DEPMOD_INPUTS:
                    continue
            elif not module_suffix(rel) or not len(entry.data):
                continue
            path = os.path.join(moddir, rel)
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                os.makedirs(parent)
            with open(path, "wb") as handle:
                handle.write(entry.data)
        proc = subprocess.run([tool, "-C", os.path.join(tmp, "depmod.d"), "-b", tmp, kver],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise InitrdError("depmod -b for kernel %s failed (exit %d): %s" % (
                kver, proc.returncode, proc.stderr.decode("utf-8", "replace").strip()))
        wanted = (existing | set(ALWAYS_WRITTEN)) - set(DEPMOD_INPUTS)
        out = {}
        for rel in sorted(wanted):
            path = os.path.join(moddir, rel)
            if os.path.isfile(path):
                with open(path, "rb") as handle:
                    out[prefix + rel] = handle.read()
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
