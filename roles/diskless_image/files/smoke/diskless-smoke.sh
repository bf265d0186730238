#!/bin/sh
# fabric.boot smoke test of a booted diskless image: run by fabric-boot-smoke.service once
# multi-user.target is reached. Installed into the image root by the diskless_image role
# (smoke_test: true); the line format is documented in docs/roles/diskless_image.md ("Smoke
# test") and is a contract: the lab and users' own checks parse it.
#
# Every line starts with "fabric.boot smoke: " on the console, like boot_image's initrd smoke
# test; every value is read from the running system (systemctl, /proc/mounts, nmcli,
# /proc/modules, rdma netlink), never taken from the command line alone.

P="fabric.boot smoke:"
conf=/etc/fabric-boot/diskless-smoke.conf
modules=""
action=continue
rxe_wait=30
# shellcheck disable=SC1090
[ -r "$conf" ] && . "$conf"

read -r cmdline < /proc/cmdline
for arg in $cmdline; do
    case $arg in
        fabric.smoke=*) action=${arg#fabric.smoke=} ;;
    esac
done
case $action in
    off) exit 0 ;;
    poweroff | continue) ;;
    *) action=continue ;;
esac

# stdout is journal+console (the unit): one line each on the serial console and in the journal
say() {
    echo "$P $*"
}
problems=""
problem() {
    problems="${problems:+$problems; }$*"
}

read -r up rest < /proc/uptime
say "begin version=1 stage=multi-user kernel=$(uname -r) action=$action uptime=$up"
say "cmdline $cmdline"

# Type=simple: this unit's own start job is done, so the wait ends when the boot has finished.
state=$(timeout 300 systemctl is-system-running --wait 2> /dev/null)
multi=$(systemctl is-active multi-user.target 2> /dev/null)
say "system state=${state:-unknown} multi_user=${multi:-unknown}"
[ "$multi" = active ] || problem "multi-user.target is ${multi:-unknown}"
case $state in running | degraded) ;; *) problem "system state ${state:-unknown}" ;; esac
if [ "$state" = degraded ]; then
    systemctl --failed --no-legend --plain 2> /dev/null | while read -r unit rest; do say "failed-unit $unit"; done
fi

# / as the initrd left it: dmsquash-live's overlay (LiveOS_rootfs) over the squashfs
while read -r src mnt fstype rest; do
    [ "$mnt" = / ] && root_src=$src root_fs=$fstype
done < /proc/mounts
say "root source=${root_src:--} fstype=${root_fs:--}"

# The boot NIC: ip=<if>:dhcp on the command line, else the device of the default route.
bootif=""
for arg in $cmdline; do
    case $arg in
        ip=*:dhcp | ip=*:dhcp:* | ip=*:dhcp,*) v=${arg#ip=}; bootif=${v%%:*} ;;
    esac
done
if [ -z "$bootif" ]; then
    # shellcheck disable=SC2046
    set -- $(ip -4 route show default 2> /dev/null)
    while [ $# -gt 1 ]; do
        [ "$1" = dev ] && bootif=$2 && break
        shift
    done
fi
if [ -z "$bootif" ]; then
    problem "no boot interface (no ip=<if>:dhcp, no default route)"
else
    # NetworkManager may still be activating the profile when the boot has finished
    i=0
    while :; do
        nmstate=$(nmcli -g GENERAL.STATE device show "$bootif" 2> /dev/null)
        case $nmstate in 100*) break ;; esac
        [ "$i" -ge 60 ] && break
        sleep 1
        i=$((i + 1))
    done
    conn=$(nmcli -g GENERAL.CONNECTION device show "$bootif" 2> /dev/null)
    say "nm device=$bootif state=$(echo "${nmstate:-unknown}" | tr ' ' '_') connection=${conn:--}"
    case $nmstate in 100*) ;; *) problem "NetworkManager has not activated a profile on $bootif (${nmstate:-unknown})" ;; esac
    # shellcheck disable=SC2046
    set -- $(ip -4 -o addr show dev "$bootif" 2> /dev/null)
    addr=-
    while [ $# -gt 0 ]; do
        [ "$1" = inet ] && addr=$2 && break
        shift
    done
    say "iface $bootif addr=$addr"
    [ "$addr" != - ] || problem "$bootif has no IPv4 address"
fi

# Soft-RoCE on the boot NIC: the smoke test's stand-in for an HCA.
if [ -n "$bootif" ]; then
    out=$(modprobe rdma_rxe 2>&1) || problem "modprobe rdma_rxe failed: $out"
    link=fbrxe0
    if ! rdma link show "$link/1" > /dev/null 2>&1; then
        out=$(rdma link add "$link" type rxe netdev "$bootif" 2>&1) \
            || problem "rdma link add $link type rxe netdev $bootif failed: $out"
    fi
    ok=""
    i=0
    while [ "$i" -lt "$rxe_wait" ]; do
        case $(rdma link show "$link/1" 2> /dev/null) in *"state ACTIVE"*) ok=1; break ;; esac
        sleep 1
        i=$((i + 1))
    done
    rdma link show 2>&1 | while read -r line; do say "rdma $line"; done
    [ -n "$ok" ] || problem "rxe link $link on $bootif not ACTIVE after ${rxe_wait} s"
fi

loaded=" "
while read -r name rest; do
    loaded="$loaded$name "
done < /proc/modules
found=""
for m in $modules rdma_rxe; do
    case $loaded in
        *" $m "*) say "module $m loaded"; found="$found $m" ;;
        *) say "module $m missing"; problem "module $m not loaded" ;;
    esac
done
say "lsmod${found}"

if [ -z "$problems" ]; then
    say "result PASS"
else
    say "result FAIL $problems"
fi
read -r up rest < /proc/uptime
say "end action=$action uptime=$up"
if [ "$action" = poweroff ]; then
    sleep 1
    systemctl poweroff --no-block
fi
exit 0
