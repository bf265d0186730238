#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: file_set
version_added: 0.2.0
author: fabric.boot contributors (@fabric-boot)
short_description: Write many small files below one directory in one task, only those that differ
description:
  - Writes a whole set of generated files (such as 10,000 nodes' boot menus) in one task, where
    the template or copy module would cost one task, one connection round trip and one module
    run per file.
  - A file is rewritten only when its content, mode, owner or group differ; each write goes to a
    temporary file in the same directory and is renamed over the old one, so readers see the old
    or the new file, never a partial one.
  - With O(validate), every file that would change is checked before any file is written; one
    bad file fails the task and changes nothing. The files are checked in batches (their
    contents joined into one file); a batch that fails is checked file by file, so the error
    names the file.
  - With O(prune), files below O(path) that match one of the patterns and are not in O(files) are
    removed (nodes that left the inventory).
  - Supports check mode and diff mode (the before and after of each changed file).
options:
  path:
    description: Directory the names in O(files) are relative to. It must exist.
    type: path
    required: true
  files:
    description:
      - Relative path to content. A path may not be absolute or contain C(..); its parent directory must exist.
      - A dict, or the same as JSON text (as C(fabric.boot.boot_menu_set) returns it), which a large
        set hands from task to task more cheaply.
      - The result's C(invocation) names the number of files, not their contents.
    type: dict
    required: true
  mode:
    description: Mode of every file (octal string).
    type: str
    default: "0644"
  owner:
    description: Owner of every file; unset leaves new files to the connecting user and existing ones as they are.
    type: str
  group:
    description: Group of every file; as O(owner).
    type: str
  validate:
    description:
      - Command that checks one file, with C(%s) for its path (as the template module's C(validate)).
      - Files are joined in batches of O(validate_batch) for the check; use it only for formats where a
        concatenation of valid files is valid (GRUB scripts). Set O(validate_batch=1) otherwise.
    type: str
  validate_batch:
    description: How many files are checked per run of O(validate).
    type: int
    default: 2000
  prune:
    description: Shell patterns relative to O(path) (C(uefi/grub.cfg-*)); matching files not in O(files) are removed.
    type: list
    elements: str
    default: []
  manifest:
    description:
      - A file (outside O(path), e.g. under C(/var/lib)) where the module keeps the list of files it
        wrote. With it, O(prune) removes only files listed there, that is files this module wrote,
        never a file someone else put beside them that happens to match a pattern.
      - Without an existing manifest (the first run with this option), a file is pruned only when its
        first 4 KiB contain O(marker); with no O(marker) nothing is pruned on that run.
      - The manifest is written before the files (listing the old and the new ones), so a run stopped
        half-way leaves no file that a later run would not recognise as its own.
    type: path
  marker:
    description: Text that marks a file as generated (its header), used with O(manifest) as said there.
    type: str
notes:
  - Files are not fsync()ed one by one (20,000 fsyncs take minutes on a busy disk); the rename
    replaces a file only after its new content is complete.
"""

EXAMPLES = r"""
- name: Write every per-node pxelinux menu
  fabric.boot.file_set:
    path: /var/lib/tftpboot
    files:
      pxelinux/pxelinux.cfg/01-52-54-00-12-34-56: "DEFAULT local\n"
      pxelinux/pxelinux.cfg/default: "DEFAULT local\n"
    owner: root
    group: root
    mode: "0644"
    prune: ["pxelinux/pxelinux.cfg/*"]
"""

RETURN = r"""
written:
  description: Paths (relative to O(path)) written or, in check mode, that would be.
  returned: always
  type: list
  elements: str
removed:
  description: Paths removed by O(prune) (or that would be).
  returned: always
  type: list
  elements: str
unchanged:
  description: How many files already had the right content and attributes.
  returned: always
  type: int
kept:
  description: Paths that match O(prune) but that this module did not write (see O(manifest)); left alone.
  returned: always
  type: list
  elements: str
"""

import fnmatch
import grp
import os
import pwd
import shlex
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


def _bad_name(rel):
    parts = rel.split("/")
    return rel.startswith("/") or not rel or any(p in ("", ".", "..") for p in parts)


def _uid_gid(module, owner, group):
    uid = gid = -1
    try:
        if owner is not None:
            uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        if group is not None:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError as exc:
        module.fail_json(msg="file_set: unknown owner or group: %s" % exc)
    return uid, gid


def _state(full, data, mode, uid, gid):
    """(needs content, needs attributes, old content or None)."""
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return True, True, None
    if not stat.S_ISREG(st.st_mode):
        return True, True, None
    with open(full, "rb") as f:
        old = f.read()
    attrs = (stat.S_IMODE(st.st_mode) != mode or (uid != -1 and st.st_uid != uid)
             or (gid != -1 and st.st_gid != gid))
    return old != data, attrs, old


def _check(module, cmd, paths_data, tmpdir):
    """Run cmd on the joined batch; on failure, file by file. Returns error text or None."""
    def run(data):
        fd, tmp = tempfile.mkstemp(dir=tmpdir, prefix=".file_set-check-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            argv = [a.replace("%s", tmp) for a in shlex.split(cmd)]
            rc, out, err = module.run_command(argv)
            return rc, (out + err).strip()
        finally:
            os.unlink(tmp)
    rc, out = run(b"\n".join(d for _p, d in paths_data))
    if rc == 0:
        return None
    errors = []
    for rel, data in paths_data:
        rc, out = run(data)
        if rc != 0:
            errors.append("%s: %s" % (rel, out))
    return "; ".join(errors) or "the joined batch failed but no single file did: %s" % out


def _read_manifest(module, path):
    """The set of relative paths the module wrote before, or None when there is no manifest."""
    try:
        with open(path) as f:
            return set(line.rstrip("\n") for line in f if line.strip())
    except FileNotFoundError:
        return None
    except OSError as exc:
        module.fail_json(msg="file_set: cannot read the manifest %s: %s" % (path, exc))


def _write_manifest(module, path, names):
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".file_set-manifest-")
        with os.fdopen(fd, "w") as f:
            f.write("".join("%s\n" % n for n in sorted(names)))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        module.fail_json(msg="file_set: cannot write the manifest %s: %s" % (path, exc))


def _ours(full, rel, manifest, owned, marker):
    """May prune remove this file? Without a manifest option: every match (the old behaviour)."""
    if not manifest:
        return True
    if owned is not None:
        return rel in owned
    if not marker:
        return False
    try:
        with open(full, "rb") as f:
            return to_bytes(marker) in f.read(4096)
    except OSError:
        return False


class _FileSetModule(AnsibleModule):
    """Reports its invocation with the number of files, not their contents.

    AnsibleModule returns every parameter as the invocation; for boot_loader's menus at 10,000
    nodes that is 21,000 files (16 MB) shipped back to the controller and processed there on
    every run, for output nobody reads (docs/performance.md)."""

    def _invocation(self):
        args = dict(self.params)
        if isinstance(args.get("files"), dict):
            args["files"] = "(%d files)" % len(args["files"])
        return {"module_args": args}

    def _log_invocation(self):
        # AnsibleModule logs every parameter to syslog or the journal: the number of files here, not
        # the 16 MB of their contents (twice per run at 10,000 nodes, in the message and as a field).
        files = self.params.get("files")
        if not isinstance(files, dict):
            return super(_FileSetModule, self)._log_invocation()
        self.params["files"] = "(%d files)" % len(files)
        try:
            return super(_FileSetModule, self)._log_invocation()
        finally:
            self.params["files"] = files

    def exit_json(self, **kwargs):
        kwargs.setdefault("invocation", self._invocation())
        super(_FileSetModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.setdefault("invocation", self._invocation())
        super(_FileSetModule, self).fail_json(msg, **kwargs)


def main():
    module = _FileSetModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            files=dict(type="dict", required=True),
            mode=dict(type="str", default="0644"),
            owner=dict(type="str"),
            group=dict(type="str"),
            validate=dict(type="str"),
            validate_batch=dict(type="int", default=2000),
            prune=dict(type="list", elements="str", default=[]),
            manifest=dict(type="path"),
            marker=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = p["path"]
    if not os.path.isdir(root):
        module.fail_json(msg="file_set: path %s is not a directory" % root)
    try:
        mode = int(p["mode"], 8)
    except ValueError:
        module.fail_json(msg="file_set: mode %r is not an octal number" % p["mode"])
    uid, gid = _uid_gid(module, p["owner"], p["group"])
    if p["validate"] and "%s" not in p["validate"]:
        module.fail_json(msg="file_set: validate %r has no %%s" % p["validate"])

    bad = sorted(rel for rel in p["files"] if _bad_name(rel))
    if bad:
        module.fail_json(msg="file_set: file names must be relative, without '..': %s" % ", ".join(bad[:10]))

    todo, attrs_only, unchanged, diffs = [], [], 0, []
    for rel in sorted(p["files"]):
        data = to_bytes(p["files"][rel])
        full = os.path.join(root, rel)
        if not os.path.isdir(os.path.dirname(full)):
            module.fail_json(msg="file_set: the directory of %s does not exist" % full)
        content, attrs, old = _state(full, data, mode, uid, gid)
        if content:
            todo.append((rel, data))
            if module._diff:
                diffs.append({"before_header": full, "after_header": full,
                              "before": to_text(old or b""), "after": to_text(data)})
        elif attrs:
            attrs_only.append(rel)
        else:
            unchanged += 1

    removed, kept = [], []
    owned = _read_manifest(module, p["manifest"]) if p["manifest"] else None
    if p["prune"]:
        wanted = set(p["files"])
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if rel not in wanted and any(fnmatch.fnmatchcase(rel, pat) for pat in p["prune"]):
                    if _ours(os.path.join(root, rel), rel, p["manifest"], owned, p["marker"]):
                        removed.append(rel)
                    else:
                        kept.append(rel)
        removed.sort()
        kept.sort()
        if module._diff:
            for rel in removed:
                diffs.append({"before_header": os.path.join(root, rel), "after_header": "(removed)",
                              "before": "", "after": ""})

    if p["validate"] and todo:
        step = max(1, p["validate_batch"])
        for i in range(0, len(todo), step):
            err = _check(module, p["validate"], todo[i:i + step], root)
            if err:
                module.fail_json(msg="file_set: validation (%s) failed, nothing written: %s"
                                 % (p["validate"], err[:4000]))

    written = [rel for rel, _d in todo] + attrs_only
    changed = bool(written or removed)
    if not module.check_mode and p["manifest"] and (todo or removed or owned != set(p["files"])):
        # Before any file is written: a run stopped below leaves them all listed as ours.
        _write_manifest(module, p["manifest"], (owned or set()) | set(p["files"]))
    if not module.check_mode:
        for rel, data in todo:
            full = os.path.join(root, rel)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(full), prefix=".file_set-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.chmod(tmp, mode)
                if uid != -1 or gid != -1:
                    os.chown(tmp, uid, gid)
                os.replace(tmp, full)
            except OSError as exc:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                module.fail_json(msg="file_set: cannot write %s: %s" % (full, exc))
        for rel in attrs_only:
            full = os.path.join(root, rel)
            os.chmod(full, mode)
            if uid != -1 or gid != -1:
                os.chown(full, uid, gid)
        for rel in removed:
            os.unlink(os.path.join(root, rel))
        if p["manifest"] and (owned or set()) | set(p["files"]) != set(p["files"]):
            _write_manifest(module, p["manifest"], set(p["files"]))
    result = dict(changed=changed, written=sorted(written), removed=removed, unchanged=unchanged,
                  kept=kept)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
