"""Run the boot_loader role's own menu tasks with each OS family's variables (Debian, RedHat)
through ansible-playbook on this host, into a scratch TFTP root, with the role's
`validate: grub-script-check %s` on every GRUB config.

Nothing here runs on an EL host: EL's grub2-script-check is the same program as Debian's
grub-script-check, so the RedHat rendering is validated with the Debian binary
(boot_loader_grub_script_check is pointed at it). Packages, paths of the EL binaries and a
real EL boot are not tested (docs/roles/boot_loader.md).
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "boot_loader"))
from pxelinux_config import parse  # noqa: E402

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{python}"
    ansible_facts: {{os_family: {family}, distribution: {distribution}}}
    boot_loader_tftp_root: "{root}"
    boot_loader_grub_script_check: "{check}"
    boot_loader_timeout: 0
    fabric_networks:
      fabric0: {{subnet: 192.168.100.0/24, boot_server: 192.168.100.1, boot_image: rhel95}}
    fabric_boot_images:
      rhel95: {{kernel: images/rhel95/vmlinuz, initrd: images/rhel95/initrd.img, repo: ISO/RHEL95,
               kernel_args: ["inst.ks=http://192.168.100.1/ks.cfg?a=1&b=2"]}}
    fabric_nodes:
      node001:
        - {{name: ib0, type: infiniband, port_guid: "00:02:c9:03:00:0c:78:11", ipv4: 192.168.100.11,
            network: fabric0, boot_image: rhel95}}
  tasks:
    - name: Compose, lay out and write the menus with the {family} variables
      ansible.builtin.include_role:
        name: boot_loader
        tasks_from: "{{{{ item }}}}"
        vars_from: {family}.yml
      loop: [model.yml, layout.yml, menus.yml]
"""


def _ansible_playbook():
    # the venv's, next to this interpreter, else whatever PATH has
    here = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return here if os.path.exists(here) else shutil.which("ansible-playbook")


@pytest.mark.parametrize("family, distribution, linux, initrd", [
    ("Debian", "Debian", "linux", "initrd"),
    ("RedHat", "RedHat", "linuxefi", "initrdefi"),
])
def test_role_menus_render_and_validate(tmp_path, family, distribution, linux, initrd):
    check = shutil.which("grub-script-check")
    assert check, "grub-script-check (grub-common) is required"
    root = tmp_path / "tftp"
    play = tmp_path / "play.yml"
    play.write_text(PLAYBOOK.format(python=sys.executable, family=family, distribution=distribution,
                                    root=root, check=check))
    env = dict(os.environ,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    res = subprocess.run([_ansible_playbook(), str(play)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, (res.stdout[-4000:], res.stderr[-2000:])
    stats = json.loads(res.stdout)["stats"]["localhost"]
    # the directories, then one fabric.boot.file_set task for all GRUB files and one for pxelinux
    assert stats["failures"] == 0 and stats["changed"] == 3, stats
    uefi = root / "uefi"
    names = sorted(p.name for p in uefi.iterdir())
    assert names == ["grub.cfg", "grub.cfg-01-00-02-c9-0c-78-11", "grub.cfg-C0A8640B"]
    for name in names + ["../grub/grub.cfg"]:
        text = (uefi / name).read_text()
        assert subprocess.run([check, str(uefi / name)], check=False).returncode == 0, text
    node = (uefi / "grub.cfg-01-00-02-c9-0c-78-11").read_text()
    assert ("\n  %s /images/rhel95/vmlinuz rd.driver.pre=mlx5_ib,ib_ipoib rd.neednet=1 ip=ib0:dhcp "
            "rd.net.timeout.carrier=60 inst.repo=http://192.168.100.1/netinstall/ISO/RHEL95 "
            "'inst.ks=http://192.168.100.1/ks.cfg?a=1&b=2' console=ttyS0,115200\n" % linux) in node
    assert "\n  %s /images/rhel95/initrd.img\n" % initrd in node
    pxe = root / "pxelinux" / "pxelinux.cfg"
    assert sorted(p.name for p in pxe.iterdir()) == ["01-00-02-c9-0c-78-11", "C0A8640B", "default"]
    for p in pxe.iterdir():
        cfg = parse(p.read_text())
        assert cfg["labels"]["rhel95"]["KERNEL"] == "::/images/rhel95/vmlinuz"
