"""Verify fabric.boot.tftp_server in fb-tftp, with real TFTP clients in netns fbtftp."""
import uuid

import pytest
import testinfra

NETNS = "fbtftp"
SERVER = "192.168.100.2"
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


def test_socket_is_the_only_listener_on_69(host):
    assert host.service("tftp.socket").is_enabled
    assert host.run("systemctl is-active tftp.socket").stdout.strip() == "active"
    assert host.socket("udp://%s:69" % SERVER).is_listening
    out = host.run("ss -Hulnp 'sport = :69'").stdout.strip().splitlines()
    assert len(out) == 1, out
    assert "systemd" in out[0], out  # held by PID 1 for the socket unit


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


def test_private_file_was_made_world_readable(host):
    assert host.file(ROOT + "/uefi/hello.txt").mode & 0o004


def test_tftp_get_from_netns():
    r = netns("curl -sS --max-time 10 tftp://%s/uefi/hello.txt" % SERVER)
    assert r.rc == 0, r
    assert r.stdout == "fabric.boot tftp test\n"


def test_tftp_get_with_tftp_hpa_client(tmp_path):
    out = tmp_path / "hello.txt"
    r = netns("tftp -m binary %s -c get /uefi/hello.txt %s" % (SERVER, out))
    assert out.read_text() == "fabric.boot tftp test\n", r


def test_tftp_get_outside_root_fails():
    r = netns("curl -sS --max-time 10 -o /dev/null tftp://%s/etc/passwd" % SERVER)
    assert r.rc == 68, r  # CURLE_TFTP_NOTFOUND: /etc/passwd does not exist inside the chroot


def test_tftp_put_refused(host, tmp_path):
    """incoming/ is mode 1777 (prepare.yml): the refusal must come from in.tftpd (no -c)."""
    assert host.file(ROOT + "/incoming").mode == 0o1777
    name = "put-%s.txt" % uuid.uuid4().hex[:8]
    src = tmp_path / name
    src.write_text("should not land\n")
    r = netns("curl -v --max-time 10 -T %s tftp://%s/incoming/%s" % (src, SERVER, name))
    # The server answered with a TFTP error packet (68 not found / 69 access violation),
    # not a timeout (28) or an unreachable port.
    assert r.rc in (68, 69), r
    assert "TFTP error" in r.stderr, r.stderr
    assert not host.file("%s/incoming/%s" % (ROOT, name)).exists
