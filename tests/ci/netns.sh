#!/bin/bash
# netns.sh up NETNS CONTAINER [IP/PREFIX [EXTRA_BRIDGE_IP/PREFIX EXTRA_CONTAINER_IP/PREFIX]]
# netns.sh down NETNS
# An isolated test network: namespace NETNS with bridge br0 (192.168.100.1/24) and NO default
# route, plus a veth whose far end becomes "pxe0" (IP/PREFIX, default 192.168.100.2/24) inside
# the podman CONTAINER. The optional extra pair puts a second subnet on the same wire (a client
# address outside the provisioning networks, for access-control tests).
# Names are global on the host: every scenario uses its own NETNS.
set -euo pipefail
cmd=${1:?usage}; ns=${2:?usage}
case "$cmd" in
up)
  c=${3:?container}; cip=${4:-192.168.100.2/24}; xbr=${5:-}; xc=${6:-}
  # whole names only: a netns "<ns>-x" is not "<ns>" (grep -w would match it at the dash)
  if ! ip netns list | cut -d' ' -f1 | grep -qxF "$ns"; then
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge stp_state 0 forward_delay 0
    ip -n "$ns" addr add 192.168.100.1/24 dev br0
    if [ -n "$xbr" ]; then ip -n "$ns" addr add "$xbr" dev br0; fi
    ip -n "$ns" link set br0 up
  fi
  pid=$(podman inspect -f '{{.State.Pid}}' "$c")
  hv="v$(echo -n "$ns-$c" | md5sum | cut -c1-10)"
  ip -n "$ns" link del "$hv" 2>/dev/null || true
  ip link add "$hv" netns "$ns" type veth peer name pxe0 netns "/proc/$pid/ns/net"
  ip -n "$ns" link set "$hv" master br0 up
  nsenter -t "$pid" -n ip addr add "$cip" dev pxe0
  if [ -n "$xc" ]; then nsenter -t "$pid" -n ip addr add "$xc" dev pxe0; fi
  nsenter -t "$pid" -n ip link set pxe0 up
  if ip -n "$ns" route show default | grep -q .; then echo "netns $ns has a default route" >&2; exit 1; fi
  ;;
down)
  if ip netns list | cut -d' ' -f1 | grep -qxF "$ns"; then ip netns del "$ns"; fi
  ;;
*) echo "usage: $0 up NETNS CONTAINER [IP/PREFIX [EXTRA_BRIDGE_IP/PREFIX EXTRA_CONTAINER_IP/PREFIX]] | down NETNS" >&2
   exit 2;;
esac
