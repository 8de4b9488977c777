#!/bin/bash
# Faults: two applies at once are serialized by the lock under the state dir (a second
# one waits, then fails with a clear message); a reader never sees a half-replaced table;
# a config that vanishes between check and apply leaves the previous state intact.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
command -v flock >/dev/null || pf_skip "flock (util-linux) is missing"

# N forwards from host port BASE on, to the guest port BASE2 on.
config() {
    local n=$1 base=$2 base2=$3 i
    printf 'host-ip = %s\n' "$HOST_IP"
    for ((i = 0; i < n; i++)); do
        printf 'forward tcp %d to %s:%d\n' $((base + i)) "$GUEST_IP" $((base2 + i))
    done
}
config 1 8080 80 >"$PF_TMP/a.conf"
pf_serve "$GUEST" tcp 0.0.0.0 80 guest

step "a held lock makes apply wait, then succeed once it is released"
pf_run_ok --config "$PF_TMP/a.conf" apply
flock "$PF_STATE/lock" sleep 2 &
holder=$!
PF_PIDS+=("$holder")
sleep 0.3
start=$(date +%s.%N)
pf_run_ok --config "$PF_TMP/a.conf" apply
waited=$("$PF_PYTHON" -c "print($(date +%s.%N) - $start)")
pf_log "apply waited ${waited}s for the lock"
"$PF_PYTHON" -c "import sys; sys.exit(0 if $waited >= 1.2 else 1)" || fail "apply did not wait for the lock (${waited}s)"
wait "$holder"

step "a lock held too long: apply fails with a clear message and changes nothing"
before=$(hnft -s list ruleset)
flock "$PF_STATE/lock" sleep 14 &
holder=$!
PF_PIDS+=("$holder")
sleep 0.3
config 1 9090 80 >"$PF_TMP/b.conf"
pf_run --config "$PF_TMP/b.conf" apply
pf_expect_rc 6 "apply while another holds the lock"
assert_match "$PF_ERR" "another nft-portfwd is changing the ruleset and still holds .*lock after 10 seconds" \
    "the message says who holds what"
assert_eq "$(hnft -s list ruleset)" "$before" "ruleset unchanged"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

step "readers see the old or the new table, never a mix"
config 500 10000 20000 >"$PF_TMP/x.conf"
config 500 10000 30000 >"$PF_TMP/y.conf"
pf_run_ok --config "$PF_TMP/x.conf" apply
(
    for ((n = 0; n < 15; n++)); do
        ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/y.conf" apply -q
        ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --config "$PF_TMP/x.conf" apply -q
    done
) &
applier=$!
PF_PIDS+=("$applier")
reads=0
while kill -0 "$applier" 2>/dev/null; do
    hnft -j list map inet portfwd fwd4 >"$PF_TMP/read.json" 2>/dev/null || continue
    verdict=$("$PF_PYTHON" - "$PF_TMP/read.json" <<'PY'
import json, sys
m = [o["map"] for o in json.load(open(sys.argv[1]))["nftables"] if "map" in o][0]
ports = {e[1]["concat"][1] for e in m.get("elem", [])}
if len(m.get("elem", [])) != 500:
    print("half: %d elements" % len(m.get("elem", [])))
elif ports <= set(range(20000, 20500)) or ports <= set(range(30000, 30500)):
    print("whole")
else:
    print("mixed guest ports")
PY
)
    [ "$verdict" = whole ] || fail "a reader saw a half state: $verdict"
    reads=$((reads + 1))
done
wait "$applier" || fail "the applies in the background failed"
pf_log "$reads reads during 30 applies, each saw a whole table"
[ "$reads" -gt 0 ] || fail "no read happened during the applies"

step "a sysctl that cannot be set: apply fails and puts back the one it already set"
pf_run_ok flush
printf 'forward tcp 80 to %s\nforward tcp 8443 to [2001:db8::79]:443\n' "$GUEST_IP" >"$PF_TMP/v46.conf"
before=$(hnft -s list ruleset)
v6=/proc/sys/net/ipv6/conf/all/forwarding
ip netns exec "$HOST" unshare -m sh -c "mount --bind $v6 $v6 && mount -o remount,bind,ro $v6 &&
    exec '$NFT_PORTFWD' --state-dir '$PF_STATE' --config '$PF_TMP/v46.conf' apply" \
    >"$PF_TMP/ro.out" 2>&1
rc=$?
pf_log "apply with a read-only IPv6 forwarding sysctl -> rc $rc: $(cat "$PF_TMP/ro.out")"
[ "$rc" -eq 4 ] || fail "apply with a read-only sysctl: expected exit 4, got $rc"
assert_match "$(cat "$PF_TMP/ro.out")" "cannot set net.ipv6.conf.all.forwarding to 1" "the message names the sysctl"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward put back to 0"
[ -e "$PF_STATE/ipv4-forward.before" ] && fail "a failed apply left a saved sysctl value"
assert_eq "$(hnft -s list ruleset)" "$before" "ruleset unchanged"

step "a config that vanishes between check and apply"
config 1 8080 80 >"$PF_TMP/v.conf"
pf_run_ok --config "$PF_TMP/v.conf" apply
pf_run_ok --config "$PF_TMP/v.conf" check
before=$(hnft -s list ruleset)
rm -f "$PF_TMP/v.conf"
pf_run --config "$PF_TMP/v.conf" apply
pf_expect_rc 3 "apply of a vanished config"
assert_match "$PF_ERR" "cannot read config .*v.conf: No such file or directory" "the message names the file"
assert_eq "$(hnft -s list ruleset)" "$before" "ruleset unchanged"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "the previous forward still works"
pf_pass
