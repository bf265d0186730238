"""Port GUID identities, checked against vectors copied from public documents, code and logs.

Each vector names where it was copied from. Derived values (a client-id form the source
does not show) are computed by the rule the docs cite, and are marked as derived.
"""
import pytest

from ansible_collections.fabric.boot.plugins.module_utils.fabric_identity import (
    IdentityError,
    PortGuid,
    check_forms,
    parse_mac,
)

# (source, value as printed there, the GUID it carries)
PUBLIC_GUID_VECTORS = [
    # 1. NVIDIA FlexBoot "Diskless Machines" guide, dhclient.conf example for a ConnectX port
    #    send dhcp-client-identifier ff:00:...:00:02:c9:03:00:00:10:39
    ("NVIDIA FlexBoot guide, dhclient.conf for ConnectX",
     "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:00:10:39", "00:02:c9:03:00:00:10:39"),
    # 2. Cornelis "Configuring Boot Over Fabric", dhcpd log line:
    #    "DHCPACK on 192.168.100.2 to 20:d0:06:6a:02:01:00:00:30"
    ("Cornelis Boot over Fabric guide, dhcpd DHCPACK log", "20:d0:06:6a:02:01:00:00:30", "d0:06:6a:02:01:00:00:30"),
    # 3. InfiniBand Linux configuration notes, ibv_devices output
    #    "mlx5_0 08c0eb0300f82cbc" (bare 16 hex digits)
    ("IB Linux notes, ibv_devices output", "08c0eb0300f82cbc", "08:c0:eb:03:00:f8:2c:bc"),
    # 4. Same notes, `rdma dev` output "node_guid 9803:9b03:0067:ab58" (ibv_devinfo notation)
    ("IB Linux notes, rdma dev output", "9803:9b03:0067:ab58", "98:03:9b:03:00:67:ab:58"),
    # 5. openstack/ironic-python-agent, ironic_python_agent/tests/unit/hardware_managers/test_mlnx.py:
    #    IB_ADDRESS (a 20-byte IPoIB hardware address)
    ("ironic-python-agent test_mlnx.py IB_ADDRESS",
     "a0:00:00:27:fe:80:00:00:00:00:00:00:7c:fe:90:03:00:29:26:52", "7c:fe:90:03:00:29:26:52"),
    # 6. openstack/ironic, ironic/tests/unit/drivers/modules/network/test_neutron.py: CLIENT_ID1,
    #    type 20 followed by the whole 20-byte hardware address
    ("ironic test_neutron.py CLIENT_ID1",
     "20:00:55:04:01:fe:80:00:00:00:00:00:00:00:02:c9:02:00:23:13:92", "00:02:c9:02:00:23:13:92"),
    # 7. `ip link` transcript of a ConnectX ib0 (public MLNX_OFED install notes found by code search):
    #    "link/infiniband a0:00:02:20:fe:80:00:00:00:00:00:00:00:02:c9:03:00:ea:99:41"
    ("ip link show ib0 transcript", "a0:00:02:20:fe:80:00:00:00:00:00:00:00:02:c9:03:00:ea:99:41",
     "00:02:c9:03:00:ea:99:41"),
    # 8. nmcli example with an infiniband.mac-address (public NetworkManager IPoIB notes):
    #    "infiniband.mac-address 80:00:02:18:fe:80:00:00:00:00:00:00:00:02:c9:03:00:2f:35:11"
    ("nmcli infiniband.mac-address example", "80:00:02:18:fe:80:00:00:00:00:00:00:00:02:c9:03:00:2f:35:11",
     "00:02:c9:03:00:2f:35:11"),
    # 9. Rocks cluster `rocks list host interface` output, upper case
    ("Rocks host interface listing", "80:00:00:48:FE:80:00:00:00:00:00:00:00:02:C9:03:00:50:5E:95",
     "00:02:c9:03:00:50:5e:95"),
    # 10. hwloc lstopo output with a non-default GID subnet prefix (fe80::1): still the last 8 bytes
    ("hwloc lstopo Net ib0", "80:34:00:48:fe:80:00:00:00:00:00:01:00:02:c9:03:00:0b:53:49", "00:02:c9:03:00:0b:53:49"),
]


@pytest.mark.parametrize("source,value,guid", PUBLIC_GUID_VECTORS, ids=[v[0] for v in PUBLIC_GUID_VECTORS])
def test_public_vectors_recover_the_guid(source, value, guid):
    assert PortGuid.parse(value).canonical == guid


def test_flexboot_client_id_matches_nvidia_guide():
    # Seed 000: the FlexBoot client-id of port GUID 00:02:c9:03:00:00:10:39, byte for byte.
    guid = PortGuid.parse("0x0002c90300001039")
    assert guid.client_id("flexboot") == "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:00:10:39"


def test_flexboot_client_id_and_mac_match_ironic_python_agent():
    # ironic-python-agent test_mlnx.py: CLIENT_ID and the "InfiniBand MAC" of IB_ADDRESS.
    guid = PortGuid.parse("a0:00:00:27:fe:80:00:00:00:00:00:00:7c:fe:90:03:00:29:26:52")
    assert guid.client_id("flexboot") == "ff:00:00:00:00:00:02:00:00:02:c9:00:7c:fe:90:03:00:29:26:52"
    assert guid.mac48 == "7c:fe:90:29:26:52"


