"""fabric.boot.file_set through its entry point, as Ansible runs it: a JSON args file."""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULE = os.path.join(ROOT, "plugins", "modules", "file_set.py")
GRUB_CHECK = shutil.which("grub-script-check")


def call(tmp_path, check_mode=False, diff=False, **args):
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, MODULE, str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, check=False)
    out = proc.stdout.decode()
    return proc.returncode, json.loads(out[out.index("{"):])


def _tree(tmp_path):
    root = tmp_path / "tftp"
    (root / "uefi").mkdir(parents=True)
    return root


FILES = {"uefi/grub.cfg-01-52-54-00-12-34-56": "set timeout=1\n", "uefi/grub.cfg": "set timeout=2\n"}


def test_writes_then_reports_no_change_then_rewrites_one(tmp_path):
    root = _tree(tmp_path)
    rc, res = call(tmp_path, path=str(root), files=FILES, mode="0640")
    assert rc == 0 and res["changed"] and sorted(res["written"]) == sorted(FILES), res
    assert (root / "uefi" / "grub.cfg").read_text() == "set timeout=2\n"
    assert oct((root / "uefi" / "grub.cfg").stat().st_mode & 0o777) == "0o640"
    rc, res = call(tmp_path, path=str(root), files=FILES, mode="0640")
    assert rc == 0 and not res["changed"] and res["unchanged"] == 2, res
    rc, res = call(tmp_path, path=str(root), files=dict(FILES, **{"uefi/grub.cfg": "set timeout=3\n"}), mode="0640")
    assert rc == 0 and res["written"] == ["uefi/grub.cfg"], res
    assert not [p for p in os.listdir(root / "uefi") if p.startswith(".file_set")]


def test_mode_change_alone_is_a_change(tmp_path):
    root = _tree(tmp_path)
    call(tmp_path, path=str(root), files=FILES)
    rc, res = call(tmp_path, path=str(root), files=FILES, mode="0600")
    assert rc == 0 and res["changed"] and len(res["written"]) == 2, res
    assert oct((root / "uefi" / "grub.cfg").stat().st_mode & 0o777) == "0o600"


def test_check_mode_and_diff_change_nothing(tmp_path):
    root = _tree(tmp_path)
    (root / "uefi" / "grub.cfg").write_text("old\n")
    (root / "uefi" / "grub.cfg-01-aa-bb-cc-dd-ee-ff").write_text("stale\n")
    rc, res = call(tmp_path, check_mode=True, diff=True, path=str(root), files=FILES, prune=["uefi/grub.cfg-*"])
    assert rc == 0 and res["changed"], res
    assert res["removed"] == ["uefi/grub.cfg-01-aa-bb-cc-dd-ee-ff"]
    assert {"before": "old\n", "after": "set timeout=2\n"} in [
        {"before": d["before"], "after": d["after"]} for d in res["diff"]], res["diff"]
    assert (root / "uefi" / "grub.cfg").read_text() == "old\n"
    assert (root / "uefi" / "grub.cfg-01-aa-bb-cc-dd-ee-ff").exists()


def test_prune_removes_only_matching_files_not_in_the_set(tmp_path):
    root = _tree(tmp_path)
    for name in ("grub.cfg-01-aa-bb-cc-dd-ee-ff", "grubx64.efi"):
        (root / "uefi" / name).write_text("x")
    rc, res = call(tmp_path, path=str(root), files=FILES, prune=["uefi/grub.cfg-*"])
    assert rc == 0 and res["removed"] == ["uefi/grub.cfg-01-aa-bb-cc-dd-ee-ff"], res
    assert sorted(os.listdir(root / "uefi")) == ["grub.cfg", "grub.cfg-01-52-54-00-12-34-56", "grubx64.efi"]


def test_a_bad_file_fails_the_check_names_it_and_nothing_is_written(tmp_path):
    assert GRUB_CHECK, "grub-script-check (grub-common) is not installed"
    root = _tree(tmp_path)
    files = {"uefi/grub.cfg-%02d" % i: "menuentry 'n%d' {\n  echo %d\n}\n" % (i, i) for i in range(50)}
    files["uefi/grub.cfg-17"] = "menuentry 'broken' {\n  echo 17\n"
    rc, res = call(tmp_path, path=str(root), files=files, validate=GRUB_CHECK + " %s", validate_batch=20)
    assert rc != 0 and res["failed"], res
    assert "uefi/grub.cfg-17" in res["msg"] and "uefi/grub.cfg-16" not in res["msg"], res["msg"]
    assert os.listdir(root / "uefi") == []


def test_valid_files_pass_the_batched_check(tmp_path):
    assert GRUB_CHECK, "grub-script-check (grub-common) is not installed"
    root = _tree(tmp_path)
    files = {"uefi/grub.cfg-%02d" % i: "menuentry 'n%d' {\n  echo %d\n}\n" % (i, i) for i in range(50)}
    rc, res = call(tmp_path, path=str(root), files=files, validate=GRUB_CHECK + " %s", validate_batch=20)
    assert rc == 0 and len(res["written"]) == 50, res


