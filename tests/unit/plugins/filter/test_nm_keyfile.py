"""fabric.boot.nm_profiles / nm_keyfile / nm_driver_modules: profiles derived from the inventory,
consistent with the DHCP reservations dhcp_server makes, and every inventory mistake named."""
import uuid

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fabric.boot.plugins.filter.nm_keyfile import FilterModule
from ansible_collections.fabric.boot.plugins.module_utils.fabric_inventory import reservations, validate
from ansible_collections.fabric.boot.plugins.module_utils.nm_keyfile import UUID_NAMESPACE

F = FilterModule().filters()

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "gateway": "192.168.100.254",
                "dns_servers": ["192.168.100.1", "192.168.100.2"], "domain_name": "cluster.example"},
    "storage": {"subnet": "10.20.0.0/16", "boot_server": "10.20.0.1", "client_id_forms": ["htype32"]},
    "jumbo": {"subnet": "10.30.0.0/24", "boot_server": "10.30.0.1", "mtu": 4092},
}


def ib0(**extra):
    iface = {"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811", "ipv4": "192.168.100.11",
             "network": "fabric0"}
    iface.update(extra)
    return iface


def one(interfaces, options=None, host="node001"):
    profiles = F["nm_profiles"](interfaces, NETWORKS, host, options)
    assert len(profiles) == 1, profiles
    return profiles[0]


GOLDEN_IB0_DHCP = """\
# Managed by fabric.boot (role fabric_client) from the inventory;
# local changes are overwritten on the next run.

[connection]
id=ib0
uuid=%s
type=infiniband
interface-name=ib0
autoconnect=true

[infiniband]
mtu=2044
transport-mode=datagram

[ipv4]
dhcp-client-id=20:00:02:c9:03:00:0c:78:11
method=auto

[ipv6]
addr-gen-mode=eui64
method=auto
""" % uuid.uuid5(UUID_NAMESPACE, "node001/ib0")


def test_filter_names():
    assert set(F) == {"nm_profiles", "nm_keyfile", "nm_driver_modules"}


def test_infiniband_dhcp_default_golden():
    p = one([ib0()])
    assert p["content"] == GOLDEN_IB0_DHCP
    assert (p["file"], p["device"], p["parent"], p["mtu"]) == ("ib0.nmconnection", "ib0", None, 2044)


def test_uuid_is_stable_and_per_host_and_interface():
    a = one([ib0()])["uuid"]
    assert a == one([ib0()])["uuid"]
    assert a != one([ib0()], host="node002")["uuid"]
    assert str(uuid.UUID(a)) == a and uuid.UUID(a).version == 5


@pytest.mark.parametrize("form", ["htype32", "flexboot", "ipxe"])
def test_client_id_matches_the_dhcp_reservation(form):
    """The profile sends exactly the client-id dhcp_server reserved for this host and interface."""
    p = one([ib0(client_id_form=form)])
    model, problems = validate({"node001": {"interfaces": [ib0()]}}, NETWORKS)
    assert problems == []
    reserved = [r for r in reservations(model["nodes"], model["networks"])["fabric0"] if r["form"] == form]
    assert [r["client_id"] for r in reserved] == [p["dhcp_client_id"]]


def test_client_id_none_leaves_networkmanager_default():
    assert "dhcp-client-id" not in one([ib0(client_id_form="none")])["content"]


def test_client_id_form_not_reserved_on_network_is_an_error():
    with pytest.raises(AnsibleFilterError, match="flexboot is not reserved on network storage"):
        F["nm_profiles"]([ib0(network="storage", ipv4="10.20.0.5", client_id_form="flexboot")], NETWORKS, "n1")


def test_static_takes_prefix_gateway_dns_from_network():
    s = one([ib0(dhcp=False)])["settings"]["ipv4"]
    assert s == {"method": "manual", "address1": "192.168.100.11/24", "gateway": "192.168.100.254",
                 "dns": "192.168.100.1;192.168.100.2;", "dns-search": "cluster.example;"}


def test_static_without_address_is_an_error():
    with pytest.raises(AnsibleFilterError, match="needs an ipv4 address"):
        F["nm_profiles"]([ib0(ipv4=None, dhcp=False)], NETWORKS, "n1")


def test_role_level_manual_method():
    assert one([ib0()], {"ipv4_method": "manual"})["ipv4_method"] == "manual"


@pytest.mark.parametrize("extra, options, mtu", [
    ({}, None, 2044),                                              # 2K IB link
    ({}, {"link_mtu": {"infiniband": 4096}}, 4092),                # 4K IB link
    ({"transport_mode": "connected"}, None, 65520),
    ({"mtu": 1500}, None, 1500),
    ({"network": "jumbo", "ipv4": "10.30.0.5"}, None, 4092),       # network mtu
    ({"type": "omnipath", "port_guid": "0011:7501:0101:2345"}, None, 4092),
    ({"type": "omnipath", "port_guid": "0011:7501:0101:2345", "transport_mode": "connected"}, None, 65520),
])
def test_mtu_fits_the_mode(extra, options, mtu):
    p = one([ib0(**extra)], options)
    assert p["mtu"] == mtu
    assert p["settings"]["connection"]["type"] == "infiniband"


def test_infiniband_datagram_mtu_above_4092_is_an_error():
    with pytest.raises(AnsibleFilterError, match="larger than InfiniBand datagram mode allows"):
        F["nm_profiles"]([ib0(mtu=9000)], NETWORKS, "n1")


