#!/bin/bash
# Forwards given only by flags, the way the old `make setup` was used: each apply with flags
# adds its forward to the flags record (the same protocol and host port replaces it), and
# every forward that goes away is named. status, list and remove know the flags' forwards
# without being given the flags again, alone or beside a config; flush forgets them.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

pf_serve "$GUEST" tcp 0.0.0.0 80 guest
pf_serve "$GUEST" udp 0.0.0.0 80 guest
pf_serve "$GUEST" tcp 0.0.0.0 81 guest81
empty="$PF_TMP/empty.conf"
: >"$empty"
FLAGS=(--host-port 8080 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp)
RECORD="$PF_STATE/flags.conf"

step "explicit --config that does not exist"
pf_run --config "$PF_TMP/nonexistent.conf" apply "${FLAGS[@]}"
pf_expect_rc 3 "apply with a missing --config file"
assert_match "$PF_ERR" 'nonexistent\.conf' "error names the missing file"
assert_table_absent "no table after the failed apply"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward untouched by the failed apply"
[ -e "$RECORD" ] && fail "a failed apply wrote the flags record"

step "render from flags"
pf_run render --config "$empty" "${FLAGS[@]}"
pf_expect_rc 0 "render from flags"
assert_match "$PF_OUT" '192\.0\.2\.79' "rendered ruleset names the guest"

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "no forward before apply"

step "apply from flags only (options after the command)"
pf_run apply --config "$empty" "${FLAGS[@]}"
pf_expect_rc 0 "apply from flags"
assert_line "$PF_OUT" '^nft-portfwd: applied 1 forwards?; table inet portfwd changed$' "apply reports 1 forward"
assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward turned on"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "client tcp host:8080 reaches guest:80"
assert_reaches "$HOST" tcp "$HOST_IP" 8080 guest "host-local tcp host:8080 reaches guest:80"
assert_no_reply "$CLIENT" udp "$HOST_IP" 8080 "--proto tcp does not forward udp"
assert_match "$(cat "$RECORD")" "forward tcp 8080 to $GUEST_IP:80" "the flags record holds the forward"

step "status and list know the flags' forward without the flags"
pf_run --config "$empty" status
pf_expect_rc 0 "status after a flags-only apply"
assert_match "$PF_OUT" 'in sync with' "status: in sync"
assert_match "$PF_OUT" "flags\\.conf:3 +tcp 8080 -> $GUEST_IP:80 +live" "status: the forward, live, from the record"
pf_run --config "$empty" list
pf_expect_rc 0 "list after a flags-only apply"
assert_match "$PF_OUT" "flags\\.conf:3 .*tcp 8080 -> $GUEST_IP:80" "list: the forward and its origin"

step "same forward, options before the command"
pf_run --config "$empty" "${FLAGS[@]}" apply
pf_expect_rc 0 "apply with options before the command"
assert_line "$PF_OUT" '^nft-portfwd: applied 1 forwards?; table inet portfwd unchanged$' "same flags before the command: unchanged"

step "a second flags apply on another port adds, like make setup twice"
pf_run --config "$empty" apply --host-port 8081 --vm-ip "$GUEST_IP" --vm-port 81
pf_expect_rc 0 "apply a second forward by flags"
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd changed$' "two forwards now"
assert_line "$PF_OUT" "^nft-portfwd: added: forward tcp 8081 to $GUEST_IP:81\$" "the new forward is named"
assert_no_line "$PF_OUT" 'removed:' "nothing removed"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "8080 still forwarded"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 guest81 "8081 forwarded"

step "the same port again replaces that forward, and says which went"
pf_run --config "$empty" apply --host-port 8081 --vm-ip "$GUEST_IP" --vm-port 80
pf_expect_rc 0 "apply the same port to another guest port"
assert_line "$PF_OUT" "^nft-portfwd: removed: forward tcp 8081 to $GUEST_IP:81\$" "the replaced forward is named"
assert_line "$PF_OUT" "^nft-portfwd: added: forward tcp 8081 to $GUEST_IP:80\$" "its replacement is named"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 guest "8081 now leads to guest:80"

