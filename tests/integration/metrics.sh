#!/bin/bash
# nft-portfwd metrics through Debian's real node_exporter: the file it writes for the
# textfile collector is served on node_exporter's /metrics with each forward's counts as
# the kernel holds them, a forward taken out by hand shows as not live, and a collector
# directory someone else could write is refused. node_exporter runs on the host
# namespace's loopback; skipped (77) without prometheus-node-exporter.
. "$(dirname "$0")/lib.sh"
pf_find_binary
EXPORTER=$(command -v prometheus-node-exporter || true)
[ -n "$EXPORTER" ] || { pf_require_root; pf_skip "prometheus-node-exporter is not installed"; }
pf_setup

pf_serve "$GUEST" tcp 0.0.0.0 80 web
pf_serve "$GUEST" udp 0.0.0.0 53 dns
cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80 name web
forward udp 5353 to $GUEST_IP:53 name dns
forward tcp 9000 to $GUEST_IP:80 name idle
CONF
pf_run_ok --config "$cfg" apply

textfile="$PF_TMP/textfile"
mkdir -m 0755 "$textfile"
port=$((20000 + $$ % 20000))
ip netns exec "$HOST" "$EXPORTER" --web.listen-address="127.0.0.1:$port" \
    --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$textfile" >"$PF_TMP/exporter.log" 2>&1 &
PF_PIDS+=("$!")
exporter_pid=$!

# scrape: node_exporter's /metrics, from the host namespace's loopback
scrape() {
    ip netns exec "$HOST" "$PF_PYTHON" -c '
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5).read().decode())
' "$port" 2>"$PF_TMP/scrape.err"
}
for ((i = 0; i < 100; i++)); do
    scrape >/dev/null && break
    kill -0 "$exporter_pid" 2>/dev/null || fail "node_exporter died: $(cat "$PF_TMP/exporter.log")"
    sleep 0.1
done
scrape >/dev/null || fail "node_exporter does not answer on 127.0.0.1:$port: $(cat "$PF_TMP/scrape.err")"
pf_log "ok: node_exporter $("$EXPORTER" --version 2>&1 | head -1) answers on 127.0.0.1:$port"

