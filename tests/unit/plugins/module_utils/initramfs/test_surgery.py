"""End-to-end surgery on synthetic images built with GNU cpio and the real compressors."""
import hashlib
import os
import subprocess

import pytest

import builders
from fabric_test_env import debian_kernel
from builders import KVER, MODROOT
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import image, surgery
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError

IPOIB = MODROOT + "/kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko"
IB_CM = MODROOT + "/kernel/drivers/infiniband/core/ib_cm.ko"
IB_CORE = MODROOT + "/kernel/drivers/infiniband/core/ib_core.ko"
DUMMY = MODROOT + "/kernel/drivers/net/dummy.ko"


def run(initrd, **params):
    params.setdefault("src", initrd)
    check = params.pop("_check", False)
    diff = params.pop("_diff", False)
    return surgery.run(params, check_mode=check, want_diff=diff)


def read_tree(path):
    with open(path, "rb") as handle:
        data = handle.read()
    archives = image.read_archives(data, path)
    return data, archives, image.Tree(archives).entries


def sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_adds_closure_and_depmod_resolves_through_lib_symlink(env):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    result = run(src, dest=dest, add_modules=["ib-ipoib"], module_source=tree)
    assert result["changed"] and result["kernel_version"] == KVER
    assert [(m["name"], m["explicit"]) for m in result["modules_added"]] == [
        ("ib_ipoib", True), ("ib_cm", False), ("ib_core", False)]
    names = builders.list_image(open(dest, "rb").read(), "gzip")
    assert IPOIB in names and IB_CM in names
    # Resolved through lib -> usr/lib: nothing was written under a real lib/ directory.
    assert not any(n.startswith("lib/") for n in names)
    out = builders.extract(open(dest, "rb").read(), "gzip", str(tmp / "x"))
    moddep = open(os.path.join(out, MODROOT, "modules.dep")).read()
    assert "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko:" in moddep
    assert os.path.exists(os.path.join(out, MODROOT, "modules.dep.bin"))
    assert os.readlink(os.path.join(out, "lib")) == "usr/lib"
    # Hard links survive the rewrite (busybox applets).
    assert os.stat(os.path.join(out, "bin/sh")).st_ino == os.stat(os.path.join(out, "bin/busybox")).st_ino
    _data, archives, _entries = read_tree(dest)
    # One archive, as dracut writes it; the manifest is its last member.
    assert [a.describe()["role"] for a in archives] == ["main"]
    assert names[-1] == image.MANIFEST_PATH and archives[0].manifest["tool"] == "fabric.boot.initrd"


@pytest.mark.parametrize("fmt", ["gzip", "xz", "lzma", "zstd", "bzip2", "lz4", "none"])
def test_each_compression_is_kept(tmp_path, fmt):
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, fmt)
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    result = run(src, dest=str(tmp_path / "out.img"), add_modules=["ib_ipoib"], module_source=tree,
                 compression_level=1 if fmt not in ("none",) else None)
    assert result["compression"] == fmt
    data, archives, entries = read_tree(str(tmp_path / "out.img"))
    assert [a.compression for a in archives] == [fmt]
    assert not data[archives[0].end:].strip(b"\0")
    # The real tool reads the whole file, manifest included, as one archive.
    listed = builders.list_image(data, fmt)
    assert IPOIB in listed and listed[-1] == image.MANIFEST_PATH


def test_compression_can_be_changed(env):
    tmp, src, tree = env
    result = run(src, dest=str(tmp / "out.img"), compression="xz", add_modules=["ib_cm"],
                 module_source=tree)
    assert result["compression"] == "xz"
    data = open(str(tmp / "out.img"), "rb").read()
    assert data[:6] == b"\xfd7zXZ\x00"
    assert IB_CM in builders.list_image(data, "xz")


