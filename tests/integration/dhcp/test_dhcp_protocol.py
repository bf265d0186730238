"""Real DHCP exchanges against the configuration the dhcp_server role writes, for each backend.

1. render.yml runs the real role (packages and service off, files redirected to a temp dir)
   on inventory.yml for each backend (ISC dhcpd, Kea, dnsmasq) twice: with deny unknown-clients,
   and with unknown clients allowed and Secure Boot (ISC: for Debian and for RedHat). The role's
   own validate: runs dhcpd -t, kea-dhcp4 -t or dnsmasq --test on each file.
2. A network namespace of our own (two bridges, veth pairs, no default route) runs the real
   daemon (dhcpd -4 -f -d, kea-dhcp4 -c, dnsmasq -d) on each file in turn (the file does not
   depend on the OS family; only ISC's listen-interface file does).
3. dhcp_client.py sends the DISCOVER and REQUEST that each kind of boot client puts on the
   wire (FlexBoot, RFC 4390, RHEL dhclient, iPXE, plain Ethernet firmware, an installed OS) with
   architecture 0, 7, 9, 11 and 16, and the replies are checked: reserved address, next-server
   (siaddr), boot file, HTTPClient echo, and no answer at all for an unknown client when
   deny unknown-clients is on.
4. Kea and dnsmasq give a fabric port's address to its htype32 (OS) form only; the FlexBoot
   and iPXE forms lease from the dynamic range (docs/roles/dhcp_server.md "Reservations on Kea
   and dnsmasq"): their cells assert exactly that, not the ISC answer. Hand-written ISC
   snippets and include files do not exist for them: those cells assert the default instead.
5. Relayed cells: the same clients as a DHCP relay agent forwards them (giaddr, unicast from
   port 67), answered back to the relay; the way Kea serves an IB network.

Needs root, dhcpd (isc-dhcp-server), kea-dhcp4 (kea-dhcp4-server), dnsmasq (dnsmasq-base),
iproute2 and scapy in the venv. Expected values are written
out here by hand from the GUIDs and MACs in inventory.yml, not computed by the collection.
"""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
NS = "fbdhcpt"
DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
KEA = shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4"
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
BACKENDS = ("isc", "kea", "dnsmasq")
# (deny unknown-clients, open + Secure Boot) file of each backend under the render root.
CONFIGS = {
    "isc": ("debian-deny/dhcpd.conf", "redhat-open-sb/dhcpd.conf"),
    "kea": ("kea-deny/kea-dhcp4.conf", "kea-open-sb/kea-dhcp4.conf"),
    "dnsmasq": ("dnsmasq-deny/dnsmasq.conf", "dnsmasq-open-sb/dnsmasq.conf"),
}

# From inventory.yml.
GUID1 = "0002c903000c7811"           # node001 ib0, 192.168.100.11
GUID1_MAC48 = "0002c90c7811"         # GUID bytes 3 and 4 dropped, as iPXE/FlexBoot show ${mac}
GUID3 = "00117501017a1234"           # node003 hfi1_0 (Omni-Path), 192.168.100.13
GUID3_MAC48 = "0011757a1234"
# RFC 4390/4361: type ff, IAID 0, DUID-EN (type 2), enterprise 713 (0x2c9), identifier 00 + GUID.
FLEXBOOT_PREFIX = "ff" + "00000000" + "0002" + "000002c9" + "00"
NODE002_MAC = "525400123456"         # 192.168.100.12
NODE004_MAC = "525400000402"         # 10.99.0.14 on network mgmt (br1)
UNKNOWN_MAC = "525400999999"
UNKNOWN_MGMT_MAC = "525400999998"    # a stranger on network mgmt (br1)
HANDWRITTEN_MAC = "525400777777"     # host block in a hand-kept file (dhcp_server_include_files)

FILE_BIOS = "pxelinux/pxelinux.0"
FILE_EFI = "uefi/grubx64.efi"
FILE_SHIM = "uefi-sb/shimx64.efi"
FILE_ARM64 = "uefi/grubaa64.efi"

