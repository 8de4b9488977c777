#!/bin/bash
# A UDP flow follows the config. The client sends every datagram from one fixed
# source port, so all of them belong to one conntrack entry. Re-pointing host
# port 5000 from guest A (192.0.2.79) to guest B (192.0.2.80, on the same bridge)
# must send the very next datagram of that flow to B, and removing the forward
# must stop it: apply drops the affected conntrack entries itself. Without that,
# the kernel keeps the old DNAT binding for 30-180 s; a hand edit of the map (which
# cleans nothing up) shows that first, so the test can tell the two apart.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_guest_bridge

SPORT=40001     # the flow under test
SPORT2=40002    # a second flow, started while the map was hand-edited

cfg_a="$PF_TMP/to-a.conf"
cat >"$cfg_a" <<CONF
host-ip = $HOST_IP
forward udp 5000 to $GUEST_IP
forward tcp 16589 to $GUEST_IP
CONF
cfg_b="$PF_TMP/to-b.conf"
cat >"$cfg_b" <<CONF
host-ip = $HOST_IP
forward udp 5000 to $GUEST2_IP
forward tcp 16589 to $GUEST_IP
CONF
cfg_none="$PF_TMP/removed.conf"
cat >"$cfg_none" <<CONF
host-ip = $HOST_IP
forward tcp 16589 to $GUEST_IP
CONF

pf_serve "$GUEST" udp 0.0.0.0 5000 guestA
pf_serve "$GUEST2" udp 0.0.0.0 5000 guestB
pf_serve "$GUEST" tcp 0.0.0.0 16589 guestA

# flow SPORT: prints the name of the server that answered, or "nobody"
flow() {
    local reply
    if reply=$(pf_send "$CLIENT" udp "$HOST_IP" 5000 1 --sport "$1"); then
        echo "${reply%% *}"
    else
        echo nobody
    fi
}

ct_diag() {
    if command -v conntrack >/dev/null; then
        echo "[$PF_TEST] conntrack entries in the host namespace (diagnostics):" >&2
        ip netns exec "$HOST" conntrack -L -p udp 2>&1 | sed "s/^/[$PF_TEST]   /" >&2
    fi
    echo "[$PF_TEST] live map:" >&2
    hnft list table inet portfwd 2>&1 | sed "s/^/[$PF_TEST]   /" >&2
}

# assert_flow SPORT EXPECTED DESCRIPTION
assert_flow() {
    local got
    got=$(flow "$1")
    if [ "$got" != "$2" ]; then
        ct_diag
        fail "$3: a datagram from client port $1 to $HOST_IP:5000 reached '$got', expected '$2'"
    fi
    pf_log "ok: $3 (client port $1 -> $got)"
}

step "before apply"
assert_flow "$SPORT" nobody "no forward before apply"

step "apply: 5000 -> guest A"
pf_run_ok --config "$cfg_a" apply
assert_flow "$SPORT" guestA "the flow reaches guest A"
assert_flow "$SPORT" guestA "the flow keeps reaching guest A"

step "control: a hand edit of the map does not move the existing flow"
hnft delete element inet portfwd fwd4 '{ udp . 5000 }' || fail "hand delete of udp . 5000"
hnft add element inet portfwd fwd4 "{ udp . 5000 : $GUEST2_IP . 5000 }" || fail "hand add of udp . 5000 -> B"
assert_flow "$SPORT2" guestB "a new flow follows the hand-edited map to guest B"
assert_flow "$SPORT" guestA "the existing flow stays on guest A (conntrack keeps the old binding)"
hnft delete element inet portfwd fwd4 '{ udp . 5000 }' || fail "hand delete of udp . 5000 (restore)"
hnft add element inet portfwd fwd4 "{ udp . 5000 : $GUEST_IP . 5000 }" || fail "hand add of udp . 5000 -> A (restore)"
assert_flow "$SPORT" guestA "the existing flow is still on guest A after the restore"

step "re-apply: 5000 -> guest B"
pf_run_ok --config "$cfg_b" apply
assert_flow "$SPORT" guestB "the very next datagram of the flow reaches guest B"
assert_flow "$SPORT" guestB "and the next one too"
assert_flow "$SPORT2" guestB "the other flow is on guest B"

step "re-apply without the forward"
pf_run_ok --config "$cfg_none" apply
assert_flow "$SPORT" nobody "after the forward is removed the flow reaches nobody"
assert_flow "$SPORT2" nobody "the other flow reaches nobody either"
assert_reaches "$CLIENT" tcp "$HOST_IP" 16589 guestA "the unchanged tcp forward still works"

step "re-apply with the forward to guest A again"
pf_run_ok --config "$cfg_a" apply
assert_flow "$SPORT" guestA "the flow reaches guest A again"

step "flush"
pf_run_ok --config "$cfg_a" flush
assert_table_absent "flush removes the table"
assert_flow "$SPORT" nobody "after flush the flow reaches nobody"

pf_pass
