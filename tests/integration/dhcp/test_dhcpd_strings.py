"""Strings reach dhcpd.conf as data: the real dhcp_server role renders an include path that
holds a quote, a semicolon and a hash, and dhcpd -t (run by the role's validate: and again
here) opens exactly that file, which exists only under that name: had the quote ended the
string, dhcpd would have read 'deny booting' as a statement and failed to find the file."""
import json
import os
import shutil
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
HOSTILE_DIR = 'inc "x"; deny booting; # \\ end'

PLAY = textwrap.dedent("""\
    - name: Render dhcpd.conf with a hostile but legal include path
      hosts: bootserver
      gather_facts: false
      vars:
        dhcp_server_clients_group: nodes
        dhcp_server_manage_packages: false
        dhcp_server_manage_service: false
        dhcp_server_os_family: Debian
        dhcp_server_config_file: "{{ render_root }}/dhcpd.conf"
        dhcp_server_interfaces_file: "{{ render_root }}/isc-dhcp-server"
        dhcp_server_interfaces: [br0]
        dhcp_server_send_host_name: true
        dhcp_server_include_files: ["{{ include_file }}"]
      roles:
        - fabric.boot.dhcp_server
    """)


def test_include_path_with_quote_semicolon_and_hash_is_one_string(tmp_path):
    dhcpd = shutil.which("dhcpd") or "/usr/sbin/dhcpd"
    assert os.path.exists(dhcpd), "dhcpd (isc-dhcp-server) is not installed"
    include_dir = tmp_path / HOSTILE_DIR
    include_dir.mkdir()
    include_file = include_dir / "hosts.conf"
    include_file.write_text("# hand-written\nhost extra { hardware ethernet 52:54:00:99:99:99; }\n")
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False")
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", os.path.join(HERE, "inventory.yml"), str(tmp_path / "play.yml"),
                           "-e", json.dumps({"render_root": str(tmp_path), "include_file": str(include_file)})],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    conf = (tmp_path / "dhcpd.conf").read_text()
    escaped = str(include_file).replace("\\", "\\\\").replace('"', '\\"')
    assert 'include "%s";\n' % escaped in conf
    assert 'option domain-name "cluster.test";' in conf
    assert 'option host-name "node001";' in conf
    check = subprocess.run([dhcpd, "-t", "-4", "-cf", str(tmp_path / "dhcpd.conf")], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    # Break the escaping on purpose: the same path unescaped must be refused, or this test proves nothing.
    broken = tmp_path / "broken.conf"
    broken.write_text(conf.replace('include "%s";' % escaped, 'include "%s";' % include_file))
    bad = subprocess.run([dhcpd, "-t", "-4", "-cf", str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode != 0, bad.stdout + bad.stderr