VENDOR = {
    0: "PXEClient:Arch:00000:UNDI:002001",
    7: "PXEClient:Arch:00007:UNDI:003000",
    9: "PXEClient:Arch:00009:UNDI:003016",
    11: "PXEClient:Arch:00011:UNDI:003000",
    16: "HTTPClient:Arch:00016:UNDI:003000",
}


def _mac(hexstr):
    return ":".join(hexstr[i:i + 2] for i in range(0, len(hexstr), 2))


# Each kind of client as it appears on the wire. The Ethernet source address of the frames
# from IPoIB clients is irrelevant to dhcpd (it reads the BOOTP header); any unicast MAC does.
CLIENTS = {
    # Mellanox/NVIDIA FlexBoot: htype 32, hlen 6, option 61 = RFC 4390 DUID form.
    "flexboot": dict(htype=32, hlen=6, chaddr=GUID1_MAC48, client_id=FLEXBOOT_PREFIX + GUID1,
                     src_mac="02:00:00:00:01:01", iface="cl0"),
    # RFC 4390 as written: htype 32, hlen 0, empty chaddr, option 61 = 20 + GUID.
    "rfc4390": dict(htype=32, hlen=0, chaddr="", client_id="20" + GUID1, src_mac="02:00:00:00:01:02", iface="cl0"),
    # RHEL dhclient / NetworkManager on IPoIB: htype 32, hlen 8, chaddr = GUID, option 61 = 20 + GUID.
    "dhclient": dict(htype=32, hlen=8, chaddr=GUID1, client_id="20" + GUID1, src_mac="02:00:00:00:01:03",
                     iface="cl0"),
    # Upstream iPXE on an IPoIB port: presents it as Ethernet, option 61 = 01 + the 6-byte ${mac}.
    "ipxe": dict(htype=1, hlen=6, chaddr=GUID1_MAC48, client_id="01" + GUID1_MAC48, src_mac=_mac(GUID1_MAC48),
                 iface="cl0"),
    # Plain Ethernet firmware (OVMF's own PXE sends no option 61).
    "ethernet": dict(htype=1, hlen=6, chaddr=NODE002_MAC, client_id=None, src_mac=_mac(NODE002_MAC), iface="cl0"),
}

CASES_DENY = []
EXPECT_DENY = {}


def _case(cases, expect, cid, client, arch, **want):
    c = dict(client)
    c["id"] = cid
    c["arch"] = arch
    c["vendor_class"] = VENDOR.get(arch) if arch is not None else None
    cases.append(c)
    expect[cid] = want


for _name, _client in CLIENTS.items():
    _ip = "192.168.100.12" if _name == "ethernet" else "192.168.100.11"
    for _arch, _file in ((0, FILE_BIOS), (7, FILE_EFI), (16, "http://192.168.100.1/boot/uefi/grubx64-http.efi")):
        _case(CASES_DENY, EXPECT_DENY, "%s-arch%d" % (_name, _arch), _client, _arch,
              ip=_ip, siaddr="192.168.100.1", file=_file, http=_arch == 16)
_case(CASES_DENY, EXPECT_DENY, "ethernet-arch9", CLIENTS["ethernet"], 9,
      ip="192.168.100.12", siaddr="192.168.100.1", file=FILE_EFI)
_case(CASES_DENY, EXPECT_DENY, "flexboot-arch11", CLIENTS["flexboot"], 11,
      ip="192.168.100.11", siaddr="192.168.100.1", file=FILE_ARM64)
# iPXE on Ethernet sends option 61 = 01 + MAC; the host block keyed by hardware address still matches.
_case(CASES_DENY, EXPECT_DENY, "ethernet-ipxe-arch7", dict(CLIENTS["ethernet"], client_id="01" + NODE002_MAC), 7,
      ip="192.168.100.12", siaddr="192.168.100.1", file=FILE_EFI)
# The installed OS (no vendor class, no architecture): address, no boot file.
_case(CASES_DENY, EXPECT_DENY, "dhclient-os", CLIENTS["dhclient"], None,
      ip="192.168.100.11", siaddr="192.168.100.1", file="")
