#!/bin/bash
# Tables that belong to others in the host namespace are left exactly as they
# were by apply and by flush.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

FOREIGN=("ip filter" "inet other" "ip6 other6" "ip nat")
hnft -f - <<'NFT' || fail "creating foreign tables"
table ip filter {
    chain INPUT {
        type filter hook input priority filter; policy accept;
    }
    chain FORWARD {
        type filter hook forward priority filter; policy accept;
        ip saddr 203.0.113.0/24 counter accept
        ip daddr 198.51.100.0/24 counter accept comment "someone else's rule"
    }
}
table inet other {
    set blocked {
        type ipv4_addr
        elements = { 198.51.100.77, 198.51.100.78 }
    }
    map ports {
        type inet_service : verdict
        elements = { 9999 : drop }
    }
    chain input {
        type filter hook input priority filter + 10; policy accept;
        ip saddr @blocked counter drop
        tcp dport vmap @ports
    }
}
table ip6 other6 {
    chain c {
        ip6 saddr 2001:db8::1 counter
    }
}
table ip nat {
    chain PREROUTING {
        type nat hook prerouting priority dstnat; policy accept;
        tcp dport 7777 counter dnat to 192.0.2.79:7777
    }
}
NFT

snapshot() {   # SUFFIX: every foreign table, and the ruleset without portfwd
    local t
    for t in "${FOREIGN[@]}"; do
        # shellcheck disable=SC2086
        hnft -s list table $t >"$PF_TMP/${t// /_}.$1" || fail "nft list table $t ($1)"
    done
}
compare() {   # SUFFIX DESCRIPTION
    local t
    for t in "${FOREIGN[@]}"; do
        assert_same_file "$PF_TMP/${t// /_}.before" "$PF_TMP/${t// /_}.$1" "table $t identical $2"
    done
}

snapshot before
hnft -s list ruleset >"$PF_TMP/ruleset.before" || fail "nft list ruleset"

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
forward udp 5000 to $GUEST_IP
CONF
pf_serve "$GUEST" tcp 0.0.0.0 16589 guest
pf_serve "$GUEST" tcp 0.0.0.0 7777 guest7777

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "no forward before apply"

step "check"
pf_run_ok --config "$cfg" check
hnft -s list ruleset >"$PF_TMP/ruleset.check" || fail "nft list ruleset"
assert_same_file "$PF_TMP/ruleset.before" "$PF_TMP/ruleset.check" "check changes nothing in the ruleset"

step "apply"
pf_run_ok --config "$cfg" apply
assert_table_present "portfwd table added"
snapshot apply
compare apply "after apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "forward works beside foreign tables"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7777 guest7777 "the foreign table's own DNAT still works"

step "apply again"
pf_run_ok --config "$cfg" apply
snapshot apply2
compare apply2 "after second apply"

step "flush"
pf_run_ok --config "$cfg" flush
assert_table_absent "portfwd table removed"
snapshot flush
compare flush "after flush"
hnft -s list ruleset >"$PF_TMP/ruleset.flush" || fail "nft list ruleset"
assert_same_file "$PF_TMP/ruleset.before" "$PF_TMP/ruleset.flush" "whole ruleset back to its state before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "no forward after flush"

pf_pass
