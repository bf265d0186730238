"""Verify fabric.boot.http_server in fb-http, with curl from netns fbhttp.

br0 in the netns carries 192.168.100.1 (inside the provisioning network
192.168.100.0/24) and 10.99.0.1 (outside it); the instance's pxe0 carries
192.168.100.2 (the boot server, the only Listen address) and 10.99.0.2.
"""

import pytest
import testinfra

NETNS = "fbhttp"
SERVER = "192.168.100.2"
BASE = "http://%s" % SERVER
TREE = "/var/www/html/netinstall/ISO/FBTEST"
CONF = "/etc/apache2/conf-available/fabric-netinstall.conf"
LISTEN_CONF = "/etc/apache2/conf-available/fabric-listen.conf"
LOCAL = testinfra.get_host("local://")


def curl(args, source="192.168.100.1"):
    """curl from the netns; returns (rc, http_code, headers+body text)."""
    r = LOCAL.run("ip netns exec %s curl -sS --max-time 10 --interface %s %s" % (NETNS, source, args))
    return r


def status(url, source="192.168.100.1", method=""):
    r = curl("%s -o /dev/null -w '%%{http_code}' %s" % (method, url), source)
    assert r.rc == 0, r
    return int(r.stdout)


def test_apache_running_and_config_valid(host):
    assert host.package("apache2").is_installed
    svc = host.service("apache2")
    assert svc.is_enabled and svc.is_running
    r = host.run("apache2ctl -t")
    assert r.rc == 0, r.stderr


def test_config_uses_apache24_access_control(host):
    conf = host.file(CONF).content_string
    assert 'Alias "/netinstall" "/var/www/html/netinstall"' in conf
    assert 'Alias "/boot" "/var/lib/tftpboot"' in conf
    assert "Options Indexes FollowSymLinks" in conf
    assert "Require ip 192.168.100.0/24" in conf
    assert "Order" not in conf and "Allow from" not in conf
    for path in (CONF, LISTEN_CONF):
        link = host.file(path.replace("conf-available", "conf-enabled"))
        assert link.is_symlink and link.linked_to == path


def test_listens_only_on_boot_server_address(host):
    listen = [line for line in host.file(LISTEN_CONF).content_string.splitlines() if line.startswith("Listen")]
    assert listen == ["Listen %s:80" % SERVER]
    assert "\nListen 80" not in "\n" + host.file("/etc/apache2/ports.conf").content_string
    out = host.run("ss -Htln 'sport = :80'").stdout.split()
    local = [w for w in out if w.endswith(":80")]
    assert local == ["%s:80" % SERVER], out
    # 10.99.0.2 is an address of the instance, but apache must not answer there.
    r = curl("-o /dev/null http://10.99.0.2/netinstall/")
    assert r.rc == 7, r  # CURLE_COULDNT_CONNECT


def test_netinstall_index_allowed():
    assert status(BASE + "/netinstall/") == 200
    r = curl(BASE + "/netinstall/ISO/")
    assert "FBTEST" in r.stdout


def test_netinstall_forbidden_outside_provisioning_networks():
    assert status(BASE + "/netinstall/", source="10.99.0.1") == 403
    assert status(BASE + "/netinstall/ISO/FBTEST/.treeinfo", source="10.99.0.1") == 403
    assert status(BASE + "/boot/uefi/grub.cfg", source="10.99.0.1") == 403


def test_treeinfo(host):
    assert status(BASE + "/netinstall/ISO/FBTEST/.treeinfo") == 200
    r = curl(BASE + "/netinstall/ISO/FBTEST/.treeinfo")
    assert r.stdout == host.file(TREE + "/.treeinfo").content_string
    assert "mainimage = images/install.img" in r.stdout


def test_install_img_content_length(host):
    size = host.file(TREE + "/images/install.img").size
    assert size == 3000001
    r = curl("-I " + BASE + "/netinstall/ISO/FBTEST/images/install.img")
    assert r.stdout.startswith("HTTP/1.1 200"), r.stdout
    lengths = [line.split(":", 1)[1].strip() for line in r.stdout.splitlines()
               if line.lower().startswith("content-length:")]
    assert lengths == [str(size)], r.stdout


def test_install_img_body_matches(host):
    r = LOCAL.run("ip netns exec %s curl -sS --max-time 20 %s/netinstall/ISO/FBTEST/images/install.img"
                  " | sha256sum" % (NETNS, BASE))
    assert r.rc == 0, r
    assert r.stdout.split()[0] == host.file(TREE + "/images/install.img").sha256sum


@pytest.mark.parametrize("path", ["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "EFI/BOOT/grubx64.efi"])
def test_tree_root_owned_and_read_only_to_web_user(host, path):
    f = host.file("%s/%s" % (TREE, path))
    assert f.is_file
    assert f.user == "root" and f.group == "root"       # was www-data before issue 10
    assert f.mode & 0o444 == 0o444 and not f.mode & 0o022
    # The web server user can read it and cannot change it.
    assert host.run("runuser -u www-data -- test -r %s", f.path).rc == 0
    assert host.run("runuser -u www-data -- test -w %s", f.path).rc != 0
    assert host.run("runuser -u www-data -- touch %s/new-file", TREE).rc != 0
    assert status("%s/netinstall/ISO/FBTEST/%s" % (BASE, path), method="-I") == 200


def test_no_file_in_tree_owned_by_web_user(host):
    assert host.run("find %s -user www-data -o -group www-data", TREE).stdout == ""


def test_default_site_not_served(host):
    """Debian's 000-default site is disabled and /var/www/html is denied; the netinstall tree
    below it is still served (http_server_default_site: false)."""
    assert not host.file("/etc/apache2/sites-enabled/000-default.conf").exists
    assert host.file("/var/www/html/index.html").exists     # the package's page is still there
    assert status(BASE + "/") == 403                        # 200 "It works" before issue 10
    assert status(BASE + "/index.html") == 403
    assert status(BASE + "/netinstall/ISO/FBTEST/.treeinfo") == 200


def test_stamp_records_iso_checksum(host):
    iso_sum = host.file("/srv/iso/fbtest.iso").sha256sum
    stamp = host.file("/var/lib/fabric-boot/http_server/FBTEST.stamp").content_string
    assert stamp == "sha256:%s /srv/iso/fbtest.iso\n" % iso_sum


def test_boot_alias_serves_tftp_root():
    r = curl(BASE + "/boot/uefi/grub.cfg")
    assert r.rc == 0 and r.stdout == "set timeout=1\n", r


def test_bad_candidate_is_rejected_and_live_config_kept(host):
    before = host.file(CONF).sha256sum
    host.run("printf 'Alias /only-one-argument\\n' > /tmp/bad-candidate.conf")
    r = host.run("/usr/local/libexec/fabric-boot/fabric-apache-configtest --server-root /etc/apache2"
                 " --config apache2.conf --binary /usr/sbin/apache2 --envvars envvars"
                 " --as conf-enabled/fabric-netinstall.conf /tmp/bad-candidate.conf")
    assert r.rc != 0
    assert "Alias must have two arguments" in r.stderr, r.stderr
    assert host.file(CONF).sha256sum == before
    assert host.run("apache2ctl -t").rc == 0
