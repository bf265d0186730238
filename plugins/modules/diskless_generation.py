#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: diskless_generation
version_added: 0.3.0
author: fabric.boot contributors (@fabric-boot)
short_description: Plan, build, publish and prune the generations of a diskless image
description:
  - A diskless image is published as a generation directory C(<images_dir>/<name>@<n>/) holding
    C(vmlinuz), C(initrd.img), C(rootfs.squashfs) and C(manifest.json). A generation is built in
    C(<images_dir>/.<name>@<n>.partial/) and renamed to its name only when complete, so a node
    never finds half of one. The role C(fabric.boot.diskless_image) drives the steps.
  - O(state=plan) reads the image root (digest of paths, types, modes, owners, extended
    attributes and contents; not timestamps) and the published manifests, and says which
    generation to serve and whether it must be built. It changes nothing (also in check mode).
  - O(state=squashfs) packs the root with mksquashfs into the partial directory, reproducibly
    (fixed timestamps, contents of /proc /sys /dev /run /tmp left out).
  - O(state=commit) writes the manifest and renames the partial directory to the generation.
  - O(state=prune) removes generations beyond the O(keep) newest (never O(generation)) and
    unfinished builds.
options:
  state:
    description: The step to run.
    type: str
    choices: [plan, squashfs, commit, prune]
    required: true
  name:
    description: Image name (C(fabric_boot_images) key).
    type: str
    required: true
  images_dir:
    description: Directory the generation directories live in (C(<TFTP root>/images)).
    type: path
    required: true
  root:
    description: Image root on this host (O(state=plan) and O(state=squashfs)).
    type: path
  kernel_version:
    description: Kernel of the image; empty = the only one under C(<root>/lib/modules) (O(state=plan)).
    type: str
  inputs:
    description:
      - Build settings that also decide whether a new generation is needed (initrd recipe,
        squashfs options, tool versions). O(state=plan) adds the tree digest and kernel version;
        O(state=commit) stores what O(state=plan) returned as RV(inputs).
    type: dict
    default: {}
  pin:
    description: Serve this generation as it is (rollback); O(state=plan) fails when it is not published.
    type: int
  generation:
    description: Generation to build (squashfs, commit) or to keep whatever O(keep) says (prune).
    type: int
  keep:
    description: Generations kept by O(state=prune), at least 2.
    type: int
    default: 3
  compression:
    description: mksquashfs compressor.
    type: str
    default: xz
    choices: [gzip, xz, zstd, lz4, lzo]
  compression_level:
    description: mksquashfs C(-Xcompression-level) (gzip 1-9, zstd 1-22); unset = the tool's default (gzip 9, zstd 15).
    type: int
  block_size:
    description: mksquashfs block size (C(128K), C(1M)).
    type: str
    default: 1M
  timestamp:
    description: Time (seconds since the epoch) of every file and of the file system.
    type: int
    default: 0
  mode:
    description: Mode of the published files (octal string).
    type: str
    default: "0644"
notes:
  - Check mode runs O(state=plan) as usual; the other states report what they would do.
seealso:
  - module: fabric.boot.initrd
"""

EXAMPLES = r"""
- name: Which generation of the image to serve, and does it need a build
  fabric.boot.diskless_generation:
    state: plan
    name: compute
    root: /srv/diskless/compute
    images_dir: /var/lib/tftpboot/images
    inputs: {initrd: {dracut_modules: [dmsquash-live, livenet]}}
  register: plan

- name: Pack the root
  fabric.boot.diskless_generation:
    state: squashfs
    name: compute
    root: /srv/diskless/compute
    images_dir: /var/lib/tftpboot/images
    generation: "{{ plan.generation }}"
  when: plan.build
"""

RETURN = r"""
generation:
  description: Generation to serve (plan), built (squashfs, commit) or kept (prune).
  returned: always
  type: int
  sample: 2
build:
  description: Whether that generation must be built (plan).
  returned: state=plan
  type: bool
reason:
  description: Why it is built or reused (plan).
  returned: state=plan
  type: str
  sample: inputs differ from generation 1
latest:
  description: Newest published generation before this run, or null.
  returned: state=plan
  type: int
initrd_from:
  description: A published generation whose initrd was built from the same inputs (reused, not rebuilt), or null.
  returned: state=plan
  type: int
generations:
  description: Published generations, oldest first.
  returned: state=plan
  type: list
  elements: int
inputs:
  description: The inputs with the tree digest and kernel version, as stored in the manifest (plan).
  returned: state=plan
  type: dict
kernel_version:
  description: Kernel release of the image (plan).
  returned: state=plan
  type: str
kernel:
  description: Path of the image's kernel (plan).
  returned: state=plan
  type: str
module_dir:
  description: The image's C(lib/modules/<kernel_version>) (plan).
  returned: state=plan
  type: str
tree:
  description: Digest, entry count and bytes of the image root (plan).
  returned: state=plan
  type: dict
path:
  description: Final directory of the generation.
  returned: always
  type: str
partial:
  description: Directory the generation is built in.
  returned: always
  type: str
cmd:
  description: The mksquashfs command (squashfs).
  returned: state=squashfs
  type: list
  elements: str
