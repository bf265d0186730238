#!/bin/bash
# Everything the test suite needs on a fresh Debian 12 machine (root, no systemd as PID 1,
# no container registry): Debian packages, root podman settings, the local Debian 12
# systemd image for Molecule, and the Python venv. Idempotent; safe to rerun.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VENV=${VENV:-/opt/fabric-venv}
IMAGE=${IMAGE:-localhost/debian12-systemd:latest}
t0=$(date +%s); stamp() { echo "[setup] +$(( $(date +%s) - t0 ))s $*"; }

stamp "Debian packages"
bash "$HERE/apt-packages.sh" > /tmp/fabric-apt.log 2>&1 || { tail -50 /tmp/fabric-apt.log; exit 1; }

stamp "podman settings (/etc/containers/containers.conf)"
bash "$HERE/podman-conf.sh"

# The image is rebuilt when missing or older than build-image.sh's IMAGE_VERSION.
want=$(sed -n 's/^IMAGE_VERSION=//p' "$HERE/build-image.sh")
have=$(podman image inspect --format '{{ index .Labels "org.fabric-boot.image-version" }}' "$IMAGE" 2>/dev/null || true)
if [ "${REBUILD_IMAGE:-0}" = 1 ] || [ "$have" != "$want" ]; then
  stamp "build $IMAGE (version $want, found ${have:-none}) with debootstrap"
  bash "$HERE/build-image.sh" /var/tmp/fabric-debian12-rootfs "$IMAGE" > /tmp/fabric-image.log 2>&1 \
    || { tail -50 /tmp/fabric-image.log; exit 1; }
fi

stamp "python venv $VENV"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements-test.txt"
stamp "done"