def test_early_cpio_is_kept_byte_identical(tmp_path):
    src = str(tmp_path / "initrd.img")
    early = builders.make_image(src, "zstd", early={
        "kernel/x86/microcode/GenuineIntel.bin": b"\x01microcode" * 50})
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    dest = str(tmp_path / "out.img")
    result = run(src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    data = open(dest, "rb").read()
    assert data[:len(early)] == early
    assert [a["role"] for a in result["archives"]] == ["early", "main"]
    # The pitfall: cpio on the whole file stops after the microcode.
    only_early = subprocess.run(["cpio", "--quiet", "-t"], input=data, stdout=subprocess.PIPE,
                                check=True).stdout.decode()
    assert "kernel/x86/microcode/GenuineIntel.bin" in only_early and "init" not in only_early.split()
    assert IPOIB in builders.list_image(data, "zstd", skip=len(early))


@pytest.mark.parametrize("fmt", ["none", "xz"])
def test_dracut_early_cpio_with_marker_stays_in_front(tmp_path, fmt):
    src = str(tmp_path / "initrd.img")
    early = builders.make_image(src, fmt, early={
        "early_cpio": b"1\n", "kernel/x86/microcode/AuthenticAMD.bin": b"\x02amd" * 40})
    result = run(src, dest=str(tmp_path / "out.img"), files=[{"dest": "etc/x", "content": "x"}])
    assert [a["role"] for a in result["archives"]] == ["early", "main"]
    data, archives, _entries = read_tree(str(tmp_path / "out.img"))
    assert data[:len(early)] == early
    assert "early_cpio" not in [e.name for e in archives[1].entries]


def test_modules_dep_closure_brings_helpers_modinfo_does_not_name(env):
    tmp, src, tree = env
    result = run(src, dest=str(tmp / "out.img"), add_modules=["mlx5_ib"], module_source=tree)
    assert [m["name"] for m in result["modules_added"]] == ["mlx5_ib", "mlxfw", "ib_core"]


def test_modinfo_depends_closure_for_a_driver_directory(env):
    tmp, src, _tree = env
    vendor = str(tmp / "extra" / "opxs-kernel-updates")
    builders.stage(vendor, {
        "hfi1.ko": builders.elf_module("hfi1", depends=["rdmavt", "ib_core"]),
        "rdmavt.ko": builders.elf_module("rdmavt", depends=["ib_core"]),
    })
    result = run(src, dest=str(tmp / "out.img"), add_modules=["hfi1"], module_source=vendor)
    paths = dict((m["name"], m["path"]) for m in result["modules_added"])
    assert paths == {"hfi1": MODROOT + "/updates/hfi1.ko", "rdmavt": MODROOT + "/updates/rdmavt.ko"}
    _data, _archives, entries = read_tree(str(tmp / "out.img"))
    moddep = bytes(entries[MODROOT + "/modules.dep"].data).decode()
    assert "updates/hfi1.ko:" in moddep


def test_dependency_missing_everywhere_is_an_error(env):
    tmp, src, _tree = env
    vendor = str(tmp / "vendor")
    builders.stage(vendor, {"hfi1.ko": builders.elf_module("hfi1", depends=["rdmavt"])})
    with pytest.raises(InitrdError, match="hfi1 depends on rdmavt, which is neither"):
        run(src, dest=str(tmp / "out.img"), add_modules=["hfi1"], module_source=vendor)


def test_append_replacement_empties_the_stale_copy(tmp_path):
    src = str(tmp_path / "initrd.img")
    files = builders.base_files(".ko.xz")
    files[MODROOT + "/updates/ib_core.ko"] = builders.elf_module("ib_core")
    builders.make_image(src, "gzip", files=files)
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    run(src, mode="append", add_modules=["ib_core"], module_source=tree)
    _data, _archives, entries = read_tree(src)
    assert entries[MODROOT + "/updates/ib_core.ko"].size == 0
    moddep = bytes(entries[MODROOT + "/modules.dep"].data).decode()
    assert "updates/ib_core.ko" not in moddep and "kernel/drivers/infiniband/core/ib_core.ko.xz:" in moddep


@pytest.mark.parametrize("suffix,fmt", [(".ko.xz", "xz"), (".ko.zst", "zstd")])
def test_inbox_copy_is_replaced_in_place_with_its_suffix(tmp_path, suffix, fmt):
    src = str(tmp_path / "initrd.img")
    files = builders.base_files(suffix)
    # A second, stale copy elsewhere must go too, or depmod would pick one of two.
    files[MODROOT + "/updates/ib_core.ko"] = builders.elf_module("ib_core")
    builders.make_image(src, "gzip", files=files)
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    dest = str(tmp_path / "out.img")
    result = run(src, dest=dest, add_modules=["ib_cm"], module_source=tree)
    replaced = dict((m["name"], m) for m in result["modules_replaced"])
    assert replaced["ib_core"]["path"] == IB_CORE[:-3] + suffix
    assert sorted(replaced["ib_core"]["replaced"]) == [IB_CORE[:-3] + suffix,
                                                       MODROOT + "/updates/ib_core.ko"]
    _data, _archives, entries = read_tree(dest)
    assert MODROOT + "/updates/ib_core.ko" not in entries
    source_elf = open(os.path.join(tree, "kernel/drivers/infiniband/core/ib_core.ko"), "rb").read()
    assert builders.decompress(bytes(entries[IB_CORE[:-3] + suffix].data), fmt) == source_elf
    # A module new to the image is compressed like the image's modules.
    assert builders.decompress(bytes(entries[IB_CM[:-3] + suffix].data), fmt)[:4] == b"\x7fELF"


def test_vermagic_mismatch_is_refused_unless_forced(tmp_path):
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, "gzip")
    tree = builders.source_tree(str(tmp_path / "src" / "5.14.0-503.el9.x86_64"),
                                vermagic="5.14.0-503.el9.x86_64 SMP mod_unload")
    before = sha(src)
    with pytest.raises(InitrdError, match=r"module ib_ipoib .* was built for kernel "
                                          r"5.14.0-503.el9.x86_64 .* image kernel is 6.1.0-test") as exc:
        run(src, add_modules=["ib_ipoib"], module_source=tree)
    assert exc.value.field == "add_modules" and exc.value.value == "ib_ipoib"
    assert sha(src) == before
    result = run(src, add_modules=["ib_ipoib"], module_source=tree, force_vermagic=True)
    assert result["changed"]


