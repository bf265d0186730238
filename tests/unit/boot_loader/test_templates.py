"""Render the boot_loader role's templates with the Debian and the RedHat variables, the way
the template module does (trim_blocks), and check the result with the programs that read it:
grub-script-check for GRUB, the pxelinux parser for pxelinux.

grub-script-check is Debian's grub-common; EL's grub2-script-check is the same program
(grub-script-check.c) under another name, so the RedHat rendering is checked here too.
"""
import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm

from .pxelinux_config import parse

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "boot_loader")
GRUB_CHECK = shutil.which("grub-script-check")

NETWORKS = {"fabric0": {"boot_server": "192.168.100.1", "boot_image": "rhel95"}}
IMAGES = {
    "rhel95": {"title": "RHEL 9.5 'OPA'", "kernel": "images/rhel95/vmlinuz", "initrd": "images/rhel95/initrd.img",
               "repo": "ISO/RHEL95", "kernel_args": ["inst.ks=http://192.168.100.1/ks.cfg?host=$x&y=1"]},
    "debian12": {"kernel": "images/debian12/vmlinuz", "initrd": "images/debian12/initrd.img"},
}
NODES = {
    "node001": [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811",
                 "ipv4": "192.168.100.11", "network": "fabric0"}],
    "node002": [{"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56", "ipv4": "192.168.100.12",
                 "network": "fabric0", "boot_image": "debian12"}],
}


def _vars(family):
    with open(os.path.join(ROLE, "vars", family + ".yml")) as f:
        data = yaml.safe_load(f)
    return {
        "ansible_managed": "Ansible managed",
        "boot_loader_timeout": 0,
        "boot_loader_grub_linux_command": data["__boot_loader_grub_linux_command"],
        "boot_loader_grub_initrd_command": data["__boot_loader_grub_initrd_command"],
    }


def _render(name, **context):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")),
                             trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.get_template(name).render(**context)


def _menus():
    return bm.node_menus(NODES, NETWORKS, IMAGES), bm.default_menu(NETWORKS, IMAGES)


