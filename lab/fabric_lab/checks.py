"""What each boot must prove, from its serial log, the bridge capture and the server's logs.

The proof lines come from boot_image's smoke test, code that ran inside the booted initrd
(docs/roles/boot_image.md, "Smoke test"): every line starts with "fabric.boot smoke: ", which no
kernel message and nothing on the command line produces, and every value is read from the
running system (/proc/cmdline, the interface, dhclient's lease, /proc/modules, rdma netlink).
The diskless path's lines come from diskless_image's smoke unit in the booted image, once systemd
reached multi-user (docs/roles/diskless_image.md, "Smoke test"), in the same form.
"""
import re

from . import backends, server

TFTP_ROOT = "/var/lib/tftpboot"
IMAGE_ROOT = "/srv/fabric-lab/diskless-root"   # fabric_boot_images.lab-diskless.root in lab/inventory
PROOF = "fabric.boot smoke: "
MARKER = PROOF + "end "          # the smoke test's last line: the table's "marker" column
RXE = "rdma_rxe"
CONSOLE_HEAD = re.compile(r"\s*(?:\S+ login: )?(?:\[\s*\d+\.\d+\] [\w@.-]+\[\d+\]: )?")


def menu_args(path, facts):
    """The kernel arguments boot_loader wrote into this node's own menu (GRUB or pxelinux)."""
    dashed = "01-" + facts["mac"].replace(":", "-")
    if path.grub:
        text = server.exec_("cat", "%s/uefi/grub.cfg-%s" % (TFTP_ROOT, dashed), check=False).stdout
        m = re.search(r"^\s*linux(?:efi)?\s+\S+\s+(.*)$", text, re.M)
    else:
        text = server.exec_("cat", "%s/pxelinux/pxelinux.cfg/%s" % (TFTP_ROOT, dashed), check=False).stdout
        m = re.search(r"^\s*APPEND\s+(.*)$", text, re.M | re.I)
    if not m:
        return None
    return [a for a in m.group(1).split() if not a.lower().startswith("initrd=")]


def proof_lines(text):
    """The smoke test's lines, prefix removed, in order (the prefix starts a console line)."""
    out = []
    for line in text.splitlines():
        i = line.find(PROOF)
        # a console line may carry terminal escapes before it, and a unit's line journald's
        # "[ uptime] ident[pid]: " (after a getty's prompt), never other text
        head = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line[:i]) if i >= 0 else None
        if head is not None and CONSOLE_HEAD.fullmatch(head):
            out.append(line[i + len(PROOF):].strip())
    return out


