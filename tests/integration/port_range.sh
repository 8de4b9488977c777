#!/bin/bash
# Port ranges: 'forward tcp 7000-7009 to GUEST:9000-9009' maps one to one (7000 ->
# 9000 ... 7009 -> 9009, proved by servers with distinct names), 7010 is not
# forwarded, 'forward udp 6000-6009 to GUEST' keeps the ports; ranges of unequal
# length are refused (exit 3) without touching the kernel.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 7000-7009 to $GUEST_IP:9000-9009
forward udp 6000-6009 to $GUEST_IP
CONF
bad="$PF_TMP/unequal.conf"
cat >"$bad" <<CONF
host-ip = $HOST_IP
forward tcp 7000-7009 to $GUEST_IP:9000-9008
CONF

# one server per interesting guest port, each with its own name
for p in 9000 9001 9005 9008 9009 9010 7000 7009 7010; do
    pf_serve "$GUEST" tcp 0.0.0.0 "$p" "t$p"
done
for p in 6000 6001 6009 6010; do
    pf_serve "$GUEST" udp 0.0.0.0 "$p" "u$p"
done

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 7000 "tcp 7000 before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 7009 "tcp 7009 before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP" 6000 "udp 6000 before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP" 6009 "udp 6009 before apply"

step "ranges of unequal length are refused"
# the valid ranges must render, so the refusal below is about the lengths, not about ranges
pf_run --config "$cfg" render
pf_expect_rc 0 "render of the valid range config"
assert_line "$PF_OUT" '9009' "the rendering maps onto 9009"
pf_ruleset_snapshot "$PF_TMP/rules.before"
pf_run --config "$bad" apply
pf_expect_rc 3 "apply with 7000-7009 -> 9000-9008"
assert_match "$PF_ERR" "unequal\.conf:2:" "the message names the file and line"
assert_match "$PF_ERR" "(9000-9008|length|equal|same number|[0-9]+ ports)" "the message is about the lengths of the ranges"
pf_ruleset_snapshot "$PF_TMP/rules.after"
assert_same_file "$PF_TMP/rules.before" "$PF_TMP/rules.after" "refused apply leaves the ruleset unchanged"
assert_table_absent "refused apply creates no table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "refused apply leaves ip_forward at 0"

step "apply"
pf_run_ok --config "$cfg" apply
assert_table_present "table exists after apply"

step "tcp range maps one to one"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7000 t9000 "first port 7000 -> 9000"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7001 t9001 "second port 7001 -> 9001"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7005 t9005 "middle port 7005 -> 9005"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7008 t9008 "7008 -> 9008"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7009 t9009 "last port 7009 -> 9009 (not the 9000 server, not 7009 on the guest)"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 7010 "7010 (one past the range) is not forwarded"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 6999 "6999 (one before the range) is not forwarded"
assert_no_reply "$CLIENT" udp "$HOST_IP" 7000 "the tcp range does not forward udp"

step "udp range keeps the ports"
assert_reaches "$CLIENT" udp "$HOST_IP" 6000 u6000 "udp first port 6000 -> 6000"
assert_reaches "$CLIENT" udp "$HOST_IP" 6001 u6001 "udp 6001 -> 6001"
assert_reaches "$CLIENT" udp "$HOST_IP" 6009 u6009 "udp last port 6009 -> 6009"
assert_no_reply "$CLIENT" udp "$HOST_IP" 6010 "udp 6010 (one past the range) is not forwarded"

step "flush"
pf_run_ok --config "$cfg" flush
assert_table_absent "flush removes the table"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 7009 "tcp 7009 after flush"
assert_no_reply "$CLIENT" udp "$HOST_IP" 6009 "udp 6009 after flush"

pf_pass
