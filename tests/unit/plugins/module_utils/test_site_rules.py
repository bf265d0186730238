"""validate_site: everything a role would trip over later, each problem naming host, field and value."""
import copy

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import (
    mtu_rule,
    pkey_rule,
    reservations,
    validate_site,
)

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "boot_image": "rhel95"},
    "mgmt": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1", "client_id_forms": []},
}
IMAGES = {"rhel95": {"kernel": "images/rhel95/vmlinuz", "initrd": "images/rhel95/initrd.img",
                     "title": "RHEL 9.5 \"netinstall\" (it's)", "kernel_args": ["inst.ks=http://x/ks?a=1&b=$2"]}}


def ib(name="ib0", guid="0x0002c903000c7811", ip="192.168.100.11", net="fabric0", **extra):
    return dict(name=name, type="infiniband", port_guid=guid, ipv4=ip, network=net, **extra)


def eth(name="eno1", mac="52:54:00:12:34:56", ip="10.0.0.11", net="mgmt", **extra):
    return dict(name=name, type="ethernet", mac=mac, ipv4=ip, network=net, **extra)


def nodes(**hosts):
    return dict((h, {"interfaces": ifs, "boot_image": None}) for h, ifs in hosts.items())


def site(hosts=None, nets=None, images=None, isos=None):
    return validate_site(hosts or {}, nets if nets is not None else NETWORKS,
                         images if images is not None else IMAGES, isos)[1]


def test_a_good_site_with_hostile_but_legal_values_passes():
    assert site(nodes(node001=[ib(mtu=2044, transport_mode="datagram"), eth(mtu=9000)]),
                isos=[{"name": "RHEL95", "src": "/srv/iso/x.iso"}]) == []


def test_overlapping_subnets():
    nets = copy.deepcopy(NETWORKS)
    nets["wide"] = {"subnet": "192.168.0.0/16", "boot_server": "192.168.0.1"}
    assert site(nets=nets) == [
        "fabric_networks.fabric0.subnet: 192.168.100.0/24 overlaps fabric_networks.wide.subnet 192.168.0.0/16; "
        "dhcpd would refuse to start (\"matches multiple shared networks\")"]


@pytest.mark.parametrize("change,expected", [
    ({"domain_name": 'cluster.example"; deny booting; #'},
     "fabric_networks.fabric0.domain_name: 'cluster.example\"; deny booting; #' is not a DNS name"),
    ({"description": "IPoIB\nsubnet 0.0.0.0"}, "fabric_networks.fabric0.description: 'IPoIB\\nsubnet 0.0.0.0' contains a line break"),
    ({"mtu": 65521}, "fabric_networks.fabric0.mtu: 65521 is outside 576-65520"),
    ({"mtu": "big"}, "fabric_networks.fabric0.mtu: 'big' is not an integer"),
    ({"boot_image": "sles"}, "fabric_networks.fabric0.boot_image: 'sles' is not in fabric_boot_images"),
])
def test_network_values(change, expected):
    nets = copy.deepcopy(NETWORKS)
    nets["fabric0"].update(change)
    problems = site(nets=nets)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_network_name_that_is_not_plain():
    nets = {"a b": dict(NETWORKS["mgmt"])}
    assert site(nets=nets)[0].startswith("fabric_networks.a b: 'a b' is not a usable network name")


@pytest.mark.parametrize("change,expected", [
    ({"kernel": "../../etc/cron.d/evil"}, "fabric_boot_images.rhel95.kernel: '../../etc/cron.d/evil' has an empty, '.' or '..'"),
    ({"initrd": "images/../../../x"}, "fabric_boot_images.rhel95.initrd: 'images/../../../x' has an empty"),
    ({"kernel_src": "../x"}, "fabric_boot_images.rhel95.kernel_src: '../x' has an empty"),
    ({"repo": "../.."}, "fabric_boot_images.rhel95.repo: '../..' has an empty"),
    ({"repo": "http://x/a b"}, "fabric_boot_images.rhel95.repo: 'http://x/a b' contains white space"),
    ({"title": "RHEL\nLABEL evil\n  KERNEL ::/evil"}, "fabric_boot_images.rhel95.title: 'RHEL\\nLABEL evil\\n  KERNEL ::/evil' contains a line break"),
    ({"kernel_args": ["quiet", "a}"]}, "fabric_boot_images.rhel95.kernel_args[1]: 'a}' contains }"),
    ({"kernel_args": ["quiet\ninitrd ::/evil"]}, "fabric_boot_images.rhel95.kernel_args[0]: 'quiet\\ninitrd ::/evil' contains white space"),
    ({"kernel_args": "quiet splash"}, "fabric_boot_images.rhel95.kernel_args[0]: 'quiet splash' contains white space"),
    ({"driver_modules": ["mlx5_ib rd.break"]}, "fabric_boot_images.rhel95.driver_modules[0]: 'mlx5_ib rd.break' is not a kernel module"),
    ({"repo_arg": "inst.repo=x"}, "fabric_boot_images.rhel95.repo_arg: 'inst.repo=x' is not a kernel parameter name"),
])
def test_image_values(change, expected):
    images = copy.deepcopy(IMAGES)
    images["rhel95"].update(change)
    problems = site(images=images)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_image_name_and_shape():
    problems = site(nets={}, images={"..": {"kernel": "k"}, "ok": "text"})
    assert len(problems) == 2, problems
    assert problems[0].startswith("fabric_boot_images...: '..' is not a plain name")
    assert problems[1] == "fabric_boot_images.ok: must be a dictionary, got 'text'"


