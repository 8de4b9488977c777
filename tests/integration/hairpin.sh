#!/bin/bash
# Hairpin: machines behind the host that connect to the host's forwarded address
# and port reach the forward's guest, like outside clients do:
#   (a) the guest itself, through its own forward;
#   (b) a second guest on the same libvirt-like bridge (192.0.2.80);
#   (c) the remote namespace, another network behind the host.
# Assumption (documented, not tested): no host-iface is set. With host-iface, only
# traffic arriving on that interface is forwarded, so hairpin from the guest
# bridge is deliberately not forwarded.
# Hairpin traffic must be masqueraded even with 'masquerade = no' / keep-source:
# otherwise the guest answers a neighbour on its own link directly and the
# neighbour drops the reply (it talked to 203.0.113.1), or a guest answers itself.
# br_netfilter (loaded on hosts running Docker and on this CI machine) makes the
# bridge hand routed-back packets to netfilter at layer 2: a guest reaching its own
# forward then needs 'hairpin on' for its bridge port. This test models a plain
# libvirt host: bridge-nf-call-* is set to 0 in its own host namespace.
# A server on the host at port 8080 proves, before apply, that these machines do
# reach 203.0.113.1:8080 - the host answers, not the guest.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_guest_bridge
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    pf_sysctl_set "$HOST" net.bridge.bridge-nf-call-iptables 0
    pf_sysctl_set "$HOST" net.bridge.bridge-nf-call-ip6tables 0
    assert_eq "$(ip netns exec "$HOST" cat /proc/sys/net/bridge/bridge-nf-call-iptables)" 0 \
        "br_netfilter is off in the host namespace (the main namespace keeps $(cat /proc/sys/net/bridge/bridge-nf-call-iptables))"
fi

cfg="$PF_TMP/portfwd.conf"
cat >"$cfg" <<CONF
host-ip = $HOST_IP
forward tcp 8080 to $GUEST_IP:80
forward udp 8080 to $GUEST_IP:80
CONF
cfg_nomasq="$PF_TMP/nomasq.conf"
cat >"$cfg_nomasq" <<CONF
host-ip = $HOST_IP
masquerade = no
forward tcp 8080 to $GUEST_IP:80
forward udp 8080 to $GUEST_IP:80
forward tcp 8081 to $GUEST_IP:80 keep-source
CONF

pf_serve "$GUEST" tcp 0.0.0.0 80 g80
pf_serve "$GUEST" udp 0.0.0.0 80 g80
pf_serve "$GUEST2" tcp 0.0.0.0 80 g2_80     # the second guest's own port 80: must not answer
pf_serve "$HOST" tcp "$HOST_IP" 8080 host8080
pf_serve "$HOST" udp "$HOST_IP" 8080 host8080   # bound, so it answers from $HOST_IP

step "before apply: the host itself answers on 8080"
assert_reaches "$GUEST" tcp "$HOST_IP" 8080 host8080 "guest -> $HOST_IP:8080 reaches the host, not the guest"
assert_reaches "$GUEST" udp "$HOST_IP" 8080 host8080 "guest -> $HOST_IP:8080 udp reaches the host"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8080 host8080 "guest2 -> $HOST_IP:8080 reaches the host"
assert_reaches "$REMOTE" tcp "$HOST_IP" 8080 host8080 "remote -> $HOST_IP:8080 reaches the host"

step "apply"
pf_run_ok --config "$cfg" apply

step "(a) the guest reaches its own forward"
assert_reaches "$GUEST" tcp "$HOST_IP" 8080 g80 "guest -> $HOST_IP:8080 reaches its own port 80"
assert_eq "$PF_SEEN" "$HOST_GW_IP" "the guest sees the host as the source of its own hairpin connection"
assert_reaches "$GUEST" tcp "$HOST_IP" 8080 g80 "guest -> $HOST_IP:8080 again (a second connection works too)"
assert_reaches "$GUEST" udp "$HOST_IP" 8080 g80 "guest -> $HOST_IP:8080 udp reaches its own port 80"

step "(b) a second guest on the same bridge"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8080 g80 "guest2 -> $HOST_IP:8080 reaches the first guest"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8080 g80 "guest2 -> $HOST_IP:8080 again (no ICMP redirect broke it)"
assert_reaches "$GUEST2" udp "$HOST_IP" 8080 g80 "guest2 -> $HOST_IP:8080 udp reaches the first guest"

step "(c) another network behind the host"
assert_reaches "$REMOTE" tcp "$HOST_IP" 8080 g80 "remote -> $HOST_IP:8080 reaches the guest"
assert_reaches "$REMOTE" udp "$HOST_IP" 8080 g80 "remote -> $HOST_IP:8080 udp reaches the guest"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "the outside client still reaches the guest"

step "masquerade = no: outside clients keep their address, hairpin still works"
pf_run_ok --config "$cfg_nomasq" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 g80 "client -> $HOST_IP:8080 reaches the guest"
assert_eq "$PF_SEEN" "$CLIENT_IP" "masquerade = no: the guest sees the outside client's address"
assert_reaches "$GUEST" tcp "$HOST_IP" 8080 g80 "guest -> its own forward with masquerade = no"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8080 g80 "guest2 -> $HOST_IP:8080 with masquerade = no"
assert_reaches "$GUEST2" udp "$HOST_IP" 8080 g80 "guest2 -> $HOST_IP:8080 udp with masquerade = no"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8081 g80 "guest2 -> $HOST_IP:8081 (keep-source) hairpin"
assert_reaches "$REMOTE" tcp "$HOST_IP" 8080 g80 "remote -> $HOST_IP:8080 with masquerade = no"
assert_eq "$PF_SEEN" "$REMOTE_IP" "masquerade = no: a routed (non-hairpin) network keeps its address"

step "flush"
pf_run_ok --config "$cfg" flush
assert_reaches "$GUEST" tcp "$HOST_IP" 8080 host8080 "after flush the guest reaches the host again"
assert_reaches "$GUEST2" tcp "$HOST_IP" 8080 host8080 "after flush guest2 reaches the host again"
assert_reaches "$REMOTE" tcp "$HOST_IP" 8080 host8080 "after flush remote reaches the host again"

pf_pass
