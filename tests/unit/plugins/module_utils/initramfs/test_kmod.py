"""Module metadata, modules.dep and dependency closures."""

import pytest

import builders
from ansible_collections.fabric.boot.plugins.module_utils.initramfs import kmod
from ansible_collections.fabric.boot.plugins.module_utils.initramfs.errors import InitrdError
from fabric_test_env import debian_kernel


def test_modinfo_of_synthetic_module():
    info = kmod.modinfo(builders.elf_module("ib_cm", depends=["ib_core", "iw_cm"]), "ib_cm.ko")
    assert info["name"] == ["ib_cm"]
    assert info["depends"] == ["ib_core,iw_cm"]
    assert kmod.kernel_release(info["vermagic"][0]) == builders.KVER


def test_modinfo_refuses_non_elf():
    with pytest.raises(InitrdError, match="x.ko is not a kernel module"):
        kmod.modinfo(b"not an elf file" * 10, "x.ko")


def test_modinfo_of_a_real_debian_module():
    kver, _vmlinuz, tree, _initrd = debian_kernel()
    path = tree + "/kernel/drivers/infiniband/core/ib_core.ko"
    with open(path, "rb") as handle:
        info = kmod.modinfo(handle.read(), path)
    assert info["vermagic"][0].split()[0] == kver
    assert info["name"] == ["ib_core"]


def test_module_name_and_suffixes():
    assert kmod.module_name("a/b/rdma-rxe.ko.xz") == "rdma_rxe"
    assert kmod.module_name("hfi1.ko.zst") == "hfi1"
    assert kmod.module_name("x.ko") == "x"


def test_closure_from_modules_dep(tmp_path):
    source = kmod.ModuleSource(builders.source_tree(str(tmp_path / builders.KVER)))
    assert source.is_tree and source.kernel_version == builders.KVER
    order, external = kmod.closure(source, ["mlx5-ib"])
    names = [m.name for m, _e, _p in order]
    # mlxfw only appears in modules.dep, not in mlx5_ib's .modinfo depends.
    assert names == ["mlx5_ib", "mlxfw", "ib_core"]
    assert [e for _m, e, _p in order] == [True, False, False]
    assert external == {}


def test_closure_from_modinfo_depends(tmp_path):
    builders.stage(str(tmp_path), {
        "opa/hfi1.ko": builders.elf_module("hfi1", depends=["rdmavt", "ib_core"]),
        "opa/rdmavt.ko": builders.elf_module("rdmavt", depends=["ib_core"]),
    })
    source = kmod.ModuleSource(str(tmp_path))
    assert not source.is_tree
    order, external = kmod.closure(source, ["hfi1"])
    assert [m.name for m, _e, _p in order] == ["hfi1", "rdmavt"]
    assert external == {"ib_core": "hfi1"}


def test_unknown_module_gives_close_matches(tmp_path):
    source = kmod.ModuleSource(builders.source_tree(str(tmp_path / builders.KVER)))
    with pytest.raises(InitrdError, match="module 'ib_ipob'.*close matches: ib_ipoib") as exc:
        source.get("ib_ipob")
    assert exc.value.field == "add_modules"


def test_source_must_be_a_directory(tmp_path):
    with pytest.raises(InitrdError, match="module_source=.*is not a directory"):
        kmod.ModuleSource(str(tmp_path / "missing"))


def test_real_tree_closure_finds_what_hand_lists_miss():
    tree = debian_kernel()[2]
    order, _external = kmod.closure(kmod.ModuleSource(tree), ["mlx5_ib"])
    names = set(m.name for m, _e, _p in order)
    assert {"mlx5_core", "mlxfw", "ib_core", "ib_uverbs"} <= names
