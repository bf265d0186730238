#!/usr/bin/env bash
# The lab's diskless image root (docs/lab.md, path "diskless"): a small Debian 12 tree that
# boots to multi-user with NetworkManager, the way an admin's debootstrap/mmdebstrap root would.
#
# It starts from the systemd image every Molecule scenario and the lab's boot server use
# (tests/ci/build-image.sh, debootstrap minbase), so no second bootstrap runs: the units that
# image masks for containers are unmasked, network-manager, udev and kmod are installed from
# the mirror apt on this machine already uses, and the installed Debian kernel goes in with the
# module subset a VM and the fabric need (virtio, the mlx4/mlx5/hfi1 driver sets, IPoIB,
# Soft-RoCE, squashfs/overlay), indexed by depmod. No initrd: diskless_image builds that.
#
# usage: build-diskless-root.sh <out dir>   (cached: rebuilt only when this script, the
# container image or the kernel changed; a build that dies leaves <out>.partial, removed next time)
set -euo pipefail
OUT=$1
IMAGE=${IMAGE:-localhost/debian12-systemd:latest}
HERE=$(cd "$(dirname "$0")" && pwd)
KVER=$(cd /lib/modules && ls -d *-amd64 | sort -V | tail -n1)
[ -f "/boot/vmlinuz-$KVER" ] || { echo "no /boot/vmlinuz-$KVER: install linux-image-amd64" >&2; exit 1; }
# the NIC and storage of the lab's VMs, the fabric driver sets, Soft-RoCE, what the live root mounts
MODULES="virtio_net virtio_pci virtio_blk virtio_rng e1000 e1000e squashfs loop overlay isofs dm_mod
 mlx4_ib mlx4_en mlx5_ib ib_ipoib ib_umad rdma_ucm rdma_rxe hfi1 rdmavt crc32_generic"
PACKAGES="network-manager udev kmod"
key=$(printf '%s\n' "$(sha256sum "$0" | cut -d' ' -f1)" "$(podman image inspect -f '{{.Id}}' "$IMAGE")" "$KVER" \
      | sha256sum | cut -d' ' -f1)

mkdir -p "$(dirname "$OUT")"
exec 9> "$OUT.lock"
flock 9                     # the lab and a benchmark may ask at the same time
if [ -d "$OUT" ] && [ -f "$OUT.key" ] && [ "$(cat "$OUT.key")" = "$key" ]; then
  echo "diskless root $OUT is current ($KVER)"
  exit 0
fi
tmp=$OUT.partial
rm -rf "$tmp" "$OUT" "$OUT.key"
mkdir -p "$tmp"
cid=$(podman create "$IMAGE" /bin/true)
podman export "$cid" | tar -C "$tmp" -x
podman rm "$cid" > /dev/null

# The container image masks these (tests/ci/build-image.sh); a VM needs them.
for u in systemd-remount-fs.service systemd-udevd.service systemd-udev-trigger.service getty.target \
         console-getty.service serial-getty@.service systemd-firstboot.service systemd-modules-load.service \
         kmod-static-nodes.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount; do
  [ -L "$tmp/etc/systemd/system/$u" ] && rm "$tmp/etc/systemd/system/$u"
done
echo diskless > "$tmp/etc/hostname"
: > "$tmp/etc/machine-id"           # systemd makes one per boot (the overlay is on tmpfs)

cleanup() { umount "$tmp/proc" 2>/dev/null || true; rm -f "$tmp/etc/resolv.conf"; }
trap cleanup EXIT
mount -t proc proc "$tmp/proc"
cp -L /etc/resolv.conf "$tmp/etc/resolv.conf"
chroot "$tmp" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES \
  > "$tmp.apt.log" 2>&1 || { tail -30 "$tmp.apt.log" >&2; exit 1; }
chroot "$tmp" apt-get clean
cleanup
trap - EXIT
rm -f "$tmp.apt.log"
rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin "$tmp"/var/log/apt/* "$tmp"/var/log/dpkg.log

# The kernel and its module subset (modprobe resolves each module's dependencies).
cp "/boot/vmlinuz-$KVER" "$tmp/boot/"
mkdir -p "$tmp/lib/firmware" "$tmp/lib/modules/$KVER"
for m in $MODULES; do
  modprobe --show-depends --set-version "$KVER" "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r f; do
  mkdir -p "$tmp$(dirname "$f")"
  cp "$f" "$tmp$f"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
  [ -f "/lib/modules/$KVER/$f" ] && cp "/lib/modules/$KVER/$f" "$tmp/lib/modules/$KVER/"
done
depmod -b "$tmp" "$KVER"
mv "$tmp" "$OUT"
echo "$key" > "$OUT.key"
echo "diskless root $OUT built ($KVER, $(du -sm "$OUT" | cut -f1) MB)"
