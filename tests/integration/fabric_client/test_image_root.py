"""fabric_client in image-root mode on this machine: a small image tree in a temp dir, the real
nmcli --offline parser and the real kmod index of an installed Debian kernel. Needs root (the
files are owned by root), network-manager (NM >= 1.40), kmod and linux-image-amd64
(tests/ci/apt-packages.sh)."""
import glob
import json
import os
import re
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PLAYBOOK = os.path.join(HERE, "image_root.yml")
CONNECTIONS = "etc/NetworkManager/system-connections"
PROFILES = ["ib0.nmconnection", "ib0.8001.nmconnection", "ib1.nmconnection"]
INDEX = ["modules.dep", "modules.dep.bin", "modules.alias.bin", "modules.builtin", "modules.builtin.bin",
         "modules.symbols.bin", "modules.softdep"]


def _env():
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, "build", "collections")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(ROOT, "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    return env


def play(tree, *args, extra=None):
    cmd = ["ansible-playbook", PLAYBOOK, "-e", "fabric_client_root=%s" % tree]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    cmd += list(args)
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600, check=False)


def recap(result):
    m = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert m, result.stdout[-3000:] + result.stderr[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


@pytest.fixture(scope="module", autouse=True)
def requirements():
    if os.geteuid() != 0:
        pytest.fail("needs root: the role writes root-owned files")
    for tool in ("nmcli", "modprobe", "ansible-playbook"):
        if not shutil.which(tool):
            pytest.fail("%s is missing (tests/ci/apt-packages.sh, the venv)" % tool)
    probe = subprocess.run(["nmcli", "--offline", "connection", "add", "type", "infiniband", "ifname", "ib0"],
                           capture_output=True, text=True, check=False)
    assert probe.returncode == 0, "this nmcli has no --offline (NetworkManager >= 1.40 needed): %s" % probe.stderr
    subprocess.run(["make", "-s", "collection-link"], cwd=ROOT, check=True)


@pytest.fixture()
def tree(tmp_path):
    kernels = sorted(glob.glob("/lib/modules/*/modules.dep.bin"))
    if not kernels:
        pytest.fail("no kernel module index under /lib/modules (install linux-image-amd64)")
    kdir = os.path.dirname(kernels[0])
    root = tmp_path / "image"
    dest = root / "lib" / "modules" / os.path.basename(kdir)
    dest.mkdir(parents=True)
    for name in INDEX:
        if os.path.exists(os.path.join(kdir, name)):
            shutil.copy(os.path.join(kdir, name), str(dest))
    (root / "etc").mkdir()
    return root


def listing(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out.append((os.path.relpath(path, str(root)), oct(st.st_mode), st.st_uid, st.st_size))
    return sorted(out)


def nm_parse(path):
    with open(path) as fh:
        r = subprocess.run(["nmcli", "--offline", "connection", "modify", "connection.autoconnect", "yes"],
                           stdin=fh, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_image_root_writes_parsable_profiles_and_is_idempotent(tree):
    first = play(tree)
    assert first.returncode == 0, first.stdout[-4000:]
    assert recap(first)["changed"] > 0
    # The module names were checked against the kernel in the tree, not skipped.
    assert "Check the module names against the target kernel" in first.stdout
    assert "module names not checked" not in first.stdout
    conn = tree / CONNECTIONS
    assert sorted(os.listdir(str(conn))) == sorted(PROFILES)
    assert oct(os.stat(str(conn)).st_mode & 0o777) == "0o700"
    for name in PROFILES:
        st = os.stat(str(conn / name))
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o600, 0, 0)
    ib0 = nm_parse(str(conn / "ib0.nmconnection"))
    assert "dhcp-client-id=20:00:02:c9:03:00:0c:78:11" in ib0
    assert "mac-address=80:00:00:48:FE:80:00:00:00:00:00:00:00:02:C9:03:00:0C:78:11" in ib0
    assert "mtu=2044" in ib0 and "transport-mode=datagram" in ib0
    child = nm_parse(str(conn / "ib0.8001.nmconnection"))
    assert "p-key=32769" in child and "parent=ib0" in child and "mtu=65520" in child
    ib1 = nm_parse(str(conn / "ib1.nmconnection"))
    assert "address1=192.168.100.12/24,192.168.100.254" in ib1 or (
        "address1=192.168.100.12/24" in ib1 and "gateway=192.168.100.254" in ib1)
    modules = (tree / "etc/modules-load.d/fabric-client.conf").read_text().split()
    for module in ("mlx4_core", "mlx4_ib", "mlx5_core", "mlx5_ib", "hfi1", "ib_ipoib", "ib_umad", "rdma_ucm"):
        assert module in modules
    assert "options mlx4_core log_num_mtt=20 log_mtts_per_seg=4" in (
        tree / "etc/modprobe.d/fabric-client.conf").read_text()
    assert sorted(os.listdir(str(tree / "etc/rdma/modules"))) == ["infiniband.conf", "opa.conf"]
    before = listing(tree)
    second = play(tree)
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second)["changed"] == 0, second.stdout[-4000:]
    assert listing(tree) == before


def test_check_mode_writes_nothing(tree):
    before = listing(tree)
    r = play(tree, "--check", "--diff")
    assert r.returncode == 0, r.stdout[-4000:]
    assert recap(r)["changed"] > 0
    assert "+id=ib0" in r.stdout            # --diff shows the profile that would be written
    assert listing(tree) == before


def test_unknown_module_fails_before_anything_is_written(tree):
    before = listing(tree)
    r = play(tree, extra={"fabric_client_extra_modules": ["no_such_fabric_mod"]})
    assert r.returncode != 0
    assert "has no module no_such_fabric_mod" in r.stdout
    assert listing(tree) == before


def test_module_named_twice_is_listed_once(tree):
    # The diskless image passes the initrd's driver set as extra modules: ULP modules repeat.
    r = play(tree, extra={"fabric_client_extra_modules": ["ib_ipoib", "rdma_ucm", "rdma_rxe", "rdma_rxe"]})
    assert r.returncode == 0, r.stdout[-4000:]
    modules = [line for line in (tree / "etc/modules-load.d/fabric-client.conf").read_text().splitlines()
               if line and not line.startswith("#")]
    assert sorted(modules) == sorted(set(modules)), modules
    assert {"ib_ipoib", "ib_umad", "rdma_ucm", "rdma_rxe"} <= set(modules)
    # order kept: the ULP modules come after the hardware drivers they sit on
    assert modules.index("mlx5_ib") < modules.index("ib_ipoib") < modules.index("rdma_rxe")


def test_profile_networkmanager_rejects_is_not_written(tree):
    interfaces = [{"name": "ib0", "type": "infiniband", "port_guid": "0x0002c903000c7811", "ipv4": "192.168.100.11",
                   "network": "fabric0", "nm_settings": {"infiniband": {"transport-mode": "bogus"}}}]
    r = play(tree, extra={"fabric_interfaces": interfaces})
    assert r.returncode != 0
    assert "failed to validate" in r.stdout and "transport-mode" in r.stdout
    assert not (tree / CONNECTIONS / "ib0.nmconnection").exists()


def test_symlink_out_of_the_tree_is_refused(tree, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(str(outside), str(tree / "etc" / "modprobe.d"))
    r = play(tree)
    assert r.returncode != 0
    assert "leave the image root" in r.stdout
    assert os.listdir(str(outside)) == []


def test_missing_root_is_refused(tmp_path):
    r = play(tmp_path / "nope")
    assert r.returncode != 0
    assert "must be an absolute path to an existing image tree" in r.stdout


def _old_nmcli(tmp_path):
    """A stand-in for nmcli of NetworkManager < 1.40: the real nmcli, except that it refuses
    --offline the way older nmcli refuses an unknown option (exit 2)."""
    bindir = tmp_path / "old-nm-bin"
    bindir.mkdir()
    fake = bindir / "nmcli"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = --offline ] && '
                    '{ echo "Error: Option \'--offline\' is unknown, try \'nmcli -help\'." >&2; exit 2; }; done\n'
                    'exec %s "$@"\n' % shutil.which("nmcli"))
    fake.chmod(0o755)
    return str(bindir)


