#!/bin/bash
# 'status' compares the live table with the config: one line per config forward,
# exit 0 when they match and 1 when not; '--json' gives {"in_sync": bool,
# "forwards": [{"state": "live"|"missing"|"different", "packets": N, "bytes": N,
# ...}, ...] in config order, "extra": [...]}. Per-forward packet counters grow
# with traffic through that forward only; a hand-deleted element is "missing", a
# hand-changed one "different", a hand-added one is listed under "extra"; status
# itself changes nothing, and the next apply heals the table.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
forward udp 5000 to $GUEST_IP
forward tcp 2222 to $GUEST_IP:22
CONF

pf_serve "$GUEST" tcp 0.0.0.0 16589 guest
pf_serve "$GUEST" udp 0.0.0.0 5000 guest
pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$GUEST" tcp 0.0.0.0 16600 guest16600

# status_json NAME: run 'status --json', keep stdout in $PF_TMP/NAME.json
status_json() {
    pf_run --config "$cfg" status --json
    printf '%s\n' "$PF_OUT" >"$PF_TMP/$1.json"
    "$PF_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$PF_TMP/$1.json" 2>"$PF_TMP/json.err" \
        || fail "status --json output is not JSON: $(cat "$PF_TMP/json.err")"
}
# jget NAME EXPR: evaluate a Python expression over d (the parsed JSON) and print it
jget() {
    "$PF_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(json.dumps(v) if isinstance(v, (bool, list, dict)) or v is None else v)
' "$PF_TMP/$1.json" "$2" 2>"$PF_TMP/json.err" || fail "reading $2 from status --json: $(cat "$PF_TMP/json.err")"
}
states() { jget "$1" '" ".join(f["state"] for f in d["forwards"])'; }
extra_count() { jget "$1" 'len(d.get("extra") or [])'; }
# lines_for 'PROTO PORT': how many text status lines show that forward
lines_for() { printf '%s\n' "$PF_OUT" | grep -Ec "(^|[[:space:]])$1[[:space:]]"; }

step "before apply"
pf_run --config "$cfg" status
pf_expect_rc 1 "status with no table"
status_json none
assert_eq "$(jget none 'd["in_sync"]')" false "json: not in sync with no table"
assert_eq "$(states none)" "missing missing missing" "json: every forward missing with no table"

step "apply, then status in sync"
pf_run_ok --config "$cfg" apply
pf_run --config "$cfg" status
pf_expect_rc 0 "status right after apply"
assert_eq "$(lines_for 'tcp 16589')" 1 "text: one line for forward tcp 16589"
assert_eq "$(lines_for 'udp 5000')" 1 "text: one line for forward udp 5000"
assert_eq "$(lines_for 'tcp 2222')" 1 "text: one line for forward tcp 2222"
assert_line "$PF_OUT" "tcp 16589 .*$GUEST_IP" "text: the tcp 16589 line names the guest"
status_json synced
assert_eq "$(jget synced 'd["in_sync"]')" true "json: in sync after apply"
assert_eq "$(jget synced 'len(d["forwards"])')" 3 "json: three forwards"
assert_eq "$(jget synced '" ".join(str(f["host_ports"][0]) for f in d["forwards"])')" "16589 5000 2222" \
    "json: forwards in config order (host ports 16589 5000 2222)"
assert_eq "$(states synced)" "live live live" "json: every forward live"
assert_eq "$(extra_count synced)" 0 "json: nothing extra"
assert_eq "$(jget synced 'all(type(f["packets"]) is int and type(f["bytes"]) is int for f in d["forwards"])')" true \
    "json: packets and bytes are numbers"

