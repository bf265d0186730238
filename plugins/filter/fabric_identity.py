# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn one port GUID into every identity a boot client presents.

Documentation for each filter lives beside this file in <filter name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    DEFAULT_IPOIB_PREFIX,
    IdentityError,
    PortGuid,
)


def _guid(value, filter_name):
    try:
        return PortGuid.parse(value)
    except IdentityError as exc:
        raise AnsibleFilterError("fabric.boot.%s: %s" % (filter_name, exc))


def ib_guid(value):
    return _guid(value, "ib_guid").canonical


def ib_client_id(value, form="htype32"):
    guid = _guid(value, "ib_client_id")
    try:
        return guid.client_id(form)
    except IdentityError as exc:
        raise AnsibleFilterError("fabric.boot.ib_client_id: %s" % exc)


def ib_client_ids(value):
    return _guid(value, "ib_client_ids").client_ids()


def ib_mac48(value):
    return _guid(value, "ib_mac48").mac48


def ipoib_hwaddr(value, prefix=DEFAULT_IPOIB_PREFIX):
    guid = _guid(value, "ipoib_hwaddr")
    try:
        return guid.ipoib_hwaddr(prefix)
    except IdentityError as exc:
        raise AnsibleFilterError("fabric.boot.ipoib_hwaddr: %s" % exc)


def ib_link_local(value):
    return _guid(value, "ib_link_local").link_local


class FilterModule(object):
    def filters(self):
        return {
            "ib_guid": ib_guid,
            "ib_client_id": ib_client_id,
            "ib_client_ids": ib_client_ids,
            "ib_mac48": ib_mac48,
            "ipoib_hwaddr": ipoib_hwaddr,
            "ib_link_local": ib_link_local,
        }
