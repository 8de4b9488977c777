#!/bin/bash
# The command line without privileges: dispatch, help, option placement, exit codes and
# the messages for bad input given through a file.
set -u
bin=${NFT_PORTFWD:?} rulesets=${SOURCE_ROOT:?}/rulesets
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# check NAME WANT_RC WANT_STDERR_SUBSTRING -- COMMAND...
check() {
	local name=$1 want_rc=$2 want_err=$3 rc
	shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc; stderr: $(cat "$tmp/err")"
		failed=$((failed + 1))
	elif [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$tmp/err"; then
		echo "FAIL $name: stderr lacks '$want_err': $(cat "$tmp/err")"
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

check "help" 0 "" -- "$bin" --help
for cmd in render check apply flush status diagnose; do
	grep -q "^  $cmd " "$tmp/out" || { echo "FAIL help lists $cmd"; failed=$((failed + 1)); }
done
for cmd in render check apply flush status diagnose; do
	check "$cmd --help" 0 "" -- "$bin" "$cmd" --help
	grep -q "^Usage: nft-portfwd $cmd" "$tmp/out" || { echo "FAIL $cmd --help usage line"; failed=$((failed + 1)); }
done
check "version" 0 "" -- "$bin" --version
grep -qx "nft-portfwd [0-9.]*" "$tmp/out" || { echo "FAIL version line: $(cat "$tmp/out")"; failed=$((failed + 1)); }
check "no command" 2 "Usage: nft-portfwd" -- "$bin"
check "unknown command" 2 "unknown command 'aply'" -- "$bin" aply
check "unknown command lists the commands" 2 "commands are render, check, apply, flush, status, diagnose and watch" \
	-- "$bin" aply
check "unknown option" 2 "unknown option '--frobnicate'" -- "$bin" render --frobnicate
check "option needs value" 2 "option --config needs a value" -- "$bin" render --config
check "extra argument" 2 "unexpected argument 'now'" -- "$bin" apply now
check "option not for command" 2 "option --host-port does not apply to 'flush'" -- \
	"$bin" flush --host-port 80
check "output not for apply" 2 "option --output does not apply to 'apply'" -- \
	"$bin" apply -o x.nft --config "$rulesets/seed.conf"
check "json not for render" 2 "option --json does not apply to 'render'" -- \
	"$bin" render --json --config "$rulesets/seed.conf"
check "forward flags not for status" 2 "option --host-port does not apply to 'status'" -- \
	"$bin" status --host-port 80 --config "$rulesets/seed.conf"

# status reads nftables: without CAP_NET_ADMIN (dropped when running as root), exit 4 and
# no half-written JSON on stdout.
no_net_admin=()
if [ "$(id -u)" -eq 0 ]; then
	no_net_admin=(setpriv --inh-caps=-net_admin --ambient-caps=-net_admin --bounding-set=-net_admin)
	command -v setpriv >/dev/null || no_net_admin=()
fi
if [ "$(id -u)" -ne 0 ] || [ ${#no_net_admin[@]} -gt 0 ]; then
	check "status without CAP_NET_ADMIN" 4 "needs CAP_NET_ADMIN" -- \
		"${no_net_admin[@]}" "$bin" status --json --config "$rulesets/seed.conf"
	[ -s "$tmp/out" ] && { echo "FAIL status without CAP_NET_ADMIN wrote stdout"; failed=$((failed + 1)); }
fi
check "status with a bad config" 3 "$tmp/nope.conf: No such file or directory" -- \
	"$bin" status --json --config "$tmp/nope.conf"

# Options may stand before or after the command, with the same result.
check "config before" 0 "" -- "$bin" --config "$rulesets/seed.conf" render
cp "$tmp/out" "$tmp/before"
check "config after" 0 "" -- "$bin" render --config "$rulesets/seed.conf"
cmp -s "$tmp/out" "$tmp/before" || { echo "FAIL option placement changes the rendering"; failed=$((failed + 1)); }
check "render -o" 0 "" -- "$bin" render -c "$rulesets/seed.conf" -o "$tmp/seed.nft"
cmp -s "$tmp/seed.nft" "$tmp/before" || { echo "FAIL render -o differs from stdout"; failed=$((failed + 1)); }
[ -s "$tmp/out" ] && { echo "FAIL render -o also wrote stdout"; failed=$((failed + 1)); }

# The flags describe the seed's forward as its scripts' variables did.
check "seed as flags" 0 "" -- "$bin" render --config /dev/null --public-ip 116.6.197.242 \
	--host-ip 192.168.0.205 --host-port 16589 --host-iface ens2f1 \
	--vm-ip 192.168.122.79 --vm-port 16589
cmp -s "$tmp/out" "$tmp/before" || { echo "FAIL flags render differently from seed.conf"; failed=$((failed + 1)); }

# Bad input in a file: file:line: field, exit 3, nothing on stdout.
printf 'host-ip = 192.0.2.1\nforward tcp 80 to 192.0.2.10\nforward tcp 70000 to 192.0.2.10\n' >"$tmp/bad.conf"
check "bad port in file" 3 "$tmp/bad.conf:3: forward host port: '70000' is out of range" -- \
	"$bin" render --config "$tmp/bad.conf"
[ -s "$tmp/out" ] && { echo "FAIL bad config still rendered"; failed=$((failed + 1)); }
check "missing config" 3 "cannot read config $tmp/nope.conf: No such file or directory" -- \
	"$bin" render --config "$tmp/nope.conf"
printf 'host-ip = 192.0.2.1\nforward tcp 80 to 192.0.2.10\n' >"$tmp/good.conf"
check "flag overrides file setting" 0 "" -- "$bin" render --config "$tmp/good.conf" --host-ip 198.51.100.1
grep -q '198.51.100.1,' "$tmp/out" && ! grep -q '192.0.2.1,' "$tmp/out" ||
	{ echo "FAIL --host-ip did not replace the file's host-ip"; failed=$((failed + 1)); }
check "flag twice" 2 "option --host-ip given twice" -- \
	"$bin" render --config /dev/null --host-ip 192.0.2.1 --host-ip 192.0.2.2
check "bad flag" 3 "command line: --vm-port: 'x' is not a port" -- \
	"$bin" render --config /dev/null --host-port 80 --vm-ip 192.0.2.10 --vm-port x
check "render unwritable -o" 6 "cannot write $tmp/no/such/dir.nft" -- \
	"$bin" render --config "$rulesets/seed.conf" -o "$tmp/no/such/dir.nft"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
