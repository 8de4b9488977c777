#!/bin/bash
# The sample alerts (dist/prometheus/nft-portfwd-alerts.yml) are valid Prometheus rules
# that fire when a forward has not been live for 5 minutes, and not before
# (promtool check rules, promtool test rules with alert_rules.test.yml); docs/metrics.md
# shows that file as it is. Skipped (77) without promtool (Debian's prometheus).
set -u
root=${SOURCE_ROOT:?}
rules=$root/dist/prometheus/nft-portfwd-alerts.yml
fail() { echo "FAIL: $*"; exit 1; }

# docs/metrics.md's yaml block is the file, without the file's leading comment
doc=$(sed -n '/^```yaml$/,/^```$/p' "$root/docs/metrics.md" | sed '1d;$d')
[ "$doc" = "$(grep -v '^#' "$rules")" ] || fail "docs/metrics.md's sample alerts differ from $rules"
echo "ok: docs/metrics.md shows the sample alerts as shipped"

command -v promtool >/dev/null || { echo "SKIP: promtool is not installed (Debian's prometheus)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$rules" "$root/tests/unit/alert_rules.test.yml" "$tmp/"
out=$(promtool check rules "$tmp/nft-portfwd-alerts.yml" 2>&1) || fail "promtool check rules: $out"
echo "ok: promtool check rules: $(echo "$out" | tail -1)"
out=$(cd "$tmp" && promtool test rules alert_rules.test.yml 2>&1) || fail "promtool test rules: $out"
echo "ok: promtool test rules: PortForwardNotLive fires after 5 minutes not live, for that forward only, not for a waiting one"
