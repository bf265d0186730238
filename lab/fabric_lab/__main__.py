"""make lab: the whole boot path from one command (docs/lab.md).

  python -m fabric_lab [--keep] [--paths a,b] [--parallel N] [--site-checks] [--transfer-load] [--quick-reboot] [--json FILE]

Creates netns fblab (FB_LAB_PREFIX) with a bridge (no route out), starts the boot-server container on it, runs
playbooks/site.yml with the lab inventory, boots one VM per boot path, checks what each boot
proves, prints the timing table and removes everything it made (unless --keep / KEEP=1).
Exit code 0 only when every selected path passed.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from . import backends, checks, discovery, ipv6_ra, paths, reconnect, report, server, status, transfer, vm

# --transfer-load: issue 10's transfer figure (50 TFTP, 200 HTTP clients at once) as a pass/fail
# check; benchmarks/transfer_load.py measures the same batches at several block sizes
TRANSFER_CLIENTS = {"tftp_clients": 50, "http_clients": 200}

ROOT = server.ROOT
PLAYBOOKS = os.path.join(ROOT, "playbooks")


def log(msg):
    print("[lab %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def ansible_env():
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_PIPELINING="True",
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return env


def playbook(workdir, label, *extra, play="site.yml", inventory=paths.INVENTORY):
    """Run a playbook of playbooks/ on the lab inventory; returns rc and the PLAY RECAP counters
    of the boot server."""
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    exe = exe if os.path.exists(exe) else "ansible-playbook"
    out = os.path.join(workdir, "site-%s.log" % label)
    t0 = time.time()
    with open(out, "w") as f:
        rc = subprocess.run([exe, "-i", inventory, os.path.join(PLAYBOOKS, play)] + list(extra), env=ansible_env(),
                            stdout=f, stderr=subprocess.STDOUT, cwd=ROOT, check=False).returncode
    text = open(out).read()
    m = re.search(r"^%s\s*:\s*(.*)$" % re.escape(server.INVENTORY_HOST), text, re.M)
    recap = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))) if m else {}
    summary = m.group(1).strip() if m else "no recap"
    log("%s %s: rc=%d %s (%.0f s, log %s)" % (play, label, rc, summary, time.time() - t0, out))
    if rc != 0:
        print(text[-5000:], flush=True)
    return rc, recap


SOURCE_TREE = "/srv/fabric-lab/source"   # fabric_boot_images.lab.tree in lab/inventory


def stage_image(initrd=None):
    """The distribution tree boot_image reads (mounted at SOURCE_TREE): the installed Debian
    kernel and the source initrd lab/image/build-source-image.sh makes (dracut --no-hostonly with
    its network stage, cached under build/lab/source). --initrd replaces the initrd (development)."""
    out = os.path.join(ROOT, "build", "lab", "source")
    t0 = time.time()
    subprocess.run(["bash", os.path.join(ROOT, "lab", "image", "build-source-image.sh"), out], check=True)
    log("source image ready in %.0f s" % (time.time() - t0))
    if initrd:
        out = os.path.join(ROOT, "build", "lab", "source-dev")
        os.makedirs(out, exist_ok=True)
        shutil.copy(os.path.join(ROOT, "build", "lab", "source", "vmlinuz"), out)
        shutil.copy(initrd, os.path.join(out, "initrd.img"))
    return out


DISKLESS_ROOT = checks.IMAGE_ROOT


def stage_diskless():
    """The image root diskless_image reads (mounted at DISKLESS_ROOT): a Debian 12 tree made by
    lab/image/build-diskless-root.sh from the boot server's own container image, cached under
    build/lab/diskless-root."""
    out = os.path.join(ROOT, "build", "lab", "diskless-root")
    t0 = time.time()
    subprocess.run(["bash", os.path.join(ROOT, "lab", "image", "build-diskless-root.sh"), out], check=True)
    log("diskless image root ready in %.0f s" % (time.time() - t0))
    return out


def setup(args, workdir, plan, results, inventory):
    """Container on the bridge, the source tree, site.yml (with --site-checks: check, run, rerun)."""
    if args.reuse:
        log("workdir %s; reusing %s on netns %s" % (workdir, server.CONTAINER, server.NETNS))
        for facts in (f for p, f in plan):
            server.sh(["ip", "-n", server.NETNS, "link", "del", facts["tap"]], check=False)
        return
    log("workdir %s; starting %s on netns %s" % (workdir, server.CONTAINER, server.NETNS))
    source = stage_image(args.initrd)
    # :O, an overlay podman throws away with the container: diskless_image writes the profiles
    # and the smoke unit into the image root, and the cached tree must stay as it was built
    server.up(volumes=["%s:%s:ro" % (source, SOURCE_TREE), "/lib/modules:/lib/modules:ro",
                       "%s:%s:O" % (stage_diskless(), DISKLESS_ROOT)])
    runs = ["check", "run", "rerun"] if args.site_checks else ["run"]
    for label in runs:
        rc, recap = playbook(workdir, label, *(["--check", "--diff"] if label == "check" else []), inventory=inventory)
        results["site"][label] = {"rc": rc, "recap": recap}
        if rc:
            raise SystemExit("site.yml %s failed (log %s/site-%s.log)" % (label, workdir, label))
        if label == "rerun" and recap.get("changed", -1) != 0:
            raise SystemExit("the second site.yml run reported changed=%s, must be 0" % recap.get("changed"))


def switched(args, workdir, backend, plan, boots, results, seen_by_path, served_by, menus):
    """Switch the live lab to backend (site.yml, watched by the DHCP prober), then boot
    backends.SWITCH_PATH again through it; its checks run with the others'."""
    (p, facts), = paths.nodes([backends.SWITCH_PATH])
    if not any(q.name == p.name for q, f_ in plan):
        server.add_tap(facts["tap"])
    inv, res = backends.switch(playbook, workdir, log, backend, facts["mac"])
    results["switches"].append(res)
    if res["rc"]:
        return
    p = p._replace(name="%s@%s" % (p.name, backend), title="%s, through %s" % (p.title, backend))
    log("booting %s through %s" % (p.name, backend))
    b = vm.Boot(p.name, workdir, firmware=p.firmware, nic=paths.nic(p, facts), tap=facts["tap"], netns=server.NETNS,
                extra=p.qemu).start().wait(args.timeout)
    plan.append((p, facts))
    boots.append(b)
    served_by[p.name] = backend
    menus[p.name] = checks.menu_args(p, facts)
    seen_by_path[p.name], table = status.run(playbook, workdir, "status-%s" % backend, b.started - 1, inv)
    log("boot_status of %s:" % p.name)
    print(table, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fabric_lab")
    ap.add_argument("--keep", action="store_true", default=os.environ.get("KEEP", "") not in ("", "0"),
                    help="leave netns, container and logs in place (KEEP=1)")
    ap.add_argument("--paths", default="", help="comma-separated path names (default: all)")
    ap.add_argument("--parallel", type=int, default=int(os.environ.get("FBLAB_PARALLEL", "2")))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("FB_BOOT_TIMEOUT", "300")),
                    help="per-boot limit in seconds")
    ap.add_argument("--site-checks", action="store_true",
                    help="also run site.yml --check --diff on the fresh container before, and once more after "
                         "(must report changed=0)")
    ap.add_argument("--initrd", help="initrd to stage as images/lab/initrd.img (development)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--discover", action="store_true",
                    help="after the boots, the discovery round trip: a VM not in the inventory is refused, "
                         "discover.yml appends it to a node table, site.yml, and it boots to its reservation")
    ap.add_argument("--reuse", action="store_true",
                    help="boot again on a lab left by --keep: no set-up, no site.yml")
    ap.add_argument("--dhcp", type=backends.check, default=os.environ.get("DHCP") or "isc",
                    help="the DHCP daemon of the whole lab: isc (default), kea or dnsmasq (DHCP=)")
    ap.add_argument("--switch", default=os.environ.get("DHCP_SWITCH", ""),
                    help="after the boots, switch the live lab to each of these backends in turn (e.g. kea,dnsmasq; "
                         "DHCP_SWITCH=) and boot %s through each" % backends.SWITCH_PATH)
    ap.add_argument("--transfer-load", action="store_true",
                    help="after the boots, %d TFTP clients and then %d HTTP clients at once fetch the kernel + "
                         "initrd; every client must get both files with the server's sha256"
                         % (TRANSFER_CLIENTS["tftp_clients"], TRANSFER_CLIENTS["http_clients"]))
    ap.add_argument("--quick-reboot", action="store_true",
                    help="after the boots, a client that vanished while closing its HTTP connection comes "
                         "back on the same port on GRUB's SYN schedule: answered with the role's "
                         "tcp_orphan_retries, not with the kernel's default (fabric_lab/reconnect.py)")
    ap.add_argument("action", nargs="?", choices=["run", "down"], default="run",
                    help="down: remove a lab left by --keep")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root (netns, taps, podman)")
    if args.action == "down":
        server.down()
        for d in glob.glob(os.path.join(tempfile.gettempdir(), server.PREFIX + "-*")):
            shutil.rmtree(d, ignore_errors=True)
        return 0
    selected = [p for p in args.paths.split(",") if p]
    plan = paths.nodes(backends.servable(args.dhcp, selected))
    switches = [backends.check(b) for b in args.switch.split(",") if b]
    if args.discover and args.dhcp != "isc":
        # discover.yml finds unknown clients with boot_status, which reads ISC dhcpd's log only
        raise SystemExit("--discover needs --dhcp isc")
    if server.exists() and not args.reuse:
        log("removing the previous lab (netns %s / container %s)" % (server.NETNS, server.CONTAINER))
        server.down()
    workdir = tempfile.mkdtemp(prefix=server.PREFIX + "-")
    started = time.time()
    capture = ra = None
    boots = []
    results = {"paths": [], "site": {}, "workdir": workdir, "dhcp": args.dhcp, "switches": []}
    served_by = {}           # path name -> backend, for the boots after a switch
    ok = False
    try:
        inventory = paths.INVENTORY if args.dhcp == "isc" else backends.inventory_copy(workdir, args.dhcp)
        setup(args, workdir, plan, results, inventory)
        capture = server.Capture(os.path.join(workdir, "br0.pcap")).start()
        # an empty router advertisement ends iPXE's ~13 s wait for IPv6 autoconfiguration
        ra = ipv6_ra.start(server.NETNS, server.BRIDGE)
        for p, facts in plan:
            server.add_tap(facts["tap"])
            boots.append(vm.Boot(p.name, workdir, firmware=p.firmware, nic=paths.nic(p, facts), tap=facts["tap"],
                                 netns=server.NETNS, extra=p.qemu, memory=p.memory))
        log("booting %d VMs, %d at a time, %d s limit each" % (len(boots), args.parallel, args.timeout))
        vm.run_all(boots, args.timeout, parallel=args.parallel)
        # each node's menu as it booted: the switches' inventories leave some nodes out
        menus = dict((p.name, checks.menu_args(p, facts)) for p, facts in plan)
        # the product's own report of the same boots, from the daemons' logs (docs/status.md)
        booted = min([b.started for b in boots if b.started] or [started])
        seen, table = status.run(playbook, workdir, "status", booted - 2, inventory)
        log("boot_status (playbooks/status.yml) on the boot server:")
        print(table or "(no table: see %s/site-status.log)" % workdir, flush=True)
        results["status"] = seen
        seen_by_path = {}
        found = None
        if args.discover:
            # a failed round trip is one failed result; the paths above are still checked
            try:
                found, found_facts, inventory, results["discovery"] = discovery.run(playbook, workdir, log)
            except SystemExit as exc:
                results["discovery"] = {"error": str(exc)}
                log(str(exc))
        if found:
            plan.append((found, found_facts))
            boots.append(discovery.boot(workdir, found, found_facts, args.timeout))
            menus[found.name] = checks.menu_args(found, found_facts)
            # since its second power-on: the refusal before discovery is history, not a finding
            seen_by_path[found.name], table = status.run(playbook, workdir, "status-discovered",
                                                         boots[-1].started - 1, inventory)
            log("boot_status of the discovered node's boot:")
            print(table, flush=True)
            results["discovery"]["status"] = seen_by_path[found.name]
        for backend in switches:
            switched(args, workdir, backend, plan, boots, results, seen_by_path, served_by, menus)
        ipv6_ra.stop(ra)
        ra = None
        capture.stop()
        dhcpd_log = server.journal()
        with open(os.path.join(workdir, "journal.txt"), "w") as f:
            f.write(dhcpd_log)
        ev = report.events(capture.path, server.SERVER_IP, [f for p, f in plan])
        rows = []
        for (p, facts), b in zip(plan, boots):
            t = report.timings(ev[facts["mac"]], b.started, p.loader, "vmlinuz", "initrd.img", until=b.ended)
            via = {v for t_, n, v in ev[facts["mac"]]["requests"] if n.endswith("vmlinuz")}
            t["images_via"] = sorted(via)
            res = (checks.check(p, facts, b, t, dhcpd_log, served_by.get(p.name, args.dhcp), menus.get(p.name))
                   + status.check(p, facts, seen_by_path.get(p.name, seen)))
            passed = all(r[1] for r in res)
            rows.append({"path": p.name, "result": "PASS" if passed else "FAIL", "offer": t["offer"],
                         "loader": t["loader"], "images": t["images"], "squashfs": t["squashfs"],
                         "marker": b.first(checks.MARKER),
                         "total": b.seconds()})
            results["paths"].append({"path": p.name, "title": p.title, "passed": passed, "timing": rows[-1],
                                     "checks": [{"what": w, "ok": o} for w, o, detail_ in res],
                                     "serial": b.serial})
            log("%s (%s): %s" % (p.name, p.title, rows[-1]["result"]))
            for what, good, detail in res:
                print("   %s %s" % ("ok  " if good else "FAIL", what))
                if not good and detail:
                    print("        " + detail.replace("\n", "\n        "))
        print(report.table(rows), flush=True)
        if args.quick_reboot:
            results["reconnect"] = reconnect.check()
            for line in reconnect.describe(results["reconnect"]):
                log("quick reboot: " + line)
        if args.transfer_load:
            # after the boots and the capture: 50 lock-step TFTP clients would slow a booting VM, and
            # the 6 GB they and the HTTP clients move do not belong in br0.pcap
            results["transfer"] = transfer.check(**TRANSFER_CLIENTS)
            for kind in ("tftp", "http"):
                t = results["transfer"][kind]
                log("transfer load, %s: %d/%d clients got both files intact (%d sha256 mismatches), "
                    "%.1f s for the batch, %.0f MB/s, slowest client %.1f s%s" % (
                        kind, t["ok"], t["clients"], t["mismatch"], t["wall"], t["mb_s"], t["per_client"][-1],
                        "; errors: %s" % t["errors"][:3] if t["errors"] else ""))
        ok = (all(r["result"] == "PASS" for r in rows) and len(rows) == len(plan) and rows
              and "error" not in results.get("discovery", {})
              and len(results["switches"]) == len(switches)
              and all(sw["rc"] == 0 and sw["watch"]["double"] == 0 for sw in results["switches"])
              and (not args.transfer_load or results["transfer"]["passed"])
              and (not args.quick_reboot or results["reconnect"]["passed"]))
        results["wall_seconds"] = time.time() - started
        log("lab wall time %.0f s" % results["wall_seconds"])
    finally:
        for b in boots:
            b.kill()
        if ra and ra.poll() is None:
            ra.kill()
            ra.wait()
        if capture:
            capture.stop()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        if args.keep:
            log("KEEP: netns %s, container %s and %s stay; remove with `make lab-down`" %
                (server.NETNS, server.CONTAINER, workdir))
        else:
            server.down()
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
