#!/bin/bash
# Run the libFuzzer targets for SECONDS each (default 180), in parallel, on copies of the
# seed corpus; new crashes land in BUILDDIR/fuzz-artifacts/ (copy each into regressions/ and
# report it). Builds BUILDDIR (default build-fuzz) with clang and -Dfuzz=true if needed.
#   tests/fuzz/run.sh [SECONDS] [BUILDDIR]
set -eu
secs=${1:-180}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$root/build-fuzz}
here="$root/tests/fuzz"

[ -f "$build/build.ninja" ] || CC=clang meson setup "$build" "$root" -Dfuzz=true
meson compile -C "$build" tests/fuzz/fuzz_config tests/fuzz/fuzz_render tests/fuzz/fuzz_foreign >/dev/null

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
art="$build/fuzz-artifacts"
mkdir -p "$art"
pids=()
for t in fuzz_config fuzz_render fuzz_foreign; do
    mkdir -p "$work/$t"
    if [ "$t" = fuzz_foreign ]; then
        cp "$here"/corpus/foreign/* "$root"/tests/unit/fixtures/*.json "$work/$t/"
        dict=()
    else
        cp "$here"/corpus/config/* "$work/$t/"
        dict=(-dict="$here/config.dict")
    fi
    "$build/tests/fuzz/$t" -max_total_time="$secs" "${dict[@]}" \
        -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$art/$t-" "$work/$t" "$here/regressions" \
        >"$work/$t.log" 2>&1 &
    pids+=($!)
done
rc=0
for i in 0 1 2; do wait "${pids[$i]}" || rc=1; done
for t in fuzz_config fuzz_render fuzz_foreign; do
    echo "== $t"
    grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|^#[0-9]+ *DONE|ERROR|SUMMARY' "$work/$t.log" || true
    echo "corpus: $(ls "$work/$t" | wc -l) inputs"
done
ls "$art" 2>/dev/null | sed 's/^/artifact: /'
exit $rc
