#!/usr/bin/env bash
# The lab's SOURCE image: the newest installed Debian amd64 kernel and a generic
# (dracut --no-hostonly) initrd for it WITH dracut's network stage, so that
# `ip=<if>:dhcp rd.neednet=1` really runs DHCP in the initrd. boot_image then injects a
# driver set into this initrd like into any distribution's installer initrd.
#
#   lab/image/build-source-image.sh [OUTDIR]     (default: <checkout>/build/lab/source)
#
# Writes OUTDIR/vmlinuz, OUTDIR/initrd.img and OUTDIR/inputs (what the image was built
# from). When OUTDIR/inputs matches the current inputs the build is skipped, so a lab
# set-up on a machine that already has the image costs nothing. FORCE=1 rebuilds.
#
# Why these dracut choices (docs/lab.md, "The image every VM boots"):
# - network-legacy: Debian 12's dracut-network ships network-legacy (dhclient from
#   isc-dhcp-client, arping from iputils-arping) and network-manager. dracut's own choice
#   (40network) prefers network-manager when nm-initrd-generator exists, and that handler
#   needs NetworkManager's initrd service set; network-legacy runs under dracut's shell init
#   as well as under systemd. Its dhclient.conf sends `dhcp-client-identifier = hardware`,
#   i.e. 01:<MAC> on Ethernet (see docs/roles/boot_image.md, smoke test).
# - systemd kept: like RHEL's and Debian's own dracut images. dracut's shell init (no
#   systemd) never reads modules-load.d, so a driver set injected by boot_image would only
#   load through rd.driver.pre or hardware autoload there.
# - Only the dracut modules a network-booted initrd needs (--modules, their dependencies come
#   along): systemd's initrd, udev, dracut's network stage and its hooks, rootfs-block and
#   kernel-modules. No storage stacks, no plymouth, no ifcfg, no qemu block drivers.
# - Only the kernel drivers a lab VM needs: the NICs qemu gives (virtio-net, e1000, e1000e)
#   with their dependencies (LAB_DRIVERS). A generic image carries every block, USB, HID,
#   filesystem and NIC driver of the kernel: 140 of its 175 MB unpacked, all of it dragged
#   through the VMs' TFTP and HTTP fetches under TCG. --drivers stops kernel-modules' bulk
#   install; kernel-network-modules (a dependency of the network stage) installs every driver
#   under drivers/net whatever the options, so dracut reads the kernel's modules from a staged
#   copy of /lib/modules/<kver> that holds only LAB_DRIVERS' closure (--kmoddir). The driver
#   set and rdma_rxe still come from the full /lib/modules: boot_image injects them.
# - --kver (the running kernel is not Debian's), --force, --no-hostonly-cmdline (no host
#   root= baked in), zstd -19: the image is small enough now that the best zstd level costs
#   a few seconds, and zstd decompresses as fast at -19 as at -3 (the kernel unpacks it
#   under TCG at every boot).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/lab/source}

# Newest Debian kernel that has both a vmlinuz and a modules tree (as tests/fabric_test_env.py).
kver=""
for moddir in /lib/modules/*-amd64; do
  k=${moddir##*/}
  [ -e "$moddir/modules.dep" ] && [ -e "/boot/vmlinuz-$k" ] || continue
  kver=$(printf '%s\n%s\n' "$kver" "$k" | sed '/^$/d' | sort -V | tail -n 1)
done
if [ -z "$kver" ]; then
  echo "build-source-image: no Debian kernel with modules under /lib/modules/*-amd64;" \
       "install linux-image-amd64 (tests/ci/apt-packages.sh)" >&2
  exit 1
fi
for tool in dracut dhclient arping zstd; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ] && [ ! -x "/sbin/$tool" ]; then
    echo "build-source-image: $tool not found; install dracut-core, dracut-network and zstd" \
         "(tests/ci/apt-packages.sh)" >&2
    exit 1
  fi
done

