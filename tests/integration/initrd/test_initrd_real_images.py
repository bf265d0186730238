"""fabric.boot.initrd on real dracut and initramfs-tools images for Debian's kernel, checked with
independent tools.

The module runs through ansible-playbook; results are checked with lsinitrd, cpio, modinfo,
kmod's own modprobe (--show-depends against the image's modules.dep.bin) and byte comparisons.
"""
import json
import os
import subprocess
import time
import zlib

import pytest

import fbinitrd_lib as L

ADD, IPOIB_OPTS = L.ADD, L.IPOIB_OPTS

EXPECTED_COMPRESSION = {"gzip": "gzip", "xz": "xz", "zstd": "zstd", "early+gzip": "gzip",
                        "initramfs-tools": "zstd"}
MANIFEST = "usr/lib/fabric-boot/initrd-manifest.json"


def _host_dep_line(rel):
    with open(os.path.join(L.MODDIR, "modules.dep")) as f:
        for line in f:
            k, _unused, v = line.partition(":")
            if k == rel:
                return v.split()
    raise AssertionError(f"{rel} not in host modules.dep")


def _image_mod_prefix(names):
    for p in (f"usr/lib/modules/{L.KVER}", f"lib/modules/{L.KVER}"):
        if f"{p}/modules.dep" in names:
            return p
    raise AssertionError("no modules.dep in image")


def _extract_all(image_bytes, dest):
    """Unpack every segment in order, as the kernel does (later segments overwrite earlier ones)."""
    for kind, blob in L.split_segments(image_bytes):
        L.cpio_extract_bytes(blob, kind, dest)
    return dest


def _check_injected(dest_image, tree, expect_conf=True):
    """Common independent checks on an image holding ADD (tree = its unpacked content)."""
    names = L.lsinitrd_list(dest_image)
    prefix = _image_mod_prefix(names)
    closure = L.module_closure(ADD)
    assert closure, "host modprobe found no dependency closure"
    missing = sorted(r for r in closure if f"{prefix}/{r}" not in names)
    assert not missing, f"modules (with dependencies) missing from the image: {missing}"
    moddir = os.path.join(tree, prefix)
    # the injected files are the host's modules, byte for byte, and modinfo agrees on what they are
    for rel in closure:
        got = os.path.join(moddir, rel)
        assert L.sha256(got) == L.sha256(os.path.join(L.MODDIR, rel)), rel
    ipoib = os.path.join(moddir, "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko")
    assert L.modinfo(ipoib, "name") == "ib_ipoib"
    assert L.modinfo(ipoib, "vermagic").split()[0] == L.KVER
    # modules.dep (text) matches the host's line for every injected module
    deps = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            k, _unused, v = line.partition(":")
            deps[k] = v.split()
    for rel in closure:
        assert rel in deps, f"{rel} missing from the image's modules.dep"
        # same dependencies as the host's depmod found (depmod's order depends on the module set)
        assert sorted(deps[rel]) == sorted(_host_dep_line(rel)), rel
    # kmod reads the binary index (modules.dep.bin): resolve through it, inside the unpacked image
    for m in ADD:
        out = L.run(["modprobe", "-d", tree, "-S", L.KVER, "--show-depends", m]).stdout
        loaded = [ln.split()[1] for ln in out.splitlines() if ln.startswith("insmod ")]
        assert loaded and all(p.startswith(tree) for p in loaded), out
        assert os.path.basename(loaded[-1]).split(".ko")[0].replace("-", "_") == m, out
    if expect_conf:
        conf = [n for n in names if n.endswith("modules-load.d/fabric-test.conf")]
        assert conf, "no modules-load.d/fabric-test.conf in the image"
        body = open(os.path.join(tree, conf[0])).read().split("\n")
        listed = [ln.strip() for ln in body if ln.strip() and not ln.strip().startswith("#")]
        assert listed == ADD, listed
        mp = [n for n in names if n.endswith("modprobe.d/fabric-test.conf")]
        assert mp, "no modprobe.d/fabric-test.conf in the image"
        assert IPOIB_OPTS in open(os.path.join(tree, mp[0])).read()
    return names


