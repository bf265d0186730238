"""Render every template of tftp_server and http_server with each family's variables
and run the validators the roles run (fabric-unit-verify = systemd-analyze verify;
fabric-apache-configtest = the Apache configuration test) on the result.

RedHat is rendered with roles/*/vars/RedHat.yml and checked against a RedHat-like
httpd layout (redhat_httpd/: RHEL 9's httpd.conf structure, conf.d/, conf.modules.d/,
the relative `modules` link) run by Debian's apache2 binary, because httpd itself is
not installable here. What that does and does not prove is in docs/roles/http_server.md.
Debian is rendered with vars/Debian.yml against this host's real /etc/apache2.

Needs: root, apache2 and tftpd-hpa installed (tests/ci/apt-packages.sh); starts no daemon
outside the namespace it creates.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = ("tftp_server", "http_server")
UNIT_VERIFY = os.path.join(ROOT, "roles/tftp_server/files/fabric-unit-verify")
APACHE_TEST = os.path.join(ROOT, "roles/http_server/files/fabric-apache-configtest")
APACHE2 = "/usr/sbin/apache2"

NETWORKS = {
    "fabric0": {"subnet": "192.168.100.0/24", "boot_server": "192.168.100.1"},
    "opa0": {"subnet": "10.20.0.0/16", "boot_server": "10.20.0.1"},
}
# The boot server carries the first network only: Listen must name 192.168.100.1 alone.
FACTS = {"all_ipv4_addresses": ["192.168.100.1", "172.16.5.9"], "os_family": None}

CASES = {
    "RedHat-default": ("RedHat", {}),
    "RedHat-bound-upload": ("RedHat", {
        "tftp_server_listen_addresses": ["10.20.0.1"],
        "tftp_server_allow_upload": True,
        "tftp_server_extra_args": ["--blocksize", "1468"],
        "fabric_tftp_root": "/srv/tftp",
        "fabric_http_boot_alias": "/tftp",
        "http_server_allow_from": ["all"],
    }),
    "Debian-default": ("Debian", {}),
    "Debian-listen-any": ("Debian", {"tftp_server_listen_any": True}),
}


def setup_module():
    # Not a skip: on a CI host without these, the test must fail, not pass silently.
    assert os.geteuid() == 0, "needs root (network namespace, root-only configuration files)"
    for prog in (APACHE2, "/usr/sbin/in.tftpd", shutil.which("systemd-analyze") or "systemd-analyze"):
        assert os.path.exists(prog), "%s missing: install the packages of tests/ci/apt-packages.sh" % prog


def _templates():
    out = []
    for role in ROLES:
        tdir = os.path.join(ROOT, "roles", role, "templates")
        for name in sorted(os.listdir(tdir)):
            if name.endswith(".j2"):
                out.append((role, name))
    return out


def _render(tmp_path, family, extra):
    """Render every template through ansible's template module; returns {template: path}."""
    out = tmp_path / "out"
    out.mkdir()
    vars_files = []
    for role in ROLES:
        for f in ("defaults/main.yml", "vars/main.yml", "vars/%s.yml" % family):
            vars_files.append(os.path.join(ROOT, "roles", role, f))
    play = [{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars_files": vars_files,
        "tasks": [{
            "name": "render",
            "ansible.builtin.template": {
                "src": "{{ item.1 }}",
                "dest": "%s/{{ item.1 | basename | regex_replace('\\.j2$', '') }}" % out,
                "mode": "0644",
            },
            "loop": [[r, os.path.join(ROOT, "roles", r, "templates", n)] for r, n in _templates()],
            # The first socket/service pair, as tasks/units.yml renders it.
            "vars": {"__tftp_server_pair": "{{ __tftp_server_pair_names[0] }}",
                     "__tftp_server_address": "{{ __tftp_server_addresses[0] }}"},
        }],
    }]
    pb = tmp_path / "render.yml"
    pb.write_text(yaml.safe_dump(play))
    facts = dict(FACTS, os_family=family)
    ev = dict({"fabric_networks": NETWORKS, "ansible_facts": facts,
               "ansible_python_interpreter": sys.executable}, **extra)
    evf = tmp_path / "extra.yml"
    evf.write_text(yaml.safe_dump(ev))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build/collections"),
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    r = subprocess.run(["ansible-playbook", "-i", "localhost,", str(pb), "-e", "@%s" % evf],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    rendered = {}
    for role, name in _templates():
        p = out / os.path.basename(os.path.join(ROOT, "roles", role, "templates", name))[:-3]
        assert p.exists(), p
        rendered[name] = str(p)
    return rendered


_RENDERED = {}


@pytest.fixture
def rendered_case(tmp_path_factory):
    """Render each case once per session (an ansible-playbook run costs seconds)."""
    def get(case):
        if case not in _RENDERED:
            family, extra = CASES[case]
            _RENDERED[case] = _render(tmp_path_factory.mktemp("render-" + case), family, extra)
        return _RENDERED[case]
    return get


def _family_vars(role, family):
    with open(os.path.join(ROOT, "roles", role, "vars", "%s.yml" % family)) as f:
        return yaml.safe_load(f)


def _unit_verify(staging, name, candidate):
    return subprocess.run([UNIT_VERIFY, "--with", staging, name, candidate], capture_output=True, text=True, check=False)


def _redhat_layout(tmp_path):
    """A RedHat-like /etc/httpd under tmp_path, with RHEL's relative `modules` link."""
    base = tmp_path / "rh"
    server_root = base / "etc" / "httpd"
    shutil.copytree(os.path.join(HERE, "redhat_httpd"), str(server_root))
    # RHEL: /etc/httpd/modules -> ../../usr/lib64/httpd/modules; here that directory
    # is a link to Debian's module directory.
    moddir = base / "usr" / "lib64" / "httpd"
    moddir.mkdir(parents=True)
    os.symlink("/usr/lib/apache2/modules", str(moddir / "modules"))
    os.symlink("../../usr/lib64/httpd/modules", str(server_root / "modules"))
    logs = base / "var" / "log" / "httpd"
    logs.mkdir(parents=True)
    os.symlink("../../var/log/httpd", str(server_root / "logs"))
    httpd_conf = server_root / "conf" / "httpd.conf"
    text = httpd_conf.read_text()
    # The user "apache" does not exist on this Debian host.
    text = text.replace("User apache", "User nobody").replace("Group apache", "Group nogroup")
    text = text.replace('ServerRoot "/etc/httpd"', 'ServerRoot "%s"' % server_root)
    httpd_conf.write_text(text)
    return str(server_root)


def _apache_cmd(family, server_root):
    fv = _family_vars("http_server", family)
    cmd = [APACHE_TEST, "--server-root", server_root, "--config", fv["__http_server_main_config"],
           "--binary", APACHE2]
    if fv["__http_server_envvars"]:
        cmd += ["--envvars", fv["__http_server_envvars"]]
    return cmd


def _listen_replace():
    """regexp/replace of the role's task that comments out the distribution's Listen."""
    with open(os.path.join(ROOT, "roles/http_server/tasks/configure.yml")) as f:
        tasks = yaml.safe_load(f)
    task = [t for t in tasks if "ansible.builtin.replace" in t][0]["ansible.builtin.replace"]
    return task["regexp"], task["replace"]


def test_every_template_has_a_validator():
    known = {"tftp.service.j2", "tftp.socket.j2", "fabric-netinstall.conf.j2", "fabric-listen.conf.j2"}
    assert {n for _unused, n in _templates()} == known, "add the new template's validator to this test"


@pytest.mark.parametrize("case", sorted(CASES))
def test_units_verify(tmp_path, rendered_case, case):
    family, extra = CASES[case]
    rendered = rendered_case(case)
    staging = tmp_path / "staging"
    staging.mkdir()
    unit = extra.get("tftp_server_unit_name", "tftp")
    for tpl, name in (("tftp.service.j2", unit + ".service"), ("tftp.socket.j2", unit + ".socket")):
        shutil.copy(rendered[tpl], str(staging / name))
    for name in (unit + ".service", unit + ".socket"):
        r = _unit_verify(str(staging), name, str(staging / name))
        assert r.returncode == 0, (name, r.stderr)
    svc = open(rendered["tftp.service.j2"]).read()
    sock = open(rendered["tftp.socket.j2"]).read()
    execl = [line for line in svc.splitlines() if line.startswith("ExecStart=")][0]
    fv = _family_vars("tftp_server", family)
    assert execl.startswith("ExecStart=%s " % fv["__tftp_server_daemon"])
    assert execl.endswith(" " + extra.get("fabric_tftp_root", "/var/lib/tftpboot"))
    assert (" -c " in execl) == bool(extra.get("tftp_server_allow_upload")), execl
    if extra.get("tftp_server_listen_any"):
        assert "ListenDatagram=69\n" in sock and "FreeBind" not in sock
    else:
        # Default: the first network's boot_server (not every address, as before issue 10).
        first = extra.get("tftp_server_listen_addresses", [NETWORKS["fabric0"]["boot_server"]])[0]
        assert "ListenDatagram=%s:69\n" % first in sock
        assert "FreeBind=true" in sock
    if fv["__tftp_server_distro_units"]:
        assert "Conflicts=%s" % " ".join(fv["__tftp_server_distro_units"]) in sock
    else:
        assert "Conflicts=" not in sock


def test_unit_verify_rejects_broken_units(tmp_path, rendered_case):
    """The validator fails: a socket without its service, and a service with a bad ExecStart."""
    rendered = rendered_case("RedHat-default")
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _unit_verify(str(empty), "tftp.socket", rendered["tftp.socket.j2"])
    assert r.returncode != 0 and "tftp.service" in r.stderr, r.stderr
    bad = tmp_path / "bad.service"
    bad.write_text(open(rendered["tftp.service.j2"]).read().replace("/usr/sbin/in.tftpd", "/usr/sbin/in.tftpd-missing"))
    r = _unit_verify(str(empty), "tftp.service", str(bad))
    assert r.returncode != 0, r.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_apache_config(tmp_path, rendered_case, case):
    family, extra = CASES[case]
    rendered = rendered_case(case)
    fv = _family_vars("http_server", family)
    conf = open(rendered["fabric-netinstall.conf.j2"]).read()
    if extra.get("http_server_allow_from") == ["all"]:
        assert "Require all granted" in conf
    else:
        assert conf.count("Require ip 192.168.100.0/24 10.20.0.0/16") == 2, conf
    assert "Listen" not in re.sub(r"^#.*$", "", conf, flags=re.M), conf
    listen = open(rendered["fabric-listen.conf.j2"]).read()
    assert re.findall(r"^Listen .*$", listen, re.M) == ["Listen 192.168.100.1:80"], listen
    assert 'Alias "%s" "%s"' % (extra.get("fabric_http_boot_alias", "/boot"),
                                extra.get("fabric_tftp_root", "/var/lib/tftpboot")) in conf
    assert "Order " not in conf and "Allow from" not in conf

    if family == "RedHat":
        server_root = _redhat_layout(tmp_path)
    else:
        server_root = fv["__http_server_server_root"]  # the host's own /etc/apache2, only read
    cmd = _apache_cmd(family, server_root)
    # 1. our two files, each where the server reads it
    for tpl, as_ in (("fabric-listen.conf.j2", fv["__http_server_listen_as"]),
                     ("fabric-netinstall.conf.j2", fv["__http_server_conf_as"])):
        r = subprocess.run(cmd + ["--as", as_, rendered[tpl]], capture_output=True, text=True, check=False)
        assert r.returncode == 0, (tpl, r.stderr)
    # 2. the distribution's Listen commented out by the role's own regexp/replace
    regexp, replace = _listen_replace()
    ports = os.path.join(server_root, fv["__http_server_ports_as"])
    text = open(ports).read()
    new = re.sub(regexp, replace.replace("{{ __http_server_listen_file }}", fv["__http_server_listen_file"]),
                 text, flags=re.M)
    assert "\nListen 80" not in "\n" + new and "# Listen 80  # fabric.boot" in new
    cand = tmp_path / "ports-candidate"
    cand.write_text(new)
    r = subprocess.run(cmd + ["--as", fv["__http_server_ports_as"], str(cand)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    # 3. a broken candidate is refused (the validator can fail)
    bad = tmp_path / "bad.conf"
    bad.write_text(open(rendered["fabric-netinstall.conf.j2"]).read() + "\nAlias /only-one\n")
    r = subprocess.run(cmd + ["--as", fv["__http_server_conf_as"], str(bad)], capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "Alias must have two arguments" in r.stderr, r.stderr


def _install_all(family, server_root, rendered, tmp_path):
    """Put every file the role writes into a RedHat-like layout, as the role would."""
    fv = _family_vars("http_server", family)
    for tpl, as_ in (("fabric-listen.conf.j2", fv["__http_server_listen_as"]),
                     ("fabric-netinstall.conf.j2", fv["__http_server_conf_as"])):
        shutil.copy(rendered[tpl], os.path.join(server_root, as_))
    regexp, replace = _listen_replace()
    ports = os.path.join(server_root, fv["__http_server_ports_as"])
    text = open(ports).read()
    with open(ports, "w") as f:
        f.write(re.sub(regexp, replace.replace("{{ __http_server_listen_file }}", fv["__http_server_listen_file"]),
                       text, flags=re.M))


NETNS = "fbrhrender"


def _sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, check=False)
    if check:
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    return r


def test_redhat_layout_serves_in_netns(tmp_path):
    """The RedHat rendering, installed into the RedHat-like layout, run by apache2 inside
    a namespace we create: Listen only on the boot server address, 200 from the
    provisioning network, 403 from outside it, both aliases; the document root denied."""
    pub = tempfile.mkdtemp(prefix="fabric-rh-serve.")   # readable by apache's user (nobody)
    os.chmod(pub, 0o755)
    try:
        http_root, tftp_root = os.path.join(pub, "netinstall"), os.path.join(pub, "tftpboot")
        os.makedirs(os.path.join(http_root, "ISO", "T"))
        os.makedirs(os.path.join(tftp_root, "uefi"))
        with open(os.path.join(http_root, "ISO", "T", ".treeinfo"), "w") as f:
            f.write("[general]\n")
        with open(os.path.join(tftp_root, "uefi", "grub.cfg"), "w") as f:
            f.write("set timeout=1\n")
        for d, _unused, files in os.walk(pub):
            os.chmod(d, 0o755)
            for n in files:
                os.chmod(os.path.join(d, n), 0o644)
        rendered = _render(tmp_path, "RedHat", {"fabric_http_root": http_root, "fabric_tftp_root": tftp_root})
        server_root = _redhat_layout(tmp_path)
        _install_all("RedHat", server_root, rendered, tmp_path)
        run = os.path.join(server_root, "run")
        os.makedirs(run)
        with open(os.path.join(server_root, "conf", "httpd.conf"), "a") as f:
            # RHEL's compiled-in defaults, spelled out for Debian's binary.
            f.write("PidFile run/httpd.pid\nDefaultRuntimeDir run\nMutex file:%s\n" % run)
        r = subprocess.run(_apache_cmd("RedHat", server_root), capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stderr
        _sh("ip netns del %s 2>/dev/null" % NETNS, check=False)
        _sh("ip netns add {0} && ip -n {0} link set lo up && ip -n {0} link add d0 type veth peer name d1 && "
            "ip -n {0} addr add 192.168.100.1/24 dev d0 && ip -n {0} addr add 10.99.0.1/24 dev d0 && "
            "ip -n {0} link set d1 up && ip -n {0} link set d0 up".format(NETNS))
        assert "default" not in _sh("ip -n %s route" % NETNS).stdout
        httpd = "ip netns exec %s %s -d %s -f conf/httpd.conf" % (NETNS, APACHE2, server_root)
        _sh(httpd + " -k start")
        try:
            curl = "ip netns exec %s curl -s -o /dev/null -w '%%{http_code}' --max-time 5 " % NETNS
            for _unused in range(50):
                if _sh(curl + "http://192.168.100.1/netinstall/", check=False).stdout == "200":
                    break
                time.sleep(0.2)
            assert _sh(curl + "http://192.168.100.1/netinstall/ISO/T/.treeinfo").stdout == "200"
            assert _sh(curl + "http://192.168.100.1/boot/uefi/grub.cfg").stdout == "200"
            # The main server's DocumentRoot /var/www/html (this host has apache2's index.html
            # there) is denied: http_server_default_site is false. 200 before issue 10.
            assert os.path.exists("/var/www/html/index.html")
            assert _sh(curl + "http://192.168.100.1/").stdout == "403"
            assert _sh(curl + "http://192.168.100.1/index.html").stdout == "403"
            outside = curl + "--interface 10.99.0.1 "
            assert _sh(outside + "http://192.168.100.1/netinstall/ISO/T/.treeinfo").stdout == "403"
            assert _sh(outside + "http://192.168.100.1/boot/uefi/grub.cfg").stdout == "403"
            # Listen is 192.168.100.1:80 only: the other address of the host refuses.
            assert _sh(curl + "http://10.99.0.1/netinstall/", check=False).returncode == 7
        finally:
            _sh(httpd + " -k stop", check=False)
            pidfile = os.path.join(run, "httpd.pid")
            for _unused in range(50):
                if not os.path.exists(pidfile):
                    break
                time.sleep(0.2)
    finally:
        _sh("ip netns del %s" % NETNS, check=False)
        shutil.rmtree(pub, ignore_errors=True)
