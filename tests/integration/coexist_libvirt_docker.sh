#!/bin/bash
# libvirt (iptables backend, on the guest link) and Docker (its own bridge) on one host,
# both in ip filter FORWARD: libvirt's jumps come first (it inserts them), Docker's policy
# is drop. A forwarded connection to the guest meets libvirt's LIBVIRT_FWI reject before
# Docker's policy; an accept there ends FORWARD, and LIBVIRT_FWO accepts the replies. So
# the one chain to name and to accept in is LIBVIRT_FWI; DOCKER-USER gets nothing. With
# integrate = off the forwards are dropped; with the default they work; flush leaves every
# table (libvirt's and Docker's) byte-identical to before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup

DOCKER_BR="pfd$$"
step "Docker on its own bridge $DOCKER_BR, then libvirt on the guest link $HOST_IF_G"
fw_docker "$HOST" "$DOCKER_BR" 198.51.100.128/25 || fail "building Docker's iptables rules"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "building libvirt's iptables rules"
assert_line "$(ip netns exec "$HOST" iptables -S FORWARD)" '^-P FORWARD DROP$' "Docker set the FORWARD policy to DROP"
CX_BLOCKS=('ip filter FORWARD \(libvirt-iptables\).*LIBVIRT_FWI')
CX_INSERTS=('ip filter LIBVIRT_FWI')
CX_IPTABLES=yes
pf_cx_prepare

pf_cx_phase_off
pf_cx_phase_auto

step "Docker's chains get nothing they do not need"
assert_eq "$(ip netns exec "$HOST" iptables -S DOCKER-USER)" $'-N DOCKER-USER\n-A DOCKER-USER -j RETURN' "DOCKER-USER is as Docker wrote it"
assert_eq "$(ip netns exec "$HOST" iptables -S FORWARD | grep -c nft-portfwd)" 0 "no accept of nft-portfwd in FORWARD itself"
pf_cx_phase_drift
pf_cx_phase_flush
pf_pass
