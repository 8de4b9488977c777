#!/bin/bash
# Allowlists: 'forward ... from NET[, NET...]' forwards only connections from those
# client networks. The client has a second address (203.0.113.3); from .2 the
# allowlisted forward reaches the guest, from .3 it does not, while a forward
# without 'from' stays open to .3. A prefix with host bits set is refused (exit 3)
# with the intended network in the message, before anything reaches the kernel. A source
# address forged inside an allowed network gets one-way UDP through while rp_filter is off
# where clients arrive, which diagnose names; with rp_filter on it is dropped.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

CLIENT_IP2=203.0.113.3
ip -n "$CLIENT" addr add "$CLIENT_IP2/24" dev "$PEER_IF" || fail "second client address"

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 2223 to $GUEST_IP:22 from $CLIENT_IP/32
forward tcp 2224 to $GUEST_IP:22
forward tcp,udp 2225 to $GUEST_IP:22 from 198.51.100.0/24, 2001:db8:9::/48
CONF
bad4="$PF_TMP/hostbits4.conf"
cat >"$bad4" <<CONF
host-ip = $HOST_IP
forward tcp 2223 to $GUEST_IP:22 from $CLIENT_IP/24
CONF
bad6="$PF_TMP/hostbits6.conf"
cat >"$bad6" <<CONF
host-ip = $HOST_IP
forward tcp 2223 to $GUEST_IP:22 from 198.51.100.0/24, 2001:db8:9::1/48
CONF

pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$GUEST" udp 0.0.0.0 22 guest22
pf_serve "$GUEST" tcp 0.0.0.0 2223 guest2223   # would answer if the port were not translated

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2223 "2223 from .2 before apply" --source "$CLIENT_IP"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2224 "2224 from .3 before apply" --source "$CLIENT_IP2"
assert_no_reply "$REMOTE" tcp "$HOST_IP" 2225 "2225 from remote before apply"

step "a prefix with host bits set is refused"
pf_run --config "$cfg" render
pf_expect_rc 0 "render of the valid allowlist config"
pf_ruleset_snapshot "$PF_TMP/rules.before"
pf_run --config "$bad4" apply
pf_expect_rc 3 "apply with 'from $CLIENT_IP/24'"
assert_match "$PF_ERR" "hostbits4\.conf:2:" "the message names the file and line"
assert_match "$PF_ERR" "203\.0\.113\.0/24" "the message shows the intended network 203.0.113.0/24"
pf_run --config "$bad6" apply
pf_expect_rc 3 "apply with 'from 2001:db8:9::1/48'"
assert_match "$PF_ERR" "hostbits6\.conf:2:" "the message names the file and line (ipv6)"
assert_match "$PF_ERR" "2001:db8:9::/48" "the message shows the intended network 2001:db8:9::/48"
pf_ruleset_snapshot "$PF_TMP/rules.after"
assert_same_file "$PF_TMP/rules.before" "$PF_TMP/rules.after" "refused applies leave the ruleset unchanged"
assert_table_absent "refused applies create no table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "refused applies leave ip_forward at 0"

step "apply"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 3 forwards; table inet portfwd changed$' "apply reports 3 forwards"

step "traffic"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2223 guest22 "2223 from the allowed $CLIENT_IP reaches the guest" --source "$CLIENT_IP"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2223 "2223 from $CLIENT_IP2 (not in the allowlist) is not forwarded" --source "$CLIENT_IP2"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2224 guest22 "2224 (no allowlist) from $CLIENT_IP2 reaches the guest" --source "$CLIENT_IP2"
assert_reaches "$REMOTE" tcp "$HOST_IP" 2225 guest22 "2225 from the allowed network 198.51.100.0/24 (tcp)"
assert_reaches "$REMOTE" udp "$HOST_IP" 2225 guest22 "2225 from the allowed network 198.51.100.0/24 (udp)"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2225 "2225 from $CLIENT_IP (not in its allowlist) is not forwarded" --source "$CLIENT_IP"
assert_no_reply "$CLIENT" udp "$HOST_IP" 2225 "2225 udp from $CLIENT_IP is not forwarded" --source "$CLIENT_IP"
assert_no_reply "$REMOTE" tcp "$HOST_IP" 2223 "2223 from remote (not in its allowlist) is not forwarded"

step "a forged source address meets the allowlist while rp_filter is off (what diagnose says)"
FORGED=198.51.100.77  # in 2225's allowed network, which lies behind another interface
ip -n "$CLIENT" addr add "$FORGED/32" dev "$PEER_IF" || fail "the forged address in the client"
# udp packets the guest endpoint counted: the forward's packets in status --json
udp_packets() {
    ip netns exec "$HOST" "$NFT_PORTFWD" --config "$cfg" --state-dir "$PF_STATE" status --json >"$PF_TMP/status.json"
    pf_json "$PF_TMP/status.json" '[f["packets"] for f in d["forwards"] if f["host_ports"] == [2225, 2225]][0]'
}
pf_sysctl_set "$HOST" net.ipv4.conf.all.rp_filter 0
pf_sysctl_set "$HOST" "net.ipv4.conf.$HOST_IF_C.rp_filter" 0
pf_run --config "$cfg" diagnose
assert_line "$PF_OUT" "^\[FAIL\] rp_filter is off where clients arrive \(.*$HOST_IF_C.*\): a client there can forge a source address" \
    "diagnose names rp_filter off where clients arrive"
before=$(udp_packets)
assert_no_reply "$CLIENT" udp "$HOST_IP" 2225 "no reply to a forged source" --source "$FORGED"
after=$(udp_packets)
[ "$after" -gt "$before" ] || fail "the forged UDP packet did not reach the guest endpoint ($before -> $after packets): the test attacks nothing"
pf_log "ok: with rp_filter off, a forged source in the allowlist reached the guest ($before -> $after packets, one way)"
pf_sysctl_set "$HOST" net.ipv4.conf.all.rp_filter 1
pf_run --config "$cfg" diagnose
assert_line "$PF_OUT" "^\[PASS\] rp_filter is on where clients arrive" "diagnose sees rp_filter on"
before=$(udp_packets)
assert_no_reply "$CLIENT" udp "$HOST_IP" 2225 "no reply to a forged source" --source "$FORGED"
assert_eq "$(udp_packets)" "$before" "with rp_filter on, the forged packet is dropped"

step "flush"
pf_run_ok --config "$cfg" flush
assert_table_absent "flush removes the table"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2223 "2223 from .2 after flush" --source "$CLIENT_IP"

pf_pass