# Omni-Path port, two forms. The port has secure_boot: true on plain-UEFI fabric0: its host
# block hands x64 UEFI PXE shim, BIOS still pxelinux.
_case(CASES_DENY, EXPECT_DENY, "opa-flexboot-arch7",
      dict(CLIENTS["flexboot"], chaddr=GUID3_MAC48, client_id=FLEXBOOT_PREFIX + GUID3), 7,
      ip="192.168.100.13", siaddr="192.168.100.1", file=FILE_SHIM)
_case(CASES_DENY, EXPECT_DENY, "opa-ipxe-arch0",
      dict(CLIENTS["ipxe"], chaddr=GUID3_MAC48, client_id="01" + GUID3_MAC48, src_mac=_mac(GUID3_MAC48)), 0,
      ip="192.168.100.13", siaddr="192.168.100.1", file=FILE_BIOS)
# Second network on br1: its own next-server and HTTP URL; secure_boot: true on the network
# while the server-wide default is off.
_case(CASES_DENY, EXPECT_DENY, "mgmt-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=NODE004_MAC, src_mac=_mac(NODE004_MAC), iface="cl1"), 7,
      ip="10.99.0.14", siaddr="10.99.0.1", file=FILE_SHIM)
_case(CASES_DENY, EXPECT_DENY, "mgmt-ethernet-arch16",
      dict(CLIENTS["ethernet"], chaddr=NODE004_MAC, src_mac=_mac(NODE004_MAC), iface="cl1"), 16,
      ip="10.99.0.14", siaddr="10.99.0.1", file="http://10.99.0.1/boot/uefi/grubx64-http.efi", http=True)
# A host from the admin's included file is known too.
_case(CASES_DENY, EXPECT_DENY, "included-host-arch7",
      dict(CLIENTS["ethernet"], chaddr=HANDWRITTEN_MAC, src_mac=_mac(HANDWRITTEN_MAC)), 7,
      ip="192.168.100.77", siaddr="192.168.100.1", file=FILE_EFI)
