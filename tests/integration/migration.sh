#!/bin/bash
# docs/migration.md, run as written: every ```sh block in order, in the host namespace,
# and after each block the checks in the <!-- check: ... --> comments that follow it:
#   output REGEX             a line of the block's output (stdout and stderr) matches
#   reaches PROTO ADDR PORT  the client's connection there is answered by the guest
#   no-reply PROTO ADDR PORT nothing answers it
# The host's client-side interface is called ens2f1, as on the old README's host. What the
# page keeps under /etc and /run lives in this test's scratch directory: paths are
# rewritten, and `nft-portfwd` is the built binary with --config-dir and --state-dir
# there (and --config once the page has written one). `sudo` runs its command.
. "$(dirname "$0")/lib.sh"
pf_find_binary
[ -e /etc/nft-portfwd.conf ] && pf_skip "/etc/nft-portfwd.conf exists on this machine; the page's commands would read it"
pf_setup

doc="$SOURCE_ROOT/docs/migration.md"
[ -r "$doc" ] || fail "cannot read $doc"
ETC="$PF_TMP/etc"
mkdir -p "$ETC/nft-portfwd.d"
ip -n "$HOST" link set "$HOST_IF_C" down && ip -n "$HOST" link set "$HOST_IF_C" name ens2f1 &&
    ip -n "$HOST" link set ens2f1 up || fail "renaming the host's client-side interface to ens2f1"
ip -n "$HOST" route replace 203.0.113.0/24 dev ens2f1 src "$HOST_IP" 2>/dev/null
pf_serve "$GUEST" tcp 0.0.0.0 16589 guest
pf_serve "$GUEST" tcp 0.0.0.0 80 guest

# The blocks and their checks, one file each: block.N and checks.N.
"$PF_PYTHON" - "$doc" "$PF_TMP" <<'PY' || fail "extracting the page's blocks"
import re, sys
text = open(sys.argv[1]).read()
n = 0
for m in re.finditer(r"^```sh\n(.*?)^```\n((?:<!-- check: [^\n]* -->\n)*)", text, re.S | re.M):
    n += 1
    open(f"{sys.argv[2]}/block.{n}", "w").write(m.group(1))
    checks = re.findall(r"<!-- check: (.*) -->", m.group(2))
    open(f"{sys.argv[2]}/checks.{n}", "w").write("".join(c + "\n" for c in checks))
print(n)
PY
blocks=$(ls "$PF_TMP"/block.* | wc -l)
[ "$blocks" -ge 8 ] || fail "the page has $blocks sh blocks; expected the whole path (8 or more)"

prelude=$(cat <<PRE
set -e
sudo() { "\$@"; }
nft-portfwd() {
    local config=()
    [ -e "$ETC/nft-portfwd.conf" ] && config=(--config "$ETC/nft-portfwd.conf")
    "$NFT_PORTFWD" "\${config[@]}" --config-dir "$ETC/nft-portfwd.d" --state-dir "$PF_STATE" "\$@"
}
PRE
)
# the page's paths, in this test's scratch directory
relocate() { sed -e "s|/etc/nft-portfwd|$ETC/nft-portfwd|g" -e "s|/run/nft-portfwd|$PF_STATE|g"; }
relocate_regex() { sed -e "s|/etc/nft-portfwd|${ETC//./\\.}/nft-portfwd|g" -e "s|/run/nft-portfwd|${PF_STATE//./\\.}|g"; }

for ((i = 1; i <= blocks; i++)); do
    step "block $i: $(head -1 "$PF_TMP/block.$i")"
    { printf '%s\n' "$prelude"; relocate <"$PF_TMP/block.$i"; } >"$PF_TMP/run.$i.sh"
    ip netns exec "$HOST" timeout 60 bash "$PF_TMP/run.$i.sh" >"$PF_TMP/out.$i" 2>&1
    rc=$?
    sed "s/^/[$PF_TEST]   | /" "$PF_TMP/out.$i"
    [ "$rc" -eq 0 ] || fail "block $i exited $rc"
    while read -r kind rest; do
        case "$kind" in
            output)
                regex=$(printf '%s' "$rest" | relocate_regex)
                grep -Eq -- "$regex" "$PF_TMP/out.$i" || fail "block $i: no line matches /$regex/"
                pf_log "ok: block $i prints /$rest/" ;;
            reaches)
                read -r proto addr port <<<"$rest"
                assert_reaches "$CLIENT" "$proto" "$addr" "$port" guest "block $i: $proto $addr:$port reaches the guest" ;;
            no-reply)
                read -r proto addr port <<<"$rest"
                assert_no_reply "$CLIENT" "$proto" "$addr" "$port" "block $i: nothing answers $proto $addr:$port" ;;
            *) fail "block $i: unknown check '$kind $rest'" ;;
        esac
    done <"$PF_TMP/checks.$i"
done

pf_run --config "$ETC/nft-portfwd.conf" --config-dir "$ETC/nft-portfwd.d" flush >/dev/null
pf_pass
