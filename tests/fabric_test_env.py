"""Facts about the test machine that several suites need, found rather than hard-coded.

tests/ci/apt-packages.sh installs Debian's linux-image-amd64; its version moves with Debian
point releases, so tests look the kernel up instead of naming one. A missing kernel is a
broken test setup: the lookup fails the test, it never skips it.
"""
import glob
import os
import re

import pytest


def _version_key(kver):
    return [int(p) if p.isdigit() else p for p in re.split(r"[.-]", kver)]


def debian_kernel():
    """Return (kver, vmlinuz, modules_dir, initrd) of the newest Debian amd64 kernel installed."""
    found = []
    for moddir in glob.glob("/lib/modules/*-amd64"):
        kver = os.path.basename(moddir)
        vmlinuz = "/boot/vmlinuz-%s" % kver
        if os.path.exists(os.path.join(moddir, "modules.dep")) and os.path.exists(vmlinuz):
            found.append(kver)
    if not found:
        pytest.fail("no Debian kernel with modules under /lib/modules/*-amd64: install linux-image-amd64 "
                    "(tests/ci/apt-packages.sh)", pytrace=False)
    kver = max(found, key=_version_key)
    return kver, "/boot/vmlinuz-%s" % kver, "/lib/modules/%s" % kver, "/boot/initrd.img-%s" % kver
