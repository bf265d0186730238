"""The normalised inventory of the fixture capture (tests/integration/boot_status/capture_inventory.yml)."""
import os

import yaml

from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))
INVENTORY = os.path.join(ROOT, "tests", "integration", "boot_status", "capture_inventory.yml")


def model():
    """validate()'s model: {"nodes": ..., "networks": ...}."""
    with open(INVENTORY) as f:
        inv = yaml.safe_load(f)["all"]
    nodes = dict((h, {"interfaces": v["fabric_interfaces"]}) for h, v in inv["children"]["nodes"]["hosts"].items())
    m, problems = fabric_inventory.validate(nodes, inv["vars"]["fabric_networks"])
    assert not problems, problems
    return m


PACKET_TEST_INVENTORY = os.path.join(ROOT, "tests", "integration", "dhcp", "inventory.yml")


def packet_test_model():
    """The model of the DHCP packet test's inventory (tests/integration/dhcp/inventory.yml), whose
    daemons wrote kea-dhcp4-packet-test.log and dnsmasq-packet-test.log. Its mgmt network's
    deny_unknown_clients is a Jinja expression of the test's plays: left out here (it changes no
    identity, only who is answered)."""
    with open(PACKET_TEST_INVENTORY) as f:
        inv = yaml.safe_load(f)["all"]
    networks = inv["vars"]["fabric_networks"]
    networks["mgmt"].pop("deny_unknown_clients")
    nodes = dict((h, {"interfaces": v["fabric_interfaces"]}) for h, v in inv["children"]["nodes"]["hosts"].items())
    m, problems = fabric_inventory.validate(nodes, networks)
    assert not problems, problems
    return m
