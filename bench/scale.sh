#!/bin/bash
# The everyday path at scale; run as root. Prints a Markdown section for RESULTS.md.
#
#   sudo bench/scale.sh                         # 1,000, 10,000 and 100,000 forwards
#   sudo SIZES="1000 10000" RUNS=3 bench/scale.sh
#
# For each size N, in network namespaces of its own (pfs-<pid>-*, nothing else touched):
#   fresh     apply of N forwards in a fresh namespace, against `nft -f` of its rendering
#   change    apply of the config with one forward changed (its guest port), the table of
#             N live from the previous apply: the everyday case. Against `nft -f` of the
#             whole changed rendering over the live table (what a tool that re-renders
#             everything does). Timed in both directions (A->B, B->A), RUNS times each.
#   no-op     apply of the config that is live, against `nft-portfwd render` alone (the
#             config parsed, checked and rendered, no kernel: what every apply does first)
#   status    `nft-portfwd status` (with counters), against `nft -j list table inet portfwd`
#   flush     `nft-portfwd flush` of the N live forwards
#   add       `nft-portfwd add` and `remove` of one forward (drop-in written, elements
#             changed in place), against the one change by apply
#   memory    peak RSS (/usr/bin/time %M) of one change, against `nft -f` over the live table
# Every figure is a median, timed inside the namespace (so `ip netns exec` is not counted).
# The namespace tracks no connections, so apply skips its conntrack sweep; what the sweep
# costs when connections exist is measured on its own at the end.
set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
NFT_PORTFWD=${NFT_PORTFWD:-$ROOT/build/nft-portfwd}
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-5}
TAG="pfs-$$"
NS_CREATED=()
TMP=""
export LC_ALL=C

log() { echo "[scale] $*" >&2; }
die() { echo "[scale] FAIL: $*" >&2; exit 1; }
cleanup() {
    local rc=$? ns
    trap - EXIT INT TERM
    for ns in "${NS_CREATED[@]}"; do ip netns del "$ns" 2>/dev/null; done
    [ -n "$TMP" ] && rm -rf -- "$TMP"
    exit "$rc"
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces); run: sudo $0"
for tool in ip nft /usr/bin/time; do command -v "$tool" >/dev/null || die "$tool not found"; done
[ -x "$NFT_PORTFWD" ] || die "no binary at NFT_PORTFWD=$NFT_PORTFWD (meson setup build && meson compile -C build)"
trap cleanup EXIT
trap 'exit 1' INT TERM
TMP=$(mktemp -d "/tmp/$TAG.XXXXXX") || die mktemp
export OUTF="$TMP/last.out" ERRF="$TMP/last.err"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print v <= t ? "met" : "**missed**" }'; }
new_ns() { ip netns add "$1" || die "ip netns add $1"; NS_CREATED+=("$1"); ip -n "$1" link set lo up; }
del_ns() {
    local i
    ip netns del "$1" 2>/dev/null
    for i in "${!NS_CREATED[@]}"; do [ "${NS_CREATED[$i]}" = "$1" ] && unset 'NS_CREATED[i]'; done
}
# ns_time NS CMD...: microseconds CMD takes, timed inside NS
ns_time() {
    local ns=$1
    shift
    ip netns exec "$ns" bash -c 's=$EPOCHREALTIME; "$@" >"$OUTF" 2>"$ERRF" || exit 1; e=$EPOCHREALTIME
        echo $(( 10#${e/./} - 10#${s/./} ))' _ "$@" || die "in $ns: $* failed: $(cat "$ERRF")"
}
# rss NS CMD...: peak RSS in KiB
rss() {
    local ns=$1
    shift
    ip netns exec "$ns" /usr/bin/time -f %M -o "$TMP/rss.one" "$@" >/dev/null 2>"$ERRF" || die "$* failed: $(cat "$ERRF")"
    tail -1 "$TMP/rss.one"
}

# conf N [CHANGED]: N forwards to 200 guests, tcp then udp; CHANGED moves forward N/2's
# guest port, the one change the everyday path makes.
conf() {
    echo "host-ip = 203.0.113.1"
    awk -v n="$1" -v c="${2:-}" 'BEGIN { for (i = 0; i < n; i++) {
        port = 20000 + i % 40000
        if (c != "" && i == int(n / 2)) port = 60001
        printf "forward %s %d to 192.0.2.%d:%d\n", i < 50000 ? "tcp" : "udp", 10000 + i % 50000, 10 + i % 200, port } }'
}

