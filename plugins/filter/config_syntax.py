# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render-time quoting for generated files (the rules live in module_utils/config_syntax.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.fabric.boot.plugins.module_utils.config_syntax import dhcpd_string


class FilterModule(object):
    def filters(self):
        return {"dhcpd_string": dhcpd_string}