# Unknown clients: no answer at all with deny unknown-clients (fabric0 has a dynamic range).
_case(CASES_DENY, EXPECT_DENY, "unknown-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=UNKNOWN_MAC, src_mac=_mac(UNKNOWN_MAC), timeout=2.0), 7, ip=None)
_case(CASES_DENY, EXPECT_DENY, "unknown-ib-htype32-arch7",
      dict(CLIENTS["dhclient"], chaddr="0002c90300ffffff", client_id="200002c90300ffffff", timeout=2.0), 7, ip=None)
# ... but mgmt says deny_unknown_clients: false (inventory.yml): a stranger there gets its pool.
_case(CASES_DENY, EXPECT_DENY, "mgmt-unknown-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=UNKNOWN_MGMT_MAC, src_mac=_mac(UNKNOWN_MGMT_MAC), iface="cl1"), 7,
      ip="dynamic", pool="10.99.0.", siaddr="10.99.0.1", file=FILE_SHIM)

# Relayed: the same clients as a relay agent (giaddr 192.168.100.254, the fabric0 relay of
# inventory.yml) forwards them, unicast to the server; the answer must go back to the relay.
# This is how Kea serves an IB network (the role refuses a directly attached one).
RELAY = "192.168.100.254"
for _cid, _client, _arch, _ip, _file in (
        ("relay-flexboot-arch7", "flexboot", 7, "192.168.100.11", FILE_EFI),
        ("relay-rfc4390-arch16", "rfc4390", 16, "192.168.100.11", "http://192.168.100.1/boot/uefi/grubx64-http.efi"),
        ("relay-ipxe-arch0", "ipxe", 0, "192.168.100.11", FILE_BIOS),
        ("relay-dhclient-os", "dhclient", None, "192.168.100.11", "")):
    _case(CASES_DENY, EXPECT_DENY, _cid, dict(CLIENTS[_client], relay=RELAY), _arch,
          ip=_ip, siaddr="192.168.100.1", file=_file, http=_arch == 16)

# Second configuration: unknown clients allowed, Secure Boot on, subnet snippet sets lease time 300.
CASES_OPEN = []
EXPECT_OPEN = {}
_case(CASES_OPEN, EXPECT_OPEN, "unknown-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=UNKNOWN_MAC, src_mac=_mac(UNKNOWN_MAC)), 7,
      ip="dynamic", siaddr="192.168.100.1", file=FILE_SHIM, lease_time=300)
_case(CASES_OPEN, EXPECT_OPEN, "flexboot-arch7", CLIENTS["flexboot"], 7,
      ip="192.168.100.11", siaddr="192.168.100.1", file=FILE_SHIM)
_case(CASES_OPEN, EXPECT_OPEN, "flexboot-arch0", CLIENTS["flexboot"], 0,
      ip="192.168.100.11", siaddr="192.168.100.1", file=FILE_BIOS)
_case(CASES_OPEN, EXPECT_OPEN, "ethernet-arch16", CLIENTS["ethernet"], 16,
      ip="192.168.100.12", siaddr="192.168.100.1", file="http://192.168.100.1/boot/uefi/grubx64-http.efi", http=True)
# mgmt says deny_unknown_clients: true here (inventory.yml): its stranger gets nothing, its
# reserved node still its address, while fabric0's stranger above gets fabric0's pool.
_case(CASES_OPEN, EXPECT_OPEN, "mgmt-unknown-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=UNKNOWN_MGMT_MAC, src_mac=_mac(UNKNOWN_MGMT_MAC), iface="cl1", timeout=2.0), 7,
      ip=None)
_case(CASES_OPEN, EXPECT_OPEN, "mgmt-ethernet-arch7",
      dict(CLIENTS["ethernet"], chaddr=NODE004_MAC, src_mac=_mac(NODE004_MAC), iface="cl1"), 7,
      ip="10.99.0.14", siaddr="10.99.0.1", file=FILE_SHIM)


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def _ns(*cmd):
    return _run(["ip", "-n", NS] + list(cmd))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the DHCP protocol test needs root (network namespaces, raw sockets)")
    for daemon, package in ((DHCPD, "isc-dhcp-server"), (KEA, "kea-dhcp4-server"), (DNSMASQ, "dnsmasq-base")):
        if not os.path.exists(daemon):
            pytest.fail("%s not found: install %s (tests/ci/apt-packages.sh)" % (daemon, package))
    out = tmp_path_factory.mktemp("render")
    for pair in CONFIGS.values():
        for conf in pair:
            (out / os.path.dirname(conf)).mkdir()
    # An admin's hand-kept file, pulled in by dhcp_server_include_files.
    (out / "handwritten-hosts.conf").write_text(
        "host handwritten { hardware ethernet %s; fixed-address 192.168.100.77; }\n" % _mac(HANDWRITTEN_MAC))
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
    env["ANSIBLE_ROLES_PATH"] = os.path.join(ROOT, "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_PIPELINING"] = "1"
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    r = subprocess.run([playbook, "-i", os.path.join(HERE, "inventory.yml"), os.path.join(HERE, "render.yml"),
                        "-e", "render_root=%s" % out], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    return out


NS_MACS = {}


def _mac_of(dev):
    return json.loads(_ns("-j", "link", "show", dev).stdout)[0]["address"]


@pytest.fixture(scope="module")
def netns():
    if os.geteuid() != 0:
        pytest.fail("the DHCP protocol test needs root (network namespaces, raw sockets)")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)
    _run(["ip", "netns", "add", NS])
    try:
        _ns("link", "set", "lo", "up")
        for br, addr, cl in (("br0", "192.168.100.1/24", "cl0"), ("br1", "10.99.0.1/24", "cl1")):
            _ns("link", "add", br, "type", "bridge")
            _ns("addr", "add", addr, "dev", br)
            _ns("link", "set", br, "up")
            _ns("link", "add", cl, "type", "veth", "peer", "name", cl + "p")
            _ns("link", "set", cl + "p", "master", br, "up")
            _ns("link", "set", cl, "up")
        routes = _ns("route", "show").stdout
        assert "default" not in routes, routes
        # The relay agent of the relayed cases is cl0 itself: the server finds its address
        # through this neighbour entry, so no daemon sees a second interface in fabric0.
        NS_MACS.update(br0=_mac_of("br0"), cl0=_mac_of("cl0"))
        _ns("neigh", "add", RELAY, "lladdr", NS_MACS["cl0"], "dev", "br0", "nud", "permanent")
        yield NS
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, check=False)


