#!/bin/bash
# Install every Debian package the test suite needs on a fresh Debian 12 machine.
# Service start-up is blocked during the install (policy-rc.d): on a CI host
# without systemd, Debian's init scripts would otherwise start dhcpd, in.tftpd
# and apache2 on the host itself, outside any test network namespace.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  # podman + systemd test containers (root podman with runc, tests/ci/podman-conf.sh)
  podman runc netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs
  debootstrap systemd-container
  # network namespaces, real protocol clients and captures
  iproute2 bridge-utils busybox-static curl tftp-hpa tcpdump bc procps
  # the real daemons whose parsers validate generated configs
  isc-dhcp-server tftpd-hpa apache2 network-manager
  # the other DHCP backends of dhcp_server (their packet matrix runs the real daemons)
  kea-dhcp4-server dnsmasq-base
  # boot loaders and firmware for the qemu lab
  grub-common grub-efi-amd64-bin grub-efi-amd64-signed shim-signed pxelinux syslinux-common
  qemu-system-x86 ovmf ipxe-qemu seabios
  # kernels, initrd builders and compressors for initrd surgery tests
  linux-image-amd64 kmod cpio initramfs-tools pigz zstd xz-utils lz4 bzip2 gzip
  # ISO trees for the netinstall role tests
  xorriso libarchive-tools
  # RDMA user space (fabric_client tests)
  rdma-core ibverbs-utils infiniband-diags
  # python venv
  python3-venv
  # mkinitramfs: the initrd tests make a real initramfs-tools image beside the dracut ones
  initramfs-tools-core
)
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${PKGS[@]}"
# dracut conflicts with initramfs-tools as a package; the dracut tests use
# dracut-core's binary, which co-installs. dracut-network adds dracut's network stage
# (network-legacy: dhclient from isc-dhcp-client, arping) for the lab's source initrd.
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends dracut-core dracut-network
# diskless_image: mksquashfs/unsquashfs and dracut's live modules (dmsquash-live, livenet).
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends squashfs-tools dracut-live
