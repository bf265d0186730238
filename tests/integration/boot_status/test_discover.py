"""Discovery round trip on a real dhcpd log: clients not in the inventory ask the real dhcpd (the
configuration the dhcp_server role renders for capture_inventory.yml, unknown clients allowed),
playbooks/discover.yml reads dhcpd's log through boot_status, plans the rows, validates them
with the whole inventory and appends them to a node table; a second run adds nothing.

Needs root (network namespace, raw sockets), dhcpd and scapy (tests/ci/apt-packages.sh, the venv).
"""
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CLIENT = os.path.join(ROOT, "tests", "integration", "dhcp", "dhcp_client.py")
NS = "fbstd"
DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
BIN = os.path.dirname(sys.executable)
GUIDX = "0002c90300aabbcc"
MACX = "525400999999"


def _run(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw)


def _env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
                ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_NOCOLOR="1")


@pytest.fixture(scope="module")
def dhcpd_log(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dhcpd")
    (tmp_path / "deny").mkdir()
    (tmp_path / "allow").mkdir()
    _run(os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(HERE, "capture_inventory.yml"),
         os.path.join(HERE, "capture_render.yml"), "-e", "render_root=%s" % tmp_path, env=_env(), cwd=ROOT)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    _run("ip", "netns", "add", NS)
    proc = None
    try:
        ns = ["ip", "-n", NS]
        _run(*ns, "link", "set", "lo", "up")
        _run(*ns, "link", "add", "br0", "type", "bridge")
        _run(*ns, "addr", "add", "192.168.100.2/24", "dev", "br0")
        _run(*ns, "link", "set", "br0", "up")
        _run(*ns, "link", "add", "c0", "type", "veth", "peer", "name", "c0p")
        _run(*ns, "link", "set", "c0p", "master", "br0", "up")
        _run(*ns, "link", "set", "c0", "up")
        assert "default" not in _run(*ns, "route").stdout
        leases = tmp_path / "dhcpd.leases"
        leases.write_text("")
        log = tmp_path / "dhcpd.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(["ip", "netns", "exec", NS, DHCPD, "-4", "-f", "-d", "-cf",
                                     str(tmp_path / "allow" / "dhcpd.conf"), "-lf", str(leases),
                                     "-pf", str(tmp_path / "dhcpd.pid"), "br0"], stdout=out, stderr=out)
        for attempt_ in range(50):
            if "Server starting service" in log.read_text():
                break
            time.sleep(0.2)
        cases = [
            # a stranger's OS stage: htype 32, chaddr = GUID, option 61 = 20:GUID
            dict(id="ib", iface="c0", src_mac="02:00:00:00:02:03", htype=32, hlen=8, chaddr=GUIDX,
                 client_id="20" + GUIDX),
            dict(id="eth", iface="c0", src_mac="52:54:00:99:99:99", htype=1, hlen=6, chaddr=MACX, arch=7,
                 vendor_class="PXEClient:Arch:00007:UNDI:003000"),
            # an inventoried node: not a candidate
            dict(id="known", iface="c0", src_mac="52:54:00:12:34:56", htype=1, hlen=6, chaddr="525400123456"),
        ]
        import json
        r = _run("ip", "netns", "exec", NS, sys.executable, CLIENT, input=json.dumps(cases))
        replies = json.loads(r.stdout)
        assert replies["known"]["ack"]["yiaddr"] == "192.168.100.12"
        assert replies["ib"]["ack"]["yiaddr"].startswith("192.168.100.2")    # the dynamic range
        yield log
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)


def _inventory(tmp_path, log, live=None):
    with open(os.path.join(HERE, "capture_inventory.yml")) as f:
        inv = yaml.safe_load(f)["all"]
    inv_dir = tmp_path / "inventory"
    (inv_dir / "group_vars").mkdir(parents=True)
    (inv_dir / "group_vars" / "all.yml").write_text(yaml.safe_dump({"fabric_networks": inv["vars"]["fabric_networks"]}))
    rows = []
    for host, hv in sorted(inv["children"]["nodes"]["hosts"].items()):
        for iface in hv["fabric_interfaces"]:
            rows.append({"host": host, "groups": "", "interface": iface["name"], "type": iface["type"],
                         "port_guid": iface.get("port_guid", ""), "mac": iface.get("mac", ""), "ipv4": iface["ipv4"],
                         "network": iface["network"]})
    table = inv_dir / "nodes.csv"
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    (inv_dir / "nodes.fabric.yml").write_text("plugin: fabric.boot.node_table\ntable: nodes.csv\ngroups: [compute]\n")
    (inv_dir / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"boot_servers": {"hosts": {"bootsrv": {
        "ansible_connection": "local", "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
        "fabric_status_dhcp_log": str(log), "fabric_status_tftp_log": str(log), "fabric_status_http_log": []}}},
        "oldcluster": {"hosts": live or {}}}}}))
    return inv_dir, table