def test_same_inputs_give_identical_bytes(env):
    tmp, src, tree = env
    params = dict(add_modules=["ib_ipoib"], module_source=tree,
                  files=[{"dest": "/etc/motd", "content": "hi\n"}])
    run(src, dest=str(tmp / "a.img"), **params)
    run(src, dest=str(tmp / "b.img"), **params)
    assert sha(str(tmp / "a.img")) == sha(str(tmp / "b.img"))


@pytest.mark.parametrize("mode", ["rewrite", "append"])
def test_rerun_in_place_is_a_no_op(env, mode):
    _tmp, src, tree = env
    first = run(src, mode=mode, add_modules=["ib_ipoib"], module_source=tree)
    assert first["changed"]
    stat_before, digest = os.stat(src), sha(src)
    second = run(src, mode=mode, add_modules=["ib_ipoib"], module_source=tree)
    assert second["changed"] is False
    assert second["modules_added"] == first["modules_added"]
    stat_after = os.stat(src)
    assert (stat_after.st_mtime_ns, stat_after.st_ino) == (stat_before.st_mtime_ns, stat_before.st_ino)
    assert sha(src) == digest


def test_rerun_to_separate_dest_is_a_no_op_until_src_changes(env):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    assert run(src, dest=dest, add_modules=["ib_cm"], module_source=tree)["changed"]
    assert run(src, dest=dest, add_modules=["ib_cm"], module_source=tree)["changed"] is False
    builders.make_image(src, "gzip", files=builders.base_files(extra={"etc/new": b"x"}))
    assert run(src, dest=dest, add_modules=["ib_cm"], module_source=tree)["changed"]


def test_changed_request_is_not_a_no_op(env):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    run(src, dest=dest, add_modules=["ib_cm"], module_source=tree)
    assert run(src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)["changed"]


