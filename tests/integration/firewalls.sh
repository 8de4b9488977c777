# shellcheck shell=bash
# Builds other people's firewalls inside a network namespace, the way the real
# software writes them, so tests (and the fixtures in tests/unit/fixtures) see
# the same tables a KVM host has. Source it, then call on a namespace that
# exists (ip netns add NS):
#
#   fw_libvirt_iptables NS SUBNET IFACE   libvirt 9 NAT network, iptables-nft backend
#   fw_libvirt_nftables NS SUBNET IFACE   libvirt >= 10.4 NAT network, nftables backend
#   fw_docker NS [IFACE [SUBNET]]         Docker 28 bridge, iptables-nft (docker0 172.17.0.0/16)
#   fw_ufw NS                             the real ufw, enabled in NS only (needs package ufw)
#   fw_nft_router NS                      a hand-written nft router firewall: forward policy drop
#   fw_firewalld NS / fw_firewalld_stop   the real firewalld in NS (needs package firewalld)
#
# SUBNET is an IPv4 network with a prefix length (192.0.2.0/24). IFACE, when it does
# not exist yet, is created as a bridge with SUBNET's first address, as libvirt and
# Docker create theirs; pass a test's existing guest link to firewall real traffic.
# Rules go into NS only: the main namespace's ruleset is never read or written (ufw's
# shared config file is put back; firewalld may need a system D-Bus, see fw_firewalld).
# Each function returns non-zero, with a message on stderr, when a step fails.

set -u

# The first host address of SUBNET: 192.0.2.0/24 -> 192.0.2.1/24.
fw_gateway() {
    local net=${1%/*} len=${1#*/}
    echo "${net%.*}.$(( ${net##*.} + 1 ))/$len"
}

# NS IFACE SUBNET: a bridge with the gateway address, as libvirt and Docker create;
# an interface that exists already (a test's guest link) is used as it is.
fw_bridge() {
    ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
    if ! { ip -n "$1" link add "$2" type bridge &&
            ip -n "$1" addr add "$(fw_gateway "$3")" dev "$2" &&
            ip -n "$1" link set "$2" up; }; then
        echo "firewalls.sh: cannot create bridge $2 in $1" >&2
        return 1
    fi
}

# NS TOOL: feed TOOL-restore -n (add to what is there, as the real programs do) from stdin.
fw_restore() {
    ip netns exec "$1" "$2-restore" -n ||
        { echo "firewalls.sh: $2-restore failed in $1" >&2; return 1; }
}

