#!/bin/bash
# A config change commits only what differs. Changing one forward adds and deletes that
# forward's elements in place: the other forwards keep their counters (status shows them
# growing across the apply) and their long-lived connections. A change of the table's
# structure (a new host-ip, keep-source) still replaces the table in one transaction. A
# hand-edited element is found by status and healed by apply, after someone else's
# transaction as well. A kernel rejection of an incremental transaction leaves the ruleset
# as it was (and is reported, not covered: the next apply reads back); two applies racing
# stay serialized.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
LOAD="$PF_LIB_DIR/load.py"

cfg="$PF_TMP/portfwd.conf"
# config GUEST_PORT_OF_THE_UDP_FORWARD [EXTRA LINE]
config() {
    printf 'host-ip = %s\nforward tcp 8000 to %s:9000\nforward tcp 8080 to %s:80\n' \
        "$HOST_IP" "$GUEST_IP" "$GUEST_IP"
    printf 'forward udp 5000 to %s:%s\n' "$GUEST_IP" "$1"
    [ -n "${2:-}" ] && printf '%s\n' "$2"
    return 0
}
pf_serve "$GUEST" tcp 0.0.0.0 80 guest80
pf_serve "$GUEST" udp 0.0.0.0 5000 guest5000
pf_serve "$GUEST" udp 0.0.0.0 5001 guest5001
sink_ready="$PF_TMP/sink.ready"
ip netns exec "$GUEST" "$PF_PYTHON" "$LOAD" sink 0.0.0.0 9000 --ready-file "$sink_ready" &
PF_PIDS+=("$!")
for _ in $(seq 50); do [ -e "$sink_ready" ] && break; sleep 0.1; done
[ -e "$sink_ready" ] || fail "the sink did not start"

# packets PROTO PORT: the status --json packet count of that forward
packets() {
    pf_run --config "$cfg" status --json >&2
    printf '%s\n' "$PF_OUT" | "$PF_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(f["packets"] for f in d["forwards"]
          if sys.argv[1] in f["protocols"] and f["host_ports"][0] == int(sys.argv[2])))
