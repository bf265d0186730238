# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fabric.boot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot menus from the inventory model: which node boots which image with which kernel arguments.

One menu per (host, interface) that can network boot: the firmware on that port looks up
its own configuration file by the MAC it booted with (Ethernet MAC, or for InfiniBand and
Omni-Path the 48-bit form iPXE/FlexBoot derive from the port GUID) and by its IPv4 address
in hex, so both names are returned. Templates only lay the result out; every decision
(paths, quoting, kernel arguments, file names) is taken here so it can be unit tested.

Stdlib only: the filter plugin, the role's tests and the lab scripts all import it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.fabric.boot.plugins.module_utils import config_syntax
from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    IdentityError,
    PortGuid,
    parse_mac,
)

FABRIC_TYPES = ("infiniband", "omnipath", "ethernet")

# Drivers dracut must load before it brings up the boot interface (rd.driver.pre):
# a stock installer initrd does not autoload the HCA driver early enough for ip=ib0:dhcp.
DEFAULT_DRIVER_MODULES = {
    "infiniband": ["mlx5_ib", "ib_ipoib"],
    "omnipath": ["hfi1", "ib_ipoib"],
    "ethernet": [],
}

# IB/OPA links take seconds to go ACTIVE after the driver loads (subnet manager sweep);
# dracut's default carrier wait gives up before that.
DEFAULT_TYPE_KERNEL_ARGS = {
    "infiniband": ["rd.net.timeout.carrier=60"],
    "omnipath": ["rd.net.timeout.carrier=60"],
    "ethernet": [],
}

DEFAULT_OPTIONS = {
    "console": ["ttyS0,115200"],
    "kernel_args": [],
    "driver_modules": DEFAULT_DRIVER_MODULES,
    "type_kernel_args": DEFAULT_TYPE_KERNEL_ARGS,
    "default_kernel_args": ["rd.neednet=1", "ip=dhcp"],
    "netinstall_path": "/netinstall",
    "repo_arg": "inst.repo",
    "http_boot_alias": "/boot",
    "fetch": "tftp",
    "secure_boot": False,
    "default_image": None,
    "default_server": None,
    "pin_ifname": False,
}

_SERIAL = re.compile(r"^ttyS(\d+)(?:,(\d+))?")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^nfs:|^hd:|^cdrom", re.IGNORECASE)


# x86 boot protocol cmdline_size: the bytes of the command line Linux keeps.
MAX_KERNEL_CMDLINE = 2047


class BootMenuError(ValueError):
    """Inconsistent boot data (unknown image, duplicate file name, unusable argument)."""


def _as_list(value, what):
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    raise BootMenuError("%s must be a list of strings, got %r" % (what, value))


