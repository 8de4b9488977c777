#!/bin/bash
# add, remove and list: add writes one forward into the drop-in file nft-portfwd owns
# (DIR/90-added.conf) and applies; remove takes it out again. add then remove leaves the
# config files and the kernel as before. Bad input is refused before any file is written;
# files nft-portfwd did not write are never changed (a forward of another file, a
# 90-added.conf someone else wrote); a directory someone else can write is refused; a
# failed apply puts the file back.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/main.conf"
dir="$PF_TMP/portfwd.d"
mkdir -p "$dir"
printf 'host-ip = %s\nforward udp 5000 to %s\n' "$HOST_IP" "$GUEST_IP" >"$cfg"
printf 'forward tcp 8080 to %s:80 name web\n' "$GUEST_IP" >"$dir/10-web.conf"
args=(--config "$cfg" --config-dir "$dir")
pf_serve "$GUEST" tcp 0.0.0.0 80 web
pf_serve "$GUEST" tcp 0.0.0.0 22 ssh
pf_serve "$GUEST" udp 0.0.0.0 5000 dns
files() { (cd "$PF_TMP" && find main.conf portfwd.d -type f -printf '%p %m\n' -exec cat {} \; | sort); }

pf_run_ok "${args[@]}" apply
files_before=$(files)
kernel_before=$(hnft -s list ruleset)

step "add writes the forward into 90-added.conf and applies it"
pf_run "${args[@]}" add tcp 2222 to "$GUEST_IP:22" name ssh from 203.0.113.0/24
pf_expect_rc 0 "add"
assert_line "$PF_OUT" "^nft-portfwd: added forward tcp 2222 to $GUEST_IP:22 from 203.0.113.0/24 name ssh to $dir/90-added.conf$" "add says what it wrote where"
assert_eq "$(cat "$dir/90-added.conf")" "# Written by 'nft-portfwd add' and 'nft-portfwd remove': change it with them.
forward tcp 2222 to $GUEST_IP:22 from 203.0.113.0/24 name ssh" "the drop-in holds the header and the forward"
assert_eq "$(stat -c %a "$dir/90-added.conf")" 644 "the drop-in is 0644"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 ssh "the added forward works"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "the others still do"
pf_run "${args[@]}" list
pf_expect_rc 0 "list"
assert_line "$PF_OUT" "^NAME +ORIGIN +FORWARD$" "list has a header"
assert_line "$PF_OUT" "^- +$cfg:2 +udp 5000 -> $GUEST_IP:5000$" "list: an unnamed forward of the main file"
assert_line "$PF_OUT" "^web +$dir/10-web.conf:1 +tcp 8080 -> $GUEST_IP:80$" "list: a forward of an admin's drop-in"
assert_line "$PF_OUT" "^ssh +$dir/90-added.conf:2 +tcp 2222 -> $GUEST_IP:22 from 203.0.113.0/24$" "list: the added forward, with name and origin"
pf_run "${args[@]}" list --json
printf '%s' "$PF_OUT" >"$PF_TMP/list.json"
assert_eq "$(pf_json "$PF_TMP/list.json" '[(f["name"], f["config"]) for f in d["forwards"]]')" \
    "[[null, \"$cfg:2\"], [\"web\", \"$dir/10-web.conf:1\"], [\"ssh\", \"$dir/90-added.conf:2\"]]" "list --json: names and origins"

step "the same add again changes nothing"
pf_run "${args[@]}" add tcp 2222 to "$GUEST_IP:22" name ssh from 203.0.113.0/24 --json
pf_expect_rc 0 "add again"
printf '%s' "$PF_OUT" >"$PF_TMP/add.json"
assert_eq "$(pf_json "$PF_TMP/add.json" '[d["changed"], d["added"], d["file"]]')" "[false, null, \"$dir/90-added.conf\"]" "nothing changed, nothing added, the file named"

step "bad input is refused before any file is written"
added=$(files)
kernel_added=$(hnft -s list ruleset)
pf_run "${args[@]}" add tcp 8080 to 192.0.2.80
pf_expect_rc 3 "a port another file forwards"
assert_match "$PF_ERR" "command line: forward: tcp port 8080 is already forwarded by $dir/10-web.conf:1" "the error names the other file and line"
pf_run "${args[@]}" add tcp 2223 to "$GUEST_IP:22" limit 5/fortnight
pf_expect_rc 3 "a bad limit"
assert_match "$PF_ERR" "command line: forward limit: '5/fortnight' has an unknown unit" "the error names the field"
pf_run "${args[@]}" add tcp 2224 to "$GUEST_IP:22" name web
pf_expect_rc 3 "a name another forward has"
assert_match "$PF_ERR" "forward name: 'web' already names the forward of $dir/10-web.conf:1" "the error names the other forward"
pf_run "${args[@]}" add tcp 2225 to
pf_expect_rc 3 "no guest"
pf_run "${args[@]}" add
pf_expect_rc 2 "no forward at all"
pf_run --config "$cfg" add tcp 2226 to "$GUEST_IP:22"
pf_expect_rc 2 "--config without --config-dir"
assert_match "$PF_ERR" "give --config-dir DIR too" "says how to fix it"
assert_eq "$(files)" "$added" "no file was written"
assert_eq "$(hnft -s list ruleset)" "$kernel_added" "the kernel is unchanged"

