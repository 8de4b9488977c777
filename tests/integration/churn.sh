#!/bin/bash
# Another program commits to a table of its own 50 to 100 times a second (fail2ban, a
# firewall's rebuilds) while status, metrics and apply read table inet portfwd of 5,000
# forwards: each read takes longer than the gap between two of those commits, and must
# still succeed, since none of them touched our table. A change to our table during a
# read is read again (status.sh and incremental.sh cover those).
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
{
    echo "host-ip = $HOST_IP"
    for ((i = 0; i < 5000; i++)); do echo "forward tcp $((20000 + i)) to $GUEST_IP:$((30000 + i))"; done
} >"$cfg"
pf_run_ok --config "$cfg" apply

churned="$PF_TMP/churned"
hnft add table ip churn || fail "nft add table ip churn"
ip netns exec "$HOST" bash -c '
    n=0
    while :; do
        nft add set ip churn s$((n % 4)) "{ type ipv4_addr; }" 2>/dev/null || nft flush set ip churn s$((n % 4))
        n=$((n + 1)); echo "$n" >"$1"; sleep 0.01
    done' _ "$churned" &
PF_PIDS+=("$!")
sleep 0.5

step "status and metrics succeed while another table changes all the time"
before=$(cat "$churned")
for i in 1 2 3 4 5 6 7 8; do
    pf_run --config "$cfg" status -q
    pf_expect_rc 0 "status -q $i under churn"
done
for i in 1 2 3; do
    pf_run --config "$cfg" metrics
    pf_expect_rc 0 "metrics $i under churn"
done
commits=$(( $(cat "$churned") - before ))
pf_log "the other program committed $commits transactions meanwhile"
[ "$commits" -ge 20 ] || fail "only $commits transactions of the other program: the test proves nothing"

step "apply reads the table back and heals in place, under the same churn"
for i in 1 2 3; do
    hnft delete element inet portfwd fwd4 "{ tcp . $((20000 + i)) }" || fail "hand delete $i"
    pf_run --config "$cfg" apply
    pf_expect_rc 0 "apply $i under churn"
    assert_line "$PF_OUT" 'changed elements in place: 1 added' "apply $i put the one element back in place"
done
pf_pass
