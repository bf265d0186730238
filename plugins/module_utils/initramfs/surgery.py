# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Initrd surgery: plan the changes on the merged tree, then write the result.

Output layout, what dracut itself writes plus nothing after it:

  rewrite:  early archives (byte-identical) | one compressed archive
  append:   original bytes (byte-identical) | one small compressed archive

The last member of the last archive is the manifest (image.MANIFEST_PATH), so
`lsinitrd` and `zstd -dc | cpio -it` list it with everything else. It records
the request hash, the sha256 of the bytes in front of its archive and of the
archive's decompressed content before it, so a file changed behind our back is
detected and rebuilt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile

from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cache
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import kmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.depmod import Depmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError, ScratchFull
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.image import (
    MANIFEST_FORMAT, MANIFEST_PATH, MANIFEST_TOOL, Tree, find_manifest, read_archives)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.request import Request

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
REMOVED_CONF = "etc/modprobe.d/fabric-boot-removed.conf"
DRACUT_LOAD_HOOK = "lib/dracut/hooks/pre-udev/05-fabric-boot-modules-load.sh"
HEADER = "# Written by fabric.boot.initrd; changes are overwritten.\n"


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _read(path, field):
    """The file as a read-only mapping (compression.map_file): page cache, not process memory.
    Like every reader of a file, it assumes nobody truncates the file meanwhile."""
    try:
        return compression.map_path(path)
    except (IOError, OSError, ValueError) as exc:
        raise InitrdError("%s=%s cannot be read: %s" % (field, path, exc), field, path)


class Plan:
    """What changes: new or replaced entries, removed paths, and the report lists."""

    def __init__(self):
        self.changes = {}
        self.removed = set()
        self.modules_added = []
        self.modules_replaced = []
        self.modules_removed = []
        self.files_added = []
        self.modules_changed = False
        self.warnings = []


def _modules_root(tree, kver):
    linked = tree.resolve("lib/modules/" + kver)
    for root in (linked, "usr/lib/modules/" + kver, "lib/modules/" + kver):
        if any(n.startswith(root + "/") for n in tree.entries):
            return root
    return linked


def _image_modules(tree, root):
    index = {}
    for name, entry in tree.entries.items():
        if name.startswith(root + "/") and entry.is_reg and compression.module_suffix(name):
            index.setdefault(kmod.module_name(name), []).append(name)
    for paths in index.values():
        paths.sort()
    return index


def _majority_suffix(index):
    counts = {}
    for paths in index.values():
        for path in paths:
            suffix = compression.module_suffix(path)
            counts[suffix] = counts.get(suffix, 0) + 1
    if not counts:
        return ".ko"
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _text(tree, path):
    entry = tree.entries.get(path)
    return bytes(entry.data).decode("utf-8", "replace") if entry is not None else ""


def _put(plan, tree, path, data, mode=FILE_MODE):
    entry = cpio.Entry(path, mode, data)
    old = tree.entries.get(path)
    if old is not None and old.same_content(entry) and path not in plan.removed:
        return False
    plan.changes[path] = entry
    return True