def _daemon(backend, conf, workdir):
    """The command line that serves conf in the foreground, its environment and its ready line."""
    env = dict(os.environ)
    if backend == "isc":
        leases = workdir / "dhcpd.leases"
        leases.write_text("")
        return ([DHCPD, "-4", "-f", "-d", "-cf", str(conf), "-lf", str(leases), "-pf", str(workdir / "dhcpd.pid"),
                 "br0", "br1"], env, "Server starting service")
    if backend == "kea":
        # Kea keeps its PID and lock files where these say (its lease file is in the rendered config).
        env.update(KEA_PIDFILE_DIR=str(workdir), KEA_LOCKFILE_DIR=str(workdir))
        return [KEA, "-c", str(conf)], env, "DHCP4_STARTED"
    return ([DNSMASQ, "-d", "--conf-file=%s" % conf, "--pid-file=%s" % (workdir / "dnsmasq.pid"), "--log-dhcp",
             "--user=root"], env, "DHCP, IP range")


def _serve_and_ask(backend, conf, cases, workdir):
    """Run the backend's daemon on conf inside the namespace, send the cases, stop it; return (results, log)."""
    cmd, env, ready = _daemon(backend, conf, workdir)
    cases = [dict(c, src_mac=NS_MACS["cl0"], server_mac=NS_MACS["br0"], server_ip="192.168.100.1")
             if c.get("relay") else c for c in cases]
    if backend == "dnsmasq":
        # dnsmasq pings a pool address before its first offer and waits 3 s for an echo: the
        # first DISCOVER of a client that leases (a boot-stage form, an unknown client) is
        # answered after 3 s. Firmware retries; the test waits a little longer instead.
        cases = [dict(c, timeout=5.0) if "timeout" not in c else c for c in cases]
    log_path = workdir / "daemon.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["ip", "netns", "exec", NS] + cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 15
        while ready not in log_path.read_text():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        r = subprocess.run(["ip", "netns", "exec", NS, sys.executable, os.path.join(HERE, "dhcp_client.py")],
                           input=json.dumps(cases), capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout), log_path.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(backend, variant, rendered, tmp_path_factory):
    index, cases = {"deny": (0, CASES_DENY), "open": (1, CASES_OPEN)}[variant]
    results, log = _serve_and_ask(backend, rendered / CONFIGS[backend][index], cases,
                                  tmp_path_factory.mktemp("%s-%s" % (variant, backend)))
    return backend, results, log


@pytest.fixture(scope="module", params=BACKENDS)
def answers_deny(request, rendered, netns, tmp_path_factory):
    return _answers(request.param, "deny", rendered, tmp_path_factory)


@pytest.fixture(scope="module", params=BACKENDS)
def answers_open(request, rendered, netns, tmp_path_factory):
    return _answers(request.param, "open", rendered, tmp_path_factory)


# Cases whose client-id is a boot-stage form (FlexBoot, iPXE) of a fabric port.
BOOT_STAGE_CASES = ("flexboot-", "ipxe-", "opa-flexboot-", "opa-ipxe-", "relay-flexboot-", "relay-ipxe-")


def _expect(backend, cid, want):
    """The ISC answer, or what Kea and dnsmasq are documented to answer instead."""
    want = dict(want)
    if backend == "isc" or want["ip"] is None:
        return want
    if cid.startswith(BOOT_STAGE_CASES):
        want["ip"] = "dynamic"          # the boot pool; only the htype32 form holds the port's address
    if cid == "included-host-arch7":
        want["ip"] = None               # dhcp_server_include_files is ISC syntax: unknown to the others
    if "lease_time" in want:
        want["lease_time"] = 3600       # the subnet snippet is ISC syntax: dhcp_server_default_lease_time
    return want


