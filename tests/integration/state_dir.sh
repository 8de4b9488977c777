#!/bin/bash
# A state dir nobody else controls, tried as a local user would attack it:
#  - owned by another user (nobody) or writable by others: apply, flush, status and watch
#    refuse it (exit 4) with how to fix it, and the kernel is unchanged;
#  - a new one is created 0700;
#  - in a root-owned dir, a planted symlink .applied.nft.tmp -> victim and lock -> x: apply
#    neither writes the victim nor creates x;
#  - a stale watch.json whose pid now belongs to another process named nft-portfwd: apply
#    sends it no signal and status does not call it the watcher.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
cat >"$PF_TMP/portfwd.conf" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000
CONF

step "a state dir owned by another user"
evil="$PF_TMP/evil"
mkdir "$evil" && chown 65534:65534 "$evil" && chmod 0755 "$evil" || fail "making a dir owned by nobody"
pf_ruleset_snapshot "$PF_TMP/before"
for cmd in apply flush status; do
    out=$(ip netns exec "$HOST" "$NFT_PORTFWD" --config "$PF_TMP/portfwd.conf" --state-dir "$evil" "$cmd" 2>&1)
    rc=$?
    assert_eq "$rc" 4 "$cmd with a state dir owned by nobody exits 4"
    assert_match "$out" "state directory $evil is owned by another user; .*chown root $evil && chmod 0700 $evil" "$cmd says what is wrong and how to fix it"
done
out=$(ip netns exec "$HOST" timeout 5 "$NFT_PORTFWD" --config "$PF_TMP/portfwd.conf" --state-dir "$evil" watch 2>&1)
assert_eq "$?" 4 "watch with a state dir owned by nobody exits 4"
pf_ruleset_snapshot "$PF_TMP/after"
assert_same_file "$PF_TMP/before" "$PF_TMP/after" "the kernel is unchanged"
[ -e "$evil/lock" ] && fail "a lock was created in the foreign dir"

step "a state dir others can write"
open="$PF_TMP/open"
mkdir "$open" && chmod 0777 "$open" || fail "making a world-writable dir"
out=$(ip netns exec "$HOST" "$NFT_PORTFWD" --config "$PF_TMP/portfwd.conf" --state-dir "$open" apply 2>&1)
assert_eq "$?" 4 "apply with a world-writable state dir exits 4"
assert_match "$out" "is writable by its group or others" "apply names the mode"

step "a new state dir is created 0700"
new="$PF_TMP/new"
pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$new" apply
assert_eq "$(stat -c %a "$new")" 700 "the new state dir is 0700"
assert_eq "$(stat -c %a "$new/applied.nft")" 600 "its records are 0600"
pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$new" flush

step "planted symlinks in a root-owned state dir are not followed"
dir="$PF_TMP/planted"
mkdir -m 0700 "$dir" || fail "mkdir"
echo "precious" >"$PF_TMP/victim"
ln -s "$PF_TMP/victim" "$dir/.applied.nft.tmp"
ln -s "$PF_TMP/created-by-root" "$dir/lock"
out=$(ip netns exec "$HOST" "$NFT_PORTFWD" --config "$PF_TMP/portfwd.conf" --state-dir "$dir" apply 2>&1)
rc=$?
assert_eq "$(cat "$PF_TMP/victim")" precious "the victim file is unchanged"
[ -e "$PF_TMP/created-by-root" ] && fail "root created the file the planted lock symlink points at"
assert_eq "$rc" 6 "apply refuses a lock that is a symlink"
assert_match "$out" "cannot open lock $dir/lock: Too many levels of symbolic links" "apply says the lock is a symlink"
rm -f "$dir/lock"
pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$dir" apply
assert_eq "$(cat "$PF_TMP/victim")" precious "the victim file is still unchanged after a successful apply"
[ -L "$dir/applied.nft" ] && fail "applied.nft is a symlink"
pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$dir" flush

step "a stale watch.json whose pid now belongs to another process named nft-portfwd"
cp /bin/sleep "$PF_TMP/nft-portfwd" || fail "copying sleep"
"$PF_TMP/nft-portfwd" 60 &
impostor=$!
PF_PIDS+=("$impostor")
assert_eq "$(cat "/proc/$impostor/comm")" nft-portfwd "the impostor is named nft-portfwd"
start=$(sed 's/.*) //' "/proc/$impostor/stat" | cut -d' ' -f20)
# the record of a watcher that had this pid before (another start time), and one with none
for record in "\"start\": $((start - 1)), " ""; do
    printf '{"pid": %s, %s"started": 1, "heals": 0, "last_heal": 0, "backing_off": false, "last_heal_what": ""}\n' \
        "$impostor" "$record" >"$dir/watch.json"
    pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$dir" apply
    assert_no_line "$PF_OUT" 'told the watcher' "apply does not take the impostor for the watcher"
    kill -0 "$impostor" 2>/dev/null || fail "apply sent the impostor a signal (it died)"
    pf_run --config "$PF_TMP/portfwd.conf" --state-dir "$dir" status
    assert_line "$PF_OUT" '^  watcher: none running' "status does not take the impostor for the watcher"
done
pf_run_ok --config "$PF_TMP/portfwd.conf" --state-dir "$dir" flush
pf_pass
