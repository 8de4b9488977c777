#!/bin/bash
# The watcher (nft-portfwd watch, the unit's main process) keeps the forwards in place
# while other programs change nftables, in the test's host namespace:
#  - `nft flush ruleset`: table inet portfwd is back within 2 s, TCP and UDP reach the guest;
#  - libvirt's rules rebuilt as `systemctl restart libvirtd` does (its LIBVIRT_FWI rules
#    deleted and inserted again at the top, over ours), three times: healed each time;
#  - ufw enabled and reloaded after the watcher started: the forwards keep working and
#    status is in sync;
#  - a new table that drops the forwards, made after the watcher started: healed;
#  - one of our elements deleted by hand: put back in place;
#  - its own commits do not wake it; each heal is one log line naming what came back;
#  - status (and --json) shows the running watcher and its heals;
#  - another program deleting our accept 50 times a second for 10 s: a "keeps undoing"
#    line, a bounded number of heals, well under half a core, and the forwards back within
#    a few seconds of the end;
#  - SIGHUP re-reads the config; SIGTERM flushes: nothing of ours left; ip_forward stays on
#    because libvirt's NAT network needs it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup
pf_serve "$GUEST" tcp 0.0.0.0 8000 guest
pf_serve "$GUEST" udp 0.0.0.0 5000 guest
pf_serve "$GUEST" tcp 0.0.0.0 8001 guest8001

CFG="$PF_TMP/portfwd.conf"
cat >"$CFG" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000
forward udp 5000 to $GUEST_IP:5000
CONF
LOG="$PF_TMP/watch.log"

