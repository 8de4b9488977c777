#!/bin/bash
# One libFuzzer target for SECONDS on a copy of its seed corpus, with the crash regressions
# replayed first (libFuzzer runs every input of every corpus directory before fuzzing).
# A crash, leak or sanitizer report fails it; the input is kept in ARTIFACTS.
#   fuzz_one.sh BINARY SECONDS ARTIFACTS CORPUS_DIR... [-dict=FILE]
set -u
bin=$1 secs=$2 art=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
dirs=() opts=()
for a in "$@"; do
    case $a in
        -*) opts+=("$a") ;;
        *) dirs+=("$a") ;;
    esac
done
cp "${dirs[0]}"/* "$work/" || exit 1
mkdir -p "$art"
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$art/$(basename "$bin")-" "${opts[@]}" "$work" "${dirs[@]:1}" >"$work.log" 2>&1
rc=$?
grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|^#[0-9]+ *DONE|ERROR|SUMMARY' "$work.log"
[ "$rc" -eq 0 ] || tail -n 40 "$work.log"
rm -f "$work.log"
exit "$rc"
