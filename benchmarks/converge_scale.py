#!/usr/bin/env python3
"""dhcp_server + boot_loader (per-node menus) converging 1,000 / 5,000 / 10,000 nodes.

One podman systemd boot-server container (localhost/debian12-systemd:latest, name fbsc-boot)
with an interface pxe0 on the fabric subnet, inside a network namespace of our own (no route
out; tests/ci/netns.sh). For each N a node table (fabric.boot.node_table) of N InfiniBand nodes
(3 client-id forms each: 3N host blocks), N/50 Omni-Path and N/20 Ethernet nodes, and per round:
  first     configuration and menus removed, dhcpd stopped (packages stay installed: apt is
            not what is measured), then the play;
  no-change the same play again (must report changed=0);
  one-node  one node's IPv4 address changed in the table (dhcpd.conf, two menus, dhcpd restart);
then `dhcpd -t` on the generated file and dhcpd's start-up time (foreground, until
"Server starting service"). A profiled run (profile_tasks) and an in-process profile of the
filters say where the time goes. Results: docs/performance.md (converge markers) and
docs/performance-converge.png (with --plot, needs matplotlib: benchmarks/requirements.txt).

Usage (root): benchmarks/converge_scale.py [--nodes 1000 5000 10000] [--runs 3] [--write docs/performance.md]
"""
import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "dhcp"))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from perfdoc import replace_section  # noqa: E402
import storm  # noqa: E402  (the node table generator shared with the DHCP storm)
from fabric_lab import container_ssh  # noqa: E402

CONTAINER = "fbsc-boot"
NETNS = "fbsc-conv"
IMAGE = "localhost/debian12-systemd:latest"
SERVER_IP = storm.FABRIC_SERVER

PLAY = """---
- name: Validate the fabric inventory before anything changes
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Check every network, node interface and image in one pass
      fabric.boot.validate_inventory:
        hosts: "{{ groups['compute'] }}"
        json_text: true
      run_once: true
      register: fabric_model

- name: Configure the boot server
  hosts: %(container)s
  gather_facts: true
  vars:
    fabric_nodes: "{{ hostvars['localhost']['fabric_model']['fabric_nodes'] }}"
    dhcp_server_interfaces: [pxe0]
    boot_loader_timeout: 3
  roles:
    - role: fabric.boot.dhcp_server
    - role: fabric.boot.boot_loader
""" % {"container": CONTAINER}

# The same two plays with only dhcp_server: the figure to set beside other stacks' DHCP roles.
PLAY_DHCP = PLAY.replace("    - role: fabric.boot.boot_loader\n", "")

# ansible-core's floor: the same inventory (N nodes loaded and parsed) and as many trivial
# tasks on the container as the no-change run ran there (%(tasks)d), over the same podman
# connection. What the real no-change run costs above this is the collection's work.
PLAY_FLOOR = """---
- name: Load the same inventory, run trivial tasks on the boot server
  hosts: %(container)s
  gather_facts: false
  tasks:
%(tasks)s
"""
FLOOR_TASK = """    - name: Trivial task %d
      ansible.builtin.command: /bin/true
      changed_when: false
"""

RESET = ("systemctl stop isc-dhcp-server 2>/dev/null; rm -rf /etc/dhcp/dhcpd.conf /var/lib/tftpboot/uefi "
         "/var/lib/tftpboot/grub /var/lib/tftpboot/pxelinux /var/lib/fabric-boot; true")


def sh(cmd, **kw):
    kw.setdefault("check", True)
    # check is set just above (callers may pass check=False).
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # pylint: disable=subprocess-run-check


def loadavg():
    return os.getloadavg()[0]


