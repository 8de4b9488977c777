#!/bin/bash
# IPv6 forwards ([2001:db8::]:port guests) next to an IPv4 one: client and
# host-local traffic reach the guest, the guest's own outbound traffic is dropped by the
# routing guard and reaches the remote with routing = open, IPv6 forwarding goes
# 0 -> 1 -> 0 across apply and flush.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_ipv6

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP, $HOST_IP6
forward tcp,udp 8080 to [$GUEST_IP6]
forward tcp 2222 to [$GUEST_IP6]:22
forward tcp 8081 to $GUEST_IP:8080
CONF
pf_serve "$GUEST" tcp :: 8080 guest
pf_serve "$GUEST" udp :: 8080 guest
pf_serve "$GUEST" tcp :: 22 guest22
pf_serve "$GUEST" tcp 0.0.0.0 8080 guest4
pf_serve "$REMOTE" tcp :: 8080 remote

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8080 "ipv6 tcp before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP6" 8080 "ipv6 udp before apply"
assert_eq "$(pf_ip6_forward "$HOST")" 0 "ipv6 forwarding is 0 before apply"

step "apply"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 3 forwards; table inet portfwd changed$' "apply reports 3 forwards"
assert_eq "$(pf_ip6_forward "$HOST")" 1 "apply turns ipv6 forwarding on"
assert_eq "$(pf_ip_forward "$HOST")" 1 "apply turns ipv4 forwarding on"

step "traffic"
assert_reaches "$CLIENT" tcp "$HOST_IP6" 8080 guest "ipv6 tcp forward reaches guest"
assert_reaches "$CLIENT" udp "$HOST_IP6" 8080 guest "ipv6 udp forward reaches guest"
assert_reaches "$CLIENT" tcp "$HOST_IP6" 2222 guest22 "ipv6 tcp 2222 -> guest:22"
assert_reaches "$HOST" tcp "$HOST_IP6" 8080 guest "ipv6 host-local tcp reaches guest"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 guest4 "ipv4 forward beside ipv6 ones"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8081 "the ipv4-only forward is not reachable over ipv6"
assert_no_reply "$GUEST" tcp "$REMOTE_IP6" 8080 "the routing guard drops the guest's own untranslated ipv6 outbound"
pf_run_ok --config "$cfg" --routing open apply
assert_reaches "$GUEST" tcp "$REMOTE_IP6" 8080 remote "with routing = open, guest ipv6 outbound on the forwarded port reaches remote"

step "flush"
pf_run_ok --config "$cfg" flush
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip6_forward "$HOST")" 0 "flush restores ipv6 forwarding to 0"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8080 "ipv6 tcp after flush"

pf_pass
