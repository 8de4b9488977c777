#!/bin/bash
# What diagnose knew alone, check, apply and status now say too, in the same words: a
# host-iface that does not exist, a guest the host has no route to, a guest that is a
# network's broadcast address, a forwarded port the host serves. diagnose's summary counts
# every check it printed. Every hint carries the --config and --state-dir given.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-iface = hC9
forward tcp 8080 to $GUEST_IP:80
forward tcp 8081 to 198.51.100.7:80
forward tcp 8082 to 192.0.2.255:80
CONF
iface_what='host-iface hC9 does not exist: no client can reach the forwards'
route_what='guest 198\.51\.100\.7: this host has no route to it'
bcast_what='guest 192\.0\.2\.255 is the broadcast address of 192\.0\.2\.0/24 on pfg'
# the remote namespace's link carries 198.51.100.0/24: take it away, so .7 has no route
ip -n "$HOST" addr flush dev "$HOST_IF_R" || fail "flushing $HOST_IF_R"

step "check warns, and still passes (the config is valid)"
pf_run --config "$cfg" check
pf_expect_rc 0 "check"
assert_line "$PF_ERR" "warning: $iface_what" "check: host-iface"
assert_line "$PF_ERR" "warning: $route_what" "check: no route"
assert_line "$PF_ERR" "warning: $bcast_what" "check: broadcast address"
assert_line "$PF_ERR" "^ +fix: set host-iface to the interface clients arrive on" "check: the fix"

step "apply warns the same"
pf_run --config "$cfg" apply
pf_expect_rc 0 "apply"
assert_line "$PF_ERR" "warning: $iface_what" "apply: host-iface"
assert_line "$PF_ERR" "warning: $route_what" "apply: no route"
assert_line "$PF_ERR" "warning: $bcast_what" "apply: broadcast address"

step "status reports it, in text and JSON"
pf_run --config "$cfg" status
pf_expect_rc 0 "status: in sync, though it cannot work"
assert_line "$PF_OUT" "cannot work: $iface_what" "status: host-iface"
assert_line "$PF_OUT" "cannot work: $route_what" "status: no route"
pf_run --config "$cfg" status --json
printf '%s\n' "$PF_OUT" >"$PF_TMP/status.json"
assert_eq "$(pf_json "$PF_TMP/status.json" 'len(d["cannot_work"])')" 3 "status --json: three findings"

step "diagnose: the same words, and a summary that counts what it printed"
pf_run --config "$cfg" diagnose
pf_expect_rc 1 "diagnose fails"
assert_line "$PF_OUT" "^\[FAIL\] $iface_what" "diagnose: host-iface"
assert_line "$PF_OUT" "^\[FAIL\] $route_what" "diagnose: no route"
printed=$(printf '%s\n' "$PF_OUT" | grep -cE '^\[(PASS|FAIL)\]')
failed=$(printf '%s\n' "$PF_OUT" | grep -cE '^\[FAIL\]')
assert_line "$PF_OUT" "^Summary: $((printed - failed)) of $printed checks pass, $failed fail" "diagnose's summary counts the printed checks"

step "diagnose --quiet prints only the failed checks, --json all of them"
pf_run --config "$cfg" diagnose --quiet
pf_expect_rc 1 "diagnose --quiet fails too"
assert_no_line "$PF_OUT" '^\[PASS\]' "--quiet: no PASS line"
assert_eq "$(printf '%s\n' "$PF_OUT" | grep -cE '^\[FAIL\]')" "$failed" "--quiet: the same FAIL lines"
pf_run --config "$cfg" diagnose --json
pf_expect_rc 1 "diagnose --json fails too"
printf '%s\n' "$PF_OUT" >"$PF_TMP/diagnose.json"
assert_eq "$(pf_json "$PF_TMP/diagnose.json" 'd["failed"]')" "$failed" "--json: failed counts the failed checks"
assert_eq "$(pf_json "$PF_TMP/diagnose.json" 'len(d["checks"])')" "$printed" "--json: every check"
assert_eq "$(pf_json "$PF_TMP/diagnose.json" 'sum(c["result"] == "fail" for c in d["checks"])')" "$failed" "--json: the failed ones marked"

step "hints carry --config and --state-dir"
hnft delete table inet portfwd || fail "deleting the table"
pf_run --config "$cfg" status
pf_expect_rc 1 "status of a deleted table"
assert_line "$PF_OUT" "\('sudo nft-portfwd --config $cfg --state-dir $PF_STATE apply' creates it\)" "status's hint carries the options"
pf_run --config "$cfg" diagnose
assert_line "$PF_OUT" "fix: sudo nft-portfwd --config $cfg --state-dir $PF_STATE apply" "diagnose's fix carries the options"
assert_line "$PF_OUT" "sudo nft-portfwd --config $cfg --state-dir $PF_STATE diagnose --trace 10" "the trace hint too"
pf_run --config "$cfg" --config-dir "$PF_TMP/nft-portfwd.d" remove tcp 9999
pf_expect_rc 2 "remove of no forward"
assert_match "$PF_ERR" "'nft-portfwd --config $cfg --config-dir $PF_TMP/nft-portfwd.d --state-dir $PF_STATE list' shows" "remove's hint carries the options"
[ -e "$PF_TMP/nft-portfwd.d" ] && fail "a remove that found nothing created the drop-in directory"

step "a config that can work has no findings"
printf 'forward tcp 8080 to %s:80\n' "$GUEST_IP" >"$PF_TMP/good.conf"
pf_run --config "$PF_TMP/good.conf" check
pf_expect_rc 0 "check of a good config"
assert_no_line "$PF_ERR" 'warning' "no warning"

pf_run_ok --config "$cfg" flush
pf_pass
