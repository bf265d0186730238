#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: initrd
short_description: Add, replace and remove kernel modules and files in an initrd
version_added: 0.1.0
description:
  - Changes an initramfs image in one pass on the managed host, without unpacking it to disk.
  - Reads every archive of the file, so an uncompressed early microcode archive in front of the
    compressed main archive is kept byte-identical and the main archive is not missed.
  - Adds kernel modules by name with their dependency closure (from the source tree's
    C(modules.dep), or each module's own C(depends) field for a directory of loose C(.ko) files),
    replaces copies already in the image whatever their suffix (C(.ko), C(.ko.xz), C(.ko.zst)),
    compresses added modules the way the image does, and runs C(depmod -b) for the image kernel.
  - Paths are resolved through symbolic links in the image (dracut and initramfs-tools images
    have C(lib -> usr/lib)).
  - The output is deterministic (sorted entries, root:root, mtime 0) and written atomically.
    The output of O(mode=rewrite) is what dracut writes (early archives, then one compressed
    archive), so C(lsinitrd) and C(zstd -dc | cpio -it) list all of it. The last member of the
    last archive, C(usr/lib/fabric-boot/initrd-manifest.json), records the request, so a rerun
    with the same request reports C(changed=false) without writing.
  - O(mode=list) returns every archive of O(src) with its compression and members, the
    appended ones included, and changes nothing.
  - See docs/initrd.md in the collection for the file layout, the modes and the pitfalls.
author:
  - fabric.boot contributors (@fabric-boot)
options:
  src:
    description: The initrd to read (gzip, xz, lzma, zstd, bzip2, lz4 or uncompressed, possibly
      several concatenated archives).
    type: path
    required: true
  dest:
    description:
      - Where to write the result. Defaults to O(src) (changed in place).
      - The unpacked source is spooled, as an unlinked file, in the directory of O(dest) while the new
        image is written there beside the old one, so that file system needs room for the unpacked
        source plus the new image (for a zstd initrd, about four times its size). Without it the task
        fails naming O(dest), and the published image is unchanged.
    type: path
  mode:
    description:
      - V(rewrite) writes one new compressed archive after the early archives.
      - V(append) keeps the original bytes and appends one small compressed archive holding the
        added and replaced modules, the files and the regenerated C(modules.dep*); the kernel
        unpacks archives in order and later members win. A previous appended archive written by
        this module is replaced, not stacked.
      - In V(append) mode removed modules cannot disappear from the earlier archive; they are
        overwritten with empty files, left out of C(modules.dep*) and listed with C(blacklist) and
        C(install <module> exit 1) in C(etc/modprobe.d/fabric-boot-removed.conf), so an
        explicit C(modprobe) fails too (the command runs in the image's C(/bin/sh)).
      - Stock tools (C(lsinitrd), C(zcat | cpio -t)) read only the first compressed archive of
        an V(append) output; V(list) shows the appended one too.
      - V(list) reads O(src) and returns its archives and members in RV(archives) and the
        manifest in RV(manifest); O(dest) and the change options are ignored or must be empty.
    type: str
    choices: [rewrite, append, list]
    default: rewrite
  add_modules:
    description: Module names to add with their dependencies. V(-) and V(_) are equivalent.
    type: list
    elements: str
    default: []
  module_source:
    description: A kernel's C(/lib/modules/<kver>) tree, or a directory searched recursively for
      C(.ko), C(.ko.xz), C(.ko.zst) and C(.ko.gz) files (such as a vendor driver package's
      C(extra/) directory). Required with O(add_modules).
    type: path
  remove_modules:
    description: Module names to remove (every copy, whatever its suffix). Names absent from
      the image are ignored.
    type: list
    elements: str
    default: []
  files:
    description: Arbitrary files to put in the image (firmware, configs).
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Path inside the image.
        type: str
        required: true
      src:
        description: File on the managed host to copy. Mutually exclusive with O(files[].content).
        type: path
      content:
        description: Text content. Mutually exclusive with O(files[].src).
        type: str
      mode:
        description: Octal permission string.
        type: str
        default: '0644'
  modules_load:
    description:
      - Writes C(etc/modules-load.d/<name>.conf) listing O(modules_load[].modules).
      - On initramfs-tools images, which do not read C(modules-load.d), the names are also added
        to C(conf/modules).
      - On dracut images with dracut's shell init (no systemd), which do not read it either, a
        pre-udev hook C(lib/dracut/hooks/pre-udev/05-fabric-boot-modules-load.sh) loads them with
        C(modprobe -a -b).
      - Module names may hold only letters, digits, underscores, hyphens, dots, colons, plus signs and asterisks.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: File name without C(.conf).
        type: str
        required: true
      modules:
        description: Module names, one per line.
        type: list
        elements: str
        required: true
  modprobe_conf:
    description: Writes C(etc/modprobe.d/<name>.conf) with O(modprobe_conf[].lines).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: File name without C(.conf).
        type: str
        required: true
      lines:
        description: Lines of the file (C(options ...), C(blacklist ...), C(softdep ...)).
        type: list
        elements: str
        required: true
  compression:
    description: Compression of the written archive. V(auto) keeps the compression of the
      image's main archive. xz output uses C(--check=crc32), which the kernel needs.
    type: str
    choices: [auto, gzip, xz, lzma, zstd, bzip2, lz4, none]
    default: auto
  compression_level:
    description:
      - Compression level, meaning what C(-N) means to the codec's command-line tool
        (C(gzip -N), C(xz -N) (preset N with its own dictionary, 64 MiB at 9), C(zstd -N)
        (V(20)-V(22) with C(--ultra)), C(lz4 -N), C(bzip2 -N), C(xz --format=lzma -N)).
        xz always uses C(--check=crc32), which the kernel needs.
      - Without a level the output is what dracut writes for the codec (C(gzip -9),
        C(xz --lzma2=dict=1MiB) (preset 6, 1 MiB dictionary), C(lz4 -9), C(bzip2 -9)), and
        C(zstd -9) as initramfs-tools writes (dracut's C(-15) is much slower on a 2-core host).
      - The small archive of O(mode=append) defaults to C(gzip -6) instead of C(-9) (a third
        of the time, about 1% larger); other codecs use the defaults above.
    type: int
  force_vermagic:
    description: Add modules whose vermagic names another kernel release than the image's.
    type: bool
    default: false
  depmod:
    description: Regenerate C(modules.dep*) with C(depmod -b) when modules change.
    type: bool
    default: true
  backup:
    description: Keep a copy of O(dest) before replacing it.
    type: bool
    default: false
requirements:
  - depmod (kmod) on the managed host when modules change and O(depmod=true).
  - zstd or lz4 for images in those formats; pigz and xz are used for speed when present.
notes:
  - Same inputs give byte-identical output on the same host; pigz and gzip (or xz and the
    Python fallback) produce different bytes, so hosts with different tools may differ.
  - A rerun is recognised as a no-op from the manifest; the manifest also records the sha256 of
    the bytes in front of its archive and of the archive's content before it, so a file edited
    by hand is rebuilt. Reading it decompresses the last archive (the whole main archive in
    V(rewrite) mode, only the small appended one in V(append) mode to a separate O(dest)).
  - Files written by the first releases (a separate trailing manifest archive) are rebuilt
    once in the current layout.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads and plans everything (errors are reported) but compresses and writes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode).
    support: full
    details: Lists the image entries before and after (path, mode, size; sha256 for changed ones).
"""

EXAMPLES = r"""
- name: Put Omni-Path drivers from the vendor package into a RHEL installer initrd
  fabric.boot.initrd:
    src: /srv/iso/rhel95/images/pxeboot/initrd.img
    dest: /var/lib/tftpboot/images/rhel95/initrd.img
    module_source: /lib/modules/5.14.0-503.11.1.el9_5.x86_64/extra/opxs-kernel-updates
    add_modules: [hfi1, rdmavt]
    modules_load:
      - name: ib_ipoib
        modules: [ib_ipoib]

- name: Add InfiniBand modules from the kernel tree, fast path (append)
  fabric.boot.initrd:
    src: /var/lib/tftpboot/images/debian12/initrd.img
    mode: append
    module_source: /lib/modules/6.1.0-56-amd64
    add_modules: [ib_ipoib, mlx5_ib]
    modprobe_conf:
      - name: ipoib
        lines: ["options ib_ipoib send_queue_size=256"]

- name: Show every archive of an appended image and what it holds (like lsinitrd)
  fabric.boot.initrd:
    src: /var/lib/tftpboot/images/debian12/initrd.img
    mode: list
  register: initrd_contents

- name: Drop a module and recompress with zstd
  fabric.boot.initrd:
    src: /boot/initrd.img-6.1.0-56-amd64
    dest: /var/lib/tftpboot/images/debian12/initrd.img
    remove_modules: [mlx4_ib]
    compression: zstd
    compression_level: 3
    backup: true
"""

RETURN = r"""
kernel_version:
  description: Kernel release of the image (from its C(lib/modules) directory).
  returned: always
  type: str
  sample: 6.1.0-56-amd64
compression:
  description: Compression of the written archive.
  returned: always
  type: str
  sample: zstd
mode:
  description: The write mode used.
  returned: always
  type: str
  sample: rewrite
archives:
  description:
    - The archives of the result (of O(src) in check mode and with O(mode=list)), in file
      order. RV(archives[].role) is V(early) (uncompressed microcode or ACPI archive), V(main),
      V(appended) (written by O(mode=append)) or V(manifest) (a trailing manifest archive of
      files written by the first releases of this module).
    - With O(mode=list) each also has RV(archives[].members), every member in archive order
      (name, type, mode, size, symlink target).
  returned: always
  type: list
  elements: dict
  contains:
    offset:
      description: Byte offset of the archive in the file.
      type: int
    size:
      description: Bytes the archive takes in the file.
      type: int
    compression:
      description: Its compression (V(none) for an uncompressed newc archive).
      type: str
    role:
      description: V(early), V(main), V(appended) or V(manifest).
      type: str
    entries:
      description: Number of members (check mode and O(mode=list)).
      type: int
      returned: in check mode and with O(mode=list)
    members:
      description: Every member in archive order, with C(name), C(type) (V(file),
        V(directory), V(symlink), V(char), V(block), V(fifo), V(socket)), C(mode) (octal
        string), C(size) and, for symbolic links, C(target).
      type: list
      elements: dict
      returned: with O(mode=list)
  sample: [{offset: 0, size: 7680, compression: none, role: early},
           {offset: 7680, size: 31300000, compression: zstd, role: main}]
manifest:
  description: The manifest found at the end of O(src) (O(mode=list) only), or null.
  returned: when O(mode=list)
  type: dict
modules_added:
  description: Every module placed (explicit ones and the dependency closure).
  returned: always
  type: list
  elements: dict
  sample: [{name: hfi1, path: usr/lib/modules/6.1.0-56-amd64/kernel/drivers/infiniband/hw/hfi1/hfi1.ko,
            explicit: true, required_by: null, source: /lib/modules/6.1.0-56-amd64/kernel/drivers/infiniband/hw/hfi1/hfi1.ko,
            vermagic: 6.1.0-56-amd64 SMP preempt mod_unload modversions}]
modules_replaced:
  description: Added modules that replaced a different copy in the image.
  returned: always
  type: list
  elements: dict
  sample: [{name: hfi1, path: usr/lib/modules/5.14.0/kernel/drivers/infiniband/hw/hfi1/hfi1.ko.xz,
            replaced: [usr/lib/modules/5.14.0/kernel/drivers/infiniband/hw/hfi1/hfi1.ko.xz]}]
modules_removed:
  description: Removed modules and the paths they had.
  returned: always
  type: list
  elements: dict
  sample: [{name: mlx4_ib, paths: [usr/lib/modules/6.1.0-56-amd64/kernel/drivers/infiniband/hw/mlx4/mlx4_ib.ko]}]
files_added:
  description: Image paths written from O(files), O(modules_load) and O(modprobe_conf).
  returned: always
  type: list
  elements: str
  sample: [etc/modules-load.d/ib_ipoib.conf]
size_before:
  description: Size of O(dest) before the change, null when it did not exist.
  returned: always
  type: int
size_after:
  description: Size of the result (null in check mode).
  returned: always
  type: int
sha256:
  description: sha256 of the result (null in check mode).
  returned: always
  type: str
backup_file:
  description: The backup copy of O(dest), when O(backup=true) and the file changed.
  returned: always
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.surgery import run

ARGUMENT_SPEC = dict(
    src=dict(type="path", required=True),
    dest=dict(type="path"),
    mode=dict(type="str", choices=["rewrite", "append", "list"], default="rewrite"),
    add_modules=dict(type="list", elements="str", default=[]),
    module_source=dict(type="path"),
    remove_modules=dict(type="list", elements="str", default=[]),
    files=dict(type="list", elements="dict", default=[], options=dict(
        dest=dict(type="str", required=True),
        src=dict(type="path"),
        content=dict(type="str"),
        mode=dict(type="str", default="0644"),
    ), mutually_exclusive=[["src", "content"]], required_one_of=[["src", "content"]]),
    modules_load=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        modules=dict(type="list", elements="str", required=True),
    )),
    modprobe_conf=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        lines=dict(type="list", elements="str", required=True),
    )),
    compression=dict(type="str", default="auto",
                     choices=["auto", "gzip", "xz", "lzma", "zstd", "bzip2", "lz4", "none"]),
    compression_level=dict(type="int"),
    force_vermagic=dict(type="bool", default=False),
    depmod=dict(type="bool", default=True),
    backup=dict(type="bool", default=False),
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result = run(module.params, check_mode=module.check_mode, want_diff=module._diff,
                     backup_func=module.backup_local,
                     commit_func=module.atomic_move)
    except InitrdError as exc:
        extra = {}
        if exc.field is not None:
            extra = {"field": exc.field, "value": exc.value}
        module.fail_json(msg=exc.msg, **extra)
    except (IOError, OSError) as exc:
        module.fail_json(msg="initrd surgery failed: %s" % exc, exception=traceback.format_exc())
    warnings = result.pop("warnings", [])
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
