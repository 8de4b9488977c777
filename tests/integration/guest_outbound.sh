#!/bin/bash
# The guest's own outbound connections to another machine on the forwarded port
# number reach that machine, not the guest itself: the DNAT only matches traffic
# addressed to the host. With the default routing = auto and forwarding off before
# apply, the host routes them only once something translates them (here a NAT network's
# masquerade, as libvirt has); with routing = open, as they are.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

PORT=16589
cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
forward tcp,udp $PORT to $GUEST_IP
CONF

pf_serve "$GUEST" tcp 0.0.0.0 $PORT guest
pf_serve "$GUEST" udp 0.0.0.0 $PORT guest
pf_serve "$REMOTE" tcp 0.0.0.0 $PORT remote
pf_serve "$REMOTE" udp 0.0.0.0 $PORT remote

step "before apply (host does not forward yet)"
assert_no_reply "$GUEST" tcp "$REMOTE_IP" $PORT "guest cannot reach remote before apply (ip_forward=0)"

step "apply"
pf_run_ok --config "$cfg" apply
# the forward is live: an outside client reaching the host port lands on the guest
assert_reaches "$CLIENT" tcp "$HOST_IP" $PORT guest "client reaches guest through the forward"
assert_reaches "$REMOTE" udp "$HOST_REMOTE_IP" $PORT guest "remote reaches guest through the forward (udp)"

step "guest outbound: the routing guard drops what nobody translates"
assert_no_reply "$GUEST" tcp "$REMOTE_IP" $PORT "guest tcp to remote:$PORT, routed untranslated"
assert_no_reply "$CLIENT" tcp "$REMOTE_IP" $PORT "client tcp to remote:$PORT, routed untranslated"

step "guest outbound on the forwarded port, masqueraded as a NAT network's"
hnft -f - <<NFT || fail "the NAT network's masquerade"
table ip natnet {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 192.0.2.0/24 oifname != "$HOST_IF_G" masquerade
	}
}
NFT
assert_reaches "$GUEST" tcp "$REMOTE_IP" $PORT remote "guest tcp to remote:$PORT reaches remote, not itself"
assert_eq "$PF_SEEN" "$HOST_REMOTE_IP" "remote sees the host's address (the NAT network's masquerade)"
assert_reaches "$GUEST" udp "$REMOTE_IP" $PORT remote "guest udp to remote:$PORT reaches remote, not itself"
hnft delete table ip natnet || fail "deleting the masquerade"

step "routing = open: the host routes as it is told, and the DNAT still leaves these alone"
pf_run_ok --config "$cfg" --routing open apply
assert_reaches "$GUEST" tcp "$REMOTE_IP" $PORT remote "guest tcp to remote:$PORT reaches remote, not itself"
assert_eq "$PF_SEEN" "$GUEST_IP" "remote sees the guest's own address for guest-initiated tcp (no masquerade)"
assert_reaches "$GUEST" udp "$REMOTE_IP" $PORT remote "guest udp to remote:$PORT reaches remote, not itself"
assert_reaches "$CLIENT" tcp "$REMOTE_IP" $PORT remote "client tcp to remote:$PORT (routed through host) is not DNATed"

pf_pass