def _discover(inv_dir, table, *extra):
    return subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inv_dir / "nodes.fabric.yml"),
                           "-i", str(inv_dir / "hosts.yml"), os.path.join(ROOT, "playbooks", "discover.yml"),
                           "-e", "fabric_discover_table=%s" % table, "-e", "fabric_discover_network=fabric0",
                           "-e", "fabric_discover_since=", "-e", "ansible_python_interpreter=%s" % sys.executable]
                          + list(extra), capture_output=True, text=True, env=_env(), cwd=ROOT, check=False)


def test_discover_round_trip(tmp_path, dhcpd_log):
    log_text = dhcpd_log.read_text()
    assert "DHCPACK on 192.168.100.2" in log_text and "to 00:02:c9:03:00:aa:bb:cc via br0" in log_text
    inv_dir, table = _inventory(tmp_path, dhcpd_log)
    before = table.read_text()
    r = _discover(inv_dir, table)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-2000:]
    after = table.read_text()
    assert after.startswith(before)                 # existing rows untouched
    added = after[len(before):].splitlines()
    # next host number after node004; first free addresses: .1 (the boot server is .2), then .3
    assert added == ["node005,,ib0,infiniband,00:02:c9:03:00:aa:bb:cc,,192.168.100.1,fabric0",
                     "node006,,eth0,ethernet,,52:54:00:99:99:99,192.168.100.3,fabric0"]
    # the inventory plugin reads the new rows and validate_inventory accepts the table (the
    # second run's first play), and nothing is added twice
    again = _discover(inv_dir, table)
    assert again.returncode == 0, again.stdout[-5000:]
    assert table.read_text() == after
    # boot_status now knows both ports (the one answered from the dynamic range collides with
    # its new row and is no candidate)
    assert '"added": []' in again.stdout


def test_discover_by_pattern_and_count(tmp_path, dhcpd_log):
    inv_dir, table = _inventory(tmp_path, dhcpd_log)
    before = table.read_text()
    r = _discover(inv_dir, table, "-e", "fabric_discover_match=52:54:*", "-e", "fabric_discover_count=1",
                  "-e", "fabric_discover_name_prefix=eth")
    assert r.returncode == 0, r.stdout[-5000:]
    assert table.read_text()[len(before):].splitlines() == ["eth001,,eth0,ethernet,,52:54:00:99:99:99,192.168.100.1,fabric0"]


def test_discover_refuses_a_bad_network_and_writes_nothing(tmp_path, dhcpd_log):
    inv_dir, table = _inventory(tmp_path, dhcpd_log)
    before = table.read_text()
    r = _discover(inv_dir, table, "-e", "fabric_discover_network=nosuchnet")
    assert r.returncode != 0
    assert "network 'nosuchnet' is not in fabric_networks (known: fabric0)" in r.stdout
    assert table.read_text() == before


def test_discover_live_nodes(tmp_path, dhcpd_log):
    """A running node's IPoIB ports (fabric_facts on a sysfs tree of the kernel's layout) join the table
    under its inventory name, next to the DHCP strangers."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "fabric_sysfs"))
    import fake_sysfs  # pylint: disable=import-outside-toplevel
    sysfs = fake_sysfs.build(str(tmp_path / "sys"))
    live = {"oldnode1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                         "fabric_facts_sysfs_root": sysfs}}
    inv_dir, table = _inventory(tmp_path, dhcpd_log, live)
    before = table.read_text()
    r = _discover(inv_dir, table, "-e", "fabric_discover_live_hosts=oldcluster", "-e", "fabric_discover_match=*78:1?")
    assert r.returncode == 0, r.stdout[-5000:]
    # its ib0 has node001's GUID (the fake tree reuses it): skipped, said so, not added twice
    assert table.read_text()[len(before):].splitlines() == [
        "oldnode1,,ib1,infiniband,00:02:c9:03:00:0c:78:12,,192.168.100.1,fabric0"]
    assert "guid 00:02:c9:03:00:0c:78:11 is already in the node table or inventory" in r.stdout
