#!/bin/bash
# Without CAP_NET_ADMIN, apply / check / flush exit 4 with one clear line on
# stderr that names CAP_NET_ADMIN (no raw libnftables text), and change nothing.
# Two cases: an unprivileged user (nobody), and root with CAP_NET_ADMIN dropped.
. "$(dirname "$0")/lib.sh"
command -v setpriv >/dev/null || pf_skip "setpriv not found"
pf_find_binary
pf_setup

# files the unprivileged user must be able to read
chmod 755 "$PF_TMP"
chmod 0700 "$PF_STATE"  # root's: nobody never gets past the capability check to it
cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
CONF
chmod 644 "$cfg"
setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$NFT_PORTFWD" \
    || pf_skip "user 65534 cannot execute $NFT_PORTFWD (directory permissions)"

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
ROOT_NO_NET_ADMIN=(setpriv --inh-caps=-net_admin --ambient-caps=-net_admin --bounding-set=-net_admin)

# run_as WHO ARGS...: like pf_run, under one of the arrays above
run_as() {
    local who=$1; shift
    local -n wrap=$who
    pf_state_args "$@"
    ip netns exec "$HOST" timeout 20 "${wrap[@]}" "$NFT_PORTFWD" "${PF_STATE_ARGS[@]}" "$@" \
        >"$PF_TMP/out" 2>"$PF_TMP/err"
    PF_RC=$?
    PF_OUT=$(cat "$PF_TMP/out")
    PF_ERR=$(cat "$PF_TMP/err")
    pf_log "[$who] nft-portfwd $* -> rc $PF_RC; stderr: $PF_ERR"
}

# sanity: the wrappers really lack CAP_NET_ADMIN
for who in NOBODY ROOT_NO_NET_ADMIN; do
    declare -n w=$who
    if ip netns exec "$HOST" "${w[@]}" nft list ruleset >/dev/null 2>&1; then
        fail "$who: nft list ruleset succeeded, so the wrapper did not drop CAP_NET_ADMIN"
    fi
    unset -n w
done

for who in NOBODY ROOT_NO_NET_ADMIN; do
    step "$who: render needs no privilege"
    run_as "$who" --config "$cfg" render
    pf_expect_rc 0 "$who render"
    assert_match "$PF_OUT" 'table inet portfwd' "$who render prints the table"

    for cmd in apply check flush; do
        step "$who: $cmd"
        run_as "$who" --config "$cfg" "$cmd"
        pf_expect_rc 4 "$who $cmd without CAP_NET_ADMIN"
        [ -n "$PF_ERR" ] || fail "$who $cmd: nothing on stderr"
        assert_eq "$(printf '%s\n' "$PF_ERR" | wc -l)" 1 "$who $cmd: exactly one line on stderr"
        assert_match "$PF_ERR" 'CAP_NET_ADMIN' "$who $cmd: message names CAP_NET_ADMIN"
        for raw in 'cache initialization failed' 'you must be root' 'netlink: Error'; do
            case "$PF_ERR" in
                *"$raw"*) fail "$who $cmd: raw library text '$raw' on stderr: $PF_ERR" ;;
            esac
        done
        case "$PF_OUT" in *applied*) fail "$who $cmd: printed '$PF_OUT'" ;; esac
        assert_table_absent "$who $cmd leaves no table"
        assert_eq "$(pf_ip_forward "$HOST")" 0 "$who $cmd leaves ip_forward at 0"
    done
done

step "a flags record another user cannot read: render warns and goes on"
pf_run_ok --config "$cfg" apply --host-port 9999 --vm-ip "$GUEST_IP"
chmod 0755 "$PF_STATE" || fail "chmod of the state dir"
run_as NOBODY --config "$cfg" render
pf_expect_rc 0 "NOBODY render with an unreadable flags record"
assert_line "$PF_ERR" "warning: cannot read $PF_STATE/flags.conf: Permission denied" "render says the record is left out"
chmod 0700 "$PF_STATE"
pf_run_ok --config "$cfg" remove tcp 9999
pf_run_ok --config "$cfg" flush

step "with the table present, flush without CAP_NET_ADMIN keeps it"
pf_run_ok --config "$cfg" apply
hnft -s list ruleset >"$PF_TMP/before" || fail "nft list ruleset"
for who in NOBODY ROOT_NO_NET_ADMIN; do
    run_as "$who" --config "$cfg" flush
    pf_expect_rc 4 "$who flush of a present table"
    hnft -s list ruleset >"$PF_TMP/after" || fail "nft list ruleset"
    assert_same_file "$PF_TMP/before" "$PF_TMP/after" "$who flush changes nothing"
    assert_eq "$(pf_ip_forward "$HOST")" 1 "$who flush leaves ip_forward at 1"
done

pf_pass
