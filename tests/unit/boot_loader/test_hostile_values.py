"""Hostile but legal image values render as data (checked by grub-script-check and the pxelinux
parser); illegal ones are refused by the model, and again by boot_menu, naming image and field."""
import copy

import pytest

from ansible_collections.fabric.boot.plugins.module_utils import boot_menu as bm
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import validate_site

from .pxelinux_config import parse
from .test_templates import NETWORKS, NODES, _grub_check, _render, _vars

TITLE = "RHEL 9.5 \"netinstall\" (it's) {x} $y; #z \\ LABEL evil"
ARGS = ["inst.ks=http://192.168.100.1/ks.cfg?host=$x&y=1", "it's", "rd.note=100%", "a=(b)"]
IMAGES = {"rhel95": {"title": TITLE, "kernel": "images/rhel95/vmlinuz", "initrd": "images/rhel95/initrd.img",
                     "kernel_args": ARGS}}
MODEL_NETWORKS = {"fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "boot_image": "rhel95"}}


def test_the_hostile_but_legal_image_passes_the_model():
    hosts = dict((h, {"interfaces": ifs, "boot_image": None}) for h, ifs in NODES.items())
    hosts["node002"]["interfaces"] = [dict(hosts["node002"]["interfaces"][0], boot_image=None)]
    _unused, problems = validate_site(hosts, MODEL_NETWORKS, IMAGES)
    assert problems == []


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_hostile_but_legal_values_are_data_in_grub_and_pxelinux(tmp_path, family):
    nodes = copy.deepcopy(NODES)
    nodes["node002"][0].pop("boot_image")
    menus = bm.node_menus(nodes, NETWORKS, IMAGES) + [bm.default_menu(NETWORKS, IMAGES)]
    for menu in menus:
        grub = _render("grub.cfg.j2", __boot_loader_menu=menu, **_vars(family))
        res = _grub_check(tmp_path, grub)
        assert res.returncode == 0, (res.stdout, res.stderr, grub)
        assert grub.count("menuentry ") == 1
        assert "menuentry 'RHEL 9.5 \"netinstall\" (it'\\''s) {x} $y; #z \\ LABEL evil' --id rhel95 {" in grub
        pxe = parse(_render("pxelinux.cfg.j2", __boot_loader_menu=menu, **_vars(family)))
        assert pxe["order"] == ["rhel95"], pxe
        entry = pxe["labels"]["rhel95"]
        assert entry["MENU"] == ["LABEL " + TITLE]
        assert entry["APPEND"].split(" ")[-5:-1] == ARGS


@pytest.mark.parametrize("change,message", [
    ({"title": "RHEL\nLABEL evil\n  KERNEL ::/evil"}, "boot image 'rhel95': title: 'RHEL\\nLABEL evil\\n  KERNEL ::/evil' contains a line break"),
    ({"kernel_args": ["quiet\nLABEL evil"]}, "boot image 'rhel95': kernel argument 'quiet\\nLABEL evil' contains white space"),
    ({"kernel_args": ["a}"]}, "boot image 'rhel95': kernel argument 'a}' contains }"),
])
def test_boot_menu_refuses_what_bypassed_the_model(change, message):
    images = copy.deepcopy(IMAGES)
    images["rhel95"].update(change)
    with pytest.raises(bm.BootMenuError) as exc:
        bm.default_menu(NETWORKS, images)
    assert str(exc.value).startswith(message), str(exc.value)
