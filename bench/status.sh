#!/bin/bash
# What status and metrics cost against what the kernel's own tool takes to list the same
# table, and against an older nft-portfwd, in the same run (issue 21). Run as root:
#   sudo bench/status.sh [OLD_BINARY]          # SIZES (default "10000 100000"), RUNS (7)
# For each size N, in a namespace of its own (pfst-<pid>, nothing else touched), the table
# of N forwards live, RUNS times each, in turn:
#   status -q       the comparison and its exit code (what the old benchmark timed)
#   status          the text report (the host's findings too), to /dev/null
#   status --json   the JSON report
#   metrics         Prometheus' text; and metrics --output FILE (atomic replace)
#   read-back       apply after one element was deleted by hand: the live table is read
#                   back (the watcher's heal reads it the same way) and healed in place
#   nft -j list table inet portfwd, the baseline
# With OLD_BINARY, its status -q, status, status --json and read-back too (it has no
# metrics). Every figure is a median of wall time, timed inside the namespace. Prints a
# Markdown section for RESULTS.md.
set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
NEW=${NFT_PORTFWD:-$ROOT/build/nft-portfwd}
OLD=${1:-}
SIZES=${SIZES:-"10000 100000"}
RUNS=${RUNS:-7}
NS=pfst-$$
TMP=""
export LC_ALL=C

