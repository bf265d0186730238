# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Watch boots live on a boot server: the boot_status table, redrawn every few seconds.

An Ansible module returns once, so following a boot is this small command instead (it needs the
collection on the boot server, or a copy of plugins/module_utils on PYTHONPATH):

    python3 -m ansible_collections.fabric.boot.plugins.module_utils.boot_log.cli \\
        --model model.json --since -10min --follow 5

model.json is {"fabric_nodes": ..., "fabric_networks": ...}, the result of
fabric.boot.validate_inventory saved with `copy: content="{{ fabric_model | to_json }}"`.
--json prints the timeline for scripts instead of the table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import time

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import apache, sources, timeline

HTTP_LOGS = apache.ACCESS_LOGS


def _text(name, idents, since):
    if name == "journal":
        return subprocess.run(sources.journal_command(since, idents), capture_output=True, text=True,
                              check=True).stdout
    with open(name, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def snapshot(args, model, since):
    records = []
    for name, idents in ((args.dhcp_log, sources.DHCP_IDENTIFIERS), (args.tftp_log, ("in.tftpd",))):
        if name != "journal" and idents[0] == "in.tftpd" and name == args.dhcp_log:
            continue
        records.extend(sources.read_records(_text(name, idents, since), since, args.year, 0, program=idents[0]))
    records.sort(key=lambda r: r.time or 0)
    access = []
    for path in args.http_log or [p for p in HTTP_LOGS if os.path.exists(p)]:
        with open(path, "rb") as handle:
            access.extend(handle.read().decode("utf-8", "replace").splitlines())
    dhcp, files = sources.events_from(records, access, since)
    return timeline.build(dhcp, files, model.get("fabric_nodes", {}), model.get("fabric_networks", {}),
                          sizes=None, http_prefix=args.http_prefix)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="boot_log.cli", description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--model", required=True, help="JSON with fabric_nodes and fabric_networks")
    ap.add_argument("--since", default="-1h")
    ap.add_argument("--dhcp-log", default="journal")
    ap.add_argument("--tftp-log", default="journal")
    ap.add_argument("--http-log", action="append")
    ap.add_argument("--http-prefix", default="boot/")
    ap.add_argument("--year", type=int)
    ap.add_argument("--follow", type=float, metavar="SECONDS", help="redraw every SECONDS until interrupted")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with open(args.model) as handle:
        model = json.load(handle)
    since = sources.parse_since(args.since)
    while True:
        result = snapshot(args, model, since)
        if args.json:
            out = json.dumps({"nodes": result["nodes"], "unknown": result["unknown"]}, indent=1)
        else:
            out = timeline.table(result)
        if args.follow:
            sys.stdout.write("\x1b[H\x1b[2J%s  (every %gs, Ctrl-C ends)\n" % (time.strftime("%H:%M:%S"), args.follow))
        sys.stdout.write(out + "\n")
        sys.stdout.flush()
        if not args.follow:
            return 0
        try:
            time.sleep(args.follow)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
