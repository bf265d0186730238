"""dhcp_server_backend through the real role: auto with faked EL facts, and Kea's refusal of a
directly attached InfiniBand network (the documented cell of the backend table that Kea
cannot serve) with the message that names the network and the fix."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))

PLAY = textwrap.dedent("""\
    - name: Render with a chosen backend
      hosts: bootserver
      gather_facts: false
      vars:
        dhcp_server_clients_group: nodes
        dhcp_server_manage_packages: false
        dhcp_server_manage_service: false
        dhcp_server_config_file: "{{ render_root }}/dhcp.conf"
        dhcp_server_lease_file: "{{ render_root }}/leases"
        dhcp_server_interfaces_file: "{{ render_root }}/isc-dhcp-server"
      roles:
        - fabric.boot.dhcp_server
    """)


def _networks(relay):
    nets = {
        "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1",
                    "dynamic_range": ["192.168.100.200", "192.168.100.230"]},
        "mgmt": {"subnet": "10.99.0.0/24", "boot_server": "10.99.0.1"},
    }
    if relay:
        nets["fabric0"]["relay"] = relay
    return nets


def _run(tmp_path, extra):
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False")
    extra = dict(extra, render_root=str(tmp_path))
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run([playbook, "-i", os.path.join(HERE, "inventory.yml"), str(tmp_path / "play.yml"),
                           "-e", json.dumps(extra)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300, check=False)
    return proc, proc.stdout + proc.stderr


@pytest.mark.parametrize("family,version,relay,want,conf_marker", [
    ("Debian", "12", None, "isc", "ddns-update-style none;"),
    ("RedHat", "9", None, "isc", "ddns-update-style none;"),
    ("RedHat", "10", "192.168.100.254", "kea", '"Dhcp4": {'),
    ("RedHat", "10", None, "dnsmasq", "dhcp-no-override"),
])
def test_auto_with_faked_facts(tmp_path, family, version, relay, want, conf_marker):
    proc, out = _run(tmp_path, {"dhcp_server_os_family": family, "dhcp_server_os_version": version,
                                "fabric_networks": _networks(relay)})
    assert proc.returncode == 0, out[-4000:]
    assert "DHCP backend %s: auto: %s %s" % (want, family, version) in out, out[-4000:]
    # The file was written and passed the chosen daemon's own check (the role's validate:).
    assert conf_marker in (tmp_path / "dhcp.conf").read_text()


def test_kea_refuses_a_directly_attached_ib_network(tmp_path):
    proc, out = _run(tmp_path, {"dhcp_server_os_family": "Debian", "dhcp_server_backend": "kea",
                                "fabric_networks": _networks(None)})
    assert proc.returncode != 0, out[-4000:]
    assert "network fabric0 has InfiniBand/Omni-Path ports but no relay" in out, out[-4000:]
    # Refused where the intent is computed and its daemon chosen, before any package or file
    # is touched.
    assert "and choose its daemon" in out.split("fatal:")[0].rsplit("TASK [", 1)[1], out[-4000:]
    assert not (tmp_path / "dhcp.conf").exists()