def test_omnipath_datagram_may_go_above_4092():
    p = one([ib0(type="omnipath", port_guid="0011:7501:0101:2345", mtu=10236)])
    assert p["mtu"] == 10236


def test_match_port_guid_writes_20_byte_address_ending_in_guid():
    p = one([ib0(match_port_guid=True)])
    mac = p["settings"]["infiniband"]["mac-address"]
    assert len(mac.split(":")) == 20 and mac.endswith("00:02:c9:03:00:0c:78:11")


def test_pkey_child():
    profiles = F["nm_profiles"]([ib0(pkeys=[{"pkey": "0x8001", "network": "storage", "ipv4": "10.20.0.11",
                                             "dhcp": False, "transport_mode": "connected"},
                                            {"pkey": 0x8002, "network": "storage"}])], NETWORKS, "n1")
    assert [p["id"] for p in profiles] == ["ib0", "ib0.8001", "ib0.8002"]
    child = profiles[1]["settings"]["infiniband"]
    assert child == {"transport-mode": "connected", "mtu": "65520", "p-key": "0x8001", "parent": "ib0"}
    assert profiles[1]["device"] == "ib0" and profiles[1]["parent"] == "ib0"
    # A DHCP child presents the parent's GUID, as the port it runs on.
    assert profiles[2]["dhcp_client_id"] == "20:00:02:c9:03:00:0c:78:11"


@pytest.mark.parametrize("child, message", [
    ({"pkey": "0x8000", "network": "storage"}, "'0x8000' is not a usable P_Key"),
    ({"pkey": "0x10000", "network": "storage"}, "outside 1-65535"),
    ({"pkey": "zz", "network": "storage"}, "is not an integer"),
    ({"pkey": 1, "network": "nowhere"}, "'nowhere' is not a network"),
    ({"pkey": 1, "network": "storage", "name": "foo"}, "must be ib0.0001"),
    ({"pkey": 1, "network": "storage", "ipv4": "192.168.100.50"}, "outside subnet 10.20.0.0/16"),
])
def test_pkey_child_errors(child, message):
    with pytest.raises(AnsibleFilterError, match=message):
        F["nm_profiles"]([ib0(pkeys=[child])], NETWORKS, "n1")


def test_inventory_errors_are_all_listed_at_once():
    with pytest.raises(AnsibleFilterError) as err:
        F["nm_profiles"]([ib0(port_guid="52:54:00:12:34:56", network="nowhere"),
                          ib0(name="ib1", transport_mode="bogus")], NETWORKS, "n1")
    text = str(err.value)
    assert "fabric.boot.nm_profiles" in text
    assert "an Ethernet MAC, not a port GUID" in text and "'nowhere' is not a network" in text


def test_bad_extras_are_errors():
    with pytest.raises(AnsibleFilterError) as err:
        F["nm_profiles"]([ib0(transport_mode="bogus", ipv6_method="sometimes", dhcp="maybe")], NETWORKS, "n1")
    text = str(err.value)
    assert "'bogus' is not one of datagram, connected" in text
    assert "'sometimes'" in text and "'maybe' is not a boolean" in text


def test_ethernet_only_when_asked():
    eth = {"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:56", "ipv4": "192.168.100.20",
           "network": "fabric0"}
    assert F["nm_profiles"]([ib0(), eth], NETWORKS, "n1")[-1]["id"] == "ib0"
    p = F["nm_profiles"]([eth], NETWORKS, "n1", {"interface_types": ["ethernet"], "match_port_guid": True})[0]
    assert p["settings"]["connection"]["type"] == "ethernet"
    assert p["settings"]["ethernet"] == {"mac-address": "52:54:00:12:34:56"}
    assert "dhcp-client-id" not in p["settings"]["ipv4"]      # Ethernet: NetworkManager sends 01:<mac>


def test_nm_settings_override_and_remove():
    p = one([ib0(nm_settings={"ipv4": {"dhcp-timeout": 90, "dhcp-client-id": None},
                              "ethtool": {"feature-rx": True}})])
    assert p["settings"]["ipv4"] == {"method": "auto", "dhcp-timeout": "90"}
    assert "[ethtool]\nfeature-rx=true\n" in p["content"]


def test_nm_settings_cannot_inject_lines():
    with pytest.raises(AnsibleFilterError, match="cannot span lines"):
        one([ib0(nm_settings={"ipv4": {"dns": "1.1.1.1\n[connection]"}})])


def test_unknown_option_is_an_error():
    with pytest.raises(AnsibleFilterError, match="unknown key 'mode'"):
        F["nm_profiles"]([ib0()], NETWORKS, "n1", {"mode": "x"})


def test_nm_keyfile_renders_sections_in_networkmanager_order():
    text = F["nm_keyfile"]({"ipv4": {"method": "auto"}, "connection": {"id": "x", "type": "infiniband"}})
    assert text.index("[connection]") < text.index("[ipv4]")
    with pytest.raises(AnsibleFilterError):
        F["nm_keyfile"]({"ipv4": "method=auto"})


def test_driver_modules():
    catalogue = {"mlx4": ["mlx4_core", "mlx4_ib"], "mlx5": ["mlx5_core", "mlx5_ib"], "opa": ["hfi1"]}
    assert F["nm_driver_modules"](["mlx5", "opa", "mlx5"], catalogue) == ["mlx5_core", "mlx5_ib", "hfi1"]
    with pytest.raises(AnsibleFilterError, match="driver set 'cx9' is unknown"):
        F["nm_driver_modules"](["cx9"], catalogue)
