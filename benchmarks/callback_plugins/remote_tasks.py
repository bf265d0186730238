# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper (not part of the collection): counts, per host, the tasks that ran a module there.

converge_scale.py's floor is "as many trivial remote tasks as the real run ran": a set_fact,
assert, debug, include or meta task costs the controller a few milliseconds and runs nothing on
the host, so counting it as a remote task would put the floor above the run it explains.
Written to the JSON file named by FABRIC_BENCH_REMOTE_TASKS at the end of the playbook.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: remote_tasks
type: aggregate
short_description: Benchmark helper, counts the tasks that ran a module on each host
description:
  - Writes {host, [action of each task that ran a module there]} to the file in E(FABRIC_BENCH_REMOTE_TASKS).
"""

# Actions that run on the controller only (no module on the host).
CONTROLLER_ONLY = frozenset(
    "ansible.builtin." + a for a in ("set_fact", "assert", "debug", "fail", "include_tasks", "import_tasks",
                                     "include_role", "import_role", "include_vars", "meta", "add_host",
                                     "group_by", "set_stats", "validate_argument_spec")
) | frozenset(("fabric.boot.validate_inventory",))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "remote_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._actions = {}

    def _count(self, result):
        action = result._task.resolved_action or result._task.action
        if action not in CONTROLLER_ONLY and not result._task.delegate_to:
            self._actions.setdefault(result._host.get_name(), []).append(action)

    def v2_runner_on_ok(self, result):
        # a loop ran the module once per item (counted there); this is their summary
        if "results" not in result._result:
            self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_item_on_ok(self, result):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("FABRIC_BENCH_REMOTE_TASKS")
        if path:
            with open(path, "w") as f:
                json.dump(self._actions, f)
