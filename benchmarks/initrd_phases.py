"""Where a lab boot's kernel + initrd time goes under TCG, phase by phase, qemu variants alternated.

  python benchmarks/initrd_phases.py [--runs 2] [--variant NAME=QEMU-SWITCHES ...]
      [--kernel F --initrd F] [--append ARGS] [--write docs/performance.md]

The lab's own kernel and initrd (default: the source image lab/image/build-source-image.sh made;
give a kept lab's published initrd to include the driver set and the smoke test) boot directly
(`-kernel`/`-initrd`, the lab's one VM launcher lab/fabric_lab/vm.py) with the lab nodes' kernel
arguments, so only the phase after "kernel+initrd fetched" is timed: no firmware, loader or
transfer. The NIC is on qemu's user network with restrict=on (its DHCP answers; the guest
reaches nothing) inside a network namespace this script creates and removes. A pre-mount hook
appended to the initrd as a second cpio prints the uptime and powers off, so the boot ends where
the lab's smoke test starts (a published initrd's own smoke test then never runs).

Phases are read from the serial console: the kernel's printk stamps (guest clock) and, for
systemd's status lines, the wall clock at which vm.py saw each line. Variants (for example
`-cpu qemu64` against the launcher's `-cpu max`; qemu takes the last -cpu) boot in turn within
each run, the order reversed every other run (with --parallel N, N variants start together), so a
load swing hits all of them alike.
Needs root (netns) and qemu; stores docs/data/initrd_phases.json.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fabric_lab import server, vm  # noqa: E402
from perfdoc import replace_section, save_json  # noqa: E402

DATA = os.path.join(ROOT, "docs", "data", "initrd_phases.json")
NETNS = server.PREFIX + "ph"     # not "<prefix>-...": tests/ci/netns.sh owns <prefix>
MAC = "52:54:00:fb:1a:01"
# What boot_loader composes for an Ethernet lab node (lab/inventory: pin_ifname, virtio_net,
# the image's rd.shell=0 panic=-1, the default console).
APPEND = ("rd.driver.pre=virtio_net rd.neednet=1 ip=eth0:dhcp ifname=eth0:%s rd.shell=0 panic=-1 "
          "console=ttyS0,115200" % MAC)
HOOK = b"""#!/bin/sh
read -r up rest < /proc/uptime
echo "fabric.boot phases: pre-mount uptime=$up" > /dev/console
echo 1 > /proc/sys/kernel/sysrq
echo o > /proc/sysrq-trigger
sleep 30
"""
# (phase name, regex on a serial line); the first match of each, in boot order
MARKS = [
    ("kernel", r"Linux version "),
    ("init", r"Run /init as init process"),
    ("cmdline", r"Starting .*dracut-cmdline\.service"),
    ("udev", r"Starting .*systemd-udevd\.ser"),
    ("coldplug", r"Starting .*systemd-udev-trig"),
    ("initqueue", r"Starting .*dracut-initqueue"),
    # the initqueue's end: DHCP, dhclient-script's duplicate-address check and the network set
    # up (dhclient-script's own "dhcp: BOUND" goes to the journal, not the console)
    ("network-up", r"Finished .*dracut-initqueue"),
    ("pre-mount", r"fabric\.boot phases: pre-mount"),
]


def newc(name, data, mode):
    """One newc cpio member (the kernel's initramfs format), 4-byte aligned."""
    def pad(b):
        return b + b"\0" * ((-len(b)) % 4)
    fields = [1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
    return pad(hdr + name.encode() + b"\0") + pad(data)


def hooked(initrd, out):
    """initrd + a second (uncompressed) archive with the pre-mount hook; the kernel unpacks both."""
    with open(initrd, "rb") as f:
        src = f.read()
    dirs = ["usr", "usr/lib", "usr/lib/dracut", "usr/lib/dracut/hooks", "usr/lib/dracut/hooks/pre-mount"]
    arc = b"".join(newc(d, b"", 0o40755) for d in dirs)
    arc += newc("usr/lib/dracut/hooks/pre-mount/98-fabric-boot-phases.sh", HOOK, 0o100755)
    arc += newc("TRAILER!!!", b"", 0)
    with open(out, "wb") as f:
        f.write(src + b"\0" * ((-len(src)) % 4) + arc)


def phases(boot):
    """{phase: seconds after power-on} (wall clock of the line), and the kernel's own stamps."""
    wall, guest = {}, {}
    for t, line in boot.lines:
        for name, rx in MARKS:
            if name not in wall and re.search(rx, line):
                wall[name] = t - boot.started
                m = re.match(r"\s*\[\s*([\d.]+)\]", line)
                if m:
                    guest[name] = float(m.group(1))
    return wall, guest


def make_boot(workdir, key, switches, kernel, initrd, append):
    nic = "virtio-net-pci,netdev=n0,mac=%s,romfile=" % MAC
    return vm.Boot("phases-%s" % re.sub(r"[^a-z0-9]+", "-", key.lower()), workdir, firmware="seabios",
                   netns=NETNS, kernel=kernel, initrd=initrd, append=append,
                   extra=["-netdev", "user,id=n0,restrict=on", "-device", nic] + switches)


def measure(args):
    variants = [v.split("=", 1) for v in args.variant] or [["launcher", ""]]
    data = load(args.data)
    workdir = tempfile.mkdtemp(prefix=server.PREFIX + "-phases-", dir="/var/tmp")
    initrd = os.path.join(workdir, "initrd-hooked.img")
    hooked(args.initrd, initrd)
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
    try:
        for run_ in range(args.runs):
            order = variants if run_ % 2 == 0 else variants[::-1]
            boots = [(key, sw, make_boot(workdir, key, sw.split(), args.kernel, initrd, args.append))
                     for key, sw in order]
            load_before = os.getloadavg()[0]
            # --parallel: a batch of variants starts together and shares the machine alike
            vm.run_all([b for k_, s_, b in boots], args.timeout, parallel=args.parallel)
            for key, sw, boot in boots:
                wall, guest = phases(boot)
                res = {"wall": wall, "guest": guest, "load_before": load_before,
                       "load_after": os.getloadavg()[0], "timed_out": boot.timed_out,
                       "total": boot.seconds(), "parallel": args.parallel,
                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
                entry = data.setdefault(key, {"switches": sw, "boots": [], "initrd": args.initrd,
                                              "initrd_bytes": os.path.getsize(args.initrd)})
                entry["boots"].append(res)
                print(key, json.dumps(res), flush=True)
            save_json(args.data, data)
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)
        subprocess.run(["rm", "-rf", workdir], check=False)


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def render(data):
    names = [n for n, rx_ in MARKS]
    lines = ["## Kernel + initrd phases under TCG (`benchmarks/initrd_phases.py`)", ""]
    par = sorted({b.get("parallel", 1) for v in data.values() for b in v["boots"]})
    dates = sorted(b["date"] for v in data.values() for b in v["boots"])
    if par == [1]:
        how = ("the variants of one run booted one after the other, their order reversed every other "
               "run, so a load swing hits all of them alike")
    else:
        how = ("the variants of one run started together (%s VMs at a time), so they shared the machine "
               "alike" % " or ".join(str(p) for p in par))
    lines.append("The lab's kernel and the published initrd (driver set and smoke test injected) booted "
                 "directly (no firmware, loader or transfer) to a pre-mount hook, where the smoke test "
                 "starts; %s; %s to %s. Seconds after qemu started (wall "
                 "clock of the serial line), medians over the boots; load is the load average at the "
                 "start of the boots. `kernel` is the first kernel line: after SeaBIOS, qemu's loader and "
                 "the bzImage's own xz decompression; `init` the kernel starting /init (initramfs "
                 "unpacked); `cmdline` systemd starting dracut's cmdline hook; `udev` systemd-udevd "
                 "starting (after the cmdline and pre-udev hooks); `coldplug` the udev trigger; "
                 "`initqueue` dracut's initqueue (the trigger's uevents queued); `network-up` the "
                 "initqueue finished (DHCP, duplicate-address check, network set up); `pre-mount` the "
                 "hook." % (how, dates[0], dates[-1]))
    lines.append("")
    lines.append("| variant | qemu switches | boots | load | " + " | ".join(names) + " |")
    lines.append("|---|---|---|---|" + "---|" * len(names))
    for key, v in data.items():
        boots = [b for b in v["boots"] if not b["timed_out"]]
        loads = [b["load_before"] for b in v["boots"]]
        cells = []
        for n in names:
            m = med([b["wall"].get(n) for b in boots])
            cells.append("-" if m is None else "%.1f" % m)
        lines.append("| %s | `%s` | %d/%d | %.1f-%.1f | %s |" % (
            key, v["switches"] or "(launcher's)", len(boots), len(v["boots"]), min(loads), max(loads),
            " | ".join(cells)))
    lines.append("")
    # Pairs: the variants of one run started together (same load_before), so each run's
    # difference to the launcher's boot is the fair comparison; medians of those differences.
    batches = {}
    for key, v in data.items():
        for b in v["boots"]:
            if not b["timed_out"] and "pre-mount" in b["wall"]:
                batches.setdefault((b["load_before"], b.get("parallel", 1)), {})[key] = b["wall"]["pre-mount"]
    others = [k for k in data if k != "launcher"]
    if "launcher" in data and others:
        lines.append("Per run, pre-mount of each variant minus the launcher's boot of the same run (negative: "
                     "faster), and the median of those differences:")
        lines.append("")
        lines.append("| variant | runs | per run (s) | median (s) | median (%) |")
        lines.append("|---|---|---|---|---|")
        for key in others:
            d = [(b[key] - b["launcher"], (b[key] - b["launcher"]) / b["launcher"] * 100)
                 for b in batches.values() if key in b and "launcher" in b]
            if d:
                lines.append("| %s | %d | %s | %+.1f | %+.1f |" % (
                    key, len(d), " ".join("%+.1f" % x for x, p_ in d), med([x for x, p_ in d]),
                    med([p_ for x_, p_ in d])))
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    src = os.path.join(ROOT, "build", "lab", "source")
    ap.add_argument("--kernel", default=os.path.join(src, "vmlinuz"))
    ap.add_argument("--initrd", default=os.path.join(src, "initrd.img"))
    ap.add_argument("--append", default=APPEND)
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=SWITCHES",
                    help="a qemu variant: name and extra switches (repeat; default: the launcher as is)")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=1,
                    help="VMs at a time; the variants of one run start together (one TCG thread each)")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--render", action="store_true", help="only render --data")
    ap.add_argument("--write", metavar="FILE", help="docs/performance.md to update")
    args = ap.parse_args()
    if not args.render:
        measure(args)
    body = render(load(args.data))
    print(body)
    if args.write:
        replace_section(args.write, "initrd-phases", body)


if __name__ == "__main__":
    main()
