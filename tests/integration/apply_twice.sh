#!/bin/bash
# Applying the same config twice: the second apply reports "unchanged" and the
# table is identical; a different config reports "changed".
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
forward udp 5000 to $GUEST_IP
CONF
pf_serve "$GUEST" tcp 0.0.0.0 16589 guest

step "first apply"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd changed$' "first apply reports changed"
hnft -s list table inet portfwd >"$PF_TMP/t1" || fail "nft list table after first apply"
hnft -a list table inet portfwd >"$PF_TMP/h1" || fail "nft -a list table after first apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "forward works after first apply"

step "second apply, same config"
pf_run_ok apply --config "$cfg"
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd unchanged$' "second apply reports unchanged"
hnft -s list table inet portfwd >"$PF_TMP/t2" || fail "nft list table after second apply"
hnft -a list table inet portfwd >"$PF_TMP/h2" || fail "nft -a list table after second apply"
assert_same_file "$PF_TMP/t1" "$PF_TMP/t2" "table identical after both applies (nft -s list)"
if cmp -s "$PF_TMP/h1" "$PF_TMP/h2"; then
    pf_log "note: rule handles unchanged too (the second apply did not rewrite the table)"
else
    pf_log "note: rule handles changed (the second apply rewrote an identical table)"
fi
assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward still 1"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "forward works after second apply"

step "apply a different config"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 16590 to $GUEST_IP:16589
forward udp 5000 to $GUEST_IP
CONF
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd changed$' "apply of a changed config reports changed"
hnft -s list table inet portfwd >"$PF_TMP/t3" || fail "nft list table after third apply"
cmp -s "$PF_TMP/t2" "$PF_TMP/t3" && fail "table did not change after applying a different config"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16590 guest "new forward works"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "old forward is gone"

step "flush after three applies"
pf_run_ok --config "$cfg" flush
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "flush restores ip_forward from before the FIRST apply (0)"

step "a new cycle starting with ip_forward=1"
pf_sysctl_set "$HOST" net.ipv4.ip_forward 1
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd changed$' "apply after flush reports changed"
pf_run_ok --config "$cfg" apply
pf_run_ok --config "$cfg" flush
assert_eq "$(pf_ip_forward "$HOST")" 1 "flush leaves ip_forward at 1 when it was 1 before apply"

pf_pass