def _plan(req, tree, kver, root):
    plan = Plan()
    index = _image_modules(tree, root) if root else {}
    suffix = _majority_suffix(index)
    builtin = set(kmod.module_name(line) for line in _text(tree, root + "/modules.builtin").split())
    image_deps = kmod.parse_modules_dep(_text(tree, root + "/modules.dep")) if root else {}

    removed_names = set()
    for name in req.remove_modules:
        paths = index.get(name, [])
        if paths:
            removed_names.add(name)
            plan.removed.update(paths)
            plan.modules_removed.append({"name": name, "paths": paths})
    adding = set(m.name for m, _e, _p in req.closure)
    clash = sorted(removed_names & adding)
    if clash:
        raise InitrdError("remove_modules: %s is needed by a module in add_modules"
                          % ", ".join(clash), "remove_modules", clash)
    for name, (_path, deps) in sorted(image_deps.items()):
        if name in removed_names or name in adding:
            continue
        needed = sorted(removed_names & set(kmod.module_name(d) for d in deps))
        if needed and name in index:
            raise InitrdError("remove_modules: cannot remove %s, the image module %s depends on "
                              "it (remove %s too)" % (", ".join(needed), name, name),
                              "remove_modules", needed)
    for dep, parent in sorted(req.external.items()):
        if (dep not in index or dep in removed_names) and dep not in builtin:
            raise InitrdError("module %s depends on %s, which is neither in module_source %s nor "
                              "in the image" % (parent, dep, req.module_source), "add_modules", parent)

    for module, explicit, parent in req.closure:
        elf = module.elf()
        info = kmod.modinfo(elf, module.fullpath)
        vermagic = (info.get("vermagic") or [""])[0]
        release = kmod.kernel_release(vermagic)
        if kver and release != kver and not req.force_vermagic:
            raise InitrdError(
                "module %s (%s) was built for kernel %s (vermagic '%s') but the image kernel is %s;"
                " set force_vermagic: true to add it anyway" % (
                    module.name, module.fullpath, release or "?", vermagic.strip(), kver),
                "add_modules", module.name)
        existing = index.get(module.name, [])
        if existing:
            target = existing[0]
        else:
            rel = module.relpath if req.source.is_tree else "updates/" + module.relpath
            rel = rel[:-len(compression.module_suffix(rel))] + suffix
            target = root + "/" + rel
        target_suffix = compression.module_suffix(target)
        if compression.module_suffix(module.fullpath) == target_suffix:
            data = module.raw()
        else:
            data = compression.compress_module(elf, target_suffix, target)
        changed = _put(plan, tree, target, data)
        stale = [p for p in existing if p != target]
        plan.removed.update(stale)
        record = {"name": module.name, "path": target, "source": module.fullpath,
                  "explicit": explicit, "required_by": parent, "vermagic": vermagic.strip()}
        plan.modules_added.append(record)
        if existing and (changed or stale):
            plan.modules_replaced.append({"name": module.name, "path": target, "replaced": existing})
        plan.modules_changed = plan.modules_changed or changed or bool(stale)
    plan.modules_changed = plan.modules_changed or bool(plan.removed)

    for dest, mode, data in req.files:
        path = tree.resolve(dest, "files.dest")
        _put(plan, tree, path, data, stat.S_IFREG | mode)
        plan.files_added.append(path)
    load_names = []
    for name, mods in req.modules_load:
        path = tree.resolve("etc/modules-load.d/%s.conf" % name)
        _put(plan, tree, path, (HEADER + "".join(m + "\n" for m in mods)).encode())
        plan.files_added.append(path)
        load_names.extend(mods)
    if load_names and _dracut_shell_init(tree):
        # dracut's shell init (no systemd in the image) never reads modules-load.d either; a
        # pre-udev hook, sourced by init after the cmdline hooks (rd.driver.pre), loads them.
        names = " ".join("'%s'" % m for m in load_names)
        hook = ("#!/bin/sh\n" + HEADER
                + "# dracut's shell init does not read etc/modules-load.d: load its modules_load lists here.\n"
                + "modprobe -a -b %s || warn \"fabric.boot.initrd: modprobe -a -b %s failed\"\n" % (names, names))
        path = tree.resolve(DRACUT_LOAD_HOOK)
        _put(plan, tree, path, hook.encode(), stat.S_IFREG | 0o755)
        plan.files_added.append(path)
    if load_names and "scripts/functions" in tree.entries and "conf/initramfs.conf" in tree.entries:
        # initramfs-tools never reads modules-load.d; its init loads /conf/modules.
        lines = _text(tree, "conf/modules").splitlines()
        merged = lines + [m for m in load_names if m not in lines]
        if merged != lines:
            _put(plan, tree, "conf/modules", "".join(line + "\n" for line in merged).encode())
            plan.files_added.append("conf/modules")
    for name, lines in req.modprobe_conf:
        path = tree.resolve("etc/modprobe.d/%s.conf" % name)
        _put(plan, tree, path, (HEADER + "".join(line + "\n" for line in lines)).encode())
        plan.files_added.append(path)
    if req.mode == "append":
        _refuse_hard_link_targets(tree, plan)
    if req.source is not None:
        plan.warnings.extend("module_source %s holds another copy of %s; using the first in sorted "
                             "order" % (req.module_source, rel) for rel in req.source.duplicates)
    if req.mode == "append":
        # Earlier archives cannot shrink: removed files (and stale second copies of a
        # replaced module) become empty, which insmod refuses and depmod skips.
        for path in plan.removed:
            plan.changes[path] = cpio.Entry(path, FILE_MODE, b"")
    if req.mode == "append" and removed_names:
        # ... and modprobe is told never to load what was asked to go.
        # `install` commands run through /bin/sh (kmod's system()), which every initrd has;
        # `exit 1` is a shell builtin, so modprobe fails with its one error line and no
        # "/bin/false: No such file or directory" (dracut images have no /bin/false).
        lines = ["blacklist %s\ninstall %s exit 1\n" % (n, n) for n in sorted(removed_names)]
        path = tree.resolve(REMOVED_CONF)
        _put(plan, tree, path, (HEADER + "".join(lines)).encode())
        plan.files_added.append(path)
    return plan


