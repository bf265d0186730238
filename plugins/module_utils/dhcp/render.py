# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One entry point for every backend: render(intent, backend) -> the configuration file's text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import isc
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import BACKENDS, IntentError


def render(intent, backend):
    if backend == "isc":
        return isc.render(intent)
    if backend == "kea":
        from ansible_collections.fabric.boot.plugins.module_utils.dhcp import kea
        return kea.render(intent)
    if backend == "dnsmasq":
        from ansible_collections.fabric.boot.plugins.module_utils.dhcp import dnsmasq
        return dnsmasq.render(intent)
    raise IntentError("backend %r is not one of %s" % (backend, ", ".join(BACKENDS)))
