#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: applied_config
version_added: 0.3.0
author: fabric.boot contributors (@fabric-boot)
short_description: Know whether a daemon still runs an older configuration than the one on disk
description:
  - Ansible's C(notify) loses a restart when a run stops after a configuration file was replaced
    and before the handler ran (the play killed, the controller lost, a later task failed); on
    the next run the file is already identical, nothing notifies, and the daemon keeps serving
    the old configuration.
  - This module keeps, per daemon, a record of the configuration files it last (re)started or
    reloaded with (a sha256 of each file, the target of each link, or "absent").
  - With O(state=check) it compares the files on disk with that record and reports C(changed)
    (and RV(pending)) when they differ, so the task can notify the restart handler again; run it
    before the tasks that write the files.
  - With O(state=record), run by the handler after a successful restart or reload, it writes
    the record (atomically, a temporary file renamed over the old one).
  - A missing record counts as pending; the first run after this module was introduced restarts
    the daemon once, because nothing says which configuration it loaded.
  - A record that differs from the files (a run that stopped before its restart) is also reported
    as a warning naming the files, so the restart of the next run is explained.
  - Supports check mode (a check reads only; a record is not written).
options:
  paths:
    description: The files (or links) the daemon reads its configuration from.
    type: list
    elements: path
    required: true
  record:
    description: Where the record is kept (its directory is created, mode 0755).
    type: path
    required: true
  state:
    description: C(check) compares, C(record) writes the record.
    type: str
    choices: [check, record]
    default: check
  service:
    description: The daemon's name, for the messages.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Restart dhcpd if a previous run replaced its configuration but stopped before restarting it
  fabric.boot.applied_config:
    paths: [/etc/dhcp/dhcpd.conf, /etc/default/isc-dhcp-server]
    record: /var/lib/fabric-boot/dhcp_server/isc-dhcp-server.applied
    service: isc-dhcp-server
  notify: Restart dhcp server

# in the handlers, after the restart:
- name: Record the configuration dhcpd runs
  fabric.boot.applied_config:
    paths: [/etc/dhcp/dhcpd.conf, /etc/default/isc-dhcp-server]
    record: /var/lib/fabric-boot/dhcp_server/isc-dhcp-server.applied
    service: isc-dhcp-server
    state: record
  listen: Restart dhcp server
"""

RETURN = r"""
pending:
  description: The files differ from the record (state=check), or the record was written (state=record).
  returned: always
  type: bool
differs:
  description: The paths whose state differs from the record (all of them when there is no record).
  returned: always
  type: list
  elements: str
files:
  description: Path to its state now (C(sha256:<hex>), C(link:<target>), C(dir) or C(absent)).
  returned: always
  type: dict
msg:
  description: What was found, in a sentence.
  returned: always
  type: str
"""

import hashlib
import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def file_state(path):
    """The state of one path as the daemon would see it, in one short string."""
    try:
        if os.path.islink(path):
            return "link:%s" % os.readlink(path)
        if os.path.isdir(path):
            return "dir"
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return "sha256:%s" % digest.hexdigest()
    except FileNotFoundError:
        return "absent"


def read_record(path):
    """The recorded {path: state}, or None when there is no (readable) record."""
    try:
        with open(path) as f:
            data = json.load(f)
        files = data.get("files")
        return files if isinstance(files, dict) else None
    except (OSError, ValueError):
        return None


def write_record(path, service, files):
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".applied-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"service": service, "files": files}, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            record=dict(type="path", required=True),
            state=dict(type="str", choices=["check", "record"], default="check"),
            service=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    files = dict((path, file_state(path)) for path in p["paths"])
    old = read_record(p["record"])
    if old is None:
        differs = sorted(files)
    else:
        differs = sorted(path for path in files if old.get(path) != files[path])
    if p["state"] == "record":
        changed = old != files
        if changed and not module.check_mode:
            try:
                write_record(p["record"], p["service"], files)
            except OSError as exc:
                module.fail_json(msg="applied_config: cannot write the record %s of %s: %s"
                                 % (p["record"], p["service"], exc))
        msg = "%s runs the configuration of %s" % (p["service"], ", ".join(sorted(files)))
        module.exit_json(changed=changed, pending=changed, differs=differs, files=files, msg=msg)
    if not differs:
        msg = "%s already runs the configuration on disk" % p["service"]
    elif old is None:
        msg = ("%s: no record of the configuration it runs (%s): it is restarted once so that it "
               "surely runs the files on disk" % (p["service"], p["record"]))
    else:
        msg = ("%s runs an older %s than the one on disk (a previous run stopped after writing it and "
               "before restarting %s): restarting it now" % (p["service"], ", ".join(differs), p["service"]))
        # The case this module exists for: say it where the admin sees it, not only under -v.
        module.warn(msg)
    module.exit_json(changed=bool(differs), pending=bool(differs), differs=differs, files=files, msg=msg)


if __name__ == "__main__":
    main()
