#!/bin/bash
# Names, limits and logs of forwards, with real traffic. A name is the comment of the
# forward's map and set elements (nft list table shows it) and appears in status and
# status --json; renaming changes elements in place. With `limit 5/minute` the sixth new
# connection within the minute from one client is dropped (and counted in status) while a
# second client still connects. A `log` forward writes one kernel log line per new
# connection with its prefix.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_ipv6

cfg="$PF_TMP/main.conf"
tag="t$$"   # the log prefix names the forward: unique to this run
write_config() {   # NAME_OF_WEB
    {
        printf 'host-ip = %s, %s\n' "$HOST_IP" "$HOST_IP6"
        printf 'forward tcp 2223 to [%s]:22 name ssh6 limit 5/minute\n' "$GUEST_IP6"
        printf 'forward tcp 8080 to %s:80 name %s\n' "$GUEST_IP" "$1"
        printf 'forward tcp 2222 to %s:22 name ssh limit 5/minute\n' "$GUEST_IP"
        printf 'forward tcp 8443 to %s:443 name %s log\n' "$GUEST_IP" "$tag"
        printf 'forward udp 5000 to %s\n' "$GUEST_IP"
    } >"$cfg"
}
write_config web
pf_serve "$GUEST" tcp 0.0.0.0 80 web
pf_serve "$GUEST" tcp 0.0.0.0 22 ssh
pf_serve "$GUEST" tcp :: 22 ssh6
pf_serve "$GUEST" tcp 0.0.0.0 443 tls
pf_serve "$GUEST" udp 0.0.0.0 5000 dns

step "names are the comments of the forwards' elements"
pf_run_ok --config "$cfg" apply
listing=$(hnft list table inet portfwd)
assert_line "$listing" 'tcp \. 8080 comment "web" : 192\.0\.2\.79 \. 80' "map fwd4 names the web forward"
assert_line "$listing" '192\.0\.2\.79 \. tcp \. 80 counter packets [0-9]+ bytes [0-9]+ comment "web"' "set guest4 names its endpoint"
assert_line "$listing" 'udp \. 5000 : 192\.0\.2\.79 \. 5000,?$' "an unnamed forward's element has no comment"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "the named forward works"
pf_run --config "$cfg" status
pf_expect_rc 0 "status in sync"
assert_line "$PF_OUT" "main.conf:3 +web +tcp 8080 -> 192\.0\.2\.79:80 " "status names the forward"
pf_run --config "$cfg" status --json
pf_expect_rc 0 "status --json"
printf '%s' "$PF_OUT" >"$PF_TMP/status.json"
assert_eq "$(pf_json "$PF_TMP/status.json" '[f["name"] for f in d["forwards"]]')" \
    "[\"ssh6\", \"web\", \"ssh\", \"$tag\", null]" "status --json names every forward (null for none)"
assert_eq "$(pf_json "$PF_TMP/status.json" 'd["forwards"][2]["limit"]')" \
    '{"rate": 5, "per": "minute", "burst": 5, "dropped": 0}' "status --json shows the limit"

step "renaming a forward changes its elements in place"
write_config web-1
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" "changed elements in place" "a rename is an element change"
assert_line "$(hnft list map inet portfwd fwd4)" 'tcp \. 8080 comment "web-1"' "the new name is live"
hnft delete element inet portfwd fwd4 '{ tcp . 8080 }'
hnft add element inet portfwd fwd4 '{ tcp . 8080 comment "web" : 192.0.2.79 . 80 }'
pf_run --config "$cfg" status
pf_expect_rc 1 "a hand-renamed element is drift"
assert_line "$PF_OUT" "tcp 8080: the live table names it 'web'" "status says which name is live"
pf_run_ok --config "$cfg" apply
assert_line "$(hnft list map inet portfwd fwd4)" 'tcp \. 8080 comment "web-1"' "apply puts the name back"

step "limit 5/minute: the sixth new connection from one client is dropped"
for i in 1 2 3 4 5; do
    assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 ssh "connection $i of 5 within the minute"
done
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "the sixth connection from the same client"
assert_reaches "$REMOTE" tcp "$HOST_IP" 2222 ssh "a second client still connects"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "the client's other forwards are not limited"
pf_run --config "$cfg" status
pf_expect_rc 0 "status"
assert_line "$PF_OUT" "limit: [1-9][0-9]* new connections? dropped above 5/minute" "status counts the drops"
pf_run --config "$cfg" status --json
printf '%s' "$PF_OUT" >"$PF_TMP/status.json"
dropped=$(pf_json "$PF_TMP/status.json" 'd["forwards"][2]["limit"]["dropped"]')
[ "$dropped" -ge 1 ] || fail "status --json: limit dropped is $dropped, expected at least 1"
pf_log "ok: status --json counts $dropped dropped packets (SYN retransmissions count too)"
before=$(hnft -s list ruleset)
pf_run_ok --config "$cfg" apply
assert_line "$PF_OUT" "unchanged" "the limit's counter and clients are not a change"
assert_eq "$(hnft -s list ruleset)" "$before" "and apply leaves them"

step "a full set of clients does not turn the limit off"
# An attacker who fills the per-client set (spoofed SYNs from 65,535 /64s) must not make
# every client beyond it unlimited: those share one bucket. Fill the set of the IPv6
# forward by hand with /64s of 2001:db8:ffff::/48, then connect from a client it lacks.
python3 - >"$PF_TMP/fill.nft" <<'PY'
print("add element inet portfwd limit6_tcp_2223 {")
print(",\n".join("2001:db8:ffff:%x::" % i for i in range(65535)))
print("}")
PY
hnft -f "$PF_TMP/fill.nft" || fail "filling the set by hand"
assert_eq "$(hnft -j list set inet portfwd limit6_tcp_2223 | python3 -c 'import json,sys; print(len([o for o in json.load(sys.stdin)["nftables"] if "set" in o][0]["set"]["elem"]))')" 65535 "the set is full"
for i in 1 2 3 4 5; do
    assert_reaches "$CLIENT" tcp "$HOST_IP6" 2223 ssh6 "untracked connection $i of 5"
done
assert_no_reply "$CLIENT" tcp "$HOST_IP6" 2223 "the sixth connection of the untracked clients"

step "log: one kernel log line per new connection, with the forward's name"
# Netfilter's kernel log is silent in network namespaces unless net.netfilter.nf_log_all_netns
# is 1; only the initial namespace can set it. Set it for this test and put it back.
old_all_netns=$(cat /proc/sys/net/netfilter/nf_log_all_netns 2>/dev/null) \
    || pf_skip "no net.netfilter.nf_log_all_netns"
pf_on_exit "echo $old_all_netns >/proc/sys/net/netfilter/nf_log_all_netns"
echo 1 >/proc/sys/net/netfilter/nf_log_all_netns || fail "cannot set nf_log_all_netns"
count_lines() { dmesg | grep -c "nft-portfwd $tag: IN=$HOST_IF_C " ; }
start=$(count_lines)
for i in 1 2 3; do
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8443 tls "logged connection $i"
done
lines=0
for _ in $(seq 20); do
    lines=$(( $(count_lines) - start ))
    [ "$lines" -ge 3 ] && break
    sleep 0.1
done
assert_eq "$lines" 3 "three new connections, three log lines"
assert_line "$(dmesg | grep "nft-portfwd $tag: " | tail -1)" "SRC=$CLIENT_IP DST=$HOST_IP .*PROTO=TCP .*DPT=8443" "the line names the client and the host port"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "an unlogged forward"
assert_eq "$(( $(count_lines) - start ))" 3 "writes no log line"

pf_pass
