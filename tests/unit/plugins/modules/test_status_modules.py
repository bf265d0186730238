"""boot_status, fabric_facts and node_table_append run as Ansible runs a module (a JSON args file),
on the captured log fixtures, a fake sysfs tree and a temporary node table."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
MODULES = os.path.join(ROOT, "plugins", "modules")
FIX = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "boot_log", "fixtures")
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "fabric_sysfs"))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "boot_log"))
import capture_model  # noqa: E402  pylint: disable=wrong-import-position
import fake_sysfs  # noqa: E402  pylint: disable=wrong-import-position


def call(tmp_path, module, check=False, diff=False, **args):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    path = tmp_path / ("%s-args.json" % module)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    proc = subprocess.run([sys.executable, os.path.join(MODULES, module + ".py"), str(path)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=COLLECTIONS), check=False)
    return proc.returncode, json.loads(proc.stdout[proc.stdout.index("{"):])


@pytest.fixture(scope="module")
def model():
    return capture_model.model()


@pytest.fixture
def tftp_root(tmp_path):
    """The capture's TFTP tree with the real sizes (sparse files)."""
    root = tmp_path / "tftpboot"
    with open(os.path.join(FIX, "tftp-tree.txt")) as f:
        for line in f:
            path, size = line.split()
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            with open(root / path, "wb") as out:
                out.truncate(int(size))
    return root


@pytest.mark.parametrize("log", ["debian-syslog.log", "rsyslog-traditional-messages.log"])
def test_boot_status_on_log_files(tmp_path, model, tftp_root, log):
    rc, r = call(tmp_path, "boot_status", check=True, since="", dhcp_log=os.path.join(FIX, log),
                 tftp_log=os.path.join(FIX, log), http_log=[os.path.join(FIX, "apache-access.log"), "/nonexistent"],
                 nodes=model["nodes"], networks=model["networks"], tftp_root=str(tftp_root), syslog_year=2026)
    assert rc == 0, r
    assert r["changed"] is False
    assert r["sources"] == {os.path.join(FIX, log): 61, os.path.join(FIX, "apache-access.log"): 8}
    stages = dict((n["host"], n["last_stage"]) for n in r["nodes"])
    assert stages == {"node001": "initrd", "node002": "dhcp-os", "node003": "kernel", "node004": "initrd"}
    assert "initrd transfer truncated: 9096352 of 25165824 bytes" in r["table"]
    assert len(r["unknown"]) == 4


def test_boot_status_since_and_hosts(tmp_path, model):
    log = os.path.join(FIX, "journal-short-iso.log")
    rc, r = call(tmp_path, "boot_status", since="2026-12-02 17:41:40", dhcp_log=log, tftp_log=log, http_log=[],
                 nodes=model["nodes"], networks=model["networks"], hosts=["node00[34]"])
    assert rc == 0, r
    assert [n["host"] for n in r["nodes"]] == ["node003", "node004"]
    assert r["since"] == 1796233300


def test_boot_status_errors_name_the_option(tmp_path, model):
    rc, r = call(tmp_path, "boot_status", since="yesterday", nodes={})
    assert rc == 1 and r["msg"].startswith("since: since 'yesterday' is not")
    rc, r = call(tmp_path, "boot_status", since="", dhcp_log="/nonexistent/messages", nodes={})
    assert rc == 1 and r["msg"].startswith("dhcp_log=/nonexistent/messages cannot be read")
    rc, r = call(tmp_path, "boot_status", since="", nodes={"node9": "ib0"})
    assert rc == 1 and "nodes: node9: expected a list of normalised interfaces" in r["msg"]


def test_fabric_facts(tmp_path):
    rc, r = call(tmp_path, "fabric_facts", check=True, sysfs_root=fake_sysfs.build(str(tmp_path / "sys")))
    assert rc == 0 and r["changed"] is False
    facts = r["ansible_facts"]
    assert facts["fabric_net"]["ib0"]["port_guid"] == "00:02:c9:03:00:0c:78:11"
    assert facts["fabric_infiniband"]["mlx5_0"]["ports"]["1"]["rate"] == "100 Gb/sec (4X EDR)"


def test_node_table_append_check_then_write(tmp_path, model):
    table = tmp_path / "nodes.csv"
    table.write_text("host,groups,interface,type,port_guid,mac,ipv4,network\n"
                     "node001,,ib0,infiniband,0x0002c903000c7811,,192.168.100.11,fabric0\n")
    before = table.read_text()
    unknown = [{"wire": "52:54:00:99:99:99", "kind": "ethernet-or-mac48", "mac": "52:54:00:99:99:99", "guid": None}]
    facts_root = fake_sysfs.build(str(tmp_path / "sys"))
    rc, facts = call(tmp_path, "fabric_facts", sysfs_root=facts_root)
    args = dict(table=str(table), unknown=unknown, facts={"oldnode1": facts}, network="fabric0",
                networks=model["networks"], nodes=model["nodes"])
    rc, plan = call(tmp_path, "node_table_append", check=True, diff=True, **args)
    assert rc == 0 and plan["changed"] is True, plan
    assert table.read_text() == before                       # check mode writes nothing
    # numbering after node004 (the inventory); the live node's ib1 (down, but a port) is added,
    # its ib0 is node001's GUID already
    assert plan["appended"].splitlines() == [
        "node005,,eth0,ethernet,,52:54:00:99:99:99,192.168.100.1,fabric0",
        "oldnode1,,ib1,infiniband,00:02:c9:03:00:0c:78:12,,192.168.100.3,fabric0",
    ]
    assert [s["why"] for s in plan["skipped"]] == ["guid 00:02:c9:03:00:0c:78:11 is already in the node table or inventory"]
    assert plan["diff"]["after"] == plan["appended"]
    rc, done = call(tmp_path, "node_table_append", **args)
    assert rc == 0 and done["rows"] == plan["rows"]
    assert table.read_text() == before + plan["appended"]
    rc, again = call(tmp_path, "node_table_append", **args)
    assert rc == 0 and again["changed"] is False and again["rows"] == []
