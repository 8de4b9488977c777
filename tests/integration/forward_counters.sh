#!/bin/bash
# One counter per forward (its protocol, family and host port), as the old iptables rules
# had one per rule: two forwards to the same guest endpoint count apart, a tcp,udp forward
# counts both, and a change of another forward (even the one sharing the endpoint) leaves
# a forward's counter as it was. The guest endpoint's counter stays beside it in --json.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

pf_serve "$GUEST" tcp 0.0.0.0 80 guest
pf_serve "$GUEST" udp 0.0.0.0 53 dns
cfg="$PF_TMP/portfwd.conf"
write_config() {   # the guest port of forward 8081
    cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80 name web
forward tcp 8081 to $GUEST_IP:$1 name web2
forward tcp,udp 5353 to $GUEST_IP:53 name dns
forward tcp 9000 to $GUEST_IP:80 name spare
CONF
}
# field NAME KEY: the status --json value of forward NAME
field() {
    pf_run --config "$cfg" status --json >&2
    pf_expect_rc 0 "status --json" >&2
    printf '%s\n' "$PF_OUT" >"$PF_TMP/status.json"
    pf_json "$PF_TMP/status.json" "[f['$2'] for f in d['forwards'] if f['name'] == '$1'][0]"
}

write_config 80
pf_run_ok --config "$cfg" apply

step "traffic through 8080 counts on 8080 only, though 8081 leads to the same endpoint"
for _ in 1 2 3; do assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "client through 8080"; done
web=$(field web packets)
web2=$(field web2 packets)
endpoint=$(field web2 endpoint_packets)
[ "$web" -gt 0 ] || fail "forward web counted nothing ($web packets)"
assert_eq "$web2" 0 "forward web2 counted nothing of web's traffic"
[ "$endpoint" -ge "$web" ] || fail "the shared endpoint counter ($endpoint) is below web's ($web)"
pf_log "ok: web $web packets, web2 $web2, their shared guest endpoint $endpoint"

step "a tcp,udp forward counts both protocols"
assert_reaches "$CLIENT" udp "$HOST_IP" 5353 dns "udp through 5353"
dns_udp=$(field dns packets)
[ "$dns_udp" -gt 0 ] || fail "dns counted no udp ($dns_udp)"

step "the text status shows each forward's own count"
pf_run --config "$cfg" status
assert_line "$PF_OUT" "web2 +tcp 8081 -> $GUEST_IP:80 +live +0 packets" "status: web2 at 0 packets"
assert_line "$PF_OUT" "web +tcp 8080 -> $GUEST_IP:80 +live +$web packets" "status: web's own count"

step "changing web2 (which shares web's endpoint) keeps web's counter"
write_config 81
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" 'changed elements in place' "the change is made in place"
assert_eq "$(field web packets)" "$web" "web's counter is kept across web2's change"

step "removing another forward keeps web's counter too"
sed -i '/name spare/d' "$cfg"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" "removed: forward tcp 9000 to $GUEST_IP:80 name spare" "apply names the removed forward"
assert_eq "$(field web packets)" "$web" "web's counter is kept across spare's removal"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "client through 8080 again"
[ "$(field web packets)" -gt "$web" ] || fail "web's counter did not grow with more traffic"

pf_run_ok --config "$cfg" flush
pf_pass
