"""Verifier for the boot_server scenario: the four server roles, then a real UEFI network boot.

The container (fb-boot-server) is the boot server on pxe0 = 192.168.100.2, cabled to br0 in
netns fbboot; the VM's tap is on the same bridge. Nothing leaves the namespace.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netboot  # noqa: E402

NETNS = "fbboot"
INSTANCE = "fb-boot-server"
SERVER = "192.168.100.2"
TFTP = "/var/lib/tftpboot"
VM_MAC = "52:54:00:fb:00:01"
VM_IP = "192.168.100.21"
TAP = "fbboot-tap0"
# What boot_loader composes for vm001 eth0 (ethernet, rd.driver.pre from the scenario's
# boot_loader_driver_modules) booting image e2e: network bring-up, image args, console.
EXPECTED_ARGS = "rd.driver.pre=virtio_net rd.neednet=1 ip=eth0:dhcp panic=5 fbtest.image=e2e console=ttyS0,115200"
BOOT_TIMEOUT = int(os.environ.get("FB_BOOT_TIMEOUT", "180"))


def netns(*cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", NETNS] + list(cmd), capture_output=True, text=True,
                          timeout=kw.get("timeout", 30), check=False)


def test_servers_listen_on_pxe0(host):
    assert host.service("isc-dhcp-server").is_running
    assert host.socket("udp://0.0.0.0:67").is_listening
    assert host.socket("udp://%s:69" % SERVER).is_listening
    assert host.socket("tcp://%s:80" % SERVER).is_listening or host.socket("tcp://0.0.0.0:80").is_listening


def test_per_node_menu_served_over_tftp_and_http(host):
    want = host.file(TFTP + "/uefi/grub.cfg-01-52-54-00-fb-00-01").content_string
    assert "linux /images/e2e/vmlinuz " + EXPECTED_ARGS + "\n" in want
    got = netns("curl", "-s", "--max-time", "10", "tftp://%s/uefi/grub.cfg-01-52-54-00-fb-00-01" % SERVER)
    assert got.returncode == 0 and got.stdout == want, got
    got = netns("curl", "-s", "--max-time", "10", "http://%s/boot/uefi/grub.cfg-01-52-54-00-fb-00-01" % SERVER)
    assert got.returncode == 0 and got.stdout == want, got


def test_dhcp_reservation_for_the_vm(host):
    conf = host.file("/etc/dhcp/dhcpd.conf").content_string
    assert VM_MAC in conf and VM_IP in conf
    assert "uefi/grubx64.efi" in conf


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="fb-boot-server-") as d:
        yield d


def _boot(host, workdir, mode):
    marker = netboot.new_marker()
    initrd = netboot.build_initrd(workdir, marker)
    subprocess.run(["podman", "cp", initrd, "%s:%s/images/e2e/initrd.img" % (INSTANCE, TFTP)], check=True)
    assert host.file(TFTP + "/images/e2e/initrd.img").mode & 0o004
    since = host.run("date '+%Y-%m-%d %H:%M:%S'").stdout.strip()
    netboot.add_tap(NETNS, TAP)
    try:
        boot = netboot.boot_uefi if mode == "uefi" else netboot.boot_bios
        result = boot(NETNS, TAP, VM_MAC, workdir, marker, timeout=BOOT_TIMEOUT)
    finally:
        netboot.del_tap(NETNS, TAP)
    serial = result["serial"]
    keep = "/tmp/fb-boot-server-serial-%s.log" % mode
    with open(keep, "w") as f:
        f.write(serial)
    summary = ("%s boot: marker after %s s, qemu exit after %.1f s (timeout %s s, timed out: %s); serial log %s"
               % (mode, None if result["marker_at"] is None else round(result["marker_at"], 1),
                  result["exit_at"], BOOT_TIMEOUT, result["timed_out"], keep))
    print(summary)
    with open("/tmp/fb-boot-server-timings.txt", "a") as f:
        f.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + summary + "\n")
    assert result["marker_at"] is not None, (result["qemu_output"], serial[-3000:])
    cmdline = re.search(r"^CMDLINE: (.*)$", serial, re.M)
    assert cmdline, serial[-3000:]
    assert EXPECTED_ARGS in cmdline.group(1), cmdline.group(1)
    assert not result["timed_out"], "the VM did not power off"
    # dhcpd handed the reserved address to the VM's MAC
    log = host.run("journalctl --no-pager -u isc-dhcp-server --since '%s'" % since).stdout
    assert re.search(r"DHCPACK on %s to %s" % (re.escape(VM_IP), VM_MAC), log), log[-2000:]
    return serial, cmdline.group(1).strip()   # serial lines end in \r\n


def test_uefi_vm_boots_through_the_servers(host, workdir):
    serial, cmdline = _boot(host, workdir, "uefi")
    # GRUB found the per-node menu by the MAC (the default menu has ip=dhcp and says "menu default")
    assert "fabric.boot: menu vm001-eth0" in serial, serial[-3000:]
    assert cmdline.startswith("BOOT_IMAGE=/images/e2e/vmlinuz "), cmdline


def test_bios_vm_boots_through_pxelinux(host, workdir):
    serial, cmdline = _boot(host, workdir, "bios")
    # pxelinux read its per-node file and fetched the kernel by the ::/ path from the TFTP root
    assert "PXELINUX" in serial, serial[-3000:]
    assert cmdline.startswith("BOOT_IMAGE=::/images/e2e/vmlinuz "), cmdline
    assert cmdline.endswith(" initrd=::/images/e2e/initrd.img"), cmdline