log() { echo "[status-bench] $*" >&2; }
die() { echo "[status-bench] FAIL: $*" >&2; exit 1; }
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    ip netns del "$NS" 2>/dev/null
    [ -n "$TMP" ] && rm -rf -- "$TMP"
    exit "$rc"
}
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
[ -x "$NEW" ] || die "no binary at $NEW"
[ -z "$OLD" ] || [ -x "$OLD" ] || die "no binary at $OLD"
trap cleanup EXIT
trap 'exit 1' INT TERM
TMP=$(mktemp -d "/tmp/$NS.XXXXXX") || die mktemp

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
# timed NAME CMD...: one run of CMD inside the namespace, its microseconds appended to NAME
timed() {
    local name=$1
    shift
    ip netns exec "$NS" bash -c 's=$EPOCHREALTIME; "$@" >/dev/null 2>"$0" || exit 1; e=$EPOCHREALTIME
        echo $(( 10#${e/./} - 10#${s/./} ))' "$TMP/err" "$@" >>"$TMP/$name" ||
        die "$name: $* failed: $(cat "$TMP/err")"
}

declare -A R
COLUMNS="quiet text json metrics metrics_file readback list"
[ -n "$OLD" ] && COLUMNS="$COLUMNS old_quiet old_text old_json old_readback"
for n in $SIZES; do
    conf="$TMP/a$n.conf"
    awk -v n="$n" 'BEGIN { print "host-ip = 203.0.113.1"; for (i = 0; i < n; i++)
        printf "forward %s %d to 192.0.2.%d:%d\n", i < 50000 ? "tcp" : "udp", 10000 + i % 50000,
            10 + i % 200, 20000 + i % 40000 }' >"$conf"
    ip netns del "$NS" 2>/dev/null
    ip netns add "$NS" && ip -n "$NS" link set lo up || die "ip netns add $NS"
    ip -n "$NS" addr add 203.0.113.1/24 dev lo
    rm -rf "$TMP/state"
    sa=(--config "$conf" --state-dir "$TMP/state")
    ip netns exec "$NS" "$NEW" apply -q "${sa[@]}" 2>/dev/null || die "apply of $n forwards"
    mkdir -p "$TMP/textfile"
    for c in $COLUMNS; do : >"$TMP/$c"; done
    # heal: one element deleted by hand, then apply reads the table back and puts it back
    readback() {
        ip netns exec "$NS" nft delete element inet portfwd fwd4 '{ tcp . 10000 }' || die "hand delete"
        timed "$1" "$2" apply -q "${sa[@]}"
    }
    for ((i = 0; i < RUNS; i++)); do
        timed quiet "$NEW" status -q "${sa[@]}"
        timed text "$NEW" status "${sa[@]}"
        timed json "$NEW" status --json "${sa[@]}"
        timed metrics "$NEW" metrics "${sa[@]}"
        timed metrics_file "$NEW" metrics --output "$TMP/textfile/nft-portfwd.prom" "${sa[@]}"
        readback readback "$NEW"
        timed list nft -j list table inet portfwd
        if [ -n "$OLD" ]; then
            timed old_quiet "$OLD" status -q "${sa[@]}"
            timed old_text "$OLD" status "${sa[@]}"
            timed old_json "$OLD" status --json "${sa[@]}"
            readback old_readback "$OLD"
        fi
    done
    for c in $COLUMNS; do
        R[$c.$n]=$(median <"$TMP/$c")
        log "$n forwards, $c: median $(ms "${R[$c.$n]}") ms ($(tr '\n' ' ' <"$TMP/$c"))"
    done
    R[bytes.$n]=$(stat -c %s "$TMP/textfile/nft-portfwd.prom")
done
ip netns del "$NS"

cat <<EOF
## status and metrics over netlink (\`bench/status.sh\`)

\`sudo bench/status.sh ${OLD:+OLD_BINARY}\` (RUNS=$RUNS) on $(date -u +%Y-%m-%d), source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)${OLD:+, against the binary of an older source in the same run}.
Medians in ms, wall time inside the namespace; ratios against \`nft -j list table inet portfwd\`.

| forwards | nft -j list table | status -q | ratio | status | ratio | status --json | ratio | metrics | metrics --output | read-back and heal |$( [ -n "$OLD" ] && printf ' old status -q | old status | old status --json | old read-back |')
|---|---|---|---|---|---|---|---|---|---|---|$( [ -n "$OLD" ] && printf -- '---|---|---|---|')
EOF
for n in $SIZES; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$n" "$(ms "${R[list.$n]}")" \
        "$(ms "${R[quiet.$n]}")" "$(ratio "${R[quiet.$n]}" "${R[list.$n]}")" \
        "$(ms "${R[text.$n]}")" "$(ratio "${R[text.$n]}" "${R[list.$n]}")" \
        "$(ms "${R[json.$n]}")" "$(ratio "${R[json.$n]}" "${R[list.$n]}")" \
        "$(ms "${R[metrics.$n]}")" "$(ms "${R[metrics_file.$n]}")" "$(ms "${R[readback.$n]}")"
    [ -n "$OLD" ] && printf ' %s | %s | %s | %s |' "$(ms "${R[old_quiet.$n]}")" "$(ms "${R[old_text.$n]}")" \
        "$(ms "${R[old_json.$n]}")" "$(ms "${R[old_readback.$n]}")"
    printf '\n'
done
cat <<EOF

The metrics file is $(for n in $SIZES; do printf '%s bytes for %s forwards; ' "${R[bytes.$n]}" "$n"; done)

### Targets

| target | measured | target | |
|---|---|---|---|
EOF
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print v <= t ? "met" : "**missed**" }'; }
for n in $SIZES; do
    case $n in
        10000)
            # status --json is measured above, not a target: jansson builds a tree per forward
            for c in quiet text; do
                r=$(awk -v a="${R[$c.$n]}" -v b="${R[list.$n]}" 'BEGIN { printf "%.3f", a / b }')
                printf '| status%s, 10,000, vs nft -j list table | %s | <= 0.25x | %s |\n' \
                    "$( [ $c = quiet ] && echo ' -q')" "$(ratio "${R[$c.$n]}" "${R[list.$n]}")" \
                    "$(verdict "$r" 0.25)"
            done
            printf '| metrics, 10,000, vs status | %s vs %s ms | <= 1x | %s |\n' "$(ms "${R[metrics.$n]}")" \
                "$(ms "${R[text.$n]}")" "$(verdict "${R[metrics.$n]}" "${R[text.$n]}")" ;;
        100000)
            for c in quiet text; do
                printf '| status%s, 100,000 | %s ms | <= 1000 ms | %s |\n' "$( [ $c = quiet ] && echo ' -q')" \
                    "$(ms "${R[$c.$n]}")" "$(verdict "${R[$c.$n]}" 1000000)"
            done ;;
    esac
done
