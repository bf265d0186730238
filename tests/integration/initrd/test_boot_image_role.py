"""The boot_image role on localhost with a real ISO (xorriso-built, Debian kernel + dracut initrd).

Check mode first (reports changes, writes nothing), a real run, a second run with no change,
check + diff with no change, a touched ISO (re-extracted, published files untouched), and the
role's refusals (missing required module, missing firmware).
"""
import json
import os
import re
import shutil
import subprocess

import pytest

import fbinitrd_lib as L

PLAY = """---
- name: boot_image integration
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - role: boot_image
"""


def _play(scratch, extra, check=False, diff=False, expect_rc=0):
    pb = os.path.join(scratch, "play.yml")
    with open(pb, "w") as f:
        f.write(PLAY)
    ev = os.path.join(scratch, "extra.json")
    with open(ev, "w") as f:
        json.dump(extra, f)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=L.COLLECTIONS, ANSIBLE_ROLES_PATH=os.path.join(L.ROOT, "roles"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_PYTHON_INTERPRETER=shutil.which("python3") or "/usr/bin/python3")
    cmd = ["ansible-playbook", "-i", "localhost,", pb, "-e", f"@{ev}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert r.returncode == expect_rc, f"rc={r.returncode}\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
    m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)", r.stdout)
    assert m, r.stdout[-3000:]
    return int(m.group(2)), r.stdout


@pytest.fixture(scope="module")
def iso(images, workdir):
    tree = os.path.join(workdir, "iso-tree")
    os.makedirs(os.path.join(tree, "images/pxeboot"), exist_ok=True)
    shutil.copyfile(L.VMLINUZ, os.path.join(tree, "images/pxeboot/vmlinuz"))
    shutil.copyfile(images["zstd"], os.path.join(tree, "images/pxeboot/initrd.img"))
    out = os.path.join(workdir, "fb-role-test.iso")
    L.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "FBROLE", "-o", out, tree])
    return {"iso": out, "tree": tree}


def _vars(scratch, iso, **over):
    v = {
        "boot_image_tftp_root": os.path.join(scratch, "tftp"),
        "boot_image_work_dir": os.path.join(scratch, "cache"),
        "boot_image_install_packages": False,
        "boot_image_module_source": L.MODDIR,
        "fabric_boot_images": {
            "ib": {"iso": iso["iso"], "driver_set": "mlx4_ib"},
            "eth": {"tree": iso["tree"], "driver_set": "mlx_eth", "mode": "append",
                    "modprobe_options": {"mlx4_core": "log_num_mgm_entry_size=-1"}},
            "plain": {"tree": iso["tree"], "kernel": "images/plain/linux", "initrd": "images/plain/initrd"},
        },
    }
    v.update(over)
    return v


def test_role_check_run_idempotent(scratch, iso, timings):
    ev = _vars(scratch, iso)
    tftp = ev["boot_image_tftp_root"]
    changed, out = _play(scratch, ev, check=True, diff=True)
    assert changed > 0, out[-3000:]
    assert not os.path.exists(os.path.join(tftp, "images/ib/initrd.img")), "check mode published a file"
    assert not os.path.exists(ev["boot_image_work_dir"]), "check mode extracted the ISO"

    changed, out = _play(scratch, ev)
    assert changed > 0
    for img in ("ib", "eth"):
        k = os.path.join(tftp, f"images/{img}/vmlinuz")
        assert L.sha256(k) == L.sha256(L.VMLINUZ)
        assert oct(os.stat(k).st_mode & 0o777) == "0o644"
        assert oct(os.stat(os.path.join(tftp, f"images/{img}/initrd.img")).st_mode & 0o777) == "0o644"
    ib = os.path.join(tftp, "images/ib/initrd.img")
    names = L.lsinitrd_list(ib)
    conf = [n for n in names if n.endswith("modules-load.d/fabric-boot.conf")]
    assert conf
    body = L.lsinitrd_file(ib, conf[0]).decode().split("\n")
    listed = [x.strip() for x in body if x.strip() and not x.startswith("#")]
    # FlexBoot order, minus what Linux 6.1 does not have (ib_addr ib_mad ib_sa ib_ucm ipoib_helper)
    assert listed == ["ib_core", "ib_cm", "ib_uverbs", "ib_umad", "iw_cm", "rdma_cm", "rdma_ucm",
                      "mlx4_core", "mlx4_ib", "ib_mthca", "ib_ipoib"], listed
    assert "skipped_optional" in out and "ib_addr" in out
    eth = os.path.join(tftp, "images/eth/initrd.img")
    pristine = open(os.path.join(iso["tree"], "images/pxeboot/initrd.img"), "rb").read()
    assert open(eth, "rb").read()[:len(pristine)] == pristine, "append mode changed the original bytes"

    # no driver set: published unchanged, at the paths the image names (shared boot layout keys)
    assert L.sha256(os.path.join(tftp, "images/plain/initrd")) == L.sha256(os.path.join(iso["tree"], "images/pxeboot/initrd.img"))
    assert L.sha256(os.path.join(tftp, "images/plain/linux")) == L.sha256(L.VMLINUZ)
    eth_names = set()
    for kind, blob in L.split_segments(open(eth, "rb").read()):
        eth_names |= L.cpio_list_bytes(blob, kind)
    eth_load = [n for n in eth_names if n.endswith("modules-load.d/fabric-boot.conf")]
    assert eth_load, "no modules-load.d/fabric-boot.conf in the eth image"

    before = {p: (os.stat(p).st_mtime_ns, L.sha256(p)) for p in
              [os.path.join(tftp, f"images/{i}/{f}") for i in ("ib", "eth") for f in ("vmlinuz", "initrd.img")]
              + [os.path.join(tftp, "images/plain/linux"), os.path.join(tftp, "images/plain/initrd")]}
    changed, out = _play(scratch, ev)
    assert changed == 0, out[-4000:]
    changed, out = _play(scratch, ev, check=True, diff=True)
    assert changed == 0, out[-4000:]
    after = {p: (os.stat(p).st_mtime_ns, L.sha256(p)) for p in before}
    assert after == before

    # a touched ISO is extracted again into a new directory, the old one goes, the output stays
    old = os.listdir(os.path.join(ev["boot_image_work_dir"], "ib"))
    os.utime(iso["iso"], None)
    changed, out = _play(scratch, ev)
    assert changed > 0
    new = os.listdir(os.path.join(ev["boot_image_work_dir"], "ib"))
    assert len(new) == 1 and new != old
    assert {p: (os.stat(p).st_mtime_ns, L.sha256(p)) for p in before} == before


