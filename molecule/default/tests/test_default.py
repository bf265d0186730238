"""The pattern works: systemd is PID 1, a service runs, a .socket unit answers a real client."""
import subprocess

import testinfra


def test_systemd_is_pid1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_plain_service_runs(host):
    svc = host.service("fb-hello.service")
    assert svc.is_enabled and svc.is_running


def test_socket_listens(host):
    assert host.run("systemctl is-active fb-echo.socket").stdout.strip() == "active"
    assert host.socket("udp://0.0.0.0:7007").is_listening


def test_socket_activation_answers_from_the_namespace():
    """A real datagram from the isolated namespace starts the service, which echoes it back."""
    local = testinfra.get_host("local://")
    script = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10); "
              "s.sendto(b'fabric-boot-ping', ('192.168.100.2', 7007)); print(s.recvfrom(100)[0].decode())")
    out = local.run("ip netns exec fbpattern python3 -c %s" % subprocess.list2cmdline([script]))
    assert out.rc == 0, out.stderr
    assert out.stdout.strip() == "fabric-boot-ping"


def test_namespace_has_no_route_out():
    local = testinfra.get_host("local://")
    assert local.run("ip -n fbpattern route show default").stdout.strip() == ""