def _dracut_shell_init(tree):
    """A dracut image whose /init is dracut's shell script: /init a regular file beside dracut's
    hook directories (a systemd image links /init to systemd, whose systemd-modules-load reads
    modules-load.d)."""
    init = tree.entries.get("init")
    hooks = tree.entries.get(tree.resolve("lib/dracut/hooks"))
    return init is not None and init.is_reg and hooks is not None and hooks.is_dir


def _refuse_hard_link_targets(tree, plan):
    """The kernel opens an existing path with O_TRUNC, so in append mode writing to one name of
    a hard link group would change every name (busybox applets)."""
    sizes = {}
    for entry in tree.entries.values():
        if entry.link_key is not None:
            sizes[entry.link_key] = sizes.get(entry.link_key, 0) + 1
    for path in sorted(plan.changes):
        old = tree.entries.get(path)
        if old is not None and sizes.get(old.link_key, 0) > 1:
            raise InitrdError("%s is a hard link in the image; writing it in append mode would change "
                              "every name linked to it; use mode: rewrite" % path, "mode", "append")


def _final_entries(base, plan, mode):
    """name -> Entry after the plan, plus any parent directories the new paths need."""
    final = dict(base)
    if mode == "rewrite":
        for path in plan.removed:
            final.pop(path, None)
    for path, entry in plan.changes.items():
        final[path] = entry
    for path in list(plan.changes):
        parent = os.path.dirname(path)
        while parent and parent not in final:
            final[parent] = plan.changes[parent] = cpio.Entry(parent, DIR_MODE)
            parent = os.path.dirname(parent)
    return final


def _ordered(entries):
    return sorted(entries.values(), key=_order_key)


def _order_key(entry):
    """'.' first, then by name (dracut's `find . | sort` order)."""
    return (entry.name != ".", entry.name)


_ROLE = {"rewrite": "main", "append": "appended"}
# The appended archive is small and mostly already-dense module code: gzip -9 spends 3x the
# time of -6 for 0.5% (measured on a whole dracut image), so append mode defaults to -6.
APPEND_LEVEL = {"gzip": 6}


def _level(req, fmt):
    if req.level is None and req.mode == "append":
        return APPEND_LEVEL.get(fmt)
    return req.level


def _manifest_dirs(present):
    """Directory entries the manifest path needs that the image lacks."""
    dirs = []
    parent = os.path.dirname(MANIFEST_PATH)
    while parent and parent not in present:
        dirs.append(cpio.Entry(parent, DIR_MODE))
        parent = os.path.dirname(parent)
    return dirs[::-1]


def _with_manifest(entries, manifest, resolve=None):
    """newc chunks of entries, then the manifest member (which records the sha256 of every byte
    before it) and the trailer, as one archive. resolve: see cpio.write_entries."""
    digest = hashlib.sha256()
    written = [0]

    def counted(entry):
        entry = resolve(entry) if resolve is not None else entry
        if entry is not None:
            written[0] += 1
        return entry

    for chunk in cpio.rechunk(cpio.write_entries(entries, trailer=False, resolve=counted)):
        digest.update(chunk)
        yield chunk
    manifest["content_sha256"] = digest.hexdigest()
    data = json.dumps(manifest, sort_keys=True, indent=1).encode() + b"\n"
    yield from cpio.write_entries([cpio.Entry(MANIFEST_PATH, FILE_MODE, data)],
                                  start_ino=written[0])


