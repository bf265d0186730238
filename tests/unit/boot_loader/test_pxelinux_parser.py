"""The pxelinux parser used by the role's tests must reject what pxelinux would misread."""
import pytest

from .pxelinux_config import PxelinuxConfigError, parse

GOOD = """SERIAL 0 115200
# comment
DEFAULT rhel95
PROMPT 0
TIMEOUT 0

LABEL rhel95
  MENU LABEL RHEL 9.5
  KERNEL ::/images/rhel95/vmlinuz
  INITRD ::/images/rhel95/initrd.img
  APPEND rd.neednet=1 ip=ib0:dhcp console=ttyS0,115200
"""


def test_good_config():
    cfg = parse(GOOD)
    assert cfg["serial"] == (0, 115200)
    assert cfg["globals"] == {"DEFAULT": "rhel95", "PROMPT": "0", "TIMEOUT": "0"}
    assert cfg["labels"]["rhel95"]["APPEND"] == "rd.neednet=1 ip=ib0:dhcp console=ttyS0,115200"


def test_recipe_config_parses():
    """A pxelinux.cfg/default that booted a VM through SeaBIOS, iPXE and pxelinux 6.04."""
    cfg = parse("SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n"
                "  KERNEL ::/uefi/vmlinuz\n  INITRD ::/uefi/initrd.img\n  APPEND console=ttyS0,115200 panic=5\n")
    assert cfg["labels"]["linux"]["KERNEL"] == "::/uefi/vmlinuz"


@pytest.mark.parametrize("text, message", [
    (GOOD.replace("::/images/rhel95/vmlinuz", "/images/rhel95/vmlinuz"), "is not '::/...'"),
    (GOOD.replace("::/images/rhel95/initrd.img", "images/rhel95/initrd.img"), "is not '::/...'"),
    (GOOD.replace("DEFAULT rhel95", "DEFAULT rhel9"), "DEFAULT rhel9 names no LABEL"),
    ("# x\nDEFAULT a\nSERIAL 0 115200\nLABEL a\n KERNEL ::/k\n", "SERIAL must be the first directive"),
    (GOOD.replace("  KERNEL ::/images/rhel95/vmlinuz\n", ""), "LABEL rhel95 has no KERNEL"),
    (GOOD + "  APPEND quiet\n", "second APPEND"),
    (GOOD + "LABEL rhel95\n  KERNEL ::/k\n", "defined twice"),
    (GOOD.replace("TIMEOUT 0", "TIMEOUT soon"), "TIMEOUT needs a number"),
    (GOOD.replace("PROMPT 0", "PROMT 0"), "unknown global keyword PROMT"),
    (GOOD.replace("  INITRD", "  INITRAMFS"), "unknown keyword INITRAMFS"),
    (GOOD.replace("KERNEL ::/images/rhel95/vmlinuz", "KERNEL ::/a ::/b"), "exactly one path"),
])
def test_rejects(text, message):
    with pytest.raises(PxelinuxConfigError, match=message):
        parse(text)
