"""The inventory model: one pass, every problem reported, reservations derived from one GUID."""
import copy

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import (
    ModelError,
    reservations,
    validate,
)

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "gateway": "192.168.100.254",
                "dynamic_range": ["192.168.100.200", "192.168.100.230"], "boot_image": "rhel95"},
    "mgmt": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1", "client_id_forms": ["htype32"]},
}


def ib(name="ib0", guid="0x0002c903000c7811", ip="192.168.100.11", net="fabric0", **extra):
    return dict(name=name, type="infiniband", port_guid=guid, ipv4=ip, network=net, **extra)


def eth(name="eno1", mac="52:54:00:12:34:56", ip="10.0.0.11", net="mgmt"):
    return dict(name=name, type="ethernet", mac=mac, ipv4=ip, network=net)


def nodes(**hosts):
    return dict((h, {"interfaces": ifs, "boot_image": None}) for h, ifs in hosts.items())


def test_valid_model_is_normalised():
    model, problems = validate(nodes(node001=[ib(transport_mode="connected"), eth()],
                                     bootsrv=None), NETWORKS)
    assert problems == []
    assert set(model["nodes"]) == {"node001"}
    ib0, eno1 = model["nodes"]["node001"]
    assert ib0["port_guid"] == "00:02:c9:03:00:0c:78:11"
    assert ib0["transport_mode"] == "connected" and ib0["prefix"] == 24 and ib0["boot_image"] == "rhel95"
    assert eno1["mac"] == "52:54:00:12:34:56" and eno1["boot_image"] is None
    assert model["networks"]["fabric0"]["netmask"] == "255.255.255.0"
    assert model["networks"]["fabric0"]["client_id_forms"] == ["flexboot", "htype32", "ipxe"]


def test_every_problem_in_one_pass():
    bad = nodes(
        node001=[ib(guid="52:54:00:12:34:56")],                       # MAC where a GUID is required
        node002=[ib(ip="192.168.100.12")],
        node003=[ib(guid="0002:c903:000c:7811", ip="192.168.100.12")],  # same GUID and IP as node002
        NODE003=[eth(mac="00:02:c9:03:00:0c:78:11", ip="10.0.0.3")],   # GUID where a MAC is required
        node004=[ib(guid="0x1111111111111111", ip="192.168.101.4")],   # outside its subnet
        node005=[ib(guid="0x2222222222222222", ip="192.168.100.210")],  # inside the dynamic range
        node006=[ib(guid="0x3333333333333333", ip="192.168.100.1")],   # the boot server
        node007=[ib(guid="0x4444444444444444", ip="192.168.100.255")],  # broadcast
        node008=[ib(guid="0x5555555555555555", ip="192.168.100.8", net="nosuch")],
        node_9=[eth(mac="52:54:00:00:00:09", ip="10.0.0.9")],          # not a host name
        node010=[ib(guid="0x6666666666666666", ip="192.168.100.20"), ib(guid="0x7777777777777777", ip="192.168.100.21")],
    )
    _unused, problems = validate(bad, NETWORKS)
    text = "\n".join(problems)
    expected = [
        "node001: fabric_interfaces[0] (ib0).port_guid '52:54:00:12:34:56' is 6 bytes, an Ethernet MAC",
        "port GUID 00:02:c9:03:00:0c:78:11 is used by node002:ib0, node003:ib0",
        "IPv4 address 192.168.100.12 is used by node002:ib0, node003:ib0",
        "NODE003: fabric_interfaces[0] (eno1).mac '00:02:c9:03:00:0c:78:11' is 8 bytes, a port GUID",
        "node003: same host name as NODE003",
        "node004: fabric_interfaces[0] (ib0).ipv4: 192.168.101.4 is outside subnet 192.168.100.0/24",
        "node005: fabric_interfaces[0] (ib0).ipv4: 192.168.100.210 is inside the dynamic range",
        "node006: fabric_interfaces[0] (ib0).ipv4: 192.168.100.1 is the boot server address",
        "node007: fabric_interfaces[0] (ib0).ipv4: 192.168.100.255 is the broadcast address",
        "node008: fabric_interfaces[0] (ib0).network: 'nosuch' is not a network",
        "node_9: inventory name is not a valid RFC 1123 host name",
        "node010: fabric_interfaces[1].name: ib0 appears twice",
    ]
    for line in expected:
        assert line in text, line
    assert len(problems) == len(expected), text
    # The error raised for Ansible lists every line under one heading.
    assert str(ModelError(problems)).count("\n  - ") == len(expected)


@pytest.mark.parametrize("change,fragment", [
    ({"subnet": "192.168.100.1/24"}, "host bits zero"),
    ({"subnet": "bogus"}, "is not an IPv4 network"),
    ({"boot_server": "10.1.1.1"}, "boot_server: 10.1.1.1 is outside"),
    ({"gateway": "192.168.100.0"}, "network address"),
    ({"dynamic_range": ["192.168.100.230", "192.168.100.200"]}, "is after last"),
    ({"dynamic_range": ["192.168.100.1", "192.168.100.9"]}, "contains the boot server"),
    ({"dynamic_range": "192.168.100.2"}, "must be [first, last]"),
    ({"client_id_forms": ["duid"]}, "unknown form(s) 'duid'"),
    ({"colour": "blue"}, "unknown key(s) colour"),
])
def test_network_problems(change, fragment):
    nets = copy.deepcopy(NETWORKS)
    nets["fabric0"].update(change)
    _unused, problems = validate({}, nets)
    assert any(fragment in p for p in problems), problems


def test_missing_networks_and_non_list_interfaces():
    _unused, problems = validate(nodes(node001="ib0"), None)
    assert "fabric_networks: is not defined" in problems[0]
    assert "node001: fabric_interfaces must be a list, got str" in problems


def test_unknown_boot_image():
    n = nodes(node001=[ib()])
    n["node001"]["boot_image"] = "sles"
    _unused, problems = validate(n, NETWORKS, boot_images={"rhel95": {}})
    assert problems == ["node001: fabric_boot_image 'sles' is not in fabric_boot_images (known: rhel95)"]


def test_reservations_one_per_form_same_address():
    hosts = {"node001.rack1": [ib(), eth()], "node002": [ib(guid="0x0002c903000c7812", ip=None)]}
    model, problems = validate(nodes(**hosts), NETWORKS)
    assert problems == []
    res = reservations(model["nodes"], model["networks"])
    fabric = res["fabric0"]
    assert [r["name"] for r in fabric] == ["node001_rack1-ib0-flexboot", "node001_rack1-ib0-htype32",
                                           "node001_rack1-ib0-ipxe"]
    assert {r["ipv4"] for r in fabric} == {"192.168.100.11"}
    assert {r["form"]: r["client_id"] for r in fabric} == {
        "flexboot": "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11",
        "htype32": "20:00:02:c9:03:00:0c:78:11",
        "ipxe": "01:00:02:c9:0c:78:11",
    }
    assert res["mgmt"] == [{"name": "node001_rack1-eno1", "host": "node001.rack1", "interface": "eno1",
                            "type": "ethernet", "ipv4": "10.0.0.11", "network": "mgmt", "boot_image": None,
                            "mac": "52:54:00:12:34:56", "form": None}]