# elements N: write $TMP/eN.ab and eN.ba, the element changes from config a to b and back
# (the changed forward's map element and its new guest endpoint), for nft -f
elements() {
    local i=$(($1 / 2)) proto=tcp
    [ "$i" -ge 50000 ] && proto=udp
    local key="$proto . $((10000 + i % 50000))" guest="192.0.2.$((10 + i % 200))"
    local old="$guest . $((20000 + i % 40000))"
    printf 'delete element inet portfwd fwd4 { %s }\nadd element inet portfwd fwd4 { %s : %s . 60001 }\nadd element inet portfwd guest4 { %s . %s . 60001 }\n' \
        "$key" "$key" "$guest" "$guest" "$proto" >"$TMP/e$1.ab"
    printf 'delete element inet portfwd fwd4 { %s }\nadd element inet portfwd fwd4 { %s : %s }\ndelete element inet portfwd guest4 { %s . %s . 60001 }\n' \
        "$key" "$key" "$old" "$guest" "$proto" >"$TMP/e$1.ba"
}

declare -A R
for n in $SIZES; do
    conf "$n" >"$TMP/a$n.conf"
    conf "$n" changed >"$TMP/b$n.conf"
    "$NFT_PORTFWD" render --config "$TMP/a$n.conf" -o "$TMP/a$n.nft" || die "render $n"
    "$NFT_PORTFWD" render --config "$TMP/b$n.conf" -o "$TMP/b$n.nft" || die "render $n (changed)"
    sa="--state-dir $TMP/state"

    # render alone: parse, check and render the config (the no-op's floor: no kernel)
    : >"$TMP/render.pf"
    for ((i = 0; i < RUNS; i++)); do
        s=$EPOCHREALTIME
        "$NFT_PORTFWD" render --config "$TMP/a$n.conf" -o /dev/null || die "render $n"
        e=$EPOCHREALTIME
        echo $(( 10#${e/./} - 10#${s/./} )) >>"$TMP/render.pf"
    done

    # fresh: a new namespace per run
    : >"$TMP/fresh.pf"; : >"$TMP/fresh.nft"
    for ((i = 0; i < RUNS; i++)); do
        new_ns "$TAG-f"; rm -rf "$TMP/state"
        ns_time "$TAG-f" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa >>"$TMP/fresh.pf"
        del_ns "$TAG-f"; new_ns "$TAG-f"
        ns_time "$TAG-f" nft -f "$TMP/a$n.nft" >>"$TMP/fresh.nft"
        del_ns "$TAG-f"; sleep 0.2
    done

    # the everyday path: one namespace, the table live
    ns="$TAG-l"
    new_ns "$ns"; rm -rf "$TMP/state"
    ip netns exec "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa || die "apply $n"
    : >"$TMP/change.pf"; : >"$TMP/noop.pf"; : >"$TMP/status.pf"; : >"$TMP/list.nft"
    for ((i = 0; i < RUNS; i++)); do
        ns_time "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/b$n.conf" $sa >>"$TMP/change.pf"
        ns_time "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa >>"$TMP/change.pf"
        ns_time "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa >>"$TMP/noop.pf"
        ns_time "$ns" "$NFT_PORTFWD" status -q --config "$TMP/a$n.conf" $sa >>"$TMP/status.pf"
        ns_time "$ns" nft -j list table inet portfwd >>"$TMP/list.nft"
    done
    grep -q 'changed elements in place' <(ip netns exec "$ns" "$NFT_PORTFWD" apply \
        --config "$TMP/b$n.conf" $sa 2>&1) || die "the change of one forward among $n was not made in place"
    ip netns exec "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa || die "apply $n"
    R[rss.pf.$n]=$(rss "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa)
    : >"$TMP/change.nft"
    for ((i = 0; i < RUNS; i++)); do
        ns_time "$ns" nft -f "$TMP/b$n.nft" >>"$TMP/change.nft"
        ns_time "$ns" nft -f "$TMP/a$n.nft" >>"$TMP/change.nft"
    done
    R[rss.nft.$n]=$(rss "$ns" nft -f "$TMP/b$n.nft")
    # the floor of any change: nft -f of only the changed forward's elements
    ip netns exec "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa || die "apply $n"
    elements "$n"
    : >"$TMP/elements.nft"
    for ((i = 0; i < RUNS; i++)); do
        ns_time "$ns" nft -f "$TMP/e$n.ab" >>"$TMP/elements.nft"
        ns_time "$ns" nft -f "$TMP/e$n.ba" >>"$TMP/elements.nft"
    done
    # add and remove of one forward: a drop-in written under the lock, then an apply that
    # adds (then deletes) its elements in place, with the table live
    mkdir -p "$TMP/d$n"
    da="--config $TMP/a$n.conf --config-dir $TMP/d$n $sa"
    ip netns exec "$ns" "$NFT_PORTFWD" apply -q $da || die "apply $n with a drop-in directory"
    : >"$TMP/addremove.pf"
    for ((i = 0; i < RUNS; i++)); do
        ns_time "$ns" "$NFT_PORTFWD" add -q $da tcp 65000 to 192.0.2.9:22 >>"$TMP/addremove.pf"
        ns_time "$ns" "$NFT_PORTFWD" remove -q $da tcp 65000 >>"$TMP/addremove.pf"
    done
    : >"$TMP/flush.pf"
    for ((i = 0; i < RUNS; i++)); do
        ip netns exec "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" $sa || die "apply $n"
        ns_time "$ns" "$NFT_PORTFWD" flush -q $sa >>"$TMP/flush.pf"
    done
    del_ns "$ns"
    for k in render.pf fresh.pf fresh.nft change.pf change.nft elements.nft noop.pf status.pf list.nft flush.pf addremove.pf; do
        R[$k.$n]=$(median <"$TMP/$k")
        log "$n forwards, $k: median $(ms "${R[$k.$n]}") ms ($(tr '\n' ' ' <"$TMP/$k"))"
    done
    log "$n forwards, peak RSS of a change: ${R[rss.pf.$n]} KiB, nft -f over the live table: ${R[rss.nft.$n]} KiB"
done

# What the conntrack sweep adds to a change when the namespace tracks connections: the
# kernel walks its whole conntrack hash for the dump, however few entries there are.
CT_N=${SIZES%% *}
for s in $SIZES; do [ "$s" = 10000 ] && CT_N=10000; done
n=$CT_N
ns="$TAG-ct"
new_ns "$ns"; rm -rf "$TMP/state"
ip netns exec "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" --state-dir "$TMP/state" || die "apply $n"
# one tracked flow: a UDP datagram from the namespace to itself
ip netns exec "$ns" bash -c 'echo x >/dev/udp/127.0.0.1/9' 2>/dev/null
: >"$TMP/ctchange.pf"
for ((i = 0; i < RUNS; i++)); do
    ns_time "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/b$n.conf" --state-dir "$TMP/state" >>"$TMP/ctchange.pf"
    ns_time "$ns" "$NFT_PORTFWD" apply -q --config "$TMP/a$n.conf" --state-dir "$TMP/state" >>"$TMP/ctchange.pf"
done
CT_COUNT=$(ip netns exec "$ns" cat /proc/sys/net/netfilter/nf_conntrack_count)
BUCKETS=$(cat /proc/sys/net/netfilter/nf_conntrack_buckets)
del_ns "$ns"
R[ctchange]=$(median <"$TMP/ctchange.pf")
log "$n forwards, a change with $CT_COUNT tracked connection(s): median $(ms "${R[ctchange]}") ms"

# ---------------------------------------------------------------- report
cat <<EOF
## The everyday path at scale (\`bench/scale.sh\`)

\`sudo bench/scale.sh\` (RUNS=$RUNS) on $(date -u +%Y-%m-%d), source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown).
Medians in ms, timed inside the namespace. "nft -f" loads nft-portfwd's own whole rendering
(of the changed config, over the live table, for the change; in a fresh namespace for the
fresh apply): the floor for a tool that re-renders everything. A change is one forward's
guest port, timed A->B and B->A. The namespace tracks no connections (see the last lines).

| forwards | fresh apply | nft -f (fresh) | ratio | one change | nft -f over the live table | ratio | nft -f of only its elements | no-op | ratio | render alone | flush | ratio | status | nft -j list table | ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
for n in $SIZES; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
        "$(ms "${R[fresh.pf.$n]}")" "$(ms "${R[fresh.nft.$n]}")" "$(ratio "${R[fresh.pf.$n]}" "${R[fresh.nft.$n]}")" \
        "$(ms "${R[change.pf.$n]}")" "$(ms "${R[change.nft.$n]}")" "$(ratio "${R[change.pf.$n]}" "${R[change.nft.$n]}")" \
        "$(ms "${R[elements.nft.$n]}")" \
        "$(ms "${R[noop.pf.$n]}")" "$(ratio "${R[noop.pf.$n]}" "${R[change.nft.$n]}")" "$(ms "${R[render.pf.$n]}")" \
        "$(ms "${R[flush.pf.$n]}")" "$(ratio "${R[flush.pf.$n]}" "${R[change.nft.$n]}")" \
        "$(ms "${R[status.pf.$n]}")" "$(ms "${R[list.nft.$n]}")" "$(ratio "${R[status.pf.$n]}" "${R[list.nft.$n]}")"
done
cat <<EOF

\`add\` or \`remove\` of one forward with the table live (a drop-in written, its elements changed in place): $(for n in $SIZES; do printf '%s forwards %s ms vs one change by apply %s ms (%s); ' "$n" "$(ms "${R[addremove.pf.$n]}")" "$(ms "${R[change.pf.$n]}")" "$(ratio "${R[addremove.pf.$n]}" "${R[change.pf.$n]}")"; done)

Peak RSS of one change (KiB): $(for n in $SIZES; do printf '%s forwards %s vs nft -f %s (%s); ' "$n" "${R[rss.pf.$n]}" "${R[rss.nft.$n]}" "$(ratio "${R[rss.pf.$n]}" "${R[rss.nft.$n]}")"; done)

With $CT_COUNT tracked connection(s) in the namespace, a change among $CT_N forwards takes
$(ms "${R[ctchange]}") ms: apply then deletes the changed mapping's conntrack entries, and the
kernel's conntrack dump walks all $BUCKETS buckets of its hash, however few entries there are.

### Targets

| target | measured | target | |
|---|---|---|---|
EOF
target() {   # TEXT VALUE_US LIMIT_US [BASE_US]
    printf '| %s | %s ms%s | <= %s | %s |\n' "$1" "$(ms "$2")" "${4:+ ($(ratio "$2" "$4") of nft -f)}" "$5" "$(verdict "$2" "$3")"
}
for n in $SIZES; do
    case $n in
        10000)
            target "one change among 10,000" "${R[change.pf.$n]}" 20000 "${R[change.nft.$n]}" "20 ms"
            target "no-op, 10,000 (render alone: $(ms "${R[render.pf.$n]}") ms)" "${R[noop.pf.$n]}" 15000 "" "15 ms"
            target "flush of 10,000" "${R[flush.pf.$n]}" 50000 "" "50 ms" ;;
        100000)
            target "one change among 100,000" "${R[change.pf.$n]}" 40000 "${R[change.nft.$n]}" "40 ms" ;;
    esac
    case $n in
        10000|100000)
            # issue 21: within 0.25x of nft -j list table at 10,000, within 1 s at 100,000
            if [ "$n" = 10000 ]; then
                printf '| status -q, %s, vs nft -j list table | %s | <= 0.25x | %s |\n' "$n" "$(ratio "${R[status.pf.$n]}" "${R[list.nft.$n]}")" \
                    "$(awk -v a="${R[status.pf.$n]}" -v b="${R[list.nft.$n]}" 'BEGIN { print a <= 0.25 * b ? "met" : "**missed**" }')"
            else
                target "status -q of 100,000" "${R[status.pf.$n]}" 1000000 "" "1000 ms"
            fi
            printf '| fresh apply, %s, vs nft -f | %s | <= 1.1x | %s |\n' "$n" "$(ratio "${R[fresh.pf.$n]}" "${R[fresh.nft.$n]}")" \
                "$(awk -v a="${R[fresh.pf.$n]}" -v b="${R[fresh.nft.$n]}" 'BEGIN { print a <= 1.1 * b ? "met" : "**missed**" }')"
            printf '| peak RSS of one change, %s, vs nft -f | %s vs %s KiB | <= 1x | %s |\n' "$n" "${R[rss.pf.$n]}" "${R[rss.nft.$n]}" \
                "$(verdict "${R[rss.pf.$n]}" "${R[rss.nft.$n]}")" ;;
    esac
done
