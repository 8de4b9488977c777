#!/bin/bash
# nft-portfwd benchmarks; run as root. Writes bench/RESULTS.md (or $OUT).
#
#   sudo bench/run.sh                      # the full run (about 10 minutes)
#   sudo RUNS_SMALL=1 RUNS_LARGE=1 CONN_SECONDS=2 IPERF_SECONDS=2 OLD_MAX=100 bench/run.sh
#                                          # a quick smoke run
#
# Every measurement runs in network namespaces of its own (pfb-<pid>-*), using only
# documentation addresses; they and every process started here are removed on exit.
# Nothing touches the main namespace's ruleset or sysctls.
#
#   client 203.0.113.2/24 --(203.0.113.1/24  host  192.0.2.1/24)-- guest 192.0.2.79/24
#
# 1. apply time for 1, 100, 1,000 and 10,000 forwards, each run in a fresh namespace:
#    `nft-portfwd apply`, `nft -f` of its own rendering (the floor), and the old way: the
#    seed's setup-port-forward.sh commands, one iptables process per rule (sysctl, then
#    INPUT, PREROUTING DNAT, OUTPUT DNAT, 2x FORWARD, POSTROUTING MASQUERADE per forward).
#    The old way is measured up to OLD_MAX forwards and extrapolated above.
# 2. new TCP connections per second (one connection after another, reset on close) from
#    client through the last forward to guest: nft-portfwd with 1 and 10,000 forwards, the
#    same forwards as old-way iptables rules, and direct routing to the guest (no NAT).
# 3. TCP throughput (iperf3, one stream) through the last of 10,000 forwards vs direct.
# 4. peak RSS of `nft-portfwd apply` and `nft -f` for 10,000 forwards (/usr/bin/time).
# 5. bench/scale.sh: the everyday path (one change, no-op, flush, status, fresh apply) at
#    1,000, 10,000 and 100,000 forwards against nft -f (SCALE=0 skips it).
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
NFT_PORTFWD=${NFT_PORTFWD:-$ROOT/build/nft-portfwd}
OUT=${OUT:-$BENCH_DIR/RESULTS.md}
SIZES=${SIZES:-"1 100 1000 10000"}
RUNS_SMALL=${RUNS_SMALL:-5}      # apply runs for fewer than 10,000 forwards
RUNS_LARGE=${RUNS_LARGE:-3}      # apply runs for 10,000 forwards, old way at 1,000
OLD_MAX=${OLD_MAX:-1000}         # largest count the old way is really run for
CONN_SECONDS=${CONN_SECONDS:-5}
CONN_RUNS=${CONN_RUNS:-5}
IPERF_SECONDS=${IPERF_SECONDS:-4}
IPERF_RUNS=${IPERF_RUNS:-5}
BIG=10000                        # forwards for the connection, throughput and memory runs
FIRST_PORT=10000
IPTABLES=${IPTABLES:-iptables-nft}

CLIENT_IP=203.0.113.2
HOST_IP=203.0.113.1
HOST_GW_IP=192.0.2.1
GUEST_IP=192.0.2.79

TAG="pfb-$$"
NS_CREATED=()
PIDS=()
TMP=""
export LC_ALL=C

log() { echo "[bench] $*" >&2; [ -n "$TMP" ] && echo "$*" >>"$TMP/log"; }
die() { echo "[bench] FAIL: $*" >&2; exit 1; }

cleanup() {
    local rc=$? pid ns
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    for ns in "${NS_CREATED[@]}"; do ip netns del "$ns" 2>/dev/null; done
    [ -n "$TMP" ] && rm -rf -- "$TMP"
    exit "$rc"
}

# ---------------------------------------------------------------- prerequisites

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
for tool in ip nft "$IPTABLES" "${IPTABLES}-restore" iperf3 /usr/bin/time cc python3; do
    command -v "$tool" >/dev/null || die "$tool not found (apt-get install iproute2 nftables iptables iperf3 time gcc python3)"
