#!/bin/bash
# Beside libvirt's NAT network, iptables backend (libvirt 9, Debian 12's default): its
# LIBVIRT_FWI rejects new connections leaving through the guest's link, whatever table
# inet portfwd accepts. With integrate = off the forwards are dropped, apply warns and
# diagnose fails naming ip filter ... LIBVIRT_FWI. With the default, apply inserts plain
# accepts at the top of LIBVIRT_FWI (iptables -S reads them back), the forwards work,
# status reports a hand-deleted accept as drift and the next apply heals it; flush leaves
# every libvirt table byte-identical to before the first apply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup

step "libvirt's rules (iptables backend) on the guest link $HOST_IF_G"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "building libvirt's iptables rules"
CX_BLOCKS=('ip filter FORWARD \(libvirt-iptables\).*LIBVIRT_FWI')
CX_INSERTS=('ip filter LIBVIRT_FWI')
CX_IPTABLES=yes
pf_cx_prepare

step "the iptables -S check catches a rule iptables cannot read"
hnft add rule ip filter LIBVIRT_FWI ct state new counter comment '"probe"' || fail "adding a probe rule"
out=$(ip netns exec "$HOST" iptables -S LIBVIRT_FWI 2>&1)
assert_match "$out" 'incompatible' "iptables -S reports a ct state rule written by nft as incompatible"
h=$(hnft -a list chain ip filter LIBVIRT_FWI 2>/dev/null | sed -n 's/.*comment "probe" # handle \([0-9]*\)$/\1/p')
[ -n "$h" ] || fail "no handle for the probe rule"
hnft delete rule ip filter LIBVIRT_FWI handle "$h" || fail "deleting the probe rule"
pf_cx_iptables_readable
pf_cx_snapshot probe
pf_cx_compare before probe "after the probe rule is gone"

pf_cx_phase_off
pf_cx_phase_auto
pf_cx_phase_drift
pf_cx_phase_flush
pf_pass
