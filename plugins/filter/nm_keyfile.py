# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn one host's fabric interfaces into NetworkManager keyfile profiles.

Documentation for each filter lives beside this file in <filter name>.yml; the
logic is in module_utils/nm_keyfile.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import IdentityError
from ansible_collections.fabric.boot.plugins.module_utils.nm_keyfile import (
    NmKeyfileError,
    build_profiles,
    driver_modules,
    render,
)


def nm_profiles(interfaces, networks, host, options=None):
    try:
        return build_profiles(host, interfaces, networks, options)
    except (NmKeyfileError, IdentityError) as exc:
        raise AnsibleFilterError("fabric.boot.nm_profiles: %s" % exc)


def nm_keyfile(settings):
    if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
        raise AnsibleFilterError("fabric.boot.nm_keyfile: expects {section: {key: value}}, got %r" % (settings,))
    try:
        return render(settings)
    except NmKeyfileError as exc:
        raise AnsibleFilterError("fabric.boot.nm_keyfile: %s" % exc)


def nm_driver_modules(driver_sets, catalogue):
    try:
        return driver_modules(driver_sets, catalogue)
    except NmKeyfileError as exc:
        raise AnsibleFilterError("fabric.boot.nm_driver_modules: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "nm_profiles": nm_profiles,
            "nm_keyfile": nm_keyfile,
            "nm_driver_modules": nm_driver_modules,
        }
