"""DHCP storm harness, shared by test_dhcp_storm.py and benchmarks/dhcp_storm.py.

* fabric(n): a node table (fabric.boot.node_table CSV) of n InfiniBand nodes, n/50 Omni-Path and
  n/20 Ethernet nodes, and the networks around them (also used by benchmarks/converge_scale.py);
* render(): the real dhcp_server role writes dhcpd.conf for it (packages and service off,
  files in a temporary directory; the role's own validate runs dhcpd -t);
* Namespace: our own network namespace (two bridges, one veth pair each, no route out);
* serve(): the real dhcpd on that file inside the namespace;
* clients(): boot clients as each kind puts itself on the wire, and what each must be answered,
  worked out here from the GUIDs and MACs by the rules of RFC 4390 / FlexBoot / iPXE, not by
  the collection's code;
* check(): compares every answer with its expectation.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
DHCPD = shutil.which("dhcpd") or "/usr/sbin/dhcpd"

FABRIC_SERVER = "172.16.0.1"
MGMT_SERVER = "10.8.0.1"
GROUP_VARS = """---
fabric_networks:
  fabric0:
    subnet: 172.16.0.0/16
    boot_server: %s
    dynamic_range: [172.16.250.1, 172.16.250.200]
    client_id_forms: [flexboot, htype32, ipxe]
    boot_image: rhel95
  mgmt:
    subnet: 10.8.0.0/16
    boot_server: %s
    boot_image: rhel95
fabric_boot_images:
  rhel95:
    title: RHEL 9.5
    kernel: images/rhel95/vmlinuz
    initrd: images/rhel95/initrd.img
    repo: ISO/RHEL95
  debian12:
    kernel: images/debian12/vmlinuz
    initrd: images/debian12/initrd.img
""" % (FABRIC_SERVER, MGMT_SERVER)

# RFC 4390/4361 as FlexBoot sends it: type ff, IAID 0, DUID-EN (2), enterprise 713 (0x2c9), 00 + GUID.
FLEXBOOT_PREFIX = "ff" + "00000000" + "0002" + "000002c9" + "00"
VENDOR = {
    0: "PXEClient:Arch:00000:UNDI:002001",
    7: "PXEClient:Arch:00007:UNDI:003000",
    9: "PXEClient:Arch:00009:UNDI:003016",
    11: "PXEClient:Arch:00011:UNDI:003000",
    16: "HTTPClient:Arch:00016:UNDI:003000",
}


def _ip(base, i, third0=1):
    return "%s.%d.%d" % (base, third0 + i // 250, 2 + i % 250)


def ib_node(i, changed=None):
    return "ib%05d" % i, "0002c90300%06x" % i, _ip("172.16", i + 40000 if i == changed else i)


def opa_node(i):
    return "opa%05d" % i, "0011750101%06x" % i, _ip("172.16", i, 200)


def eth_node(i):
    return "eth%05d" % i, "525401%06x" % i, _ip("10.8", i)


def node_rows(n, changed=None):
    """The CSV node table; changed: index of the InfiniBand node whose address moves."""
    rows = ["host,interface,type,port_guid,mac,ipv4,network"]
    for i in range(n):
        host, guid, ip = ib_node(i, changed)
        rows.append("%s,ib0,infiniband,0x%s,,%s,fabric0" % (host, guid, ip))
    for i in range(n // 50):
        host, guid, ip = opa_node(i)
        rows.append("%s,hfi1_0,omnipath,0x%s,,%s,fabric0" % (host, guid, ip))
    for i in range(n // 20):
        host, mac, ip = eth_node(i)
        rows.append("%s,eno1,ethernet,,%s,%s,mgmt" % (host, _colons(mac), ip))
    return "\n".join(rows) + "\n"


def write_inventory(d, n, changed=None):
    """group_vars/all/fabric.yml + nodes.csv + nodes.fabric.yml; returns the plugin file."""
    os.makedirs(os.path.join(d, "group_vars", "all"), exist_ok=True)
    with open(os.path.join(d, "group_vars", "all", "fabric.yml"), "w") as f:
        f.write(GROUP_VARS)
    with open(os.path.join(d, "nodes.csv"), "w") as f:
        f.write(node_rows(n, changed))
    with open(os.path.join(d, "nodes.fabric.yml"), "w") as f:
        f.write("plugin: fabric.boot.node_table\ntable: nodes.csv\ngroups: [compute]\n")
    return os.path.join(d, "nodes.fabric.yml")


def _colons(hexstr):
    return ":".join(hexstr[i:i + 2] for i in range(0, len(hexstr), 2))


def _mac48(guid):
    # what FlexBoot and iPXE show as the port's MAC: GUID bytes 3 and 4 dropped
    return guid[:6] + guid[10:]


RENDER_PLAY = """---
- name: Render dhcpd.conf for the storm
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    dhcp_server_clients_group: compute
    dhcp_server_manage_packages: false
    dhcp_server_manage_service: false
    dhcp_server_os_family: Debian
    dhcp_server_config_file: "%(out)s/dhcpd.conf"
    dhcp_server_interfaces_file: "%(out)s/isc-dhcp-server"
    dhcp_server_interfaces: [br0, br1]
  roles:
    - fabric.boot.dhcp_server
