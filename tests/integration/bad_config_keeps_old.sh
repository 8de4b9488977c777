#!/bin/bash
# After a good apply, applying an invalid config exits 3 and leaves everything
# as it was: the old forward still carries traffic and the ruleset is
# byte-identical.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

good="$PF_TMP/good.conf"
cat >"$good" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
CONF
pf_serve "$GUEST" tcp 0.0.0.0 16589 guest

step "good apply"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 16589 "no forward before apply"
pf_run_ok --config "$good" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "good forward works"
hnft -s list ruleset >"$PF_TMP/before" || fail "nft list ruleset"
cp -a "$PF_STATE" "$PF_TMP/state.before"

# try_bad NAME DESCRIPTION < config text
try_bad() {
    local name=$1 desc=$2 f="$PF_TMP/$1.conf"
    cat >"$f"
    step "bad config: $desc"
    pf_run --config "$f" apply
    pf_expect_rc 3 "apply of $desc"
    [ -n "$PF_ERR" ] || fail "apply of $desc: no error message on stderr"
    case "$PF_ERR" in
        *"$f"*) ;;
        *) fail "apply of $desc: error message does not name the config file $f: '$PF_ERR'" ;;
    esac
    [ -z "$PF_OUT" ] || case "$PF_OUT" in *applied*) fail "apply of $desc printed '$PF_OUT'" ;; esac
    hnft -s list ruleset >"$PF_TMP/after.$name" || fail "nft list ruleset"
    assert_same_file "$PF_TMP/before" "$PF_TMP/after.$name" "ruleset byte-identical after rejected $desc"
    assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward untouched by rejected $desc"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guest "old forward still works after rejected $desc"
    # check must reject it the same way
    pf_run --config "$f" check
    pf_expect_rc 3 "check of $desc"
}

try_bad bad-addr "an invalid guest address (300.1.1.1)" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to 300.1.1.1:16589
CONF

try_bad bad-hostname "a host name instead of an address" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to localhost:16589
CONF

try_bad dup "a conflicting duplicate forward" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589
forward tcp 16589 to 192.0.2.80:22
CONF

try_bad dup-overlap "tcp,udp overlapping a tcp forward on the same port" <<CONF
host-ip = $HOST_IP
forward tcp 16590 to $GUEST_IP:16589
forward tcp,udp 16590 to 192.0.2.80
CONF

try_bad bad-host-ip "an invalid host-ip" <<CONF
host-ip = 203.0.113.256
forward tcp 16589 to $GUEST_IP:16589
CONF

try_bad bad-port "port 0" <<CONF
host-ip = $HOST_IP
forward tcp 0 to $GUEST_IP:16589
CONF

# values the kernel (or nft) would refuse: refused first, with the config's file and line
try_bad limit-timeout "a limit whose client state outlives nftables' longest timeout" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP:16589 limit 1/hour burst 50000
CONF
assert_line "$PF_ERR" "$PF_TMP/limit-timeout.conf:2: forward burst: '50000' is too large for a rate of 1 per hour" \
    "the limit's error names file, line and field"

# dubious spellings that used to be accepted
try_bad ipv4-brackets "brackets around an IPv4 guest" <<CONF
forward tcp 16589 to [$GUEST_IP]:16589
CONF
try_bad octal-mark "a packet mark bit with a leading zero (octal)" <<CONF
integrate-mark = 010
forward tcp 16589 to $GUEST_IP:16589
CONF
try_bad octal-prefix "a prefix length with a leading zero" <<CONF
forward tcp 16589 to $GUEST_IP:16589 from 203.0.113.0/024
CONF
try_bad reserved-guest "a guest in 240.0.0.0/4" <<CONF
forward tcp 16589 to 240.0.0.9:16589
CONF
try_bad link-local-guest "a guest in 169.254.0.0/16" <<CONF
forward tcp 16589 to 169.254.7.9:16589
CONF

step "state dir"
diff -r "$PF_TMP/state.before" "$PF_STATE" >&2 || fail "state dir changed by rejected applies"

step "flush restores ip_forward from the first apply"
pf_run_ok --config "$good" flush
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward back to 0"
assert_table_absent "table removed"

pf_pass
