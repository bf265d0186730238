# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generation directories: how a diskless image is published atomically.

A node boots a diskless image with three fetches (kernel, initrd, squashfs) seconds apart, so
swapping files under one stable name can never be atomic: a node could get an old kernel and a
new squashfs. Each build therefore goes into a directory of its own, <images>/<name>@<n>/,
first as <images>/.<name>@<n>.partial/, renamed to its final name only when all its files and
its manifest.json are complete. Boot menus name the generation and are switched afterwards
(boot_loader), so a node that read the old menu still finds every old file, and a node that
reads the new menu finds every new one. Old generations stay for rollback (prune keeps the
newest ones and the one being served).

manifest.json holds the build inputs (tree digest, kernel version, initrd recipe, squashfs
options) and the sha256 of each published file: a run whose inputs equal the newest complete
generation's builds nothing and writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil

from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError

MANIFEST = "manifest.json"
FILES = ("vmlinuz", "initrd.img", "rootfs.squashfs")
FORMAT = 1


def gen_dir(images_dir, name, gen):
    return os.path.join(images_dir, "%s@%d" % (name, gen))


def partial_dir(images_dir, name, gen):
    return os.path.join(images_dir, ".%s@%d.partial" % (name, gen))


def _numbers(images_dir, name, pattern):
    rx = re.compile(pattern % re.escape(name))
    try:
        names = os.listdir(images_dir)
    except OSError:
        return []
    return sorted(int(m.group(1)) for m in (rx.match(n) for n in names) if m)


def complete(images_dir, name):
    """Generation numbers whose directory holds a manifest (published), oldest first."""
    return [g for g in _numbers(images_dir, name, r"^%s@([0-9]+)\Z")
            if os.path.isfile(os.path.join(gen_dir(images_dir, name, g), MANIFEST))]


def read_manifest(images_dir, name, gen):
    path = os.path.join(gen_dir(images_dir, name, gen), MANIFEST)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise DisklessError("generation %s@%d: cannot read %s: %s" % (name, gen, path, exc), "generation", gen)


def canonical(value):
    """The inputs as the manifest stores them (sorted keys), for comparison."""
    return json.loads(json.dumps(value, sort_keys=True))


def plan(images_dir, name, inputs, pin=None):
    """Which generation to serve and whether to build it.

    {"generation": n, "build": bool, "latest": newest complete or None, "generations": [...],
     "reason": why}. pin serves that generation as it is (rollback); it must be complete.
    """
    gens = complete(images_dir, name)
    latest = gens[-1] if gens else None
    out = {"latest": latest, "generations": gens, "initrd_from": None}
    if pin is not None:
        if pin not in gens:
            raise DisklessError("image %s: generation %d is pinned but %s is not a published generation "
                                "(published: %s)" % (name, pin, gen_dir(images_dir, name, pin),
                                                     ", ".join(map(str, gens)) or "none"), "generation", pin)
        out.update(generation=pin, build=False, reason="pinned to generation %d" % pin)
        return out
    want = canonical(inputs)
    if latest is not None and read_manifest(images_dir, name, latest).get("inputs") == want:
        out.update(generation=latest, build=False, reason="generation %d has these inputs" % latest)
        return out
    # The initrd of the newest generation built from the same initrd inputs is reused: a change
    # elsewhere in the tree does not need another dracut run.
    for gen in reversed(gens if want.get("initrd") is not None else []):
        if read_manifest(images_dir, name, gen).get("inputs", {}).get("initrd") == want.get("initrd"):
            out["initrd_from"] = gen
            break
    # Numbers are never reused: a leftover partial or a pruned number keeps its place.
    taken = gens + _numbers(images_dir, name, r"^%s@([0-9]+)\Z") + _numbers(images_dir, name, r"^\.%s@([0-9]+)\.partial\Z")
    new = max(taken) + 1 if taken else 1
    out.update(generation=new, build=True,
               reason="no generation yet" if latest is None else "inputs differ from generation %d" % latest)
    return out


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(images_dir, name, gen, inputs, mode=0o644):
    """Write the manifest into the partial directory and rename it to its generation name."""
    src = partial_dir(images_dir, name, gen)
    dest = gen_dir(images_dir, name, gen)
    if os.path.exists(dest):
        raise DisklessError("image %s: %s exists already; generations are never overwritten" % (name, dest),
                            "generation", gen)
    files = {}
    for fname in FILES:
        path = os.path.join(src, fname)
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            raise DisklessError("image %s: %s is missing or empty; the generation is not published" % (name, path),
                                "generation", gen)
        os.chmod(path, mode)
        files[fname] = {"sha256": _sha256(path), "size": os.path.getsize(path)}
        _fsync(path)
    manifest = {"format": FORMAT, "name": name, "generation": gen, "inputs": canonical(inputs), "files": files}
    tmp = os.path.join(src, MANIFEST + ".tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.rename(tmp, os.path.join(src, MANIFEST))
    os.chmod(src, 0o755)
    _fsync(src)
    os.rename(src, dest)
    _fsync(images_dir)
    return manifest


def prune(images_dir, name, keep, serving, check=False):
    """Remove generations beyond the `keep` newest (never `serving`) and stale partial builds."""
    if keep < 2:
        raise DisklessError("keep must be at least 2 (the generation served and the one before it, which "
                            "nodes that read the previous menu still fetch), got %r" % keep, "keep", keep)
    gens = complete(images_dir, name)
    keep_set = set(gens[-keep:]) | {serving}
    doomed = [gen_dir(images_dir, name, g) for g in gens if g not in keep_set]
    doomed += [partial_dir(images_dir, name, g)
               for g in _numbers(images_dir, name, r"^\.%s@([0-9]+)\.partial\Z")]
    # a directory with the generation's name but no manifest is a commit that never finished
    doomed += [gen_dir(images_dir, name, g) for g in _numbers(images_dir, name, r"^%s@([0-9]+)\Z")
               if g not in gens]
    if not check:
        for path in doomed:
            shutil.rmtree(path)
    return sorted(doomed)
