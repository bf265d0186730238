#!/usr/bin/env python3
"""boot_loader's menu tasks before and after one-call rendering, on the same nodes.

Runs the role's own model/layout/menus tasks (local connection, a scratch TFTP root, the
Debian variables, grub-script-check live) from this checkout and from an earlier git ref
(default: the commit before fabric.boot.file_set, where every menu file was one loop item of a
template task), for --nodes InfiniBand nodes, first run and no-change run. Prints a Markdown
table; converge_scale.py's section of docs/performance.md quotes it.

Usage: benchmarks/menus_before_after.py [--nodes 100 400] [--before 47f6811]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{python}"
    ansible_facts: {{os_family: Debian, distribution: Debian}}
    boot_loader_tftp_root: "{root}"
    boot_loader_grub_script_check: "{check}"
    boot_loader_timeout: 0
    fabric_networks:
      fabric0: {{subnet: 172.16.0.0/16, boot_server: 172.16.0.1, boot_image: rhel95}}
    fabric_boot_images:
      rhel95: {{kernel: images/rhel95/vmlinuz, initrd: images/rhel95/initrd.img, repo: ISO/RHEL95}}
    fabric_nodes:
{nodes}
  tasks:
    - name: Compose, lay out and write the menus
      ansible.builtin.include_role:
        name: fabric.boot.boot_loader
        tasks_from: "{{{{ item }}}}"
        vars_from: Debian.yml
      loop: [model.yml, layout.yml, menus.yml]
"""


def nodes_yaml(n):
    return "\n".join(
        "      ib%05d:\n        - {name: ib0, type: infiniband, port_guid: \"0x0002c90300%06x\", "
        "ipv4: 172.16.%d.%d, network: fabric0}" % (i, i, 1 + i // 250, 2 + i % 250) for i in range(n))


def run(collections, play):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_NOCOLOR="1")
    start = time.monotonic()
    r = subprocess.run(["ansible-playbook", play], capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        raise SystemExit(r.stdout[-3000:] + r.stderr[-2000:])
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[100, 400])
    ap.add_argument("--before", default="47f6811")
    args = ap.parse_args()
    check = shutil.which("grub-script-check")
    work = tempfile.mkdtemp(prefix="fbsc-menus-")
    try:
        old = os.path.join(work, "before", "ansible_collections", "fabric", "boot")
        os.makedirs(old)
        archive = subprocess.run(["git", "-C", ROOT, "archive", args.before], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        sources = (("before (%s)" % args.before, os.path.join(work, "before")),
                   ("after (this checkout)", os.path.join(ROOT, "build", "collections")))
        print("| role | nodes | menu files | first s | no-change s | load avg |\n|---|---:|---:|---:|---:|---|")
        for n in args.nodes:
            for label, coll in sources:
                root = os.path.join(work, "tftp-%d-%s" % (n, label.split()[0]))
                play = os.path.join(work, "play.yml")
                with open(play, "w") as f:
                    f.write(PLAY.format(python=sys.executable, root=root, check=check, nodes=nodes_yaml(n)))
                first = run(coll, play)
                again = run(coll, play)
                files = sum(len(fs) for _d, _s, fs in os.walk(root))
                print("| %s | %d | %d | %.1f | %.1f | %.1f |" % (label, n, files, first, again, os.getloadavg()[0]),
                      flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
