"""boot_image converged in the instance: kernel and initrd under the TFTP root, driver sets inside.

Initrds are copied out of the instance and read with host tools (lsinitrd, cpio, zstd),
independently of the module that wrote them.
"""
import hashlib
import os
import re
import subprocess
import tempfile

import pytest

INSTANCE = "fb-boot-image"
TFTP = "/var/lib/tftpboot"
PRISTINE = "/srv/netinstall/FBTREE/images/pxeboot"
# mlx4_ib in the FlexBoot order, without the modules Linux 6.1 no longer has
MLX4_ORDER = ["ib_core", "ib_cm", "ib_uverbs", "ib_umad", "iw_cm", "rdma_cm", "rdma_ucm",
              "mlx4_core", "mlx4_ib", "ib_mthca", "ib_ipoib"]
OPA_ORDER = ["rdmavt", "hfi1", "ib_ipoib"]
HFI1_FW = ["hfi1_dc8051.fw", "hfi1_fabric.fw", "hfi1_pcie.fw", "hfi1_sbus.fw"]


@pytest.fixture(scope="module")
def pulled():
    """Copy the published and pristine files out of the instance once (removed afterwards,
    pass or fail)."""
    files = {
        "ib.initrd": f"{TFTP}/images/ib/initrd.img",
        "opa.initrd": f"{TFTP}/images/opa/initrd.img",
        "pristine.initrd": f"{PRISTINE}/initrd.img",
    }
    with tempfile.TemporaryDirectory(prefix="fb-boot-image-verify-") as d:
        out = {}
        for k, path in files.items():
            dest = os.path.join(d, k)
            subprocess.run(["podman", "cp", f"{INSTANCE}:{path}", dest], check=True)
            out[k] = dest
        yield out


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _listing(image):
    out = subprocess.run(["lsinitrd", image], capture_output=True, text=True, check=True).stdout
    return out


def _file(image, path):
    return subprocess.run(["lsinitrd", "-f", path, image], capture_output=True, text=True, check=True).stdout


def _conf_modules(text):
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


@pytest.mark.parametrize("image", ["ib", "opa"])
def test_published_files(host, image):
    for name in ("vmlinuz", "initrd.img"):
        f = host.file(f"{TFTP}/images/{image}/{name}")
        assert f.is_file, f.path
        assert f.mode == 0o644, oct(f.mode)
    assert host.file(f"{TFTP}/images/{image}/vmlinuz").sha256sum == host.file(f"{PRISTINE}/vmlinuz").sha256sum


def test_iso_extract_cached(host):
    out = host.run("find /var/cache/fabric-boot/boot_image/ib -name initrd.img")
    assert out.rc == 0 and out.stdout.count("initrd.img") == 1, out.stdout
    # the tree image is used in place
    assert not host.file("/var/cache/fabric-boot/boot_image/opa").exists


def test_tools_installed(host):
    for pkg in ("kmod", "zstd", "xz-utils", "xorriso"):
        assert host.package(pkg).is_installed, pkg


def test_mlx4_driver_set(pulled):
    img = pulled["ib.initrd"]
    listing = _listing(img)
    for rel in ("kernel/drivers/infiniband/hw/mlx4/mlx4_ib.ko", "kernel/drivers/net/ethernet/mellanox/mlx4/mlx4_core.ko",
                "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko", "kernel/drivers/infiniband/hw/mthca/ib_mthca.ko"):
        assert rel in listing or os.path.basename(rel) in listing, rel
    conf = [ln.split()[-1] for ln in listing.splitlines() if ln.rstrip().endswith("modules-load.d/fabric-boot.conf")]
    assert conf, "no modules-load.d/fabric-boot.conf"
    assert _conf_modules(_file(img, conf[0])) == MLX4_ORDER
    # modules that exist only in old kernels or MLNX_OFED were skipped, not faked
    for gone in ("ib_addr.ko", "ib_mad.ko", "ib_sa.ko", "ib_ucm.ko", "ipoib_helper.ko"):
        assert gone not in listing, gone
    # kmod's modules.dep in the image knows mlx4_ib's dependencies
    kver = re.search(r"usr/lib/modules/([^/\s]+)/modules\.dep\b", listing).group(1)
    dep = _file(img, f"usr/lib/modules/{kver}/modules.dep")
    line = [ln for ln in dep.splitlines() if ln.split(":")[0].endswith("/mlx4_ib.ko")]
    assert line and "mlx4_core.ko" in line[0] and "ib_core.ko" in line[0], line


def test_opa_driver_set_appended(pulled):
    img, pristine = pulled["opa.initrd"], pulled["pristine.initrd"]
    data, orig = open(img, "rb").read(), open(pristine, "rb").read()
    assert data[:len(orig)] == orig, "append mode must keep the original image bytes"
    tail = data[len(orig):].lstrip(b"\x00")
    assert tail, "nothing appended"
    if tail.startswith(b"070701"):
        raw = tail
    else:
        dec = {b"\x28\xb5\x2f\xfd": ["zstd", "-dcq"], b"\x1f\x8b": ["gzip", "-dc"], b"\xfd7zXZ": ["xz", "-dc"]}
        cmd = next(v for k, v in dec.items() if tail.startswith(k))
        raw = subprocess.run(cmd, input=tail, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"], input=raw, cwd=d, check=True)
        names = {os.path.relpath(os.path.join(r, f), d) for r, _unused, fs in os.walk(d) for f in fs}
        for fw in HFI1_FW:
            assert f"usr/lib/firmware/{fw}" in names, sorted(names)[:40]
            assert open(os.path.join(d, "usr/lib/firmware", fw)).read().startswith("fabric.boot test placeholder")
        assert any(n.endswith("/hfi1.ko") for n in names) and any(n.endswith("/rdmavt.ko") for n in names)
        load = [n for n in names if n.endswith("modules-load.d/fabric-boot.conf")]
        assert load and _conf_modules(open(os.path.join(d, load[0])).read()) == OPA_ORDER
        mp = [n for n in names if n.endswith("modprobe.d/fabric-boot.conf")]
        assert mp and "options ib_ipoib send_queue_size=256" in open(os.path.join(d, mp[0])).read()