done
[ -x "$NFT_PORTFWD" ] || die "no binary at NFT_PORTFWD=$NFT_PORTFWD (meson setup build && meson compile -C build)"

trap cleanup EXIT
trap 'exit 1' INT TERM
TMP=$(mktemp -d "/tmp/$TAG.XXXXXX") || die mktemp
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
awk '{ exit !($1 > 0.5) }' /proc/loadavg && log "warning: load average $LOAD_START before the start; other work on this machine skews the figures"
cc -O2 -Wall -o "$TMP/connrate" "$BENCH_DIR/connrate.c" || die "compiling connrate.c"
cc -O2 -Wall -o "$TMP/acceptor" "$BENCH_DIR/acceptor.c" || die "compiling acceptor.c"

# ---------------------------------------------------------------- helpers

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }                 # µs -> ms
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "max" ? v <= t : v >= t; print ok ? "met" : "**missed**" }'; }

new_ns() {
    ip netns add "$1" || die "ip netns add $1"
    NS_CREATED+=("$1")
    ip -n "$1" link set lo up
}
del_ns() {
    local ns=$1 i
    ip netns del "$ns" 2>/dev/null
    for i in "${!NS_CREATED[@]}"; do [ "${NS_CREATED[$i]}" = "$ns" ] && unset 'NS_CREATED[i]'; done
}

# conf N: N forwards, host ports FIRST_PORT.. to the guest's same ports (as in seed.conf)
gen_conf() {
    local n=$1
    echo "host-ip = $HOST_IP"
    awk -v n="$n" -v p="$FIRST_PORT" -v g="$GUEST_IP" \
        'BEGIN { for (i = 0; i < n; i++) printf "forward tcp %d to %s:%d\n", p + i, g, p + i }'
}

# The seed's setup-port-forward.sh, per forward, as iptables arguments (one line, one process).
gen_old() {
    awk -v n="$1" -v p="$FIRST_PORT" -v g="$GUEST_IP" -v h="$HOST_IP" 'BEGIN {
        for (i = 0; i < n; i++) {
            port = p + i
            printf "-I INPUT -p tcp --dport %d -j ACCEPT\n", port
            printf "-t nat -A PREROUTING -p tcp --dport %d -j DNAT --to-destination %s:%d\n", port, g, port
            printf "-t nat -A OUTPUT -p tcp --dport %d -d %s -j DNAT --to-destination %s:%d\n", port, h, g, port
            printf "-I FORWARD -p tcp -d %s --dport %d -j ACCEPT\n", g, port
            printf "-I FORWARD -p tcp -s %s --sport %d -j ACCEPT\n", g, port
            printf "-t nat -A POSTROUTING -d %s -p tcp --dport %d -j MASQUERADE\n", g, port
        } }'
}

# The same rules for iptables-restore (same commands, same order, one transaction per table):
# only for loading 10,000 old-way rules for the traffic tests, never for timing.
gen_old_restore() {
    echo "*filter"
    gen_old "$1" | grep -v '^-t nat'
    echo "COMMIT"
    echo "*nat"
    gen_old "$1" | sed -n 's/^-t nat //p'
    echo "COMMIT"
}

# The seed's way of applying: sysctl, then one iptables process per rule.
cat >"$TMP/oldway.sh" <<EOF
sysctl -qw net.ipv4.ip_forward=1
while read -r -a args; do
    $IPTABLES "\${args[@]}" || exit 1
done <"\$1"
EOF