step "counters grow with traffic through that forward only"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "traffic through tcp 16589"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "more traffic through tcp 16589"
status_json after
p0=$(jget synced 'd["forwards"][0]["packets"]'); p1=$(jget after 'd["forwards"][0]["packets"]')
b0=$(jget synced 'd["forwards"][0]["bytes"]'); b1=$(jget after 'd["forwards"][0]["bytes"]')
[ "$p1" -gt "$p0" ] || fail "packets of forward tcp 16589 did not grow: $p0 -> $p1"
pf_log "ok: packets of tcp 16589 grew: $p0 -> $p1"
[ "$b1" -gt "$b0" ] || fail "bytes of forward tcp 16589 did not grow: $b0 -> $b1"
pf_log "ok: bytes of tcp 16589 grew: $b0 -> $b1"
assert_eq "$(jget after 'd["forwards"][2]["packets"]')" "$(jget synced 'd["forwards"][2]["packets"]')" \
    "packets of tcp 2222 (no traffic) did not change"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest "traffic through udp 5000"
status_json after_udp
u0=$(jget after 'd["forwards"][1]["packets"]'); u1=$(jget after_udp 'd["forwards"][1]["packets"]')
[ "$u1" -gt "$u0" ] || fail "packets of forward udp 5000 did not grow: $u0 -> $u1"
pf_log "ok: packets of udp 5000 grew: $u0 -> $u1"

step "a hand-deleted element is missing"
hnft delete element inet portfwd fwd4 '{ tcp . 16589 }' || fail "hand delete of tcp . 16589"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "the hand-deleted forward no longer works"
pf_ruleset_snapshot "$PF_TMP/rules.before-status"
pf_run --config "$cfg" status
pf_expect_rc 1 "status with a hand-deleted element"
assert_line "$PF_OUT" "tcp 16589 .*missing" "text: the tcp 16589 line says missing"
status_json deleted
assert_eq "$(jget deleted 'd["in_sync"]')" false "json: not in sync"
assert_eq "$(states deleted)" "missing live live" "json: tcp 16589 missing, the others live"
pf_ruleset_snapshot "$PF_TMP/rules.after-status"
assert_same_file "$PF_TMP/rules.before-status" "$PF_TMP/rules.after-status" "status changes nothing"

step "a hand-changed element is different, a hand-added one extra"
hnft delete element inet portfwd fwd4 '{ tcp . 2222 }' || fail "hand delete of tcp . 2222"
hnft add element inet portfwd fwd4 "{ tcp . 2222 : $GUEST_IP . 23 }" || fail "hand add of tcp . 2222 -> :23"
hnft add element inet portfwd fwd4 "{ tcp . 16600 : $GUEST_IP . 16600 }" || fail "hand add of tcp . 16600"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16600 guest16600 "the hand-added element forwards"
pf_run --config "$cfg" status
pf_expect_rc 1 "status with changed and extra elements"
status_json tampered
assert_eq "$(jget tampered 'd["in_sync"]')" false "json: not in sync"
assert_eq "$(states tampered)" "missing live different" "json: 16589 missing, 5000 live, 2222 different"
assert_eq "$(extra_count tampered)" 1 "json: one extra element"
assert_match "$(jget tampered 'd["extra"]')" "16600" "json: the extra element is tcp 16600"

step "apply heals"
pf_run_ok --config "$cfg" apply
pf_run --config "$cfg" status
pf_expect_rc 0 "status after the healing apply"
status_json healed
assert_eq "$(jget healed 'd["in_sync"]')" true "json: in sync again"
assert_eq "$(states healed)" "live live live" "json: every forward live again"
assert_eq "$(extra_count healed)" 0 "json: nothing extra after apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "tcp 16589 works again"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "tcp 2222 reaches guest:22 again"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16600 "the extra element is gone"