def _grub_check(tmp_path, text):
    assert GRUB_CHECK, "grub-script-check (grub-common) is not installed"
    path = tmp_path / "grub.cfg"
    path.write_text(text)
    return subprocess.run([GRUB_CHECK, str(path)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("family, linux, initrd", [("Debian", "linux", "initrd"),
                                                   ("RedHat", "linuxefi", "initrdefi")])
def test_grub_menus_render_and_pass_grub_script_check(tmp_path, family, linux, initrd):
    menus, default = _menus()
    for menu in menus + [default]:
        text = _render("grub.cfg.j2", __boot_loader_menu=menu, **_vars(family))
        res = _grub_check(tmp_path, text)
        assert res.returncode == 0, (family, menu["name"], res.stdout, res.stderr, text)
        assert "\n  %s /images/%s/vmlinuz " % (linux, menu["image"]) in text
        assert "\n  %s /images/%s/initrd.img\n" % (initrd, menu["image"]) in text
        assert "set default=%s\n" % menu["default"] in text
        assert text.count("menuentry ") == 2
    ib = _render("grub.cfg.j2", __boot_loader_menu=menus[0], **_vars(family))
    assert ("%s /images/rhel95/vmlinuz rd.driver.pre=mlx5_ib,ib_ipoib rd.neednet=1 ip=ib0:dhcp "
            "rd.net.timeout.carrier=60 inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95 "
            "'inst.ks=http://192.168.100.1/ks.cfg?host=$x&y=1' console=ttyS0,115200\n" % linux) in ib
    assert "menuentry 'RHEL 9.5 '\\''OPA'\\''' --id rhel95 {" in ib


def test_grub_script_check_catches_unquoted_specials(tmp_path):
    """Proves the check above can fail: the same line without the quoting is rejected."""
    res = _grub_check(tmp_path, "menuentry 'x' {\n  linux /k a=1&b=2 }\n")
    assert res.returncode != 0


def test_dispatch_menu(tmp_path):
    menus, _unused = _menus()
    text = _render("grub-dispatch.cfg.j2", __boot_loader_menus=menus, ansible_managed="Ansible managed")
    assert _grub_check(tmp_path, text).returncode == 0
    assert ('\nif [ "$net_default_mac" = "00:02:c9:0c:78:11" ]; then\n  configfile /uefi/grub.cfg-01-00-02-c9-0c-78-11\n'
            'fi\n') in text
    assert '\nif [ "$net_default_mac" = "52:54:00:12:34:56" ]; then\n' in text
    assert not [line for line in text.splitlines() if line.startswith("elif")]
    assert text.endswith("fi\nconfigfile /uefi/grub.cfg\n")
    empty = _render("grub-dispatch.cfg.j2", __boot_loader_menus=[], ansible_managed="Ansible managed")
    assert _grub_check(tmp_path, empty).returncode == 0
    assert empty.endswith("\nconfigfile /uefi/grub.cfg\n")


def _many_menus(n):
    return [{"mac": "52:54:%02x:%02x:%02x:%02x" % (i >> 24, (i >> 16) & 255, (i >> 8) & 255, i & 255),
             "grub_files": ["grub.cfg-01-52-54-%02x-%02x-%02x-%02x" % (i >> 24, (i >> 16) & 255, (i >> 8) & 255, i & 255)]}
            for i in range(n)]


def test_dispatch_menu_at_machine_room_scale(tmp_path):
    """10,000 nodes: GRUB's parser reads the dispatch (the parser of grub-script-check is GRUB's own)."""
    text = _render("grub-dispatch.cfg.j2", __boot_loader_menus=_many_menus(10000), ansible_managed="Ansible managed")
    assert text.count("\nif [ ") == 10000
    res = _grub_check(tmp_path, text)
    assert res.returncode == 0 and "memory exhausted" not in res.stdout + res.stderr, (res.stdout, res.stderr)


def test_grub_script_check_rejects_a_long_elif_chain(tmp_path):
    """Proves the check above can fail: the former if/elif form of the dispatch, at 2,000 nodes."""
    menus = _many_menus(2000)
    text = "".join('%s [ "$net_default_mac" = "%s" ]; then\n  configfile /uefi/%s\n'
                   % ("elif" if i else "if", m["mac"], m["grub_files"][0]) for i, m in enumerate(menus))
    res = _grub_check(tmp_path, text + "else\n  configfile /uefi/grub.cfg\nfi\n")
    assert "memory exhausted" in res.stdout + res.stderr


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
@pytest.mark.parametrize("timeout, prompt", [(0, "0"), (5, "1")])
def test_pxelinux_menus_parse(family, timeout, prompt):
    menus, default = _menus()
    context = _vars(family)
    context["boot_loader_timeout"] = timeout
    for menu in menus + [default]:
        cfg = parse(_render("pxelinux.cfg.j2", __boot_loader_menu=menu, **context))
        assert cfg["serial"] == (0, 115200)
        assert cfg["globals"]["DEFAULT"] == menu["default"]
        assert cfg["globals"]["PROMPT"] == prompt and cfg["globals"]["TIMEOUT"] == str(timeout * 10)
        assert cfg["order"] == [e["label"] for e in menu["entries"]]
        for entry in menu["entries"]:
            label = cfg["labels"][entry["label"]]
            assert label["KERNEL"] == "::/" + IMAGES[entry["id"]]["kernel"]
            assert label["INITRD"] == "::/" + IMAGES[entry["id"]]["initrd"]
            assert label["APPEND"] == " ".join(entry["args"])


def test_pxelinux_without_serial_console():
    menus = bm.node_menus(NODES, NETWORKS, IMAGES, options={"console": ["tty0"]})
    cfg = parse(_render("pxelinux.cfg.j2", __boot_loader_menu=menus[0], **_vars("Debian")))
    assert cfg["serial"] is None
    assert cfg["labels"]["rhel95"]["APPEND"].endswith(" console=tty0")


def test_default_menu_dispatches_http_boot_clients_by_mac(tmp_path):
    """GRUB over UEFI HTTP boot reads only $prefix/grub.cfg: the default menu sends each MAC on."""
    menus, default = _menus()
    text = _render("grub.cfg.j2", __boot_loader_menu=default, __boot_loader_dispatch=menus, **_vars("Debian"))
    assert _grub_check(tmp_path, text).returncode == 0
    assert ('if [ "$net_default_mac" = "00:02:c9:0c:78:11" ]; then '
            'configfile "$prefix/grub.cfg-01-00-02-c9-0c-78-11"; fi\n') in text
    # the dispatch comes before the menu's own entries, and per-node menus carry none
    assert text.index("configfile") < text.index("menuentry ")
    assert "configfile" not in _render("grub.cfg.j2", __boot_loader_menu=menus[0], **_vars("Debian"))