def _check(case, want, got, log, backend="isc"):
    where = "%s: %s\n--- daemon log ---\n%s" % (case["id"], json.dumps(got), log[-4000:])
    if want["ip"] is None:
        assert got["offer"] is None, where
        return
    offer, ack = got["offer"], got["ack"]
    assert offer is not None, where
    assert ack is not None and ack["message_type"] == 5, where   # 5 = DHCPACK
    for reply in (offer, ack):
        if want["ip"] == "dynamic":
            # Both dynamic ranges of inventory.yml are .200 - .230 of their network.
            last = int(reply["yiaddr"].rsplit(".", 1)[1])
            assert reply["yiaddr"].startswith(want.get("pool", "192.168.100.")) and 200 <= last <= 230, where
        else:
            assert reply["yiaddr"] == want["ip"], where
        assert reply["siaddr"] == want["siaddr"], where
        assert reply["file"] == want["file"], where
        # dhcpd answers in the client's own hardware terms (broadcast, since the flag is set).
        assert (reply["htype"], reply["hlen"]) == (case["htype"], case["hlen"]), where
        if case.get("relay"):
            # Back to the relay agent, unicast, giaddr kept.
            assert reply["ip_dst"] == case["relay"] and reply["giaddr"] == case["relay"], where
            assert reply["eth_dst"] == NS_MACS["cl0"], where
        elif backend == "kea":
            # Kea answers a broadcast-flag request with an IP broadcast in an Ethernet frame to
            # the requester's own source MAC (the frame's, not chaddr: right for a relay's frames too).
            assert reply["eth_dst"] == case["src_mac"], where
        else:
            assert reply["eth_dst"] == "ff:ff:ff:ff:ff:ff", where
        vendor = reply["options"].get("vendor_class_id")
        if want.get("http"):
            assert vendor == "HTTPClient", where
        else:
            assert vendor is None, where
        if "lease_time" in want:
            assert reply["options"].get("lease_time") == want["lease_time"], where
    assert ack["yiaddr"] == offer["yiaddr"], where


@pytest.mark.parametrize("case", CASES_DENY, ids=[c["id"] for c in CASES_DENY])
def test_deny_unknown_clients_config(case, answers_deny):
    backend, results, log = answers_deny
    _check(case, _expect(backend, case["id"], EXPECT_DENY[case["id"]]), results[case["id"]], log, backend)


@pytest.mark.parametrize("case", CASES_OPEN, ids=[c["id"] for c in CASES_OPEN])
def test_open_secure_boot_config(case, answers_open):
    backend, results, log = answers_open
    _check(case, _expect(backend, case["id"], EXPECT_OPEN[case["id"]]), results[case["id"]], log, backend)


def test_every_form_of_a_port_got_one_address(answers_deny):
    """ISC: every form of node001's port gets 192.168.100.11. Kea and dnsmasq: the htype32 form
    (RFC 4390 firmware, dhclient) gets it, FlexBoot and iPXE each get one boot-pool address."""
    backend, results, _log = answers_deny
    by_form = {}
    for c in results:
        if c.split("-")[0] in ("flexboot", "rfc4390", "dhclient", "ipxe") and results[c]["ack"]:
            by_form.setdefault(c.split("-")[0], set()).add(results[c]["ack"]["yiaddr"])
    assert sorted(by_form) == ["dhclient", "flexboot", "ipxe", "rfc4390"], by_form
    if backend == "isc":
        assert set.union(*by_form.values()) == {"192.168.100.11"}, by_form
        return
    assert by_form["rfc4390"] == by_form["dhclient"] == {"192.168.100.11"}, by_form
    for form in ("flexboot", "ipxe"):
        assert len(by_form[form]) == 1, by_form       # the same lease for every architecture it boots
        assert 200 <= int(next(iter(by_form[form])).rsplit(".", 1)[1]) <= 230, by_form
    assert by_form["flexboot"] != by_form["ipxe"], by_form


