"""validate_inventory's json_text: the nodes as one JSON string read by every filter as the dict is."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.filter.boot_menu import FilterModule as MenuFilters
from ansible_collections.fabric.boot.plugins.filter.fabric_inventory import dhcp_reservations
from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory as fi

M = MenuFilters().filters()

NETWORKS = {"fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "boot_image": "rhel95"}}
IMAGES = {"rhel95": {"kernel": "images/rhel95/vmlinuz", "initrd": "images/rhel95/initrd.img"}}
NODES = {"node001": {"interfaces": [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811",
                                     "ipv4": "192.168.100.11", "network": "fabric0"}]}}


@pytest.fixture(name="model")
def model_fixture():
    model, problems = fi.validate_site(NODES, NETWORKS, IMAGES)
    assert not problems, problems
    return model


def test_text_round_trips_and_is_compact(model):
    text = fi.nodes_text(model["nodes"])
    assert isinstance(text, str) and ": " not in text and ", " not in text
    assert fi.nodes_value(text) == model["nodes"]
    assert fi.nodes_value(model["nodes"]) is model["nodes"]


def test_reservations_and_menus_are_the_same_from_text(model):
    text = fi.nodes_text(model["nodes"])
    assert dhcp_reservations(text, NETWORKS) == dhcp_reservations(model["nodes"], NETWORKS)
    assert M["boot_menus"](text, model["networks"], IMAGES) == M["boot_menus"](model["nodes"], model["networks"], IMAGES)


@pytest.mark.parametrize("bad,words", [("{node001", "not the JSON text"), ("[1, 2]", "got list"), (["a"], "got list")])
def test_bad_text_is_named(bad, words):
    with pytest.raises(AnsibleFilterError, match="dhcp_reservations: fabric_nodes: .*%s" % words):
        dhcp_reservations(bad, NETWORKS)
    with pytest.raises(AnsibleFilterError, match="boot_menus: fabric_nodes: .*%s" % words):
        M["boot_menus"](bad, NETWORKS, IMAGES)
