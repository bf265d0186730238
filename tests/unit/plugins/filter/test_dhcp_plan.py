"""fabric.boot.dhcp_plan: the intent as JSON text and its daemon, the same as the separate filters."""
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.filter.dhcp_config import FilterModule
from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory

F = FilterModule().filters()

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "relay": "192.168.100.254",
                "dynamic_range": ["192.168.100.200", "192.168.100.230"]},
    "mgmt": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1"},
}
NODES = {
    "node001": {"interfaces": [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811",
                                "ipv4": "192.168.100.11", "network": "fabric0"}]},
    "node002": {"interfaces": [{"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56",
                                "ipv4": "10.0.0.12", "network": "mgmt"}]},
}
BOOT_FILES = {"bios": "pxelinux/pxelinux.0", "efi_x64": "uefi/grubx64.efi",
              "efi_x64_secure_boot": "uefi-sb/shimx64.efi", "efi_arm64": "uefi/grubaa64.efi",
              "http_x64": "uefi/grubx64-http.efi"}
SETTINGS = {"boot_files": BOOT_FILES, "header": "Ansible managed"}


def _inputs(networks=None):
    model, problems = fabric_inventory.validate_site(NODES, networks or NETWORKS)
    assert not problems, problems
    return fabric_inventory.reservations(model["nodes"], model["networks"]), model["networks"]


@pytest.mark.parametrize("requested,family,major", [
    ("auto", "Debian", "12"), ("auto", "RedHat", "10"), ("kea", "Debian", "12"), ("dnsmasq", "RedHat", "9")])
def test_plan_matches_the_separate_filters(requested, family, major):
    res, nets = _inputs()
    intent = F["dhcp_intent"](res, nets, SETTINGS)
    plan = F["dhcp_plan"](res, nets, SETTINGS, requested, family, major)
    assert isinstance(plan["intent"], str)
    assert json.loads(plan["intent"]) == intent
    choice = F["dhcp_backend"](intent, requested, family, major)
    assert (plan["backend"], plan["reason"]) == (choice["backend"], choice["reason"])
    assert F["dhcp_backend"](plan["intent"], requested, family, major) == choice
    for backend in ("isc", "kea", "dnsmasq"):
        assert F["dhcp_config"](plan["intent"], backend) == F["dhcp_config"](intent, backend)
    assert "192.168.100.11" in F["dhcp_config"](plan["intent"], plan["backend"])


def test_auto_picks_dnsmasq_for_a_directly_attached_fabric():
    direct = dict(NETWORKS, fabric0={k: v for k, v in NETWORKS["fabric0"].items() if k != "relay"})
    res, nets = _inputs(direct)
    plan = F["dhcp_plan"](res, nets, SETTINGS, "auto", "RedHat", "10")
    assert plan["backend"] == "dnsmasq"
    assert "fabric0" in plan["reason"]


def test_plan_rejects_reservations_of_unserved_networks():
    res, nets = _inputs()
    with pytest.raises(AnsibleFilterError, match="not served"):
        F["dhcp_plan"](res, {"mgmt": nets["mgmt"]}, SETTINGS)


def test_config_names_bad_json_text():
    with pytest.raises(AnsibleFilterError, match="dhcp_config"):
        F["dhcp_config"]("{not json", "isc")


def test_plan_and_intent_are_the_same_from_reservations_as_text():
    """dhcp_server's default hands the reservations on as JSON text (dhcp_reservations json_text=true)."""
    from ansible_collections.fabric.boot.plugins.filter.fabric_inventory import dhcp_reservations
    model, problems = fabric_inventory.validate_site(NODES, NETWORKS)
    assert not problems, problems
    res = dhcp_reservations(model["nodes"], NETWORKS)
    text = dhcp_reservations(model["nodes"], NETWORKS, json_text=True)
    assert isinstance(text, str) and json.loads(text) == res
    nets = model["networks"]
    assert F["dhcp_intent"](text, nets, SETTINGS) == F["dhcp_intent"](res, nets, SETTINGS)
    assert F["dhcp_plan"](text, nets, SETTINGS, "auto", "Debian", "12") == F["dhcp_plan"](res, nets, SETTINGS, "auto", "Debian", "12")


@pytest.mark.parametrize("bad,words", [("{fabric0", "not the JSON text"), ("[1]", "got list"), (["x"], "got list")])
def test_bad_reservations_are_named(bad, words):
    for name in ("dhcp_plan", "dhcp_intent"):
        with pytest.raises(AnsibleFilterError, match="fabric.boot.%s: .*%s" % (name, words)):
            F[name](bad, {}, SETTINGS)
