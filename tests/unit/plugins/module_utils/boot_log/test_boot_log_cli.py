"""report.from_texts (the lab's entry point) and the follow-mode command, on the fixtures."""
import json
import os
import subprocess
import sys

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import report

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_model  # noqa: E402  pylint: disable=wrong-import-position

FIX = capture_model.FIXTURES
ROOT = capture_model.ROOT


def _model():
    m = capture_model.model()
    return {"fabric_nodes": m["nodes"], "fabric_networks": m["networks"]}


def _unix_journal():
    """The capture as journalctl -o short-unix prints it (from the JSON export's own stamps)."""
    out = []
    with open(os.path.join(FIX, "journal.json")) as f:
        for line in f:
            o = json.loads(line)
            out.append("%d.%06d %s %s[%s]: %s" % (int(o["__REALTIME_TIMESTAMP"]) // 10 ** 6,
                                                  int(o["__REALTIME_TIMESTAMP"]) % 10 ** 6, o["_HOSTNAME"],
                                                  o["SYSLOG_IDENTIFIER"], o["SYSLOG_PID"], o["MESSAGE"]))
    return "\n".join(out)


def test_from_texts_relative_to_power_on():
    m = _model()
    with open(os.path.join(FIX, "apache-access.log")) as f:
        access = f.read()
    result, table = report.from_texts(_unix_journal(), access, m["fabric_nodes"], m["fabric_networks"],
                                      relative_to=1796233257.0)
    node002 = next(n for n in result["nodes"] if n["host"] == "node002")
    assert node002["last_stage"] == "dhcp-os"
    assert any(ln.startswith("node002") and ln.endswith("dhcp-os 21.2") for ln in table.splitlines())


def test_cli_once(tmp_path):
    model = tmp_path / "model.json"
    model.write_text(json.dumps(_model()))
    log = os.path.join(FIX, "debian-syslog.log")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "collections"))
    r = subprocess.run([sys.executable, "-m", "ansible_collections.fabric.boot.plugins.module_utils.boot_log.cli",
                        "--model", str(model), "--since", "", "--dhcp-log", log, "--tftp-log", log,
                        "--http-log", os.path.join(FIX, "apache-access.log")], capture_output=True, text=True,
                       env=env, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("host     iface  asked as")
    assert "per-node menu uefi/grub.cfg-01-52-54-00-00-00-13 is missing" in r.stdout
    r = subprocess.run([sys.executable, "-m", "ansible_collections.fabric.boot.plugins.module_utils.boot_log.cli",
                        "--model", str(model), "--since", "", "--dhcp-log", log, "--tftp-log", log, "--json",
                        "--http-log", os.path.join(FIX, "apache-access.log")], capture_output=True, text=True,
                       env=env, check=False)
    data = json.loads(r.stdout)
    assert [n["host"] for n in data["nodes"]] == ["node001", "node002", "node003", "node004"]
