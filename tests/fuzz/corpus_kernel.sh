#!/bin/bash
# Every seed-corpus config (and rulesets/*.conf) that `nft-portfwd render` accepts is
# rendered and checked by the kernel in a dry run (`nft -c -f`) inside an unprivileged
# user + network namespace (`unshare -rn`): no root, the host's ruleset is never touched.
# As root it uses a plain new network namespace (`unshare -n`) instead: inside an
# unprivileged user namespace nft cannot enlarge its netlink socket buffer
# (SO_SNDBUFFORCE needs CAP_NET_ADMIN in the initial namespace), so a batch of more than
# about 3,000 map elements fails there with "Message too long"; such renderings are
# reported as too large to check, not as failures, when not root.
# Exit 0 pass, 1 fail, 77 skip (no unshare, no nft).
set -u

NFT_PORTFWD=${NFT_PORTFWD:?NFT_PORTFWD must name the built binary}
SOURCE_ROOT=${SOURCE_ROOT:?SOURCE_ROOT must name the source tree}
here="$SOURCE_ROOT/tests/fuzz"

command -v nft >/dev/null || { echo "SKIP: nft not found"; exit 77; }
command -v unshare >/dev/null || { echo "SKIP: unshare not found"; exit 77; }
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
    netns=(unshare -n)
else
    unshare -rn true 2>/dev/null || { echo "SKIP: unshare -rn (unprivileged user namespaces) not available"; exit 77; }
    netns=(unshare -rn)
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf -- "$tmp"' EXIT

# Render every accepted input into one directory; the rejected ones only need a message.
accepted=0 rejected=0 failed=0 n=0
for conf in "$here"/corpus/config/* "$SOURCE_ROOT"/rulesets/*.conf; do
    [ -f "$conf" ] || continue
    n=$((n + 1))
    out="$tmp/$n-$(basename "$conf").nft"
    "$NFT_PORTFWD" render --config "$conf" -o "$out" 2>"$tmp/err"
    rc=$?
    case $rc in
        0) accepted=$((accepted + 1)); echo "$conf" >"$out.src" ;;
        3) rejected=$((rejected + 1)); rm -f "$out"
           [ -s "$tmp/err" ] || { echo "FAIL: $conf rejected without a message"; failed=$((failed + 1)); } ;;
        *) echo "FAIL: render $conf exited $rc: $(cat "$tmp/err")"; failed=$((failed + 1)) ;;
    esac
done

# One namespace for all dry runs: each `nft -c -f` is a separate kernel batch, never committed.
cat >"$tmp/check.sh" <<'SCRIPT'
rc=0 large=0
for f in "$1"/*.nft; do
    if ! nft -c -f "$f" 2>"$f.err"; then
        if [ "$2" = user ] && grep -q 'Message too long' "$f.err"; then
            echo "note: $(cat "$f.src") renders a batch too large for an unprivileged dry run; not checked"
            large=$((large + 1))
            continue
        fi
        echo "FAIL: the kernel rejects the rendering of $(cat "$f.src") in a dry run:"
        sed 's/^/    /' "$f.err" | head -20
        rc=1
    fi
done
exit $rc
SCRIPT
if [ "$accepted" -gt 0 ]; then
    mode=user
    [ "${netns[*]}" = "unshare -n" ] && mode=root
    "${netns[@]}" bash "$tmp/check.sh" "$tmp" "$mode" || failed=$((failed + 1))
fi

echo "corpus: $n configs, $accepted accepted and sent to a dry run (${netns[*]}), $rejected rejected, $failed failures"
[ "$failed" -eq 0 ]
