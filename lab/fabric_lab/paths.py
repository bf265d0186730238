"""One declarative entry per boot path: which inventory node boots, with which firmware, NIC
boot code and qemu switches, and what its logs must prove.

The node's MAC and address are never written here: they come from the lab inventory
(ansible-inventory), and an InfiniBand node's MAC is derived from its port GUID with the
product's own fabric_identity code, the way iPXE presents the port (fabric.boot.ib_mac48).
"""
import collections
import importlib.util
import json
import os
import subprocess
import sys

from . import server

INVENTORY = os.path.join(server.ROOT, "lab", "inventory")

# proof: what the boot must prove, "initrd" (boot_image's smoke test in the initrd) or "diskless"
# (diskless_image's smoke unit in the booted image); memory in MiB: a diskless node holds its
# squashfs in RAM next to the running system (docs/roles/diskless_image.md, "RAM per node").
Path = collections.namedtuple("Path", "name node title firmware nic_rom qemu grub loader fetch proof memory",
                              defaults=("initrd", 768))

# nic_rom: "" = romfile= (no option ROM: the firmware's own network stack boots, as on real
# UEFI servers); None = qemu's default iPXE ROM for the NIC (SeaBIOS has no PXE of its own).
# grub: the path goes through GRUB's per-node menu, which echoes "fabric.boot: menu <node>-<if>".
# loader: the boot file the firmware fetches first; fetch: how kernel + initrd travel.
PATHS = [
    Path("uefi-tftp", "lab-uefi-tftp", "UEFI PXE, GRUB, kernel+initrd over TFTP",
         "ovmf", "", [], True, "uefi/grubx64.efi", "tftp"),
    Path("uefi-http", "lab-uefi-http", "UEFI PXE, GRUB, kernel+initrd over HTTP",
         "ovmf", "", [], True, "uefi/grubx64.efi", "http"),
    Path("bios-pxelinux", "lab-bios-pxelinux", "BIOS, iPXE ROM, pxelinux, TFTP",
         "seabios", None, [], False, "pxelinux/pxelinux.0", "tftp"),
    Path("uefi-httpboot", "lab-uefi-httpboot", "UEFI HTTP boot (HTTPClient, arch 16, URL)",
         "ovmf", "",
         # Without these OVMF tries PXE (v4, then v6) for about 2 minutes before HTTP boot.
         ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
          "-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"],
         True, "uefi/grubx64-http.efi", "http"),
    Path("secureboot", "lab-secureboot", "Secure Boot: shim, signed GRUB, signed kernel",
         "ovmf-secboot", "", [], True, "uefi-sb/shimx64.efi", "tftp"),
    Path("ipxe-ib", "lab-ipxe-ib", "iPXE client of an InfiniBand reservation (ipxe client-id)",
         "seabios", None, [], False, "pxelinux/pxelinux.0", "tftp"),
    Path("diskless", "lab-diskless", "Diskless: UEFI PXE, GRUB, HTTP, squashfs root to multi-user",
         "ovmf", "", [], True, "uefi/grubx64.efi", "http", proof="diskless", memory=1536),
]


def _identity():
    """plugins/module_utils/fabric_identity.py, loaded by path (it is stdlib only)."""
    path = os.path.join(server.ROOT, "plugins", "module_utils", "fabric_identity.py")
    spec = importlib.util.spec_from_file_location("fabric_identity", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def inventory():
    """The lab inventory as ansible-inventory sees it (hostvars per host)."""
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    exe = exe if os.path.exists(exe) else "ansible-inventory"
    out = subprocess.run([exe, "-i", INVENTORY, "--list"], check=True, text=True, capture_output=True).stdout
    return json.loads(out)


def nodes(selected=None):
    """[(Path, node facts)] for the selected path names (all when None), inventory order kept."""
    inv = inventory()
    hostvars = inv["_meta"]["hostvars"]
    ident = _identity()
    out = []
    for i, p in enumerate(PATHS):
        if selected and p.name not in selected:
            continue
        iface = hostvars[p.node]["fabric_interfaces"][0]
        if iface["type"] == "ethernet":
            mac = str(ident.parse_mac(iface["mac"]))
        else:
            mac = ident.PortGuid.parse(iface["port_guid"]).mac48
        out.append((p, {"node": p.node, "iface": iface["name"], "mac": mac.lower(),
                        "ip": iface["ipv4"], "tap": "%s-t%d" % (server.PREFIX, i)}))
    unknown = set(selected or ()) - {p.name for p in PATHS}
    if unknown:
        raise SystemExit("unknown path(s): %s; known: %s" % (", ".join(sorted(unknown)),
                                                             ", ".join(p.name for p in PATHS)))
    return out


def nic(path, facts):
    dev = "virtio-net-pci,netdev=n0,mac=%s,bootindex=1" % facts["mac"]
    if path.nic_rom is not None:
        dev += ",romfile=" + path.nic_rom
    return dev
