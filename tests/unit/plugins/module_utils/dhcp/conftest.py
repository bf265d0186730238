"""Shared inputs of the DHCP renderer tests: the frozen inventories under golden/."""
import json
import os

import pytest

from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory
from ansible_collections.fabric.boot.plugins.module_utils.dhcp import intent as dhcp_intent

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
CASES = sorted(os.listdir(GOLDEN))
BOOT_FILES = {
    "bios": "pxelinux/pxelinux.0",
    "efi_x64": "uefi/grubx64.efi",
    "efi_x64_secure_boot": "uefi-sb/shimx64.efi",
    "efi_arm64": "uefi/grubaa64.efi",
    "http_x64": "uefi/grubx64-http.efi",
}


def load_case(name):
    with open(os.path.join(GOLDEN, name, "input.json")) as f:
        data = json.load(f)
    return data


def build_intent(networks, nodes, settings):
    """The role's path: validate, join once, build the intent."""
    model, problems = fabric_inventory.validate_site(
        dict((h, {"interfaces": i}) for h, i in nodes.items()), networks)
    assert not problems, problems
    res = fabric_inventory.reservations(model["nodes"], model["networks"])
    settings = dict(settings)
    settings.setdefault("boot_files", BOOT_FILES)
    return dhcp_intent.build(model["networks"], res, settings)


@pytest.fixture(params=CASES)
def golden_case(request):
    data = load_case(request.param)
    return request.param, build_intent(data["networks"], data["nodes"], data["settings"])
