"""fabric.boot.boot_menu_files: every menu file of the role from one call, the same bytes the
templates give per file, and GRUB files that grub-script-check accepts."""
import shutil
import subprocess

from ansible_collections.fabric.boot.plugins.filter.boot_menu import boot_menu_files

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
