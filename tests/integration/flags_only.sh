#!/bin/bash
# A forward given only by flags (config file empty) reaches the guest; a config
# path that does not exist is an error (exit 3).
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

pf_serve "$GUEST" tcp 0.0.0.0 80 guest
pf_serve "$GUEST" udp 0.0.0.0 80 guest
empty="$PF_TMP/empty.conf"
: >"$empty"
FLAGS=(--host-port 8080 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp)

step "explicit --config that does not exist"
pf_run --config "$PF_TMP/nonexistent.conf" apply "${FLAGS[@]}"
pf_expect_rc 3 "apply with a missing --config file"
assert_match "$PF_ERR" 'nonexistent\.conf' "error names the missing file"
assert_table_absent "no table after the failed apply"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward untouched by the failed apply"

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

step "same forward, options before the command"
pf_run --config "$empty" "${FLAGS[@]}" apply
pf_expect_rc 0 "apply with options before the command"
assert_line "$PF_OUT" '^nft-portfwd: applied 1 forwards?; table inet portfwd unchanged$' "same flags before the command: unchanged"

step "--proto tcp,udp"
pf_run --config "$empty" apply --host-port 8080 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp,udp --host-ip "$HOST_IP"
pf_expect_rc 0 "apply with --proto tcp,udp"
assert_reaches "$CLIENT" udp "$HOST_IP" 8080 guest "udp forwarded with --proto tcp,udp"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "tcp still forwarded"

step "flags only, no --config at all (default config path)"
if [ -e /etc/nft-portfwd.conf ]; then
    pf_log "note: /etc/nft-portfwd.conf exists on this machine; not testing the default path"
else
    pf_run apply --host-port 8081 --vm-ip "$GUEST_IP" --vm-port 80 --proto tcp
    pf_expect_rc 0 "apply from flags with the default config file missing"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 guest "client tcp host:8081 reaches guest:80"
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "the previous forward (8080) was replaced"
fi

step "flush"
pf_run_ok --config "$empty" flush
assert_table_absent "flush removes the table"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward back to 0"

pf_pass