def test_htype32_client_id_matches_cornelis_log():
    # Seed 001: NetworkManager on the client sent 20:<GUID>, logged by dhcpd.
    assert PortGuid.parse("d0:06:6a:02:01:00:00:30").client_id("htype32") == "20:d0:06:6a:02:01:00:00:30"


def test_ipxe_client_id_is_01_plus_mac48():
    # iPXE src/drivers/net/ipoib.c: ll_proto ARPHRD_ETHER, 6-byte address = GUID bytes 0-2 and 5-7.
    guid = PortGuid.parse("7c:fe:90:03:00:29:26:52")
    assert guid.client_id("ipxe") == "01:7c:fe:90:29:26:52"


def test_link_local_matches_ip_addr_transcript():
    # `ip addr show dev ib0` on a ConnectX node: link/infiniband ...00:02:c9:03:00:4e:47:cf,
    # "inet6 fe80::202:c903:4e:47cf/64 scope link" (Linux addrconf_ifid_infiniband sets bit 0x02).
    assert PortGuid.parse("0x0002c903004e47cf").link_local == "fe80::202:c903:4e:47cf"


def test_link_local_keeps_a_set_universal_local_bit():
    # Linux ORs the bit in (|= 2) rather than flipping it as EUI-48 does.
    assert PortGuid.parse("02:02:c9:03:00:4e:47:cf").link_local == "fe80::202:c903:4e:47cf"


@pytest.mark.parametrize("value", [
    "0x0002c903000c7811", "0X0002C903000C7811", "0002:c903:000c:7811", "00:02:c9:03:00:0c:78:11",
    "00-02-C9-03-00-0C-78-11", "0002c903000c7811", " 00:02:c9:03:00:0c:78:11 ",
    "20:00:02:c9:03:00:0c:78:11",
])
def test_every_field_notation(value):
    assert PortGuid.parse(value).canonical == "00:02:c9:03:00:0c:78:11"


def test_all_forms_and_hwaddr():
    guid = PortGuid.parse("0x0002c903000c7811")
    assert guid.client_ids() == {
        "flexboot": "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11",
        "htype32": "20:00:02:c9:03:00:0c:78:11",
        "ipxe": "01:00:02:c9:0c:78:11",
    }
    assert guid.ipoib_hwaddr() == "80:00:00:48:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0c:78:11"
    assert guid.ipoib_hwaddr("a0:00:02:20:fe:80:00:00:00:00:00:00") == \
        "a0:00:02:20:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0c:78:11"
    # Every derived identity carries the GUID back.
    for form in ("flexboot", "htype32"):
        assert PortGuid.parse(guid.client_id(form)) == guid
    assert PortGuid.parse(guid.ipoib_hwaddr()) == guid


@pytest.mark.parametrize("value,fragment", [
    (None, "required"),
    ("", "empty"),
    ("   ", "empty"),
    (True, "required"),
    (123456, "quote it"),
    ("52:54:00:12:34:56", "Ethernet MAC"),
    ("01:00:02:c9:0c:78:11", "cannot be recovered"),
    ("00:02:c9:03:00:0c:78", "7 bytes"),
    ("00:02:c9:03:00:0c:78:11:22", "9 bytes"),
    ("0x0002c903000c781", "16 hex digits"),
    ("0x0002c903000c78111", "16 hex digits"),
    ("00:02:c9:03:00:0c:78:zz", "groups"),
    ("0:2:c9:3:0:c:78:11", "groups"),
    ("0002c903000c781g", "not a hex"),
    ("00:00:00:00:00:00:00:00", "all zero"),
])
def test_bad_input_names_the_value_and_the_notations(value, fragment):
    with pytest.raises(IdentityError) as err:
        PortGuid.parse(value)
    message = str(err.value)
    assert fragment in message
    assert "accepted" in message or "all zero" in message
    if isinstance(value, str) and value.strip():
        assert repr(value) in message


def test_unknown_form_and_bad_prefix():
    guid = PortGuid.parse("0x0002c903000c7811")
    with pytest.raises(IdentityError, match="form 'duid'"):
        guid.client_id("duid")
    with pytest.raises(IdentityError, match="must be 12"):
        guid.ipoib_hwaddr("80:00:00:48")


def test_mac_parsing():
    assert parse_mac("52-54-00-12-34-56") == "52:54:00:12:34:56"
    assert parse_mac("5254.0012.3456") == "52:54:00:12:34:56"
    assert parse_mac("525400123456") == "52:54:00:12:34:56"
    for bad, fragment in (("00:02:c9:03:00:0c:78:11", "port GUID"),
                          ("a0:00:02:20:fe:80:00:00:00:00:00:00:00:02:c9:03:00:ea:99:41", "IPoIB"),
                          ("01:00:5e:00:00:01", "multicast"), ("00:00:00:00:00:00", "all zero"),
                          (None, "required"), ("52:54:00:12:34", "5 bytes")):
        with pytest.raises(IdentityError, match=fragment):
            parse_mac(bad)


def test_check_forms():
    assert check_forms(["htype32"]) == ["htype32"]
    assert check_forms([]) == []
    with pytest.raises(IdentityError, match="'duid'"):
        check_forms(["htype32", "duid"])
    with pytest.raises(IdentityError, match="must be a list"):
        check_forms("htype32")
