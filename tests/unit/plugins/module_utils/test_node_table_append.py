"""Planning and appending node table rows (node_table_append)."""
import pytest

from ansible_collections.fabric.boot.plugins.module_utils import node_table_append as nta

NETWORKS = {"fabric0": {"subnet": "192.168.100.0/28", "boot_server": "192.168.100.1", "gateway": "192.168.100.2",
                        "dynamic_range": ["192.168.100.10", "192.168.100.14"]}}
HEADER = "host,groups,interface,type,port_guid,mac,ipv4,network,transport_mode\n"
ROWS = ("node007,r1,ib0,infiniband,0x0002c903000c7811,,192.168.100.3,fabric0,datagram\n"
        "node002,r1,eth0,ethernet,,52:54:00:12:34:56,192.168.100.5,fabric0,\n")
UNKNOWN = [
    {"wire": "00:02:c9:03:00:aa:bb:cc", "kind": "guid-chaddr", "guid": "00:02:c9:03:00:aa:bb:cc", "first": 1},
    {"wire": "00:02:c9:aa:bb:cc", "kind": "ethernet-or-mac48", "mac": "00:02:c9:aa:bb:cc", "guid": None,
     "same_port_as": "00:02:c9:03:00:aa:bb:cc", "first": 2},
    {"wire": "52:54:00:99:99:99", "kind": "ethernet-or-mac48", "mac": "52:54:00:99:99:99", "guid": None, "first": 3},
    {"wire": "00:02:c9:03:00:0c:78:11", "kind": "guid-chaddr", "guid": "00:02:c9:03:00:0c:78:11",
     "collides_with": "node007:ib0", "first": 4},
    {"wire": "52:54:00:12:34:56", "kind": "ethernet-or-mac48", "mac": "52:54:00:12:34:56", "guid": None, "first": 5},
]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text(HEADER + ROWS)
    return path


def test_candidates_skip_collisions_and_mac48_of_a_seen_guid():
    c = nta.candidates_from_unknown(UNKNOWN)
    assert [(x["type"], x.get("port_guid") or x.get("mac")) for x in c] == [
        ("infiniband", "00:02:c9:03:00:aa:bb:cc"), ("ethernet", "52:54:00:99:99:99"),
        ("ethernet", "52:54:00:12:34:56")]


def test_plan_names_addresses_and_skips(table):
    rows = nta.read_table(str(table))[1]
    new, skipped = nta.plan(rows, nta.candidates_from_unknown(UNKNOWN), NETWORKS, "fabric0")
    # after node007; .1 boot server, .2 gateway, .3 and .5 taken
    assert [(r["host"], r["interface"], r["type"], r["port_guid"], r["mac"], r["ipv4"]) for r in new] == [
        ("node008", "ib0", "infiniband", "00:02:c9:03:00:aa:bb:cc", "", "192.168.100.4"),
        ("node009", "eth0", "ethernet", "", "52:54:00:99:99:99", "192.168.100.6")]
    assert [s["why"] for s in skipped] == ["mac 52:54:00:12:34:56 is already in the node table or inventory"]


def test_plan_match_count_prefix_digits(table):
    rows = nta.read_table(str(table))[1]
    new = nta.plan(rows, nta.candidates_from_unknown(UNKNOWN), NETWORKS, "fabric0", name_prefix="cn",
                   name_digits=5, match="52:54:*", count=1, groups="new")[0]
    assert [(r["host"], r["groups"], r["mac"]) for r in new] == [("cn00001", "new", "52:54:00:99:99:99")]


def test_plan_knows_the_inventory_too():
    nodes = {"node041": [{"name": "ib0", "port_guid": "00:02:c9:03:00:aa:bb:cc", "ipv4": "192.168.100.3"}]}
    new, skipped = nta.plan([], nta.candidates_from_unknown(UNKNOWN[:3]), NETWORKS, "fabric0", nodes=nodes)
    assert [(r["host"], r["ipv4"]) for r in new] == [("node042", "192.168.100.4")]
    assert "guid 00:02:c9:03:00:aa:bb:cc is already" in skipped[0]["why"]