# ns_time NS CMD...: microseconds CMD takes inside NS (timed in there, so `ip netns exec`
# itself is not counted); its output goes to $TMP/last.out / last.err.
ns_time() {
    local ns=$1
    shift
    ip netns exec "$ns" bash -c 's=$EPOCHREALTIME; "$@" >"$OUTF" 2>"$ERRF" || exit 1; e=$EPOCHREALTIME
        echo $(( 10#${e/./} - 10#${s/./} ))' _ "$@" \
        || die "in $ns: $* failed: $(cat "$TMP/last.err")"
}
export OUTF="$TMP/last.out" ERRF="$TMP/last.err"

for n in $SIZES $BIG; do
    [ -f "$TMP/f$n.conf" ] && continue
    gen_conf "$n" >"$TMP/f$n.conf"
    "$NFT_PORTFWD" render --config "$TMP/f$n.conf" -o "$TMP/f$n.nft" || die "render $n forwards"
    gen_old "$n" >"$TMP/old$n.args"
done
gen_old_restore "$BIG" >"$TMP/old$BIG.restore"
gen_old_restore 1 >"$TMP/old1.restore"

# ---------------------------------------------------------------- 1. apply time

declare -A T_APPLY T_NFT T_OLD T_CHANGE
run=0
for n in $SIZES; do
    runs=$RUNS_SMALL
    [ "$n" -ge 1000 ] && runs=$RUNS_LARGE
    for method in apply nft old; do
        [ "$method" = old ] && [ "$n" -gt "$OLD_MAX" ] && continue
        : >"$TMP/times"
        for ((i = 0; i < runs; i++)); do
            run=$((run + 1))
            ns="$TAG-a$run"
            new_ns "$ns"
            case $method in
                apply) ns_time "$ns" "$NFT_PORTFWD" apply --config "$TMP/f$n.conf" \
                           --state-dir "$TMP/state-$run" >>"$TMP/times" ;;
                nft)   ns_time "$ns" nft -f "$TMP/f$n.nft" >>"$TMP/times" ;;
                old)   ns_time "$ns" bash "$TMP/oldway.sh" "$TMP/old$n.args" >>"$TMP/times"
                       # the restore file used below must build the same rules as the commands
                       if [ "$n" = 100 ] && [ "$i" = 0 ]; then
                           ip netns exec "$ns" "${IPTABLES}-save" | grep -v '^[#:]' >"$TMP/old-cmds.save"
                       fi ;;
            esac
            del_ns "$ns"
            sleep 0.2   # let the kernel finish tearing the namespace down
        done
        med=$(median <"$TMP/times")
        case $method in apply) T_APPLY[$n]=$med ;; nft) T_NFT[$n]=$med ;; old) T_OLD[$n]=$med ;; esac
        log "apply time, $n forwards, $method: median $(ms "$med") ms of $runs ($(tr '\n' ' ' <"$TMP/times"))"
    done
done

# The restore form of the old rules equals what the commands build (checked at 100).
if [ -f "$TMP/old-cmds.save" ]; then
    ns="$TAG-chk"
    new_ns "$ns"
    gen_old_restore 100 | ip netns exec "$ns" "${IPTABLES}-restore" || die "iptables-restore"
    ip netns exec "$ns" "${IPTABLES}-save" | grep -v '^[#:]' >"$TMP/old-restore.save"
    cmp -s "$TMP/old-cmds.save" "$TMP/old-restore.save" \
        || die "iptables-restore builds other rules than the seed's commands: $(diff "$TMP/old-cmds.save" "$TMP/old-restore.save" | head -5)"
    del_ns "$ns"
fi

# ---------------------------------------------------------------- 4. peak memory

