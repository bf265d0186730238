"""Boot Debian's kernel (qemu, TCG) with initrds changed by fabric.boot.initrd, in both modes.

The random marker lives only inside the initrd (a file the module adds), never on the kernel
command line, so seeing it on the serial console proves the module's output was unpacked and run.
A dracut cmdline hook (also added by the module) modprobes ib_ipoib and rdma_rxe, prints the
result, and powers the VM off.
"""
import os
import secrets

import pytest

import fbinitrd_lib as L

MODULES = ["ib_ipoib", "rdma_rxe"]


@pytest.mark.parametrize("mode,name", [("rewrite", "early+gzip"), ("append", "zstd")])
def test_boot_injected_initrd(images, scratch, timings, mode, name):
    marker = f"FBMARK-{secrets.token_hex(8)}"
    dest = os.path.join(scratch, "initrd.img")
    res = L.run_module({
        "src": images[name], "dest": dest, "mode": mode,
        "add_modules": MODULES, "module_source": L.MODDIR,
        "modules_load": [{"name": "fabric-boot", "modules": MODULES}],
        "modprobe_conf": [{"name": "fabric-boot", "lines": ["options ib_ipoib send_queue_size=256"]}],
        "files": [
            {"dest": "etc/fabric-test-marker", "content": marker + "\n", "mode": "0644"},
            {"dest": "usr/lib/dracut/hooks/cmdline/01-fabric-test.sh", "content": L.BOOT_HOOK, "mode": "0755"},
        ],
    })
    assert res["changed"] is True and res["kernel_version"] == L.KVER
    # the marker is in the image, not on the command line
    serial = os.path.join(scratch, "serial.log")
    text, elapsed, timed_out = L.boot(dest, serial, timeout=120)
    timings[f"qemu boot ({mode} {name})"] = elapsed
    tail = text[-4000:]
    assert not timed_out, f"VM did not power off within 120 s\n{tail}"
    assert f"{marker} HOOK-START" in text, f"hook from the injected files did not run\n{tail}"
    for m in MODULES:
        assert f"{marker} MODPROBE {m} OK" in text, f"modprobe {m} failed in the VM\n{tail}"
    assert f"{marker} PARAM send_queue_size=256" in text, f"modprobe.d option not applied\n{tail}"
    conf_lines = [ln for ln in text.splitlines() if ln.startswith(f"{marker} CONF ") and "modules-load.d/fabric-boot.conf" in ln]
    listed = [ln.rsplit(": ", 1)[1].strip() for ln in conf_lines if not ln.rsplit(": ", 1)[1].startswith("#")]
    assert [x for x in listed if x] == MODULES, conf_lines
    assert f"{marker} HOOK-DONE" in text