def test_new_request_in_place_replaces_the_old_manifest(env):
    _tmp, src, tree = env
    run(src, add_modules=["ib_cm"], module_source=tree)
    run(src, add_modules=["mlx5_ib"], module_source=tree)
    _data, archives, entries = read_tree(src)
    assert [a.describe()["role"] for a in archives] == ["main"]
    assert image.MANIFEST_PATH not in [e.name for e in archives[0].entries]
    assert IB_CM in entries and MODROOT + "/kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko" in entries
    listed = builders.list_image(open(src, "rb").read(), "gzip")
    assert listed.count(image.MANIFEST_PATH) == 1
    assert archives[0].manifest["request_sha256"] != ""


def test_file_edited_behind_our_back_is_rebuilt(env):
    tmp, src, tree = env
    run(src, add_modules=["ib_cm"], module_source=tree)
    data = open(src, "rb").read()
    raw = builders.decompress(data, "gzip")
    # One byte of content changed, manifest member kept as it was: its content hash no
    # longer matches.
    at = raw.index(b"\x7fELF")
    raw = raw[:at + 1] + bytes([raw[at + 1] ^ 1]) + raw[at + 2:]
    tampered = subprocess.run(["gzip", "-1", "-n", "-c"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
    with open(src, "wb") as handle:
        handle.write(tampered)
    assert run(src, add_modules=["ib_cm"], module_source=tree)["changed"]
    # Recompressed without a change: still this request's result, so a no-op.
    same = subprocess.run(["gzip", "-1", "-n", "-c"], input=builders.decompress(
        open(src, "rb").read(), "gzip"), stdout=subprocess.PIPE, check=True).stdout
    with open(src, "wb") as handle:
        handle.write(same)
    assert run(src, add_modules=["ib_cm"], module_source=tree)["changed"] is False


def test_append_keeps_original_bytes_and_is_idempotent(env):
    tmp, src, tree = env
    original = open(src, "rb").read()
    dest = str(tmp / "out.img")
    result = run(src, dest=dest, mode="append", add_modules=["ib_ipoib"], module_source=tree)
    data = open(dest, "rb").read()
    assert data[:len(original)] == original
    assert [a["role"] for a in result["archives"]] == ["main", "appended"]
    _data, archives, entries = read_tree(dest)
    assert IPOIB in entries and IPOIB not in [e.name for e in archives[0].entries]
    assert "ib_ipoib.ko:" in bytes(entries[MODROOT + "/modules.dep"].data).decode()
    # Stock tools see the original archive, then the appended one with gzip's multi-member read.
    appended = builders.list_image(data[archives[1].offset:archives[1].end], "gzip")
    assert IPOIB in appended and MODROOT + "/modules.dep" in appended
    assert appended[-1] == image.MANIFEST_PATH
    assert run(src, dest=dest, mode="append", add_modules=["ib_ipoib"],
               module_source=tree)["changed"] is False
    # In place: a new request replaces our appended archive instead of stacking another.
    run(dest, mode="append", add_modules=["ib_ipoib"], module_source=tree)
    run(dest, mode="append", add_modules=["mlx5_ib"], module_source=tree)
    data2, archives2, entries2 = read_tree(dest)
    assert data2[:len(original)] == original and len(archives2) == 2
    assert MODROOT + "/kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko" in entries2
    assert IPOIB not in entries2


def test_append_refuses_to_overwrite_a_hard_link(env):
    _tmp, src, _tree = env
    before = sha(src)
    with pytest.raises(InitrdError, match="bin/sh is a hard link in the image"):
        run(src, mode="append", files=[{"dest": "bin/sh", "content": "#!/bin/dash\n"}])
    assert sha(src) == before
    result = run(src, files=[{"dest": "bin/sh", "content": "#!/bin/dash\n"}])
    assert result["changed"]
    out = builders.extract(open(src, "rb").read(), "gzip", src + ".x")
    assert open(os.path.join(out, "bin/sh")).read() == "#!/bin/dash\n"
    assert open(os.path.join(out, "bin/ls"), "rb").read() == b"\x7fELF busybox" * 100
    assert os.stat(os.path.join(out, "bin/ls")).st_ino == os.stat(os.path.join(out, "bin/busybox")).st_ino


def test_append_removal_blacklists_and_empties(env):
    _tmp, src, _tree = env
    result = run(src, mode="append", remove_modules=["dummy"])
    assert result["modules_removed"] == [{"name": "dummy", "paths": [DUMMY]}]
    _data, _archives, entries = read_tree(src)
    assert entries[DUMMY].size == 0
    conf = bytes(entries["etc/modprobe.d/fabric-boot-removed.conf"].data).decode()
    # `exit 1`, a builtin of every /bin/sh kmod's system() may find, not /bin/false (dracut
    # images have none).
    assert conf == ("# Written by fabric.boot.initrd; changes are overwritten.\n"
                    "blacklist dummy\ninstall dummy exit 1\n")
    assert "dummy" not in bytes(entries[MODROOT + "/modules.dep"].data).decode()


def test_append_removal_line_is_refused_by_real_modprobe(tmp_path):
    """kmod's modprobe reads the generated file from the unpacked image (base archive, then the
    appended one, as the kernel unpacks them) and runs the install command through /bin/sh.
    The module has a name no kernel has loaded: modprobe does nothing for a loaded one."""
    src = str(tmp_path / "initrd.img")
    gone = MODROOT + "/kernel/drivers/net/fabric_gone.ko"
    files = builders.base_files(extra={gone: builders.elf_module("fabric_gone")})
    files[MODROOT + "/modules.dep"] += b"kernel/drivers/net/fabric_gone.ko:\n"
    builders.make_image(src, "gzip", files)
    base = open(src, "rb").read()
    run(src, mode="append", remove_modules=["fabric_gone"])
    data = open(src, "rb").read()
    root = builders.extract(base, "gzip", str(tmp_path / "root"))
    builders.extract(data[len(base):], "gzip", root)
    conf = os.path.join(root, "etc/modprobe.d/fabric-boot-removed.conf")
    proc = subprocess.run(["modprobe", "-C", conf, "-d", root, "-S", KVER, "fabric_gone"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Error running install command 'exit 1' for module fabric_gone: retcode 1" in err, err
    dry = subprocess.run(["modprobe", "-n", "-v", "-C", conf, "-d", root, "-S", KVER, "fabric_gone"],
                         stdout=subprocess.PIPE, check=False).stdout.decode()
    assert dry.split() == ["install", "exit", "1"], dry


def test_rewrite_removal_deletes(env):
    _tmp, src, _tree = env
    run(src, remove_modules=["dummy", "not_there"])
    data = open(src, "rb").read()
    names = builders.list_image(data, "gzip")
    assert DUMMY not in names
    out = builders.extract(data, "gzip", src + ".x")
    assert "dummy" not in open(os.path.join(out, MODROOT, "modules.dep")).read()


def test_removing_a_needed_module_is_an_error(tmp_path):
    src = str(tmp_path / "initrd.img")
    files = builders.base_files()
    files[MODROOT + "/modules.dep"] += b"kernel/drivers/net/needs_core.ko: kernel/drivers/infiniband/core/ib_core.ko\n"
    files[MODROOT + "/kernel/drivers/net/needs_core.ko"] = builders.elf_module("needs_core")
    builders.make_image(src, "gzip", files=files)
    with pytest.raises(InitrdError, match="cannot remove ib_core, the image module needs_core"):
        run(src, remove_modules=["ib_core"])


def test_files_and_configs(env):
    tmp, src, _tree = env
    fw = tmp / "fw.bin"
    fw.write_bytes(b"\x00firmware")
    run(src, files=[{"dest": "lib/firmware/hfi1_dc8051.fw", "src": str(fw), "mode": "0600"}],
        modules_load=[{"name": "ib", "modules": ["ib_ipoib", "ib_umad"]}],
        modprobe_conf=[{"name": "ipoib", "lines": ["options ib_ipoib send_queue_size=256"]}])
    _data, _archives, entries = read_tree(src)
    firmware = entries["usr/lib/firmware/hfi1_dc8051.fw"]
    assert bytes(firmware.data) == b"\x00firmware" and firmware.mode & 0o777 == 0o600
    assert "lib/firmware/hfi1_dc8051.fw" not in entries
    assert bytes(entries["etc/modules-load.d/ib.conf"].data).decode().endswith("ib_ipoib\nib_umad\n")
    assert "options ib_ipoib send_queue_size=256\n" in bytes(
        entries["etc/modprobe.d/ipoib.conf"].data).decode()
    # initramfs-tools reads /conf/modules, not modules-load.d.
    assert bytes(entries["conf/modules"].data) == b"ib_ipoib\nib_umad\n"


def _dracut_files(init):
    """base_files turned into a dracut image: no initramfs-tools scripts, dracut's hook directories."""
    files = builders.base_files()
    del files["scripts/functions"], files["conf/initramfs.conf"]
    files["init"] = init
    files["usr/lib/dracut/hooks/pre-udev"] = ("dir",)
    return files


def test_dracut_shell_init_gets_a_hook_that_loads_modules_load(tmp_path):
    # dracut's shell init never reads modules-load.d (only systemd-modules-load does): without
    # the hook, a diskless image's driver set waited for the root's systemd-modules-load, whose
    # 90 s limit a loaded TCG VM exceeded
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, "gzip", files=_dracut_files(b"#!/bin/sh\n# dracut init\n"))
    run(src, modules_load=[{"name": "ib", "modules": ["ib_ipoib", "mlx5_ib"]},
                           {"name": "opa", "modules": ["hfi1"]}])
    _data, _archives, entries = read_tree(src)
    hook = entries["usr/lib/dracut/hooks/pre-udev/05-fabric-boot-modules-load.sh"]
    assert hook.mode & 0o777 == 0o755
    text = bytes(hook.data).decode()
    assert "\nmodprobe -a -b 'ib_ipoib' 'mlx5_ib' 'hfi1' || warn " in text, text
    assert "conf/modules" not in entries
    proc = subprocess.run(["sh", "-n", "-c", text], stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr
    assert run(src, modules_load=[{"name": "ib", "modules": ["ib_ipoib", "mlx5_ib"]},
                                  {"name": "opa", "modules": ["hfi1"]}])["changed"] is False


@pytest.mark.parametrize("init", [("symlink", "usr/lib/systemd/systemd"), None])
def test_no_load_hook_where_modules_load_d_is_read_or_no_dracut(tmp_path, init):
    # systemd in the initrd reads modules-load.d itself; initramfs-tools gets conf/modules
    src = str(tmp_path / "initrd.img")
    files = _dracut_files(init) if init else builders.base_files()
    builders.make_image(src, "gzip", files=files)
    run(src, modules_load=[{"name": "ib", "modules": ["ib_ipoib"]}])
    _data, _archives, entries = read_tree(src)
    assert not [n for n in entries if "fabric-boot-modules-load" in n]
    assert "etc/modules-load.d/ib.conf" in entries


@pytest.mark.parametrize("bad", ["ib_ipoib\nhfi1", "ib ipoib", "x'; reboot; '", "#mlx5_ib", "$(id)"])
def test_modules_load_names_are_data(env, bad):
    _tmp, src, _tree = env
    before = sha(src)
    with pytest.raises(InitrdError, match="modules_load ib: .* is not a module name or alias"):
        run(src, modules_load=[{"name": "ib", "modules": ["ib_umad", bad]}])
    assert sha(src) == before


def test_check_mode_writes_nothing(env):
    tmp, src, tree = env
    dest = str(tmp / "out.img")
    before = os.stat(src)
    result = run(src, dest=dest, add_modules=["ib_ipoib"], module_source=tree, _check=True)
    assert result["changed"] and not os.path.exists(dest)
    result = run(src, add_modules=["ib_ipoib"], module_source=tree, _check=True, _diff=True)
    assert result["changed"] and os.stat(src).st_mtime_ns == before.st_mtime_ns
    assert IPOIB in result["diff"]["after"] and IPOIB not in result["diff"]["before"]
    assert sorted(os.listdir(str(tmp))) == ["initrd.img", "src"]
    run(src, add_modules=["ib_ipoib"], module_source=tree)
    assert run(src, add_modules=["ib_ipoib"], module_source=tree, _check=True)["changed"] is False


def test_diff_lists_replaced_entries_with_hashes(env):
    _tmp, src, tree = env
    result = run(src, add_modules=["ib_core"], module_source=tree, _diff=True)
    before = [l for l in result["diff"]["before"].splitlines() if l.startswith(IB_CORE)]
    after = [l for l in result["diff"]["after"].splitlines() if l.startswith(IB_CORE)]
    assert "sha256:" in before[0] and before != after


def test_backup(env):
    _tmp, src, tree = env
    original = open(src, "rb").read()
    result = run(src, add_modules=["ib_cm"], module_source=tree, backup=True)
    assert open(result["backup_file"], "rb").read() == original


BAD_INPUTS = [
    ("text", lambda d: b"this is a kernel command line, not an initrd\n" * 10,
     "is not an initrd: it starts with bytes"),
    ("truncated", lambda d: d[:len(d) // 2], "truncated gzip data in .* at byte 0"),
    ("unknown compression", lambda d: d + b"PK\x03\x04junkjunk", "unknown compression in .* at byte"),
    ("lzo", lambda d: b"\x89LZO\x00\r\n\x1a\n" + d, "unsupported compression 'lzo'"),
    ("gzip without cpio", lambda d: builders.compress(b"plain text" * 100, "gzip"),
     "does not hold a cpio archive"),
    ("empty", lambda d: b"", "is not an initrd"),
]


@pytest.mark.parametrize("case,mangle,message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_fails_and_leaves_the_file_untouched(env, case, mangle, message):
    tmp, src, tree = env
    with open(src, "rb") as handle:
        data = mangle(handle.read())
    with open(src, "wb") as handle:
        handle.write(data)
    with pytest.raises(InitrdError, match=message) as exc:
        run(src, add_modules=["ib_ipoib"], module_source=tree)
    assert src in exc.value.msg
    assert open(src, "rb").read() == data
    assert sorted(os.listdir(str(tmp))) == ["initrd.img", "src"]


def test_module_not_found_names_close_matches(env):
    _tmp, src, tree = env
    with pytest.raises(InitrdError, match="module 'ib_ipob' .*not found in module_source .*"
                                          "close matches: ib_ipoib") as exc:
        run(src, add_modules=["ib_ipob"], module_source=tree)
    assert (exc.value.field, exc.value.value) == ("add_modules", "ib_ipob")


@pytest.mark.parametrize("dest,message", [
    ("{tmp}/missing/out.img", "directory .*missing does not exist"),
    ("{tmp}/src", "is a directory"),
    ("/proc/fabric-boot-test.img", "dest=/proc/fabric-boot-test.img"),
])
def test_unwritable_destination(env, dest, message):
    tmp, src, tree = env
    before = sha(src)
    with pytest.raises(InitrdError, match=message) as exc:
        run(src, dest=dest.format(tmp=tmp), add_modules=["ib_cm"], module_source=tree)
    assert exc.value.field == "dest"
    assert sha(src) == before


@pytest.mark.parametrize("params,field", [
    ({"files": [{"dest": "etc/x"}]}, "files[0]"),
    ({"files": [{"dest": "../etc/x", "content": "x"}]}, "files[0].dest"),
    ({"files": [{"dest": "etc/x", "content": "x", "mode": "rwx"}]}, "files[0].mode"),
    ({"modules_load": [{"name": "a/b", "modules": ["x"]}]}, "modules_load.name"),
    ({"compression": "gzip", "compression_level": 99}, "compression_level"),
    ({"add_modules": ["x"], "remove_modules": ["x"], "module_source": "/"}, "remove_modules"),
    ({"add_modules": ["x"]}, "module_source"),
    ({"src": "/nonexistent/initrd.img"}, "src"),
])
def test_bad_parameters_name_the_field(env, params, field):
    _tmp, src, _tree = env
    with pytest.raises(InitrdError) as exc:
        run(src, **params)
    assert exc.value.field == field


def test_real_debian_initrd_append(tmp_path):
    kver, _vmlinuz, tree, initrd = debian_kernel()
    dest = str(tmp_path / "initrd.img")
    result = run(initrd, dest=dest, mode="append", add_modules=["hfi1", "ib_ipoib"], module_source=tree)
    assert result["kernel_version"] == kver
    added = set(m["name"] for m in result["modules_added"])
    assert {"hfi1", "rdmavt", "ib_ipoib", "ib_core", "ib_cm"} <= added
    _data, _archives, entries = read_tree(dest)
    moddep = bytes(entries["usr/lib/modules/%s/modules.dep" % kver].data).decode()
    assert "kernel/drivers/infiniband/hw/hfi1/hfi1.ko:" in moddep


def test_two_kernels_in_one_image_is_an_error(tmp_path):
    src = str(tmp_path / "initrd.img")
    files = builders.base_files()
    files["usr/lib/modules/5.10.0-old/kernel/x.ko"] = builders.elf_module("x", "5.10.0-old SMP")
    builders.make_image(src, "gzip", files=files)
    with pytest.raises(InitrdError, match=r"holds modules for several kernels \(5.10.0-old, 6.1.0-test\)"):
        run(src, remove_modules=["x"])


def test_image_without_modules_takes_the_kernel_from_a_tree_source(tmp_path):
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, "zstd", files={"init": b"#!/bin/sh\n", "lib": ("symlink", "usr/lib"),
                                            "usr/lib/.keep": b""})
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    result = run(src, add_modules=["ib_cm"], module_source=tree)
    assert result["kernel_version"] == KVER
    _data, _archives, entries = read_tree(src)
    assert IB_CM in entries and not any(n.startswith("lib/") for n in entries)
    vendor = str(tmp_path / "vendor")
    builders.stage(vendor, {"x.ko": builders.elf_module("x")})
    builders.make_image(src, "zstd", files={"init": b"#!/bin/sh\n"})
    with pytest.raises(InitrdError, match="has no lib/modules/<version>"):
        run(src, add_modules=["x"], module_source=vendor)


def test_append_after_lz4_must_be_lz4(tmp_path):
    src = str(tmp_path / "initrd.img")
    builders.make_image(src, "lz4")
    with pytest.raises(InitrdError, match="compression=gzip cannot be appended after an lz4 archive"):
        run(src, mode="append", compression="gzip", files=[{"dest": "etc/x", "content": "x"}])


@pytest.mark.parametrize("published", [True, False])
def test_no_room_to_unpack_the_source_names_dest_and_leaves_it(tmp_path, monkeypatch, published):
    from ansible_collections.fabric.boot.plugins.module_utils.initramfs import compression
    src, dest = str(tmp_path / "initrd.img"), str(tmp_path / "out" / "initrd.img")
    builders.make_image(src, "zstd")
    os.makedirs(os.path.dirname(dest))
    if published:
        with open(dest, "wb") as handle:
            handle.write(b"the published image")
    tree = builders.source_tree(str(tmp_path / "src" / KVER))
    monkeypatch.setattr(compression, "_spool", lambda _d: open("/dev/full", "w+b"))
    with pytest.raises(InitrdError) as err:
        run(src, dest=dest, add_modules=["ib_ipoib"], module_source=tree)
    assert err.value.field == "dest" and err.value.value == dest
    msg = err.value.msg
    assert msg.startswith("dest=%s: unpacking the source image failed (No space left on device), in %s"
                          % (dest, os.path.dirname(dest)))
    assert ("the published image is unchanged" if published else "nothing was published") in msg
    if published:
        assert open(dest, "rb").read() == b"the published image"
    assert os.listdir(os.path.dirname(dest)) == (["initrd.img"] if published else [])
