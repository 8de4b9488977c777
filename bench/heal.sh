#!/bin/bash
# Heal latency of nft-portfwd.service under a real systemd with real libvirtd, ufw and
# firewalld: runs tests/system/live_systemd.sh RUNS times (default 5) and reports, per
# event, median and maximum of (a) the outage the watcher logs, from the first change by
# another program to its heal committed, and (b) the time from the event's command
# returning to the client reaching the guest again over TCP and UDP (probes every 0.1 s).
# The baseline for (b) is the same probe with no event (everything in place), in each run.
# Run as root after meson compile -C build; prints a Markdown table for RESULTS.md.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/bench/system_runs.sh"
system_runs live_systemd LIVE_LATENCY_OUT
python3 - "$TMP" "$RUNS" <<'PY'
import collections, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
reach, out = collections.OrderedDict(), collections.OrderedDict()
for i in range(1, runs + 1):
    for line in open(f"{tmp}/run{i}"):
        event, r, o = line.strip().split("|")
        reach.setdefault(event, []).append(int(r))
        out.setdefault(event, []).append(int(o))
base = statistics.median(reach.pop("baseline (no event: the probes alone)"))
out.pop("baseline (no event: the probes alone)")
print(f"| event | outage the watcher logged: median / max ms | client reaches the guest: median / max ms | reach median / baseline ({base:.0f} ms) |")
print("|---|---|---|---|")
for event in reach:
    o, r = out[event], reach[event]
    print(f"| {event} | {statistics.median(o):.0f} / {max(o)} | {statistics.median(r):.0f} / {max(r)} | {statistics.median(r) / base:.1f}x |")
PY
