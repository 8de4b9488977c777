#!/bin/bash
# Beside libvirt's NAT network, nftables backend (libvirt >= 10.4): table ip
# libvirt_network, whose guest_input rejects new connections leaving through the guest's
# link. With integrate = off the forwards are dropped, apply warns and diagnose fails
# naming ip libvirt_network ... guest_input. With the default, apply inserts accepts at
# the top of guest_input, limited to DNAT'd connections (a client addressing the guest
# directly is still rejected), the forwards work, a hand-deleted accept is drift that the
# next apply heals; flush leaves libvirt's tables byte-identical to before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
pf_setup

step "libvirt's table (nftables backend) on the guest link $HOST_IF_G"
fw_libvirt_nftables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "building libvirt's nftables table"
CX_BLOCKS=('ip libvirt_network forward \(libvirt-nftables\).*guest_input')
CX_INSERTS=('ip libvirt_network guest_input')
CX_IPTABLES=no
pf_cx_prepare

pf_cx_phase_off
pf_cx_phase_auto

step "the accept is for the connections table inet portfwd marked (its DNAT'd ones) only"
assert_line "$(hnft list chain ip libvirt_network guest_input)" 'meta mark & 0x01000000 == 0x01000000 counter packets [0-9]+ bytes [0-9]+ accept comment "nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd"' \
    "the accept in guest_input matches the mark bit"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 8000 "a client addressing the guest's tcp 8000 directly (no DNAT) is still rejected by libvirt"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the forward to the same port works"

pf_cx_phase_drift
pf_cx_phase_flush
pf_pass
