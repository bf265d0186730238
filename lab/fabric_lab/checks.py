"""What each boot must prove, from its serial log, the bridge capture and the server's logs.

The proof lines come from boot_image's smoke test, code that ran inside the booted initrd
(docs/roles/boot_image.md, "Smoke test"): every line starts with "fabric.boot smoke: ", which no
kernel message and nothing on the command line produces, and every value is read from the
running system (/proc/cmdline, the interface, dhclient's lease, /proc/modules, rdma netlink).
"""
import re

from . import backends, server

TFTP_ROOT = "/var/lib/tftpboot"
PROOF = "fabric.boot smoke: "
MARKER = PROOF + "end "          # the smoke test's last line: the table's "marker" column
RXE = "rdma_rxe"


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
        # a console line may carry terminal escapes before it, never other text
        if i >= 0 and not re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", line[:i]).strip():
            out.append(line[i + len(PROOF):].strip())
    return out


def _fields(line):
    return dict(f.split("=", 1) for f in line.split() if "=" in f)


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
    add("the initrd's smoke test ran to its end and reported PASS",
        first("result ") == "PASS" and any(ln.startswith("end ") for ln in lines),
        "result: %s\n%s" % (first("result "), tail))
    want = menu if menu is not None else menu_args(path, facts)
    have = (first("cmdline ") or "").split()
    add("the command line boot_loader composed (%s)" % " ".join(want or []),
        want and all(a in have for a in want), "smoke cmdline: %r" % first("cmdline "))
    iface = _fields(first("iface %s " % facts["iface"]) or "")
    add("dracut's DHCP on %s got the reserved %s from the boot server" % (facts["iface"], facts["ip"]),
        iface.get("lease") == facts["ip"] and iface.get("addr", "").split("/")[0] == facts["ip"]
        and iface.get("dhcp_server") == server.SERVER_IP and iface.get("mac") == facts["mac"],
        "smoke iface line: %r" % iface)
    modules = [ln.split()[1:] for ln in lines if ln.startswith("module ")]
    add("the driver set and %s are loaded (%s)" % (RXE, " ".join(m[0] for m in modules)),
        modules and all(m[1] == "loaded" for m in modules) and [RXE, "loaded"] in modules,
        "smoke module lines: %r" % modules)
    rdma = [ln for ln in lines if ln.startswith("rdma link ")]
    add("a Soft-RoCE link on %s is ACTIVE" % facts["iface"],
        any(" state ACTIVE " in ln and ln.endswith("netdev " + facts["iface"]) for ln in rdma), "%r" % rdma)
    if path.grub:
        add("GRUB read the node's own menu", "fabric.boot: menu %s-%s" % (facts["node"], facts["iface"]) in text, tail)
    if path.firmware == "ovmf-secboot":
        # printed by the kernel's EFI stub from the firmware's SecureBoot variable
        add("the kernel booted with Secure Boot on", "Secure boot enabled" in text, tail)
    add("firmware and OS stage got the reservation (2 DHCPACKs on the wire)", timing["acks"] >= 2,
        "%d ACKs" % timing["acks"])
    # The lab network has no dynamic range: an address at all means the reservation matched
    # (for an InfiniBand port: by one of its client-id forms).
    acks = backends.acks(journal, backend, facts["ip"], facts["mac"], since=boot.started - 1)
    add("%s logged a DHCPACK of %s to %s for the firmware and the OS stage" % (backend, facts["ip"], facts["mac"]),
        acks >= 2, "%d such lines in the container's journal since power-on" % acks)
    add("kernel and initrd fetched over %s" % path.fetch,
        timing["images"] is not None and timing["images_via"] == [path.fetch],
        "kernel requested over %s" % (timing["images_via"] or "nothing"))
    return res