declare -A RSS
# The second config: the same forwards, the last one to another guest address.
sed "\$s/to $GUEST_IP:/to 192.0.2.80:/" "$TMP/f$BIG.conf" >"$TMP/f$BIG-b.conf"
"$NFT_PORTFWD" render --config "$TMP/f$BIG-b.conf" -o "$TMP/f$BIG-b.nft" || die "render $BIG (changed)"
: >"$TMP/again.time"
for method in apply nft; do
    : >"$TMP/rss"
    : >"$TMP/change.$method.time"
    : >"$TMP/change.$method.rss"
    for ((i = 0; i < RUNS_LARGE; i++)); do
        run=$((run + 1))
        ns="$TAG-m$run"
        new_ns "$ns"
        case $method in
            apply) ip netns exec "$ns" /usr/bin/time -f %M -o "$TMP/rss.one" "$NFT_PORTFWD" apply \
                       --config "$TMP/f$BIG.conf" --state-dir "$TMP/state-$run" >/dev/null ;;
            nft)   ip netns exec "$ns" /usr/bin/time -f %M -o "$TMP/rss.one" nft -f "$TMP/f$BIG.nft" ;;
        esac || die "peak memory run ($method) failed"
        tail -1 "$TMP/rss.one" >>"$TMP/rss"
        if [ "$method" = apply ]; then
            # the same apply again: nothing to commit (its no-op path)
            ns_time "$ns" "$NFT_PORTFWD" apply --config "$TMP/f$BIG.conf" --state-dir "$TMP/state-$run" >>"$TMP/again.time"
            # one forward changed, the table live: elements changed in place
            ns_time "$ns" /usr/bin/time -f %M -o "$TMP/rss.one" "$NFT_PORTFWD" apply \
                --config "$TMP/f$BIG-b.conf" --state-dir "$TMP/state-$run" >>"$TMP/change.$method.time"
        else
            ns_time "$ns" /usr/bin/time -f %M -o "$TMP/rss.one" nft -f "$TMP/f$BIG-b.nft" >>"$TMP/change.$method.time"
        fi
        tail -1 "$TMP/rss.one" >>"$TMP/change.$method.rss"
        del_ns "$ns"
        sleep 0.2
    done
    RSS[$method]=$(median <"$TMP/rss")
    RSS[change.$method]=$(median <"$TMP/change.$method.rss")
    T_CHANGE[$method]=$(median <"$TMP/change.$method.time")
    log "peak RSS, $BIG forwards, $method: median ${RSS[$method]} KiB ($(tr '\n' ' ' <"$TMP/rss"))"
    log "replacing $BIG forwards (one changed), $method: median $(ms "${T_CHANGE[$method]}") ms ($(tr '\n' ' ' <"$TMP/change.$method.time")), peak RSS ${RSS[change.$method]} KiB ($(tr '\n' ' ' <"$TMP/change.$method.rss"))"
