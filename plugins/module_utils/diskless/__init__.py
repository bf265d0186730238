# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diskless images: the digest of an image root, its kernel, the squashfs command line and the
generation directories images are published in (stdlib only: runs on the boot server)."""
