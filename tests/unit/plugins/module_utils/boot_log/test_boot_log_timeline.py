"""The timeline and diagnosis of the captured boots (fixtures/README.md says what each node did)."""
import os

import sys

import pytest

from ansible_collections.fabric.boot.plugins.module_utils.boot_log import sources, timeline

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import capture_model  # noqa: E402  pylint: disable=wrong-import-position

FIX = capture_model.FIXTURES


@pytest.fixture(scope="module")
def model():
    return capture_model.model()


def _sizes():
    with open(os.path.join(FIX, "tftp-tree.txt")) as f:
        return dict((ln.split()[0], int(ln.split()[1])) for ln in f if ln.strip())


def _build(model, name="journal.json", **kw):
    with open(os.path.join(FIX, name)) as f:
        records = sources.read_records(f.read(), year=2026)
    with open(os.path.join(FIX, "apache-access.log")) as f:
        access = f.read().splitlines()
    dhcp, files = sources.events_from(records, access)
    return timeline.build(dhcp, files, model["nodes"], model["networks"], sizes=_sizes(), **kw)


def _node(result, host):
    return next(n for n in result["nodes"] if n["host"] == host)


def test_a_full_boot(model):
    n = _node(_build(model), "node002")
    assert n["last_stage"] == "dhcp-os"
    assert n["findings"] == []
    assert n["asked_as"] == "ethernet" and n["dhcp_firmware"] == n["dhcp_os"] == "192.168.100.12"
    assert n["menu"] == "uefi/grub.cfg-01-52-54-00-12-34-56"
    assert n["loader"] == "tftp uefi/grubx64.efi"
    st = n["stages"]
    assert st["dhcp-firmware"] < st["loader"] < st["menu"] < st["kernel"] < st["initrd"] < st["dhcp-os"]


def test_missing_client_id_form_is_diagnosed(model):
    n = _node(_build(model), "node001")
    assert n["asked_as"] == "mac48" and n["os_forms"] == ["htype32"]
    assert n["last_stage"] == "initrd"
    assert n["dhcp_os"] == "192.168.100.203"
    assert "OS stage (htype32) got 192.168.100.203, not its reservation 192.168.100.11 (dynamic range)" in n["findings"]
    cause = [f for f in n["findings"] if f.startswith("likely cause")]
    assert cause == ["likely cause: the firmware form was answered, the OS form never: network fabric0 does not "
                     "reserve the htype32 client-id form (client_id_forms: flexboot, ipxe); add htype32"]


def test_missing_form_refused_only(model):
    """Only the deny half of the capture: the OS stage got no answer at all."""
    r = _build(model)
    deny_end = min(s["first"] for s in r["unknown"] if s["wire"] == "52:54:00:99:99:99") + 1
    with open(os.path.join(FIX, "journal.json")) as f:
        records = [rec for rec in sources.read_records(f.read()) if rec.time < deny_end]
    with open(os.path.join(FIX, "apache-access.log")) as f:
        dhcp, files = sources.events_from(records, f.read().splitlines())
    n = _node(timeline.build(dhcp, files, model["nodes"], model["networks"], sizes=_sizes()), "node001")
    assert "OS stage asked as htype32 and got no answer: unknown client" in n["findings"]
    assert any(f.startswith("likely cause") for f in n["findings"])


def test_missing_menu_and_truncated_initrd(model):
    n = _node(_build(model), "node003")
    assert n["menu"] == "uefi/grub.cfg (default)"
    assert ("per-node menu uefi/grub.cfg-01-52-54-00-00-00-13 is missing: the node got the default menu "
            "uefi/grub.cfg") in n["findings"]
    trunc = [f for f in n["findings"] if "truncated" in f]
    assert trunc == ["initrd transfer truncated: 9096352 of 25165824 bytes (images/rhel95/initrd.img)"]
    assert n["last_stage"] == "kernel"      # a truncated initrd is not a stage reached
    initrd = [f for f in n["files"] if f["role"] == "initrd"]
    assert initrd[0]["truncated"] and initrd[0]["via"] == "http"


def test_http_boot_client_waiting_for_its_os(model):
    n = _node(_build(model), "node004")
    assert n["loader"] == "http uefi/grubx64-http.efi (HTTPClient)"
    assert n["last_stage"] == "initrd"
    assert n["findings"] == ["kernel and initrd fetched, no OS-stage DHCP since: the kernel is still starting, or "
                             "the initrd lacks the network driver, or its DHCP goes to another server"]


def test_unknown_clients(model):
    unknown = dict((s["wire"], s) for s in _build(model)["unknown"])
    assert sorted(unknown) == ["00:02:c9:03:00:0c:78:11", "00:02:c9:03:00:aa:bb:cc", "00:02:c9:aa:bb:cc",
                               "52:54:00:99:99:99"]
    own = unknown["00:02:c9:03:00:0c:78:11"]
    assert own["collides_with"] == "node001:ib0" and own["guid"] == "00:02:c9:03:00:0c:78:11"
    stranger = unknown["00:02:c9:03:00:aa:bb:cc"]
    assert (stranger["guid"], stranger["answered"], stranger["collides_with"]) == (
        "00:02:c9:03:00:aa:bb:cc", "192.168.100.202", None)
    flex = unknown["00:02:c9:aa:bb:cc"]
    assert flex["guid"] is None and flex["same_port_as"] == "00:02:c9:03:00:aa:bb:cc"
    assert flex["refused"] == "unknown client" and flex["answered"] == "192.168.100.201"
    eth = unknown["52:54:00:99:99:99"]
    assert eth["answered"] == "192.168.100.200" and [f["path"] for f in eth["files"]] == ["uefi/grubx64.efi"]


