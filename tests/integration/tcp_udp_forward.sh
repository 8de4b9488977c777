#!/bin/bash
# A TCP and a UDP forward from an outside client reach the guest after apply and
# not before; apply turns ip_forward on; flush removes the table, stops the
# forwarding and puts ip_forward back.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

PUBLIC_IP=203.0.113.200
cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
# test config
public-ip  = $PUBLIC_IP
host-ip    = $HOST_IP
host-iface = $HOST_IF_C
forward tcp 16589 to $GUEST_IP:16589
forward udp 5000 to $GUEST_IP             # guest port defaults to host port
forward tcp,udp 2222 to $GUEST_IP:22
CONF

pf_serve "$GUEST" tcp 0.0.0.0 16589 guest
pf_serve "$GUEST" udp 0.0.0.0 5000 guest
pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$GUEST" udp 0.0.0.0 22 guest22
pf_serve "$REMOTE" tcp 0.0.0.0 16589 remote
# the public address is not on any interface; the client routes it via the host
ip -n "$CLIENT" route add "$PUBLIC_IP/32" via "$HOST_IP" || fail "route to public ip"

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "tcp before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "udp before apply"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward is 0 before apply"
assert_table_absent "no table before apply"

step "apply"
pf_run --config "$cfg" apply
pf_expect_rc 0 "apply"
assert_line "$PF_OUT" '^nft-portfwd: applied 3 forwards; table inet portfwd changed$' "apply reports 3 forwards, changed"
assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward turned on by apply"
assert_table_present "table exists after apply"

step "traffic after apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "tcp forward reaches guest"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest "udp forward reaches guest (guest port defaults to host port)"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "tcp 2222 -> guest:22"
assert_reaches "$CLIENT" udp "$HOST_IP" 2222 guest22 "udp 2222 -> guest:22"
assert_reaches "$CLIENT" tcp "$PUBLIC_IP" 16589 guest "public-ip is matched too"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16590 "a port that is not forwarded stays closed"
assert_no_reply "$CLIENT" udp "$HOST_IP" 16589 "tcp-only forward does not forward udp"
# host-iface: the same address and port reached through another interface is not forwarded
assert_no_reply "$REMOTE" tcp "$HOST_IP" 16589 "host-iface limits the forward to $HOST_IF_C"

step "masquerade: guest without a route back to the client"
ip -n "$GUEST" route del default || fail "removing the guest's default route"
assert_no_reply "$GUEST" tcp "$CLIENT_IP" 16589 "guest has no route to the client now"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "tcp forward works without a guest route (masquerade)"
assert_eq "$PF_SEEN" "$HOST_GW_IP" "guest sees the host's address as the source"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest "udp forward works without a guest route (masquerade)"
ip -n "$GUEST" route add default via "$HOST_GW_IP" || fail "restoring the guest's default route"

step "flush"
pf_run --config "$cfg" flush
pf_expect_rc 0 "flush"
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "flush restores ip_forward to 0"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "tcp after flush"
assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "udp after flush"

step "flush again (table absent)"
pf_run --config "$cfg" flush
pf_expect_rc 0 "second flush with no table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward still 0 after second flush"

pf_pass
