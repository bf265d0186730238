# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Initrd surgery: plan the changes on the merged tree, then write the result.

Output layout (both modes end with a small uncompressed manifest archive so a
rerun can tell, without decompressing anything, that the file already is the
result of the same request on the same source):

  rewrite:  early archives (byte-identical) | one compressed archive | manifest
  append:   original bytes (byte-identical) | one small compressed archive | manifest

The manifest records the size and sha256 of everything before it, so a file
changed behind our back is detected and rebuilt.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import stat
import tempfile

from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import cpio
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import kmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.depmod import run_depmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.image import (
    MANIFEST_PATH, MANIFEST_TOOL, Tree, peek_manifest, read_archives)
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.request import Request

DIR_MODE = stat.S_IFDIR | 0o755
FILE_MODE = stat.S_IFREG | 0o644
REMOVED_CONF = "etc/modprobe.d/fabric-boot-removed.conf"
HEADER = "# Written by fabric.boot.initrd; changes are overwritten.\n"


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _read(path, field):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
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
        lines = ["blacklist %s\ninstall %s /bin/false\n" % (n, n) for n in sorted(removed_names)]
        path = tree.resolve(REMOVED_CONF)
        _put(plan, tree, path, (HEADER + "".join(lines)).encode())
        plan.files_added.append(path)
    return plan


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
    names = sorted(n for n in entries if n != ".")
    head = [entries["."]] if "." in entries else []
    return head + [entries[n] for n in names]


def _trailer(final, manifest, fmt):
    """The manifest archive, compressed like the archive it follows."""
    dirs = [cpio.Entry(d, DIR_MODE) for d in ("etc", "etc/fabric-boot") if d not in final]
    data = json.dumps(manifest, sort_keys=True, indent=1).encode() + b"\n"
    raw = cpio.to_bytes(dirs + [cpio.Entry(MANIFEST_PATH, FILE_MODE, data)])
    return compression.compress_bytes(raw, fmt)


def _describe_listing(entries, changed):
    lines = []
    for entry in _ordered(entries):
        line = "%s %o %d" % (entry.name, entry.mode, entry.size)
        if entry.name in changed:
            line += " sha256:" + _sha(entry.data)[:16]
        lines.append(line)
    return "\n".join(lines) + "\n"


def _manifest_archive(offset, size, fmt):
    return {"offset": offset, "size": size, "compression": fmt, "role": "manifest"}


def _result_from_manifest(manifest, changed, extra):
    result = dict((k, manifest.get(k)) for k in (
        "kernel_version", "compression", "mode", "modules_added", "modules_replaced",
        "modules_removed", "files_added", "archives"))
    result["changed"] = changed
    result.update(extra)
    return result


def run(params, check_mode=False, want_diff=False, backup_func=None, commit_func=None):
    """Apply the request in params; return the result dict. Raises InitrdError."""
    req = Request(params)
    request_sha = req.sha256()
    src_data = _read(req.src, "src")
    dest_exists = os.path.exists(req.dest)
    same_file = dest_exists and os.path.samefile(req.src, req.dest)
    dest_data = src_data if same_file else (_read(req.dest, "dest") if dest_exists else None)

    if dest_data is not None:
        manifest, body_size = peek_manifest(dest_data)
        if (manifest is not None and manifest.get("request_sha256") == request_sha
                and manifest.get("body_size") == body_size
                and (same_file or manifest.get("source_sha256") == _sha(src_data))):
            body_hash = hashlib.sha256(memoryview(dest_data)[:body_size])
            if manifest.get("body_sha256") == body_hash.hexdigest():
                body_hash.update(memoryview(dest_data)[body_size:])
                archives = list(manifest.get("archives") or [])
                last = archives[-1]["compression"] if archives else "none"
                archives.append(_manifest_archive(body_size, len(dest_data) - body_size, last))
                return _result_from_manifest(manifest, False, {
                    "archives": archives, "size_before": len(dest_data),
                    "size_after": len(dest_data), "sha256": body_hash.hexdigest(),
                    "backup_file": None})

    src_sha = _sha(src_data)
    archives = read_archives(src_data, req.src)
    base_end = len(src_data)
    if archives[-1].manifest is not None:
        old = archives.pop()
        base_end = old.offset
        if old.manifest.get("mode") == "append" and isinstance(old.manifest.get("base_size"), int):
            base_end = old.manifest["base_size"]
            archives = [a for a in archives if a.end <= base_end]
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
    if req.depmod and plan.modules_changed and root:
        for path, data in run_depmod(final, root, kver).items():
            if _put(plan, tree, path, data):
                final[path] = plan.changes[path]

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
        "tool": MANIFEST_TOOL, "format": 1, "mode": req.mode, "request_sha256": request_sha,
        "source_sha256": src_sha, "kernel_version": kver, "compression": fmt,
        "modules_added": plan.modules_added, "modules_replaced": plan.modules_replaced,
        "modules_removed": plan.modules_removed, "files_added": plan.files_added,
    }
    if check_mode:
        result["archives"] = [a.describe() for a in archives]
        return result
    return _write(req, src_data, archives, base_end, final, plan, fmt, manifest, result,
                  dest_data, backup_func, commit_func)


