# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DHCP intent and its rendering for one daemon: thin wrappers over module_utils/dhcp."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import backend as dhcp_backend_mod
from ansible_collections.fabric.boot.plugins.module_utils.dhcp import intent as dhcp_intent
from ansible_collections.fabric.boot.plugins.module_utils.dhcp import render as dhcp_render
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import json_dict


def _build(reservations, networks, settings, what):
    try:
        reservations = json_dict(reservations, "the reservations", "fabric.boot.dhcp_reservations")
    except ValueError as exc:
        raise AnsibleFilterError("fabric.boot.%s: %s" % (what, exc))
    try:
        return dhcp_intent.build(networks, reservations, settings)
    except (dhcp_intent.IntentError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("fabric.boot.%s: %s" % (what, exc))


def dhcp_intent_filter(reservations, networks, settings=None):
    return _build(reservations, networks, settings, "dhcp_intent")


def _intent(value):
    """The intent as a dict, or as the JSON text dhcp_plan hands on (a string is not re-templated)."""
    if isinstance(value, str):
        return json.loads(value)
    return value


def dhcp_plan(reservations, networks, settings=None, requested="auto", os_family=None, major_version=None):
    """The intent and the daemon chosen for it, in one call: {backend, reason, intent (JSON text)}.

    ansible-core 2.19 templates a fact again, element by element, at every use; the intent of
    10,000 nodes as a fact cost about 2 s per use (docs/performance.md), the same as a string
    next to nothing. dhcp_config and dhcp_backend take the text as they take the dict."""
    intent = _build(reservations, networks, settings, "dhcp_plan")
    choice = dhcp_backend(intent, requested, os_family, major_version)
    choice["intent"] = json.dumps(intent, sort_keys=True, separators=(",", ":"))
    return choice


def dhcp_config(intent, backend="isc", interfaces=None, lease_file=None):
    try:
        return dhcp_render.render(_intent(intent), backend, interfaces or None, lease_file or None)
    except (dhcp_intent.IntentError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_config(%s): %s" % (backend, exc))


def dhcp_backend(intent, requested="auto", os_family=None, major_version=None):
    try:
        backend, reason = dhcp_backend_mod.choose(requested, os_family, major_version, _intent(intent))
    except (dhcp_intent.IntentError, KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("fabric.boot.dhcp_backend: %s" % exc)
    return {"backend": backend, "reason": reason}


class FilterModule(object):
    def filters(self):
        return {"dhcp_intent": dhcp_intent_filter, "dhcp_config": dhcp_config, "dhcp_backend": dhcp_backend,
                "dhcp_plan": dhcp_plan}