step "elements nft-portfwd never writes are named, and apply replaces them"
src_cfg="$PF_TMP/sourced.conf"
printf 'host-ip = %s\nforward tcp 7000 to %s:22 from 203.0.113.0/24\n' "$HOST_IP" "$GUEST_IP" >"$src_cfg"
pf_run_ok --config "$src_cfg" apply
g=${GUEST_IP//./\\.}
hnft add element inet portfwd fwdsrc4 "{ 203.0.113.1-203.0.113.9 . tcp . 7001 : $GUEST_IP . 22 }" \
    || fail "hand add of a range of clients that is not a prefix"
hnft add element inet portfwd fwdsrc4 "{ 203.0.113.0/24 . tcp . 7002-7003 : $GUEST_IP . 22 }" \
    || fail "hand add of a range of ports"
hnft add element inet portfwd fwdsrc4 "{ 203.0.113.0/24 . sctp . 7004 : $GUEST_IP . 22 }" \
    || fail "hand add of another protocol"
pf_run --config "$src_cfg" status
pf_expect_rc 1 "status with hand-made elements"
never='drift: map fwdsrc4 holds an element nft-portfwd never writes'
assert_line "$PF_OUT" "$never, 203\.0\.113\.1-203\.0\.113\.9 \. tcp \. 7001 : $g \. 22: the client network is not one address or prefix\$" \
    "the range of clients is named as nft writes it"
assert_line "$PF_OUT" "$never, 203\.0\.113\.0-203\.0\.113\.255 \. tcp \. 7002-7003 : $g \. 22: the protocol or host port is a range\$" \
    "the range of ports is named"
assert_line "$PF_OUT" "$never, 203\.0\.113\.0-203\.0\.113\.255 \. 132 \. 7004 : $g \. 22: the protocol is not tcp or udp\$" \
    "the other protocol is named by its number"
assert_eq "$(printf '%s\n' "$PF_OUT" | grep -c 'never writes')" 3 "three hand-made elements, each once"
pf_run_ok --config "$src_cfg" apply
pf_run --config "$src_cfg" status
pf_expect_rc 0 "in sync after apply replaced the hand-made elements"
assert_no_line "$(hnft list map inet portfwd fwdsrc4)" "7001|7002|sctp" "the hand-made elements are gone"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7000 guest22 "the configured sourced forward still works"

step "set elements that no map entry explains are named, and apply replaces them"
# (review) an endpoint in guest4 is let through other firewalls by our accept
hnft add element inet portfwd guest4 "{ 192.0.2.200 . tcp . 22 }" || fail "hand add to guest4"
hnft add element inet portfwd fwdtcp4 "{ 9999 }" || fail "hand add to fwdtcp4"
hnft delete element inet portfwd guest4 "{ $GUEST_IP . tcp . 22 }" || fail "hand delete from guest4"
pf_run --config "$src_cfg" status
pf_expect_rc 1 "status with hand-edited sets"
assert_line "$PF_OUT" "^  drift: set guest4 holds 192\.0\.2\.200 \. tcp \. 22, an endpoint no forward of the table leads to \(a hand edit\)" \
    "an endpoint added to guest4 is named"
assert_line "$PF_OUT" "^  drift: set guest4 lacks $g \. tcp \. 22, where a forward of the table leads \(a hand edit\)" \
    "an endpoint taken from guest4 is named"
assert_line "$PF_OUT" "^  drift: set fwdtcp4 holds 9999, a port no forward of the table has \(a hand edit\)" \
    "a port added to fwdtcp4 is named"
pf_run --config "$src_cfg" metrics
assert_line "$PF_OUT" '^nft_portfwd_in_sync 0$' "metrics: not in sync"
assert_line "$PF_OUT" '^nft_portfwd_drift 3$' "metrics: three differences"
pf_run_ok --config "$src_cfg" apply
pf_run --config "$src_cfg" status
pf_expect_rc 0 "in sync after apply put the sets back"
assert_no_line "$(hnft list set inet portfwd guest4; hnft list set inet portfwd fwdtcp4)" "192\.0\.2\.200|9999" \
    "the hand-added elements are gone"
assert_reaches "$CLIENT" tcp "$HOST_IP" 7000 guest22 "the sourced forward works again"

step "flush"
pf_run_ok --config "$cfg" flush
pf_run --config "$cfg" status
pf_expect_rc 1 "status after flush"

pf_pass
