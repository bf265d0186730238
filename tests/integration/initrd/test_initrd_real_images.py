"""fabric.boot.initrd on real dracut images for Debian's kernel, checked with independent tools.

The module runs through ansible-playbook; results are checked with lsinitrd, cpio, modinfo,
kmod's own modprobe (--show-depends against the image's modules.dep.bin) and byte comparisons.
"""
import os
import time

import pytest

import fbinitrd_lib as L

ADD, IPOIB_OPTS = L.ADD, L.IPOIB_OPTS

EXPECTED_COMPRESSION = {"gzip": "gzip", "xz": "xz", "zstd": "zstd", "early+gzip": "gzip"}


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


@pytest.mark.parametrize("name", ["gzip", "xz", "zstd", "early+gzip"])
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
    # one big archive in the source's compression, then at most one small one (the module's manifest)
    kinds = [(k, len(b)) for k, b in main]
    assert main[0][0] == EXPECTED_COMPRESSION[name], kinds
    assert len(main) <= 2 and all(len(b) < 65536 for _unused, b in main[1:]), kinds
    tree = _extract_all(data, os.path.join(scratch, "tree"))
    after = _check_injected(dest, tree)
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
    assert after - names == set(), sorted(after - names)


def test_missing_module_fails(images, scratch):
    dest = os.path.join(scratch, "initrd.img")
    res = L.run_module({"src": images["zstd"], "dest": dest, "add_modules": ["no_such_module_fb"],
                        "module_source": L.MODDIR}, expect_fail=True)
    assert "no_such_module_fb" in res["msg"]
    assert not os.path.exists(dest)