' "$1" "$2" || fail "reading the packets of $1 $2 from status --json"
}
# japply: apply the config with --json; J: changed, replaced, elements added and deleted
japply() {
    pf_run --config "$cfg" apply --json
    pf_expect_rc 0 "apply"
    J=$(printf '%s\n' "$PF_OUT" | "$PF_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(d["table_changed"], d["table_replaced"], d["elements_added"], d["elements_deleted"])')
    pf_log "changed replaced added deleted: $J"
}

step "first apply creates the table"
config 5000 >"$cfg"
japply
assert_eq "$J" "True True 0 0" "the first apply creates the whole table"
for i in 1 2 3; do assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "tcp 8080 ($i)"; done
before=$(packets tcp 8080)
[ "$before" -gt 0 ] || fail "no packets counted for tcp 8080 ($before)"

step "a long-lived connection through tcp 8000 while the udp forward changes"
stop="$PF_TMP/stop"
ip netns exec "$CLIENT" "$PF_PYTHON" "$LOAD" stream "$HOST_IP" 8000 60 "$stop" >"$PF_TMP/stream.out" 2>&1 &
stream_pid=$!
PF_PIDS+=("$stream_pid")
sleep 0.5
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest5000 "udp 5000 reaches its first guest port"
config 5001 >"$cfg"
japply
assert_eq "$J" "True False 2 2" "one forward changed: its map and endpoint elements replaced in place"
pf_run --config "$cfg" apply
assert_line "$PF_OUT" 'table inet portfwd unchanged' "the same config again commits nothing"
after=$(packets tcp 8080)
[ "$after" -ge "$before" ] || fail "the counters of tcp 8080 went back from $before to $after across the change"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "tcp 8080 after the change"
grown=$(packets tcp 8080)
[ "$grown" -gt "$after" ] || fail "the counters of tcp 8080 did not grow after the change ($after, then $grown)"
pf_log "tcp 8080 packets: $before before the change, $after after, $grown after more traffic"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest5001 "udp 5000 goes to its new guest port"
kill -0 "$stream_pid" 2>/dev/null || fail "the long-lived connection through tcp 8000 ended at the change"

step "structure changes replace the whole table in one transaction"
ip netns exec "$HOST" nft monitor >"$PF_TMP/monitor.out" 2>&1 &
monitor_pid=$!
PF_PIDS+=("$monitor_pid")
sleep 0.3
config 5001 'public-ip = 198.51.100.1' >"$cfg"
japply
assert_eq "$J" "True True 0 0" "a new host address (public-ip) replaces the table"
config 5001 'forward tcp 8443 to 192.0.2.79:443 keep-source' >"$cfg"
japply
assert_eq "$J" "True True 0 0" "keep-source (a new chain and set) replaces the table"
config 5001 >"$cfg"
japply
assert_eq "$J" "True True 0 0" "and back"
sleep 0.3
kill "$monitor_pid" 2>/dev/null
wait "$monitor_pid" 2>/dev/null
gens=$(grep -c '^# new generation .* (nft-portfwd)' "$PF_TMP/monitor.out")
assert_eq "$gens" 3 "three replaces, three transactions (one generation each)"
kill -0 "$stream_pid" 2>/dev/null || fail "the long-lived connection ended at a replace"
touch "$stop"
wait "$stream_pid"
assert_eq "$?" 0 "the long TCP stream never broke ($(tail -1 "$PF_TMP/stream.out"))"

step "a hand-deleted and a hand-added element: status finds them, apply heals them in place"
hnft delete element inet portfwd fwd4 '{ tcp . 8080 }' || fail "hand delete"
hnft add element inet portfwd fwd4 '{ tcp . 7777 : 192.0.2.80 . 22 }' || fail "hand add"
pf_run --config "$cfg" status
pf_expect_rc 1 "status after the hand edits"
assert_line "$PF_OUT" 'tcp 8080 .*missing' "status names the hand-deleted forward"
assert_line "$PF_OUT" '7777' "status names the hand-added element"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "tcp 8080 is really gone"
japply
assert_eq "$J" "True False 1 1" "apply puts back the one element and deletes the other"
pf_run --config "$cfg" status
pf_expect_rc 0 "status after the heal"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "tcp 8080 after the heal"
hnft list map inet portfwd fwd4 | grep -q 7777 && fail "the hand-added element survived the heal"

step "a hand-deleted host address: status finds it, apply puts it back"
hnft delete element inet portfwd host4 "{ $HOST_IP }" || fail "hand delete of the host address"
pf_run --config "$cfg" status
pf_expect_rc 1 "status after the host address was deleted"
assert_line "$PF_OUT" 'host addresses in set host4 or host6' "status names the host set"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "tcp 8080 without the host address"
japply
assert_eq "$J" "True True 0 0" "apply replaces the table (the host set is structure)"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest80 "tcp 8080 with the host address back"

step "a kernel rejection of an incremental transaction leaves everything as it was"
# The record of the last apply says tcp 8080 is not in the table (a hand edit of the state
# dir; no nftables transaction since, so apply trusts it): the change adds tcp 8080 with
# another guest port and moves udp 5000, and the kernel refuses the whole transaction,
# since tcp 8080 is there with other data.
config 5000 >"$cfg"
japply
sed -i '/^\t\t\ttcp \. 8080 : /d' "$PF_STATE/applied.nft" || fail "editing the record"
ruleset_before=$(hnft -s list ruleset)
sed 's/:80$/:81/; s/udp 5000 to \(.*\):5000/udp 5000 to \1:5001/' "$cfg" >"$PF_TMP/moved.conf"
grep -q ':81$' "$PF_TMP/moved.conf" && grep -q ':5001$' "$PF_TMP/moved.conf" || fail "the moved config"
pf_run --config "$PF_TMP/moved.conf" apply
pf_expect_rc 5 "apply whose incremental transaction the kernel refuses"
assert_match "$PF_ERR" "does not match table inet portfwd" "the error says the record may not be what is live"
assert_eq "$(printf '%s\n' "$PF_ERR" | grep -c 'File exists\|Device or resource busy')" 1 "and the kernel's reason"
assert_eq "$(hnft -s list ruleset)" "$ruleset_before" "ruleset byte-identical after the rejection"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest5000 "udp 5000 still at its first guest port"
cp "$PF_TMP/moved.conf" "$cfg"
japply
assert_eq "$J" "True False 4 4" "the next apply reads the table back and changes both forwards in place"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest5001 "udp 5000 moved"
pf_run --config "$cfg" status
pf_expect_rc 0 "status in sync after the next apply"

step "two applies racing stay serialized"
config 5000 >"$PF_TMP/a.conf"
config 5001 >"$PF_TMP/b.conf"
for i in $(seq 10); do
    ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/a.conf" apply -q &
    a=$!
    ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/b.conf" apply -q &
    b=$!
    wait "$a" || fail "racing apply A ($i) failed"
    wait "$b" || fail "racing apply B ($i) failed"
    # whichever came last, the table and the record agree with it
    ok=0
    for c in a b; do
        ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/$c.conf" status -q && ok=1
    done
    assert_eq "$ok" 1 "after race $i the table is exactly one of the two configs"
done
cp "$PF_TMP/a.conf" "$cfg"
japply
pf_run --config "$cfg" apply
assert_line "$PF_OUT" 'table inet portfwd unchanged' "after the races the record matches the table"
pf_pass
