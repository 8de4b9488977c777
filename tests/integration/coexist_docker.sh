#!/bin/bash
# Beside Docker (iptables backend): ip filter FORWARD policy drop, DOCKER-USER first, and
# here the guest's link plays docker0 (its DOCKER chain drops what enters it from
# outside). With integrate = off the forwards are dropped, apply warns and diagnose fails
# naming ip filter FORWARD. With the default, apply inserts plain accepts (to the guest
# and its replies) at the top of DOCKER-USER, the chain Docker leaves to administrators;
# iptables -S reads them back; a hand-deleted accept is drift that the next apply heals;
# flush leaves Docker's tables byte-identical to before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup

step "Docker's rules with the guest link $HOST_IF_G as its bridge"
fw_docker "$HOST" "$HOST_IF_G" 192.0.2.0/24 || fail "building Docker's iptables rules"
CX_BLOCKS=('ip filter FORWARD \(docker\)')
CX_INSERTS=('ip filter DOCKER-USER')
CX_IPTABLES=yes
pf_cx_prepare

pf_cx_phase_off
pf_cx_phase_auto

step "DOCKER-USER keeps Docker's own RETURN after our accepts"
assert_line "$PF_CX_IPT" '^-A DOCKER-USER -j RETURN$' "DOCKER-USER still ends in -j RETURN"
assert_eq "$(ip netns exec "$HOST" iptables -S DOCKER-USER | tail -n1)" "-A DOCKER-USER -j RETURN" "the RETURN is the last rule of DOCKER-USER"

pf_cx_phase_drift
pf_cx_phase_flush
pf_pass
