# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One entry point for every backend: render(intent, backend) -> the configuration file's text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import dnsmasq, isc, kea
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import BACKENDS, IntentError


def render(intent, backend, interfaces=None, lease_file=None):
    """interfaces and lease_file are written by Kea and dnsmasq (ISC takes them from its service files)."""
    if backend == "isc":
        return isc.render(intent)
    if backend == "kea":
        return kea.render(intent, interfaces, lease_file)
    if backend == "dnsmasq":
        return dnsmasq.render(intent, interfaces, lease_file)
    raise IntentError("backend %r is not one of %s" % (backend, ", ".join(BACKENDS)))
