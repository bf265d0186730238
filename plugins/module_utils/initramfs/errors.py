# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exception types the initramfs code raises: bad input, and scratch space running out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class InitrdError(Exception):
    """Bad input or a failed step; the message names the file, field and value."""

    def __init__(self, msg, field=None, value=None):
        super(InitrdError, self).__init__(msg)
        self.msg = msg
        self.field = field
        self.value = value


class ScratchFull(InitrdError):
    """The spool of a decompressed archive could not be written (ENOSPC, EDQUOT): not the
    archive's fault. The caller names the file system that filled up."""
