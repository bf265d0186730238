"""fabric.boot.applied_config through its entry point, as Ansible runs it: a JSON args file."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(ROOT, "plugins", "modules", "applied_config.py")


def call(tmp_path, check_mode=False, **args):
    if check_mode:
        args["_ansible_check_mode"] = True
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, MODULE, str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, check=False)
    out = proc.stdout.decode()
    return proc.returncode, json.loads(out[out.index("{"):])


def test_pending_until_recorded_then_again_after_a_change(tmp_path):
    conf, link = tmp_path / "dhcpd.conf", tmp_path / "enabled.conf"
    conf.write_text("subnet a {}\n")
    os.symlink("../available/x.conf", str(link))
    record = str(tmp_path / "state" / "dhcpd.applied")
    args = dict(paths=[str(conf), str(link), str(tmp_path / "absent")], record=record, service="dhcpd")
    rc, res = call(tmp_path, **args)
    assert rc == 0 and res["changed"] and res["pending"] and "no record" in res["msg"], res
    assert res["files"][str(link)] == "link:../available/x.conf" and res["files"][str(tmp_path / "absent")] == "absent"
    rc, res = call(tmp_path, check_mode=True, state="record", **args)
    assert rc == 0 and res["changed"] and not os.path.exists(record), res
    rc, res = call(tmp_path, state="record", **args)
    assert rc == 0 and res["changed"] and os.path.exists(record), res
    rc, res = call(tmp_path, state="record", **args)
    assert rc == 0 and not res["changed"], res
    rc, res = call(tmp_path, **args)
    assert rc == 0 and not res["changed"] and not res["pending"], res
    # The config replaced, the restart never happened: pending, with a warning naming the file.
    conf.write_text("subnet b {}\n")
    rc, res = call(tmp_path, check_mode=True, **args)
    assert rc == 0 and res["changed"] and res["differs"] == [str(conf)], res
    # ansible-core 2.19 returns warnings as structured events: look for the text anywhere in them
    assert "dhcpd runs an older %s than the one on disk" % conf in json.dumps(res.get("warnings")), res
    os.unlink(str(link))
    rc, res = call(tmp_path, **args)
    assert res["differs"] == sorted([str(conf), str(link)]), res


def test_a_corrupt_record_counts_as_none(tmp_path):
    conf = tmp_path / "c"
    conf.write_text("x")
    record = tmp_path / "r"
    record.write_text("{not json")
    rc, res = call(tmp_path, paths=[str(conf)], record=str(record), service="s")
    assert rc == 0 and res["pending"] and "no record" in res["msg"], res
