#!/bin/bash
# What our accepts in other firewalls' chains let through, tried as an attacker would:
#  - libvirt (iptables backend): a client outside a forward's `from` is refused, the one
#    inside reaches the guest;
#  - ufw (forward policy drop): the guest connecting out from its forwarded port 22 is
#    still dropped by ufw (the old per-endpoint `-s GUEST --sport 22` accept let it out);
#  - an admin's nft firewall, `policy drop` with a blocklist drop first: the accept goes
#    after the blocklist, so a blocklisted client stays out while another gets in.
# (A routed client straight to the guest is tried by every coexist_*.sh test.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup
pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$REMOTE" tcp 0.0.0.0 7000 remote

cat >"$PF_TMP/from.conf" <<CONF
host-ip = $HOST_IP
forward tcp 2222 to $GUEST_IP:22 from 203.0.113.0/24
CONF

step "libvirt's iptables rules: a client outside 'from' is refused"
fw_libvirt_iptables "$HOST" 192.0.2.0/24 "$HOST_IF_G" || fail "building libvirt's iptables rules"
pf_run_ok --config "$PF_TMP/from.conf" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "the client in 203.0.113.0/24 reaches the guest's 22"
assert_no_reply "$REMOTE" tcp "$HOST_IP" 2222 "the remote machine (198.51.100.2, outside 'from') is refused"
assert_no_reply "$REMOTE" tcp "$GUEST_IP" 22 "the remote machine straight to the guest's 22 is refused by libvirt"
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 22 "the allowed client straight to the guest's 22 (no DNAT) is refused by libvirt"
out=$(ip netns exec "$HOST" iptables -S LIBVIRT_FWI)
assert_no_line "$out" '(-d|-s) 192\.0\.2\.79' "no accept in LIBVIRT_FWI names the guest's address"
assert_line "$out" '^-A LIBVIRT_FWI -m mark --mark 0x1000000/0x1000000 .* -j ACCEPT$' "the one accept of ours matches the mark"
pf_run_ok --config "$PF_TMP/from.conf" flush
ip netns exec "$HOST" iptables-restore <<'EOF2' || fail "clearing libvirt's rules"
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
COMMIT
EOF2
hnft flush ruleset || fail "flushing the host namespace"

step "ufw: the guest sending from its forwarded port is not let out by our accept"
command -v ufw >/dev/null || pf_skip "ufw not installed"
fw_ufw "$HOST" || fail "enabling ufw in the host namespace"
cat >"$PF_TMP/ssh.conf" <<CONF
host-ip = $HOST_IP
forward tcp 2222 to $GUEST_IP:22
CONF
pf_run_ok --config "$PF_TMP/ssh.conf" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "the forward works beside ufw"
assert_no_reply "$GUEST" tcp "$REMOTE_IP" 7000 "the guest connecting out from source port 22 is still dropped by ufw" --sport 22
assert_no_reply "$CLIENT" tcp "$GUEST_IP" 22 "a routed client straight to the guest's 22 is dropped by ufw"
pf_run_ok --config "$PF_TMP/ssh.conf" flush
ip netns exec "$HOST" ufw --force disable >/dev/null 2>&1
hnft flush ruleset || fail "flushing the host namespace"

step "an admin's blocklist before the policy drop stays in force"
hnft -f - <<EOF2 || fail "loading the admin's firewall"
table inet filter {
	set blocklist {
		type ipv4_addr
		elements = { $CLIENT_IP }
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ip saddr @blocklist drop
	}
}
EOF2
pf_run_ok --config "$PF_TMP/ssh.conf" apply
assert_line "$PF_OUT" '^nft-portfwd: added the accept for the forwards to inet filter forward \(other\), end of forward' \
    "apply puts the accept at the end of the admin's chain"
chain=$(hnft list chain inet filter forward)
assert_match "$chain" 'ip saddr @blocklist drop[^}]*meta mark & 0x01000000 == 0x01000000' "the accept comes after the blocklist rule"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "the blocklisted client is still dropped"
assert_reaches "$REMOTE" tcp "$HOST_IP" 2222 guest22 "a client not on the blocklist reaches the guest"
pf_run_ok --config "$PF_TMP/ssh.conf" status
pf_run_ok --config "$PF_TMP/ssh.conf" apply
assert_line "$PF_OUT" 'table inet portfwd unchanged' "a second apply changes nothing"
assert_no_line "$PF_OUT" 'added the accept' "a second apply adds no accept"

step "an accept of ours moved above the blocklist is out of place: status says so, apply moves it"
h=$(hnft -a list chain inet filter forward | sed -n 's/.*nft-portfwd: accept.* # handle \([0-9]*\)$/\1/p')
[ -n "$h" ] || fail "no handle for our accept"
hnft delete rule inet filter forward handle "$h" || fail "deleting our accept"
hnft insert rule inet filter forward meta mark \& 0x01000000 == 0x01000000 counter accept \
    comment '"nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd"' || fail "inserting ours at the top"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "(proof of the danger) above the blocklist our accept lets the blocklisted client in"
pf_run --config "$PF_TMP/ssh.conf" status
pf_expect_rc 1 "status with our accept above the blocklist"
assert_line "$PF_OUT" 'drift: .*missing or out of place.* inet filter forward' "status names the misplaced accept"
pf_run_ok --config "$PF_TMP/ssh.conf" apply
assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "after apply the blocklisted client is dropped again"
assert_eq "$(hnft list chain inet filter forward | grep -c 'nft-portfwd')" 1 "one accept of ours in the chain"
pf_pass