step "--proto tcp,udp on 8080 replaces the tcp forward of 8080"
pf_run --config "$empty" apply --host-port 8080 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp,udp --host-ip "$HOST_IP"
pf_expect_rc 0 "apply with --proto tcp,udp"
assert_reaches "$CLIENT" udp "$HOST_IP" 8080 guest "udp forwarded with --proto tcp,udp"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "tcp still forwarded"
assert_match "$(cat "$RECORD")" "host-ip = $HOST_IP" "the setting flag is recorded"

step "beside a config: the flags' forwards are no drift"
printf 'forward tcp 9090 to %s:80\n' "$GUEST_IP" >"$PF_TMP/with.conf"
pf_run_ok --config "$PF_TMP/with.conf" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 9090 guest "the config's forward"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 guest "the flags' forward stays"
pf_run --config "$PF_TMP/with.conf" status
pf_expect_rc 0 "status with config and flags record"
assert_no_line "$PF_OUT" 'extra:' "no forward shows as extra"
assert_match "$PF_OUT" "in sync with $PF_TMP/with.conf and $RECORD" "status names both sources"

step "a config forward on a recorded port wins over the record, with a warning"
printf 'forward tcp 8081 to %s:81\n' "$GUEST_IP" >"$PF_TMP/clash.conf"
pf_run --config "$PF_TMP/clash.conf" check
pf_expect_rc 0 "check of a config that takes a recorded port"
assert_line "$PF_ERR" "warning: $RECORD:3: left out: $PF_TMP/clash.conf:1 forwards its port now" "the warning names the record's line and the config's"

step "remove takes a flags forward out of the record"
pf_run_ok --config "$PF_TMP/with.conf" remove tcp 8081
assert_match "$PF_OUT" "removed forward tcp 8081 to $GUEST_IP:80 from $RECORD" "remove names the record"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8081 "8081 no longer forwarded"
assert_reaches "$CLIENT" tcp "$HOST_IP" 9090 guest "the config's forward stays"
pf_run --config "$PF_TMP/with.conf" status
pf_expect_rc 0 "status after the remove"

step "a setting flag without a forward flag applies to that run only"
pf_run_ok --config "$PF_TMP/with.conf" apply --integrate off
assert_no_line "$(cat "$RECORD")" '^integrate' "--integrate alone is not recorded"
assert_line "$(cat "$RECORD")" "^host-ip = $HOST_IP\$" "the host-ip given with a forward stays"

step "removing the flags' last forward drops the settings given with it, and says so"
pf_run_ok --config "$PF_TMP/with.conf" remove tcp 8080
assert_line "$PF_OUT" "no longer in force: host-ip = $HOST_IP" "remove names the setting that went"
[ -e "$RECORD" ] && fail "the record is left without forwards"
assert_no_reply "$CLIENT" udp "$HOST_IP" 8080 "8080 no longer forwarded"
assert_reaches "$CLIENT" tcp "$HOST_IP" 9090 guest "the config's forward stays"

step "flags only, no --config at all (default config path)"
if [ -e /etc/nft-portfwd.conf ]; then
    pf_log "note: /etc/nft-portfwd.conf exists on this machine; not testing the default path"
else
    mkdir "$PF_TMP/none.d"
    pf_run apply --host-port 8082 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp --config-dir "$PF_TMP/none.d"
    pf_expect_rc 0 "apply from flags with the default config file missing"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8082 guest "client tcp host:8082 reaches guest:80"
    pf_run status --config-dir "$PF_TMP/none.d"
    pf_expect_rc 0 "status without any config file"
    assert_match "$PF_OUT" "in sync with $RECORD" "status: in sync with the record alone"
fi

step "flush forgets the flags"
pf_run_ok --config "$empty" flush
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward back to 0"
[ -e "$RECORD" ] && fail "flush left the flags record"
pf_run_ok --config "$empty" apply
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "an apply after flush has no flags' forward"
pf_run_ok --config "$empty" flush

pf_pass
