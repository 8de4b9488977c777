#!/bin/bash
# The analysis of other firewalls' chains at hypervisor scale; run as root from the source
# tree after meson compile -C build. In a namespace of its own (pfa-<pid>), it loads an
# iptables-nft FORWARD chain (policy drop, as Docker and ufw leave it) holding RULES
# Docker-like rules `-i br-N -o vnetN -j ACCEPT` (2 x RULES distinct interface names),
# writes FORWARDS forwards to guests in 192.0.2.0/24, and times:
#   - foreign_analyse alone on that listing (build/bench/analyse-bench), and on the same
#     listing without the rules (the baseline: the same forwards, one empty chain);
#   - `nft-portfwd check` end to end, with the rules and without them.
# Prints one Markdown table row per case, then a table of the hostile rulesets of
# bench/hostile.py (HOSTILE_CASES, "KIND:N ..."). Nothing touches the main namespace.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NFT_PORTFWD=${NFT_PORTFWD:-$ROOT/build/nft-portfwd}
BENCH=${BENCH:-$ROOT/build/bench/analyse-bench}
CASES=${CASES:-"50:10 100:10 200:10 500:100"}   # RULES:FORWARDS
RUNS=${RUNS:-7}
NS="pfa-$$"
TMP=$(mktemp -d)
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$TMP"' EXIT
[ "$(id -u)" = 0 ] || { echo "analysis.sh: run as root" >&2; exit 1; }
[ -x "$BENCH" ] && [ -x "$NFT_PORTFWD" ] || { echo "analysis.sh: build first (meson compile -C build)" >&2; exit 1; }

median_check() {   # CONFIG: median wall ms of RUNS `check` runs
    local i t0 t1 all=()
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        ip netns exec "$NS" "$NFT_PORTFWD" --config "$1" check --state-dir "$TMP/state" >/dev/null 2>&1
        t1=$(date +%s%N)
        all+=($(( (t1 - t0) / 1000 )))
    done
    printf '%s\n' "${all[@]}" | sort -n | sed -n "$(( RUNS / 2 + 1 ))p" | awk '{ printf "%.1f", $1 / 1000 }'
}

fresh_ns() { ip netns del "$NS" 2>/dev/null; ip netns add "$NS" || exit 1; }

echo "| rules (interface names) | forwards | analysis alone: baseline -> with rules (ratio) | check end to end: baseline -> with rules |"
echo "|---|---|---|---|"
for c in $CASES; do
    rules=${c%%:*} forwards=${c##*:}
    fresh_ns
    : >"$TMP/conf"
    for ((i = 0; i < forwards; i++)); do
        echo "forward tcp $((20000 + i)) to 192.0.2.$((10 + i % 200)):$((8000 + i))" >>"$TMP/conf"
    done
    printf '*filter\n:FORWARD DROP [0:0]\nCOMMIT\n' | ip netns exec "$NS" iptables-restore
    ip netns exec "$NS" nft -j -a list ruleset >"$TMP/base.json"
    base=$("$BENCH" "$TMP/base.json" "$TMP/conf" "$RUNS" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    base_check=$(median_check "$TMP/conf")
    {
        echo "*filter"
        for ((i = 0; i < rules; i++)); do echo "-A FORWARD -i br-$i -o vnet$i -j ACCEPT"; done
        echo "COMMIT"
    } | ip netns exec "$NS" iptables-restore -n
    ip netns exec "$NS" nft -j -a list ruleset >"$TMP/rules.json"
    with=$("$BENCH" "$TMP/rules.json" "$TMP/conf" "$RUNS" | tee "$TMP/out" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    with_check=$(median_check "$TMP/conf")
    ratio=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
    echo "| $rules ($((2 * rules))) | $forwards | $base ms -> $with ms (${ratio}x) | $base_check ms -> $with_check ms |"
    grep '^block:' "$TMP/out" >&2
done

# Hostile rulesets (bench/hostile.py): each loaded with `nft -f` into an empty namespace
# and timed there (the load), then the analysis alone (six forwards) and `check` end to end
# against it. The target: whatever `nft -f` loads in under a second is analysed in under a
# second, decided or named as not analysed.
HOSTILE_CASES=${HOSTILE_CASES:-"ladder:8 ladder:1000 ladder:5000 chains:1000 chains:5000 vmap:100000 ifvmap:5000 ifrules:2000 ifrules:10000"}
cat >"$TMP/six.conf" <<'CONF'
forward tcp 8080 to 192.0.2.79:22
forward udp 5353 to 192.0.2.79:53
forward tcp 2222 to 192.0.2.10:22
forward tcp 3000-3002 to 192.0.2.20:3000-3002
forward tcp 8443 to [2001:db8::79]:443
forward tcp 9000 to 198.51.100.5:9000
CONF
echo
echo "| ruleset | rules | nft -f load | analysis alone (6 forwards) | check end to end | decided |"
echo "|---|---|---|---|---|---|"
for c in $HOSTILE_CASES; do
    kind=${c%%:*} n=${c##*:}
    fresh_ns
    python3 "$ROOT/bench/hostile.py" "$kind" "$n" >"$TMP/h.nft"
    t0=$(date +%s%N)
    ip netns exec "$NS" nft -f "$TMP/h.nft" || { echo "| $kind $n | load failed |"; continue; }
    load=$(( ($(date +%s%N) - t0) / 1000000 ))
    ip netns exec "$NS" nft -j -a list ruleset >"$TMP/h.json"
    rules=$(grep -o '"rule":' "$TMP/h.json" | wc -l)
    alone=$("$BENCH" "$TMP/h.json" "$TMP/six.conf" "$RUNS" | tee "$TMP/out" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
    decided=$(grep -q '^not analysed' "$TMP/out" && echo "no: named as not analysed" || echo yes)
    echo "| $kind $n | $rules | $load ms | $alone ms | $(median_check "$TMP/six.conf") ms | $decided |"
done
