# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory model into boot menus (GRUB and pxelinux).

The logic lives in module_utils/boot_menu.py; documentation for each filter lives beside
this file in <filter name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.boot_menu import (
    BootMenuError,
    compose_kernel_args,
    default_menu,
    node_menus,
)


def _plain(value):
    """Ansible hands over lazy/tagged containers; the module_utils want plain dict/list/str."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def boot_menus(nodes, networks, images, host_images=None, options=None):
    try:
        return node_menus(_plain(nodes), _plain(networks), _plain(images),
                          _plain(host_images), _plain(options))
    except BootMenuError as exc:
        raise AnsibleFilterError("fabric.boot.boot_menus: %s" % exc)


def boot_default_menu(networks, images, options=None):
    try:
        return default_menu(_plain(networks), _plain(images), _plain(options))
    except BootMenuError as exc:
        raise AnsibleFilterError("fabric.boot.boot_default_menu: %s" % exc)


def boot_kernel_args(image, interface=None, server=None, options=None):
    try:
        return compose_kernel_args(_plain(image), _plain(interface), server, _plain(options))
    except BootMenuError as exc:
        raise AnsibleFilterError("fabric.boot.boot_kernel_args: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "boot_menus": boot_menus,
            "boot_default_menu": boot_default_menu,
            "boot_kernel_args": boot_kernel_args,
        }