@pytest.mark.parametrize("name", ["gzip", "xz", "zstd", "early+gzip", "initramfs-tools"])
def test_rewrite_real_image(images, injected, scratch, name):
    src = images[name]
    before = L.lsinitrd_list(src)
    assert not any(n.endswith("/ib_ipoib.ko") for n in before), "fixture already has ib_ipoib"
    res, dest, _marker = injected("rewrite", name)
    assert res["changed"] is True
    assert res["kernel_version"] == L.KVER
    assert res["compression"] == EXPECTED_COMPRESSION[name]
    added = {m["name"] for m in res["modules_added"]}
    closure_names = {os.path.basename(r).split(".ko")[0].replace("-", "_") for r in L.module_closure(ADD)}
    assert added == closure_names, (added, closure_names)
    assert {m["name"] for m in res["modules_added"] if m["explicit"]} == set(ADD)
    assert res["sha256"] == L.sha256(dest)
    assert res["size_after"] == os.path.getsize(dest)
    assert res["size_before"] is None  # dest did not exist

    data = open(dest, "rb").read()
    segs = L.split_segments(data)
    if name.startswith("early+"):
        # the early (uncompressed) archive is kept first and byte-identical
        early_src = L.split_segments(open(src, "rb").read())[0]
        assert segs[0] == early_src
        assert L.cpio_list_bytes(segs[0][1], "none") >= {"kernel/x86/microcode/GenuineIntel.bin"}
        main = segs[1:]
    else:
        main = segs
    # exactly what dracut writes: [early cpio +] ONE archive in the source's compression
    kinds = [(k, len(b)) for k, b in main]
    assert len(main) == 1 and main[0][0] == EXPECTED_COMPRESSION[name], kinds
    tree = _extract_all(data, os.path.join(scratch, "tree"))
    after = _check_injected(dest, tree)
    # lsinitrd and `decompress | cpio -it` under pipefail list the same members, manifest last
    skip = len(data) - len(main[0][1])  # where the compressed archive starts
    piped = L.pipe_list(dest, EXPECTED_COMPRESSION[name], skip=skip)
    assert piped[-1] == MANIFEST and MANIFEST in after, piped[-3:]
    assert set(piped) == after - (L.cpio_list_bytes(segs[0][1], "none") if skip else set())
    if skip:
        # lsinitrd's own way past the early archive gives the same list
        assert L.pipe_list(dest, EXPECTED_COMPRESSION[name], skipcpio=True) == piped
    manifest = json.loads(L.lsinitrd_file(dest, MANIFEST))
    assert manifest["tool"] == "fabric.boot.initrd" and manifest["request_sha256"]
    lost = sorted(n for n in before - after if "/modules." not in n)
    assert not lost, f"rewrite lost files: {lost[:20]}"
    # src untouched
    assert L.lsinitrd_list(src) == before


def test_append_real_image(images, injected, scratch):
    src = images["xz"]
    src_bytes = open(src, "rb").read()
    res, dest, _marker = injected("append", "xz")
    assert res["changed"] is True and res["kernel_version"] == L.KVER
    data = open(dest, "rb").read()
    # append leaves the original bytes alone and adds after them
    assert data[:len(src_bytes)] == src_bytes
    tail = data[len(src_bytes):]
    tail_segs = L.split_segments(tail)
    assert tail_segs, "nothing appended"
    listed = set()
    for kind, blob in tail_segs:
        listed |= L.cpio_list_bytes(blob, kind)
    assert any(n.endswith("kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko") for n in listed), sorted(listed)[:30]
    assert any(n.endswith(f"modules/{L.KVER}/modules.dep.bin") for n in listed), "appended segment lacks modules.dep.bin"
    # unpack original then appended segments, in order, like the kernel
    tree = os.path.join(scratch, "tree")
    L.cpio_extract_bytes(src_bytes, "xz", tree)
    for kind, blob in tail_segs:
        L.cpio_extract_bytes(blob, kind, tree)
    _check_injected_tree_only(tree)


def _check_injected_tree_only(tree):
    prefix = f"usr/lib/modules/{L.KVER}"
    closure = L.module_closure(ADD)
    for rel in closure:
        p = os.path.join(tree, prefix, rel)
        assert os.path.isfile(p), rel
        assert L.sha256(p) == L.sha256(os.path.join(L.MODDIR, rel)), rel
    for m in ADD:
        out = L.run(["modprobe", "-d", tree, "-S", L.KVER, "--show-depends", m]).stdout
        assert "insmod " in out, out
    conf = [os.path.join(d, f) for d, _unused, fs in os.walk(tree) for f in fs if f == "fabric-test.conf"]
    assert any("modules-load.d" in c for c in conf) and any("modprobe.d" in c for c in conf), conf