# How the controller reaches the boot server. "ssh" is what a site uses: OpenSSH with ansible's
# ControlPersist master and pipelining, one module run per task, through sshd on podman exec's
# stdin (fabric_lab.container_ssh, shared with the lab and the fault test). "podman" is
# containers.podman's connection, which cannot pipeline (has_pipelining = False): each task is
# six podman calls (mount, home, mkdir, put, run, rm), about 0.6 s above ssh.
def write_inventory(d, n, changed=None, connection="ssh"):
    plugin = storm.write_inventory(d, n, changed)
    host = (container_ssh.connection_vars(CONTAINER) if connection == "ssh"
            else {"ansible_connection": "podman", "ansible_python_interpreter": "/usr/bin/python3"})
    with open(os.path.join(d, "server.yml"), "w") as f:
        json.dump({"all": {"hosts": {CONTAINER: host}}}, f)    # JSON is YAML
    return [plugin, os.path.join(d, "server.yml")]


def run_play(env, inventory, play, profile=True):
    cmd = ["ansible-playbook"]
    for i in inventory:
        cmd += ["-i", i]
    cmd.append(play)
    e = dict(env)
    if profile:
        e["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        e["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
    start = time.monotonic()
    p = subprocess.run(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit("play failed (%d):\n%s\n%s" % (p.returncode, p.stdout[-5000:], p.stderr[-3000:]))
    m = re.search(r"%s\s*:\s*ok=(\d+)\s+changed=(\d+)" % CONTAINER, p.stdout)
    return elapsed, int(m.group(2)), p.stdout, int(m.group(1))


def container_up():
    sh(["podman", "rm", "-f", CONTAINER], check=False)
    sh(["podman", "run", "-d", "--name", CONTAINER, "--systemd=always", "--cap-add", "NET_ADMIN,NET_RAW",
        IMAGE, "/sbin/init"])
    sh(["bash", os.path.join(ROOT, "tests", "ci", "netns.sh"), "up", NETNS, CONTAINER, SERVER_IP + "/16"])
    sh(["podman", "exec", CONTAINER, "systemctl", "is-system-running", "--wait"], check=False)


def container_down():
    sh(["podman", "rm", "-f", "-t", "2", CONTAINER], check=False)
    container_ssh.forget(CONTAINER)
    sh(["bash", os.path.join(ROOT, "tests", "ci", "netns.sh"), "down", NETNS], check=False)


def dhcpd_figures():
    """(dhcpd -t seconds, dhcpd start-up seconds, host blocks) on the live /etc/dhcp/dhcpd.conf."""
    blocks = int(sh(["podman", "exec", CONTAINER, "grep", "-c", "^host ", "/etc/dhcp/dhcpd.conf"]).stdout)
    start = time.monotonic()
    sh(["podman", "exec", CONTAINER, "dhcpd", "-t", "-q", "-cf", "/etc/dhcp/dhcpd.conf"])
    check = time.monotonic() - start
    script = ("systemctl stop isc-dhcp-server; : > /tmp/fbsc.leases; s=$(date +%s.%N); "
              "dhcpd -4 -f -d -cf /etc/dhcp/dhcpd.conf -lf /tmp/fbsc.leases -pf /tmp/fbsc.pid pxe0 "
              "> /tmp/fbsc.log 2>&1 & p=$!; "
              "while ! grep -q 'Server starting service' /tmp/fbsc.log; do kill -0 $p || exit 1; sleep 0.02; done; "
              "e=$(date +%s.%N); kill $p; wait $p; systemctl start isc-dhcp-server; echo \"$s $e\"")
    s, e = sh(["podman", "exec", CONTAINER, "bash", "-c", script]).stdout.split()
    return check, float(e) - float(s), blocks


def filter_profile(n):
    """In-process time of the controller-side filters at n nodes, and the top functions."""
    sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
    from ansible_collections.fabric.boot.plugins.filter import boot_menu
    from ansible_collections.fabric.boot.plugins.module_utils import fabric_inventory as fi
    import csv
    import yaml
    rows = list(csv.DictReader(io.StringIO(storm.node_rows(n))))
    hosts = {}
    for r in rows:
        iface = {k: v for k, v in r.items() if v and k != "host"}
        iface["name"] = iface.pop("interface")
        hosts.setdefault(r["host"], {"interfaces": [], "boot_image": None})["interfaces"].append(iface)
    gv = yaml.safe_load(storm.GROUP_VARS)
    out = {}
    prof = cProfile.Profile()
    t = time.monotonic()
    prof.enable()
    model, problems = fi.validate_site(hosts, gv["fabric_networks"], gv["fabric_boot_images"])
    reservations = fi.reservations(model["nodes"], model["networks"])
    prof.disable()
    out["validate"] = time.monotonic() - t
    if problems:
        raise SystemExit("generated inventory is invalid: %s" % problems[:3])
    del reservations
    nodes = model["nodes"]
    t = time.monotonic()
    prof.enable()
    menus = boot_menu.boot_menus(nodes, gv["fabric_networks"], gv["fabric_boot_images"])
    default = boot_menu.boot_default_menu(gv["fabric_networks"], gv["fabric_boot_images"])
    prof.disable()
    out["boot_menus"] = time.monotonic() - t
    tdir = os.path.join(ROOT, "roles", "boot_loader", "templates")
    t = time.monotonic()
    prof.enable()
    g = boot_menu.boot_menu_files(menus, default, tdir, "grub", {"dispatch_dirs": ["grub"]})
    p = boot_menu.boot_menu_files(menus, default, tdir, "pxelinux", {})
    prof.disable()
    out["boot_menu_files"] = time.monotonic() - t
    out["files"] = len(g) + len(p)
    out["bytes"] = sum(len(v) for v in g.values()) + sum(len(v) for v in p.values())
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(12)
    return out, s.getvalue()


def profile_tasks(stdout, limit=12):
    """The slowest tasks from profile_tasks' summary (after TASKS RECAP)."""
    tasks = []
    for line in stdout.split("TASKS RECAP")[-1].splitlines():
        m = re.match(r"^(.*?) -+ (\d+\.\d+)s$", line.strip())
        if m:
            tasks.append((m.group(1).strip(), float(m.group(2))))
    return tasks[:limit] + [("(all tasks)", sum(t for _n, t in tasks))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", help="markdown file to update (converge markers)")
    ap.add_argument("--json", default=os.path.join(ROOT, "build", "converge_scale.json"),
                    help="results file; with --report, several files separated by commas are merged")
    ap.add_argument("--keep", action="store_true", help="leave the container running")
    ap.add_argument("--reuse", action="store_true", help="use the running container (packages installed)")
    ap.add_argument("--report", action="store_true", help="only write the report from --json")
    ap.add_argument("--parts", default="scale,floor,dhcp",
                    help="comma-separated: scale (first/no-change/one-node rounds), floor (ansible-core's fixed "
                         "cost: as many trivial tasks, same inventory), dhcp (dhcp_server alone, first and no-change)")
    ap.add_argument("--connection", choices=["ssh", "podman"], default="ssh",
                    help="ssh (OpenSSH, ControlPersist, pipelining: what a site uses; default) or podman "
                         "(containers.podman, no pipelining)")
    ap.add_argument("--plot", help="write a PNG of time vs N here (needs matplotlib, benchmarks/requirements.txt)")
    args = ap.parse_args()
    if args.report:
        # rows of the same N and connection from several files (e.g. a scale run and a later floor
        # run) are merged
        by_n = {}
        for path in args.json.split(","):
            with open(path) as f:
                for row in json.load(f):
                    row.setdefault("connection", "podman")     # results written before --connection; rows carry it from here on
                    by_n.setdefault((row["connection"], row["nodes"]), {}).update(row)
        results = [by_n[k] for k in sorted(by_n, key=lambda k: (k[0] != "ssh", k[1]))]
        if args.plot:
            plot(results, args.plot)
        text = report(results, args)
        print(text)
        if args.write:
            replace_section(args.write, "converge", text)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (podman, network namespace)")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
               ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1")
    work = tempfile.mkdtemp(prefix="fbsc-conv-")
    play = os.path.join(work, "converge.yml")
    with open(play, "w") as f:
        f.write(PLAY)
    results = []
    try:
        running = sh(["podman", "ps", "-q", "-f", "name=^%s$" % CONTAINER], check=False).stdout.strip()
        if not (args.reuse and running):
            container_up()
        if args.connection == "ssh":
            container_ssh.authorize(CONTAINER)
        if not (args.reuse and running):
            # Packages once (not measured): a small inventory converges first.
            run_play(env, write_inventory(os.path.join(work, "warm"), 10, connection=args.connection), play)
        for n in args.nodes:
            d = os.path.join(work, "n%d" % n)
            inv = write_inventory(d, n, connection=args.connection)
            row = {"nodes": n, "connection": args.connection, "first": [], "nochange": [], "onenode": [], "changed": [], "onenode_changed": [],
                   "load": []}
            parts = args.parts.split(",")
            for r in range(args.runs if "scale" in parts else 0):
                sh(["podman", "exec", CONTAINER, "bash", "-c", RESET])
                row["load"].append(loadavg())
                t, c, out, _ok = run_play(env, inv, play)
                row["first"].append(t)
                row["profile_first"] = profile_tasks(out)
                print("N=%d first %.1f s (load %.1f)" % (n, t, loadavg()), flush=True)
                t, c, out, ok = run_play(env, inv, play)
                row["nochange"].append(t)
                row["changed"].append(c)
                row["profile_nochange"] = profile_tasks(out)
                # every task of the no-change run, for "where the time goes" (docs/performance.md)
                row["profile_nochange_all"] = profile_tasks(out, limit=None)
                print("N=%d no-change %.1f s changed=%d (load %.1f)" % (n, t, c, loadavg()), flush=True)
                # odd rounds move one node's address, even rounds move it back
                write_inventory(d, n, changed=n // 2 if r % 2 == 0 else None, connection=args.connection)
                t, c1, out, _ok = run_play(env, inv, play)
                row["onenode"].append(t)
                row["onenode_changed"].append(c1)
                row["profile_onenode"] = profile_tasks(out)
                row["load"].append(loadavg())
                print("N=%d first %.1f no-change %.1f (changed=%d) one-node %.1f (changed=%d) load %.1f"
                      % (n, row["first"][-1], row["nochange"][-1], c, row["onenode"][-1], c1, loadavg()), flush=True)
            if "scale" in parts:
                row["tasks_nochange"] = ok
                row["dhcpd_t"], row["dhcpd_start"], row["host_blocks"] = dhcpd_figures()
                row["filters"], row["filters_top"] = filter_profile(n)
            else:
                del row["first"], row["nochange"], row["onenode"], row["changed"], row["onenode_changed"], row["load"]
            if "floor" in parts:
                row.update(floor_runs(env, work, inv, play, args.runs))
                print("N=%d floor %d tasks %.1f s" % (n, row["floor_tasks"], med(row["floor"])), flush=True)
            if "dhcp" in parts:
                row.update(dhcp_only_runs(env, work, inv, args.runs))
                print("N=%d dhcp_server alone first %.1f no-change %.1f" % (n, med(row["dhcp_first"]),
                                                                            med(row["dhcp_nochange"])), flush=True)
            results.append(row)
            os.makedirs(os.path.dirname(args.json), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.keep:
            container_down()
    text = report(results, args)
    print(text)
    if args.write:
        replace_section(args.write, "converge", text)


def floor_runs(env, work, inv, play, runs):
    """ansible-core's fixed cost at this N: as many trivial tasks as a no-change run runs modules on the container."""
    run_play(env, inv, play, profile=False)       # converged state, then what a no-change run runs there
    counted = os.path.join(work, "remote-tasks.json")
    e = dict(env, ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
             ANSIBLE_CALLBACKS_ENABLED="remote_tasks", FABRIC_BENCH_REMOTE_TASKS=counted)
    run_play(e, inv, play, profile=False)
    with open(counted) as f:
        tasks = len(json.load(f).get(CONTAINER, []))
    path = os.path.join(work, "floor.yml")
    with open(path, "w") as f:
        f.write(PLAY_FLOOR % {"container": CONTAINER, "tasks": "".join(FLOOR_TASK % i for i in range(tasks))})
    times = [run_play(env, inv, path, profile=False)[0] for _r in range(runs)]
    return {"floor": times, "floor_tasks": tasks, "floor_load": loadavg()}


def dhcp_only_runs(env, work, inv, runs):
    """dhcp_server alone (the validation play + the role): first and no-change runs."""
    path = os.path.join(work, "dhcp-only.yml")
    with open(path, "w") as f:
        f.write(PLAY_DHCP)
    first, nochange, changed = [], [], []
    for _r in range(runs):
        sh(["podman", "exec", CONTAINER, "bash", "-c", RESET])
        first.append(run_play(env, inv, path, profile=False)[0])
        t, c, _out, tasks = run_play(env, inv, path, profile=False)
        nochange.append(t)
        changed.append(c)
    return {"dhcp_first": first, "dhcp_nochange": nochange, "dhcp_changed": changed,
            "dhcp_tasks": tasks, "dhcp_load": loadavg()}


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    # the first connection listed (ssh when measured); podman's no-change run beside it
    main_conn = results[0]["connection"]
    lines = [("first", "first run", "-", main_conn), ("nochange", "no-change run", "-", main_conn),
             ("onenode", "one node changed", "-", main_conn),
             ("dhcp_nochange", "dhcp_server alone, no-change", "-.", main_conn),
             ("floor", "floor: ansible-core, same inventory and task count", ":", main_conn)]
    if main_conn != "podman":
        lines.append(("nochange", "no-change run, podman connection", "--", "podman"))
    for key, label, style, conn in lines:
        rows = [r for r in results if r.get(key) and r["connection"] == conn]
        if rows:
            ax.plot([r["nodes"] for r in rows], [med(r[key]) for r in rows], marker="o", linestyle=style, label=label)
    ax.axhline(20, color="grey", linestyle=":", linewidth=1)
    ax.axhline(10, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("nodes (InfiniBand, 3 client-id forms each)")
    ax.set_ylabel("seconds (see load in the table)")
    ax.set_title("dhcp_server + boot_loader converge time")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def floor_report(results):
    """The floor (ansible-core's fixed cost) and dhcp_server alone, beside the full no-change run."""
    rows = [r for r in results if "floor" in r]
    if not rows:
        return []
    lines = ["", "Where a no-change run's time goes: the floor is ansible-core's fixed cost, the same inventory "
             "loaded and as many trivial tasks (`command: /bin/true`) run on the container over the same "
             "connection as the no-change run ran there; the rest is the collection's own work (validation, "
             "rendering, comparing files). dhcp_server alone is the validation play and that role only, for "
             "comparison with other stacks' DHCP roles. Medians, seconds.", "",
             "| nodes | connection | tasks run | floor s | no-change s | above the floor s | dhcp_server alone: tasks, "
             "first s, no-change s (changed) | load avg |", "|---:|---|---:|---:|---:|---:|---|---|"]
    for r in rows:
        nochange = med(r["nochange"]) if r.get("nochange") else float("nan")
        dhcp = ("%d, %.1f, %.1f (%s)" % (r["dhcp_tasks"], med(r["dhcp_first"]), med(r["dhcp_nochange"]),
                                         "/".join(str(c) for c in r["dhcp_changed"]))) if "dhcp_first" in r else "-"
        lines.append("| %d | %s | %d | %.1f | %.1f | %.1f | %s | %.1f %s |" % (
            r["nodes"], r["connection"], r["floor_tasks"], med(r["floor"]), nochange, nochange - med(r["floor"]), dhcp,
            r["floor_load"], "%.1f" % r["dhcp_load"] if "dhcp_load" in r else ""))
    return lines


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def report(results, args):
    ver = sh(["ansible", "--version"], check=False).stdout.splitlines()[0]
    lines = [
        "## Converging 1,000 to 10,000 nodes (`dhcp_server` + `boot_loader`)",
        "",
        "Written by `benchmarks/converge_scale.py --runs %d` (at most; the table gives each row's runs) on %s, %d CPUs, Python %s, %s, against one podman "
        "systemd container (`%s`). Connections: `ssh` is OpenSSH with ansible's ControlPersist master and "
        "pipelining (what a site uses; sshd reached through `podman exec -i <container> sshd -i`, the container "
        "having no route from the host); `podman` is containers.podman's connection, which cannot pipeline: six "
        "podman calls per task. Load averages (1 min) before and after each round are given: a loaded machine "
        "gives upper bounds of an idle one's figures." % (
            max([len(r.get("first", [])) for r in results] + [1]), platform.platform(), os.cpu_count(), platform.python_version(), ver, IMAGE),
        "",
        "Inventory: a `fabric.boot.node_table` CSV with N InfiniBand nodes (3 client-id forms each), N/50 Omni-Path "
        "and N/20 Ethernet nodes; per-node GRUB and pxelinux menus for all of them (two file names each). First = "
        "configuration and menus removed, dhcpd stopped, packages installed; no-change = the same play again; "
        "one-node = one node's address changed (odd rounds move it, even rounds move it back). Median of the runs, seconds.",
        "",
        "| nodes | connection | runs | host blocks | first s | no-change s (changed) | one-node s (changed) | `dhcpd -t` s "
        "| dhcpd start-up s | load avg |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    scaled = [r for r in results if "first" in r]
    for r in scaled:
        # rows merged from several result files may have different run counts: each row says its own
        lines.append("| %d | %s | %d | %d | %.1f | %.1f (%s) | %.1f (%s) | %.2f | %.2f | %s |" % (
            r["nodes"], r["connection"], len(r["first"]), r["host_blocks"], med(r["first"]), med(r["nochange"]),
            "/".join(str(c) for c in r["changed"]), med(r["onenode"]),
            "/".join(str(c) for c in r.get("onenode_changed", [])), r["dhcpd_t"], r["dhcpd_start"],
            " ".join("%.1f" % x for x in r["load"])))
    lines += floor_report(results)
    # the profiles of the largest N over the first connection listed (ssh when it was measured)
    big = [r for r in scaled if r["connection"] == scaled[0]["connection"]][-1]
    for key, what, wall in (("profile_first", "first run", big["first"][-1]),
                            ("profile_nochange", "no-change run", big["nochange"][-1]),
                            ("profile_onenode", "one-node run", big["onenode"][-1])):
        if key not in big:
            continue
        lines += ["", "Slowest tasks at %d nodes, %s (profile_tasks; wall time of that run %.1f s):"
                  % (big["nodes"], what, wall), "", "| task | s |", "|---|---:|"]
        for name, t in big[key]:
            lines.append("| %s | %.2f |" % (name.replace("|", "/"), t))
            if name == "(all tasks)":
                lines.append("| (outside tasks: inventory load, play start-up, fork and exit) | %.2f |" % (wall - t))
    f = big["filters"]
    if "boot_menus" in f:
        lines += ["", "Controller-side filters in-process at %d nodes: validate %.2f s, boot_menus %.2f s, "
                  "boot_menu_files (render %d files) %.2f s." % (big["nodes"], f["validate"], f["boot_menus"],
                                                                 f["files"], f["boot_menu_files"])]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
