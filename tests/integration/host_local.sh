#!/bin/bash
# From the host itself, connecting to host-ip:port reaches the guest (output
# hook DNAT); with no host-ip in the config, any local address of the host does.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

pf_serve "$GUEST" tcp 0.0.0.0 8080 guest
pf_serve "$GUEST" udp 0.0.0.0 8080 guest

step "before apply"
assert_no_reply "$HOST" tcp "$HOST_IP" 8080 "host-local tcp before apply"
assert_no_reply "$HOST" udp "$HOST_IP" 8080 "host-local udp before apply"

step "apply with host-ip and host-iface"
cfg1="$PF_TMP/with-host-ip.conf"
cat >"$cfg1" <<CONF
host-ip    = $HOST_IP
host-iface = $HOST_IF_C
forward tcp,udp 8080 to $GUEST_IP
CONF
pf_run_ok --config "$cfg1" apply
assert_reaches "$HOST" tcp "$HOST_IP" 8080 guest "host-local tcp to host-ip reaches guest"
assert_reaches "$HOST" udp "$HOST_IP" 8080 guest "host-local udp to host-ip reaches guest"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "client tcp to host-ip reaches guest"
# an address of the host that is not the configured host-ip is left alone
assert_no_reply "$HOST" tcp "$HOST_REMOTE_IP" 8080 "host-local tcp to another local address is not forwarded"
assert_no_reply "$HOST" tcp 127.0.0.1 8080 "host-local tcp to 127.0.0.1 is not forwarded"

step "apply without host-ip (any local address)"
cfg2="$PF_TMP/any-local.conf"
cat >"$cfg2" <<CONF
forward tcp,udp 8080 to $GUEST_IP
CONF
pf_run_ok --config "$cfg2" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 1 forwards?; table inet portfwd changed$' "switching to any local address changes the table"
assert_reaches "$HOST" tcp "$HOST_IP" 8080 guest "host-local tcp to $HOST_IP reaches guest"
assert_reaches "$HOST" tcp "$HOST_REMOTE_IP" 8080 guest "host-local tcp to $HOST_REMOTE_IP reaches guest"
assert_reaches "$HOST" udp "$HOST_GW_IP" 8080 guest "host-local udp to $HOST_GW_IP reaches guest"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "client tcp to $HOST_IP reaches guest"
assert_reaches "$REMOTE" tcp "$HOST_REMOTE_IP" 8080 guest "remote tcp to $HOST_REMOTE_IP reaches guest"
# not a local address: the client's own address must not be DNATed by the host
assert_no_reply "$HOST" tcp 203.0.113.99 8080 "a non-local destination is not forwarded" 

step "flush"
pf_run_ok --config "$cfg2" flush
assert_no_reply "$HOST" tcp "$HOST_IP" 8080 "host-local tcp after flush"
assert_table_absent "flush removes the table"

pf_pass