# The rules libvirt 9.0 writes for a NAT network (iptables backend, verified on a real
# host; see /work/shared/notes/coexistence.md). It creates its private chains for both
# IPv4 and IPv6 (an IPv4-only network leaves the IPv6 ones empty) and *inserts* the
# jumps to them, so they come before rules others (Docker) appended to FORWARD.
fw_libvirt_iptables() {
    local ns=$1 subnet=$2 br=$3 tool
    fw_bridge "$ns" "$br" "$subnet" || return 1
    for tool in iptables ip6tables; do
        fw_restore "$ns" "$tool" <<EOF || return 1
*filter
:LIBVIRT_INP - [0:0]
:LIBVIRT_OUT - [0:0]
:LIBVIRT_FWO - [0:0]
:LIBVIRT_FWI - [0:0]
:LIBVIRT_FWX - [0:0]
-I INPUT -j LIBVIRT_INP
-I OUTPUT -j LIBVIRT_OUT
-I FORWARD -j LIBVIRT_FWO
-I FORWARD -j LIBVIRT_FWI
-I FORWARD -j LIBVIRT_FWX
COMMIT
*nat
:LIBVIRT_PRT - [0:0]
-I POSTROUTING -j LIBVIRT_PRT
COMMIT
*mangle
:LIBVIRT_PRT - [0:0]
-I POSTROUTING -j LIBVIRT_PRT
COMMIT
EOF
    done
    fw_restore "$ns" iptables <<EOF
*filter
-A LIBVIRT_INP -i $br -p udp -m udp --dport 53 -j ACCEPT
-A LIBVIRT_INP -i $br -p tcp -m tcp --dport 53 -j ACCEPT
-A LIBVIRT_INP -i $br -p udp -m udp --dport 67 -j ACCEPT
-A LIBVIRT_INP -i $br -p tcp -m tcp --dport 67 -j ACCEPT
-A LIBVIRT_OUT -o $br -p udp -m udp --dport 53 -j ACCEPT
-A LIBVIRT_OUT -o $br -p tcp -m tcp --dport 53 -j ACCEPT
-A LIBVIRT_OUT -o $br -p udp -m udp --dport 68 -j ACCEPT
-A LIBVIRT_OUT -o $br -p tcp -m tcp --dport 68 -j ACCEPT
-A LIBVIRT_FWO -s $subnet -i $br -j ACCEPT
-A LIBVIRT_FWO -i $br -j REJECT --reject-with icmp-port-unreachable
-A LIBVIRT_FWI -d $subnet -o $br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A LIBVIRT_FWI -o $br -j REJECT --reject-with icmp-port-unreachable
-A LIBVIRT_FWX -i $br -o $br -j ACCEPT
COMMIT
*nat
-A LIBVIRT_PRT -s $subnet -d 224.0.0.0/24 -j RETURN
-A LIBVIRT_PRT -s $subnet -d 255.255.255.255/32 -j RETURN
-A LIBVIRT_PRT -s $subnet ! -d $subnet -p tcp -j MASQUERADE --to-ports 1024-65535
-A LIBVIRT_PRT -s $subnet ! -d $subnet -p udp -j MASQUERADE --to-ports 1024-65535
-A LIBVIRT_PRT -s $subnet ! -d $subnet -j MASQUERADE
COMMIT
EOF
}

# The table libvirt's nftables backend writes for a NAT network (libvirt's
# network_nftables.c): one table per address family, filter rules in guest_* chains.
fw_libvirt_nftables() {
    local ns=$1 subnet=$2 br=$3
    fw_bridge "$ns" "$br" "$subnet" || return 1
    ip netns exec "$ns" nft -f - <<EOF || { echo "firewalls.sh: nft -f failed in $ns" >&2; return 1; }
table ip libvirt_network {
	chain forward {
		type filter hook forward priority filter; policy accept;
		counter jump guest_cross
		counter jump guest_input
		counter jump guest_output
	}
	chain guest_output {
		iif "$br" ip saddr $subnet counter accept
		iif "$br" counter reject
	}
	chain guest_input {
		oif "$br" ip daddr $subnet ct state established,related counter accept
		oif "$br" counter reject
	}
	chain guest_cross {
		iif "$br" oif "$br" counter accept
	}
	chain guest_nat {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr $subnet ip daddr 224.0.0.0/24 counter return
		ip saddr $subnet ip daddr 255.255.255.255 counter return
		meta l4proto tcp ip saddr $subnet ip daddr != $subnet counter masquerade to :1024-65535
		meta l4proto udp ip saddr $subnet ip daddr != $subnet counter masquerade to :1024-65535
		ip saddr $subnet ip daddr != $subnet counter masquerade
	}
}
table ip6 libvirt_network {
	chain forward {
		type filter hook forward priority filter; policy accept;
		counter jump guest_cross
		counter jump guest_input
		counter jump guest_output
	}
	chain guest_output {
	}
	chain guest_input {
	}
	chain guest_cross {
	}
}
EOF
}

# What Docker 28 writes through iptables-nft for its default bridge, with ip6tables
# enabled (the default since Docker 27): FORWARD policy DROP, DOCKER-USER first.
fw_docker() {
    local ns=$1 br=${2:-docker0} subnet=${3:-172.17.0.0/16} tool
    fw_bridge "$ns" "$br" "$subnet" || return 1
    for tool in iptables ip6tables; do
        fw_restore "$ns" "$tool" <<EOF || return 1
*filter
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER ! -i $br -o $br -j DROP
-A DOCKER-BRIDGE -o $br -j DOCKER
-A DOCKER-CT -o $br -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i $br -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i $br ! -o $br -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o $br -j DROP
-A DOCKER-USER -j RETURN
COMMIT
EOF
    done
    fw_restore "$ns" iptables <<EOF
*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s $subnet ! -o $br -j MASQUERADE
-A DOCKER -i $br -j RETURN
COMMIT
EOF
}

