"""A fake /sys with the layout of Linux Documentation/ABI/stable/sysfs-class-infiniband and
sysfs-class-net, values as the kernel prints them (mlx5 on InfiniBand with IPoIB, a second port
down, Soft-RoCE rxe on an Ethernet interface)."""
import os

GUID1 = "0002:c903:000c:7811"


def _w(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")


def build(root):
    ib = "class/infiniband/mlx5_0"
    _w(root, ib + "/node_guid", "0002:c903:000c:7810")
    _w(root, ib + "/node_type", "1: CA")
    _w(root, ib + "/fw_ver", "16.35.2000")
    _w(root, ib + "/ports/1/state", "4: ACTIVE")
    _w(root, ib + "/ports/1/phys_state", "5: LinkUp")
    _w(root, ib + "/ports/1/rate", "100 Gb/sec (4X EDR)")
    _w(root, ib + "/ports/1/link_layer", "InfiniBand")
    _w(root, ib + "/ports/1/lid", "0x5")
    _w(root, ib + "/ports/1/gids/0", "fe80:0000:0000:0000:" + GUID1)
    _w(root, ib + "/ports/1/gids/1", "0000:0000:0000:0000:0000:0000:0000:0000")
    _w(root, ib + "/ports/2/state", "1: DOWN")
    _w(root, ib + "/ports/2/phys_state", "3: Disabled")
    _w(root, ib + "/ports/2/rate", "10 Gb/sec (4X SDR)")
    _w(root, ib + "/ports/2/link_layer", "InfiniBand")
    _w(root, ib + "/ports/2/lid", "0x0")
    _w(root, ib + "/ports/2/gids/0", "fe80:0000:0000:0000:0002:c903:000c:7812")
    rxe = "class/infiniband/rxe0"
    _w(root, rxe + "/node_guid", "5054:00ff:fe12:3456")
    _w(root, rxe + "/node_type", "1: CA")
    _w(root, rxe + "/ports/1/state", "4: ACTIVE")
    _w(root, rxe + "/ports/1/phys_state", "5: LinkUp")
    _w(root, rxe + "/ports/1/rate", "10 Gb/sec (1X QDR)")
    _w(root, rxe + "/ports/1/link_layer", "Ethernet")
    _w(root, rxe + "/ports/1/lid", "0x0")
    _w(root, rxe + "/ports/1/gids/0", "fe80:0000:0000:0000:5054:00ff:fe12:3456")
    _w(root, rxe + "/ports/1/gid_attrs/ndevs/0", "eno1")
    _w(root, rxe + "/ports/1/gid_attrs/types/0", "RoCE v2")
    net = "class/net/"
    _w(root, net + "ib0/type", "32")
    _w(root, net + "ib0/address", "80:00:00:48:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0c:78:11")
    _w(root, net + "ib0/mtu", "2044")
    _w(root, net + "ib0/operstate", "up")
    _w(root, net + "ib0/mode", "datagram")
    _w(root, net + "ib0/pkey", "0xffff")
    _w(root, net + "ib1/type", "32")
    _w(root, net + "ib1/address", "80:00:01:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0c:78:12")
    _w(root, net + "ib1/mtu", "65520")
    _w(root, net + "ib1/operstate", "down")
    _w(root, net + "ib1/mode", "connected")
    _w(root, net + "ib1/pkey", "0xffff")
    _w(root, net + "eno1/type", "1")
    _w(root, net + "eno1/address", "52:54:00:12:34:56")
    _w(root, net + "eno1/mtu", "1500")
    _w(root, net + "eno1/operstate", "up")
    _w(root, net + "lo/type", "772")
    _w(root, net + "lo/address", "00:00:00:00:00:00")
    return root
