#!/bin/bash
# Rules and tables of someone else's that look like ours or that nft cannot name, and what
# the host does beside nftables:
#  - an admin's rule whose comment starts with "nft-portfwd" survives apply and flush;
#  - a table whose name nft's syntax cannot write ("we ird", made through JSON) that drops
#    the forwards: apply and flush still work, and apply says why it adds nothing there;
#  - an iptables-legacy FORWARD DROP, invisible in the nftables listing, is named by check,
#    status and diagnose, with the command to inspect it;
#  - a forwarded port the host namespace itself listens on, with no host-ip: check and
#    diagnose warn and name host-ip; with host-ip, no warning.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_serve "$GUEST" udp 0.0.0.0 5353 guest
pf_serve "$GUEST" tcp 0.0.0.0 8000 guest

cat >"$PF_TMP/portfwd.conf" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000
CONF

step "an admin's rule that only looks like ours"
hnft -f - <<'EOF2' || fail "loading the admin's table"
table inet admin {
	chain forward {
		type filter hook forward priority filter; policy accept;
		tcp dport 22 accept comment "nft-portfwd docs say keep ssh open"
		udp dport 67 accept comment "nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd"
	}
}
EOF2
hnft -s list table inet admin >"$PF_TMP/admin.before" || fail "listing the admin's table"
pf_run_ok --config "$PF_TMP/portfwd.conf" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the forward works"
hnft -s list table inet admin >"$PF_TMP/admin.applied"
assert_same_file "$PF_TMP/admin.before" "$PF_TMP/admin.applied" "apply leaves the admin's look-alike rules alone"
pf_run_ok --config "$PF_TMP/portfwd.conf" flush
hnft -s list table inet admin >"$PF_TMP/admin.flushed"
assert_same_file "$PF_TMP/admin.before" "$PF_TMP/admin.flushed" "flush leaves the admin's look-alike rules alone"
hnft delete table inet admin || fail "deleting the admin's table"

step "a table whose name nft cannot write, dropping the forwards"
hnft -j -f - <<'EOF2' || fail "creating table ip 'we ird' through JSON"
{"nftables": [
 {"add": {"table": {"family": "ip", "name": "we ird"}}},
 {"add": {"chain": {"family": "ip", "table": "we ird", "name": "for ward", "type": "filter",
  "hook": "forward", "prio": 0, "policy": "drop"}}},
 {"add": {"rule": {"family": "ip", "table": "we ird", "chain": "for ward",
  "comment": "nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd",
  "expr": [{"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 16777216]}, "right": 16777216}},
           {"counter": {"packets": 0, "bytes": 0}}, {"accept": null}]}}}
]}
EOF2
pf_run --config "$PF_TMP/portfwd.conf" apply
pf_expect_rc 0 "apply beside table ip 'we ird'"
assert_line "$PF_ERR" "warning: ip we ird for ward .*nowhere: the name of ip we ird for ward cannot be written in nft syntax" \
    "apply says why it adds nothing to 'we ird'"
assert_line "$PF_ERR" "a rule of nft-portfwd \(handle [0-9]+\) in a chain whose name nft cannot write is left there" \
    "apply says it cannot delete the accept found in 'we ird'"
assert_table_present "table inet portfwd is applied"
pf_run --config "$PF_TMP/portfwd.conf" flush
pf_expect_rc 0 "flush beside table ip 'we ird'"
assert_table_absent "flush deletes table inet portfwd"
hnft -j list ruleset | grep -q '"we ird"' || fail "table 'we ird' is gone"
hnft -j -f - <<<'{"nftables": [{"delete": {"table": {"family": "ip", "name": "we ird"}}}]}' || fail "deleting 'we ird'"

step "iptables-legacy FORWARD DROP: invisible to nftables, named by check, status and diagnose"
if command -v iptables-legacy >/dev/null && ip netns exec "$HOST" iptables-legacy -P FORWARD DROP 2>/dev/null; then
    pf_run_ok --config "$PF_TMP/portfwd.conf" apply
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "the legacy FORWARD DROP drops the forward"
    pf_run_ok --config "$PF_TMP/portfwd.conf" check
    assert_line "$PF_ERR" "warning: iptables-legacy tables are loaded \(ip filter\).*iptables-legacy -S FORWARD" "check names the legacy tables and how to look"
    pf_run --config "$PF_TMP/portfwd.conf" status
    assert_line "$PF_OUT" "firewall: iptables-legacy tables are loaded \(ip filter\)" "status names the legacy tables"
    pf_cx_status_json "$PF_TMP/portfwd.conf" legacy
    assert_match "$(pf_json "$PF_TMP/legacy.json" 'd["legacy_iptables"]')" "iptables-legacy -I FORWARD -m mark --mark 0x1000000/0x1000000 -j ACCEPT" "status --json gives the rule to add"
    pf_run --config "$PF_TMP/portfwd.conf" diagnose --state-dir "$PF_STATE"
    pf_expect_rc 1 "diagnose with a legacy FORWARD DROP"
    assert_line "$PF_OUT" '^\[FAIL\] iptables-legacy tables are loaded \(ip filter\)' "diagnose fails naming the legacy tables"
    step "the rule diagnose names, added by hand, lets exactly the forwards through"
    ip netns exec "$HOST" iptables-legacy -I FORWARD -m mark --mark 0x1000000/0x1000000 -j ACCEPT || fail "adding the legacy accept"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the forward works with the legacy accept of the mark"
    assert_no_reply "$CLIENT" tcp "$GUEST_IP" 8000 "a routed client straight to the guest is still dropped by the legacy policy"
    pf_run_ok --config "$PF_TMP/portfwd.conf" flush
else
    pf_log "iptables-legacy cannot run here: that step is not tried"
    PF_LEGACY_SKIPPED=yes
fi

step "a forwarded port the host itself serves, without host-ip"
cat >"$PF_TMP/anylocal.conf" <<CONF
forward udp 5353 to $GUEST_IP:5353
CONF
pf_serve "$HOST" udp 192.0.2.1 5353 hostdns
pf_run_ok --config "$PF_TMP/anylocal.conf" check
assert_line "$PF_ERR" "warning: .*anylocal.conf:1: the host itself serves udp port 5353 \(a socket listens on 192\.0\.2\.1:5353\)" \
    "check warns that the forward takes the host's own port"
assert_line "$PF_ERR" "^ +fix: set host-ip" "and names host-ip as the fix"
pf_run --config "$PF_TMP/anylocal.conf" diagnose --state-dir "$PF_STATE"
assert_line "$PF_OUT" '^\[FAIL\] .*the host itself serves udp port 5353' "diagnose names the served port"
{ echo "host-ip = $HOST_IP"; cat "$PF_TMP/anylocal.conf"; } >"$PF_TMP/hostip.conf"
pf_run_ok --config "$PF_TMP/hostip.conf" check
assert_no_line "$PF_ERR" 'serves' "with host-ip, check does not warn"
pf_pass