def test_rendered_files(rendered):
    deny = (rendered / "debian-deny" / "dhcpd.conf").read_text()
    open_sb = (rendered / "redhat-open-sb" / "dhcpd.conf").read_text()
    assert "\ndeny unknown-clients;\n" in deny and "\ndeny unknown-clients;\n" not in open_sb
    # mgmt's own deny_unknown_clients, the opposite of the server-wide switch, in its subnet only.
    for text, line in ((deny, "  allow unknown-clients;"), (open_sb, "  deny unknown-clients;")):
        mgmt = text.split("subnet 10.99.0.0 netmask 255.255.255.0 {\n", 1)[1].split("\n}\n", 1)[0]
        assert text.count(line) == 1 and line in mgmt, text
    assert "ping-check false;" in deny           # the global snippet, verbatim
    assert deny.endswith('include "%s";\n' % (rendered / "handwritten-hosts.conf"))
    assert "  default-lease-time 300;" in open_sb  # the subnet snippet, verbatim, inside the subnet
    # Host block names are unique (dhcpd would refuse duplicates; the role must never emit any).
    names = [line.split()[1] for line in deny.splitlines() if line.startswith("host ")]
    assert len(names) == len(set(names)) == 8, names
    default = (rendered / "debian-deny" / "isc-dhcp-server").read_text()
    assert 'INTERFACESv4="br0 br1"' in default
    assert "DHCPDv4_CONF=%s" % (rendered / "debian-deny" / "dhcpd.conf") in default


def test_redhat_rendering_passes_dhcpd(rendered):
    conf = rendered / "redhat-open-sb" / "dhcpd.conf"
    r = subprocess.run([DHCPD, "-t", "-cf", str(conf)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    dropin = (rendered / "redhat-open-sb" / "dhcpd.service.d" / "fabric-boot.conf").read_text()
    assert "[Service]\nExecStart=\nExecStart=/usr/sbin/dhcpd -f -cf %s -user dhcpd -group dhcpd --no-pid ib0\n" % conf \
        in dropin, dropin


def test_kea_and_dnsmasq_renderings_pass_their_daemons_checks(rendered):
    """The files the role wrote pass kea-dhcp4 -t and dnsmasq --test (the role's validate: ran them
    too); one broken value in each makes the same check fail, so the check is a real one."""
    for variant in CONFIGS["kea"]:
        conf = rendered / variant
        ok = subprocess.run([KEA, "-t", str(conf)], capture_output=True, text=True, check=False)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        data = json.loads(conf.read_text())["Dhcp4"]
        ids = [r.get("client-id") or r.get("hw-address") for s in data["subnet4"] for r in s["reservations"]]
        assert "ff:00:00:00:00:00:02:00:00:02:c9:00:00:02:c9:03:00:0c:78:11" in ids and "52:54:00:12:34:56" in ids
        # Only the network whose deny_unknown_clients is on restricts its pool to known clients.
        pools = dict((s["user-context"]["fabric-network"], s["pools"][0].get("client-class")) for s in data["subnet4"])
        assert pools == ({"fabric0": "KNOWN", "mgmt": None} if "deny" in variant else
                         {"fabric0": None, "mgmt": "KNOWN"}), pools
        broken = conf.with_name("broken.json")
        broken.write_text(conf.read_text().replace('"192.168.100.0/24"', '"192.168.100.0/33"'))
        bad = subprocess.run([KEA, "-t", str(broken)], capture_output=True, text=True, check=False)
        assert bad.returncode != 0, bad.stdout
    for variant in CONFIGS["dnsmasq"]:
        conf = rendered / variant
        ok = subprocess.run([DNSMASQ, "--test", "--conf-file=%s" % conf], capture_output=True, text=True, check=False)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "dhcp-host=id:20:00:02:c9:03:00:0c:78:11,192.168.100.11,node001\n" in conf.read_text()
        # Only the refusing network's range is filtered on the known tag; no global dhcp-ignore.
        ranges = [line for line in conf.read_text().splitlines() if line.startswith(("dhcp-range=", "dhcp-ignore="))]
        assert [r for r in ranges if "known" in r] == [
            "dhcp-range=tag:known,set:net-fabric0,192.168.100.200,192.168.100.230,255.255.255.0,3600"
            if "deny" in variant else "dhcp-range=tag:known,set:net-mgmt,10.99.0.200,10.99.0.230,255.255.255.0,3600"
        ], ranges
        broken = conf.with_name("broken.conf")
        broken.write_text(conf.read_text() + "dhcp-option=tag:x,option:router,not-an-ip\n")
        bad = subprocess.run([DNSMASQ, "--test", "--conf-file=%s" % broken], capture_output=True, text=True,
                             check=False)
        assert bad.returncode != 0, bad.stdout + bad.stderr
