"""fabric.boot.boot_menu_files: every menu file of the role from one call, the same bytes the
templates give per file, and GRUB files that grub-script-check accepts."""
import json
import shutil
import subprocess

from ansible_collections.fabric.boot.plugins.filter.boot_menu import boot_menu_files, boot_menu_set

from .test_templates import IMAGES, NETWORKS, NODES, ROLE, _render, _vars, bm

GRUB_CHECK = shutil.which("grub-script-check")
CTX = {"managed": "Ansible managed", "timeout": 0, "linux_command": "linux", "initrd_command": "initrd"}


def test_file_names_and_contents_match_the_templates():
    menus, default = bm.node_menus(NODES, NETWORKS, IMAGES), bm.default_menu(NETWORKS, IMAGES)
    grub = boot_menu_files(menus, default, ROLE + "/templates", "grub", dict(CTX, dispatch_dirs=["grub", "uefi-sb"]))
    pxe = boot_menu_files(menus, default, ROLE + "/templates", "pxelinux", CTX)
    want_grub = {"uefi/grub.cfg", "grub/grub.cfg", "uefi-sb/grub.cfg"}
    want_pxe = {"pxelinux/pxelinux.cfg/default"}
    for menu in menus:
        want_grub.update("uefi/" + f for f in menu["grub_files"])
        want_pxe.update("pxelinux/pxelinux.cfg/" + f for f in menu["pxelinux_files"])
        text = _render("grub.cfg.j2", __boot_loader_menu=menu, **_vars("Debian"))
        assert all(grub["uefi/" + f] == text for f in menu["grub_files"])
        text = _render("pxelinux.cfg.j2", __boot_loader_menu=menu, **_vars("Debian"))
        assert all(pxe["pxelinux/pxelinux.cfg/" + f] == text for f in menu["pxelinux_files"])
    assert set(grub) == want_grub and set(pxe) == want_pxe
    assert grub["uefi/grub.cfg"] == _render("grub.cfg.j2", __boot_loader_menu=default, __boot_loader_dispatch=menus,
                                            **_vars("Debian"))
    assert grub["grub/grub.cfg"] == _render("grub-dispatch.cfg.j2", __boot_loader_menus=menus, **_vars("Debian"))
    assert 'configfile /uefi/grub.cfg-01-52-54-00-12-34-56' in grub["grub/grub.cfg"]


def test_every_grub_file_passes_grub_script_check(tmp_path):
    assert GRUB_CHECK, "grub-script-check (grub-common) is not installed"
    menus, default = bm.node_menus(NODES, NETWORKS, IMAGES), bm.default_menu(NETWORKS, IMAGES)
    grub = boot_menu_files(menus, default, ROLE + "/templates", "grub", dict(CTX, dispatch_dirs=["grub"]))
    for name, text in grub.items():
        path = tmp_path / "check.cfg"
        path.write_text(text)
        r = subprocess.run([GRUB_CHECK, str(path)], capture_output=True, text=True, check=False)
        assert r.returncode == 0, (name, r.stdout, r.stderr)


def _loaded(menu_set):
    """boot_menu_set hands the files on as JSON text (file_set reads it as a dict)."""
    assert isinstance(menu_set["grub"], str) and isinstance(menu_set["pxelinux"], str)
    return dict(menu_set, grub=json.loads(menu_set["grub"]), pxelinux=json.loads(menu_set["pxelinux"]))


def test_menu_set_is_boot_menus_then_boot_menu_files():
    """The one call the role makes gives the same files as composing and rendering apart."""
    menus, default = bm.node_menus(NODES, NETWORKS, IMAGES), bm.default_menu(NETWORKS, IMAGES)
    got = _loaded(boot_menu_set(NODES, NETWORKS, IMAGES, ROLE + "/templates", {}, dict(CTX, uefi=True, bios=True)))
    assert got["grub"] == boot_menu_files(menus, default, ROLE + "/templates", "grub", dict(CTX, dispatch_dirs=["grub"]))
    assert got["pxelinux"] == boot_menu_files(menus, default, ROLE + "/templates", "pxelinux", CTX)
    assert got["secure_boot_in_use"] is False and got["secure_boot_http"] == []
    only_bios = _loaded(boot_menu_set(NODES, NETWORKS, IMAGES, ROLE + "/templates", {}, dict(CTX, uefi=False, bios=True)))
    assert only_bios["grub"] == {} and only_bios["pxelinux"] == got["pxelinux"]


def test_menu_set_serves_uefi_sb_when_any_level_asks_for_secure_boot():
    """Server default, one network or one port: each adds the uefi-sb/ dispatch menu; without
    UEFI there is nothing to serve it with. Ports with Secure Boot over HTTP are named."""
    tdir, ctx = ROLE + "/templates", dict(CTX, uefi=True, bios=False)
    name = next(iter(NETWORKS))
    nets = {k: (dict(v, secure_boot=True) if k == name else v) for k, v in NETWORKS.items()}
    host, ifaces = next(iter(NODES.items()))
    nodes = dict(NODES, **{host: [dict(ifaces[0], secure_boot=True, boot_fetch="http")] + list(ifaces[1:])})
    for args, opts in (((NODES, NETWORKS), {"secure_boot": True}), ((NODES, nets), {}), ((nodes, NETWORKS), {})):
        got = _loaded(boot_menu_set(args[0], args[1], IMAGES, tdir, opts, ctx))
        assert got["secure_boot_in_use"] is True and "uefi-sb/grub.cfg" in got["grub"], (args, opts)
    port = boot_menu_set(nodes, NETWORKS, IMAGES, tdir, {}, ctx)
    assert port["secure_boot_http"] == [bm.node_menus(nodes, NETWORKS, IMAGES)[0]["name"]]
    assert boot_menu_set(NODES, NETWORKS, IMAGES, tdir, {"secure_boot": True}, dict(ctx, uefi=False))["secure_boot_in_use"] is False
    plain = _loaded(boot_menu_set(NODES, NETWORKS, IMAGES, tdir, {}, ctx))
    assert plain["secure_boot_in_use"] is False and "uefi-sb/grub.cfg" not in plain["grub"]