def _write(req, src_data, archives, base_end, final, plan, fmt, manifest, result, dest_data,
           backup_func, commit_func):
    parent = os.path.dirname(os.path.abspath(req.dest))
    try:
        handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(req.dest), dir=parent)
    except OSError as exc:
        raise InitrdError("dest=%s cannot be written: %s" % (req.dest, exc), "dest", req.dest)
    try:
        with os.fdopen(handle, "wb") as out:
            layout = []
            if req.mode == "rewrite":
                early = [a for a in archives if a.early]
                prefix_end = ([a for a in archives if not a.early] or [None])[0]
                prefix_end = prefix_end.offset if prefix_end is not None else base_end
                out.write(memoryview(src_data)[:prefix_end])
                layout.extend(a.describe() for a in early)
                main_entries = {}
                for archive in archives:
                    if not archive.early and archive.manifest is None:
                        for entry in archive.entries:
                            main_entries[entry.name] = entry
                for path in plan.removed:
                    main_entries.pop(path, None)
                for path, entry in plan.changes.items():
                    main_entries[path] = entry
                start = prefix_end
                out.flush()
                compression.compress_chunks(
                    cpio.rechunk(cpio.write_entries(_ordered(main_entries))), fmt, req.level, out)
            else:
                out.write(memoryview(src_data)[:base_end])
                layout.extend(a.describe() for a in archives)
                start = base_end
                if plan.changes:
                    if fmt == "none" and start % 4:
                        out.write(b"\0" * (4 - start % 4))
                        start += 4 - start % 4
                    out.flush()
                    payload = [plan.changes[n] for n in sorted(plan.changes)]
                    compression.compress_chunks(
                        cpio.rechunk(cpio.write_entries(payload)), fmt, req.level, out)
            out.flush()
            end = out.tell()
            if end > start:
                layout.append({"offset": start, "size": end - start, "compression": fmt,
                               "role": "main" if req.mode == "rewrite" else "appended"})
            trailer_fmt = layout[-1]["compression"] if layout else fmt
            if trailer_fmt == "none" and end % 4:
                out.write(b"\0" * (4 - end % 4))
            out.flush()
        body_hash, body_size = _hash_body(tmp, src_data, base_end if req.mode == "append" else 0)
        manifest.update({"body_size": body_size, "body_sha256": body_hash.hexdigest(),
                         "base_size": base_end if req.mode == "append" else None,
                         "base_sha256": _sha(memoryview(src_data)[:base_end])
                         if req.mode == "append" else None})
        manifest["archives"] = layout
        trailer = _trailer(final, manifest, trailer_fmt)
        layout = layout + [_manifest_archive(body_size, len(trailer), trailer_fmt)]
        with open(tmp, "ab") as out:
            out.write(trailer)
        new_sha = body_hash.copy()
        new_sha.update(trailer)
        result.update({"archives": layout, "size_after": body_size + len(trailer),
                       "sha256": new_sha.hexdigest()})
        if dest_data is not None and len(dest_data) == result["size_after"] \
                and _sha(dest_data) == result["sha256"]:
            result["changed"] = False
            os.unlink(tmp)
            return result
        if req.backup and dest_data is not None:
            result["backup_file"] = (backup_func or _backup)(req.dest)
        os.chmod(tmp, 0o644)
        (commit_func or os.replace)(tmp, req.dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return result


def _hash_body(path, src_data, known):
    """sha256 and size of the written file; its first `known` bytes are src_data's, already in
    memory, so only the rest is read back."""
    digest = hashlib.sha256(memoryview(src_data)[:known])
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