done
T_AGAIN=$(median <"$TMP/again.time")
: >"$TMP/render.time"
for ((i = 0; i < RUNS_LARGE; i++)); do
    s=$EPOCHREALTIME
    "$NFT_PORTFWD" render --config "$TMP/f$BIG.conf" -o /dev/null || die "render $BIG"
    e=$EPOCHREALTIME
    echo $(( 10#${e/./} - 10#${s/./} )) >>"$TMP/render.time"
done
T_RENDER=$(median <"$TMP/render.time")
log "$BIG forwards: apply again (no-op) median $(ms "$T_AGAIN") ms, render median $(ms "$T_RENDER") ms"

# ---------------------------------------------------------------- 2./3. traffic

# topo NAME: fresh client, host and guest namespaces; forwarding on in host.
topo() {
    C="$TAG-$1-c" H="$TAG-$1-h" G="$TAG-$1-g"
    new_ns "$C"; new_ns "$H"; new_ns "$G"
    ip -n "$H" link add toc type veth peer name eth0 netns "$C" || die veth
    ip -n "$H" link add tog type veth peer name eth0 netns "$G" || die veth
    ip -n "$H" addr add "$HOST_IP/24" dev toc
    ip -n "$H" addr add "$HOST_GW_IP/24" dev tog
    ip -n "$C" addr add "$CLIENT_IP/24" dev eth0
    ip -n "$G" addr add "$GUEST_IP/24" dev eth0
    for ns in "$H" "$C" "$G"; do ip -n "$ns" link set dev "$( [ "$ns" = "$H" ] && echo toc || echo eth0)" up; done
    ip -n "$H" link set tog up
    ip -n "$C" route add default via "$HOST_IP"
    ip -n "$G" route add default via "$HOST_GW_IP"
    ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
    ip netns exec "$C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
}
untopo() { del_ns "$C"; del_ns "$H"; del_ns "$G"; }

start_acceptor() {   # PORT
    ip netns exec "$G" "$TMP/acceptor" "$1" >"$TMP/acceptor.out" 2>&1 &
    ACCEPTOR=$!
    PIDS+=("$ACCEPTOR")
    for _ in $(seq 50); do grep -q ready "$TMP/acceptor.out" && return; sleep 0.05; done
    die "acceptor did not start: $(cat "$TMP/acceptor.out")"
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# connrate_once ADDR PORT: conn/s of one CONN_SECONDS run after a 1 s warm-up; dies when
# more than 1% of connections fail (the path is broken, not slow).
connrate_once() {
    local addr=$1 port=$2 line ok failed
    start_acceptor "$port"
    ip netns exec "$C" "$TMP/connrate" "$addr" "$port" 1 >/dev/null || die "no connection to $addr:$port"
    line=$(ip netns exec "$C" "$TMP/connrate" "$addr" "$port" "$CONN_SECONDS") || die "connrate to $addr:$port: $line"
    read -r ok _ failed _ <<<"$line"
    [ "$failed" -le $((ok / 100)) ] || die "connrate to $addr:$port: $line"
    stop_pid "$ACCEPTOR"
    awk '{ print $(NF - 1) }' <<<"$line"
}

# iperf_once ADDR PORT: Gbit/s the guest received in one IPERF_SECONDS run of one stream
iperf_once() {
    local addr=$1 port=$2 srv
    ip netns exec "$G" iperf3 -s -1 -p "$port" >/dev/null 2>&1 &
    srv=$!
    PIDS+=("$srv")
    sleep 0.3
    ip netns exec "$C" iperf3 -c "$addr" -p "$port" -t "$IPERF_SECONDS" -J >"$TMP/iperf.json" \
        || die "iperf3 to $addr:$port failed"
    stop_pid "$srv"
    python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' \
        "$TMP/iperf.json"
}

# rules PATH: load PATH's rules into the host namespace H (which has none); sets ADDR and
# PORT, where the client connects.
LAST_BIG=$((FIRST_PORT + BIG - 1))
rules() {
    case $1 in
        direct) ADDR=$GUEST_IP PORT=$LAST_BIG ;;
        ct)     ip netns exec "$H" nft -f - <<<'table inet bench { chain forward { type filter hook forward priority 0; ct state established,related accept; }; }' \
                    || die "conntrack-only table"
                ADDR=$GUEST_IP PORT=$LAST_BIG ;;
        pf1)    rm -rf "$TMP/state-traffic"
                ip netns exec "$H" "$NFT_PORTFWD" apply --config "$TMP/f1.conf" --state-dir "$TMP/state-traffic" >/dev/null || die "apply 1"
                ADDR=$HOST_IP PORT=$FIRST_PORT ;;
        pfbig)  rm -rf "$TMP/state-traffic"
                ip netns exec "$H" "$NFT_PORTFWD" apply --config "$TMP/f$BIG.conf" --state-dir "$TMP/state-traffic" >/dev/null || die "apply $BIG"
                ADDR=$HOST_IP PORT=$LAST_BIG ;;
        old1)   ip netns exec "$H" "${IPTABLES}-restore" <"$TMP/old1.restore" || die "old rules 1"
                ADDR=$HOST_IP PORT=$FIRST_PORT ;;
        oldbig) ip netns exec "$H" "${IPTABLES}-restore" <"$TMP/old$BIG.restore" || die "old rules $BIG"
                ADDR=$HOST_IP PORT=$LAST_BIG ;;
    esac
}

declare -A RATE GBPS
CONN_PATHS="direct pf1 pfbig old1 oldbig"
IPERF_PATHS="direct ct old1 pfbig"