removed:
  description: Directories removed (prune).
  returned: state=prune
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fabric.boot.plugins.module_utils.diskless import generations, squashfs, tree
from ansible_collections.fabric.boot.plugins.module_utils.diskless.errors import DisklessError


def _plan(module, p):
    kver, vmlinuz, moddir = tree.kernel(p["root"], p["kernel_version"])
    mods, fw = "lib/modules/" + kver, "lib/firmware"
    info = tree.digest(p["root"], (mods, fw, "boot"))
    # what the initrd is made of: the role's recipe, the image's kernel, modules and firmware
    initrd = dict(p["inputs"].get("initrd") or {}, kernel_version=kver, modules=info["parts"][mods],
                  firmware=info["parts"][fw], kernel=info["parts"]["boot"])
    inputs = dict(p["inputs"], tree=info["digest"], kernel_version=kver, initrd=initrd)
    out = generations.plan(p["images_dir"], p["name"], inputs, p["pin"])
    return dict(out, changed=False, inputs=generations.canonical(inputs), kernel_version=kver, kernel=vmlinuz,
                module_dir=moddir, tree=dict((k, info[k]) for k in ("digest", "entries", "bytes")))


def _squashfs(module, p):
    if p["generation"] is None or not p["root"]:
        raise DisklessError("state=squashfs needs root and generation", "generation", p["generation"])
    partial = generations.partial_dir(p["images_dir"], p["name"], p["generation"])
    dest = os.path.join(partial, "rootfs.squashfs")
    root = os.path.realpath(p["root"])
    if os.path.realpath(p["images_dir"]).startswith(root.rstrip("/") + "/"):
        raise DisklessError("images_dir %s lies inside the image root %s" % (p["images_dir"], root),
                            "images_dir", p["images_dir"])
    cmd = squashfs.argv(root, dest, tree.excluded(root), p["compression"], p["block_size"], p["timestamp"],
                        level=p["compression_level"])
    if module.check_mode:
        return {"changed": True, "cmd": cmd}
    if not os.path.isdir(partial):
        os.makedirs(partial, 0o755)
    if os.path.exists(dest):
        os.unlink(dest)
    # squashfs-tools 4.5 refuses SOURCE_DATE_EPOCH next to -mkfs-time/-all-time
    os.environ.pop("SOURCE_DATE_EPOCH", None)
    rc, out, err = module.run_command(cmd)
    if rc != 0:
        raise DisklessError("mksquashfs failed (rc=%d): %s" % (rc, (err or out).strip()[-2000:]), "root", root)
    return {"changed": True, "cmd": cmd, "size": os.path.getsize(dest)}


def run(module):
    p = module.params
    images_dir = p["images_dir"]
    result = {"generation": p["generation"]}
    if p["generation"] is not None:
        result["path"] = generations.gen_dir(images_dir, p["name"], p["generation"])
        result["partial"] = generations.partial_dir(images_dir, p["name"], p["generation"])
    if p["state"] == "plan":
        out = _plan(module, p)
        out["path"] = generations.gen_dir(images_dir, p["name"], out["generation"])
        out["partial"] = generations.partial_dir(images_dir, p["name"], out["generation"])
        return out
    if p["state"] == "squashfs":
        result.update(_squashfs(module, p))
        return result
    if p["state"] == "commit":
        if p["generation"] is None:
            raise DisklessError("state=commit needs generation", "generation", None)
        if not module.check_mode:
            generations.commit(images_dir, p["name"], p["generation"], p["inputs"], int(p["mode"], 8))
        result["changed"] = True
        return result
    removed = generations.prune(images_dir, p["name"], p["keep"], p["generation"], module.check_mode)
    result.update(changed=bool(removed), removed=removed)
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "required": True, "choices": ["plan", "squashfs", "commit", "prune"]},
            "name": {"type": "str", "required": True},
            "images_dir": {"type": "path", "required": True},
            "root": {"type": "path"},
            "kernel_version": {"type": "str"},
            "inputs": {"type": "dict", "default": {}},
            "pin": {"type": "int"},
            "generation": {"type": "int"},
            "keep": {"type": "int", "default": 3},
            "compression": {"type": "str", "default": "xz", "choices": list(squashfs.COMPRESSORS)},
            "compression_level": {"type": "int"},
            "block_size": {"type": "str", "default": "1M"},
            "timestamp": {"type": "int", "default": 0},
            "mode": {"type": "str", "default": "0644"},
        },
        required_if=[("state", "plan", ["root"]), ("state", "squashfs", ["root", "generation"]),
                     ("state", "commit", ["generation"])],
        supports_check_mode=True,
    )
    try:
        module.exit_json(**run(module))
    except DisklessError as exc:
        prefix = "image %s: " % module.params["name"]
        msg = exc.msg if exc.msg.startswith(prefix) else prefix + exc.msg
        module.fail_json(msg="%s: %s" % (module.params["state"], msg), field=exc.field, value=exc.value)
    except OSError as exc:
        module.fail_json(msg="%s: image %s: %s" % (module.params["state"], module.params["name"], exc))


if __name__ == "__main__":
    main()
