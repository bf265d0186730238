#!/bin/bash
# Root podman on this machine type needs two settings (found the hard way, docs/development.md):
# rlimits no higher than the sandbox's hard limits (no CAP_SYS_RESOURCE), and runc, because
# crun refuses the hybrid cgroup layout.
set -euo pipefail
hn=$(ulimit -Hn); hu=$(ulimit -Hu)
[ "$hn" = unlimited ] && hn=16384; [ "$hu" = unlimited ] && hu=16384
nofile=$(( hn < 16384 ? hn : 16384 )); nproc=$(( hu < 16384 ? hu : 16384 ))
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<CONF
# written by fabric.boot tests/ci/podman-conf.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
