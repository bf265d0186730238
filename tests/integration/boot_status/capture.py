"""Record real boot-server log lines as the unit-test fixtures of plugins/module_utils/boot_log.

Runs the real daemons (ISC dhcpd 4.4, in.tftpd -v -v -v, Apache 2.4, journald and rsyslog) in a
podman systemd container (fbst-logs) cabled into a network namespace of its own (fbst, no route
out), and plays the boots of capture_inventory.yml's nodes against them from a second namespace
(fbstc): DHCP packets shaped like each boot client (tests/integration/dhcp/dhcp_client.py), TFTP
read requests from a small client below (it binds the node's address and can stop early), and
curl for HTTP. Then it copies what the servers logged, in every format boot_log reads, into
tests/unit/plugins/module_utils/boot_log/fixtures/ (README.md there says what each file is).

Run as root from the repository root: python tests/integration/boot_status/capture.py
The container needs its packages from the distribution mirror apt already uses (podman's NAT);
everything the scenario sends stays inside fbst/fbstc. Everything is removed at the end.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(ROOT, "tests", "unit", "plugins", "module_utils", "boot_log", "fixtures")
NETNS_SH = os.path.join(ROOT, "tests", "ci", "netns.sh")
CLIENT = os.path.join(ROOT, "tests", "integration", "dhcp", "dhcp_client.py")
IMAGE = "localhost/debian12-systemd:latest"
CT, NS, CNS = "fbst-logs", "fbst", "fbstc"
SERVER = "192.168.100.2"
FLEX = "ff" + "00000000" + "0002" + "000002c9" + "00"
VENDOR = {0: "PXEClient:Arch:00000:UNDI:002001", 7: "PXEClient:Arch:00007:UNDI:003000",
          16: "HTTPClient:Arch:00016:UNDI:003000"}


def sh(*cmd, check=True, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, check=False, **kw)
    if check and r.returncode:
        raise RuntimeError("%s: %s %s" % (" ".join(cmd), r.stdout[-2000:], r.stderr[-2000:]))
    return r


def ct(script, check=True):
    return sh("podman", "exec", CT, "bash", "-c", script, check=check)


def client(src_mac, htype, hlen, chaddr, client_id=None, arch=None):
    return dict(iface="c0", src_mac=src_mac, htype=htype, hlen=hlen, chaddr=chaddr, client_id=client_id,
                arch=arch, vendor_class=VENDOR.get(arch), timeout=2.0)


def dhcp(*cases):
    for i, c in enumerate(cases):
        c["id"] = str(i)
    r = sh("ip", "netns", "exec", CNS, sys.executable, CLIENT, input=json.dumps(list(cases)))
    return json.loads(r.stdout)


def tftp(src, name, stop_after=None):
    """A TFTP read (RFC 1350, 512-byte blocks) from src; stop_after blocks: abandon the transfer."""
    code = r'''
import socket, struct, sys
src, server, name, stop = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0)); s.settimeout(2)
s.sendto(b"\x00\x01" + name.encode() + b"\x00octet\x00", (server, 69))
got, blocks = 0, 0
while True:
    try:
        data, peer = s.recvfrom(1024)
    except socket.timeout:
        break
    op, blk = struct.unpack("!HH", data[:4])
    if op == 5:
        break
    blocks += 1; got += len(data) - 4
    if stop and blocks >= stop:
        break
    s.sendto(struct.pack("!HH", 4, blk), peer)
    if len(data) < 516:
        break
print(got)
'''
    return sh("ip", "netns", "exec", CNS, sys.executable, "-c", code, src, SERVER, name,
              str(stop_after or 0)).stdout.strip()


def http(src, path, truncate=False, agent="UefiHttpBoot/1.0"):
    cmd = ["ip", "netns", "exec", CNS, "curl", "-s", "-o", "/dev/null", "--interface", src, "-A", agent,
           "http://%s%s" % (SERVER, path)]
    if truncate:
        cmd[6:6] = ["--limit-rate", "500k", "--max-time", "1"]
    return sh(*cmd, check=False).returncode


def setup(render):
    sh("podman", "rm", "-f", "-t", "2", CT, check=False)
    sh("podman", "run", "-d", "--name", CT, "--hostname", "bootsrv", "--cap-add", "NET_ADMIN", "--cap-add",
       "NET_RAW", "--systemd", "always", IMAGE, "/sbin/init")
    for attempt_ in range(60):
        if ct("systemctl is-system-running --wait", check=False).stdout.strip() in ("running", "degraded"):
            break
        time.sleep(1)
    ct("echo exit 101 > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && apt-get update -q && "
       "DEBIAN_FRONTEND=noninteractive apt-get install -y -q isc-dhcp-server tftpd-hpa apache2 rsyslog "
       "&& rm /usr/sbin/policy-rc.d")
    sh(NETNS_SH, "up", NS, CT, SERVER + "/24")
    sh("ip", "netns", "add", CNS)
    sh("ip", "-n", CNS, "link", "set", "lo", "up")
    sh("ip", "link", "add", "fbstc0", "netns", NS, "type", "veth", "peer", "name", "c0", "netns", CNS)
    sh("ip", "-n", NS, "link", "set", "fbstc0", "master", "br0", "up")
    for host in (11, 12, 13, 14):
        sh("ip", "-n", CNS, "addr", "add", "192.168.100.%d/24" % host, "dev", "c0")
    sh("ip", "-n", CNS, "link", "set", "c0", "up")
    assert "default" not in sh("ip", "-n", CNS, "route").stdout
    # TFTP tree of the shared boot layout; HTTP alias /boot of it, as http_server sets up.
    ct("mkdir -p /var/lib/tftpboot/uefi /var/lib/tftpboot/images/rhel95 && cd /var/lib/tftpboot && "
       "head -c 65536 /dev/urandom > uefi/grubx64.efi && cp uefi/grubx64.efi uefi/grubx64-http.efi && "
       "echo 'menuentry default {}' > uefi/grub.cfg && "
       "for m in 01-52-54-00-12-34-56 01-00-02-c9-0c-78-11 01-00-02-c9-0c-78-14; do "
       "echo \"menuentry $m {}\" > uefi/grub.cfg-$m; done && "
       "head -c 1048576 /dev/urandom > images/rhel95/vmlinuz && "
       "head -c 25165824 /dev/urandom > images/rhel95/initrd.img && chmod -R a+rX /var/lib/tftpboot")
    ct("sed -i 's|^TFTP_DIRECTORY=.*|TFTP_DIRECTORY=\"/var/lib/tftpboot\"|; "
       "s|^TFTP_OPTIONS=.*|TFTP_OPTIONS=\"--secure -v -v -v\"|' /etc/default/tftpd-hpa")
    ct("printf 'Alias /boot /var/lib/tftpboot\\n<Directory /var/lib/tftpboot>\\n  Require all granted\\n"
       "</Directory>\\n' > /etc/apache2/conf-enabled/fbst-boot.conf")
    # RHEL's rsyslog writes /var/log/messages in the traditional format; Debian 12's /var/log/syslog
    # is RFC 3339. Both receive what journald forwards.
    ct("echo '*.info /var/log/messages;RSYSLOG_TraditionalFileFormat' > /etc/rsyslog.d/fbst-rhel.conf")
    ct("echo 'INTERFACESv4=\"pxe0\"' > /etc/default/isc-dhcp-server")
    sh("podman", "cp", os.path.join(render, "deny", "dhcpd.conf"), CT + ":/etc/dhcp/dhcpd.conf")
    ct("systemctl restart rsyslog tftpd-hpa apache2 isc-dhcp-server")


def use_config(render, variant):
    sh("podman", "cp", os.path.join(render, variant, "dhcpd.conf"), CT + ":/etc/dhcp/dhcpd.conf")
    ct("systemctl restart isc-dhcp-server")
    time.sleep(1)


GUID1, MAC48_1 = "0002c903000c7811", "0002c90c7811"
GUID4, MAC48_4 = "0002c903000c7814", "0002c90c7814"
GUIDX, MAC48_X = "0002c90300aabbcc", "0002c9aabbcc"   # a port no inventory has
N2, N3, NX = "525400123456", "525400000013", "525400999999"


def mac(h):
    return ":".join(h[i:i + 2] for i in range(0, 12, 2))


def scenario_deny():
    # node002: Ethernet UEFI PXE, TFTP all the way, then the installed OS (iPXE-style 01:mac client-id)
    dhcp(client(mac(N2), 1, 6, N2, arch=7))
    tftp("192.168.100.12", "uefi/grubx64.efi")
    tftp("192.168.100.12", "uefi/grub.cfg-01-52-54-00-12-34-56")
    tftp("192.168.100.12", "images/rhel95/vmlinuz")
    tftp("192.168.100.12", "images/rhel95/initrd.img")
    dhcp(client(mac(N2), 1, 6, N2, client_id="01" + N2))
    # node001: FlexBoot UEFI on IPoIB, GRUB over TFTP, kernel over HTTP; its OS stage sends 20:GUID,
    # a form fabric0 does not reserve
    dhcp(client("02:00:00:00:01:01", 32, 6, MAC48_1, client_id=FLEX + GUID1, arch=7))
    tftp("192.168.100.11", "uefi/grubx64.efi")
    tftp("192.168.100.11", "uefi/grub.cfg-01-00-02-c9-0c-78-11")
    http("192.168.100.11", "/boot/images/rhel95/vmlinuz", agent="GRUB 2.06")
    http("192.168.100.11", "/boot/images/rhel95/initrd.img", agent="GRUB 2.06")
    dhcp(client("02:00:00:00:01:03", 32, 8, GUID1, client_id="20" + GUID1))
    # node003: its per-node menu is missing (GRUB falls back to the default), initrd cut short
    dhcp(client(mac(N3), 1, 6, N3, arch=7))
    tftp("192.168.100.13", "uefi/grubx64.efi")
    tftp("192.168.100.13", "uefi/grub.cfg-01-52-54-00-00-00-13")
    tftp("192.168.100.13", "uefi/grub.cfg-C0A8640D")
    tftp("192.168.100.13", "uefi/grub.cfg")
    http("192.168.100.13", "/boot/images/rhel95/vmlinuz", agent="GRUB 2.06")
    http("192.168.100.13", "/boot/images/rhel95/initrd.img", truncate=True, agent="GRUB 2.06")
    # node004: upstream iPXE on IPoIB (01:mac48), UEFI HTTP boot; stops after the initrd
    dhcp(client(mac(MAC48_4), 1, 6, MAC48_4, client_id="01" + MAC48_4, arch=16))
    http("192.168.100.14", "/boot/uefi/grubx64-http.efi")
    http("192.168.100.14", "/boot/uefi/grub.cfg-01-00-02-c9-0c-78-14", agent="GRUB 2.06")
    http("192.168.100.14", "/boot/images/rhel95/vmlinuz", agent="GRUB 2.06")
    http("192.168.100.14", "/boot/images/rhel95/initrd.img", agent="GRUB 2.06")
    # strangers, refused (deny unknown-clients)
    dhcp(client(mac(NX), 1, 6, NX, arch=7),
         client("02:00:00:00:02:01", 32, 6, MAC48_X, client_id=FLEX + GUIDX, arch=7),
         client(mac(MAC48_X), 1, 6, MAC48_X, client_id="01" + MAC48_X, arch=0))


def scenario_allow():
    # unknown clients answered from the dynamic range; node001's OS form too (the collision)
    dhcp(client(mac(NX), 1, 6, NX, arch=7),
         client("02:00:00:00:02:01", 32, 6, MAC48_X, client_id=FLEX + GUIDX, arch=7),
         client("02:00:00:00:02:03", 32, 8, GUIDX, client_id="20" + GUIDX),
         client("02:00:00:00:01:03", 32, 8, GUID1, client_id="20" + GUID1))
    # the stranger's loader request, from the address it was given (added only now: dhcpd pings an
    # address before it offers it, and would abandon one that answers)
    sh("ip", "-n", CNS, "addr", "add", "192.168.100.200/24", "dev", "c0")
    tftp("192.168.100.200", "uefi/grubx64.efi")


def collect(out):
    ids = "-t dhcpd -t in.tftpd"
    files = {
        "journal-short-iso.log": "journalctl --no-pager %s -o short-iso" % ids,
        "journal-short-iso-precise.log": "journalctl --no-pager %s -o short-iso-precise" % ids,
        "journal-short.log": "journalctl --no-pager %s -o short" % ids,
        "journal.json": "journalctl --no-pager %s -o json" % ids,
        "debian-syslog.log": "grep -E ' (dhcpd|in.tftpd)\\[' /var/log/syslog",
        "rsyslog-traditional-messages.log": "grep -E ' (dhcpd|in.tftpd)\\[' /var/log/messages",
        "apache-access.log": "cat /var/log/apache2/access.log",
        "tftp-tree.txt": "cd /var/lib/tftpboot && find . -type f -printf '%P %s\\n' | sort",
    }
    for name, cmd in files.items():
        text = ct(cmd).stdout
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
        print("%-36s %5d lines" % (name, text.count("\n")))


def main():
    if os.geteuid() != 0:
        sys.exit("capture.py needs root (podman, network namespaces)")
    render = tempfile.mkdtemp(prefix="fbst-render-", dir=os.path.join(ROOT, "build"))
    try:
        for variant in ("deny", "allow"):
            os.mkdir(os.path.join(render, variant))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
                   ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_NOCOLOR="1")
        sh(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
           os.path.join(HERE, "capture_inventory.yml"), os.path.join(HERE, "capture_render.yml"),
           "-e", "render_root=%s" % render, env=env, cwd=ROOT)
        setup(render)
        scenario_deny()
        use_config(render, "allow")
        scenario_allow()
        time.sleep(2)      # rsyslog writes asynchronously
        collect(sys.argv[1] if len(sys.argv) > 1 else FIXTURES)
    finally:
        sh("ip", "netns", "del", CNS, check=False)
        sh(NETNS_SH, "down", NS, check=False)
        # a removal can fail while systemd in the container is still stopping: try until it is gone
        for attempt_ in range(5):
            sh("podman", "rm", "-f", "-t", "2", CT, check=False)
            if sh("podman", "container", "exists", CT, check=False).returncode != 0:
                break
            time.sleep(2)
        sh("rm", "-rf", render, check=False)


if __name__ == "__main__":
    main()
