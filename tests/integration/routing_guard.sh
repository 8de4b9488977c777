#!/bin/bash
# apply turns forwarding on for the forwards, and no more. The client and the remote route
# everything through the host, as a LAN client with a route would:
#  - before apply (forwarding off) neither reaches the guest or the other side directly;
#  - after apply (routing = auto: apply turned forwarding on) the forwards work, and a
#    client reaching the guest's ports directly, routing to the remote, or coming from
#    outside a forward's 'from' networks is dropped (chain routing, counted);
#  - libvirt's NAT network started after apply: its guest's own connections, which libvirt
#    masquerades, pass at once;
#  - a host where libvirt already forwards (forwarding on before the first apply): no guard,
#    and check and diagnose say the host routes more than the forwards;
#  - routing = forwards adds the guard there too; routing = open keeps the old way;
#  - the host's own tunnel (VXLAN) is not routing: its outer packets pass the guard.
. "$(dirname "$0")/lib.sh"
. "$PF_LIB_DIR/firewalls.sh"
pf_find_binary
pf_setup

CFG="$PF_TMP/portfwd.conf"
cat >"$CFG" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80
forward tcp 2222 to $GUEST_IP:22 from $REMOTE_IP
CONF
pf_serve "$GUEST" tcp 0.0.0.0 80 guest80
pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$GUEST" tcp 0.0.0.0 5432 guest5432
pf_serve "$REMOTE" tcp 0.0.0.0 9000 remote
guard_drops() { hnft list chain inet portfwd routing 2>/dev/null | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p' | head -n1; }

step "before apply: forwarding is off, nothing is routed"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 80 "client to the guest directly"
assert_no_reply "$CLIENT" tcp "$REMOTE_IP" 9000 "client to the remote's network"

step "apply turns forwarding on, and routes only the forwards"
pf_run_ok --config "$CFG" apply
assert_eq "$(pf_ip_forward "$HOST")" 1 "apply turned forwarding on"
hnft list chain inet portfwd routing >/dev/null 2>&1 || fail "no chain routing"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "the forward works"
assert_reaches "$REMOTE" tcp "$HOST_IP" 2222 guest22 "the allowlisted forward works from its network"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 80 "client to the forward's guest port directly"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 5432 "client to another port of the guest directly"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 22 "client outside 'from' to the allowlisted guest port directly"
assert_no_reply "$CLIENT" tcp "$REMOTE_IP" 9000 "client routing to the remote's network"
assert_no_reply "$GUEST" tcp "$REMOTE_IP" 9000 "the guest's own untranslated connection out"
[ "$(guard_drops)" -ge 5 ] || fail "chain routing counted $(guard_drops) drops, expected at least 5"
pf_log "ok: chain routing dropped $(guard_drops) new connections"
pf_run_ok --config "$CFG" check
assert_no_line "$PF_ERR" 'routes more than the forwards' "check does not warn"

step "the host's own tunnel (VXLAN to the remote) is not routing: its packets pass"
# the outer packets the host sends keep the tunnel device as their input interface
if ip -n "$HOST" link add vx0 type vxlan id 42 remote "$REMOTE_IP" local "$HOST_REMOTE_IP" dstport 4789 dev "$HOST_IF_R"; then
    ip -n "$REMOTE" link add vx0 type vxlan id 42 remote "$HOST_REMOTE_IP" local "$REMOTE_IP" dstport 4789 dev "$PEER_IF" ||
        fail "vxlan in the remote"
    ip -n "$HOST" addr add 2001:db8:77::1/64 dev vx0 nodad && ip -n "$REMOTE" addr add 2001:db8:77::2/64 dev vx0 nodad &&
        ip -n "$HOST" link set vx0 up && ip -n "$REMOTE" link set vx0 up || fail "the overlay's addresses"
    pf_serve "$REMOTE" tcp 2001:db8:77::2 9001 overlay
    before=$(guard_drops)
    assert_reaches "$HOST" tcp 2001:db8:77::2 9001 overlay "the host reaches the remote through its VXLAN"
    assert_eq "$(guard_drops)" "$before" "chain routing dropped none of the tunnel's packets"
    ip -n "$HOST" link del vx0
else
    pf_log "note: this kernel has no vxlan; the tunnel case is not tried"
fi
pf_run --config "$CFG" diagnose
assert_line "$PF_OUT" '^\[PASS\] the host routes only the forwards' "diagnose says the host routes only the forwards"

step "libvirt's NAT network starts after apply: its guest's own connections pass"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "libvirt's rules"
assert_reaches "$GUEST" tcp "$REMOTE_IP" 9000 remote "the libvirt guest reaches out (masqueraded)"
assert_eq "$PF_SEEN" "$HOST_REMOTE_IP" "libvirt masqueraded it"
pf_run_ok --config "$CFG" apply   # what libvirt's network hook or the watcher does
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "the forward works through libvirt's chains"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 5432 "client to the guest directly, with libvirt"
assert_no_reply "$CLIENT" tcp "$REMOTE_IP" 9000 "client routing to the remote's network, with libvirt"

step "a host where libvirt already forwards: no guard, and check and diagnose say so"
pf_run_ok --config "$CFG" flush
pf_sysctl_set "$HOST" net.ipv4.ip_forward 1   # libvirt turned it on for its network
pf_run_ok --config "$CFG" apply
hnft list chain inet portfwd routing >/dev/null 2>&1 && fail "a guard on a host that already forwarded"
assert_reaches "$CLIENT" tcp "$REMOTE_IP" 9000 remote "the host routes the client to the remote, as before"
pf_run_ok --config "$CFG" check
assert_line "$PF_ERR" 'warning: the host routes more than the forwards: IPv4 forwarding is on and nothing filters the forward hook' \
    "check warns that the host routes more than the forwards"
pf_run --config "$CFG" diagnose
assert_line "$PF_OUT" '^\[FAIL\] the host routes more than the forwards' "diagnose says so"
assert_line "$PF_OUT" 'fix: routing = forwards' "diagnose names the fix"

step "routing = forwards: the guard there too"
pf_run_ok --config "$CFG" --routing forwards apply
assert_no_reply "$CLIENT" tcp "$REMOTE_IP" 9000 "client routing to the remote's network, with routing = forwards"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "the forward works with routing = forwards"
pf_run_ok --config "$CFG" --routing forwards check
assert_no_line "$PF_ERR" 'routes more than the forwards' "check does not warn with routing = forwards"

step "routing = open on a host whose forwarding was off: the old way, and a warning"
pf_run_ok --config "$CFG" flush
pf_sysctl_set "$HOST" net.ipv4.ip_forward 0
pf_run_ok --config "$CFG" --routing open apply
hnft list chain inet portfwd routing >/dev/null 2>&1 && fail "a guard with routing = open"
assert_reaches "$CLIENT" tcp "$REMOTE_IP" 9000 remote "routing = open routes the client to the remote"
pf_run_ok --config "$CFG" --routing open check
assert_line "$PF_ERR" 'routes more than the forwards: IPv4 forwarding is on and nothing filters the forward hook \(routing = open\)' \
    "check warns with routing = open"
pf_run_ok --config "$CFG" flush
pf_pass
