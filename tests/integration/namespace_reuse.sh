#!/bin/bash
# A state dir that outlives its network namespace: apply in a namespace, delete it, make a
# new one that gets the same inode number (the kernel hands it out again) and the same
# ruleset generation count. The record of the last apply must not vouch for the new
# namespace: apply there reads the kernel, finds no table and creates it (it used to print
# "unchanged" and exit 0, again and again, with no table at all).
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

NS="$PF_TAG-reuse"
CFG="$PF_TMP/portfwd.conf"
STATE="$PF_TMP/reuse-state"
printf 'forward tcp 8080 to 192.0.2.79:80\n' >"$CFG"
in_ns() { ip netns exec "$NS" "$@"; }

step "apply in a namespace of its own"
pf_add_ns "$NS"
in_ns "$NFT_PORTFWD" --config "$CFG" --state-dir "$STATE" apply >/dev/null || fail "the first apply"
in_ns nft list table inet portfwd >/dev/null || fail "no table after the first apply"
gen=$(cut -d' ' -f1 "$STATE/applied.gen") || fail "no generation recorded"
ino=$(stat -L -c %i "/run/netns/$NS")
pf_log "recorded generation $gen in the namespace with inode $ino"

step "the namespace goes; a new one gets the same inode"
reused=""
for _ in $(seq 20); do
    ip netns del "$NS" || fail "deleting $NS"
    sleep 0.5
    ip netns add "$NS" || fail "adding $NS"
    [ "$(stat -L -c %i "/run/netns/$NS")" = "$ino" ] && { reused=yes; break; }
done
[ -n "$reused" ] || pf_log "note: the kernel did not hand out inode $ino again; the test still runs"
# the same generation as the old namespace had: a new one starts at 1, apply made one more
for ((i = 1; i < gen; i++)); do
    in_ns nft add table ip "filler$i" || fail "transaction $i in the new namespace"
done
in_ns nft list table inet portfwd >/dev/null 2>&1 && fail "the new namespace has a table already"

step "apply there reads the kernel and creates the table"
out=$(in_ns "$NFT_PORTFWD" --config "$CFG" --state-dir "$STATE" apply 2>&1) || fail "apply: $out"
assert_line "$out" 'table inet portfwd changed' "apply says it changed the table"
assert_line "$out" 'it was not there' "apply says the table was not there"
in_ns nft list table inet portfwd >/dev/null || fail "no table after apply in the new namespace"
out=$(in_ns "$NFT_PORTFWD" --config "$CFG" --state-dir "$STATE" apply 2>&1) || fail "apply again: $out"
assert_line "$out" 'table inet portfwd unchanged' "a second apply there is a no-op"
pf_pass
