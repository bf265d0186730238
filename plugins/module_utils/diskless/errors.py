# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type the diskless code raises."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class DisklessError(Exception):
    """Bad input or a failed step; the message names the field and value."""

    def __init__(self, msg, field=None, value=None):
        super(DisklessError, self).__init__(msg)
        self.msg = msg
        self.field = field
        self.value = value
