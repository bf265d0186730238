"""Boot Debian's kernel (qemu, TCG) with initrds changed by fabric.boot.initrd, in both modes.

The random marker lives only inside the initrd (a file the module added), never on the kernel
command line, so seeing it on the serial console proves the module's output was unpacked and
run. A dracut pre-trigger hook (also added by the module) reports which of the modules_load list
the module's own pre-udev hook loaded, modprobes ib_ipoib and rdma_rxe, prints the results, the
option from modprobe.d and the modules-load.d file, and powers the VM off.
"""
import os

import pytest

import fbinitrd_lib as L
ADD = L.ADD


@pytest.mark.parametrize("mode,name", [("rewrite", "early+gzip"), ("append", "zstd")])
def test_boot_injected_initrd(injected, scratch, timings, mode, name):
    res, dest, marker = injected(mode, name)
    assert res["changed"] is True and res["kernel_version"] == L.KVER
    serial = os.path.join(scratch, "serial.log")
    text, elapsed, timed_out = L.boot(dest, serial, timeout=120)
    timings[f"qemu boot ({mode} {name})"] = elapsed
    tail = text[-4000:]
    assert not timed_out, f"VM did not power off within 120 s\n{tail}"
    assert f"{marker} HOOK-START" in text, f"hook from the injected files did not run\n{tail}"
    # dracut's shell init reads no modules-load.d: the module's pre-udev hook loaded the list
    pre = [ln.split("PRELOADED", 1)[1].split() for ln in text.splitlines() if ln.startswith(f"{marker} PRELOADED")]
    assert pre and sorted(pre[0]) == sorted(ADD), f"modules_load not loaded before pre-trigger: {pre}\n{tail}"
    for m in ("ib_ipoib", "rdma_rxe"):
        assert f"{marker} MODPROBE {m} OK" in text, f"modprobe {m} failed in the VM\n{tail}"
    assert f"{marker} PARAM send_queue_size=256" in text, f"modprobe.d option not applied\n{tail}"
    conf = [ln.split(": ", 1)[1].strip() for ln in text.splitlines()
            if ln.startswith(f"{marker} CONF ") and "modules-load.d/fabric-test.conf" in ln]
    assert [x for x in conf if x and not x.startswith("#")] == ADD, conf
    assert f"{marker} HOOK-DONE" in text
