# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the inventory model into boot menus (GRUB and pxelinux).

The logic lives in module_utils/boot_menu.py; documentation for each filter lives beside
this file in <filter name>.yml.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import jinja2

from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.module_utils.boot_menu import (
    BootMenuError,
    compose_kernel_args,
    default_menu,
    node_menus,
)
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import nodes_value


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


def _nodes(value, filter_name):
    """The nodes as a plain dict, from validate_inventory's dict or its JSON text (json_text)."""
    try:
        return nodes_value(_plain(value))
    except ValueError as exc:
        raise AnsibleFilterError("fabric.boot.%s: %s" % (filter_name, exc))


def boot_menus(nodes, networks, images, host_images=None, options=None):
    nodes = _nodes(nodes, "boot_menus")
    try:
        return node_menus(nodes, _plain(networks), _plain(images),
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


class _MenuEnvironment(jinja2.Environment):
    """Jinja's attribute lookup (menu.entries) tries a Python attribute first and the dict key
    only after that failed, an AttributeError raised and caught per lookup: about 1.3 million
    lookups for 10,000 nodes' menus. The menus are plain dicts built by boot_menu.py, so the
    key is looked up first; anything else, or a missing key, goes the usual way."""

    def getattr(self, obj, attribute):
        if isinstance(obj, dict):
            try:
                return obj[attribute]
            except KeyError:
                pass
        return jinja2.Environment.getattr(self, obj, attribute)


def _templates(templates_dir):
    """The role's own templates, compiled once per run with the template module's settings
    (trim_blocks; a trailing newline kept), so rendering 20,000 menus costs one compile."""
    env = _ENVS.get(templates_dir)
    if env is None:
        env = _MenuEnvironment(loader=jinja2.FileSystemLoader(templates_dir), trim_blocks=True,
                               keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                               autoescape=False)
        _ENVS[templates_dir] = env
    return env


def _menu_files(menus, menu_default, env, kind, ctx):
    """{path under the TFTP root: content} of every menu of one kind, from plain data."""
    base = {
        "ansible_managed": ctx.get("managed", "Ansible managed"),
        "boot_loader_timeout": ctx.get("timeout", 5),
        "boot_loader_grub_linux_command": ctx.get("linux_command", "linux"),
        "boot_loader_grub_initrd_command": ctx.get("initrd_command", "initrd"),
    }
    files = {}
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
    return files


def boot_menu_files(menus, default_menu_value, templates_dir, kind, context):
    """{path under the TFTP root: content} of every menu of one kind (grub or pxelinux)."""
    if kind not in ("grub", "pxelinux"):
        raise AnsibleFilterError("fabric.boot.boot_menu_files: kind must be grub or pxelinux, got %r" % (kind,))
    try:
        return _menu_files(_plain(menus) or [], _plain(default_menu_value), _templates(str(templates_dir)),
                           kind, _plain(context) or {})
    except jinja2.TemplateError as exc:
        raise AnsibleFilterError("fabric.boot.boot_menu_files: %s template in %s: %s"
                                 % (kind, os.path.basename(str(templates_dir)), exc))


def _secure_boot_in_use(menus, networks, options):
    """uefi-sb/ is served when the server default, any network or any port asks for Secure Boot."""
    nets = networks.values() if isinstance(networks, dict) else (networks or [])
    return (bool(options.get("secure_boot")) or any(m.get("secure_boot") for m in menus)
            or any(isinstance(n, dict) and n.get("secure_boot") for n in nets))


def boot_menu_set(nodes, networks, images, templates_dir, options=None, render=None):
    """Everything boot_loader's menu tasks need, from one call on plain data.

    Composing (boot_menus) and rendering (boot_menu_files) in separate tasks hands the
    10,000-entry menu list from task to task as a fact, and ansible-core templates every element
    of it again at each use (about 2 s per use at 10,000 nodes, docs/performance.md); here it
    never leaves Python. The result holds only what the tasks read: the files per boot loader
    (as JSON text), and two small facts for the Secure Boot tasks.
    """
    opts = _plain(options) or {}
    ctx = _plain(render) or {}
    nets = _plain(networks)
    nodes = _nodes(nodes, "boot_menu_set")
    try:
        menus = node_menus(nodes, nets, _plain(images), None, opts)
        menu_default = default_menu(nets, _plain(images), opts)
    except BootMenuError as exc:
        raise AnsibleFilterError("fabric.boot.boot_menu_set: %s" % exc)
    uefi = bool(ctx.get("uefi", True))
    sb_in_use = uefi and _secure_boot_in_use(menus, nets, opts)
    env = _templates(str(templates_dir))
    try:
        grub = _menu_files(menus, menu_default, env, "grub",
                           dict(ctx, dispatch_dirs=["grub"] + (["uefi-sb"] if sb_in_use else []))) if uefi else {}
        pxelinux = _menu_files(menus, menu_default, env, "pxelinux", ctx) if ctx.get("bios", True) else {}
    except jinja2.TemplateError as exc:
        raise AnsibleFilterError("fabric.boot.boot_menu_set: template in %s: %s"
                                 % (os.path.basename(str(templates_dir)), exc))
    # The files as JSON text: ansible-core hands a string on as it is, where a fact of 21,000
    # paths would be templated again at its use; file_set's dict option reads the text.
    return {
        "grub": json.dumps(grub, separators=(",", ":")),
        "pxelinux": json.dumps(pxelinux, separators=(",", ":")),
        "secure_boot_in_use": sb_in_use,
        "secure_boot_http": sorted(m["name"] for m in menus if m.get("secure_boot") and m.get("fetch") == "http"),
    }


class FilterModule(object):
    def filters(self):
        return {
            "boot_menus": boot_menus,
            "boot_default_menu": boot_default_menu,
            "boot_kernel_args": boot_kernel_args,
            "boot_menu_files": boot_menu_files,
            "boot_menu_set": boot_menu_set,
        }
