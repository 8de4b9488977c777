#!/bin/bash
# Which source address the guest sees. By default forwards masquerade (the guest
# sees the host, 192.0.2.1); 'masquerade = no' keeps the client's address for every
# forward; per-forward 'keep-source' keeps it for that forward only ('from' and
# 'keep-source' in either order). The guest's default route is via the host, as
# on a libvirt NAT network, so its replies to the real client pass the host's
# conntrack either way.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg_default="$PF_TMP/default.conf"
cat >"$cfg_default" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80
forward udp 8080 to $GUEST_IP:80
CONF
cfg_nomasq="$PF_TMP/nomasq.conf"
cat >"$cfg_nomasq" <<CONF
host-ip = $HOST_IP
masquerade = no
forward tcp 8080 to $GUEST_IP:80
forward udp 8080 to $GUEST_IP:80
CONF
cfg_mixed="$PF_TMP/mixed.conf"
cat >"$cfg_mixed" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80 keep-source
forward udp 8080 to $GUEST_IP:80 keep-source
forward tcp 8081 to $GUEST_IP:81
forward tcp 8082 to $GUEST_IP:82 from 203.0.113.0/24 keep-source
forward tcp 8083 to $GUEST_IP:83 keep-source from 203.0.113.0/24
CONF
# two forwards to one guest endpoint, only one with keep-source
cfg_shared="$PF_TMP/shared.conf"
cat >"$cfg_shared" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80 keep-source
forward tcp 8090 to $GUEST_IP:80
CONF

for p in 80 81 82 83; do pf_serve "$GUEST" tcp 0.0.0.0 "$p" "g$p"; done
pf_serve "$GUEST" udp 0.0.0.0 80 g80

step "before apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "tcp 8080 before apply"
assert_no_reply "$CLIENT" udp "$HOST_IP" 8080 "udp 8080 before apply"

step "default: masquerade"
pf_run_ok --config "$cfg_default" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "tcp 8080 reaches the guest"
assert_eq "$PF_SEEN" "$HOST_GW_IP" "default masquerade: the guest sees the host's address (tcp)"
assert_reaches "$CLIENT" udp "$HOST_IP" 8080 g80 "udp 8080 reaches the guest"
assert_eq "$PF_SEEN" "$HOST_GW_IP" "default masquerade: the guest sees the host's address (udp)"

step "masquerade = no"
pf_run_ok --config "$cfg_nomasq" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "tcp 8080 reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "masquerade = no: the guest sees the client's address (tcp)"
assert_reaches "$CLIENT" udp "$HOST_IP" 8080 g80 "udp 8080 reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "masquerade = no: the guest sees the client's address (udp)"

step "per-forward keep-source"
pf_run_ok --config "$cfg_mixed" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "tcp 8080 (keep-source) reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "keep-source forward: the guest sees the client (tcp)"
assert_reaches "$CLIENT" udp "$HOST_IP" 8080 g80 "udp 8080 (keep-source) reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "keep-source forward: the guest sees the client (udp)"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8081 g81 "tcp 8081 (no keep-source) reaches the guest"
assert_eq "$PF_SEEN" "$HOST_GW_IP" "forward without keep-source: the guest sees the host"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8082 g82 "tcp 8082 (from ... keep-source) reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "'from NET keep-source': the guest sees the client"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8083 g83 "tcp 8083 (keep-source from ...) reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "'keep-source from NET': the guest sees the client"
assert_no_reply "$REMOTE" tcp "$HOST_IP" 8083 "'keep-source from 203.0.113.0/24' still applies the allowlist"

step "one guest endpoint, one forward with keep-source and one without"
pf_run --config "$cfg_shared" apply
if [ "$PF_RC" -eq 3 ]; then
    # refusing the combination outright is acceptable; silently doing the wrong thing is not
    [ -n "$PF_ERR" ] || fail "shared endpoint refused without a message"
    pf_log "ok: shared guest endpoint with mixed keep-source refused with exit 3"
else
    pf_expect_rc 0 "apply of two forwards to one guest endpoint, one keep-source"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "tcp 8080 (keep-source) reaches guest:80"
    assert_eq "$PF_SEEN" "$CLIENT_IP" "8080 keep-source: guest:80 sees the client"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8090 g80 "tcp 8090 (masquerade) reaches guest:80"
    assert_eq "$PF_SEEN" "$HOST_GW_IP" "8090 without keep-source: guest:80 sees the host"
fi

step "flush"
pf_run_ok --config "$cfg_mixed" flush
assert_table_absent "flush removes the table"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "tcp 8080 after flush"

pf_pass
