# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One rule per generated-file format: inventory values are data, never syntax.

Every string from the inventory that lands in a generated file passes one of these rules.
The check_* functions return None for a usable value, else the reason (a sentence fragment
the caller prefixes with host, field and value); the model (fabric_inventory.validate_site)
runs them before any host is touched. The quoting functions are used again when the file
is rendered, so a value that bypassed the model is still written as data.

Stdlib only: imported by the action plugin, filters and modules on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# C0 controls, DEL, and the characters Python's splitlines() (and so any line-based parser
# written in it, like the repo's pxelinux parser) treats as line breaks.
_CONTROL = re.compile(u"[\x00-\x1f\x7f\x85\u2028\u2029]")
# RFC 1123 labels. Every pattern ends in \Z, not $: $ also matches before a final newline.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
# A name that becomes a file or directory name, a menu label or an Apache path segment:
# no leading dot, so never ".", ".." or a hidden file.
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\Z")
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._+,=@~-]+\Z")
# The kernel's parser (lib/cmdline.c next_arg) groups words with double quotes and GRUB's
# linux command re-escapes backslashes when it rebuilds the command line, so " and \ would
# mean different things through GRUB and pxelinux. The rest are GRUB script syntax with no
# use in a Linux, dracut or installer argument. $ ' & ? stay legal (kickstart URLs) and are
# single-quoted for GRUB.
KERNEL_WORD_FORBIDDEN = "\"\\`;{}<>|#"
_KERNEL_WORD = re.compile(r"^[!-~]+\Z")
# Characters GRUB's script lexer passes through unquoted.
_GRUB_PLAIN = re.compile(r"^[A-Za-z0-9_.,:=/+@%^()-]+\Z")
_MODULE = re.compile(r"^[A-Za-z0-9_-]{1,55}\Z")
# The kernel truncates COMMAND_LINE_SIZE (2048 on x86) silently; pxelinux stops earlier.
MAX_KERNEL_WORD = 1024
MAX_LINE = 255


class ConfigSyntaxError(ValueError):
    """A value that cannot be written into the named format."""


def _describe(value):
    return "%r" % (value,)


def check_text_line(value, max_len=MAX_LINE):
    """Free text on one line of a config file (menu titles, comments): no control characters."""
    if not isinstance(value, str):
        return "must be a string, got %s" % type(value).__name__
    if _CONTROL.search(value):
        return "contains a line break or control character; it must stay on one line of the generated file"
    if len(value) > max_len:
        return "is %d characters long; at most %d fit one config line" % (len(value), max_len)
    return None


def check_dns_name(value):
    """A DNS domain or host name (dhcpd option domain-name, NetworkManager dns-search)."""
    if not isinstance(value, str):
        return "must be a string, got %s" % type(value).__name__
    if len(value) > 253 or not all(_LABEL.match(label) for label in value.split(".")):
        return ("is not a DNS name (dot-separated labels of letters, digits and inner hyphens, "
                "at most 253 characters)")
    return None


def check_file_name(value):
    """One path component the roles create: an image, ISO or network name."""
    if not isinstance(value, str):
        return "must be a string, got %s" % type(value).__name__
    if not _FILE_NAME.match(value):
        return ("is not a plain name (1-64 of A-Z a-z 0-9 _ . -, not starting with a dot): it becomes a "
                "directory or file name, so '.', '..' or a slash would act outside the served tree")
    return None


def check_root_path(value):
    """A path below a served root (TFTP root, netinstall root): never leaves it.

    A leading slash is accepted and means the root itself (the roles strip it)."""
    if not isinstance(value, str):
        return "must be a string, got %s" % type(value).__name__
    rel = value.lstrip("/")
    if not rel:
        return "is empty; give a path below the served root, e.g. images/rhel95/vmlinuz"
    for segment in rel.split("/"):
        if segment in ("", ".", ".."):
            return ("has an empty, '.' or '..' component; paths stay below the served root "
                    "(write images/rhel95/vmlinuz, not ../ or //)")
        if not _PATH_SEGMENT.match(segment):
            return ("has a component %r outside A-Z a-z 0-9 and . _ + , = @ ~ - (it is written unquoted "
                    "into pxelinux and GRUB menus)" % segment)
    return None


def check_kernel_word(value):
    """One kernel command-line argument, written into pxelinux APPEND and a GRUB linux line."""
    if not isinstance(value, str):
        return "must be a string, got %s" % type(value).__name__
    if not value:
        return "is empty"
    if _CONTROL.search(value) or re.search(r"\s", value):
        return "contains white space or a line break; give each kernel argument as its own list item"
    if not _KERNEL_WORD.match(value):
        return "contains a non-ASCII character"
    bad = sorted(set(c for c in value if c in KERNEL_WORD_FORBIDDEN))
    if bad:
        return ("contains %s, which the kernel, GRUB or pxelinux would read as syntax "
                "(forbidden: %s)" % (" ".join(bad), " ".join(KERNEL_WORD_FORBIDDEN)))
    if len(value) > MAX_KERNEL_WORD:
        return "is %d characters long; at most %d" % (len(value), MAX_KERNEL_WORD)
    return None


def check_module_name(value):
    """A kernel module name (rd.driver.pre=, modules-load.d)."""
    if not isinstance(value, str) or not _MODULE.match(value):
        return "is not a kernel module name (1-55 of A-Z a-z 0-9 _ -)"
    return None


def check_keyfile_value(value):
    """A NetworkManager keyfile value: one line (GKeyFile has no multi-line values)."""
    if isinstance(value, bool):
        return None
    text = str(value)
    if _CONTROL.search(text):
        return "contains a line break or control character; a keyfile value is one line"
    return None


def require(reason, what, value):
    """Raise ConfigSyntaxError naming what and value when a check_* returned a reason."""
    if reason:
        raise ConfigSyntaxError("%s: %s %s" % (what, _describe(value), reason))
    return value


def dhcpd_string(value):
    """A dhcpd.conf string literal, quotes included.

    ISC dhcpd's lexer (common/conflex.c, read_string) takes backslash escapes inside double
    quotes: \\" and \\\\ stand for themselves and \\ooo is an octal byte, so every byte
    that could end the string or the line is written escaped."""
    out = []
    for ch in str(value):
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def grub_word(arg):
    """Quote one word for a GRUB script line; GRUB removes the quotes before the kernel sees it.

    Inside single quotes GRUB's lexer takes everything literally except the closing quote
    (and a newline, which the model rejects before it gets here)."""
    arg = str(arg)
    if _CONTROL.search(arg):
        raise ConfigSyntaxError("GRUB word %r contains a line break or control character" % (arg,))
    if _GRUB_PLAIN.match(arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


def config_line(value, what="value"):
    """Return value unchanged when it fits one line of a line-based config, else raise."""
    return require(check_text_line(value), what, value)
