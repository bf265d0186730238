#!/bin/sh
# fabric.boot smoke test, run inside a dracut initrd after its network stage (pre-mount
# hook) or when dracut gives up (emergency hook). Installed by boot_image (smoke_test: true);
# the line format is documented in docs/roles/boot_image.md ("Smoke test") and is a
# contract: the lab and users' own checks parse it.
#
# Every line starts with "fabric.boot smoke: " at the beginning of a console line. The
# kernel echoes its command line as "Command line: ..." (and our own args contain no
# space), so no kernel message can produce such a line; and every value reported here is
# read from the running system (/proc/cmdline, the interface, dhclient's lease, /proc/modules,
# rdma netlink), never from the command line alone.
#
# POSIX sh and only the tools every dracut network image has (ip, modprobe, cat, sleep) plus
# the rdma tool boot_image adds. Run as a program, not sourced: nothing leaks into init.

P="fabric.boot smoke:"
stage=${1:-pre-mount}
conf=/etc/fabric-boot/smoke.conf
done_flag=/run/fabric-boot-smoke.done

# smoke.conf (written by boot_image): modules="..." action=poweroff|continue rxe_wait=N
modules=""
action=poweroff
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
    *) action=poweroff ;;
esac
[ -e "$done_flag" ] && exit 0
mkdir -p /run 2> /dev/null
: > "$done_flag"

say() {
    echo "$P $*" > /dev/console 2>&1 || echo "$P $*"
}

problems=""
problem() {
    problems="${problems:+$problems; }$*"
}

# first word after "inet" in `ip -4 -o addr show dev X`: a.b.c.d/len
iface_addr() {
    # shellcheck disable=SC2046
    set -- $(ip -4 -o addr show dev "$1" 2> /dev/null)
    while [ $# -gt 0 ]; do
        if [ "$1" = inet ]; then
            echo "$2"
            return 0
        fi
        shift
    done
    echo -
}

read -r up rest < /proc/uptime
say "begin version=1 stage=$stage kernel=$(uname -r) action=$action uptime=$up"
say "cmdline $cmdline"

# The interfaces dracut was asked to configure by DHCP: ip=<if>:dhcp[...] names them,
# ip=dhcp means whichever interfaces dhclient configured.
bootifs=""
anydhcp=""
for arg in $cmdline; do
    case $arg in
        ip=dhcp | ip=dhcp,* | ip=on | ip=any) anydhcp=1 ;;
        ip=*:dhcp | ip=*:dhcp:* | ip=*:dhcp,*)
            v=${arg#ip=}
            bootifs="$bootifs ${v%%:*}"
            ;;
    esac
done
if [ -n "$anydhcp" ]; then
    for f in /tmp/dhclient.*.dhcpopts; do
        [ -e "$f" ] || continue
        n=${f#/tmp/dhclient.}
        bootifs="$bootifs ${n%.dhcpopts}"
    done
fi
[ -n "$bootifs" ] || problem "no interface configured by DHCP (no ip=<if>:dhcp and no lease)"

first=""
for ifc in $bootifs; do
    [ -n "$first" ] || first=$ifc
    if [ ! -e "/sys/class/net/$ifc" ]; then
        say "iface $ifc present=no"
        problem "interface $ifc does not exist"
        continue
    fi
    read -r mac < "/sys/class/net/$ifc/address"
    read -r htype < "/sys/class/net/$ifc/type"
    addr=$(iface_addr "$ifc")
    lease=- server=- hostname=- leasetime=-
    if [ -r "/tmp/dhclient.$ifc.dhcpopts" ]; then
        # dhclient-script saved its new_* variables with `set`, in shell syntax; read them
        # in a subshell so nothing from the lease lands in this script's variables
        # shellcheck disable=SC1090,SC2046
        set -- $(
            . "/tmp/dhclient.$ifc.dhcpopts"
            echo "${new_ip_address:--} ${new_dhcp_server_identifier:--} ${new_dhcp_lease_time:--} ${new_host_name:--}"
        )
        lease=${1:--} server=${2:--} leasetime=${3:--} hostname=${4:--}
    fi
    # network-legacy's dhclient.conf sends "dhcp-client-identifier = hardware": the ARP
    # hardware type byte and the address (01:<mac> on Ethernet)
    client_id=-
    if [ -r /etc/dhclient.conf ]; then
        while read -r line; do
            case $line in
                "send dhcp-client-identifier = hardware;") client_id=$(printf '%02x:%s' "$htype" "$mac") ;;
            esac
        done < /etc/dhclient.conf
    fi
    say "iface $ifc present=yes mac=$mac type=$htype addr=$addr dhcp_server=$server lease=$lease" \
        "lease_time=$leasetime host_name=$hostname client_id=$client_id"
    if [ "$lease" = - ]; then
        problem "$ifc has no DHCP lease"
    elif [ "${addr%/*}" != "$lease" ]; then
        problem "$ifc address $addr is not its DHCP lease $lease"
    fi
done

# rdma_rxe is loaded here on purpose: the driver set is loaded by the image itself
# (modules-load.d, rd.driver.pre), Soft-RoCE is the smoke test's own stand-in for an HCA.
rxe_ok=""
if [ -n "$first" ] && [ -e "/sys/class/net/$first" ]; then
    out=$(modprobe rdma_rxe 2>&1) || problem "modprobe rdma_rxe failed: $out"
    rdma=/usr/lib/fabric-boot/rdma
    [ -x "$rdma" ] || rdma=$(command -v rdma 2> /dev/null)
    if [ -z "$rdma" ]; then
        problem "no rdma tool in the image"
    else
        link=fbrxe0
        out=$("$rdma" link add "$link" type rxe netdev "$first" 2>&1) \
            || problem "rdma link add $link type rxe netdev $first failed: $out"
        i=0
        while [ "$i" -lt "$rxe_wait" ]; do
            state=$("$rdma" link show "$link/1" 2> /dev/null)
            case $state in *"state ACTIVE"*) rxe_ok=1; break ;; esac
            sleep 1
            i=$((i + 1))
        done
        "$rdma" link show 2>&1 | while read -r line; do say "rdma $line"; done
        [ -n "$rxe_ok" ] || problem "rxe link $link on $first not ACTIVE after ${rxe_wait} s"
    fi
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

if [ "$stage" = emergency ]; then
    problem "dracut reached its emergency shell"
fi
if [ -z "$problems" ]; then
    say "result PASS"
else
    say "result FAIL $problems"
fi
read -r up rest < /proc/uptime
say "end action=$action uptime=$up"

if [ "$action" = poweroff ]; then
    sleep 1
    echo 1 > /proc/sys/kernel/sysrq 2> /dev/null
    echo o > /proc/sysrq-trigger
    sleep 30
fi
exit 0