class _Placeholder(cpio.Entry):
    """The sorted place of a depmod output the image does not have yet."""

    __slots__ = ()


def _apply_depmod(pending, plan, tree, final):
    for path, data in pending.result().items():
        if _put(plan, tree, path, data):
            final[path] = plan.changes[path]


def _depmod_resolver(pending, plan, tree, final, payload):
    """Add placeholders for depmod's outputs to payload (in place) and return the resolve
    function for cpio.write_entries: members sorting before depmod's first output are
    compressed while depmod runs; the first of its outputs waits for it."""
    names = set(pending.names)
    present = set(e.name for e in payload if e.name in names)
    payload.extend(_Placeholder(n, FILE_MODE) for n in pending.names if n not in present)
    payload.sort(key=_order_key)

    def resolve(entry):
        if entry.name not in names:
            return entry
        _apply_depmod(pending, plan, tree, final)  # waits once; then cached
        if entry.name in plan.changes:
            return plan.changes[entry.name]
        return None if isinstance(entry, _Placeholder) else entry

    return resolve


def _describe_listing(entries, changed):
    lines = []
    for entry in _ordered(entries):
        line = "%s %o %d" % (entry.name, entry.mode, entry.size)
        if entry.name in changed:
            line += " sha256:" + _sha(entry.data)[:16]
        lines.append(line)
    return "\n".join(lines) + "\n"


def _result_from_manifest(manifest, changed, extra):
    result = dict((k, manifest.get(k)) for k in (
        "kernel_version", "compression", "mode", "modules_added", "modules_replaced",
        "modules_removed", "files_added", "archives"))
    result["changed"] = changed
    result.update(extra)
    return result


def _already_done(req, request_sha, src_data, src_sha, dest_data, same_file, spool_dir=None):
    """The result dict when dest already is this request applied to src, else None.

    Reading the manifest means decompressing the last archive (the main one in rewrite
    mode); in append mode to a separate dest, the appended archive is looked for right
    after src's bytes first, so only that small archive is decompressed.
    """
    dest_sha = src_sha if same_file else _sha(dest_data)
    record = cache.load(req.dest)
    if (record is not None and record.get("format") == MANIFEST_FORMAT
            and record.get("request_sha256") == request_sha and record.get("sha256") == dest_sha
            and record.get("size") == len(dest_data)
            and (same_file or record.get("source_sha256") == src_sha)):
        return _result_from_manifest(record, False, {
            "size_before": len(dest_data), "size_after": len(dest_data), "sha256": dest_sha,
            "backup_file": None})
    found = None
    if req.mode == "append" and not same_file and len(dest_data) > len(src_data):
        found = find_manifest(dest_data, len(src_data), spool_dir)
    if found is None or found["manifest"].get("request_sha256") != request_sha:
        found = find_manifest(dest_data, spool_dir=spool_dir)
    if found is None:
        return None
    manifest = found["manifest"]
    offset = found["offset"]
    if (manifest.get("format") != MANIFEST_FORMAT or manifest.get("request_sha256") != request_sha
            or manifest.get("prefix_size") != offset
            or not (same_file or manifest.get("source_sha256") == src_sha)
            or manifest.get("content_sha256") != found["content_sha256"]
            or manifest.get("prefix_sha256") != _sha(memoryview(dest_data)[:offset])):
        return None
    archives = [dict(a) for a in manifest.get("archives") or []]
    if archives:
        archives[-1]["size"] = found["end"] - offset
    return _result_from_manifest(manifest, False, {
        "archives": archives, "size_before": len(dest_data), "size_after": len(dest_data),
        "sha256": dest_sha, "backup_file": None})


_TYPES = ((stat.S_ISDIR, "directory", "d"), (stat.S_ISLNK, "symlink", "l"),
          (stat.S_ISCHR, "char", "c"), (stat.S_ISBLK, "block", "b"), (stat.S_ISFIFO, "fifo", "p"),
          (stat.S_ISSOCK, "socket", "s"), (stat.S_ISREG, "file", "-"))


