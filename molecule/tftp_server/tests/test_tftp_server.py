"""Verify fabric.boot.tftp_server in fb-tftp, with real TFTP clients in netns fbtftp."""

import pytest
import testinfra

NETNS = "fbtftp"
SERVER = "192.168.100.2"
OTHER = "10.99.0.2"      # on pxe0 too, but no network's boot_server: must not answer TFTP
UNBOUND = "10.98.0.2"    # fabric1's boot_server, on no interface: bound anyway (FreeBind)
ROOT = "/var/lib/tftpboot"
LOCAL = testinfra.get_host("local://")


def netns(cmd):
    return LOCAL.run("ip netns exec %s %s" % (NETNS, cmd))


def test_package(host):
    assert host.package("tftpd-hpa").is_installed


def test_units_are_ours_and_verify(host):
    sock = host.file("/etc/systemd/system/tftp.socket").content_string
    svc = host.file("/etc/systemd/system/tftp.service").content_string
    assert "ListenDatagram=%s:69" % SERVER in sock
    assert "FreeBind=true" in sock
    assert "StandardInput=socket" in svc
    exec_line = [line for line in svc.splitlines() if line.startswith("ExecStart=")][0]
    assert exec_line.split()[0] == "ExecStart=/usr/sbin/in.tftpd"
    assert " -s " in exec_line and exec_line.endswith(ROOT)
    assert " -c" not in exec_line  # read-only by default
    r = host.run("cd /etc/systemd/system && systemd-analyze verify --man=no tftp.socket tftp.service")
    assert r.rc == 0, r.stderr


def test_one_pair_per_boot_server_address(host):
    """fabric0's address on tftp.socket, fabric1's on tftp-2.socket; nothing else on port 69."""
    second = host.file("/etc/systemd/system/tftp-2.socket").content_string
    assert "ListenDatagram=%s:69" % UNBOUND in second and "FreeBind=true" in second
    assert "Requires=tftp-2.socket" in host.file("/etc/systemd/system/tftp-2.service").content_string
    for unit in ("tftp.socket", "tftp-2.socket"):
        assert host.service(unit).is_enabled
        assert host.run("systemctl is-active %s" % unit).stdout.strip() == "active"
    out = host.run("ss -Hulnp 'sport = :69'").stdout.strip().splitlines()
    local = sorted(line.split()[3] for line in out)
    assert local == sorted(["%s:69" % SERVER, "%s:69" % UNBOUND]), out
    assert all("systemd" in line for line in out), out  # held by PID 1 for the socket units


def test_distro_daemon_masked(host):
    r = host.run("systemctl is-enabled tftpd-hpa.service")
    assert r.stdout.strip() == "masked", r
    assert host.run("systemctl is-active tftpd-hpa.service").stdout.strip() != "active"


@pytest.mark.parametrize("d", ["", "uefi", "pxelinux", "pxelinux/pxelinux.cfg", "grub", "images"])
def test_layout(host, d):
    f = host.file("%s/%s" % (ROOT, d))
    assert f.is_directory
    assert f.mode == 0o755
    assert f.user == "root"


def test_private_file_stays_private(host):
    """The role no longer chmods the tree: what prepare.yml made 0600 is still 0600."""
    assert host.file(ROOT + "/uefi/hello.txt").mode == 0o600


def test_private_file_is_refused(tmp_path):
    out = tmp_path / "hello.txt"
    r = netns("tftp -m binary %s -c get /uefi/hello.txt %s" % (SERVER, out))
    # in.tftpd answers with a TFTP error packet ("Error code 0: Permission denied"), not the file.
    assert "Permission denied" in r.stdout + r.stderr, r
    assert not out.exists() or out.read_text() == "", r


def test_tftp_get_from_netns():
    r = netns("curl -sS --max-time 10 tftp://%s/uefi/public.txt" % SERVER)
    assert r.rc == 0, r
    assert r.stdout == "fabric.boot tftp test\n"


def test_tftp_get_with_tftp_hpa_client(tmp_path):
    out = tmp_path / "public.txt"
    r = netns("tftp -m binary %s -c get /uefi/public.txt %s" % (SERVER, out))
    assert out.read_text() == "fabric.boot tftp test\n", r


def test_read_requests_are_logged(host):
    """tftp_server_log_requests (default): each RRQ is in the journal, as boot_status reads it."""
    netns("curl -sS --max-time 10 tftp://%s/uefi/public.txt" % SERVER)
    out = host.check_output("journalctl -t in.tftpd --no-pager -o cat")
    assert "RRQ from " in out and "uefi/public.txt" in out, out


def test_no_tftp_on_other_addresses(host):
    """10.99.0.2 is the instance's too, but no boot address: no answer (old default: served)."""
    assert "inet %s/24" % OTHER in host.check_output("ip -4 addr show pxe0")
    r = netns("curl -sS --max-time 6 tftp://%s/uefi/public.txt" % OTHER)
    assert r.rc not in (0, 68, 69), r  # neither the file nor a TFTP error packet: nothing listens
    assert "fabric.boot tftp test" not in r.stdout