step "remove refuses the forwards of files it did not write"
pf_run "${args[@]}" remove web
pf_expect_rc 2 "remove a forward of 10-web.conf"
assert_match "$PF_ERR" "the forward named 'web' comes from $dir/10-web.conf:1, which nft-portfwd did not write" "the error names the file and line"
pf_run "${args[@]}" remove udp 5000
pf_expect_rc 2 "remove a forward of the main file"
pf_run "${args[@]}" remove nosuch
pf_expect_rc 2 "remove an unknown name"
assert_match "$PF_ERR" "no forward named 'nosuch'" "says so"
assert_eq "$(files)" "$added" "no file was written"

step "a failed apply puts the file back"
# without CAP_NET_ADMIN (root otherwise): the lock and the file work, the apply cannot
ip netns exec "$HOST" setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
    "$NFT_PORTFWD" --state-dir "$PF_STATE" "${args[@]}" add tcp 2227 to "$GUEST_IP:22" \
    >"$PF_TMP/out" 2>"$PF_TMP/err"
rc=$?
assert_eq "$rc" 4 "add without CAP_NET_ADMIN: exit 4 ($(cat "$PF_TMP/err"))"
assert_eq "$(files)" "$added" "the drop-in is as before"
assert_eq "$(hnft -s list ruleset)" "$kernel_added" "the kernel is unchanged"

step "remove takes the forward out; add then remove leaves everything as before"
pf_run "${args[@]}" remove ssh
pf_expect_rc 0 "remove ssh"
assert_line "$PF_OUT" "removed forward tcp 2222 .* \(its last forward: the file is gone\)" "says the file is gone"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "the removed forward"
assert_eq "$(files)" "$files_before" "the config files are as before"
assert_eq "$(hnft -s list ruleset)" "$kernel_before" "the kernel is as before"
pf_run "${args[@]}" add tcp,udp 7000-7002 to "$GUEST_IP"
pf_expect_rc 0 "add a range"
pf_run "${args[@]}" remove udp 7001
pf_expect_rc 0 "remove by one port of the range removes the whole forward"
assert_eq "$(hnft -s list ruleset)" "$kernel_before" "the kernel is as before"

step "hand edits of 90-added.conf: an indented forward, a last line without newline"
pf_run_ok "${args[@]}" add tcp 2400 to "$GUEST_IP:22" name b
printf '  forward tcp 2401 to %s:22 name c\n# a note, without its newline' "$GUEST_IP" >>"$dir/90-added.conf"
pf_run_ok "${args[@]}" add tcp 2402 to "$GUEST_IP:22" name d
assert_eq "$(tail -2 "$dir/90-added.conf")" "# a note, without its newline
forward tcp 2402 to $GUEST_IP:22 name d" "the new forward has a line of its own"
pf_run_ok "${args[@]}" list
assert_line "$PF_OUT" "^d +$dir/90-added.conf:5 " "and is read as a forward"
pf_run_ok "${args[@]}" remove b
assert_match "$(cat "$dir/90-added.conf")" "  forward tcp 2401 .* name c" "removing b keeps the indented forward c"
pf_run_ok "${args[@]}" remove c
pf_run_ok "${args[@]}" remove d
assert_eq "$(files)" "$files_before" "the file is gone with its last forward"
assert_eq "$(hnft -s list ruleset)" "$kernel_before" "the kernel is as before"

