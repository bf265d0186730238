"""fabric_sysfs on a fake sysfs tree of the kernel's documented layout (fake_sysfs.py)."""
import os
import sys

from ansible_collections.fabric.boot.plugins.module_utils import fabric_sysfs

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_sysfs  # noqa: E402  pylint: disable=wrong-import-position


def test_infiniband_ports(tmp_path):
    ib = fabric_sysfs.read_infiniband(fake_sysfs.build(str(tmp_path)))
    assert sorted(ib) == ["mlx5_0", "rxe0"]
    mlx = ib["mlx5_0"]
    assert (mlx["node_guid"], mlx["node_type"], mlx["fw_ver"]) == ("00:02:c9:03:00:0c:78:10", "CA", "16.35.2000")
    p1 = mlx["ports"]["1"]
    assert p1 == {"port": 1, "link_layer": "InfiniBand", "state": "ACTIVE", "phys_state": "LinkUp",
                  "rate": "100 Gb/sec (4X EDR)", "lid": 5, "gid0": "fe80:0000:0000:0000:0002:c903:000c:7811",
                  "port_guid": "00:02:c9:03:00:0c:78:11", "netdev": None}
    assert (mlx["ports"]["2"]["state"], mlx["ports"]["2"]["port_guid"]) == ("DOWN", "00:02:c9:03:00:0c:78:12")
    rxe = ib["rxe0"]["ports"]["1"]
    assert (rxe["link_layer"], rxe["port_guid"], rxe["netdev"]) == ("Ethernet", None, "eno1")


def test_net_interfaces_tied_to_their_ports(tmp_path):
    net = fabric_sysfs.read_net(fake_sysfs.build(str(tmp_path)))
    assert sorted(net) == ["eno1", "ib0", "ib1"]          # loopback left out
    ib0 = net["ib0"]
    assert (ib0["link_type"], ib0["mode"], ib0["mtu"], ib0["pkey"], ib0["operstate"]) == (
        "infiniband", "datagram", 2044, "0xffff", "up")
    assert (ib0["port_guid"], ib0["ib_device"], ib0["ib_port"]) == ("00:02:c9:03:00:0c:78:11", "mlx5_0", 1)
    assert (net["ib1"]["mode"], net["ib1"]["ib_port"]) == ("connected", 2)
    eno1 = net["eno1"]
    assert (eno1["link_type"], eno1["port_guid"], eno1["ib_device"]) == ("ether", None, "rxe0")


def test_no_rdma_at_all(tmp_path):
    assert fabric_sysfs.facts(str(tmp_path)) == {"infiniband": {}, "net": {}}
