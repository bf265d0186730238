# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory model into boot menus (GRUB and pxelinux).

The logic lives in module_utils/boot_menu.py; documentation for each filter lives beside
this file in <filter name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import jinja2

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.boot_menu import (
    BootMenuError,
    compose_kernel_args,
    default_menu,
    node_menus,
)


def _plain(value):
    """Ansible hands over lazy/tagged containers; the module_utils want plain dict/list/str."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
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


_ENVS = {}


def _templates(templates_dir):
    """The role's own templates, compiled once per run with the template module's settings
    (trim_blocks; a trailing newline kept), so rendering 20,000 menus costs one compile."""
    env = _ENVS.get(templates_dir)
    if env is None:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir), trim_blocks=True,
                                 keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                 autoescape=False)
        _ENVS[templates_dir] = env
    return env


def boot_menu_files(menus, default_menu_value, templates_dir, kind, context):
    """{path under the TFTP root: content} of every menu of one kind (grub or pxelinux)."""
    menus = _plain(menus) or []
    menu_default = _plain(default_menu_value)
    ctx = _plain(context) or {}
    if kind not in ("grub", "pxelinux"):
        raise AnsibleFilterError("fabric.boot.boot_menu_files: kind must be grub or pxelinux, got %r" % (kind,))
    env = _templates(str(templates_dir))
    base = {
        "ansible_managed": ctx.get("managed", "Ansible managed"),
        "boot_loader_timeout": ctx.get("timeout", 5),
        "boot_loader_grub_linux_command": ctx.get("linux_command", "linux"),
        "boot_loader_grub_initrd_command": ctx.get("initrd_command", "initrd"),
    }
    files = {}
    try:
        if kind == "grub":
            menu_t = env.get_template("grub.cfg.j2")
            for menu in menus:
                text = menu_t.render(base, __boot_loader_menu=menu)
                for name in menu["grub_files"]:
                    files["uefi/" + name] = text
            files["uefi/grub.cfg"] = menu_t.render(base, __boot_loader_menu=menu_default,
                                                   __boot_loader_dispatch=menus)
            dispatch = env.get_template("grub-dispatch.cfg.j2").render(base, __boot_loader_menus=menus)
            for subdir in ctx.get("dispatch_dirs", []):
                files[subdir + "/grub.cfg"] = dispatch
        else:
            menu_t = env.get_template("pxelinux.cfg.j2")
            for menu in menus:
                text = menu_t.render(base, __boot_loader_menu=menu)
                for name in menu["pxelinux_files"]:
                    files["pxelinux/pxelinux.cfg/" + name] = text
            files["pxelinux/pxelinux.cfg/default"] = menu_t.render(base, __boot_loader_menu=menu_default)
    except jinja2.TemplateError as exc:
        raise AnsibleFilterError("fabric.boot.boot_menu_files: %s template in %s: %s"
                                 % (kind, os.path.basename(str(templates_dir)), exc))
    return files


class FilterModule(object):
    def filters(self):
        return {
            "boot_menus": boot_menus,
            "boot_default_menu": boot_default_menu,
            "boot_kernel_args": boot_kernel_args,
            "boot_menu_files": boot_menu_files,
        }
