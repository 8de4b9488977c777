#!/bin/bash
# What bench/heal.sh and bench/vm.sh share: system_runs TEST VAR runs
# tests/system/TEST.sh RUNS times (default the caller's), each with the environment
# variable VAR naming the file it writes its figures to, $TMP/runN; a failed run prints
# its log's end and exits 1.
system_runs() {
    local test=$1 var=$2 i
    for ((i = 1; i <= RUNS; i++)); do
        env "$var=$TMP/run$i" SOURCE_ROOT="$ROOT" BUILD_ROOT="${BUILD_ROOT:-$ROOT/build}" \
            bash "$ROOT/tests/system/$test.sh" >"$TMP/log$i" 2>&1 ||
            { tail -n 20 "$TMP/log$i" >&2; echo "${0##*/}: run $i failed" >&2; exit 1; }
        echo "${0##*/}: run $i of $RUNS done" >&2
    done
}