def _listed(entry):
    kind = next((name for test, name, _c in _TYPES if test(entry.mode)), "unknown")
    item = {"name": entry.name, "type": kind, "mode": "%04o" % stat.S_IMODE(entry.mode),
            "size": entry.size if kind == "file" else 0}
    if kind == "symlink":
        item["target"] = entry.target()
    return item


def list_image(params):
    """mode=list: every archive of src as the kernel reads it, with its members; no change."""
    src = params["src"]
    for key in ("add_modules", "remove_modules", "files", "modules_load", "modprobe_conf"):
        if params.get(key):
            raise InitrdError("mode=list only reads src; %s must be empty" % key, key, params[key])
    archives = read_archives(_read(src, "src"), src)
    segments = []
    for archive in archives:
        item = archive.describe()
        item["members"] = [_listed(e) for e in archive.entries]
        if archive.manifest_entry is not None:
            item["members"].append(_listed(archive.manifest_entry))
        segments.append(item)
    manifest = archives[-1].manifest
    kvers = Tree(archives).kernel_versions()
    return {"changed": False, "mode": "list", "archives": segments, "manifest": manifest,
            "kernel_version": kvers[0] if len(kvers) == 1 else None,
            "compression": ([a.compression for a in archives if not a.early] or ["none"])[0]}


def run(params, check_mode=False, want_diff=False, backup_func=None, commit_func=None):
    """Apply the request in params; return the result dict. Raises InitrdError."""
    if params.get("mode") == "list":
        if not os.path.isfile(params["src"]):
            raise InitrdError("src=%s is not a regular file" % params["src"], "src", params["src"])
        return list_image(params)
    req = Request(params)
    request_sha = req.sha256()
    src_data = _read(req.src, "src")
    dest_exists = os.path.exists(req.dest)
    same_file = dest_exists and os.path.samefile(req.src, req.dest)
    dest_data = src_data if same_file else (_read(req.dest, "dest") if dest_exists else None)

    # Kept as an object: append's prefix and output hashes continue from it instead of
    # hashing src again (twice) at the end.
    src_hash = hashlib.sha256(src_data)
    src_sha = src_hash.hexdigest()
    # Decompressed archives are spooled next to dest: that file system has room for the result
    # and is rarely tmpfs (where the spool would be memory again).
    spool_dir = os.path.dirname(os.path.abspath(req.dest))
    if dest_data is not None:
        done = _already_done(req, request_sha, src_data, src_sha, dest_data, same_file, spool_dir)
        if done is not None:
            return done

    try:
        archives = read_archives(src_data, req.src, spool_dir)
    except ScratchFull as exc:
        # src is fine: dest's file system has no room for its unpacked copy (a full disk there
        # would stop the write of the new image next anyway). Said the way the write says it.
        raise InitrdError("dest=%s: unpacking the source image failed (No space left on device), in %s, "
                          "where the unpacked src=%s is spooled (%s); %s" % (
                              req.dest, spool_dir, req.src, exc.msg,
                              "the published image is unchanged" if dest_data is not None else "nothing was published"),
                          "dest", req.dest)
    base_end = len(src_data)
    old = archives[-1]
    if old.legacy:
        # Format 1: a trailing archive holding only the manifest; append recorded base_size.
        archives.pop()
        base_end = old.offset
        if old.manifest.get("mode") == "append" and isinstance(old.manifest.get("base_size"), int):
            base_end = old.manifest["base_size"]
            archives = [a for a in archives if a.end <= base_end]
    elif old.appended and old.offset == old.manifest.get("prefix_size"):
        # Our own appended archive: replaced, not stacked.
        base_end = old.offset
        archives.pop()
    if not archives:
        raise InitrdError("src=%s holds only a fabric.boot manifest" % req.src, "src", req.src)
    tree = Tree(archives)
    kvers = tree.kernel_versions()
    if len(kvers) > 1:
        raise InitrdError("src=%s holds modules for several kernels (%s); cannot tell which to "
                          "change" % (req.src, ", ".join(kvers)), "src", req.src)
    kver = kvers[0] if kvers else (req.source.kernel_version if req.source else None)
    if not kver and (req.add_modules or req.remove_modules):
        raise InitrdError("src=%s has no lib/modules/<version> and module_source is not a kernel "
                          "module tree; cannot tell the kernel version" % req.src, "src", req.src)
    root = _modules_root(tree, kver) if kver else None

    main = [a for a in archives if not a.early]
    input_fmt = main[0].compression if main else "none"
    fmt = input_fmt if req.compression == "auto" else req.compression
    if req.mode == "append" and main and main[-1].compression == "lz4" and fmt != "lz4":
        raise InitrdError("compression=%s cannot be appended after an lz4 archive: the kernel's "
                          "lz4 decoder reads everything after it as lz4" % fmt, "compression", fmt)
    compression.check_level(fmt, req.level)
    plan = _plan(req, tree, kver, root)
    final = _final_entries(tree.entries, plan, req.mode)
    pending = None
    if req.depmod and plan.modules_changed and root:
        # Runs while _write compresses everything that sorts before its outputs.
        pending = Depmod(final, root, kver)
    try:
        if pending is not None and (check_mode or want_diff):
            _apply_depmod(pending, plan, tree, final)
            pending = None
        return _finish(req, check_mode, want_diff, src_data, src_hash, request_sha, dest_data,
                       archives, base_end, tree, final, plan, kver, fmt, pending, backup_func,
                       commit_func)
    finally:
        if pending is not None:
            pending.close()