"""


SYSCTL_PLAY = """---
- name: Apply dhcp_server's socket receive buffer default to this host
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    dhcp_server_manage_service: false   # the restart handler has no daemon to restart here
    dhcp_server_rmem_default: %(value)d
    dhcp_server_sysctl_file: "%(out)s/60-fabric-boot-dhcp.conf"
  tasks:
    - name: Run the role's sysctl tasks, as site.yml does before dhcpd starts
      ansible.builtin.include_role:
        name: fabric.boot.dhcp_server
        tasks_from: sysctl
"""


def _ansible_env():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
    return env


def apply_rmem_default(workdir, value):
    """Run dhcp_server's sysctl tasks on this host (global: wrap in host_rmem_default() to restore
    it); returns the play recap's changed count."""
    play = os.path.join(workdir, "sysctl.yml")
    with open(play, "w") as f:
        f.write(SYSCTL_PLAY % {"out": workdir, "value": value})
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    r = subprocess.run([playbook, "-i", "localhost,", play], capture_output=True, text=True, env=_ansible_env(),
                       check=False)
    if r.returncode != 0:
        raise RuntimeError("dhcp_server's sysctl tasks failed:\n" + r.stdout[-5000:] + r.stderr[-3000:])
    return int(re.search(r"localhost\s*:.*changed=(\d+)", r.stdout).group(1))


def render(workdir, n):
    """Run the real dhcp_server role for n nodes; returns (dhcpd.conf path, seconds)."""
    inv = write_inventory(os.path.join(workdir, "inventory"), n)
    play = os.path.join(workdir, "render.yml")
    with open(play, "w") as f:
        f.write(RENDER_PLAY % {"out": workdir})
    env = _ansible_env()
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    r = subprocess.run([playbook, "-i", inv, play], capture_output=True, text=True, env=env, check=False)
    took = time.monotonic() - start
    if r.returncode != 0:
        raise RuntimeError("rendering failed:\n" + r.stdout[-5000:] + r.stderr[-3000:])
    return os.path.join(workdir, "dhcpd.conf"), took