def play_env(tree, env_path, extra=None):
    cmd = ["ansible-playbook", PLAYBOOK, "-e", "fabric_client_root=%s" % tree]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    env = _env()
    env["PATH"] = env_path + os.pathsep + env["PATH"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_networkmanager_older_than_1_40_stops_the_run(tree, tmp_path):
    """Default fabric_client_nm_validate (true): no unchecked profile is written (before issue 10
    the check was skipped silently and the profiles written)."""
    r = play_env(tree, _old_nmcli(tmp_path))
    assert r.returncode != 0
    assert "NetworkManager 1.40 or later is needed" in r.stdout, r.stdout[-3000:]
    assert "Option '--offline' is unknown" in r.stdout
    assert not (tree / CONNECTIONS).exists() or os.listdir(str(tree / CONNECTIONS)) == []


def test_networkmanager_older_than_1_40_auto_warns(tree, tmp_path):
    r = play_env(tree, _old_nmcli(tmp_path), extra={"fabric_client_nm_validate": "auto"})
    assert r.returncode == 0, r.stdout[-3000:]
    assert "WARNING: fabric_client on localhost: `nmcli --offline` does not work here" in r.stdout
    assert "written WITHOUT being checked" in r.stdout
    assert sorted(os.listdir(str(tree / CONNECTIONS))) == sorted(PROFILES)


def test_soft_roce_unit_verified_and_written(tree):
    r = play(tree, extra={"fabric_client_soft_roce": [{"name": "rxe0", "netdev": "eth0"}]})
    assert r.returncode == 0, r.stdout[-3000:]
    unit = (tree / "etc/systemd/system/fabric-client-soft-roce.service").read_text()
    assert "rdma link add rxe0 type rxe netdev eth0" in unit


def _validators():
    import yaml
    with open(os.path.join(ROOT, "roles/fabric_client/vars/main.yml")) as f:
        return yaml.safe_load(f)


def _validate(cmd, candidate):
    """Run a validate: command as Ansible does: split like a shell, %s = the candidate, no shell."""
    import shlex
    argv = [a.replace("%s", str(candidate)) for a in shlex.split(cmd)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_validators_reject_what_the_readers_reject(tree, tmp_path):
    """The validate: commands of the module files and the Soft-RoCE unit fail on a candidate the
    reading program rejects and pass the role's own rendering."""
    v = _validators()
    kernel = os.listdir(str(tree / "lib" / "modules"))[0]
    args = " %s %%s %s" % (tree, kernel)
    good = tmp_path / "good.conf"
    good.write_text("# comment\n; comment\nib_ipoib\nmlx5_ib\n\nrdma-ucm\n")
    assert _validate(v["__fabric_client_modlist_validator"] + args, good).returncode == 0
    bad = tmp_path / "bad.conf"
    bad.write_text("ib_ipoib\nno_such_fabric_mod\n")
    r = _validate(v["__fabric_client_modlist_validator"] + args, bad)
    assert r.returncode != 0 and "no_such_fabric_mod" in r.stderr, r.stderr
    opts = tmp_path / "opts.conf"
    opts.write_text("options ib_ipoib send_queue_size=256\n")
    assert _validate(v["__fabric_client_modprobe_validator"] + args, opts).returncode == 0
    opts.write_text("options ib_ipoib send_queue_size=256\nsend_queue_size=512\n")   # a stray line
    r = _validate(v["__fabric_client_modprobe_validator"] + args, opts)
    assert r.returncode != 0 and "ignoring bad line" in r.stderr, r.stderr
    opts.write_text("options no_such_fabric_mod x=1\n")
    r = _validate(v["__fabric_client_modprobe_validator"] + args, opts)
    assert r.returncode != 0 and "no_such_fabric_mod" in r.stderr, r.stderr
    unit = tmp_path / "unit"
    good_unit = ("[Unit]\nDescription=t\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                 "ExecStart=modprobe rdma_rxe\nExecStart=/bin/sh -c 'true'\n[Install]\nWantedBy=multi-user.target\n")
    unit.write_text(good_unit)
    r = _validate(v["__fabric_client_unit_validator"], unit)
    assert r.returncode == 0, r.stderr
    unit.write_text(good_unit.replace("Type=oneshot", "Type=oneshoot"))   # two ExecStart= need oneshot
    r = _validate(v["__fabric_client_unit_validator"], unit)
    assert r.returncode != 0 and "Type=oneshot" in r.stderr, r.stderr
    assert not [d for d in os.listdir("/tmp") if d.startswith("tmp.") and os.path.isdir("/tmp/" + d)
                and os.path.exists("/tmp/%s/fabric-client-soft-roce.service" % d)]


def test_removed_interface_loses_its_profile_and_only_that(tree):
    """An interface dropped from the inventory loses its keyfile on the next run; a keyfile this
    role did not write (a hand-written one, another host's) stays."""
    import yaml
    with open(PLAYBOOK) as f:
        interfaces = yaml.safe_load(f)[0]["vars"]["fabric_interfaces"]
    extra = dict(interfaces[2], name="ib3", type="infiniband", port_guid="0x0002c903000c7899",
                 ipv4="192.168.100.19")
    extra.pop("mac", None)
    first = play(tree, extra={"fabric_interfaces": interfaces + [extra]})
    assert first.returncode == 0, first.stdout[-4000:]
    conn = tree / CONNECTIONS
    assert (conn / "ib3.nmconnection").exists()
    foreign = conn / "site-storage.nmconnection"
    foreign.write_text("[connection]\nid=site-storage\nuuid=6b1c8a52-0a53-4f43-9d2b-3f6b0c3a1e11\ntype=ethernet\n")
    other_host = conn / "ib7.nmconnection"   # our format, but node002's uuid
    other_host.write_text("[connection]\nid=ib7\nuuid=%s\ntype=infiniband\n" % subprocess.run(
        ["python3", "-c", "import uuid; print(uuid.uuid5(uuid.UUID('%s'), 'node002/ib7'))"
         % _namespace()], capture_output=True, text=True, check=True).stdout.strip())
    for path in (foreign, other_host):
        os.chmod(str(path), 0o600)
    second = play(tree)
    assert second.returncode == 0, second.stdout[-4000:]
    assert not (conn / "ib3.nmconnection").exists()
    assert sorted(os.listdir(str(conn))) == sorted(PROFILES + ["site-storage.nmconnection", "ib7.nmconnection"])
    third = play(tree)
    assert third.returncode == 0 and recap(third)["changed"] == 0, third.stdout[-4000:]


def _namespace():
    import yaml
    with open(os.path.join(ROOT, "roles/fabric_client/vars/main.yml")) as f:
        return yaml.safe_load(f)["__fabric_client_uuid_namespace"]