def _finish(req, check_mode, want_diff, src_data, src_hash, request_sha, dest_data, archives,
            base_end, tree, final, plan, kver, fmt, pending, backup_func, commit_func):
    src_sha = src_hash.hexdigest()

    result = {
        "mode": req.mode, "kernel_version": kver, "compression": fmt,
        "modules_added": plan.modules_added, "modules_replaced": plan.modules_replaced,
        "modules_removed": plan.modules_removed, "files_added": plan.files_added,
        "size_before": len(dest_data) if dest_data is not None else None,
        "size_after": None, "sha256": None, "backup_file": None, "warnings": plan.warnings,
        "changed": True,
    }
    if want_diff:
        touched = set(plan.changes) | plan.removed
        result["diff"] = {
            "before_header": "%s (entries)" % req.src, "after_header": "%s (entries)" % req.dest,
            "before": _describe_listing(tree.entries, touched),
            "after": _describe_listing(final, touched)}
    manifest = {
        "tool": MANIFEST_TOOL, "format": MANIFEST_FORMAT, "mode": req.mode, "request_sha256": request_sha,
        "source_sha256": src_sha, "kernel_version": kver, "compression": fmt,
        "modules_added": plan.modules_added, "modules_replaced": plan.modules_replaced,
        "modules_removed": plan.modules_removed, "files_added": plan.files_added,
    }
    if check_mode:
        result["archives"] = [a.describe() for a in archives]
        return result
    return _write(req, src_data, archives, base_end, final, plan, fmt, manifest, result,
                  dest_data, backup_func, commit_func, (pending, tree), src_hash)