def test_plan_runs_out_of_addresses():
    many = [{"type": "ethernet", "mac": "52:54:00:00:01:%02x" % i} for i in range(20)]
    with pytest.raises(nta.PlanError, match=r"network fabric0 \(192.168.100.0/28\) has no free address left"):
        nta.plan([], many, NETWORKS, "fabric0")


def test_plan_unknown_network():
    with pytest.raises(nta.PlanError, match="network 'x' is not in fabric_networks .known: fabric0."):
        nta.plan([], [], NETWORKS, "x")


def test_append_keeps_existing_bytes_and_column_order(table):
    before = table.read_text()
    columns, rows = nta.read_table(str(table))
    new = nta.plan(rows, nta.candidates_from_unknown(UNKNOWN), NETWORKS, "fabric0")[0]
    text = nta.append(str(table), columns, new)
    after = table.read_text()
    assert after == before + text
    assert text.splitlines() == ["node008,,ib0,infiniband,00:02:c9:03:00:aa:bb:cc,,192.168.100.4,fabric0,",
                                 "node009,,eth0,ethernet,,52:54:00:99:99:99,192.168.100.6,fabric0,"]


def test_append_to_a_file_without_final_newline(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + ROWS.rstrip("\n"))
    columns, rows = nta.read_table(str(path))
    new = nta.plan(rows, [{"type": "ethernet", "mac": "52:54:00:00:00:77"}], NETWORKS, "fabric0")[0]
    nta.append(str(path), columns, new)
    want = [ROWS.splitlines()[-1], "node008,,eth0,ethernet,,52:54:00:00:00:77,192.168.100.4,fabric0,"]
    assert path.read_text().splitlines()[-2:] == want


def test_append_creates_a_table(tmp_path):
    path = tmp_path / "new.csv"
    new = nta.plan([], [{"type": "ethernet", "mac": "52:54:00:00:00:77"}], NETWORKS, "fabric0")[0]
    nta.append(str(path), [], new)
    assert path.read_text() == ("host,groups,interface,type,port_guid,mac,ipv4,network\n"
                                "node001,,eth0,ethernet,,52:54:00:00:00:77,192.168.100.3,fabric0\n")


def test_append_refuses_a_table_lacking_a_needed_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("host,interface,type,mac,ipv4,network\nn1,eth0,ethernet,52:54:00:00:00:01,192.168.100.3,fabric0\n")
    columns, rows = nta.read_table(str(path))
    new = nta.plan(rows, [{"type": "infiniband", "port_guid": "0x0002c903000c7899"}], NETWORKS, "fabric0")[0]
    with pytest.raises(nta.PlanError, match="lacks column.s. port_guid"):
        nta.append(str(path), columns, new)
    assert path.read_text().count("\n") == 2


def test_interfaces_of_is_what_the_inventory_plugin_reads():
    rows = [{"host": "n1", "groups": "", "interface": "ib0", "type": "infiniband", "port_guid": "00:02:c9:03:00:aa:bb:cc",
             "mac": "", "ipv4": "192.168.100.4", "network": "fabric0"}]
    want = {"n1": [{"name": "ib0", "type": "infiniband", "port_guid": "00:02:c9:03:00:aa:bb:cc",
                    "ipv4": "192.168.100.4", "network": "fabric0"}]}
    assert nta.interfaces_of(rows) == want


def test_candidates_from_facts():
    facts = {"ansible_facts": {"fabric_net": {
        "ib0": {"link_type": "infiniband", "port_guid": "00:02:c9:03:00:0c:78:11", "address": "80:..."},
        "eno1": {"link_type": "ether", "port_guid": None}}}}
    assert nta.candidates_from_facts("oldnode7", facts, "fabric0") == [
        {"host": "oldnode7", "interface": "ib0", "type": "infiniband", "port_guid": "00:02:c9:03:00:0c:78:11",
         "network": "fabric0", "wire": "80:..."}]
