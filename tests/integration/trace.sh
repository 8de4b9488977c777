#!/bin/bash
# diagnose --trace follows a client's new connection through every table and names the
# rule that drops it: here a foreign table's forward chain drops the DNAT'd SYN. The trace
# table inet portfwd-trace is gone afterwards, also when the trace is stopped by SIGINT. A
# second trace is refused while one runs; one killed with SIGKILL leaves the table, which
# status names and apply, flush and the next trace delete.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80
CONF

# trace_start SECONDS: run diagnose --trace in the host namespace in the background
# (TRACE_PID, output in TRACE_OUT) and wait until it says the trace runs.
trace_start() {
    local i
    TRACE_OUT="$PF_TMP/trace.$RANDOM.out"
    ip netns exec "$HOST" "$NFT_PORTFWD" diagnose --trace "$1" --config "$cfg" >"$TRACE_OUT" 2>&1 &
    TRACE_PID=$!
    PF_PIDS+=("$TRACE_PID")
    for ((i = 0; i < 100; i++)); do
        grep -q 'connect from a client now' "$TRACE_OUT" && return 0
        kill -0 "$TRACE_PID" 2>/dev/null || fail "diagnose --trace $1 ended before tracing: $(cat "$TRACE_OUT")"
        sleep 0.1
    done
    fail "diagnose --trace $1 did not start tracing within 10 s: $(cat "$TRACE_OUT")"
}

# trace_wait: wait up to 15 s for it to end; sets PF_RC and PF_OUT.
trace_wait() {
    local i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$TRACE_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$TRACE_PID" 2>/dev/null && fail "diagnose --trace still runs after 15 s: $(cat "$TRACE_OUT")"
    wait "$TRACE_PID"
    PF_RC=$?
    PF_OUT=$(cat "$TRACE_OUT")
    pf_log "diagnose --trace -> rc $PF_RC"
    printf '%s\n' "$PF_OUT" | sed "s/^/[$PF_TEST]   out: /"
}

assert_trace_table_absent() {   # DESCRIPTION
    if hnft list table inet portfwd-trace >/dev/null 2>&1; then
        fail "$1: table inet portfwd-trace still exists in host namespace"
    fi
    pf_log "ok: $1"
}

step "apply, and a foreign table whose forward chain drops the guest's port"
pf_run_ok --config "$cfg" apply
hnft -f - <<'NFT' || fail "creating table ip blocker"
table ip blocker {
    chain forward_block {
        type filter hook forward priority filter; policy accept;
        tcp dport 80 counter drop
    }
}
NFT
pf_serve "$GUEST" tcp 0.0.0.0 80 g80
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "the foreign drop rule blocks the forward"

step "trace a connection from the client"
trace_start 3
hnft list table inet portfwd-trace >/dev/null 2>&1 || fail "table inet portfwd-trace missing while the trace runs"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "client connects while tracing"
trace_wait
assert_line "$PF_OUT" "^packet 1: iif \"$HOST_IF_C\" ip saddr $CLIENT_IP ip daddr $HOST_IP tcp sport [0-9]+ tcp dport 8080\$" \
    "the trace shows the client's packet"
assert_line "$PF_OUT" '^    inet portfwd prerouting: rule .*dnat ip to .*\(verdict accept\)$' \
    "the trace shows our DNAT"
assert_line "$PF_OUT" "^    packet now: iif \"$HOST_IF_C\" oif \"$HOST_IF_G\" ip saddr $CLIENT_IP ip daddr $GUEST_IP tcp sport [0-9]+ tcp dport 80\$" \
    "the trace shows the packet after DNAT, towards the guest"
assert_line "$PF_OUT" '^    DROPPED by ip blocker forward_block: tcp dport 80 counter drop$' \
    "the trace names the dropping table, chain and rule"
assert_line "$PF_OUT" '^trace: [1-9][0-9]* packets? traced, [1-9][0-9]* dropped$' "the summary counts drops"
assert_line "$PF_OUT" '^  [1-9][0-9]* dropped by ip blocker forward_block: tcp dport 80 counter drop$' \
    "the summary names the dropping rule"
assert_trace_table_absent "the trace table is deleted when the trace ends"

step "SIGINT in the middle of a trace"
trace_start 30
kill -INT "$TRACE_PID"
trace_wait
assert_line "$PF_OUT" '^trace: stopped by SIGINT after [0-9.]+ of 30 seconds$' "the trace says it was stopped"
assert_trace_table_absent "the trace table is deleted after SIGINT"
assert_table_present "table inet portfwd is left alone"

step "a second trace while one runs is refused"
trace_start 30
first=$TRACE_PID
pf_run --config "$cfg" diagnose --trace 5
pf_expect_rc 6 "a second trace"
assert_match "$PF_ERR" "another 'nft-portfwd diagnose --trace' \\(pid $first\\) is tracing" "the refusal names the running trace"
hnft list table inet portfwd-trace >/dev/null 2>&1 || fail "the refused trace deleted the running trace's table"

step "kill -9 leaves the trace table: status names it, apply deletes it"
kill -9 "$first"
wait "$first" 2>/dev/null
hnft list table inet portfwd-trace >/dev/null 2>&1 || fail "the killed trace took its table along"
pf_run --config "$cfg" status
pf_expect_rc 1 "status with a leftover trace table"
assert_line "$PF_OUT" "drift: table inet portfwd-trace, left by a diagnose --trace that was killed \\(pid $first\\)" \
    "status names the leftover trace table"
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" "deleted table inet portfwd-trace, left by a diagnose --trace that was killed \\(pid $first\\)" \
    "apply says it deleted the leftover"
assert_trace_table_absent "apply deleted the leftover trace table"

step "flush, and the next trace, delete a leftover too"
trace_start 30
kill -9 "$TRACE_PID"
wait "$TRACE_PID" 2>/dev/null
pf_run_ok flush
assert_line "$PF_OUT" "deleted table inet portfwd-trace" "flush says it deleted the leftover"
assert_trace_table_absent "flush deleted the leftover trace table"
pf_run_ok --config "$cfg" apply
trace_start 30
kill -9 "$TRACE_PID"
wait "$TRACE_PID" 2>/dev/null
trace_start 1
trace_wait
pf_expect_rc 0 "a trace over a leftover"
assert_trace_table_absent "the next trace deleted the leftover"

pf_pass
