"""What each boot must prove, from its serial log, the bridge capture and the server's logs.

The proof lines come from code that ran inside the booted initrd and carry a prefix that is
never on the kernel command line, so the kernel echoing its command line cannot fake them.
"""
import re

from . import server

TFTP_ROOT = "/var/lib/tftpboot"
PROOF = "FBLAB-PROOF"          # prefix of the initrd's smoke-test lines (never on the command line)
MARKER = PROOF + " done"       # the last proof line; the table's "marker" column


def menu_args(path, facts):
    """The kernel arguments boot_loader wrote into this node's own menu (GRUB or pxelinux)."""
    dashed = "01-" + facts["mac"].replace(":", "-")
    if path.grub:
        text = server.exec_("cat", "%s/uefi/grub.cfg-%s" % (TFTP_ROOT, dashed)).stdout
        m = re.search(r"^\s*linux(?:efi)?\s+\S+\s+(.*)$", text, re.M)
    else:
        text = server.exec_("cat", "%s/pxelinux/pxelinux.cfg/%s" % (TFTP_ROOT, dashed)).stdout
        m = re.search(r"^\s*APPEND\s+(.*)$", text, re.M | re.I)
    if not m:
        return None
    return [a for a in m.group(1).split() if not a.lower().startswith("initrd=")]


def proofs(text):
    """{key: value} of the 'FBLAB-PROOF key: value' lines on the serial console."""
    out = {}
    for line in text.splitlines():
        i = line.find(PROOF + " ")
        if i < 0:
            continue
        key, sep_, value = line[i + len(PROOF) + 1:].partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


def check(path, facts, boot, timing, dhcpd_log):
    """[(what, ok, detail)] for one boot."""
    text = boot.text
    tail = "\n".join(text.splitlines()[-25:])
    got = proofs(text)
    res = []

    def add(what, ok, detail=""):
        res.append((what, bool(ok), detail))

    add("qemu powered off by itself within the limit", not boot.timed_out and boot.returncode == 0,
        "rc=%s timed_out=%s\n%s" % (boot.returncode, boot.timed_out, tail))
    add("the initrd's proof marker", MARKER in text, tail)
    want = menu_args(path, facts)
    have = got.get("cmdline", "").split()
    add("the command line boot_loader composed (%s)" % " ".join(want or []),
        want and all(a in have for a in want), "proof cmdline: %r" % got.get("cmdline"))
    if path.grub:
        add("GRUB read the node's own menu", "fabric.boot: menu %s-%s" % (facts["node"], facts["iface"]) in text, tail)
    if path.firmware == "ovmf-secboot":
        # printed by the kernel's EFI stub from the firmware's SecureBoot variable
        add("the kernel booted with Secure Boot on", "Secure boot enabled" in text, tail)
    add("firmware and OS stage got the reservation (2 DHCPACKs on the wire)", timing["acks"] >= 2,
        "%d ACKs" % timing["acks"])
    # The lab network has no dynamic range: an address at all means the reservation matched
    # (for an InfiniBand port: by one of its client-id forms).
    acks = dhcpd_log.count("DHCPACK on %s to %s" % (facts["ip"], facts["mac"]))
    add("dhcpd logged DHCPACK on %s to %s, for the firmware and the OS stage" % (facts["ip"], facts["mac"]),
        acks >= 2, "%d DHCPACK lines in the container's journal" % acks)
    add("kernel and initrd fetched over %s" % path.fetch,
        timing["images"] is not None and timing["images_via"] == [path.fetch],
        "kernel requested over %s" % (timing["images_via"] or "nothing"))
    return res