@pytest.mark.parametrize("mode,name", [("rewrite", "zstd"), ("append", "zstd")])
def test_idempotent_and_check_mode(images, scratch, mode, name, timings):
    src = images[name]
    dest = os.path.join(scratch, "initrd.img")
    args = {
        "src": src, "dest": dest, "mode": mode, "add_modules": ADD, "module_source": L.MODDIR,
        "modules_load": [{"name": "fabric-test", "modules": ADD}],
        "modprobe_conf": [{"name": "fabric-test", "lines": [IPOIB_OPTS]}],
    }
    chk = L.run_module(args, check=True, diff=True)
    assert chk["changed"] is True, "check mode must report the change it would make"
    assert not os.path.exists(dest), "check mode wrote the destination"
    first = L.run_module(args)
    assert first["changed"] is True
    st1 = os.stat(dest)
    sha1 = L.sha256(dest)
    # the no-op record survives Ansible's atomic_move (which copies the old file's xattrs)
    record = json.loads(zlib.decompress(os.getxattr(dest, "user.fabric_boot.initrd")))
    assert record["sha256"] == sha1 == first["sha256"]
    time.sleep(1.1)  # a rewrite would show up as a new mtime
    second = L.run_module(args)
    timings[f"module second run ({mode} {name})"] = second["_elapsed"]
    assert second["changed"] is False, second
    st2 = os.stat(dest)
    assert (st2.st_mtime_ns, st2.st_size, st2.st_ino) == (st1.st_mtime_ns, st1.st_size, st1.st_ino)
    assert L.sha256(dest) == sha1
    assert second["sha256"] == sha1
    chk2 = L.run_module(args, check=True)
    assert chk2["changed"] is False
    assert os.stat(dest).st_mtime_ns == st1.st_mtime_ns
    # a different argument is a change again
    args2 = dict(args, modprobe_conf=[{"name": "fabric-test", "lines": ["options ib_ipoib send_queue_size=512"]}])
    chk3 = L.run_module(args2, check=True)
    assert chk3["changed"] is True
    assert L.sha256(dest) == sha1


def test_remove_module(images, scratch):
    src = images["zstd"]
    names = L.lsinitrd_list(src)
    prefix = _image_mod_prefix(names)
    dep = L.lsinitrd_file(src, f"{prefix}/modules.dep").decode()
    used = set()
    mods = []
    for line in dep.splitlines():
        k, _unused, v = line.partition(":")
        mods.append(k)
        used.update(v.split())
    leaf = sorted(m for m in mods if m not in used and m.endswith(".ko"))[0]
    modname = os.path.basename(leaf)[:-3].replace("-", "_")
    dest = os.path.join(scratch, "initrd.img")
    res = L.run_module({"src": src, "dest": dest, "remove_modules": [modname]})
    assert res["changed"] is True
    assert [m["name"].replace("-", "_") for m in res["modules_removed"]] == [modname], res["modules_removed"]
    after = L.lsinitrd_list(dest)
    assert f"{prefix}/{leaf}" not in after
    new_dep = L.lsinitrd_file(dest, f"{prefix}/modules.dep").decode()
    assert leaf not in new_dep
    gone = names - after
    assert f"{prefix}/{leaf}" in gone and gone <= {f"{prefix}/{leaf}", os.path.dirname(f"{prefix}/{leaf}")}, sorted(gone)
    assert after - names == {"usr/lib/fabric-boot", MANIFEST}, sorted(after - names)


def test_missing_module_fails(images, scratch):
    dest = os.path.join(scratch, "initrd.img")
    res = L.run_module({"src": images["zstd"], "dest": dest, "add_modules": ["no_such_module_fb"],
                        "module_source": L.MODDIR}, expect_fail=True)
    assert "no_such_module_fb" in res["msg"]
    assert not os.path.exists(dest)