def _fields(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


def image_profiles(root):
    """The connection ids of the NetworkManager keyfiles in an image root on the boot server:
    the profiles diskless_image had fabric_client write there."""
    out = server.exec_("sh", "-c", "cat %s/etc/NetworkManager/system-connections/*.nmconnection" % root,
                       check=False).stdout
    return re.findall(r"^id=(.*)$", out, re.M)


def check(path, facts, boot, timing, journal, backend="isc", menu=None):
    """[(what, ok, detail)] for one boot; journal: the boot server's (short-unix), backend: the
    DHCP daemon that served this boot; menu: menu_args() read when it booted (a later site.yml,
    a backend switch on an inventory without the node, removes the node's menu), else now."""
    text = boot.text
    tail = "\n".join(text.splitlines()[-30:])
    lines = proof_lines(text)
    res = []

    def add(what, ok, detail=""):
        res.append((what, bool(ok), detail))

    def first(prefix):
        return next((ln[len(prefix):].strip() for ln in lines if ln.startswith(prefix)), None)

    add("qemu powered off by itself within the limit", not boot.timed_out and boot.returncode == 0,
        "rc=%s timed_out=%s\n%s" % (boot.returncode, boot.timed_out, tail))
    stage = "the booted image's" if path.proof == "diskless" else "the initrd's"
    add("%s smoke test ran to its end and reported PASS" % stage,
        first("result ") == "PASS" and any(ln.startswith("end ") for ln in lines),
        "result: %s\n%s" % (first("result "), tail))
    want = menu if menu is not None else menu_args(path, facts)
    have = (first("cmdline ") or "").split()
    add("the command line boot_loader composed (%s)" % " ".join(want or []),
        want and all(a in have for a in want), "smoke cmdline: %r" % first("cmdline "))
    if path.proof == "diskless":
        _diskless(add, first, lines, facts, want or [])
    else:
        iface = _fields(first("iface %s " % facts["iface"]) or "")
        add("dracut's DHCP on %s got the reserved %s from the boot server" % (facts["iface"], facts["ip"]),
            iface.get("lease") == facts["ip"] and iface.get("addr", "").split("/")[0] == facts["ip"]
            and iface.get("dhcp_server") == server.SERVER_IP and iface.get("mac") == facts["mac"],
            "smoke iface line: %r" % iface)
    modules = [ln.split()[1:] for ln in lines if ln.startswith("module ")]
    add("the driver set and %s are loaded (%s)" % (RXE, " ".join(m[0] for m in modules)),
        modules and all(m[1] == "loaded" for m in modules) and [RXE, "loaded"] in modules,
        "smoke module lines: %r; failed units: %r" % (modules, _failed_units(lines)))
    rdma = [ln for ln in lines if ln.startswith("rdma link ")]
    add("a Soft-RoCE link on %s is ACTIVE" % facts["iface"],
        any(" state ACTIVE " in ln and ln.endswith("netdev " + facts["iface"]) for ln in rdma), "%r" % rdma)
    if path.grub:
        add("GRUB read the node's own menu", "fabric.boot: menu %s-%s" % (facts["node"], facts["iface"]) in text, tail)
    if path.firmware == "ovmf-secboot":
        # printed by the kernel's EFI stub from the firmware's SecureBoot variable
        add("the kernel booted with Secure Boot on", "Secure boot enabled" in text, tail)
    # firmware and dracut's network stage; a diskless node's NetworkManager asks once more
    stages = 3 if path.proof == "diskless" else 2
    add("every DHCP stage got the reservation (%d DHCPACKs on the wire)" % stages, timing["acks"] >= stages,
        "%d ACKs" % timing["acks"])
    # The lab network has no dynamic range: an address at all means the reservation matched
    # (for an InfiniBand port: by one of its client-id forms).
    acks = backends.acks(journal, backend, facts["ip"], facts["mac"], since=boot.started - 1)
    add("%s logged a DHCPACK of %s to %s for each of the %d DHCP stages" % (backend, facts["ip"], facts["mac"], stages),
        acks >= stages, "%d such lines in the container's journal since power-on" % acks)
    add("kernel and initrd fetched over %s" % path.fetch,
        timing["images"] is not None and timing["images_via"] == [path.fetch],
        "kernel requested over %s" % (timing["images_via"] or "nothing"))
    if path.proof == "diskless":
        add("the root squashfs fetched over http", timing["squashfs"] is not None and timing["squashfs_via"] == ["http"],
            "squashfs requested over %s" % (timing["squashfs_via"] or "nothing"))
    return res


def _failed_units(lines):
    """The smoke test's failed-unit lines (a degraded boot names its failed units)."""
    return [ln for ln in lines if ln.startswith("failed-unit ")]


def _diskless(add, first, lines, facts, menu):
    """What the image's own smoke unit proves once systemd reached multi-user."""
    system = _fields(first("system ") or "")
    add("systemd in the booted image reached multi-user (system %s)" % system.get("state"),
        system.get("multi_user") == "active" and system.get("state") in ("running", "degraded"),
        "smoke system line: %r; failed units: %r" % (system, _failed_units(lines)))
    root = _fields(first("root ") or "")
    url = next((a[len("root=live:"):] for a in menu if a.startswith("root=live:")), None)
    add("/ is the overlay dracut's dmsquash-live put over the squashfs from %s" % url,
        root.get("fstype") == "overlay" and url and ("root=live:" + url) in (first("cmdline ") or "").split(),
        "smoke root line: %r" % root)
    nm_line = first("nm ") or ""
    nm = _fields(nm_line.split(" connection=", 1)[0])
    nm["connection"] = nm_line.split(" connection=", 1)[1] if " connection=" in nm_line else None   # ids may hold spaces
    profiles = image_profiles(IMAGE_ROOT)
    add("NetworkManager activated on %s the profile fabric_client wrote into the image root (%s)"
        % (facts["iface"], ", ".join(profiles)),
        nm.get("device") == facts["iface"] and nm.get("state", "").startswith("100")
        and nm.get("connection") in profiles, "smoke nm line: %r" % nm)
    iface = _fields(first("iface %s " % facts["iface"]) or "")
    add("%s in the booted OS has the reserved %s" % (facts["iface"], facts["ip"]),
        iface.get("addr", "").split("/")[0] == facts["ip"], "smoke iface line: %r" % iface)
