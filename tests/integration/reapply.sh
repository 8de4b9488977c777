#!/bin/bash
# reapply (what the libvirt network hook runs on hosts without the unit) applies exactly
# what the last apply was given, or nothing:
#  - after `apply --config A` and after a flags-only apply, a lost table comes back with
#    the same forwards, not /etc/nft-portfwd.conf's, and every flag is in the flags record;
#  - after flush, or with no apply recorded, it does nothing and says so (exit 0);
#  - the installed hook script runs it, and its failure reaches the log instead of nothing.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_serve "$GUEST" tcp 0.0.0.0 8000 guest
pf_serve "$GUEST" tcp 0.0.0.0 8001 guest8001

step "nothing recorded: nothing to do"
pf_run reapply --state-dir "$PF_STATE"
pf_expect_rc 0 "reapply with nothing recorded"
assert_line "$PF_OUT" 'nothing to re-apply: no apply is recorded' "reapply says there is nothing to do"
assert_table_absent "reapply with nothing recorded creates no table"

step "after apply --config A"
cat >"$PF_TMP/a.conf" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000
CONF
pf_run_ok --config "$PF_TMP/a.conf" apply
hnft delete table inet portfwd || fail "deleting the table"
pf_run reapply --state-dir "$PF_STATE"
pf_expect_rc 0 "reapply after apply --config"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the forward of a.conf is back"

step "after a flags-only apply"
pf_run_ok --config "$PF_TMP/a.conf" flush
ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --host-ip "$HOST_IP" --host-port 8001 \
    --vm-ip "$GUEST_IP" apply >/dev/null 2>&1 || fail "flags-only apply"
hnft delete table inet portfwd || fail "deleting the table"
pf_run reapply --state-dir "$PF_STATE"
pf_expect_rc 0 "reapply after a flags-only apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8001 guest8001 "the flags' forward is back"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "and a.conf's is not"

step "every flag is in the flags record, --routing too"
ip netns exec "$HOST" "$NFT_PORTFWD" --state-dir "$PF_STATE" --host-ip "$HOST_IP" --host-port 8001 \
    --vm-ip "$GUEST_IP" --routing forwards --integrate off apply >/dev/null 2>&1 || fail "apply with --routing"
args=$(cat "$PF_STATE/flags.conf")
assert_line "$args" '^routing = forwards$' "the flags record keeps --routing (reapply lost it before)"
assert_line "$args" '^integrate = off$' "and --integrate"
hnft delete table inet portfwd || fail "deleting the table"
pf_run reapply --state-dir "$PF_STATE"
pf_expect_rc 0 "reapply keeps the setting flags of the last apply"
assert_match "$(hnft list table inet portfwd)" 'chain routing' "reapply renders the routing guard of --routing forwards"

step "after flush: nothing"
pf_run_ok --config "$PF_TMP/a.conf" flush
pf_run reapply --state-dir "$PF_STATE"
pf_expect_rc 0 "reapply after flush"
assert_table_absent "reapply after flush creates no table"

step "the hook script runs reapply and logs a failure"
pf_run_ok --config "$PF_TMP/a.conf" apply
echo "forward tcp 8000 to" >>"$PF_TMP/a.conf"   # the recorded config is broken now
hook="$PF_TMP/hook"
mkdir -p "$PF_TMP/bin"
printf '#!/bin/sh\necho "logger $*: $(cat)" >>%s\n' "$PF_TMP/logged" >"$PF_TMP/bin/logger"
chmod +x "$PF_TMP/bin/logger"
sed "s|@SBINDIR@/nft-portfwd reapply|$NFT_PORTFWD --state-dir $PF_STATE reapply|" \
    "$SOURCE_ROOT/dist/libvirt/network-hook" >"$hook"
chmod +x "$hook"
ip netns exec "$HOST" env PATH="$PF_TMP/bin:$PATH" "$hook" default started start - || fail "the hook failed"
for _ in $(seq 30); do [ -s "$PF_TMP/logged" ] && break; sleep 0.1; done
assert_match "$(cat "$PF_TMP/logged" 2>/dev/null)" "logger -t nft-portfwd -p daemon.err: nft-portfwd: .*a.conf:3: forward: the guest address is missing" "the hook's failure goes to the log"
pf_pass