# within SECONDS DESCRIPTION: both forwards answer within SECONDS (tries every 0.1 s)
within() {
    local secs=$1 desc=$2 start end
    start=$(date +%s%N)
    end=$((start + secs * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        if pf_send "$CLIENT" tcp "$HOST_IP" 8000 0.3 >/dev/null 2>&1 &&
            pf_send "$CLIENT" udp "$HOST_IP" 5000 0.3 >/dev/null 2>&1; then
            pf_log "ok: $desc: TCP and UDP reach the guest after $(( ($(date +%s%N) - start) / 1000000 )) ms"
            return 0
        fi
        sleep 0.1
    done
    fail "$desc: the forwards did not come back within $secs s (log: $(tail -n 5 "$LOG"))"
}

heals() { grep -c 'nft-portfwd: healed:' "$LOG"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

step "libvirt's rules, then the watcher"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "building libvirt's iptables rules"
ip netns exec "$HOST" "$NFT_PORTFWD" --config "$CFG" --state-dir "$PF_STATE" watch >"$LOG" 2>&1 &
WATCHER=$!
PF_PIDS+=("$WATCHER")
for _ in $(seq 50); do [ -e "$PF_STATE/watch.json" ] && break; sleep 0.1; done
[ -e "$PF_STATE/watch.json" ] || fail "the watcher did not start: $(cat "$LOG")"
assert_line "$(cat "$LOG")" '^nft-portfwd: applied 2 forwards' "the watcher applies the config first"
within 2 "after the watcher started"
assert_eq "$(heals)" 0 "no heal for the watcher's own commits"

step "nft flush ruleset"
hnft flush ruleset || fail "nft flush ruleset"
within 2 "after nft flush ruleset"
assert_line "$(cat "$LOG")" 'healed: table inet portfwd was missing; after nft \(pid [0-9]+' "the heal is logged with who changed what"
assert_line "$(cat "$LOG")" 'the forwards were out [0-9]+ ms' "the log says how long the forwards were out"

step "libvirt rebuilds its chains (libvirtd restart), three times in a row"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" >/dev/null 2>&1 || true  # after the flush: libvirt's rules again
within 2 "after libvirt's rules came back"
for i in 1 2 3; do
    n=$(heals)
    ip netns exec "$HOST" iptables-restore -n <<EOF2 || fail "rebuilding LIBVIRT_FWI"
*filter
-F LIBVIRT_FWI
-I LIBVIRT_FWI -o $HOST_IF_G -j REJECT --reject-with icmp-port-unreachable
-I LIBVIRT_FWI -d 192.0.2.0/24 -o $HOST_IF_G -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
EOF2
    within 2 "after libvirt's rebuild $i"
    [ "$(heals)" -gt "$n" ] || fail "rebuild $i: no heal logged"
done
assert_line "$(cat "$LOG")" 'healed: the accept in ip filter LIBVIRT_FWI was missing or out of place; after iptables[-a-z]* \(pid [0-9]+, 1 transaction\) changed ip filter LIBVIRT_FWI;' "the heal names the chain and who rebuilt it"
pf_cx_iptables_readable

step "ufw enabled while the watcher runs"
if command -v ufw >/dev/null; then
    # ufw's policy drop sits in the same ip filter FORWARD as libvirt's jumps: the accept
    # in LIBVIRT_FWI, reached first, already covers it (a heal only if it did not)
    fw_ufw "$HOST" || fail "enabling ufw"
    within 3 "after ufw was enabled"
    ip netns exec "$HOST" ufw reload >/dev/null 2>&1 || fail "ufw reload"
    within 3 "after ufw reload"
    sleep 0.5
    pf_run --config "$CFG" status
    pf_expect_rc 0 "status after ufw enable and reload (everything in place)"
else
    pf_log "ufw not installed: that step is not tried"
fi

step "a new firewall that drops forwarded traffic"
n=$(heals)
hnft -f - <<'EOF2' || fail "loading a new dropping table"
table inet later {
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
}
EOF2
within 2 "after a new table with policy drop"
[ "$(heals)" -gt "$n" ] || fail "no heal logged for the new table"
assert_line "$(cat "$LOG")" 'healed: the accept in inet later forward was missing or out of place' "the heal names the new chain"

step "one of our elements deleted by hand: put back in place"
n=$(heals)
hnft delete element inet portfwd fwd4 '{ tcp . 8000 }' || fail "deleting our element"
within 2 "after our element was deleted"
[ "$(heals)" -gt "$n" ] || fail "no heal logged for the deleted element"
assert_line "$(cat "$LOG")" 'healed: table inet portfwd differed from the config; after nft \(pid [0-9]+, 1 transaction\) changed inet portfwd' "the heal names our table"
assert_match "$(hnft list map inet portfwd fwd4)" 'tcp \. 8000 : ' "the element is back"

step "forwarding turned off by hand (no nftables event for it)"
pf_sysctl_set "$HOST" net.ipv4.ip_forward 0
within 4 "after net.ipv4.ip_forward was set to 0"
assert_eq "$(pf_ip_forward "$HOST")" 1 "the watcher turned forwarding back on"
assert_line "$(cat "$LOG")" 'healed: net.ipv4.ip_forward was 0; someone turned forwarding off' "the heal says what it put back"

step "status shows the watcher"
pf_run --config "$CFG" status
assert_line "$PF_OUT" "^  watcher: running, pid $WATCHER, since .*; [0-9]+ heals, the last at " "status names the running watcher and its heals"
pf_cx_status_json "$CFG" watcher
assert_eq "$(pf_json "$PF_TMP/watcher.json" 'd["watcher"]["running"]')" true "status --json: the watcher runs"
assert_eq "$(pf_json "$PF_TMP/watcher.json" 'd["watcher"]["pid"]')" "$WATCHER" "status --json: its pid"
assert_eq "$(pf_json "$PF_TMP/watcher.json" 'd["watcher"]["heals"] == '"$(heals)")" true "status --json: the heals the log shows"
# its last heals, newest first: the log's last five, in the same words
recent=$(pf_json "$PF_TMP/watcher.json" '"|".join(h["what"] for h in d["watcher"]["recent_heals"])')
logged=$(grep 'nft-portfwd: healed:' "$LOG" | sed 's/.*nft-portfwd: healed: //; s/; \(after\|someone\) .*//' | tail -n 5 | tac | paste -sd '|')
assert_eq "$recent" "$logged" "status --json: the last five heals, newest first, as the log says them"
assert_eq "$(pf_json "$PF_TMP/watcher.json" 'all(a["at"] >= b["at"] for a, b in zip(d["watcher"]["recent_heals"], d["watcher"]["recent_heals"][1:]))')" true \
    "status --json: recent heals newest first"

step "another program deletes our accept 50 times a second for 10 s"
n=$(heals)
fights=$(grep -c 'keeps undoing' "$LOG")
ticks=$(cpu_ticks "$WATCHER")
end=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -lt "$end" ]; do
    h=$(hnft -a list chain ip filter LIBVIRT_FWI 2>/dev/null | sed -n 's/.*nft-portfwd: accept.* # handle \([0-9]*\)$/\1/p' | head -n1)
    [ -n "$h" ] && hnft delete rule ip filter LIBVIRT_FWI handle "$h" 2>/dev/null
    sleep 0.02
done
used=$(( $(cpu_ticks "$WATCHER") - ticks ))
storm=$(( $(heals) - n ))
pf_log "during the storm: $storm heals, $used CPU ticks of the watcher in 10 s"
[ "$storm" -le 30 ] || fail "the watcher fought: $storm heals in 10 s"
[ "$used" -lt 500 ] || fail "the watcher used $used ticks (1/100 s) of CPU in 10 s: half a core or more"
[ "$fights" -eq 0 ] || fail "the watcher backed off before the storm, against programs that changed the ruleset once each"
assert_line "$(cat "$LOG")" 'nft \(pid [0-9]+\) keeps undoing the forwards \(5 heals in a row that its changes did not let settle\); not fighting it' "the watcher names the program and backs off"
[ "$storm" -ge 5 ] || fail "only $storm heals during the storm: did the deletions happen?"
within 8 "after the storm stopped"

step "SIGHUP re-reads the config"
echo "forward tcp 8001 to $GUEST_IP:8001" >>"$CFG"
kill -HUP "$WATCHER"
for _ in $(seq 30); do pf_send "$CLIENT" tcp "$HOST_IP" 8001 0.3 >/dev/null 2>&1 && break; sleep 0.1; done
assert_reaches "$CLIENT" tcp "$HOST_IP" 8001 guest8001 "the forward added to the config works after SIGHUP"
echo "forward tcp 8002 to" >>"$CFG"
kill -HUP "$WATCHER"
sleep 0.5
assert_line "$(cat "$LOG")" 'reload: .*portfwd.conf:5: .*; the forwards of the previous config stay' "a bad config on reload is refused and named"
kill -0 "$WATCHER" 2>/dev/null || fail "the watcher died on a bad config"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8001 guest8001 "the previous forwards stay after a bad reload"

step "a handover file for another process, or an old one, does not keep the forwards"
sed -i '$d' "$CFG" # the bad line of the reload above
start=$(sed 's/.*) //' "/proc/$WATCHER/stat" | cut -d' ' -f20)
# another process that once had the watcher's pid; then the right one, but written long ago
for kind in other-process old; do
    stale="$WATCHER $start"
    [ "$kind" = other-process ] && stale="$WATCHER $((start + 1))"
    echo "$stale" >"$PF_STATE/handover"
    [ "$kind" = old ] && touch -d '5 minutes ago' "$PF_STATE/handover"
    kill -TERM "$WATCHER"
    wait "$WATCHER" 2>/dev/null
    assert_table_absent "a stop with a handover file for $kind ('$stale') flushes"
    [ -e "$PF_STATE/handover" ] && fail "the stale handover file is left behind"
    ip netns exec "$HOST" "$NFT_PORTFWD" --config "$CFG" --state-dir "$PF_STATE" watch >>"$LOG" 2>&1 &
    WATCHER=$!
    PF_PIDS+=("$WATCHER")
    for _ in $(seq 50); do [ -e "$PF_STATE/watch.json" ] && break; sleep 0.1; done
    start=$(sed 's/.*) //' "/proc/$WATCHER/stat" | cut -d' ' -f20)
done
assert_eq "$(pf_json "$PF_STATE/watch.json" 'd["start"]')" "$start" "watch.json names the watcher's start time"

step "a restart with the handover file (a package upgrade) keeps the forwards"
echo "$WATCHER $start" >"$PF_STATE/handover"
kill -TERM "$WATCHER"
wait "$WATCHER" 2>/dev/null
assert_line "$(cat "$LOG")" 'handing the forwards over to the next watcher: not flushing' "the watcher hands over"
assert_table_present "the table stays for the next watcher"
[ -e "$PF_STATE/handover" ] && fail "the handover file is left behind"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the forward works with no watcher in between"
ip netns exec "$HOST" "$NFT_PORTFWD" --config "$CFG" --state-dir "$PF_STATE" watch >>"$LOG" 2>&1 &
WATCHER=$!
PF_PIDS+=("$WATCHER")
for _ in $(seq 50); do grep -q 'table inet portfwd unchanged' "$LOG" && break; sleep 0.1; done
assert_line "$(cat "$LOG")" 'applied 3 forwards; table inet portfwd unchanged' "the next watcher finds the forwards in place and commits nothing"

step "an apply with forward flags: the watcher reads the flags record and keeps that forward"
pf_run_ok --config "$CFG" apply --host-port 8003 --vm-ip "$GUEST_IP" --vm-port 8001
assert_line "$PF_OUT" "told the watcher \\(pid $WATCHER\\) to read the config again" "apply tells the watcher"
sleep 0.5
hnft delete table inet portfwd || fail "deleting our table"
within 8 "after our table was deleted, with a flags forward"
for _ in $(seq 30); do pf_send "$CLIENT" tcp "$HOST_IP" 8003 0.3 >/dev/null 2>&1 && break; sleep 0.1; done
assert_reaches "$CLIENT" tcp "$HOST_IP" 8003 guest8001 "the watcher healed the flags' forward too"

step "SIGTERM flushes"
kill -TERM "$WATCHER"
wait "$WATCHER" 2>/dev/null
assert_table_absent "the watcher flushed table inet portfwd"
assert_eq "$(pf_cx_ours_outside)" 0 "no accept of ours left in the other tables"
# libvirt's rules are there: its NAT network needs forwarding, so flush leaves it on
assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward stays 1 for libvirt's network"
assert_line "$(cat "$LOG")" 'net.ipv4.ip_forward left at 1: libvirt forwards its own networks too' "the watcher says why it leaves ip_forward on"
[ -e "$PF_STATE/watch.json" ] && fail "watch.json is left behind"
pf_pass
