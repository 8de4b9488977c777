#!/bin/bash
# Forwards to real VMs by name: the time from a guest's lease to the first connection
# through its forward while nft-portfwd.service follows libvirt, over RUNS (default 3) runs
# of tests/system/real_vm.sh (real QEMU guests under Debian's libvirtd in a container).
# Each run times two events: web started again (its old lease), and web with a new MAC (a
# new address). "Lease" is when the guest's console says it has the address libvirt's
# lease names (polled every 0.2 s); the probe through the forward is tried every 0.1 s.
# Run as root after meson compile -C build; prints a Markdown table for RESULTS.md.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
. "$ROOT/bench/system_runs.sh"
system_runs real_vm VM_LATENCY_OUT
python3 - "$TMP" "$RUNS" <<'PY'
import statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
events = ("web started again (its lease)", "web with a new MAC (a new address)")
samples = {e: [] for e in events}
for i in range(1, runs + 1):
    lines = [l.strip().split("|") for l in open(f"{tmp}/run{i}") if l.strip()]
    for event, (_, ms) in zip(events, lines):
        samples[event].append(int(ms))
print("| event | lease to the first connection through the forward: median / max ms | runs |")
print("|---|---|---|")
for e in events:
    s = samples[e]
    print(f"| {e} | {statistics.median(s):.0f} / {max(s)} | {len(s)} |")
PY
