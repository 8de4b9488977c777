#!/bin/bash
# Two builds of nft-portfwd on the everyday path, paired: the table of N forwards
# (default 10,000) is live in a namespace of its own (pfp-<pid>), and the NEW and the OLD
# binary take turns (new, old, new, old ...) at (a) a no-op apply and (b) one change among
# the N (one forward's guest moved and back, alternately, so every run changes one forward
# and adds a guest endpoint). Each run is timed from outside, whole process; the ratio is
# taken pair by pair, so a machine that drifts moves both sides. What a refactoring must
# keep within noise (issue 19). Run as root:
#   sudo bench/paired.sh OLD_BINARY NEW_BINARY     # RUNS (default 20), N
set -u
OLD=${1:?usage: paired.sh OLD_BINARY NEW_BINARY}
NEW=${2:?usage: paired.sh OLD_BINARY NEW_BINARY}
RUNS=${RUNS:-20}
N=${N:-10000}
NS=pfp-$$
TMP=$(mktemp -d)
cleanup() {
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || exit 1
python3 - "$TMP" "$N" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
lines = ["host-ip = 203.0.113.1"] + [
    f"forward tcp {10000 + i} to 192.0.2.{10 + i % 200}:{80 + i // 200}" for i in range(n)]
open(f"{tmp}/a.conf", "w").write("\n".join(lines) + "\n")
lines[-1] = f"forward tcp {10000 + n - 1} to 192.0.2.9:9"
open(f"{tmp}/b.conf", "w").write("\n".join(lines) + "\n")
PY
ip netns exec "$NS" "$NEW" --config "$TMP/a.conf" --state-dir "$TMP/state" apply -q || exit 1
python3 - "$NS" "$OLD" "$NEW" "$TMP" "$RUNS" <<'PY'
import statistics, subprocess, sys, time
ns, old, new, tmp, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
live = ["a"]

def run(binary, change):
    if change:
        live[0] = "b" if live[0] == "a" else "a"
    cmd = ["ip", "netns", "exec", ns, binary, "--config", f"{tmp}/{live[0]}.conf",
           "--state-dir", f"{tmp}/state", "apply", "-q"]
    start = time.monotonic()
    subprocess.run(cmd, check=True)
    return time.monotonic() - start

print("| case | new: median ms | old: median ms | new/old, pairwise: min / median / max |")
print("|---|---|---|---|")
for name, change in (("no-op apply", False), ("one change among the forwards", True)):
    run(new, change), run(old, change)  # warm-up pair
    pairs = [(run(new, change), run(old, change)) for _ in range(runs)]
    ratios = sorted(a / b for a, b in pairs)
    print(f"| {name} | {statistics.median(a for a, _ in pairs) * 1000:.1f} | "
          f"{statistics.median(b for _, b in pairs) * 1000:.1f} | "
          f"{ratios[0]:.2f} / {statistics.median(ratios):.2f} / {ratios[-1]:.2f} |")
PY
