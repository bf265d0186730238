"""validate_inventory through a real ansible-playbook run: a bad inventory stops the play with one
message naming every offending host and field, and nothing after it runs."""
import json
import os
import subprocess
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")

PLAY = textwrap.dedent("""\
    - name: Validate, then write a marker file
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Validate the inventory
          fabric.boot.validate_inventory:
            json_text: "{{ json_text | default(false) | bool }}"
          register: fabric_model
        - name: Record the type the nodes came back as
          ansible.builtin.copy:
            dest: "{{ marker }}.type"
            content: "{{ fabric_model.fabric_nodes | type_debug }}"
            mode: "0644"
        - name: Write the marker (must never run on a bad inventory)
          ansible.builtin.copy:
            dest: "{{ marker }}"
            content: "{{ fabric_model.fabric_nodes | fabric.boot.dhcp_reservations(fabric_networks) | to_json }}"
            mode: "0644"
    """)

BAD_HOSTS = textwrap.dedent("""\
    all:
      hosts:
        node001: {fabric_interfaces: [{name: ib0, type: infiniband, port_guid: "52:54:00:12:34:56", ipv4: 198.51.100.11, network: fabric0}]}
        node002: {fabric_interfaces: [{name: ib0, type: infiniband, port_guid: "0x0002c903000c7811", ipv4: 198.51.100.11, network: fabric0}]}
        node003: {fabric_interfaces: [{name: ib0, type: infiniband, port_guid: "0002:c903:000c:7811", ipv4: 192.168.200.5, network: fabric0}]}
        NODE002: {fabric_interfaces: [{name: eno1, type: ethernet, mac: "00:02:c9:03:00:0c:78:11", ipv4: 192.0.2.9, network: mgmt}]}
        node005: {fabric_interfaces: [{name: eno1, type: ethernet, mac: "52:54:00:aa:bb:cc", ipv4: 192.0.2.5, network: nosuch}]}
    """)


def run_play(tmp_path, inventory, *extra):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    marker = tmp_path / "marker.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_STDOUT_CALLBACK="json")
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(play), "-e", "marker=%s" % marker] + list(extra),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    return proc, marker


def test_example_inventory_is_valid_and_reserves_every_form(tmp_path):
    proc, marker = run_play(tmp_path, os.path.join(EXAMPLES, "inventory"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    reservations = json.loads(marker.read_text())
    names = [r["name"] for r in reservations["fabric0"]]
    assert names == ["node001-ib0-flexboot", "node001-ib0-htype32", "node001-ib0-ipxe",
                     "node002-ib0-flexboot", "node002-ib0-htype32", "node002-ib0-ipxe",
                     "node003-ib0-flexboot", "node003-ib0-htype32", "node003-ib0-ipxe"]
    assert [r["mac"] for r in reservations["mgmt"]] == ["52:54:00:12:34:01"]


def test_json_text_gives_one_string_and_the_same_reservations(tmp_path):
    """site.yml's form: the nodes as one JSON string, which dhcp_reservations reads as it reads the dict."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    inventory = os.path.join(EXAMPLES, "inventory")
    proc, marker = run_play(tmp_path / "a", inventory, "-e", "json_text=true")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc2, marker2 = run_play(tmp_path / "b", inventory)
    assert proc2.returncode == 0, proc2.stdout[-3000:] + proc2.stderr[-3000:]
    assert (tmp_path / "a" / "marker.json.type").read_text() == "str"
    assert (tmp_path / "b" / "marker.json.type").read_text() == "dict"
    assert json.loads(marker.read_text()) == json.loads(marker2.read_text())


def test_node_table_example_gives_the_same_reservations(tmp_path):
    """The two example layouts describe the same machine room; their reservations must match exactly."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    proc, marker = run_play(tmp_path / "a", os.path.join(EXAMPLES, "node_table", "nodes.fabric.yml"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc2, marker2 = run_play(tmp_path / "b", os.path.join(EXAMPLES, "inventory"))
    assert proc2.returncode == 0, proc2.stdout[-3000:] + proc2.stderr[-3000:]
    from_table, from_host_vars = json.loads(marker.read_text()), json.loads(marker2.read_text())
    assert from_table == from_host_vars
    node003 = [r for r in from_table["fabric0"] if r["host"] == "node003"]
    assert {r["boot_image"] for r in node003} == {"rhel95-opa"}


def test_bad_inventory_fails_once_naming_every_host_and_changes_nothing(tmp_path):
    inv = tmp_path / "inv"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "group_vars" / "all" / "fabric.yml").write_text(
        open(os.path.join(EXAMPLES, "inventory", "group_vars", "all", "fabric.yml")).read())
    (inv / "hosts.yml").write_text(BAD_HOSTS)
    proc, marker = run_play(tmp_path, inv)
    assert proc.returncode != 0
    assert not marker.exists(), "a task after the failed validation ran"
    result = json.loads(proc.stdout)
    tasks = result["plays"][0]["tasks"]
    failed = [t for t in tasks if t["hosts"]["localhost"].get("failed")]
    assert len(failed) == 1 and failed[0]["task"]["name"] == "Validate the inventory"
    msg = failed[0]["hosts"]["localhost"]["msg"]
    for fragment in (
        "node001: fabric_interfaces[0] (ib0).port_guid '52:54:00:12:34:56' is 6 bytes, an Ethernet MAC",
        "NODE002: fabric_interfaces[0] (eno1).mac '00:02:c9:03:00:0c:78:11' is 8 bytes, a port GUID",
        "node002: same host name as NODE002",
        "node003: fabric_interfaces[0] (ib0).ipv4: 192.168.200.5 is outside subnet 198.51.100.0/24",
        "node005: fabric_interfaces[0] (eno1).network: 'nosuch' is not a network",
        "port GUID 00:02:c9:03:00:0c:78:11 is used by node002:ib0, node003:ib0",
        "IPv4 address 198.51.100.11 is used by node001:ib0, node002:ib0",
    ):
        assert fragment in msg, msg
    assert msg.startswith("fabric inventory has 7 problem(s), nothing was changed:")


@pytest.mark.parametrize("csv_body,fragment", [
    ("host,interface,type\nnode001,ib0,infiniband\n", "lacks column(s) network"),
    ("host,interface,type,network\n,ib0,infiniband,fabric0\n", "line 2: the host cell is empty"),
])
def test_node_table_rejects_a_broken_table(tmp_path, csv_body, fragment):
    (tmp_path / "nodes.csv").write_text(csv_body)
    (tmp_path / "nodes.fabric.yml").write_text("plugin: fabric.boot.node_table\ntable: nodes.csv\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_INVENTORY_UNPARSED_FAILED="True")
    proc = subprocess.run(["ansible-inventory", "-i", str(tmp_path / "nodes.fabric.yml"), "--list"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert fragment in proc.stderr
