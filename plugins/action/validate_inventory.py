# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side validation of the whole fabric inventory (see plugins/modules/validate_inventory.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleUndefinedVariable
from ansible.plugins.action import ActionBase

from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import ModelError, nodes_text, validate_site

_ARGS = {
    "hosts": {"type": "list", "elements": "str"},
    "networks": {"type": "dict"},
    "boot_images": {"type": "dict"},
    "isos": {"type": "list", "elements": "raw"},
    "interfaces_var": {"type": "str", "default": "fabric_interfaces"},
    "boot_image_var": {"type": "str", "default": "fabric_boot_image"},
    "json_text": {"type": "bool", "default": False},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self.validate_argument_spec(argument_spec=_ARGS)[1]
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("groups", {}).get("all", [])
        networks = args["networks"] if args["networks"] is not None else task_vars.get("fabric_networks")
        images = args["boot_images"] if args["boot_images"] is not None else task_vars.get("fabric_boot_images")
        isos = args["isos"] if args["isos"] is not None else task_vars.get("http_server_isos")
        hostvars = task_vars["hostvars"]
        nodes = {}
        problems = []
        for host in hosts:
            try:
                # Reading one variable templates only that variable, which keeps this pass
                # linear and cheap at 10,000 hosts (see docs/performance.md).
                hv = hostvars[host]
                nodes[host] = {
                    "interfaces": hv.get(args["interfaces_var"]),
                    "boot_image": hv.get(args["boot_image_var"]),
                }
            except AnsibleUndefinedVariable as exc:
                problems.append("%s: %s could not be templated: %s" % (host, args["interfaces_var"], exc))
        model, more = validate_site(nodes, networks, images, isos)
        problems.extend(more)
        if problems:
            result["failed"] = True
            result["msg"] = str(ModelError(problems))
            result["problems"] = problems
            return result
        result.update({
            "changed": False,
            # As one string, the nodes cost next to nothing to register and hand to later plays.
            "fabric_nodes": nodes_text(model["nodes"]) if args["json_text"] else model["nodes"],
            "fabric_networks": model["networks"],
            "node_count": len(model["nodes"]),
            "interface_count": sum(len(v) for v in model["nodes"].values()),
            "msg": "%d nodes, %d interfaces, %d networks: valid" % (
                len(model["nodes"]), sum(len(v) for v in model["nodes"].values()), len(model["networks"])),
        })
        return result