@pytest.mark.parametrize("name", ["journal-short-iso.log", "debian-syslog.log", "rsyslog-traditional-messages.log"])
def test_same_verdict_from_every_format(model, name):
    a, b = _build(model), _build(model, name)

    def verdict(r):
        return [(n["host"], n["last_stage"], n["findings"]) for n in r["nodes"]]
    assert verdict(a) == verdict(b)
    assert [s["wire"] for s in a["unknown"]] == [s["wire"] for s in b["unknown"]]


def test_host_pattern(model):
    r = _build(model, hosts=lambda h: h.startswith("node00") and h > "node002")
    assert [n["host"] for n in r["nodes"]] == ["node003", "node004"]
    assert len(r["unknown"]) == 4


def test_rhel_client_ids_map_to_forms(model):
    with open(os.path.join(FIX, "rhel-dhcpd-messages.log")) as f:
        records = sources.read_records(f.read(), year=2026)
    dhcp, files = sources.events_from(records)
    r = timeline.build(dhcp, files, model["nodes"], model["networks"])
    n1 = _node(r, "node001")
    assert n1["asked_as"] == "flexboot" and n1["dhcp_firmware"] == "192.168.100.11"
    assert "flexboot ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11" in n1["identities"]
    assert any("refused: unknown client" in f for f in n1["findings"]) or any(
        "htype32" in f for f in n1["findings"])
    unknown = dict((s["wire"], s) for s in r["unknown"])
    assert unknown["ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:aa:bb:cc"]["guid"] == "00:02:c9:03:00:aa:bb:cc"
    assert unknown["20:00:02:c9:03:00:0c:78:11"]["collides_with"] == "node001:ib0"
    n4 = _node(r, "node004")
    assert n4["asked_as"] == "htype32" and n4["dhcp_firmware"] == "192.168.100.14"


def test_table(model):
    text = timeline.table(_build(model))
    lines = text.splitlines()
    assert lines[0].split() == ["host", "iface", "asked", "as", "dhcp", "loader", "menu", "kernel", "initrd", "os",
                                "dhcp", "last", "stage"]
    assert any(ln.startswith("node002  eno1   ethernet  192.168.100.12") and ln.endswith("dhcp-os 17:41:18")
               for ln in lines)
    assert "    ! initrd transfer truncated: 9096352 of 25165824 bytes (images/rhel95/initrd.img)" in lines
    assert any("00:02:c9:03:00:0c:78:11" in ln and "same port as inventoried node001:ib0" in ln for ln in lines)
    rel = timeline.table(_build(model), relative_to=_build(model)["nodes"][1]["stages"]["dhcp-firmware"])
    assert any(ln.startswith("node002") and ln.endswith("dhcp-os 21.0") for ln in rel.splitlines())


def test_classify():
    assert timeline.classify("uefi/grubx64.efi") == "loader"
    assert timeline.classify("pxelinux/pxelinux.0") == "loader"
    assert timeline.classify("pxelinux/pxelinux.cfg/01-52-54-00-12-34-56") == "menu"
    assert timeline.classify("images/x/vmlinuz") == "kernel"
    assert timeline.classify("images/x/initrd.img") == "initrd"
    assert timeline.classify("images/x/k", {"x": {"kernel": "/images/x/k", "initrd": "images/x/i"}}) == "kernel"
    assert timeline.classify("images/x/i", {"x": {"kernel": "/images/x/k", "initrd": "images/x/i"}}) == "initrd"
    assert timeline.classify("README") == "other"


def test_no_logs_no_nodes(model):
    r = timeline.build([], [], model["nodes"], model["networks"])
    assert r == {"nodes": [], "unknown": [], "unmatched": []}
    assert "(no inventoried node in the logs)" in timeline.table(r)


def test_loader_is_the_file_the_firmware_fetched(model):
    """Secure Boot fetches shim, then GRUB: the loader column is shim, the stage time GRUB's."""
    from ansible_collections.fabric.boot.plugins.module_utils.boot_log.tftpd import FileRequest
    ip = "192.168.100.12"
    files = [FileRequest(100.0, "tftp", ip, "uefi-sb/shimx64.efi"),
             FileRequest(101.0, "tftp", ip, "uefi-sb/revocations_sbat.efi", ok=False, error="File not found"),
             FileRequest(102.0, "tftp", ip, "uefi-sb/grubx64.efi")]
    n = _node(timeline.build([], files, model["nodes"], model["networks"]), "node002")
    assert n["loader"] == "tftp uefi-sb/shimx64.efi"
    assert n["stages"]["loader"] == 102.0
    # shim's optional revocations file being absent is normal, not a failed loader
    assert n["findings"] == ["the boot loader fetched no menu"]
