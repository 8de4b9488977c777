#!/bin/bash
# How the config checks scale: `nft-portfwd render` (parse, every check, render) of configs
# with 100,000 host-ip addresses (IPv4, then IPv6), 80,000 IPv6 public-ip addresses,
# 100,000 `from` networks on one forward, and 100,000 forwards; the median of RUNS (5)
# runs each, against the render of a one-forward config in the same run (the baseline).
# Target: each under a second. No root needed. Prints Markdown rows for RESULTS.md.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NFT_PORTFWD=${NFT_PORTFWD:-$ROOT/build/nft-portfwd}
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -x "$NFT_PORTFWD" ] || { echo "config_scale.sh: build first (meson compile -C build)" >&2; exit 1; }

python3 - "$TMP" <<'PY'
import ipaddress, sys
d = sys.argv[1]
def write(name, text):
    open('%s/%s.conf' % (d, name), 'w').write(text)
write('one', 'forward tcp 80 to 192.0.2.79\n')
write('host-ip-v4', 'host-ip = ' + ', '.join(str(ipaddress.IPv4Address('198.18.0.0') + i) for i in range(100000))
      + '\nforward tcp 80 to 192.0.2.79\n')
write('host-ip-v6', 'host-ip = ' + ', '.join(str(ipaddress.IPv6Address('2001:db8::') + i) for i in range(100000))
      + '\nforward tcp 80 to [2001:db8:1::79]:80\n')
write('public-ip-v6', 'public-ip = ' + ', '.join(str(ipaddress.IPv6Address('2001:db8::') + i) for i in range(80000))
      + '\nforward tcp 80 to [2001:db8:1::79]:80\n')
write('from', 'forward tcp 80 to 192.0.2.79 from ' +
      ', '.join('10.%d.%d.%d/30' % (i >> 14, (i >> 6) & 255, (i & 63) << 2) for i in range(100000)) + '\n')
write('forwards', ''.join('forward %s %d to 192.0.2.%d:80\n' % ('tcp' if i < 65535 else 'udp', i % 65535 + 1, i % 250 + 1)
                          for i in range(100000)))
PY

median_ms() {   # CONFIG
    local i t0 all=()
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        "$NFT_PORTFWD" render --config "$1" >/dev/null || { echo "render of $1 failed" >&2; exit 1; }
        all+=($(( ($(date +%s%N) - t0) / 1000 )))
    done
    printf '%s\n' "${all[@]}" | sort -n | sed -n "$(( RUNS / 2 + 1 ))p" | awk '{ printf "%.1f", $1 / 1000 }'
}

base=$(median_ms "$TMP/one.conf")
echo "| config | render (median of $RUNS) | one forward, same run | under 1 s |"
echo "|---|---|---|---|"
for c in host-ip-v4 host-ip-v6 public-ip-v6 from forwards; do
    ms=$(median_ms "$TMP/$c.conf")
    ok=$(awk -v m="$ms" 'BEGIN { print (m < 1000 ? "yes" : "no") }')
    echo "| $c | $ms ms | $base ms | $ok |"
done
