#!/bin/bash
# The command line without privileges: dispatch, help, option placement, exit codes and
# the messages for bad input given through a file.
set -u
bin=${NFT_PORTFWD:?} rulesets=${SOURCE_ROOT:?}/rulesets
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
empty=$tmp/empty.conf # a config of no lines, for forwards given by flags
: >"$empty"

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
for cmd in render check apply flush status diagnose watch reapply; do
	grep -q "^  $cmd " "$tmp/out" || { echo "FAIL help lists $cmd"; failed=$((failed + 1)); }
done
for cmd in render check apply flush status diagnose watch reapply; do
	check "$cmd --help" 0 "" -- "$bin" "$cmd" --help
	grep -q "^Usage: nft-portfwd $cmd" "$tmp/out" || { echo "FAIL $cmd --help usage line"; failed=$((failed + 1)); }
done
check "version" 0 "" -- "$bin" --version
grep -qx "nft-portfwd [0-9.]*" "$tmp/out" || { echo "FAIL version line: $(cat "$tmp/out")"; failed=$((failed + 1)); }
check "no command" 2 "Usage: nft-portfwd" -- "$bin"
check "unknown command" 2 "unknown command 'aply'" -- "$bin" aply
check "unknown command lists the commands" 2 "commands are render, check, apply, flush, status, diagnose, watch, reapply, add, remove, list and metrics" \
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
check "seed as flags" 0 "" -- "$bin" render --config "$empty" --public-ip 116.6.197.242 \
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
	"$bin" render --config "$empty" --host-ip 192.0.2.1 --host-ip 192.0.2.2
check "bad flag" 3 "command line: --vm-port: 'x' is not a port" -- \
	"$bin" render --config "$empty" --host-port 80 --vm-ip 192.0.2.10 --vm-port x
check "render unwritable -o" 6 "cannot write $tmp/no/such/dir.nft" -- \
	"$bin" render --config "$rulesets/seed.conf" -o "$tmp/no/such/dir.nft"

# Files that are not config files, and options given twice (issue: bounded input)
mkfifo "$tmp/fifo"
check "a FIFO as config" 3 "cannot read config $tmp/fifo: it is a FIFO; the config must be a regular file" \
	-- timeout 5 "$bin" render --config "$tmp/fifo"
check "a device as config" 3 "cannot read config /dev/zero: it is a character device" -- timeout 5 "$bin" render --config /dev/zero
check "/dev/null as config" 3 "cannot read config /dev/null: it is a character device" -- "$bin" render --config /dev/null
check "a directory as config" 3 "cannot read config $tmp: it is a directory" -- "$bin" render --config "$tmp"
truncate -s 1G "$tmp/sparse.conf"
check "a 1 GiB file" 3 "is 1073741824 bytes, more than the limit of 16 MiB" -- timeout 5 "$bin" render --config "$tmp/sparse.conf"
rm -f "$tmp/sparse.conf"
printf '\xef\xbb\xbfforward tcp 80 to 192.0.2.10\n' >"$tmp/bom.conf"
check "a byte order mark is skipped" 0 "" -- "$bin" render --config "$tmp/bom.conf"
check "--config twice" 2 "option --config given twice" -- "$bin" render --config "$empty" --config "$empty"
check "--state-dir twice" 2 "option --state-dir given twice" -- "$bin" status --state-dir /tmp --state-dir /tmp
check "--vm-ip with brackets" 0 "" -- "$bin" render --config "$empty" --host-port 80 --vm-ip '[2001:db8::1]'
grep -q 'tcp . 80 : 2001:db8::1 . 80' "$tmp/out" || { echo "FAIL --vm-ip with brackets renders the IPv6 guest"; failed=$((failed + 1)); }
printf 'forward tcp,udp 1-65535 to 192.0.2.10 from 198.51.100.0/28, 198.51.100.16/28, 198.51.100.32/28, 198.51.100.48/28\n' >"$tmp/huge.conf"
check "too many elements" 3 "huge.conf:1: forward: expands into 524280 map elements" -- timeout 10 "$bin" render --config "$tmp/huge.conf"
python3 -c '
import ipaddress
nets = ", ".join(str(n) for n in list(ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=24))[:60000])
print("forward tcp 22 to 192.0.2.10 from " + nets)' >"$tmp/many.conf"
start=$(date +%s%N)
check "60,000 networks" 0 "" -- timeout 10 "$bin" render --config "$tmp/many.conf"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 2000 ] || { echo "FAIL 60,000 networks took $ms ms (the overlap check must be n log n)"; failed=$((failed + 1)); }
python3 -c '
import ipaddress
nets = ", ".join(str(n) for n in list(ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=24))[:60000])
print("forward tcp 22 to 192.0.2.10 from " + nets + ", 10.0.5.128/25")' >"$tmp/overlap.conf"
check "an overlap among 60,000 networks" 3 "'10.0.5.128/25' overlaps another network in the list" -- timeout 10 "$bin" render --config "$tmp/overlap.conf"

if [ "$(id -u)" = 0 ]; then
	printf 'forward tcp 80 to 192.0.2.10\n' >"$tmp/open.conf"
	chmod 0666 "$tmp/open.conf"
	check "a config others can write" 0 "warning: config $tmp/open.conf is writable by its group or others" \
		-- "$bin" render --config "$tmp/open.conf"
	chown 65534 "$tmp/open.conf" && chmod 0644 "$tmp/open.conf"
	check "a config another user owns" 0 "is writable by a user other than root" -- "$bin" render --config "$tmp/open.conf"
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
