#!/bin/bash
# netns.sh up NETNS CONTAINER [CONTAINER_IP/len [EXTRA_NETNS_IP/len EXTRA_CONTAINER_IP/len]]
# netns.sh down NETNS
# Creates network namespace NETNS with bridge br0 = 192.168.100.1/24 and NO default
# route, and a veth pair: one end on br0, the other moved into CONTAINER as "pxe0".
# With the two EXTRA addresses, br0 and pxe0 also carry a second subnet (a client
# address that is outside the provisioning networks).
# From ../shared/recipes/podman-systemd/example-scenario/pxe-netns.sh.
set -euo pipefail
cmd=$1 ns=$2
case "$cmd" in
up)
  c=$3; cip=${4:-192.168.100.2/24}; xns=${5:-}; xc=${6:-}
  if ! ip netns list | grep -qw "^$ns"; then
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge
    ip -n "$ns" addr add 192.168.100.1/24 dev br0
    [ -n "$xns" ] && ip -n "$ns" addr add "$xns" dev br0
    ip -n "$ns" link set br0 up
  fi
  pid=$(podman inspect -f '{{.State.Pid}}' "$c")
  # host-side veth name: <=15 chars, unique per container
  hv="v$(echo -n "$c" | md5sum | cut -c1-8)"
  ip -n "$ns" link del "$hv" 2>/dev/null || true
  ip link add "$hv" netns "$ns" type veth peer name pxe0 netns "/proc/$pid/ns/net"
  ip -n "$ns" link set "$hv" master br0 up
  nsenter -t "$pid" -n ip addr add "$cip" dev pxe0
  [ -n "$xc" ] && nsenter -t "$pid" -n ip addr add "$xc" dev pxe0
  nsenter -t "$pid" -n ip link set pxe0 up
  if ip -n "$ns" route | grep -q '^default'; then echo "netns $ns has a default route!" >&2; exit 1; fi
  ;;
down)
  if ip netns list | grep -qw "^$ns"; then ip netns del "$ns"; fi
  ;;
*) echo "usage: $0 up NETNS CONTAINER [IP/len [NETNS_IP2/len CONTAINER_IP2/len]] | down NETNS" >&2; exit 2;;
esac
