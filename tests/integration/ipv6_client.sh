#!/bin/bash
# A host-ip list with both families: an IPv6 client reaches an IPv6 guest through
# [2001:db8:1::1]:8443 -> [2001:db8:2::79]:443 and an IPv4 client reaches an IPv4
# guest through the same config; IPv6 forwarding goes 0 -> 1 -> 0 across apply and
# flush. A v4-only host-ip list with an IPv6 guest is refused (exit 3) before
# anything reaches the kernel.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_ipv6

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP, $HOST_IP6
forward tcp 8443 to [$GUEST_IP6]:443
forward udp 8443 to [$GUEST_IP6]:443
forward tcp 8080 to $GUEST_IP:80
CONF
bad="$PF_TMP/v4-host-ip-v6-guest.conf"
cat >"$bad" <<CONF
host-ip = $HOST_IP
forward tcp 8443 to [$GUEST_IP6]:443
CONF

pf_serve "$GUEST" tcp :: 443 guest443
pf_serve "$GUEST" udp :: 443 guest443
pf_serve "$GUEST" tcp 0.0.0.0 80 guest80
pf_serve "$GUEST" tcp :: 8443 guest8443   # would answer if the port were not translated

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8443 "ipv6 tcp before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP6" 8443 "ipv6 udp before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "ipv4 tcp before apply"
assert_eq "$(pf_ip6_forward "$HOST")" 0 "ipv6 forwarding is 0 before apply"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ipv4 forwarding is 0 before apply"

step "v4-only host-ip with an IPv6 guest is refused"
pf_ruleset_snapshot "$PF_TMP/rules.before"
pf_run --config "$bad" apply
pf_expect_rc 3 "apply with host-ip $HOST_IP only and an IPv6 guest"
[ -n "$PF_ERR" ] || fail "the refusal prints no message on stderr"
assert_match "$PF_ERR" "v4-host-ip-v6-guest\.conf:2:" "the message names the config file and line"
assert_match "$PF_ERR" "IPv6" "the message says the guest is IPv6"
pf_ruleset_snapshot "$PF_TMP/rules.after"
assert_same_file "$PF_TMP/rules.before" "$PF_TMP/rules.after" "refused apply leaves the ruleset unchanged"
assert_table_absent "refused apply creates no table"
assert_eq "$(pf_ip6_forward "$HOST")" 0 "refused apply leaves ipv6 forwarding at 0"
assert_eq "$(pf_ip_forward "$HOST")" 0 "refused apply leaves ipv4 forwarding at 0"
pf_run --config "$bad" check
pf_expect_rc 3 "check with host-ip $HOST_IP only and an IPv6 guest"

step "apply"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 3 forwards; table inet portfwd changed$' "apply reports 3 forwards"
assert_eq "$(pf_ip6_forward "$HOST")" 1 "apply turns ipv6 forwarding on"
assert_eq "$(pf_ip_forward "$HOST")" 1 "apply turns ipv4 forwarding on"

step "traffic"
assert_reaches "$CLIENT" tcp "$HOST_IP6" 8443 guest443 "ipv6 client, tcp [$HOST_IP6]:8443 -> [$GUEST_IP6]:443"
assert_reaches "$CLIENT" udp "$HOST_IP6" 8443 guest443 "ipv6 client, udp [$HOST_IP6]:8443 -> [$GUEST_IP6]:443"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "ipv4 client in the same config, $HOST_IP:8080 -> $GUEST_IP:80"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8080 "the ipv4 forward is not reachable over ipv6"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8443 "the ipv6 forward is not reachable over ipv4"
# host-ip restricts: the host's other IPv6 address is not forwarded
assert_no_reply "$REMOTE" tcp "$HOST_REMOTE_IP6" 8443 "[$HOST_REMOTE_IP6]:8443 (not in host-ip) is not forwarded"
assert_reaches "$REMOTE" tcp "$HOST_IP6" 8443 guest443 "another ipv6 network reaches the forward through host-ip"

step "flush"
pf_run_ok --config "$cfg" flush
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip6_forward "$HOST")" 0 "flush restores ipv6 forwarding to 0"
assert_eq "$(pf_ip_forward "$HOST")" 0 "flush restores ipv4 forwarding to 0"
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 8443 "ipv6 tcp after flush"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "ipv4 tcp after flush"

pf_pass