# The real ufw with its defaults (forward policy DROP). `ufw enable` writes its rules
# into NS only, but also records ENABLED=yes in /etc/ufw/ufw.conf and rewrites
# user.rules and user6.rules, files shared with the main namespace: put them back as
# they were (contents and times), leaving ufw's rules in NS.
fw_ufw() {
    local ns=$1 saved f rc=0
    local files=(/etc/ufw/ufw.conf /etc/ufw/user.rules /etc/ufw/user6.rules)
    command -v ufw >/dev/null || { echo "firewalls.sh: ufw is not installed (apt-get install ufw)" >&2; return 1; }
    saved=$(mktemp -d) || return 1
    for f in "${files[@]}"; do
        [ -e "$f" ] && { cp -p "$f" "$saved/" || return 1; }
    done
    ip netns exec "$ns" ufw --force enable >/dev/null ||
        { echo "firewalls.sh: ufw --force enable failed in $ns" >&2; rc=1; }
    for f in "${files[@]}"; do
        [ -e "$saved/${f##*/}" ] || continue
        if ! cp -p "$saved/${f##*/}" "$f"; then
            echo "firewalls.sh: could not restore $f from $saved" >&2
            return 1
        fi
    done
    rm -rf "$saved"
    return $rc
}

# A hand-written nftables router firewall, as an administrator writes one: forward
# policy drop, established traffic and one LAN-to-WAN direction accepted.
fw_nft_router() {
    ip netns exec "$1" nft -f - <<'EOF' || { echo "firewalls.sh: nft -f failed in $1" >&2; return 1; }
table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		ct state invalid drop
		iifname "lan0" oifname "wan0" accept
	}
}
EOF
}

# The real firewalld (1.3 on Debian 12: it accepts DNAT'd connections by default) in NS,
# in the background. It needs a system D-Bus: one is started when none answers. Only one
# firewalld can own the bus: run such tests one after another. fw_firewalld_stop stops
# what FW_FIREWALLD_PIDS holds.
FW_FIREWALLD_PIDS=()
FW_DBUS_STARTED=""
fw_firewalld() {
    local ns=$1 pid i
    command -v firewalld >/dev/null || { echo "firewalls.sh: firewalld is not installed (apt-get install firewalld)" >&2; return 1; }
    if ! dbus-send --system --dest=org.freedesktop.DBus --type=method_call --print-reply \
            /org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null 2>&1; then
        mkdir -p /run/dbus
        pid=$(dbus-daemon --system --fork --print-pid) ||
            { echo "firewalls.sh: cannot start a system D-Bus" >&2; return 1; }
        FW_FIREWALLD_PIDS+=("$pid")
        FW_DBUS_STARTED=yes
    fi
    ip netns exec "$ns" firewalld --nofork --nopid >/dev/null 2>&1 &
    FW_FIREWALLD_PIDS+=("$!")
    for i in $(seq 1 30); do
        ip netns exec "$ns" firewall-cmd --state >/dev/null 2>&1 && return 0
        sleep 1
    done
    echo "firewalls.sh: firewalld did not come up in $ns within 30 s" >&2
    return 1
}

# Stop what fw_firewalld started, newest first. A D-Bus it started leaves its pid file
# and socket behind, which would stop the next one from starting: remove them.
fw_firewalld_stop() {
    local i
    for (( i = ${#FW_FIREWALLD_PIDS[@]} - 1; i >= 0; i-- )); do
        kill "${FW_FIREWALLD_PIDS[i]}" 2>/dev/null
        wait "${FW_FIREWALLD_PIDS[i]}" 2>/dev/null
    done
    FW_FIREWALLD_PIDS=()
    if [ -n "$FW_DBUS_STARTED" ]; then
        rm -f /run/dbus/pid /run/dbus/system_bus_socket
        FW_DBUS_STARTED=""
    fi
}
