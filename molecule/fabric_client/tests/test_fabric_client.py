"""Verifier for fabric_client: NetworkManager itself loads and reports the profiles (live), and
the image tree holds the same kind of files (image-root mode). Runs over testinfra's podman backend."""
import os
import sys
import uuid

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
from ansible_collections.fabric.boot.plugins.module_utils.nm_keyfile import UUID_NAMESPACE  # noqa: E402

IMAGE = "/srv/fabric-image/root"
CONNECTIONS = "/etc/NetworkManager/system-connections"
GUID_IB0 = "00:02:c9:03:00:0c:78:11"


def stable_uuid(host, ifname):
    return str(uuid.uuid5(UUID_NAMESPACE, "%s/%s" % (host, ifname)))


def nmcli_get(host, fields, conn):
    """nmcli -g prints one value per line and escapes ':' inside values."""
    out = host.check_output("nmcli -g %s connection show id %s", fields, conn)
    return [line.replace("\\:", ":") for line in out.splitlines()]


@pytest.mark.parametrize("pkg", ["network-manager", "rdma-core", "ibverbs-utils", "infiniband-diags", "kmod"])
def test_packages(host, pkg):
    assert host.package(pkg).is_installed


def test_networkmanager_runs(host):
    nm = host.service("NetworkManager")
    assert nm.is_running and nm.is_enabled


@pytest.mark.parametrize("name", ["ib0", "ib0.8001", "ib1", "ib2"])
def test_keyfile_mode(host, name):
    f = host.file("%s/%s.nmconnection" % (CONNECTIONS, name))
    assert f.exists and f.user == "root" and f.group == "root" and f.mode == 0o600


def test_all_profiles_loaded_with_stable_uuids(host):
    rows = host.check_output("nmcli -t -f NAME,UUID,TYPE connection show").splitlines()
    loaded = dict((r.split(":")[0], r.split(":")[1:]) for r in rows)
    for name in ("ib0", "ib0.8001", "ib1", "ib2"):
        assert loaded[name] == [stable_uuid("fb-client", name), "infiniband"], loaded


def test_ib0_dhcp_htype32_bound_to_guid(host):
    values = nmcli_get(host, "connection.interface-name,infiniband.transport-mode,infiniband.mtu,"
                       "infiniband.mac-address,ipv4.method,ipv4.dhcp-client-id,ipv6.addr-gen-mode", "ib0")
    assert values[:3] == ["ib0", "datagram", "2044"]
    # NetworkManager keeps the 20-byte form and matches its last 8 bytes (the GUID).
    assert values[3].lower().endswith(GUID_IB0) and len(values[3].split(":")) == 20
    assert values[4:] == ["auto", "20:" + GUID_IB0, "eui64"]


def test_pkey_child_static_connected(host):
    values = nmcli_get(host, "connection.interface-name,infiniband.p-key,infiniband.parent,"
                       "infiniband.transport-mode,infiniband.mtu,ipv4.method,ipv4.addresses", "ib0.8001")
    assert values[0] == "ib0.8001"
    assert int(values[1], 0) == 0x8001
    assert values[2:] == ["ib0", "connected", "65520", "manual", "10.20.0.11/16"]


def test_omnipath_static_with_network_settings(host):
    values = nmcli_get(host, "infiniband.transport-mode,infiniband.mtu,ipv4.method,ipv4.addresses,"
                       "ipv4.gateway,ipv4.dns,ipv4.dns-search", "ib1")
    assert values == ["datagram", "4092", "manual", "192.168.100.12/24", "192.168.100.1", "192.168.100.1",
                      "cluster.example"]


def test_flexboot_client_id_connected(host):
    values = nmcli_get(host, "infiniband.transport-mode,infiniband.mtu,ipv4.dhcp-client-id", "ib2")
    assert values == ["connected", "65520",
                      "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:ab:cd:ef"]


def test_no_device_so_nothing_active(host):
    active = host.check_output("nmcli -g NAME connection show --active").splitlines()
    assert not set(active) & {"ib0", "ib0.8001", "ib1", "ib2"}


def test_live_module_files(host):
    modules = host.file("/etc/modules-load.d/fabric-client.conf").content_string.split()
    for module in ("mlx5_core", "mlx5_ib", "hfi1", "ib_ipoib", "ib_umad", "rdma_ucm"):
        assert module in modules
    assert "rdma_rxe" not in modules          # Soft-RoCE only in the image play
    for cls in ("infiniband", "opa"):
        assert "ib_ipoib" in host.file("/etc/rdma/modules/%s.conf" % cls).content_string.split()
    assert not host.file("/etc/modprobe.d/fabric-client.conf").exists
    assert not host.file("/etc/systemd/system/fabric-client-soft-roce.service").exists


@pytest.mark.parametrize("name", ["ib0", "ib0.8001", "ib1", "ib2"])
def test_image_profiles_parse_offline(host, name):
    path = "%s%s/%s.nmconnection" % (IMAGE, CONNECTIONS, name)
    f = host.file(path)
    assert f.exists and f.user == "root" and f.mode == 0o600
    out = host.check_output("nmcli --offline connection modify connection.autoconnect yes < %s", path)
    assert "uuid=%s" % stable_uuid("node001", name) in out
    assert "type=infiniband" in out


def test_image_modules_and_soft_roce(host):
    modules = host.file(IMAGE + "/etc/modules-load.d/fabric-client.conf").content_string.split()
    assert "rdma_rxe" in modules and "ib_ipoib" in modules
    assert "options ib_ipoib send_queue_size=256 recv_queue_size=512" in \
        host.file(IMAGE + "/etc/modprobe.d/fabric-client.conf").content_string
    unit = host.file(IMAGE + "/etc/systemd/system/fabric-client-soft-roce.service").content_string
    assert "rdma link add rxe0 type rxe netdev eth0" in unit
    link = host.file(IMAGE + "/etc/systemd/system/multi-user.target.wants/fabric-client-soft-roce.service")
    assert link.is_symlink
    assert host.check_output("readlink %s", link.path) == "/etc/systemd/system/fabric-client-soft-roce.service"