def _write(req, src_data, archives, base_end, final, plan, fmt, manifest, result, dest_data,
           backup_func, commit_func, depmod=(None, None), src_hash=None):
    parent = os.path.dirname(os.path.abspath(req.dest))
    result["warnings"].extend(_remove_leftovers(req.dest))
    try:
        handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(req.dest), dir=parent)
    except OSError as exc:
        raise InitrdError("dest=%s cannot be written: %s" % (req.dest, exc), "dest", req.dest)
    try:
        return _write_tmp(req, src_data, archives, base_end, final, plan, fmt, manifest, result,
                          dest_data, backup_func, commit_func, handle, tmp, depmod, src_hash)
    except OSError as exc:
        # A full disk (ENOSPC), a quota, an I/O error: the new image stays in its temporary file,
        # which is removed, and dest is the old, complete image.
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise InitrdError("dest=%s: writing the new image failed (%s), in %s; %s" % (
            req.dest, exc.strerror or exc, parent,
            "the published image is unchanged" if dest_data is not None else "nothing was published"),
            "dest", req.dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_leftovers(dest):
    """Remove the temporary files of runs that were killed while they wrote dest (SIGKILL, a
    power cut: no cleanup ran). Returns the warnings that say so."""
    parent = os.path.dirname(os.path.abspath(dest))
    pattern = re.compile(r"^\.%s\.[A-Za-z0-9_]{8}$" % re.escape(os.path.basename(dest)))
    warnings = []
    for name in sorted(os.listdir(parent)):
        if pattern.match(name):
            path = os.path.join(parent, name)
            try:
                os.unlink(path)
            except FileNotFoundError:
                continue
            warnings.append("dest=%s: removed %s, the unfinished output of an earlier run that was "
                            "stopped while it wrote (the published image was never replaced by it)" % (dest, path))
    return warnings


def _write_tmp(req, src_data, archives, base_end, final, plan, fmt, manifest, result, dest_data,
               backup_func, commit_func, handle, tmp, depmod=(None, None), src_hash=None):
    with os.fdopen(handle, "wb") as out:
        if req.mode == "rewrite":
            early = [a for a in archives if a.early]
            prefix_end = ([a for a in archives if not a.early] or [None])[0]
            prefix_end = prefix_end.offset if prefix_end is not None else base_end
            layout = [a.describe() for a in early]
            entries = {}
            for archive in archives:
                if not archive.early and not archive.legacy:
                    for entry in archive.entries:
                        entries[entry.name] = entry
            for path in plan.removed:
                entries.pop(path, None)
            for path, entry in plan.changes.items():
                entries[path] = entry
            payload = _ordered(entries)
        else:
            prefix_end = base_end
            layout = [a.describe() for a in archives]
            payload = [plan.changes[n] for n in sorted(plan.changes)]
        out.write(memoryview(src_data)[:prefix_end])
        start = prefix_end
        if fmt == "none" and start % 4:
            out.write(b"\0" * (4 - start % 4))
            start += 4 - start % 4
        payload = sorted(payload + _manifest_dirs(final), key=_order_key)
        resolve = None
        if depmod[0] is not None:
            resolve = _depmod_resolver(depmod[0], plan, depmod[1], final, payload)
        manifest.update({"prefix_size": start, "prefix_sha256": None,
                         "archives": layout + [{"offset": start, "compression": fmt,
                                                "role": _ROLE[req.mode]}]})
        if src_hash is not None and prefix_end == len(src_data):
            prefix_hash = src_hash.copy()
        else:
            prefix_hash = hashlib.sha256(memoryview(src_data)[:prefix_end])
        known_hash = prefix_hash.copy()
        if start > prefix_end:
            prefix_hash.update(b"\0" * (start - prefix_end))
        manifest["prefix_sha256"] = prefix_hash.hexdigest()
        out.flush()
        compression.compress_chunks(_with_manifest(payload, manifest, resolve), fmt,
                                    _level(req, fmt), out)
        out.flush()
        end = out.tell()
        layout.append({"offset": start, "size": end - start, "compression": fmt,
                       "role": _ROLE[req.mode]})
    body_hash, body_size = _hash_body(tmp, known_hash, prefix_end)
    result.update({"archives": layout, "size_after": body_size,
                   "sha256": body_hash.hexdigest()})
    if dest_data is not None and len(dest_data) == result["size_after"] \
            and _sha(dest_data) == result["sha256"]:
        result["changed"] = False
        os.unlink(tmp)
        return result
    if req.backup and dest_data is not None:
        result["backup_file"] = (backup_func or _backup)(req.dest)
    os.chmod(tmp, 0o644)
    record = _result_from_manifest(manifest, True, {"archives": layout})
    record.update({"format": MANIFEST_FORMAT, "request_sha256": manifest["request_sha256"],
                   "source_sha256": manifest["source_sha256"], "sha256": result["sha256"],
                   "size": result["size_after"]})
    (commit_func or os.replace)(tmp, req.dest)
    # After the move: Ansible's atomic_move copies the old file's attributes (shutil.copystat,
    # xattrs included) onto the new one, which would leave the old record. A stale or
    # missing record only costs the slower check, since it must match the file's sha256.
    cache.save(req.dest, record)
    return result


def _hash_body(path, digest, known):
    """sha256 and size of the written file; digest already holds its first `known` bytes (src's),
    so only the rest is read back."""
    size = known
    with open(path, "rb") as handle:
        handle.seek(known)
        while True:
            chunk = handle.read(1 << 22)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest, size


def _backup(path):
    backup = "%s.%s~" % (path, hashlib.sha256(path.encode()).hexdigest()[:8])
    shutil.copy2(path, backup)
    return backup