# Connection rate: the paths take turns, round after round, each run in fresh namespaces
# (no conntrack entries left from another run), so drift over time hits them all alike.
for path in $CONN_PATHS; do : >"$TMP/rate.$path"; done
for ((round = 1; round <= CONN_RUNS; round++)); do
    for path in $CONN_PATHS; do
        topo "c$round$path"
        rules "$path"
        connrate_once "$ADDR" "$PORT" >>"$TMP/rate.$path"
        untopo
    done
    log "connection rate, round $round: $(for p in $CONN_PATHS; do printf '%s %s  ' "$p" "$(tail -1 "$TMP/rate.$p")"; done)"
done
for path in $CONN_PATHS; do RATE[$path]=$(median <"$TMP/rate.$path"); done

# Throughput: one set of namespaces; the paths take turns, the host's rules replaced
# between runs (nft flush ruleset: no table at all for direct routing).
topo iperf
for path in $IPERF_PATHS; do : >"$TMP/gbps.$path"; done
iperf_once "$GUEST_IP" "$LAST_BIG" >/dev/null   # warm-up
for ((round = 1; round <= IPERF_RUNS; round++)); do
    for path in $IPERF_PATHS; do
        ip netns exec "$H" nft flush ruleset
        rules "$path"
        iperf_once "$ADDR" "$PORT" >>"$TMP/gbps.$path"
    done
    log "throughput, round $round: $(for p in $IPERF_PATHS; do printf '%s %s  ' "$p" "$(tail -1 "$TMP/gbps.$p")"; done)"
done
untopo
for path in $IPERF_PATHS; do GBPS[$path]=$(median <"$TMP/gbps.$path"); done

# ---------------------------------------------------------------- RESULTS.md

old_per_fwd_us=""
if [ -n "${T_OLD[$OLD_MAX]:-}" ]; then
    old_per_fwd_us=$(( T_OLD[$OLD_MAX] / OLD_MAX ))
fi
old_cell() {   # N
    local n=$1
    if [ -n "${T_OLD[$n]:-}" ]; then
        echo "$(ms "${T_OLD[$n]}")"
    elif [ -n "$old_per_fwd_us" ]; then
        echo "~$(awk -v us="$((old_per_fwd_us * n))" 'BEGIN { printf "%.0f", us / 1000 }') (extrapolated*)"
    else
        echo "-"
    fi
}
old_ratio() {
    local n=$1 t
    t=${T_OLD[$n]:-}
    [ -z "$t" ] && [ -n "$old_per_fwd_us" ] && t=$((old_per_fwd_us * n))
    [ -n "$t" ] && echo "$(ratio "$t" "${T_APPLY[$n]}")x" || echo "-"
}

a_ratio=$(ratio "${T_APPLY[$BIG]:-0}" "${T_NFT[$BIG]:-1}")
c_ratio=$(ratio "${RATE[pfbig]}" "${RATE[pf1]}")
t_ratio=$(ratio "${GBPS[pfbig]}" "${GBPS[direct]}")
m_ratio=$(ratio "${RSS[apply]}" "${RSS[nft]}")
rc_ratio=$(ratio "${T_CHANGE[apply]}" "${T_CHANGE[nft]}")
rm_ratio=$(ratio "${RSS[change.apply]}" "${RSS[change.nft]}")
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || commit="$commit + uncommitted changes in src/"

