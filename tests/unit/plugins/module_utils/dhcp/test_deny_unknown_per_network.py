"""fabric_networks.<net>.deny_unknown_clients: validation, the intent, and each renderer.

The daemons enforce it in tests/integration/dhcp/test_dhcp_protocol.py (an unknown client on the
refusing network gets no offer, on the other a pool address); here the structure is checked,
and that leaving the field out changes nothing."""
import copy
import json

import pytest

from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory
from ansible_collections.fabric.boot.plugins.module_utils.dhcp import dnsmasq, isc, kea
from ansible_collections.fabric.boot.plugins.module_utils.dhcp import intent as dhcp_intent
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import IntentError

from conftest import BOOT_FILES, build_intent, load_case


def _intent(deny_server, mgmt=None, fabric0=None):
    """fabric0 has a dynamic range already; mgmt gets one so both networks have strangers to refuse."""
    data = load_case("test-open-sb")
    networks = copy.deepcopy(data["networks"])
    networks["fabric0"]["relay"] = "192.168.100.254"   # Kea serves an IB network only through a relay
    networks["mgmt"]["dynamic_range"] = ["10.99.0.200", "10.99.0.230"]
    for name, value in (("mgmt", mgmt), ("fabric0", fabric0)):
        if value is not None:
            networks[name]["deny_unknown_clients"] = value
    return build_intent(networks, data["nodes"], {"deny_unknown_clients": deny_server})


def _by_name(intent):
    return dict((s["name"], s["deny_unknown_clients"]) for s in intent["subnets"])


@pytest.mark.parametrize("server,mgmt,want", [
    (False, None, {"fabric0": False, "mgmt": False}),
    (True, None, {"fabric0": True, "mgmt": True}),
    (True, False, {"fabric0": True, "mgmt": False}),
    (False, True, {"fabric0": False, "mgmt": True}),
])
def test_the_network_value_else_the_server_switch(server, mgmt, want):
    assert _by_name(_intent(server, mgmt)) == want


@pytest.mark.parametrize("bad", ["yes", "false", 1, 0, [], "True"])
def test_validate_rejects_a_non_boolean_naming_network_field_and_value(bad):
    networks = {"mgmt": {"subnet": "10.99.0.0/24", "boot_server": "10.99.0.1", "deny_unknown_clients": bad}}
    problems = []
    # Reported once; the network stays (field None), so its interfaces are not orphans as well.
    assert fabric_inventory.normalize_networks(networks, problems)["mgmt"]["deny_unknown_clients"] is None
    assert problems == ["fabric_networks.mgmt.deny_unknown_clients: must be true or false, got %r" % (bad,)]


def test_validate_keeps_the_value_and_none_when_absent():
    networks = {"a": {"subnet": "10.1.0.0/24", "boot_server": "10.1.0.1", "deny_unknown_clients": False},
                "b": {"subnet": "10.2.0.0/24", "boot_server": "10.2.0.1"}}
    problems = []
    out = fabric_inventory.normalize_networks(networks, problems)
    assert not problems
    assert (out["a"]["deny_unknown_clients"], out["b"]["deny_unknown_clients"]) == (False, None)


def test_the_intent_refuses_a_non_boolean_from_unvalidated_networks():
    data = load_case("test-open-sb")
    model, problems = fabric_inventory.validate_site(
        dict((h, {"interfaces": i}) for h, i in data["nodes"].items()), data["networks"])
    assert not problems
    networks = copy.deepcopy(model["networks"])
    networks["mgmt"]["deny_unknown_clients"] = "no"
    res = fabric_inventory.reservations(model["nodes"], model["networks"])
    with pytest.raises(IntentError, match=r"fabric_networks.mgmt.deny_unknown_clients must be true or false, got 'no'"):
        dhcp_intent.build(networks, res, {"boot_files": build_intent(data["networks"], data["nodes"], {})
                                          ["settings"]["boot_files"]})


def _subnet_block(text, network_address):
    return text.split("subnet %s netmask" % network_address, 1)[1].split("\n}\n", 1)[0]