class Namespace:
    """br0 172.16.0.1/16 (fabric0) and br1 10.8.0.1/16 (mgmt); clients on cl0 / cl1. No route out."""

    def __init__(self, name):
        self.name = name

    def _ip(self, *args):
        subprocess.run(["ip", "-n", self.name] + list(args), check=True, capture_output=True, text=True)

    def __enter__(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        try:
            self._ip("link", "set", "lo", "up")
            for br, addr, cl in (("br0", FABRIC_SERVER + "/16", "cl0"), ("br1", MGMT_SERVER + "/16", "cl1")):
                self._ip("link", "add", br, "type", "bridge", "stp_state", "0", "forward_delay", "0")
                self._ip("addr", "add", addr, "dev", br)
                self._ip("link", "set", br, "up")
                self._ip("link", "add", cl, "type", "veth", "peer", "name", cl + "p")
                self._ip("link", "set", cl + "p", "master", br, "up")
                self._ip("link", "set", cl, "up")
            routes = subprocess.run(["ip", "-n", self.name, "route", "show"], capture_output=True, text=True,
                                    check=True).stdout
            if "default" in routes:
                raise RuntimeError("namespace %s has a default route" % self.name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)


RMEM_DEFAULT = "/proc/sys/net/core/rmem_default"


@contextlib.contextmanager
def host_rmem_default(value=None):
    """net.core.rmem_default = value for the duration (None: as found, e.g. for
    apply_rmem_default() to set), restored to what it was afterwards.

    The key is global to the host, not per network namespace (the kernel refuses it from inside
    one), and a socket takes it when it opens: set it before dhcpd starts, as dhcp_server does.
    """
    with open(RMEM_DEFAULT) as f:
        before = int(f.read())
    if value is not None:
        with open(RMEM_DEFAULT, "w") as f:
            f.write(str(value))
    try:
        yield
    finally:
        with open(RMEM_DEFAULT, "w") as f:
            f.write(str(before))


def packet_sockets(ns, process="dhcpd"):
    """{interface: {"rb": receive buffer bytes, "drops": packets dropped}} of process's packet
    sockets in ns, from `ss -0 -m -p` (skmem rb and d): what the kernel really gave the daemon."""
    out = subprocess.run(["ip", "netns", "exec", ns.name, "ss", "-0", "-m", "-p", "-n"], capture_output=True,
                         text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        if '"%s"' % process not in line or "skmem:(" not in line:
            continue
        iface = line.split()[3].rpartition(":")[2]
        mem = dict(re.findall(r"([a-z]+)(\d+)", line.split("skmem:(")[1].split(")")[0]))
        found[iface] = {"rb": int(mem["rb"]), "drops": int(mem["d"])}
    return found


@contextlib.contextmanager
def serve(ns, conf, workdir):
    """dhcpd -4 -f -d on conf inside the namespace; yields (start-up seconds, log path, cpu) where
    cpu() is dhcpd's CPU seconds so far (user + system; ip netns exec execs dhcpd in place)."""
    leases = os.path.join(workdir, "dhcpd.leases")
    open(leases, "w").close()
    log_path = os.path.join(workdir, "dhcpd.log")
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["ip", "netns", "exec", ns.name, DHCPD, "-4", "-f", "-d", "-cf", conf,
                                 "-lf", leases, "-pf", os.path.join(workdir, "dhcpd.pid"), "br0", "br1"],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        while "Server starting service" not in open(log_path).read():
            if proc.poll() is not None:
                raise RuntimeError("dhcpd exited:\n" + open(log_path).read()[-4000:])
            if time.monotonic() - start > 120:
                raise RuntimeError("dhcpd did not start in 120 s:\n" + open(log_path).read()[-4000:])
            time.sleep(0.02)

        def cpu():
            with open("/proc/%d/stat" % proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        yield time.monotonic() - start, log_path, cpu
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


KINDS = ("flexboot", "rfc4390", "dhclient", "ipxe")
ARCHS = (0, 7, 9, 11, 16)


def clients(n_nodes, n_clients):
    """n_clients boot clients on distinct ports: (cases, {id: expected}).

    Every 10th client is an Ethernet node, every 10th (offset 5) an Omni-Path port, the rest
    InfiniBand ports; the fabric ones cycle through the four forms, all through the architectures.
    """
    cases, expect = [], {}
    n_eth, n_opa = n_nodes // 20, n_nodes // 50
    for k in range(n_clients):
        arch = ARCHS[(k // 3) % len(ARCHS)]
        if k % 10 == 0 and k // 10 < n_eth:
            host, mac, ip = eth_node(k // 10)
            case = dict(htype=1, hlen=6, chaddr=mac, client_id=None, src_mac=_colons(mac), iface="cl1")
            kind, server = "ethernet", MGMT_SERVER
        else:
            if k % 10 == 5 and k // 10 < n_opa:
                host, guid, ip = opa_node(k // 10)
            else:
                host, guid, ip = ib_node(k)
            kind = KINDS[k % len(KINDS)]
            mac48 = _mac48(guid)
            src = "02" + "%010x" % k     # any unicast source: dhcpd reads the BOOTP header
            case = {
                "flexboot": dict(htype=32, hlen=6, chaddr=mac48, client_id=FLEXBOOT_PREFIX + guid),
                "rfc4390": dict(htype=32, hlen=0, chaddr="", client_id="20" + guid),
                "dhclient": dict(htype=32, hlen=8, chaddr=guid, client_id="20" + guid),
                "ipxe": dict(htype=1, hlen=6, chaddr=mac48, client_id="01" + mac48),
            }[kind]
            case.update(src_mac=_colons(src if kind != "ipxe" else mac48), iface="cl0")
            server = FABRIC_SERVER
        case.update(id="%s-%s-arch%d" % (host, kind, arch), arch=arch, vendor_class=VENDOR[arch])
        cases.append(case)
        boot_file = {0: "pxelinux/pxelinux.0", 7: "uefi/grubx64.efi", 9: "uefi/grubx64.efi",
                     11: "uefi/grubaa64.efi", 16: "http://%s/boot/uefi/grubx64-http.efi" % server}[arch]
        expect[case["id"]] = dict(ip=ip, siaddr=server, file=boot_file, htype=case["htype"], hlen=case["hlen"])
    return cases, expect


def run_clients(ns, cases, retry=4.0, tries=4, deadline=120.0):
    r = subprocess.run(["ip", "netns", "exec", ns.name, sys.executable, os.path.join(HERE, "dhcp_client.py"),
                        "--storm", "--retry", str(retry), "--tries", str(tries), "--deadline", str(deadline)],
                       input=json.dumps(cases), capture_output=True, text=True, timeout=deadline + 60, check=False)
    if r.returncode != 0:
        raise RuntimeError("dhcp_client.py --storm failed:\n" + r.stderr[-4000:])
    out = json.loads(r.stdout)
    return out["stats"], out["results"]


def check(expect, results):
    """(wrong, lost): lists of 'id: what' for every answer that differs, every client without an ACK."""
    wrong, lost = [], []
    for cid, want in expect.items():
        got = results.get(cid) or {}
        if not got.get("ack"):
            lost.append("%s: %s" % (cid, "no OFFER" if not got.get("offer") else "OFFER but no ACK"))
            continue
        for stage in ("offer", "ack"):
            reply = got[stage]
            have = dict(ip=reply["yiaddr"], siaddr=reply["siaddr"], file=reply["file"], htype=reply["htype"],
                        hlen=reply["hlen"])
            if stage == "ack" and reply["message_type"] != 5:
                wrong.append("%s: DHCPNAK" % cid)
            for key, value in want.items():
                if have[key] != value:
                    wrong.append("%s %s: %s %r, expected %r" % (cid, stage, key, have[key], value))
            vendor = reply["options"].get("vendor_class_id")
            if (vendor == "HTTPClient") != want["file"].startswith("http://"):
                wrong.append("%s %s: vendor class %r" % (cid, stage, vendor))
    return wrong, lost