@pytest.mark.parametrize("isos,expected", [
    ([{"name": "..", "src": "/x.iso"}], "http_server_isos[0].name: '..' is not a plain name"),
    ([{"name": ".", "src": "/x.iso"}], "http_server_isos[0].name: '.' is not a plain name"),
    ([{"name": "a/b", "src": "/x.iso"}], "http_server_isos[0].name: 'a/b' is not a plain name"),
    ([{"name": "A"}, {"name": "A"}], "http_server_isos[1].name: 'A' is also http_server_isos[0].name"),
    ("RHEL95", "http_server_isos: must be a list"),
])
def test_iso_names(isos, expected):
    problems = site(isos=isos)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("iface,expected", [
    (ib(mtu=65521), "node001: fabric_interfaces (ib0).mtu: 65521 is outside 576-65520"),
    (ib(mtu=9000, transport_mode="datagram"), "node001: fabric_interfaces (ib0).mtu: 9000 is larger than InfiniBand datagram mode allows"),
    (ib(transport_mode="fast"), "node001: fabric_interfaces (ib0).transport_mode: 'fast' is not one of datagram, connected"),
    (ib(pkeys=[{"pkey": "0x8000", "network": "fabric0"}]), "node001: fabric_interfaces (ib0).pkeys[0].pkey: '0x8000' is not a usable P_Key"),
    (ib(pkeys=[{"pkey": 0x10000, "network": "fabric0"}]), "node001: fabric_interfaces (ib0).pkeys[0].pkey: 65536 is outside 1-65535"),
    (ib(pkeys=[{"pkey": 1, "network": "nowhere"}]), "node001: fabric_interfaces (ib0).pkeys[0].network: 'nowhere' is not a network"),
    (ib(pkeys="0x8001"), "node001: fabric_interfaces (ib0).pkeys: must be a list"),
    (eth(pkeys=[{"pkey": 1, "network": "mgmt"}]), "node001: fabric_interfaces (eno1).pkeys: P_Keys exist only on infiniband"),
    (eth(mtu=9217), "node001: fabric_interfaces (eno1).mtu: 9217 is outside 576-9216"),
])
def test_client_values_caught_before_the_servers(iface, expected):
    problems = site(nodes(node001=[iface]))
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_network_mtu_checked_for_each_interface_type():
    nets = copy.deepcopy(NETWORKS)
    nets["mgmt"]["mtu"] = 65520
    problems = site(nodes(node001=[eth()]), nets=nets)
    assert problems == ["node001: fabric_interfaces (eno1): network mgmt mtu 65520 is outside 576-9216 "
                        "for this ethernet interface"]


def test_reservation_names_that_collide_after_normalisation():
    hosts = nodes(**{"cn1": [ib(name="ib-a")], "cn1-ib": [ib(name="a", guid="0x0002c903000c7812", ip="192.168.100.12")]})
    problems = site(hosts)
    assert problems[0] == ("DHCP host name cn1-ib-a-flexboot is made by cn1:ib-a, cn1-ib:a "
                           "(host-interface-form, other characters as _); rename one interface or host")
    assert len(problems) == 3  # flexboot, htype32 and ipxe names all collide


def test_empty_client_id_forms_means_no_fabric_reservations():
    nets = copy.deepcopy(NETWORKS)
    nets["fabric0"]["client_id_forms"] = []
    model, problems = validate_site(nodes(node001=[ib(), eth()]), nets, IMAGES)
    assert problems == []
    res = reservations(model["nodes"], model["networks"])
    assert res["fabric0"] == [] and [r["name"] for r in res["mgmt"]] == ["node001-eno1"]
    # Raw networks without the key still get every form.
    del nets["fabric0"]["client_id_forms"]
    res = reservations(model["nodes"], nets)
    assert [r["form"] for r in res["fabric0"]] == ["flexboot", "htype32", "ipxe"]


def test_names_with_a_trailing_newline_are_refused():
    problems = site(nodes(**{"node001\n": [ib(name="ib0\n")]}))
    assert any(p.startswith("node001\n: inventory name is not a valid RFC 1123 host name") for p in problems), problems
    assert any("fabric_interfaces[0].name: 'ib0\\n' is not a Linux interface name" in p for p in problems), problems


@pytest.mark.parametrize("value,itype,mode,result", [
    (2044, "infiniband", "datagram", (2044, None)),
    ("65520", "infiniband", "connected", (65520, None)),
    (10236, "omnipath", "datagram", (10236, None)),
    (True, None, None, (None, "is not an integer")),
    (575, None, None, (None, "is outside 576-65520")),
])
def test_mtu_rule(value, itype, mode, result):
    assert mtu_rule(value, itype, mode) == result


def test_pkey_rule():
    assert pkey_rule("0x8001") == (0x8001, None)
    assert pkey_rule(0) == (None, "is outside 1-65535")
