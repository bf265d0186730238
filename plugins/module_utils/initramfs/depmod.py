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
import threading

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.compression import (
    module_suffix, scratch_dir)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

# Inputs depmod reads but never rewrites.
DEPMOD_INPUTS = ("modules.order", "modules.builtin", "modules.builtin.modinfo")
ALWAYS_WRITTEN = ("modules.dep", "modules.dep.bin")


class Depmod:
    """depmod running in the background on the image's modules.

    Writing the module files to the scratch tree and depmod itself run in a thread, so the
    caller can copy src and compress every member that sorts before `names` (its outputs)
    meanwhile; result() waits and returns {image path: bytes}.
    """

    def __init__(self, entries, modules_root, kver):
        tool = shutil.which("depmod") or next(
            (p for p in ("/usr/sbin/depmod", "/sbin/depmod") if os.path.exists(p)), None)
        if not tool:
            raise InitrdError("depmod is not installed on this host; install kmod or set "
                              "depmod: false", "depmod", True)
        self.kver = kver
        self.prefix = modules_root + "/"
        self.tool = tool
        self.proc = None
        self.stderr = None
        self._result = None
        self._error = None
        self._cancel = False
        existing = set()
        for name, entry in entries.items():
            rel = name[len(self.prefix):]
            if name.startswith(self.prefix) and entry.is_reg and "/" not in rel \
                    and rel.startswith("modules."):
                existing.add(rel)
        self.wanted = sorted((existing | set(ALWAYS_WRITTEN)) - set(DEPMOD_INPUTS))
        # Every image path depmod may write: nothing at or after the first of them in sorted
        # order may be written before result().
        self.names = [self.prefix + rel for rel in self.wanted]
        need = sum(len(e.data) for n, e in entries.items() if n.startswith(self.prefix))
        self.tmp = tempfile.mkdtemp(prefix="fabric-boot-depmod-", dir=scratch_dir(need))
        self.thread = threading.Thread(target=self._start, args=(entries,))
        self.thread.daemon = True
        self.thread.start()

    def _start(self, entries):
        kver = self.kver
        try:
            # Newer kmod builds look in usr/lib/modules, older in lib/modules: give both.
            self.moddir = os.path.join(self.tmp, "usr", "lib", "modules", kver)
            os.makedirs(self.moddir)
            os.symlink("usr/lib", os.path.join(self.tmp, "lib"))
            os.mkdir(os.path.join(self.tmp, "depmod.d"))
            for name, entry in entries.items():
                if self._cancel:
                    return
                if not name.startswith(self.prefix) or not entry.is_reg:
                    continue
                rel = name[len(self.prefix):]
                if "/" not in rel and rel.startswith("modules."):
                    if rel not in DEPMOD_INPUTS:
                        continue
                elif not module_suffix(rel) or not len(entry.data):
                    continue
                path = os.path.join(self.moddir, rel)
                parent = os.path.dirname(path)
                if not os.path.isdir(parent):
                    os.makedirs(parent)
                with open(path, "wb") as handle:
                    handle.write(entry.data)
            self.stderr = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(
                [self.tool, "-C", os.path.join(self.tmp, "depmod.d"), "-b", self.tmp, kver],
                stdout=subprocess.DEVNULL, stderr=self.stderr)
            self.proc.wait()
        except Exception as exc:  # pylint: disable=broad-except
            # Raised again by result(), in the caller's thread.
            self._error = exc

    def result(self):
        if self._result is not None:
            return self._result
        try:
            self.thread.join()
            if self._error is not None:
                if isinstance(self._error, InitrdError):
                    raise self._error
                raise InitrdError("depmod -b for kernel %s: writing the scratch tree %s failed: %s"
                                  % (self.kver, self.tmp, self._error), "depmod", True)
            code = self.proc.returncode
            if code != 0:
                self.stderr.seek(0)
                raise InitrdError("depmod -b for kernel %s failed (exit %d): %s" % (
                    self.kver, code, self.stderr.read().decode("utf-8", "replace").strip()))
            out = {}
            for rel in self.wanted:
                path = os.path.join(self.moddir, rel)
                if os.path.isfile(path):
                    with open(path, "rb") as handle:
                        out[self.prefix + rel] = handle.read()
            self._result = out
            return out
        finally:
            self.close()

    def close(self):
        """Stop depmod if still running and remove the scratch tree (idempotent)."""
        self._cancel = True
        if self.thread.is_alive() and self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.thread.join()
        if self.stderr is not None:
            self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_depmod(entries, modules_root, kver):
    """entries: name -> Entry of the final image. Returns {image path: bytes} of depmod output."""
    return Depmod(entries, modules_root, kver).result()
