#!/bin/bash
# Build the local Debian 12 image with systemd as PID 1 used by every Molecule scenario.
# No registry is reachable, so the root file system comes from debootstrap and the mirror
# is the one apt on this machine already uses (never hard-coded).
set -euo pipefail
# Bumped whenever the image's content changes: setup.sh rebuilds an image with another version.
IMAGE_VERSION=2
ROOTFS=${1:-/var/tmp/fabric-debian12-rootfs}
IMAGE=${2:-localhost/debian12-systemd:latest}
MIRROR=${MIRROR:-$(
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true;
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' || true; } \
  | grep -vE 'security' | head -n1 || true)}
[ -n "$MIRROR" ] || { echo "cannot determine the Debian mirror from apt's sources; set MIRROR=" >&2; exit 1; }
rm -rf "$ROOTFS"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,python3,dbus,iproute2,python3-apt,procps,ca-certificates,openssh-server \
  bookworm "$ROOTFS" "$MIRROR"
cat > "$ROOTFS/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
SRC
echo "debian12-systemd" > "$ROOTFS/etc/hostname"
: > "$ROOTFS/etc/machine-id"
# Units that fail or make no sense in a container. sshd is installed but never listens: the lab,
# the fault test and the benchmarks reach a container over ssh through `podman exec -i <ct> sshd -i`
# (lab/fabric_lab/container_ssh.py), so no container serves ssh on any network.
for u in systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service \
         getty.target console-getty.service serial-getty@.service \
         sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
         systemd-firstboot.service systemd-modules-load.service kmod-static-nodes.service \
         apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
         ssh.service ssh.socket; do
  ln -sf /dev/null "$ROOTFS/etc/systemd/system/$u"
done
# A fresh package index in the image: an empty one looks "recent" to apt's cache_valid_time.
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
chroot "$ROOTFS" apt-get update -qq
rm -f "$ROOTFS/etc/resolv.conf" "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin
podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
tar -C "$ROOTFS" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' \
  --change 'ENV container=podman' --change "LABEL org.fabric-boot.image-version=$IMAGE_VERSION" - "$IMAGE"
