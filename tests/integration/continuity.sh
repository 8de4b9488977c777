#!/bin/bash
# Continuity: while a client opens connections at the full rate through one forward (the
# C program connrate: tens of thousands a second, each a new conntrack entry through the
# NAT chains) and a long TCP stream flows through it, apply re-runs 100 times with other
# forwards changing. No connection may fail and the stream may never reset: a change of
# other forwards touches only their elements (a whole-table replace made about 1 in
# 190,000 new connections fail: its new map elements go live a moment after its rules),
# and only the conntrack entries of changed forwards are deleted.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
LOAD="$PF_LIB_DIR/load.py"

sink_ready="$PF_TMP/sink.ready"
ip netns exec "$GUEST" "$PF_PYTHON" "$LOAD" sink 0.0.0.0 9000 --ready-file "$sink_ready" &
PF_PIDS+=("$!")
for _ in $(seq 50); do [ -e "$sink_ready" ] && break; sleep 0.1; done
[ -e "$sink_ready" ] || fail "the sink did not start"
# The full-rate connections go to a C acceptor of their own (a Python one falls behind,
# and its full backlog would drop SYNs that no apply lost).
[ -x "${CONNRATE:-}" ] && [ -x "${ACCEPTOR:-}" ] ||
    fail "no connrate or acceptor program (meson builds them in bench/)"
ip netns exec "$GUEST" "$ACCEPTOR" 9001 >"$PF_TMP/acceptor.out" 2>&1 &
PF_PIDS+=("$!")
for _ in $(seq 50); do grep -q ready "$PF_TMP/acceptor.out" && break; sleep 0.1; done
grep -q ready "$PF_TMP/acceptor.out" || fail "the acceptor did not start"

# Config N: the two steady forwards plus 50 others whose guest ports move with N.
config() {
    local n=$1 i
    printf 'host-ip = %s\nforward tcp 8000 to %s:9000\nforward tcp 8001 to %s:9001\n' \
        "$HOST_IP" "$GUEST_IP" "$GUEST_IP"
    for ((i = 0; i < 50; i++)); do
        printf 'forward tcp %d to %s:%d\n' $((20000 + i)) "$GUEST_IP" $((30000 + (i + n) % 200))
    done
    printf 'forward udp %d to %s\n' $((40000 + n)) "$GUEST_IP"
}
config 0 >"$PF_TMP/c0.conf"
pf_run_ok --config "$PF_TMP/c0.conf" apply

step "traffic through the forward while apply re-runs 100 times"
# The load runs until the applies are done (at most 100 s; sanitizer builds are slower).
stop="$PF_TMP/stop"
ip netns exec "$CLIENT" "$PF_PYTHON" "$LOAD" stream "$HOST_IP" 8000 100 "$stop" >"$PF_TMP/stream.out" 2>&1 &
stream_pid=$!
PF_PIDS+=("$stream_pid")
ip netns exec "$CLIENT" "$CONNRATE" "$HOST_IP" 8001 100 "$stop" >"$PF_TMP/connect.out" 2>&1 &
connect_pid=$!
PF_PIDS+=("$connect_pid")
sleep 0.5
for ((n = 1; n <= 100; n++)); do
    config "$n" >"$PF_TMP/c.conf"
    ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/c.conf" \
        apply --quiet || fail "apply $n failed"
done
pf_log "100 applies done"
kill -0 "$stream_pid" 2>/dev/null || fail "the stream ended before the 100 applies did; the test proves nothing"
sleep 0.5
touch "$stop"
wait "$stream_pid"
stream_rc=$?
wait "$connect_pid"
connect_rc=$?
pf_log "stream: $(cat "$PF_TMP/stream.out")"
pf_log "connections: $(cat "$PF_TMP/connect.out")"
assert_eq "$stream_rc" 0 "the long TCP stream never broke ($(tail -1 "$PF_TMP/stream.out"))"
assert_eq "$connect_rc" 0 "connections were made ($(tail -1 "$PF_TMP/connect.out"))"
assert_match "$(tail -1 "$PF_TMP/connect.out")" "^[1-9][0-9]* connections, 0 failed" \
    "no new connection failed at the full rate"
pf_pass
