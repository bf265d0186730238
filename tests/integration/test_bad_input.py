"""Bad input through a real ansible-playbook run of a site-like play: validate_inventory comes
first, a following play would touch the boot server. For each careless-admin inventory the run
fails once, the message names host, field and value exactly, and the boot server is never
touched; one combined inventory lists every problem in a single error. A good inventory passes
and does touch the server (so the marker check can fail)."""
import copy
import json
import os
import subprocess
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PLAY = textwrap.dedent("""\
    - name: Validate the fabric inventory before anything changes
      hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Check every network, node interface and image in one pass
          fabric.boot.validate_inventory:
          run_once: true
          register: fabric_model

    - name: Configure the boot servers
      hosts: boot_servers
      gather_facts: false
      tasks:
        - name: Touch the boot server (must never run on a bad inventory)
          ansible.builtin.copy:
            dest: "{{ marker }}"
            content: "{{ hostvars['localhost']['fabric_model']['fabric_nodes'] | to_json }}"
            mode: "0644"
    """)

BASE = {
    "all": {
        "vars": {
            "fabric_networks": {
                "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1",
                            "domain_name": "cluster.example", "boot_image": "rhel95", "mtu": 2044},
                "mgmt": {"subnet": "10.0.0.0/24", "boot_server": "10.0.0.1", "client_id_forms": []},
            },
            "fabric_boot_images": {
                "rhel95": {"title": "RHEL 9.5 \"netinstall\" (it's)", "kernel": "images/rhel95/vmlinuz",
                           "initrd": "images/rhel95/initrd.img", "repo": "ISO/RHEL95",
                           "kernel_args": ["inst.ks=http://192.168.100.1/ks.cfg?host=$x&y=1"]},
            },
            "http_server_isos": [{"name": "RHEL95", "src": "/srv/iso/rhel95.iso"}],
        },
        "children": {
            "boot_servers": {"hosts": {"bootsrv": {"ansible_connection": "local",
                                                   "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
            "compute": {"hosts": {
                "cn1": {"fabric_interfaces": [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811",
                                               "ipv4": "192.168.100.11", "network": "fabric0"}]},
                "cn2": {"fabric_interfaces": [{"name": "eno1", "type": "ethernet", "mac": "52:54:00:12:34:02",
                                               "ipv4": "10.0.0.12", "network": "mgmt"}]},
            }},
        },
    },
}


def _vars(inv):
    return inv["all"]["vars"]


def _host(inv, name):
    return inv["all"]["children"]["compute"]["hosts"].setdefault(name, {})


def overlapping_subnets(inv):
    _vars(inv)["fabric_networks"]["wide"] = {"subnet": "192.168.0.0/16", "boot_server": "192.168.0.1"}


def kernel_path_escapes(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["kernel"] = "images/../../../etc/cron.d/evil"


def initrd_path_has_a_space(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["initrd"] = "images/rhel95/initrd.img KERNEL ::/evil"


def repo_path_escapes(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["repo"] = "../../etc"


def domain_name_injects(inv):
    _vars(inv)["fabric_networks"]["fabric0"]["domain_name"] = 'cluster.example"; deny booting; #'


def title_adds_a_label(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["title"] = "RHEL\nLABEL evil\n  KERNEL ::/evil"


def brace_in_kernel_args(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["kernel_args"] = ["quiet", "rd.break}"]


def newline_in_kernel_args(inv):
    _vars(inv)["fabric_boot_images"]["rhel95"]["kernel_args"][0] = "quiet\ninitrd ::/evil"


def network_mtu_too_big(inv):
    _vars(inv)["fabric_networks"]["fabric0"]["mtu"] = 65521


def deny_unknown_clients_quoted(inv):
    # YAML's "yes" in quotes is a string, not the boolean the admin meant: refused, not guessed.
    _vars(inv)["fabric_networks"]["fabric0"]["deny_unknown_clients"] = "yes"


def interface_mtu_datagram(inv):
    _host(inv, "cn1")["fabric_interfaces"][0].update(mtu=9000, transport_mode="datagram")


def bad_pkey(inv):
    _host(inv, "cn1")["fabric_interfaces"][0]["pkeys"] = [{"pkey": "0x8000", "network": "fabric0"}]


def names_collide(inv):
    _host(inv, "cn3")["fabric_interfaces"] = [{"name": "ib-a", "type": "infiniband", "port_guid": "0x0002c903000c7813",
                                               "ipv4": "192.168.100.13", "network": "fabric0"}]
    _host(inv, "cn3-ib")["fabric_interfaces"] = [{"name": "a", "type": "infiniband", "port_guid": "0x0002c903000c7814",
                                                  "ipv4": "192.168.100.14", "network": "fabric0"}]


def iso_name_dotdot(inv):
    _vars(inv)["http_server_isos"][0]["name"] = ".."


CASES = [
    (overlapping_subnets, ["fabric_networks.fabric0.subnet: 192.168.100.0/24 overlaps fabric_networks.wide.subnet "
                           "192.168.0.0/16; dhcpd would refuse to start (\"matches multiple shared networks\")"]),
    (kernel_path_escapes, ["fabric_boot_images.rhel95.kernel: 'images/../../../etc/cron.d/evil' has an empty, '.' or "
                           "'..' component; paths stay below the served root (write images/rhel95/vmlinuz, not ../ or //)"]),
    (initrd_path_has_a_space, ["fabric_boot_images.rhel95.initrd: 'images/rhel95/initrd.img KERNEL ::/evil' has a "
                               "component 'initrd.img KERNEL ::' outside A-Z a-z 0-9 and . _ + , = @ ~ - (it is written "
                               "unquoted into pxelinux and GRUB menus)"]),
    (repo_path_escapes, ["fabric_boot_images.rhel95.repo: '../../etc' has an empty, '.' or '..' component; paths stay "
                         "below the served root (write images/rhel95/vmlinuz, not ../ or //)"]),
    (domain_name_injects, ["fabric_networks.fabric0.domain_name: 'cluster.example\"; deny booting; #' is not a DNS name "
                           "(dot-separated labels of letters, digits and inner hyphens, at most 253 characters)"]),
    (title_adds_a_label, ["fabric_boot_images.rhel95.title: 'RHEL\\nLABEL evil\\n  KERNEL ::/evil' contains a line "
                          "break or control character; it must stay on one line of the generated file"]),
    (brace_in_kernel_args, ["fabric_boot_images.rhel95.kernel_args[1]: 'rd.break}' contains }, which the kernel, GRUB "
                            "or pxelinux would read as syntax (forbidden: \" \\ ` ; { } < > | #)"]),
    (newline_in_kernel_args, ["fabric_boot_images.rhel95.kernel_args[0]: 'quiet\\ninitrd ::/evil' contains white space "
                              "or a line break; give each kernel argument as its own list item"]),
    (network_mtu_too_big, ["fabric_networks.fabric0.mtu: 65521 is outside 576-65520"]),
    (deny_unknown_clients_quoted, ["fabric_networks.fabric0.deny_unknown_clients: must be true or false, got 'yes'"]),
    (interface_mtu_datagram, ["cn1: fabric_interfaces (ib0).mtu: 9000 is larger than InfiniBand datagram mode allows "
                              "(4092 on a 4K-MTU fabric, 2044 on 2K); use transport_mode: connected for a larger MTU"]),
    (bad_pkey, ["cn1: fabric_interfaces (ib0).pkeys[0].pkey: '0x8000' is not a usable P_Key (NetworkManager refuses "
                "0 and 0x8000)"]),
    (names_collide, ["DHCP host name cn3-ib-a-%s is made by cn3:ib-a, cn3-ib:a (host-interface-form, other characters "
                     "as _); rename one interface or host" % form for form in ("flexboot", "htype32", "ipxe")]),
    (iso_name_dotdot, ["http_server_isos[0].name: '..' is not a plain name (1-64 of A-Z a-z 0-9 _ . -, not starting "
                       "with a dot): it becomes a directory or file name, so '.', '..' or a slash would act outside "
                       "the served tree"]),
]


def run_site(tmp_path, inventory):
    (tmp_path / "play.yml").write_text(PLAY)
    (tmp_path / "hosts.yml").write_text(json.dumps(inventory))
    marker = tmp_path / "touched.json"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml"),
                           "-e", "marker=%s" % marker], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=300, check=False)
    return proc, marker


def failed_message(proc):
    result = json.loads(proc.stdout)
    assert len(result["plays"]) == 1, "a play after the validation started"
    failed = [t for t in result["plays"][0]["tasks"] if t["hosts"]["localhost"].get("failed")]
    assert [t["task"]["name"] for t in failed] == ["Check every network, node interface and image in one pass"]
    return failed[0]["hosts"]["localhost"]


def test_good_inventory_passes_and_touches_the_server(tmp_path):
    proc, marker = run_site(tmp_path, BASE)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(json.loads(marker.read_text())) == ["cn1", "cn2"]


@pytest.mark.parametrize("mutate,expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_inventory_one_error_nothing_touched(tmp_path, mutate, expected):
    inv = copy.deepcopy(BASE)
    mutate(inv)
    proc, marker = run_site(tmp_path, inv)
    assert proc.returncode != 0
    assert not marker.exists(), "the boot server was touched"
    host = failed_message(proc)
    assert host["problems"] == expected
    assert host["msg"] == "\n".join(["fabric inventory has %d problem(s), nothing was changed:" % len(expected)]
                                    + ["  - %s" % p for p in expected])


def test_combined_inventory_lists_every_problem_in_one_error(tmp_path):
    inv = copy.deepcopy(BASE)
    expected = []
    for mutate, lines in CASES:
        mutate(inv)
        expected.extend(lines)
    proc, marker = run_site(tmp_path, inv)
    assert proc.returncode != 0
    assert not marker.exists(), "the boot server was touched"
    host = failed_message(proc)
    assert sorted(host["problems"]) == sorted(expected)
    assert host["msg"].startswith("fabric inventory has %d problem(s), nothing was changed:\n" % len(expected))