@pytest.mark.parametrize("server", [False, True])
def test_isc_without_overrides_is_what_the_server_switch_alone_gives(server):
    """A field equal to the server switch writes nothing: the golden files stay byte-identical."""
    text = isc.render(_intent(server))
    assert isc.render(_intent(server, mgmt=server, fabric0=server)) == text
    assert ("\ndeny unknown-clients;\n" in text) == server
    assert "  deny unknown-clients;" not in text and "  allow unknown-clients;" not in text


def test_isc_writes_the_override_in_that_subnet_only():
    text = isc.render(_intent(False, mgmt=True))
    assert "\ndeny unknown-clients;\n" not in text
    assert "  deny unknown-clients;" in _subnet_block(text, "10.99.0.0")
    assert text.count("unknown-clients;") == 1
    text = isc.render(_intent(True, mgmt=False))
    assert "\ndeny unknown-clients;\n" in text                   # the server-wide statement stays
    assert "  allow unknown-clients;" in _subnet_block(text, "10.99.0.0")
    assert "  allow unknown-clients;" not in _subnet_block(text, "192.168.100.0")


def _kea_pools(intent):
    conf = json.loads(kea.render(intent))["Dhcp4"]
    return dict((s["user-context"]["fabric-network"], s["pools"][0].get("client-class")) for s in conf["subnet4"])


@pytest.mark.parametrize("server,mgmt,want", [
    (True, None, {"fabric0": "KNOWN", "mgmt": "KNOWN"}),
    (True, False, {"fabric0": "KNOWN", "mgmt": None}),
    (False, True, {"fabric0": None, "mgmt": "KNOWN"}),
    (False, None, {"fabric0": None, "mgmt": None}),
])
def test_kea_restricts_the_refusing_networks_pool_to_known_clients(server, mgmt, want):
    assert _kea_pools(_intent(server, mgmt)) == want


def _dnsmasq_lines(intent):
    return [line for line in dnsmasq.render(intent).splitlines() if line.startswith(("dhcp-range=", "dhcp-ignore="))]


def test_dnsmasq_one_global_ignore_when_every_network_refuses():
    assert _dnsmasq_lines(_intent(True)) == [
        "dhcp-ignore=tag:!known",
        "dhcp-range=set:net-fabric0,192.168.100.200,192.168.100.230,255.255.255.0,3600",
        "dhcp-range=set:net-mgmt,10.99.0.200,10.99.0.230,255.255.255.0,3600",
    ]


@pytest.mark.parametrize("server,mgmt,fabric0,want", [
    (True, False, None, ["dhcp-range=tag:known,set:net-fabric0,192.168.100.200,192.168.100.230,255.255.255.0,3600",
                         "dhcp-range=set:net-mgmt,10.99.0.200,10.99.0.230,255.255.255.0,3600"]),
    (False, True, None, ["dhcp-range=set:net-fabric0,192.168.100.200,192.168.100.230,255.255.255.0,3600",
                         "dhcp-range=tag:known,set:net-mgmt,10.99.0.200,10.99.0.230,255.255.255.0,3600"]),
    (False, True, True, [
        "dhcp-range=tag:known,set:net-fabric0,192.168.100.200,192.168.100.230,255.255.255.0,3600",
        "dhcp-range=tag:known,set:net-mgmt,10.99.0.200,10.99.0.230,255.255.255.0,3600"]),
])
def test_dnsmasq_filters_the_refusing_networks_range_on_the_known_tag(server, mgmt, fabric0, want):
    assert _dnsmasq_lines(_intent(server, mgmt, fabric0)) == want


def test_reservations_of_a_network_not_served_are_rejected():
    """dhcp_server has no assert of its own for this any more: the intent is the one guard
    against a dhcp_server_reservations override that names a network the server does not serve."""
    data = load_case("test-open-sb")
    with pytest.raises(IntentError, match="reservations name networks that are not served: elsewhere"):
        dhcp_intent.build(data["networks"], {"elsewhere": []}, {"boot_files": BOOT_FILES})
