#!/bin/bash
# Every rulesets/NAME.conf renders to exactly rulesets/NAME.nft, byte for byte.
# With --update, rewrite the .nft files instead (review the diff before committing).
# They are rendered as on a host whose forwarding is off, where apply turns it on and the
# default routing = auto adds chain routing: --routing forwards, unless a config sets it.
set -u
bin=${NFT_PORTFWD:?} dir=${SOURCE_ROOT:?}/rulesets
out=$(mktemp) || exit 1
# a state dir of its own: this host's flags record is not the shipped examples'
state=$(mktemp -d) || exit 1
trap 'rm -f "$out"; rm -rf "$state"' EXIT
passed=0 failed=0
for conf in "$dir"/*.conf; do
	golden=${conf%.conf}.nft
	routing=(--routing forwards)
	grep -Eq '^[[:space:]]*routing[[:space:]]*=' "$conf" && routing=()
	if [ "${1:-}" = --update ]; then
		"$bin" render --config "$conf" --state-dir "$state" "${routing[@]}" -o "$golden" || exit 1
		echo "updated $golden"
		continue
	fi
	if ! "$bin" render --config "$conf" --state-dir "$state" "${routing[@]}" >"$out"; then
		echo "FAIL $conf: render exited non-zero"
		failed=$((failed + 1))
	elif ! cmp -s "$out" "$golden"; then
		echo "FAIL $conf: rendering differs from $golden:"
		diff -u "$golden" "$out" | head -40
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] || [ "${1:-}" = --update ]