def test_role_refuses_missing_module(scratch, iso):
    ev = _vars(scratch, iso, boot_image_driver_sets_extra={"broken": {"modules": ["ib_core", "no_such_mod_fb"]}},
               fabric_boot_images={"x": {"tree": iso["tree"], "driver_set": "broken"}})
    _unused, out = _play(scratch, ev, expect_rc=2)
    assert "no_such_mod_fb not found in" in out
    assert not os.path.exists(os.path.join(ev["boot_image_tftp_root"], "images/x/initrd.img"))


def test_role_refuses_missing_firmware(scratch, iso):
    fw = os.path.join(scratch, "firmware")
    os.makedirs(fw)
    ev = _vars(scratch, iso, boot_image_firmware_source=fw,
               fabric_boot_images={"o": {"tree": iso["tree"], "driver_set": "opa"}})
    _unused, out = _play(scratch, ev, expect_rc=2)
    assert "firmware hfi1_dc8051.fw" in out and "firmware-misc-nonfree" in out


def test_role_adds_the_smoke_test(scratch, iso):
    """smoke_test: true puts the hooks, the report script, its settings, the rdma tool with its
    libraries and Soft-RoCE into the image; the driver set alone stays in modules-load.d.
    (The hook itself runs in the lab, where a VM boots this kind of image through dhcpd.)"""
    ev = _vars(scratch, iso, fabric_boot_images={
        "smoke": {"tree": iso["tree"], "driver_set": "mlx5_ib", "smoke_test": True, "smoke_action": "continue"}})
    changed, out = _play(scratch, ev)
    assert changed > 0
    img = os.path.join(ev["boot_image_tftp_root"], "images/smoke/initrd.img")
    names = set(L.lsinitrd_list(img))
    for want in ("usr/lib/fabric-boot/smoke", "usr/lib/fabric-boot/rdma", "etc/fabric-boot/smoke.conf",
                 "usr/lib/dracut/hooks/pre-mount/99-fabric-boot-smoke.sh",
                 "usr/lib/dracut/hooks/emergency/00-fabric-boot-smoke.sh",
                 "usr/lib/dracut/hooks/shutdown-emergency/00-fabric-boot-smoke.sh",
                 "usr/lib/x86_64-linux-gnu/libmnl.so.0"):
        assert want in names, (want, sorted(n for n in names if "fabric" in n or "libmnl" in n))
    assert any(n.endswith("/rdma_rxe.ko") for n in names)
    assert any(n.endswith("/crc32_generic.ko") for n in names)
    conf = L.lsinitrd_file(img, "etc/fabric-boot/smoke.conf").decode()
    assert 'modules="mlx5_core mlx5_ib ib_ipoib ib_umad rdma_ucm"' in conf and "action=continue" in conf
    hook = L.lsinitrd_file(img, "usr/lib/dracut/hooks/pre-mount/99-fabric-boot-smoke.sh").decode()
    assert hook.endswith("/usr/lib/fabric-boot/smoke pre-mount\n"), hook
    # the script is valid sh as it sits in the image
    script = os.path.join(scratch, "smoke.sh")
    with open(script, "wb") as f:
        f.write(L.lsinitrd_file(img, "usr/lib/fabric-boot/smoke"))
    L.run(["sh", "-n", script])
    load = [n for n in names if n.endswith("modules-load.d/fabric-boot.conf")][0]
    listed = [x for x in L.lsinitrd_file(img, load).decode().split() if not x.startswith("#")]
    assert "rdma_rxe" not in listed and "mlx5_ib" in listed
    # rerun: nothing changes
    changed, out = _play(scratch, ev)
    assert changed == 0, out[-4000:]


def test_role_refuses_bad_smoke_action(scratch, iso):
    ev = _vars(scratch, iso, fabric_boot_images={"s": {"tree": iso["tree"], "smoke_test": True, "smoke_action": "reboot"}})
    _unused, out = _play(scratch, ev, expect_rc=2)
    assert "smoke_action poweroff or continue (got reboot)" in out
