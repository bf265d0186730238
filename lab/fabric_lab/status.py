"""The lab's boots as the product reports them: playbooks/status.yml (fabric.boot.boot_status)
run on the lab's boot server after the VMs, its table printed, and per path the checks that
boot_status saw what the VM proved.

The lab is boot_status's strongest test: every stage of every boot is known independently (the
serial log's smoke lines and the bridge capture), so the timeline the module builds from the
daemons' own logs must agree with it, and a finding on a boot that worked is a false alarm.
"""
import json
import os

# What boot_status must report of a healthy boot (plugins/module_utils/boot_log/timeline.py STAGES).
LAST_STAGE = "dhcp-os"


def run(playbook, workdir, label, since, inventory):
    """status.yml on the lab inventory; {"nodes": [...], "unknown": [...]} or None, and the table.

    playbook: the lab's ansible-playbook runner, (workdir, label, *extra, play=, inventory=) -> (rc, recap).
    since: seconds since the epoch, the start of the boots. inventory: the one the boots used.
    """
    out = os.path.join(workdir, "%s.json" % label)
    rc, recap_ = playbook(workdir, label, "-e", "fabric_status_since=@%d" % int(since),
                          "-e", "fabric_status_json=%s" % out, play="status.yml",
                          inventory=inventory)
    if rc or not os.path.exists(out):
        return None, ""
    with open(out) as f:
        data = json.load(f)
    return data, data.get("table", "")


def node(data, facts):
    """The timeline of this VM's port, or None when boot_status never saw it."""
    for n in (data or {}).get("nodes", []):
        if n["host"] == facts["node"] and n["interface"] == facts["iface"]:
            return n
    return None


def check(path, facts, data):
    """[(what, ok, detail)]: boot_status's view of one boot agrees with what the VM proved."""
    res = []

    def add(what, ok, detail=""):
        res.append((what, bool(ok), detail))

    n = node(data, facts)
    reported = None if data is None else [(x["host"], x["interface"]) for x in data.get("nodes", [])]
    add("boot_status reports %s %s" % (facts["node"], facts["iface"]), n is not None,
        "status.yml gave %s" % ("no result" if reported is None else "nodes %s" % reported))
    if n is None:
        return res
    add("boot_status: last stage %s, with both DHCP answers on the reservation %s" % (LAST_STAGE, facts["ip"]),
        n["last_stage"] == LAST_STAGE and n["dhcp_firmware"] == facts["ip"] and n["dhcp_os"] == facts["ip"],
        "last_stage=%s dhcp_firmware=%s dhcp_os=%s" % (n["last_stage"], n["dhcp_firmware"], n["dhcp_os"]))
    # the firmware's own stack fetches the loader over TFTP, except UEFI HTTP boot (its own GRUB)
    loader_via = "http" if path.loader.endswith("-http.efi") else "tftp"
    add("boot_status: loader %s over %s" % (path.loader, loader_via),
        n["loader"] in ("%s %s" % (loader_via, path.loader), "%s %s (HTTPClient)" % (loader_via, path.loader)),
        "loader=%r" % n["loader"])
    add("boot_status: the node's own menu, not the default", n["menu"] and "(default)" not in n["menu"],
        "menu=%r" % n["menu"])
    images = [f for f in n["files"] if f["role"] in ("kernel", "initrd") and f["ok"]]
    add("boot_status: kernel and initrd over %s, none truncated" % path.fetch,
        sorted(f["role"] for f in images) == ["initrd", "kernel"] and all(f["via"] == path.fetch for f in images)
        and not any(f["truncated"] for f in n["files"]),
        "files=%r" % [(f["role"], f["via"], f["path"], f["bytes"], f["size"], f["truncated"]) for f in n["files"]])
    add("boot_status: no findings on a boot that worked", not n["findings"], "findings=%r" % n["findings"])
    return res