step "files and directories nft-portfwd does not own"
printf '# mine\nforward tcp 2300 to %s:22\n' "$GUEST_IP" >"$dir/90-added.conf"
pf_run "${args[@]}" add tcp 2301 to "$GUEST_IP:22"
pf_expect_rc 3 "a 90-added.conf without the header"
assert_match "$PF_ERR" "$dir/90-added.conf was not written by nft-portfwd" "the error says whose it is"
assert_eq "$(cat "$dir/90-added.conf")" "# mine
forward tcp 2300 to $GUEST_IP:22" "the file is untouched"
rm "$dir/90-added.conf"
ln -s "$dir/10-web.conf" "$dir/90-added.conf"
pf_run "${args[@]}" add tcp 2301 to "$GUEST_IP:22"
pf_expect_rc 3 "a symlink in its place"
assert_match "$PF_ERR" "90-added.conf: it is not a regular file" "the error says what it is"
rm "$dir/90-added.conf"
chmod 0775 "$dir"
pf_run "${args[@]}" add tcp 2301 to "$GUEST_IP:22"
pf_expect_rc 4 "a directory its group can write"
assert_match "$PF_ERR" "config directory $dir is writable by its group or others; someone else could then add forwards" "the error says why and how to fix it"
chmod 0755 "$dir"
assert_eq "$(files)" "$files_before" "nothing was written"
assert_eq "$(hnft -s list ruleset)" "$kernel_before" "the kernel is unchanged"

step "with the watcher (the unit) running, add and remove stay done"
# It keeps the config it read last and heals anything else back within a second, unless
# add and remove tell it to read the files again.
ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" "${args[@]}" watch >"$PF_TMP/watch.log" 2>&1 &
watcher=$!
PF_PIDS+=("$watcher")
for _ in $(seq 50); do [ -e "$PF_STATE/watch.json" ] && break; sleep 0.1; done
[ -e "$PF_STATE/watch.json" ] || fail "the watcher did not start: $(cat "$PF_TMP/watch.log")"
pf_run "${args[@]}" add tcp 2222 to "$GUEST_IP:22" name ssh
pf_expect_rc 0 "add with the watcher running"
assert_line "$PF_OUT" "^nft-portfwd: told the watcher \(pid $watcher\) to read the config again$" "add tells the watcher"
sleep 1.5
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 ssh "the added forward is still there after the watcher's heal window"
pf_run "${args[@]}" remove ssh
pf_expect_rc 0 "remove with the watcher running"
sleep 1.5
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "the removed forward stays removed"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "the others work"
# the same for an edit of the config by hand followed by apply
printf 'forward tcp 2600 to %s:22\n' "$GUEST_IP" >>"$cfg"
pf_run "${args[@]}" apply
pf_expect_rc 0 "apply of the edited config with the watcher running"
assert_line "$PF_OUT" "^nft-portfwd: told the watcher \(pid $watcher\) to read the config again$" "apply tells the watcher too"
sleep 1.5
assert_reaches "$CLIENT" tcp "$HOST_IP" 2600 ssh "the edit is kept after the watcher's heal window"
kill -0 "$watcher" 2>/dev/null || fail "the watcher died: $(cat "$PF_TMP/watch.log")"
kill -TERM "$watcher"
wait "$watcher" 2>/dev/null

step "the first add on a host without /etc/nft-portfwd.conf, with the default paths"
# In a mount namespace of its own, over a copy of /etc: the machine's /etc is not touched.
cp -a /etc "$PF_TMP/etc" 2>/dev/null
rm -rf "$PF_TMP/etc/nft-portfwd.conf" "$PF_TMP/etc/nft-portfwd.d"
in_etc() {
    ip netns exec "$HOST" unshare -m bash -c 'mount --bind "$1" /etc && shift && exec "$@"' _ \
        "$PF_TMP/etc" "$NFT_PORTFWD" --state-dir "$PF_STATE" "$@" >"$PF_TMP/out" 2>"$PF_TMP/err"
}
in_etc add tcp 2500 to "$GUEST_IP:22" name first
assert_eq "$?" 0 "add with no config file and no drop-in yet ($(cat "$PF_TMP/err"))"
assert_line "$(cat "$PF_TMP/out")" "added forward tcp 2500 to $GUEST_IP:22 name first to /etc/nft-portfwd.d/90-added.conf" "it writes the default drop-in"
assert_eq "$(tail -1 "$PF_TMP/etc/nft-portfwd.d/90-added.conf")" "forward tcp 2500 to $GUEST_IP:22 name first" "in the default directory"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2500 ssh "the forward works"
in_etc remove first
assert_eq "$?" 0 "remove ($(cat "$PF_TMP/err"))"
[ -e "$PF_TMP/etc/nft-portfwd.d/90-added.conf" ] && fail "the drop-in is still there"
in_etc apply
assert_eq "$?" 3 "apply with neither a config file nor a drop-in is still an error"
assert_match "$(cat "$PF_TMP/err")" "cannot read config /etc/nft-portfwd.conf: No such file or directory; create it .* add forwards with 'nft-portfwd add' or in /etc/nft-portfwd.d/" "and says how to start"

pf_pass
