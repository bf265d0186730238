# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP for network boot: one intent (intent.py), one renderer per daemon (isc, kea, dnsmasq)."""