def options_with_defaults(options=None):
    opts = dict(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in DEFAULT_OPTIONS:
            raise BootMenuError("unknown boot menu option %r; known: %s"
                                % (key, ", ".join(sorted(DEFAULT_OPTIONS))))
        if value is not None or key in ("default_image", "default_server"):
            opts[key] = value
    if not isinstance(opts["pin_ifname"], bool):
        raise BootMenuError("pin_ifname must be true or false, got %r" % (opts["pin_ifname"],))
    if opts["fetch"] not in ("tftp", "http"):
        raise BootMenuError("fetch must be tftp or http, got %r" % (opts["fetch"],))
    return opts


def _override(iface, net, key, default):
    """The interface's own value, else its network's, else the server-wide default (None = unset)."""
    for scope in (iface, net):
        if scope.get(key) is not None:
            return scope[key]
    return default


def boot_path(iface, net, options=None):
    """How one port boots: {"fetch": tftp|http, "secure_boot": bool}.

    The port's boot_fetch / secure_boot win over its network's, which win over the server
    defaults (boot_loader_fetch, boot_loader_secure_boot). One server can so serve a Secure
    Boot partition next to plain UEFI nodes, and a rack fetching over HTTP next to TFTP ones.
    """
    opts = options_with_defaults(options)
    fetch = _override(iface or {}, net or {}, "boot_fetch", opts["fetch"])
    if fetch not in ("tftp", "http"):
        raise BootMenuError("interface %s: boot_fetch must be tftp or http, got %r"
                            % ((iface or {}).get("name"), fetch))
    secure_boot = _override(iface or {}, net or {}, "secure_boot", opts["secure_boot"])
    return {"fetch": fetch, "secure_boot": bool(secure_boot)}


def hex_ip(ipv4):
    """C0A8640B for 192.168.100.11: the name pxelinux and GRUB try after the MAC."""
    try:
        return "%08X" % int(ipaddress.IPv4Address(str(ipv4)))
    except ValueError as exc:
        raise BootMenuError("not an IPv4 address: %r (%s)" % (ipv4, exc))


def boot_mac(interface):
    """The MAC the firmware boots with on this interface (lowercase, colons)."""
    itype = interface.get("type", "ethernet")
    try:
        if itype in ("infiniband", "omnipath"):
            guid = interface.get("port_guid")
            if not guid:
                raise BootMenuError("interface %s (%s) has no port_guid"
                                    % (interface.get("name"), itype))
            return PortGuid.parse(guid).mac48
        if interface.get("mac"):
            return parse_mac(interface["mac"])
    except IdentityError as exc:
        raise BootMenuError("interface %s: %s" % (interface.get("name"), exc))
    return None


def _dashed(mac):
    return mac.replace(":", "-").lower()


def grub_quote(arg):
    """Quote one word for a GRUB script line; GRUB removes the quotes before the kernel sees it."""
    try:
        return config_syntax.grub_word(arg)
    except config_syntax.ConfigSyntaxError as exc:
        raise BootMenuError(str(exc))


# Arguments already found valid. A site has a few dozen distinct kernel arguments, and each
# recurs in every node's menu (10,000 nodes: about 200,000 checks of the same few words), so
# each is checked once per process. Bounded, so a run over hostile data cannot grow it without
# end: once full, words are checked every time, as before.
_VALID_ARGS = set()
_VALID_ARGS_MAX = 65536


def _check_arg(arg):
    # The rule validate_inventory applies to fabric_boot_images kernel_args; here it also
    # covers the role's own arguments (boot_loader_kernel_args, consoles).
    if isinstance(arg, str) and arg in _VALID_ARGS:
        return arg
    reason = config_syntax.check_kernel_word(arg)
    if reason:
        raise BootMenuError("kernel argument %r %s" % (arg, reason))
    if len(_VALID_ARGS) < _VALID_ARGS_MAX:
        _VALID_ARGS.add(arg)
    return arg


def repo_arg(image, server, opts):
    """inst.repo=http://<server>/netinstall/<repo>, or the URL as given."""
    repo = image.get("repo")
    if not repo:
        return []
    name = image.get("repo_arg") or opts["repo_arg"]
    if _URL.match(repo):
        return ["%s=%s" % (name, repo)]
    if not server:
        raise BootMenuError("image repo %r is a path but no boot server address is known "
                            "(network boot_server or default_server)" % (repo,))
    path = "/".join(p.strip("/") for p in (opts["netinstall_path"], repo) if p.strip("/"))
    return ["%s=http://%s/%s" % (name, server, path)]


def live_root_args(image, server, opts):
    """root=live:http://<server>/<boot alias>/<generation>/rootfs.squashfs and the live arguments.

    Only for kind: diskless images. dracut's livenet (parse-livenet.sh) takes root=live:<url>,
    brings the network up and fetches the file into the initramfs (RAM); dmsquash-live-root then
    finds a plain root squashfs (it has /proc), mounts it read-only and puts an overlayfs with
    its upper directory on tmpfs (/run/overlayfs) over it. image["squashfs"] is the published
    generation's file, relative to the TFTP root that http_server serves at the boot alias; it
    is set by diskless_image (diskless_image_published), never by the inventory.
    """
    if image.get("kind") != "diskless":
        return []
    squashfs = image.get("squashfs")
    if not squashfs:
        raise BootMenuError("diskless image has no published generation (no squashfs); run the diskless_image "
                            "role before boot_loader (site.yml does)")
    if not server:
        raise BootMenuError("a diskless image needs a boot server address for root=live:http://... "
                            "(network boot_server or default_server)")
    alias = str(opts["http_boot_alias"] or "").strip("/")
    path = "/".join(p for p in (alias, str(squashfs).strip("/")) if p)
    return ["root=live:http://%s/%s" % (server, path)] + _as_list(image.get("live_args"), "live_args")


def ifname_arg(interface, opts):
    """dracut's ifname=<name>:<mac>, or nothing.

    dracut (40network/ifname-genrules.sh) turns it into a udev rule matching ATTR{address}
    and ATTR{type}=="1", so it names an Ethernet NIC whatever the naming policy (net.ifnames,
    biosdevname) would call it, and ip=<name>:dhcp finds it. For InfiniBand and Omni-Path the
    MAC is the port's 48-bit iPXE form: an IPoIB device (type 32, 20-byte address) never
    matches the rule and keeps its kernel name, while a NIC presented with that MAC (iPXE's
    view of the port, a VM standing in for the node) gets the inventory name.
    Pinned when the interface's pin_ifname says so, else when the option does.
    """
    pin = interface.get("pin_ifname")
    if pin is None:
        pin = opts["pin_ifname"]
    if not isinstance(pin, bool):
        raise BootMenuError("interface %s: pin_ifname must be true or false, got %r"
                            % (interface.get("name"), pin))
    if not pin:
        return []
    name = interface["name"]
    if ":" in name:
        raise BootMenuError("interface %s: dracut's ifname= cannot name an interface with ':' "
                            "(it splits the argument at ':'); set pin_ifname: false" % name)
    mac = boot_mac(interface)
    if not mac:
        raise BootMenuError("interface %s: pin_ifname needs a mac (or a port_guid)" % name)
    return ["ifname=%s:%s" % (name, mac)]


def compose_kernel_args(image, interface=None, server=None, options=None):
    """The kernel command line (list of words) for one image booted from one interface.

    Order: network bring-up (rd.driver.pre, rd.neednet, ip=, ifname= when pinned), per-fabric arguments, the
    installer repository or a diskless image's live root, the image's own arguments, the
    interface's own (per-node) arguments, global extras, consoles last (the
    last console= becomes /dev/console). Exact duplicates are dropped, first one wins.
    """
    opts = options_with_defaults(options)
    args = []
    if interface is None:
        args += _as_list(opts["default_kernel_args"], "default_kernel_args")
    else:
        itype = interface.get("type", "ethernet")
        mods = _as_list((opts["driver_modules"] or {}).get(itype), "driver_modules.%s" % itype)
        mods += [m for m in _as_list(image.get("driver_modules"), "driver_modules") if m not in mods]
        if mods:
            args.append("rd.driver.pre=" + ",".join(mods))
        args.append("rd.neednet=1")
        args.append("ip=%s:dhcp" % interface["name"])
        args += ifname_arg(interface, opts)
        args += _as_list((opts["type_kernel_args"] or {}).get(itype), "type_kernel_args.%s" % itype)
    args += repo_arg(image, server, opts)
    args += live_root_args(image, server, opts)
    args += _as_list(image.get("kernel_args"), "kernel_args")
    if interface is not None:
        args += _as_list(interface.get("kernel_args"), "interface kernel_args")
    args += _as_list(opts["kernel_args"], "kernel_args")
    args += ["console=" + c for c in _as_list(opts["console"], "console")]
    seen, out = set(), []
    for arg in args:
        if arg not in seen:
            seen.add(arg)
            out.append(_check_arg(arg))
    return out


def _serial(opts):
    for con in reversed(_as_list(opts["console"], "console")):
        m = _SERIAL.match(con)
        if m:
            return {"unit": int(m.group(1)), "speed": int(m.group(2) or 115200)}
    return None


def _image_paths(path, server, opts):
    """Path forms of one file under the TFTP root: GRUB (tftp or http) and pxelinux (::)."""
    rel = str(path).lstrip("/")
    if opts["fetch"] == "http":
        if not server:
            raise BootMenuError("fetch=http needs a boot server address for %s" % rel)
        alias = "/" + opts["http_boot_alias"].strip("/") if opts["http_boot_alias"].strip("/") else ""
        grub = "(http,%s)%s/%s" % (server, alias, rel)
    else:
        grub = "/" + rel
    return {"grub": grub, "pxelinux": "::/" + rel}


def _entry(name, images, interface, server, opts):
    if name not in images:
        raise BootMenuError("boot image %r is not defined in fabric_boot_images (defined: %s)"
                            % (name, ", ".join(sorted(images)) or "none"))
    image = images[name] or {}
    for key in ("kernel", "initrd"):
        if not image.get(key):
            raise BootMenuError("boot image %r has no %s" % (name, key))
    try:
        args = compose_kernel_args(image, interface, server, opts)
        title = config_syntax.config_line(str(image.get("title") or name), "title")
    except (BootMenuError, config_syntax.ConfigSyntaxError) as exc:
        raise BootMenuError("boot image %r: %s" % (name, exc))
    kernel = _image_paths(image["kernel"], server, opts)
    initrd = _image_paths(image["initrd"], server, opts)
    # pxelinux appends " initrd=<path>"; x86 Linux keeps the first 2047 bytes of the command
    # line and drops the rest without a word (and pxelinux cuts config lines at 4095).
    length = len(" ".join(args + ["initrd=" + initrd["pxelinux"]]))
    if length > MAX_KERNEL_CMDLINE:
        raise BootMenuError("boot image %r: the kernel command line would be %d bytes; Linux keeps %d "
                            "(shorten kernel_args)" % (name, length, MAX_KERNEL_CMDLINE))
    return {
        "id": name,
        "label": re.sub(r"[^A-Za-z0-9_.-]", "_", name),
        "title": title,
        "grub_title": "'" + title.replace("'", "'\\''") + "'",
        "kernel": grub_quote(kernel["grub"]),
        "initrd": grub_quote(initrd["grub"]),
        "pxelinux_kernel": kernel["pxelinux"],
        "pxelinux_initrd": initrd["pxelinux"],
        "args": args,
        "cmdline": " ".join(args),
        "grub_cmdline": " ".join(grub_quote(a) for a in args),
    }


def _entries(first, images, interface, server, opts):
    order = [first] + sorted(n for n in images if n != first)
    return [_entry(n, images, interface, server, opts) for n in order]


def _menu_name(host, iface):
    return re.sub(r"[^A-Za-z0-9_-]", "_", "%s-%s" % (host, iface))


def node_menus(nodes, networks, images, host_images=None, options=None):
    """One menu per network-bootable interface of every node.

    nodes: fabric_nodes ({host: [interface, ...]}); networks: fabric_networks;
    images: fabric_boot_images; host_images: {host: image name} (per-host fabric_boot_image).
    The image is the interface's boot_image, else the host's, else its network's, else
    options.default_image; an interface with none of these, no MAC and no IPv4 gets no menu.
    """
    opts = options_with_defaults(options)
    networks = networks or {}
    images = images or {}
    host_images = host_images or {}
    menus, owners = [], {}
    for host in sorted(nodes or {}):
        for iface in nodes[host] or []:
            if not isinstance(iface, dict) or not iface.get("name"):
                raise BootMenuError("host %s: every interface needs a name, got %r" % (host, iface))
            itype = iface.get("type", "ethernet")
            if itype not in FABRIC_TYPES:
                raise BootMenuError("host %s interface %s: type %r is not one of %s"
                                    % (host, iface["name"], itype, ", ".join(FABRIC_TYPES)))
            net = networks.get(iface.get("network")) or {}
            image = (iface.get("boot_image") or host_images.get(host) or net.get("boot_image")
                     or opts["default_image"])
            if not image:
                continue
            mac = boot_mac(iface)
            ipv4 = iface.get("ipv4")
            if not mac and not ipv4:
                continue
            server = net.get("boot_server") or opts["default_server"]
            path = boot_path(iface, net, opts)
            port_opts = dict(opts, fetch=path["fetch"])
            grub_files, pxe_files = [], []
            if mac:
                grub_files.append("grub.cfg-01-" + _dashed(mac))
                pxe_files.append("01-" + _dashed(mac))
            if ipv4:
                grub_files.append("grub.cfg-" + hex_ip(ipv4))
                pxe_files.append(hex_ip(ipv4))
            name = _menu_name(host, iface["name"])
            for f in grub_files:
                if f in owners:
                    raise BootMenuError("%s and %s would both boot from %s (same MAC or IPv4)"
                                        % (owners[f], name, f))
                owners[f] = name
            menus.append({
                "name": name,
                "host": host,
                "interface": iface["name"],
                "type": itype,
                "mac": mac,
                "ipv4": ipv4,
                "network": iface.get("network"),
                "server": server,
                "image": image,
                "grub_files": grub_files,
                "pxelinux_files": pxe_files,
                "fetch": path["fetch"],
                "secure_boot": path["secure_boot"],
                "serial": _serial(opts),
                "entries": _entries(image, images, iface, server, port_opts),
            })
            # the first entry is the interface's own image (one composition per entry, not two)
            menus[-1]["default"] = menus[-1]["entries"][0]["label"]
    return menus


def default_menu(networks, images, options=None):
    """The menu for firmware that finds no per-node file: every image, generic DHCP arguments."""
    opts = options_with_defaults(options)
    images = images or {}
    networks = networks or {}
    default = opts["default_image"]
    if default is None:
        named = sorted({(n or {}).get("boot_image") for n in networks.values()} - {None})
        default = named[0] if named else (sorted(images)[0] if images else None)
    server = opts["default_server"]
    if not server:
        # the server of a network that boots the default image, else of the first network by name
        for want_image in (True, False):
            for name in sorted(networks):
                net = networks[name] or {}
                if net.get("boot_server") and (not want_image or net.get("boot_image") == default):
                    server = net["boot_server"]
                    break
            if server:
                break
    entries = _entries(default, images, None, server, opts) if default else []
    return {
        "name": "default",
        "server": server,
        "fetch": opts["fetch"],
        "image": default,
        "serial": _serial(opts),
        "default": entries[0]["label"] if entries else None,
        "entries": entries,
    }