{
cat <<EOF
# Benchmark results

Produced by \`sudo bench/run.sh\` (RUNS_SMALL=$RUNS_SMALL RUNS_LARGE=$RUNS_LARGE OLD_MAX=$OLD_MAX
CONN_SECONDS=$CONN_SECONDS CONN_RUNS=$CONN_RUNS IPERF_SECONDS=$IPERF_SECONDS IPERF_RUNS=$IPERF_RUNS) on $(date -u +%Y-%m-%d), source $commit.

Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo),
kernel $(uname -r), $(nft --version | awk '{ print $1, $2 }'), $($IPTABLES --version). Every figure is a
median; client, host and guest are network namespaces joined by veth pairs on this machine.
Load average (1, 5, 15 min) before the run: $LOAD_START; after: $(cut -d' ' -f1-3 /proc/loadavg) (other work
on the machine during the run skews the traffic figures above all).

## Targets

| target | measured | ratio | target | |
|---|---|---|---|---|
| apply of $BIG forwards (fresh namespace) vs \`nft -f\` of the same rendering | $(ms "${T_APPLY[$BIG]:-0}") ms vs $(ms "${T_NFT[$BIG]:-0}") ms | ${a_ratio}x | <= 1.2x | $(verdict "$a_ratio" 1.2 max) |
| new connections/s, last of $BIG forwards vs 1 forward | ${RATE[pfbig]} vs ${RATE[pf1]} | ${c_ratio}x | >= 0.9x | $(verdict "$c_ratio" 0.9 min) |
| TCP throughput through a forward vs direct routing | ${GBPS[pfbig]} vs ${GBPS[direct]} Gbit/s | ${t_ratio}x | >= 0.9x | $(verdict "$t_ratio" 0.9 min) |
| peak RSS of apply vs \`nft -f\`, $BIG forwards (fresh namespace) | ${RSS[apply]} vs ${RSS[nft]} KiB | ${m_ratio}x | <= 1.2x | $(verdict "$m_ratio" 1.2 max) |
| apply vs \`nft -f\`, one of $BIG forwards changed, the table live: time | $(ms "${T_CHANGE[apply]}") ms vs $(ms "${T_CHANGE[nft]}") ms | ${rc_ratio}x | <= 1.2x | $(verdict "$rc_ratio" 1.2 max) |
| apply vs \`nft -f\`, one of $BIG forwards changed, the table live: peak RSS | ${RSS[change.apply]} vs ${RSS[change.nft]} KiB | ${rm_ratio}x | <= 1.2x | $(verdict "$rm_ratio" 1.2 max) |

## Apply time (ms)

Each run in a fresh network namespace (no table before), timed inside it. \`nft -f\` loads
nft-portfwd's own rendering of the same config: the floor of what libnftables can do. The
old way is the seed's setup script: \`sysctl\`, then 6 \`$IPTABLES\` processes per forward.

| forwards | nft-portfwd apply | nft -f | apply / nft -f | old way (iptables) | old / apply |
|---|---|---|---|---|---|
EOF
for n in $SIZES; do
    echo "| $n | $(ms "${T_APPLY[$n]}") | $(ms "${T_NFT[$n]}") | $(ratio "${T_APPLY[$n]}" "${T_NFT[$n]}")x | $(old_cell "$n") | $(old_ratio "$n") |"
done
cat <<EOF

Runs: $RUNS_SMALL each below 1,000 forwards, $RUNS_LARGE at 1,000 and above.
EOF
if [ -n "$old_per_fwd_us" ]; then
cat <<EOF
\* The old way was run up to $OLD_MAX forwards ($(ms "$((old_per_fwd_us))") ms per forward there); larger
counts are extrapolated linearly from that per-forward cost. That is a lower bound: each
iptables-nft process reads the ruleset it appends to, so the cost per forward grows with
the number already there (compare the per-forward cost at 100 and at $OLD_MAX above).
EOF
fi
cat <<EOF

## New TCP connections per second

One connection after another for ${CONN_SECONDS} s (connect, then close with a reset), client -> host
address -> guest, after a 1 s warm-up; $CONN_RUNS rounds, the paths taking turns, each run in fresh
namespaces. "Last" is the forward added last.

| path | conn/s | vs nft-portfwd, 1 forward |
|---|---|---|
| direct routing to the guest (no NAT, no table) | ${RATE[direct]} | $(ratio "${RATE[direct]}" "${RATE[pf1]}")x |
| nft-portfwd, 1 forward | ${RATE[pf1]} | 1.00x |
| nft-portfwd, last of $BIG forwards | ${RATE[pfbig]} | ${c_ratio}x |
| old way (iptables rules), 1 forward | ${RATE[old1]} | $(ratio "${RATE[old1]}" "${RATE[pf1]}")x |
| old way (iptables rules), last of $BIG forwards | ${RATE[oldbig]} | $(ratio "${RATE[oldbig]}" "${RATE[pf1]}")x |

The old-way rules for these runs are the seed's commands loaded with \`${IPTABLES}-restore\`
(the script checks, at 100 forwards, that this builds exactly the rules the commands build).

## TCP throughput

iperf3, one stream, ${IPERF_SECONDS} s, client -> guest; $IPERF_RUNS rounds in one set of namespaces,
the paths taking turns (the host's ruleset replaced between runs).

| path | Gbit/s | vs direct |
|---|---|---|
| direct routing to the guest (no NAT, no table) | ${GBPS[direct]} | 1.00x |
| direct routing with connection tracking on (a table with one \`ct state\` rule), no NAT | ${GBPS[ct]} | $(ratio "${GBPS[ct]}" "${GBPS[direct]}")x |
| old way (iptables rules), 1 forward | ${GBPS[old1]} | $(ratio "${GBPS[old1]}" "${GBPS[direct]}")x |
| nft-portfwd, last of $BIG forwards | ${GBPS[pfbig]} | ${t_ratio}x |

Direct routing has no conntrack at all in the host: the second row is what connection
tracking alone costs, which any NAT needs; the old-way row is the same NAT done with
iptables rules. Per-round figures are in the log at the end.

## Peak memory, $BIG forwards

Maximum resident set size (\`/usr/bin/time -f %M\`), $RUNS_LARGE runs each in a fresh namespace.

| command | peak RSS (KiB) |
|---|---|
| nft-portfwd apply | ${RSS[apply]} |
| nft -f (the same rendering) | ${RSS[nft]} |

## Where apply's time goes, $BIG forwards

| step | time (ms) |
|---|---|
| \`nft-portfwd render\` (read, check and render the config; no kernel) | $(ms "$T_RENDER") |
| \`nft -f\` of the rendering (the commit alone: the floor) | $(ms "${T_NFT[$BIG]:-0}") |
| \`nft-portfwd apply\`, all of it (fresh namespace) | $(ms "${T_APPLY[$BIG]:-0}") |
| \`nft-portfwd apply\` again, same config (nothing to commit) | $(ms "$T_AGAIN") |

## One of $BIG forwards changed, the table live

What a config change costs on a host that already has the table: \`nft-portfwd apply\` of
the changed config over its own earlier apply (the forward's elements changed in place),
against \`nft -f\` of the whole changed rendering over the earlier rendering
($RUNS_LARGE runs each; the time includes \`/usr/bin/time\`). \`bench/scale.sh\` below
measures it at three sizes.

| | time (ms) | peak RSS (KiB) |
|---|---|---|
| nft-portfwd apply | $(ms "${T_CHANGE[apply]}") | ${RSS[change.apply]} |
| nft -f | $(ms "${T_CHANGE[nft]}") | ${RSS[change.nft]} |
| ratio | $(ratio "${T_CHANGE[apply]}" "${T_CHANGE[nft]}")x | $(ratio "${RSS[change.apply]}" "${RSS[change.nft]}")x |
EOF
# the everyday path at 1,000, 10,000 and 100,000 forwards (SCALE=0 skips it)
if [ "${SCALE:-1}" != 0 ]; then
    echo
    NFT_PORTFWD="$NFT_PORTFWD" "$BENCH_DIR/scale.sh" 2>>"$TMP/log" || die "bench/scale.sh failed"
fi
cat <<EOF

## Every sample (the script's log)

\`\`\`
$(cat "$TMP/log")
\`\`\`
EOF
} >"$OUT"
log "wrote $OUT"
