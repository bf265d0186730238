"""fabric.boot.initrd through its entry point, as Ansible runs it: a JSON args file."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(ROOT, "plugins", "modules", "initrd.py")
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "initramfs"))

import builders  # noqa: E402  pylint: disable=wrong-import-position


def call(tmp_path, **args):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, MODULE, str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, check=False)
    out = proc.stdout.decode()
    result = json.loads(out[out.index("{"):])
    return proc.returncode, result


@pytest.fixture
def env(tmp_path):
    return builders.gzip_env(tmp_path)


def test_adds_modules_then_reports_no_change(env):
    tmp, src, tree = env
    rc, result = call(tmp, src=src, add_modules=["ib_ipoib"], module_source=tree)
    assert rc == 0 and result["changed"] is True, result
    assert result["kernel_version"] == builders.KVER
    assert [m["name"] for m in result["modules_added"]] == ["ib_ipoib", "ib_cm", "ib_core"]
    assert result["sha256"] and result["size_after"] > 0
    rc, again = call(tmp, src=src, add_modules=["ib_ipoib"], module_source=tree)
    assert rc == 0 and again["changed"] is False
    assert again["sha256"] == result["sha256"]


def test_failure_names_the_field_and_value(env):
    tmp, src, tree = env
    rc, result = call(tmp, src=src, add_modules=["ib_ipob"], module_source=tree)
    assert rc == 1 and result["failed"] is True
    assert "ib_ipob" in result["msg"] and "close matches: ib_ipoib" in result["msg"]
    assert (result["field"], result["value"]) == ("add_modules", "ib_ipob")


def test_argument_spec_rejects_bad_choices(env):
    tmp, src, _tree = env
    rc, result = call(tmp, src=src, compression="rar")
    assert rc == 1 and "compression" in result["msg"] and "rar" in result["msg"]
    rc, result = call(tmp, src=src, add_modules=["x"])
    assert rc == 1 and "module_source" in result["msg"]
    rc, result = call(tmp, src=src, files=[{"dest": "etc/x", "src": "/etc/hostname", "content": "x"}])
    assert rc == 1 and "mutually exclusive" in result["msg"]


def test_check_mode_and_diff(env):
    tmp, src, tree = env
    before = os.stat(src).st_mtime_ns
    dest = str(tmp / "out.img")
    rc, result = call(tmp, src=src, dest=dest, add_modules=["ib_cm"], module_source=tree,
                      _ansible_check_mode=True, _ansible_diff=True)
    assert rc == 0 and result["changed"] is True
    assert not os.path.exists(dest) and os.stat(src).st_mtime_ns == before
    assert builders.MODROOT + "/kernel/drivers/infiniband/core/ib_cm.ko" in result["diff"]["after"]


def test_append_mode_with_removal(env):
    tmp, src, _tree = env
    rc, result = call(tmp, src=src, mode="append", remove_modules=["dummy"])
    assert rc == 0 and result["changed"], result
    assert [a["role"] for a in result["archives"]] == ["main", "appended"]
    assert "etc/modprobe.d/fabric-boot-removed.conf" in result["files_added"]
