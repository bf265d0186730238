"""Reach a podman container over OpenSSH, the way a site's controller reaches its boot server.

The lab, the fault test and the converge benchmark run playbooks/site.yml against a podman
systemd container. containers.podman's connection cannot pipeline: every task is about six
podman calls (mount, home, mkdir, put, run, rm), 0.6 to 1 s above ssh per task, which is most of
a site.yml run's time. So they use ansible's ssh connection with its ControlPersist master and
pipelining, as a site does.

The container has no route from the host (its only networks are podman's NAT and the test netns),
and it serves ssh on no network: sshd runs in inetd mode on the stdin of `podman exec -i`
(ssh's ProxyCommand), once per master connection. The image (tests/ci/build-image.sh) has
openssh-server installed and its units masked. UsePAM=no: no logind session and no systemd
--user instance per connection (in a reused container a new session once waited minutes for the
previous run's user@0.service to stop).

The key is this host's own, made on first use, authorised for root in the container; it lives in
key_dir(container) and forget() removes it. lab/inventory/host_vars/fblab-server.yml spells the
same connection in YAML for the committed lab inventory (a unit test keeps the two equal).
"""
import os
import shutil
import subprocess

KEY_ROOT = "/var/tmp"


def key_dir(container):
    return os.path.join(KEY_ROOT, "%s-ssh" % container)


def key_path(container):
    return os.path.join(key_dir(container), "id_ed25519")


def proxy_command(container):
    return "podman exec -i %s /usr/sbin/sshd -i -o UsePAM=no" % container


def connection_vars(container):
    """The inventory variables of a host that is this container, reached over ssh."""
    return {
        "ansible_connection": "ssh",
        "ansible_host": container,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": key_path(container),
        "ansible_ssh_common_args": ('-o ProxyCommand="%s" -o StrictHostKeyChecking=no '
                                    '-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR' % proxy_command(container)),
        "ansible_ssh_pipelining": True,
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def authorize(container):
    """Make the key (once) and authorise it for root in the running container; returns its path."""
    key = key_path(container)
    if not os.path.exists(key):
        os.makedirs(key_dir(container), mode=0o700, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fabric-boot@" + container, "-f", key],
                       check=True, capture_output=True)
    # /run/sshd is sshd's privilege separation directory; ssh.service would create it
    script = ("test -x /usr/sbin/sshd || { echo 'no /usr/sbin/sshd in the image: rebuild it "
              "(REBUILD_IMAGE=1 bash tests/ci/setup.sh)' >&2; exit 3; }; "
              "mkdir -p -m 0700 /root/.ssh /run/sshd && cat > /root/.ssh/authorized_keys && "
              "chmod 0600 /root/.ssh/authorized_keys")
    with open(key + ".pub") as pub:
        r = subprocess.run(["podman", "exec", "-i", container, "sh", "-c", script], stdin=pub,
                           capture_output=True, text=True, check=False)
    if r.returncode:
        raise RuntimeError("%s: authorising the ssh key failed (rc %d): %s" % (container, r.returncode, r.stderr.strip()))
    return key


def forget(container):
    """Remove the key authorize() made (the container goes with its own copy)."""
    shutil.rmtree(key_dir(container), ignore_errors=True)
