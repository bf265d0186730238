"""The lab inventory's committed ssh connection is the one fabric_lab.container_ssh gives the fault
test and the benchmarks (one connection, spelled twice: YAML for users, Python for the tools)."""
import os
import sys

import jinja2
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from fabric_lab import container_ssh  # noqa: E402


def lab_server_vars(container):
    inv = os.path.join(ROOT, "lab", "inventory")
    with open(os.path.join(inv, "hosts.yml")) as f:
        merged = dict(yaml.safe_load(f)["all"]["children"]["boot_servers"]["hosts"]["fblab-server"])
    with open(os.path.join(inv, "host_vars", "fblab-server.yml")) as f:
        merged.update(yaml.safe_load(f))
    merged["ansible_host"] = container
    return {k: jinja2.Template(v).render(ansible_host=container) if isinstance(v, str) else v
            for k, v in merged.items() if k.startswith("ansible_")}


def test_lab_inventory_uses_the_helpers_connection():
    want = container_ssh.connection_vars("fblab-server")
    got = lab_server_vars("fblab-server")
    assert {k: got.get(k) for k in want} == want


def test_key_lives_per_container_outside_tmp():
    # /tmp is compared before and after CI (tests/ci/leftovers.sh): the key never goes there
    assert container_ssh.key_path("fbx-server") == "/var/tmp/fbx-server-ssh/id_ed25519"
    assert "fbx-server" in container_ssh.proxy_command("fbx-server")
