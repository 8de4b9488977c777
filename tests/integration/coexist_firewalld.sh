#!/bin/bash
# Beside the real firewalld (Debian 12: 1.3, nftables backend), running in the test's host
# namespace: its table inet firewalld accepts DNAT'd connections (ct status dnat accept),
# so it does not block the forwards. apply must see that: no warning, no accepts added
# anywhere, the forwards work; status and diagnose are clean; flush leaves firewalld's
# table byte-identical. Needs package firewalld and a system D-Bus (fw_firewalld starts
# one when none answers, and the EXIT trap stops what it started).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v firewalld >/dev/null || pf_skip "firewalld is not installed (apt-get install firewalld)"
command -v dbus-daemon >/dev/null || pf_skip "dbus-daemon is not installed"
if dbus-send --system --dest=org.fedoraproject.FirewallD1 --type=method_call --print-reply \
        /org/fedoraproject/FirewallD1 org.freedesktop.DBus.Peer.Ping >/dev/null 2>&1; then
    pf_skip "a firewalld already owns the system bus (only one can run at a time)"
fi
pf_setup
pf_on_exit fw_firewalld_stop

step "firewalld running in the host namespace"
fw_firewalld "$HOST" || fail "starting firewalld in $HOST"
assert_line "$(hnft list tables)" '^table inet firewalld$' "firewalld wrote table inet firewalld"
hnft list chain inet firewalld filter_FORWARD >"$PF_TMP/fwd.txt" 2>&1 || fail "listing firewalld's filter_FORWARD: $(cat "$PF_TMP/fwd.txt")"
assert_line "$(cat "$PF_TMP/fwd.txt")" 'hook forward' "firewalld has a chain on the forward hook"
assert_line "$(cat "$PF_TMP/fwd.txt")" 'ct status dnat accept' "firewalld's forward chain accepts DNAT'd connections"
pf_cx_prepare

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "tcp 8000 before apply"

step "apply: firewalld passes DNAT'd connections, nothing to add"
pf_run --config "$CX_CFG" apply
pf_expect_rc 0 "apply beside firewalld"
assert_no_line "$PF_OUT" 'added the accept' "apply adds no accepts beside firewalld"
assert_no_line "$PF_ERR" 'would drop' "apply names no blocking chain beside firewalld"
assert_eq "$(pf_cx_ours_outside)" 0 "no rule of nft-portfwd in firewalld's table"
pf_cx_snapshot applied
pf_cx_compare before applied "after apply"
pf_cx_traffic_works "beside firewalld"
pf_run --config "$CX_CFG" status
pf_expect_rc 0 "status beside firewalld"
pf_cx_status_json "$CX_CFG" st
assert_eq "$(pf_json "$PF_TMP/st.json" 'd["drift"]')" "[]" "status --json: no drift"
assert_eq "$(pf_json "$PF_TMP/st.json" 'len(d.get("firewalls", []))')" 0 "status --json: no blocking firewall"
pf_cx_diagnose "$CX_CFG"
pf_expect_rc 0 "diagnose beside firewalld"
assert_no_line "$PF_OUT" '^\[FAIL\]' "diagnose: no FAIL line beside firewalld"

pf_cx_phase_flush
pf_pass
