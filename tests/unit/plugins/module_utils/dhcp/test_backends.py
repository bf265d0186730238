"""Kea and dnsmasq renderers and the backend choice, from the frozen test inventory.

The daemons themselves parse and serve these files in tests/integration/dhcp; here the
structure is checked: one reservation per form, the address on the htype32 form only, the
refusals with their messages, and auto with faked facts."""
import copy
import json

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.dhcp import backend, dnsmasq, kea
from ansible_collections.fabric.boot.plugins.module_utils.dhcp.intent import IntentError

from conftest import build_intent, load_case


def _intent(relay="192.168.100.254", **settings):
    data = load_case("test-open-sb")
    networks = copy.deepcopy(data["networks"])
    if relay:
        networks["fabric0"]["relay"] = relay
    return build_intent(networks, data["nodes"], settings)


def test_kea_reservations_by_client_id_per_form_and_hw_address():
    conf = json.loads(kea.render(_intent(), ["br0"], "/var/lib/kea/x.csv"))["Dhcp4"]
    fabric0 = conf["subnet4"][0]
    assert fabric0["subnet"] == "192.168.100.0/24" and fabric0["relay"] == {"ip-addresses": ["192.168.100.254"]}
    by_id = dict((r.get("client-id") or r.get("hw-address"), r) for r in fabric0["reservations"])
    assert by_id["20:00:02:c9:03:00:0c:78:11"]["ip-address"] == "192.168.100.11"
    # Boot-stage forms: reserved (known, host name) but without the port's address.
    for cid in ("ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11", "01:00:02:c9:0c:78:11"):
        assert "ip-address" not in by_id[cid] and by_id[cid]["hostname"] == "node001"
    assert by_id["52:54:00:12:34:56"]["ip-address"] == "192.168.100.12"
    # node003's port has secure_boot: true on a plain-UEFI network: its own class.
    assert by_id["20:00:11:75:01:01:7a:12:34"]["client-classes"] == [kea.PORT_SB]
    assert conf["interfaces-config"]["interfaces"] == ["br0"]
    assert conf["lease-database"]["name"] == "/var/lib/kea/x.csv"
    names = [c["name"] for c in conf["client-classes"]]
    assert "fabric-fabric0-http-x64" in names and "fabric-mgmt-efi64" in names


def test_kea_port_secure_boot_class():
    conf = json.loads(kea.render(_intent(secure_boot=True)))["Dhcp4"]
    by_id = dict((r.get("client-id") or r.get("hw-address"), r) for r in conf["subnet4"][0]["reservations"])
    # Secure Boot server-wide: the port's secure_boot: true is its network's too, no class.
    assert "client-classes" not in by_id["20:00:11:75:01:01:7a:12:34"]
    # Port classes come first in every subnet's required classes: the first class with a file wins.
    assert conf["subnet4"][0]["require-client-classes"][:2] == ["fabric-efi64-port-sb", "fabric-efi64-port-plain"]


def test_kea_refuses_a_directly_attached_fabric_network():
    with pytest.raises(IntentError, match=r"network fabric0 has InfiniBand/Omni-Path ports but no relay.*"
                                          r"fabric_networks.fabric0.relay"):
        kea.render(_intent(relay=None))


def test_kea_and_dnsmasq_refuse_isc_snippets():
    for render in (kea.render, dnsmasq.render):
        with pytest.raises(IntentError, match="dhcp_server_global_snippet"):
            render(_intent(global_snippet="ping-check false;"))


def test_a_boot_pool_is_required_for_the_boot_stage_forms():
    data = load_case("test-open-sb")
    networks = copy.deepcopy(data["networks"])
    networks["fabric0"]["dynamic_range"] = None
    intent = build_intent(networks, data["nodes"], {})
    with pytest.raises(IntentError, match="network fabric0: dnsmasq .* node001:ib0"):
        dnsmasq.render(intent)
    networks["fabric0"]["client_id_forms"] = ["htype32"]
    dnsmasq.render(build_intent(networks, data["nodes"], {}))   # one form: no pool needed


def test_dnsmasq_hosts_and_boot_lines():
    text = dnsmasq.render(_intent(relay=None, deny_unknown_clients=True), ["ib0"], "/var/lib/misc/l")
    lines = text.splitlines()
    assert "port=0" in lines and "dhcp-no-override" in lines and "dhcp-ignore=tag:!known" in lines
    assert not any(line.startswith("enable-tftp") for line in lines)
    assert "dhcp-host=id:20:00:02:c9:03:00:0c:78:11,192.168.100.11,node001" in lines
    assert "dhcp-host=id:01:00:02:c9:0c:78:11" in lines
    assert "dhcp-host=52:54:00:12:34:56,192.168.100.12,node002" in lines
    boot = [line for line in lines if line.startswith("dhcp-boot=tag:net-fabric0,")]
    assert "dhcp-boot=tag:net-fabric0,tag:fb-pxe,tag:fb-arm64,uefi/grubaa64.efi,,192.168.100.1" in boot
    # The boot file also as option 67, for every dhcp-boot line.
    assert len([line for line in lines if ",67," in line]) == len([line for line in lines if line.startswith("dhcp-boot=")])


def test_dnsmasq_refuses_a_value_that_would_be_syntax():
    intent = _intent()
    intent["settings"]["boot_files"] = dict(intent["settings"]["boot_files"], bios="a,b")
    intent["subnets"][0]["boot"]["bios"] = "a,b"
    with pytest.raises(IntentError, match="boot file 'a,b'"):
        dnsmasq.render(intent)


@pytest.mark.parametrize("family,version,relay,want", [
    ("Debian", "12", None, "isc"),
    ("RedHat", "9", None, "isc"),
    ("RedHat", "10", "192.168.100.254", "kea"),
    ("RedHat", "10", None, "dnsmasq"),
])
def test_auto_with_faked_facts(family, version, relay, want):
    got, reason = backend.choose("auto", family, version, _intent(relay=relay))
    assert got == want, reason
    assert reason.startswith("auto: %s %s" % (family, version))


def test_auto_on_el10_names_the_networks_kea_cannot_serve():
    _got, reason = backend.choose("auto", "RedHat", "10", _intent(relay=None))
    assert "fabric0" in reason and "mgmt" not in reason


def test_explicit_backend_and_bad_values():
    assert backend.choose("kea", "Debian", "12", _intent())[0] == "kea"
    with pytest.raises(IntentError, match="dhcp_server_backend: 'bind'"):
        backend.choose("bind", "Debian", "12", _intent())
    with pytest.raises(IntentError, match="dhcp_server_os_version ''"):
        backend.choose("auto", "RedHat", "", _intent())


def test_relay_is_validated_in_the_inventory():
    from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory
    nets = {"f": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1", "relay": "10.0.0.1"},
            "g": {"subnet": "192.168.101.0/24", "boot_server": "192.168.101.1", "relay": "192.168.101.254"},
            "h": {"subnet": "192.168.102.0/24", "boot_server": "192.168.102.1", "relay": "not-an-ip"}}
    problems = []
    out = fabric_inventory.normalize_networks(nets, problems)
    assert problems == ["fabric_networks.f.relay: 10.0.0.1 is outside subnet 192.168.100.0/24",
                        "fabric_networks.h.relay: 'not-an-ip' is not an IPv4 address"], problems
    assert out["g"]["relay"] == "192.168.101.254"