@pytest.mark.parametrize("name", ["zstd", "initramfs-tools"])
def test_append_removal_refuses_in_the_images_own_modprobe(images, scratch, name):
    """Removal in append mode: the image's own /bin/sh (dracut: bash or dash; initramfs-tools:
    busybox) and kmod (chroot) refuse the module through the install command. dracut images
    have no /bin/false, so `install m /bin/false` fails there with 'No such file' (retcode 127)
    instead; initramfs-tools images have busybox's false, which is why the old line looked fine."""
    src = images[name]
    dracut = name != "initramfs-tools"
    prefix = _image_mod_prefix(L.lsinitrd_list(src))
    dep = L.lsinitrd_file(src, f"{prefix}/modules.dep").decode()
    # a module without dependencies: modprobe would insert those first, and this host's
    # kernel (a container) refuses init_module, which would hide the install command
    leaf = next(k for k, _c, v in (ln.partition(":") for ln in dep.splitlines())
                if k.endswith("/crc32_generic.ko") and not v.strip())
    mod = os.path.basename(leaf)[:-3]
    dest = os.path.join(scratch, "initrd.img")
    res = L.run_module({"src": src, "dest": dest, "mode": "append", "remove_modules": [mod]})
    assert res["changed"] and [a["role"] for a in res["archives"]] == ["main", "appended"]
    tree = _extract_all(open(dest, "rb").read(), os.path.join(scratch, "tree"))
    assert os.path.lexists(os.path.join(tree, "bin/false")) is not dracut
    if not dracut:
        assert os.path.samefile(os.path.join(tree, "bin/sh"), os.path.join(tree, "bin/busybox"))
    assert os.path.getsize(os.path.join(tree, prefix, leaf)) == 0
    conf = open(os.path.join(tree, "etc/modprobe.d/fabric-boot-removed.conf")).read()
    assert f"blacklist {mod}\ninstall {mod} exit 1\n" in conf
    # modprobe -d on the tree: the removed module is gone from modules.dep.bin ...
    gone = L.run(["modprobe", "-d", tree, "-S", L.KVER, "--show-depends", mod], check=False)
    assert gone.returncode != 0 or "install exit 1" in gone.stdout, gone.stdout
    # ... and an explicit modprobe in the image refuses it with kmod's one error line
    r = subprocess.run(["chroot", tree, "/usr/sbin/modprobe", "-S", L.KVER, mod],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 1, r
    assert f"Error running install command 'exit 1' for module {mod}: retcode 1" in r.stderr, r.stderr
    assert "No such file" not in r.stderr and "not found" not in r.stderr, r.stderr
    quiet = subprocess.run(["chroot", tree, "/usr/sbin/modprobe", "-q", "-S", L.KVER, mod],
                           capture_output=True, text=True, check=False)
    assert quiet.returncode == 1 and quiet.stderr == "", quiet
    # the old line, for contrast: a dracut image has no /bin/false
    with open(os.path.join(tree, "etc/modprobe.d/fabric-boot-removed.conf"), "w") as f:
        f.write(f"install {mod} /bin/false\n")
    old = subprocess.run(["chroot", tree, "/usr/sbin/modprobe", "-S", L.KVER, mod],
                         capture_output=True, text=True, check=False)
    if dracut:
        assert "/bin/false: No such file or directory" in old.stderr and "retcode 127" in old.stderr, old
    else:
        assert "No such file" not in old.stderr and "retcode 1" in old.stderr, old


def test_list_mode_shows_the_appended_archive(injected, scratch):
    """Append output: lsinitrd shows the base only; mode=list shows both archives, and each
    list equals what cpio reads from that segment."""
    _res, dest, _marker = injected("append", "xz")
    listed = L.run_module({"src": dest, "mode": "list"})
    assert listed["changed"] is False
    segs = L.split_segments(open(dest, "rb").read())
    assert [(a["compression"], a["size"]) for a in listed["archives"]] == [(k, len(b)) for k, b in segs]
    assert [a["role"] for a in listed["archives"]] == ["main", "appended"]
    for arch, (kind, blob) in zip(listed["archives"], segs):
        assert {m["name"] for m in arch["members"]} == L.cpio_list_bytes(blob, kind)
        # the documented by-hand recipe lists the same members in the same order, exit 0
        assert L.segment_list(dest, arch["offset"], arch["size"], kind) == [m["name"] for m in arch["members"]]
    appended = [m["name"] for m in listed["archives"][1]["members"]]
    assert appended[-1] == MANIFEST
    assert any(n.endswith("/ib_ipoib.ko") for n in appended)
    prefix = f"usr/lib/modules/{L.KVER}"
    missing = sorted(r for r in L.module_closure(ADD) if f"{prefix}/{r}" not in appended)
    assert not missing, f"closure modules missing from the appended archive: {missing}"
    assert not any(n.endswith("/ib_ipoib.ko") for n in L.lsinitrd_list(dest))
    assert listed["manifest"]["mode"] == "append"
