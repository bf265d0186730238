"""Secure Boot through the boot_loader role's tree: OVMF with Microsoft keys enrolled (Secure
Boot on) -> shim -> Debian's signed grubnetx64 (built-in prefix /grub) -> the role's
grub/grub.cfg, which dispatches on $net_default_mac -> the node's uefi/grub.cfg-01-<mac> ->
Debian's signed kernel and a busybox initrd that prints a marker.

The role runs through ansible-playbook on this host into a scratch TFTP root; dhcpd and
in.tftpd run by hand in netns fbblsb (10.0.0.1/24 on br0, no default route), which this
test creates and deletes. The Molecule boot_server scenario covers the non-Secure-Boot GRUB
and pxelinux through the real server roles.
"""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "molecule", "boot_server", "tests"))
import netboot  # noqa: E402
from fabric_test_env import debian_kernel  # noqa: E402

NS = "fbblsb"
MAC = "52:54:00:fb:5b:01"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"   # Microsoft keys: Secure Boot on, shim trusted
TIMEOUT = int(os.environ.get("FB_BOOT_TIMEOUT", "180"))

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: true
  vars:
    ansible_python_interpreter: "{python}"
    fabric_networks:
      lab: {{subnet: 10.0.0.0/24, boot_server: 10.0.0.1}}
    fabric_boot_images:
      e2e: {{kernel: images/e2e/vmlinuz, initrd: images/e2e/initrd.img, kernel_args: [fbtest.sb=1]}}
    fabric_nodes:
      other: [{{name: ib0, type: infiniband, port_guid: "0x0002c903000c7811", ipv4: 10.0.0.11, network: lab, boot_image: e2e}}]
      vmsb: [{{name: eth0, type: ethernet, mac: "{mac}", ipv4: 10.0.0.12, network: lab, boot_image: e2e}}]
  roles:
    - role: boot_loader
      boot_loader_tftp_root: "{root}"
      boot_loader_build_dir: "{build}"
      boot_loader_secure_boot: true
      boot_loader_manage_packages: false
      boot_loader_timeout: 0
"""

DHCPD = """option architecture-type code 93 = unsigned integer 16;
allow booting;
subnet 10.0.0.0 netmask 255.255.255.0 {
  next-server 10.0.0.1;
  filename "uefi-sb/shimx64.efi";
}
host vmsb-eth0 { hardware ethernet %s; fixed-address 10.0.0.12; }
""" % MAC


def _ansible_playbook():
    # the venv's, next to this interpreter, else whatever PATH has
    here = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return here if os.path.exists(here) else shutil.which("ansible-playbook")


@pytest.fixture
def lab(tmp_path):
    for prog in ("dhcpd", "in.tftpd", "qemu-system-x86_64"):
        assert shutil.which(prog), prog + " is required"
    assert os.path.exists(OVMF_CODE), OVMF_CODE
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout.find(NS + " ") < 0, \
        "netns %s exists: another run is active or left it behind" % NS
    procs = []
    subprocess.run(["ip", "netns", "add", NS], check=True)
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
                    ["addr", "add", "10.0.0.1/24", "dev", "br0"], ["link", "set", "br0", "up"]):
            subprocess.run(["ip", "-n", NS] + cmd, check=True)
        assert subprocess.run(["ip", "-n", NS, "route", "show", "default"], capture_output=True,
                              text=True, check=False).stdout == ""
        yield tmp_path, procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["ip", "netns", "del", NS], check=False)


def test_secure_boot_shim_signed_grub_dispatch(lab):
    tmp, procs = lab
    root, build = tmp / "tftp", tmp / "build"
    play = tmp / "play.yml"
    play.write_text(PLAYBOOK.format(python=sys.executable, mac=MAC, root=root, build=build))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    res = subprocess.run([_ansible_playbook(), str(play)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stdout[-4000:]
    assert (root / "uefi-sb" / "shimx64.efi").read_bytes() == open("/usr/lib/shim/shimx64.efi.signed", "rb").read()
    images = root / "images" / "e2e"
    images.mkdir(parents=True)
    shutil.copy(debian_kernel()[1], images / "vmlinuz")   # Debian-signed: Secure Boot verifies it
    marker = netboot.new_marker()
    shutil.copy(netboot.build_initrd(str(tmp), marker), images / "initrd.img")
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)

    (tmp / "dhcpd.conf").write_text(DHCPD)
    (tmp / "leases").write_text("")
    log = open(tmp / "dhcpd.log", "w")
    procs.append(subprocess.Popen(["ip", "netns", "exec", NS, "dhcpd", "-4", "-f", "-d", "-cf", str(tmp / "dhcpd.conf"),
                                   "-lf", str(tmp / "leases"), "-pf", str(tmp / "dhcpd.pid"), "br0"],
                                  stdout=log, stderr=subprocess.STDOUT))
    procs.append(subprocess.Popen(["ip", "netns", "exec", NS, "in.tftpd", "-L", "-a", "10.0.0.1:69", "-s", str(root)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    subprocess.run(["ip", "-n", NS, "tuntap", "add", "dev", "tap0", "mode", "tap"], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", "tap0", "master", "br0", "up"], check=True)
    time.sleep(1.5)
    assert all(p.poll() is None for p in procs), open(tmp / "dhcpd.log").read()

    shutil.copy(OVMF_VARS, tmp / "vars.fd")
    serial = tmp / "serial.log"
    t0 = time.monotonic()
    qemu = subprocess.run(
        ["ip", "netns", "exec", NS, "timeout", str(TIMEOUT), "qemu-system-x86_64",
         "-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on",
         "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMF_CODE,
         "-drive", "if=pflash,format=raw,unit=1,file=%s" % (tmp / "vars.fd"),
         "-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "1", "-display", "none", "-monitor", "none",
         "-parallel", "none", "-serial", "file:%s" % serial, "-no-reboot",
         "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
         "-device", "virtio-net-pci,netdev=n0,mac=%s,bootindex=1,romfile=" % MAC],
        capture_output=True, text=True, timeout=TIMEOUT + 30, check=False)
    elapsed = time.monotonic() - t0
    text = serial.read_bytes().decode(errors="replace")
    shutil.copy(serial, "/tmp/fb-boot-loader-secure-boot-serial.log")
    print("Secure Boot boot: qemu exit after %.1f s (rc %d)" % (elapsed, qemu.returncode))
    assert qemu.returncode == 0, (qemu.returncode, text[-3000:])   # 124 = timeout
    assert marker in text, text[-3000:]
    assert "fabric.boot: menu vmsb-eth0" in text, text[-3000:]      # dispatch by $net_default_mac worked
    assert "Secure boot enabled" in text, text[-3000:]
    cmdline = re.search(r"^CMDLINE: (.*)$", text, re.M).group(1).strip()   # serial lines end in \r\n
    assert cmdline == "BOOT_IMAGE=/images/e2e/vmlinuz rd.neednet=1 ip=eth0:dhcp fbtest.sb=1 console=ttyS0,115200"