# The NIC drivers of the VMs qemu gives (lab/fabric_lab/paths.py uses virtio-net-pci).
LAB_DRIVERS="virtio_pci virtio_net e1000 e1000e"
DRACUT_MODULES="systemd systemd-initrd dracut-systemd udev-rules base fs-lib shutdown rootfs-block
  kernel-modules network network-legacy"
DRACUT_ARGS=(
  --kver "$kver" --force --no-hostonly --no-hostonly-cmdline
  --compress "zstd -19 -T0 -q"
  --modules "$(echo $DRACUT_MODULES)"
  --drivers "$LAB_DRIVERS"
)

# A copy of /lib/modules/<kver> with only LAB_DRIVERS and their dependencies (modprobe's own
# resolution), indexed by depmod: what dracut's bulk installs can find.
stage_modules() {
  local dst=$1/lib/modules/$kver src=/lib/modules/$kver mod ko
  mkdir -p "$dst"
  cp -p "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo "$dst"/
  for mod in $LAB_DRIVERS; do
    modprobe -S "$kver" --show-depends "$mod" >"$1/deps" || {
      echo "build-source-image: kernel $kver has no module $mod" >&2; return 1; }
    while read -r verb ko _; do
      [ "$verb" = insmod ] || continue
      mkdir -p "$dst/$(dirname "${ko#"$src"/}")"
      cp -p "$ko" "$dst/${ko#"$src"/}"
    done <"$1/deps"
  done
  depmod -b "$1" "$kver"
}

# Everything that changes the result: this script, the kernel, the dracut and DHCP client packages.
inputs() {
  echo "script $(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
  echo "kver $kver"
  echo "vmlinuz $(stat -c '%s %Y' "/boot/vmlinuz-$kver")"
  echo "modules.dep $(stat -c '%s %Y' "/lib/modules/$kver/modules.dep")"
  dpkg-query -W -f='package ${Package} ${Version}\n' dracut-core dracut-network isc-dhcp-client \
    iputils-arping busybox-static kmod udev 2>/dev/null || true
  echo "dracut-args ${DRACUT_ARGS[*]}"
}

want=$(inputs)
if [ "${FORCE:-0}" != 1 ] && [ -f "$out/inputs" ] && [ -f "$out/initrd.img" ] && [ -f "$out/vmlinuz" ] \
   && [ "$(cat "$out/inputs")" = "$want" ]; then
  echo "build-source-image: $out is current (kernel $kver), nothing to do"
  exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s.%N)
stage_modules "$tmp/kmod"
if ! dracut "${DRACUT_ARGS[@]}" --kmoddir "$tmp/kmod/lib/modules/$kver" --tmpdir "$tmp" "$tmp/initrd.img" \
    >"$tmp/dracut.log" 2>&1; then
  tail -n 40 "$tmp/dracut.log" >&2
  echo "build-source-image: dracut failed (log above)" >&2
  exit 1
fi
# The network stage must be in the image, or ip=<if>:dhcp silently does nothing.
listing=$(lsinitrd "$tmp/initrd.img")
for f in usr/sbin/dhclient usr/sbin/ifup usr/sbin/dhclient-script etc/dhclient.conf \
         "usr/lib/modules/$kver/kernel/drivers/net/virtio_net.ko"; do
  if ! grep -q " $f\$" <<<"$listing"; then
    echo "build-source-image: $f is missing from the image: dracut did not include network-legacy" >&2
    exit 1
  fi
done
install -m 0644 "/boot/vmlinuz-$kver" "$tmp/vmlinuz"
chmod 0644 "$tmp/initrd.img"
mv -f "$tmp/vmlinuz" "$out/vmlinuz"
mv -f "$tmp/initrd.img" "$out/initrd.img"
printf '%s\n' "$want" > "$out/inputs"
end=$(date +%s.%N)
printf 'build-source-image: %s/initrd.img (%s bytes, kernel %s) built in %.1f s\n' \
  "$out" "$(stat -c %s "$out/initrd.img")" "$kver" "$(echo "$end - $start" | bc)"