def test_names_that_leave_the_directory_are_refused(tmp_path):
    root = _tree(tmp_path)
    for bad in ("../escape", "/etc/passwd", "uefi/../../x"):
        rc, res = call(tmp_path, path=str(root), files={bad: "x"})
        assert rc != 0 and bad in res["msg"], res
    assert not (tmp_path / "escape").exists()


def test_prune_with_manifest_removes_only_its_own_files(tmp_path):
    """A hand-written file that matches the prune pattern survives; the module's own go."""
    root = _tree(tmp_path)
    manifest = str(tmp_path / "state" / "menus.manifest")
    files = {"uefi/grub.cfg-01-aa": "# Ansible managed\nset a=1\n", "uefi/grub.cfg-01-bb": "# Ansible managed\n"}
    rc, res = call(tmp_path, path=str(root), files=files, prune=["uefi/grub.cfg-*"], manifest=manifest,
                   marker="Ansible managed")
    assert rc == 0 and res["changed"], res
    assert open(manifest).read() == "uefi/grub.cfg-01-aa\nuefi/grub.cfg-01-bb\n"
    (root / "uefi" / "grub.cfg-01-hand").write_text("# Ansible managed, by another role\n")
    rc, res = call(tmp_path, path=str(root), files={"uefi/grub.cfg-01-aa": files["uefi/grub.cfg-01-aa"]},
                   prune=["uefi/grub.cfg-*"], manifest=manifest, marker="Ansible managed")
    assert rc == 0 and res["removed"] == ["uefi/grub.cfg-01-bb"] and res["kept"] == ["uefi/grub.cfg-01-hand"], res
    assert (root / "uefi" / "grub.cfg-01-hand").exists() and not (root / "uefi" / "grub.cfg-01-bb").exists()
    assert open(manifest).read() == "uefi/grub.cfg-01-aa\n"
    rc, res = call(tmp_path, path=str(root), files={"uefi/grub.cfg-01-aa": files["uefi/grub.cfg-01-aa"]},
                   prune=["uefi/grub.cfg-*"], manifest=manifest, marker="Ansible managed")
    assert rc == 0 and not res["changed"], res


def test_prune_without_a_manifest_yet_uses_the_marker(tmp_path):
    """An upgrade: no manifest; files carrying the marker count as ours, the others stay."""
    root = _tree(tmp_path)
    (root / "uefi" / "grub.cfg-01-old").write_text("# Ansible managed\n")
    (root / "uefi" / "grub.cfg-01-hand").write_text("set timeout=1\n")
    manifest = str(tmp_path / "m")
    rc, res = call(tmp_path, path=str(root), files=FILES, prune=["uefi/grub.cfg-*"], manifest=manifest,
                   marker="Ansible managed", check_mode=True)
    assert rc == 0 and res["removed"] == ["uefi/grub.cfg-01-old"] and not os.path.exists(manifest), res
    rc, res = call(tmp_path, path=str(root), files=FILES, prune=["uefi/grub.cfg-*"], manifest=manifest,
                   marker="Ansible managed")
    assert rc == 0 and res["removed"] == ["uefi/grub.cfg-01-old"] and res["kept"] == ["uefi/grub.cfg-01-hand"], res
    assert (root / "uefi" / "grub.cfg-01-hand").exists()
    rc, res = call(tmp_path, path=str(root), files=FILES, prune=["uefi/grub.cfg-*"], manifest=manifest)
    assert rc == 0 and not res["changed"] and res["kept"] == ["uefi/grub.cfg-01-hand"], res


def test_files_as_json_text_and_an_invocation_without_contents(tmp_path):
    """boot_menu_set hands the files on as JSON text; the result names how many, not what."""
    root = _tree(tmp_path)
    rc, res = call(tmp_path, path=str(root), files=json.dumps(FILES))
    assert rc == 0 and sorted(res["written"]) == sorted(FILES), res
    assert (root / "uefi" / "grub.cfg").read_text() == "set timeout=2\n"
    assert res["invocation"]["module_args"]["files"] == "(2 files)"
    assert res["invocation"]["module_args"]["path"] == str(root)
    assert "set timeout" not in json.dumps(res)
    rc, res = call(tmp_path, path=str(tmp_path / "nosuch"), files=FILES)
    assert rc != 0 and res["failed"] and "set timeout" not in json.dumps(res), res


def test_the_invocation_logged_on_the_host_names_the_count_not_the_contents(tmp_path):
    """AnsibleModule logs its parameters to syslog or the journal: 16 MB of menus at 10,000 nodes."""
    root = _tree(tmp_path)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"path": str(root), "files": FILES}}))
    # the module's own entry point, with AnsibleModule.log writing to stderr instead of syslog
    run = ("import runpy, sys\n"
           "from ansible.module_utils import basic\n"
           "basic.AnsibleModule.log = lambda self, msg, log_args=None: sys.stderr.write('LOG %s\\n' % msg)\n"
           "sys.argv = sys.argv[1:]\n"
           "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", run, MODULE, str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    log = proc.stderr.decode()
    assert proc.returncode == 0, (proc.stdout, log)
    assert "LOG Invoked with" in log and "files=(2 files)" in log, log
    assert "set timeout" not in log, log
    assert (root / "uefi" / "grub.cfg").read_text() == "set timeout=2\n"