# value SCRAPE NAME [LABEL=VALUE...]: the value of the one series NAME whose labels include
# those (node_exporter serves labels sorted, and leaves out empty ones)
value() {
    printf '%s\n' "$1" >"$PF_TMP/scrape.txt"
    shift
    "$PF_PYTHON" - "$PF_TMP/scrape.txt" "$@" <<'PY' || fail "not one series $* in the scrape"
import re, sys
name, want = sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
found = []
for line in open(sys.argv[1]):
    m = re.match(r'([a-z_]+)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m or m.group(1) != name:
        continue
    labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    if all(labels.get(k) == v for k, v in want.items()):
        found.append(m.group(3))
if len(found) != 1:
    sys.exit(1)
print(found[0])
PY
}
# kernel_count SET PORT: the packets of PORT's element in SET, as nft lists them
kernel_count() {
    hnft list set inet portfwd "$1" | grep -oE "(^|[ {,])$2 counter packets [0-9]+" | awk '{ print $NF }'
}
labels() {   # NAME PROTO PORT LINE: the labels of that forward
    echo "name=$1" "protocol=$2" "host_port=$3" "guest=$GUEST_IP" "origin=$cfg:$4"
}

step "traffic through two forwards shows in node_exporter with the kernel's counts"
for _ in 1 2 3; do assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp through 8080"; done
for _ in 1 2 3 4; do assert_reaches "$CLIENT" udp "$HOST_IP" 5353 dns "udp through 5353"; done
pf_run_ok --config "$cfg" metrics --output "$textfile/nft-portfwd.prom"
assert_eq "$(stat -c %a "$textfile/nft-portfwd.prom")" 644 "the file is readable by node_exporter's user"
assert_eq "$(ls -A "$textfile")" nft-portfwd.prom "nothing but the file is left (the temporary file was renamed)"
out=$(scrape) || fail "scrape: $(cat "$PF_TMP/scrape.err")"
printf '%s\n' "$out" | grep '^nft_portfwd_' >"$PF_TMP/served.txt"
pf_log "served: $(wc -l <"$PF_TMP/served.txt") nft_portfwd_ lines"
web=$(value "$out" nft_portfwd_forward_packets_total $(labels web tcp 8080 2))
dns=$(value "$out" nft_portfwd_forward_packets_total $(labels dns udp 5353 3))
idle=$(value "$out" nft_portfwd_forward_packets_total $(labels idle tcp 9000 4))
assert_eq "$web" "$(kernel_count fwdtcp4 8080)" "web's packets are the kernel's count of tcp 8080 ($web)"
[ "$web" -ge 15 ] || fail "three TCP exchanges through 8080 counted only $web packets"
# four request and reply datagrams, both directions of each connection: 8 exactly
assert_eq "$dns" 8 "dns counted the 4 datagrams and their 4 replies"
assert_eq "$dns" "$(kernel_count fwdudp4 5353)" "dns's packets are the kernel's count of udp 5353"
assert_eq "$idle" 0 "the idle forward counted nothing"
[ "$(value "$out" nft_portfwd_forward_bytes_total $(labels web tcp 8080 2))" -gt "$web" ] ||
    fail "web's bytes are not above its packets"
assert_eq "$(value "$out" nft_portfwd_forward_up $(labels web tcp 8080 2))" 1 "web is up"
assert_eq "$(value "$out" nft_portfwd_forward_state $(labels web tcp 8080 2) state=live)" 1 "web's state is live"
assert_eq "$(value "$out" nft_portfwd_in_sync)" 1 "in sync"
assert_eq "$(value "$out" nft_portfwd_table_present)" 1 "the table is there"
assert_eq "$(value "$out" nft_portfwd_watcher_up)" 0 "no watcher runs"
assert_eq "$(value "$out" nft_portfwd_forwarding sysctl=net.ipv4.ip_forward)" 1 "ip_forward is on"
assert_match "$out" "# TYPE nft_portfwd_forward_packets_total counter" "the counters are typed counter"
assert_no_line "$(printf '%s\n' "$out" | grep -E '^node_textfile_scrape_error ')" ' 1$' \
    "node_exporter read the file without an error"

step "the same series without --output, on stdout"
pf_run_ok --config "$cfg" metrics
assert_eq "$(printf '%s\n' "$PF_OUT" | grep -c '^nft_portfwd_forward_up{')" 3 "one up series per forward"
assert_no_line "$PF_OUT" '^nft_portfwd_forward_limit_dropped_total' "no drops series without a limit"

step "a label value with a quote, a backslash, a newline and a byte that is not UTF-8 is escaped"
# node_exporter drops the whole file when one label value is not valid UTF-8
weird="$PF_TMP/we\"ird\\dir
x-caf"$'\xe9'"-é.conf"
cp "$cfg" "$weird"
pf_run_ok --config "$weird" metrics --output "$textfile/nft-portfwd.prom"
out=$(scrape) || fail "scrape: $(cat "$PF_TMP/scrape.err")"
assert_match "$(printf '%s\n' "$out" | grep '^node_textfile_scrape_error ')" ' 0$' "node_exporter parsed the escaped labels"
# the exposition's escapes; a byte that is not UTF-8 (argv's surrogate) as the text \xNN
escaped=$("$PF_PYTHON" -X utf8 -c '
import sys
for c in sys.argv[1]:
    if 0xdc80 <= ord(c) <= 0xdcff:
        sys.stdout.write("\\\\x%02x" % (ord(c) - 0xdc00))
    else:
        sys.stdout.write({"\\": "\\\\", "\"": "\\\"", "\n": "\\n"}.get(c, c))
' "$weird")
assert_eq "$(printf '%s\n' "$out" | grep -cF "origin=\"$escaped:2\"")" 4 \
    "node_exporter serves web's four series (packets, bytes, up, state) with the path, its Latin-1 byte as \\xe9"

step "a forward taken out by hand is not live in the next write"
hnft delete element inet portfwd fwd4 '{ tcp . 9000 }' || fail "hand delete of tcp 9000"
pf_run_ok --config "$cfg" metrics --output "$textfile/nft-portfwd.prom"
out=$(scrape) || fail "scrape: $(cat "$PF_TMP/scrape.err")"
assert_eq "$(value "$out" nft_portfwd_forward_up $(labels idle tcp 9000 4))" 0 "idle is not up"
assert_eq "$(value "$out" nft_portfwd_forward_state $(labels idle tcp 9000 4) state=missing)" 1 "idle is missing"
assert_eq "$(value "$out" nft_portfwd_in_sync)" 0 "not in sync"
assert_eq "$(value "$out" nft_portfwd_forward_up $(labels web tcp 8080 2))" 1 "web is still up"

step "a collector directory others can write is refused; what it served stays"
before=$(cat "$textfile/nft-portfwd.prom")
chmod 0777 "$textfile"
pf_run --config "$cfg" metrics --output "$textfile/nft-portfwd.prom"
pf_expect_rc 4 "metrics into a world-writable directory"
assert_match "$PF_ERR" "metrics directory $textfile is writable by its group or others" "the refusal names the directory"
assert_eq "$(cat "$textfile/nft-portfwd.prom")" "$before" "the file is unchanged"
chmod 0755 "$textfile"

step "no config at all is a host with no forwards, not an error (the timer runs on such hosts)"
if [ -e /etc/nft-portfwd.conf ] || [ -e /etc/nft-portfwd.d ]; then
    pf_log "skipped: this machine has /etc/nft-portfwd.conf or /etc/nft-portfwd.d"
else
    pf_run metrics
    pf_expect_rc 0 "metrics without a config"
    assert_no_line "$PF_OUT" '^nft_portfwd_forward_' "no forward series"
    assert_line "$PF_OUT" '^nft_portfwd_extra_elements [1-9]' "the table's elements are all extra"
    status_rc=$(ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" status -q 2>/dev/null; echo $?)
    assert_eq "$status_rc" 3 "status without a config still refuses (exit 3)"
fi

step "no directory, no file"
pf_run --config "$cfg" metrics --output "$PF_TMP/none/nft-portfwd.prom"
[ "$PF_RC" -ne 0 ] || fail "metrics into a missing directory succeeded"
assert_match "$PF_ERR" "cannot open metrics directory $PF_TMP/none" "the error names the missing directory"
[ ! -e "$PF_TMP/none" ] || fail "metrics created the missing directory"

pf_pass
