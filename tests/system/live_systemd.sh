#!/bin/bash
# nft-portfwd.service under a real systemd with Debian's real libvirtd, in a container
# (systemd-nspawn over an overlay of this machine's root; see shared notes live-systemd.md).
# Inside: nft-portfwd installed with `meson install`, libvirt's default NAT network on
# 192.0.2.0/24 (virbr0), a guest namespace on virbr0 (192.0.2.79) and a client namespace
# behind the container's own network stack (203.0.113.2 -> 203.0.113.1). After each event
# the client must reach the guest, TCP and UDP, within 2 s:
#   enable --now; reboot; nftables.service start, reload, restart, stop;
#   systemctl restart libvirtd, three times; virsh net-destroy / net-start default;
#   nft flush ruleset; ufw enabled, then ufw reload; firewalld started, firewall-cmd --reload.
# Then another program deleting our table 50 times a second for 10 s: a "keeps undoing"
# line, a bounded number of heals, well under half a core, the forwards back within a few
# seconds. With prometheus-node-exporter installed, nft-portfwd-metrics.timer writes the
# textfile that node_exporter serves, again within 15 s, and nothing without its directory.
# Then systemctl stop nft-portfwd leaves nothing of ours and ip_forward as before.
# Needs root, systemd-nspawn (systemd-container), libvirt-daemon-system, dnsmasq-base;
# exits 77 without them. Nothing outside the container is changed; it and its overlay are
# removed on exit.
TEST=live_systemd
. "$(dirname "$0")/container.sh"
cat >"$R/etc/nft-portfwd.conf" <<'CONF'
host-ip = 203.0.113.1
forward tcp 8000 to 192.0.2.79:8000
forward udp 5000 to 192.0.2.79:5000
CONF
install -m 0755 "$ROOT/tests/integration/peer.py" "$R/root/peer.py"
install -m 0755 "$ROOT/debian/postinst" "$R/root/postinst"
# a container image's policy-rc.d (exit 101) would keep deb-systemd-invoke, which the
# postinst uses, from acting; a real host has none (removed in the overlay only)
rm -f "$R/usr/sbin/policy-rc.d"
# The topology inside, idempotent (run again after a reboot or a network restart).
cat >"$R/root/topology.sh" <<'SH'
#!/bin/bash
ip netns list | grep -qw guest || {
    ip netns add guest; ip netns add client
    ip -n guest link set lo up; ip -n client link set lo up
    ip link add pfg0 type veth peer name eth0 netns guest
    ip -n guest addr add 192.0.2.79/24 dev eth0; ip -n guest link set eth0 up
    ip -n guest route add default via 192.0.2.1
    ip link add pfc0 type veth peer name eth0 netns client
    ip addr add 203.0.113.1/24 dev pfc0; ip link set pfc0 up
    ip -n client addr add 203.0.113.2/24 dev eth0; ip -n client link set eth0 up
    ip -n client route add default via 203.0.113.1
    ip netns exec guest python3 /root/peer.py serve tcp 0.0.0.0 8000 guest >/dev/null 2>&1 &
    ip netns exec guest python3 /root/peer.py serve udp 0.0.0.0 5000 guest >/dev/null 2>&1 &
}
ip link set pfg0 master virbr0 2>/dev/null && ip link set pfg0 up
# the guest's port forwards at once (no STP in default.xml), once its link is up
for _ in $(seq 50); do
    [ "$(cat /sys/class/net/pfg0/brport/state 2>/dev/null)" = 3 ] && break
    sleep 0.1
done
exit 0
SH
chmod 0755 "$R/root/topology.sh"

# The longest outage the watcher logged since the event began ("the forwards were out N
# ms"), 0 when it healed nothing.
EVENT_AT=""
event() { EVENT_AT=$(date +%s.%N); log "-- $*"; }
outage() {
    inside journalctl -u nft-portfwd --no-pager -o cat --since "@$EVENT_AT" 2>/dev/null |
        sed -n 's/.*the forwards were out \([0-9]*\) ms.*/\1/p' | sort -n | tail -n1 | grep . || echo 0
}

# reach DESCRIPTION: TCP and UDP from the client reach the guest within 2 s of the event
# command's return; logs that time and the watcher's own figure for the outage
reach() {
    local start now
    start=$(date +%s%N)
    while :; do
        if inside ip netns exec client timeout 2 python3 /root/peer.py send tcp 203.0.113.1 8000 --timeout 0.3 >/dev/null 2>&1 &&
            inside ip netns exec client timeout 2 python3 /root/peer.py send udp 203.0.113.1 5000 --timeout 0.3 >/dev/null 2>&1; then
            now=$(date +%s%N)
            sleep 0.3 # the heal line reaches the journal
            log "ok: $1: TCP and UDP reach the guest after $(( (now - start) / 1000000 )) ms; the watcher logged $(outage) ms out"
            echo "$1|$(( (now - start) / 1000000 ))|$(outage)" >>"$D/latency"
            return 0
        fi
        now=$(date +%s%N)
        [ $(( now - start )) -lt 2000000000 ] || fail "$1: the client does not reach the guest within 2 s"
        sleep 0.1
    done
}

boot
step_forward_before=$(inside cat /proc/sys/net/ipv4/ip_forward)

event "systemctl enable --now nft-portfwd"
inside systemctl enable --now nft-portfwd.service >/dev/null 2>&1 || fail "enable --now"
inside systemctl is-active -q nft-portfwd || fail "nft-portfwd.service is not active"
reach "enable --now"
inside nft list chain ip filter LIBVIRT_FWI | grep -q 'nft-portfwd: accept' || fail "no accept of ours in LIBVIRT_FWI"
event "nothing (the probes alone)"
reach "baseline (no event: the probes alone)"

event "reboot"
poweroff
boot
inside systemctl is-active -q nft-portfwd || fail "nft-portfwd.service is not active after the reboot"
reach "reboot"

for op in start reload restart stop; do
    [ "$op" = start ] && rm -f "$R/etc/systemd/system/nftables.service" && inside systemctl daemon-reload
    event "systemctl $op nftables"
    inside systemctl "$op" nftables.service || fail "systemctl $op nftables"
    reach "nftables.service $op"
done
inside systemctl is-active -q nft-portfwd || fail "stopping nftables.service stopped nft-portfwd"

for i in 1 2 3; do
    event "systemctl restart libvirtd ($i)"
    inside systemctl restart libvirtd || fail "restart libvirtd"
    # libvirt rebuilds its chains a moment after it reports started: wait for the heal
    for _ in $(seq 30); do [ "$(outage)" != 0 ] && break; sleep 0.1; done
    [ "$(outage)" != 0 ] || fail "libvirtd restart $i: no heal logged within 3 s"
    reach "libvirtd restart $i"
done

event "virsh net-destroy default; virsh net-start default"
inside virsh -q net-destroy default >/dev/null || fail "net-destroy"
inside virsh -q net-start default >/dev/null || fail "net-start"
inside /root/topology.sh
reach "network restart"

event "nft flush ruleset"
inside nft flush ruleset || fail "nft flush ruleset"
reach "nft flush ruleset"

event "another program deletes table inet portfwd 50 times a second for 10 s"
MAIN=$(inside systemctl show -p MainPID --value nft-portfwd)
ticks0=$(inside awk '{ print $14 + $15 }' "/proc/$MAIN/stat")
heals0=$(inside journalctl -u nft-portfwd --no-pager -o cat | grep -c 'healed:')
cat >"$R/root/storm.sh" <<'SH'
#!/bin/bash
end=$(( $(date +%s) + 10 ))
while [ "$(date +%s)" -lt "$end" ]; do
    nft delete table inet portfwd 2>/dev/null
    sleep 0.02
done
SH
chmod 0755 "$R/root/storm.sh"
inside /root/storm.sh
ticks=$(( $(inside awk '{ print $14 + $15 }' "/proc/$MAIN/stat") - ticks0 ))
heals=$(( $(inside journalctl -u nft-portfwd --no-pager -o cat | grep -c 'healed:') - heals0 ))
log "during the storm: $heals heals, $ticks CPU ticks (1/100 s) of the watcher in 10 s"
[ "$heals" -le 30 ] || fail "the watcher fought the storm: $heals heals in 10 s"
[ "$ticks" -lt 500 ] || fail "the watcher used half a core or more during the storm ($ticks ticks in 10 s)"
inside journalctl -u nft-portfwd --no-pager -o cat --since "@$EVENT_AT" | grep -q 'keeps undoing the forwards' ||
    fail "no 'keeps undoing' line in the journal after the storm"
EVENT_AT=$(date +%s.%N)
start=$(date +%s%N)
until inside ip netns exec client timeout 2 python3 /root/peer.py send tcp 203.0.113.1 8000 --timeout 0.3 >/dev/null 2>&1; do
    [ $(( $(date +%s%N) - start )) -lt 8000000000 ] || fail "the forwards are not back within 8 s of the storm's end"
    sleep 0.1
done
log "ok: the forwards are back $(( ($(date +%s%N) - start) / 1000000 )) ms after the storm ended"

if inside sh -c 'command -v ufw' >/dev/null; then
    rm -f "$R/etc/systemd/system/ufw.service"
    event "ufw --force enable"
    inside ufw --force enable >/dev/null || fail "ufw enable"
    reach "ufw enable"
    event "ufw reload"
    inside ufw reload >/dev/null || fail "ufw reload"
    reach "ufw reload"
    event "ufw --force disable"
    inside ufw --force disable >/dev/null
    reach "ufw disable"
else
    log "ufw not installed: its events are not tried"
fi

if [ -e /lib/systemd/system/firewalld.service ]; then
    rm -f "$R/etc/systemd/system/firewalld.service"
    inside systemctl daemon-reload
    event "systemctl start firewalld"
    inside systemctl start firewalld || fail "start firewalld"
    reach "firewalld start"
    event "firewall-cmd --reload"
    inside firewall-cmd --reload >/dev/null || fail "firewall-cmd --reload"
    reach "firewall-cmd --reload"
    inside systemctl stop firewalld
else
    log "firewalld not installed: its events are not tried"
fi

event "a stale handover file (an upgrade whose restart failed) does not keep the forwards at a stop"
inside sh -c 'echo "1 1" >/run/nft-portfwd/handover'
inside systemctl restart nft-portfwd || fail "restart nft-portfwd"
reach "restart with a stale handover"
inside journalctl -u nft-portfwd --no-pager -o cat --since "@$EVENT_AT" | grep -q 'handing the forwards over' &&
    fail "a handover file naming another process kept the forwards"
inside test -e /run/nft-portfwd/handover && fail "the stale handover file is left"

event "an upgrade's restart (the package's postinst configure: handover, then restart)"
inside /root/postinst configure 0.0.1 || fail "postinst configure"
reach "restart with handover"
inside journalctl -u nft-portfwd --no-pager -o cat --since "@$EVENT_AT" | grep -q 'handing the forwards over' ||
    fail "the restart did not hand the forwards over"
inside journalctl -u nft-portfwd --no-pager -o cat --since "@$EVENT_AT" | grep -q 'table inet portfwd unchanged' ||
    fail "the new watcher committed the table again"

log "-- status tells about the watcher"
out=$(inside nft-portfwd status 2>&1)
echo "$out" | grep -q '^  watcher: running, pid ' || fail "status does not show the watcher: $out"
inside journalctl -u nft-portfwd --no-pager -o short-precise | grep -E 'healed:|warning' | cut -c1-260 | sed "s/^/[$TEST] journal: /" | tail -n 30

if [ -e "$R/lib/systemd/system/prometheus-node-exporter.service" ]; then
    event "nft-portfwd-metrics.timer writes what Debian's node_exporter serves"
    prom=/var/lib/prometheus/node-exporter/nft-portfwd.prom
    inside mkdir -p /var/lib/prometheus/node-exporter
    inside rm -f "$prom"
    inside systemctl start prometheus-node-exporter || fail "start prometheus-node-exporter"
    inside systemctl enable --now nft-portfwd-metrics.timer >/dev/null 2>&1 || fail "enable --now nft-portfwd-metrics.timer"
    for _ in $(seq 100); do inside test -s "$prom" && break; sleep 0.1; done
    inside test -s "$prom" || fail "the timer wrote no $prom within 10 s: $(inside systemctl status nft-portfwd-metrics.service 2>&1 | tail -5)"
    first=$(inside stat -c %Y "$prom")
    # node_exporter on the container's loopback, as Prometheus would scrape it
    scrape() {
        inside python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5).read().decode())'
    }
    for _ in $(seq 50); do scrape >/dev/null 2>&1 && break; sleep 0.1; done
    served=$(scrape) || fail "node_exporter does not answer on 127.0.0.1:9100"
    echo "$served" | grep -qE '^nft_portfwd_forward_up\{.*host_port="8000".*\} 1$' || fail "node_exporter does not serve forward tcp 8000 as up"
    echo "$served" | grep -qE '^nft_portfwd_forward_packets_total\{.*host_port="5000".*protocol="udp".*\} [1-9]' ||
        fail "node_exporter serves no packets of forward udp 5000 (the probes sent some)"
    echo "$served" | grep -qx 'nft_portfwd_watcher_up 1' || fail "the metrics do not see the watcher: $(echo "$served" | grep '^nft_portfwd_watcher')"
    echo "$served" | grep -qE '^node_textfile_scrape_error 0$' || fail "node_exporter could not read the file"
    log "ok: node_exporter serves $(echo "$served" | grep -c '^nft_portfwd_') nft_portfwd_ series the timer wrote"
    # the interval: written again within the documented 15 s (and a second)
    for _ in $(seq 170); do [ "$(inside stat -c %Y "$prom")" -gt "$first" ] && break; sleep 0.1; done
    [ "$(inside stat -c %Y "$prom")" -gt "$first" ] || fail "the timer did not write $prom again within 17 s"
    log "ok: written again $(( $(inside stat -c %Y "$prom") - first )) s later"
    # without the collector's directory, the unit is skipped and writes nothing
    inside systemctl stop nft-portfwd-metrics.timer prometheus-node-exporter
    inside rm -rf /var/lib/prometheus/node-exporter
    inside systemctl start nft-portfwd-metrics.service || fail "start nft-portfwd-metrics.service without the directory"
    [ "$(inside systemctl show -p ConditionResult --value nft-portfwd-metrics.service)" = no ] ||
        fail "nft-portfwd-metrics.service ran without the collector's directory"
    inside test -e /var/lib/prometheus/node-exporter && fail "the unit created the collector's directory"
    log "ok: without /var/lib/prometheus/node-exporter the unit is skipped"
else
    log "prometheus-node-exporter not installed: the metrics timer is not tried"
fi

log "-- systemctl stop nft-portfwd"
inside systemctl stop nft-portfwd || fail "stop"
inside nft list ruleset | grep -q 'portfwd' && fail "something of ours is left after stop: $(inside nft list ruleset | grep portfwd)"
# libvirt turned forwarding on for its network (before or after our first apply): it stays
[ "$(inside cat /proc/sys/net/ipv4/ip_forward)" = "$step_forward_before" ] ||
    fail "ip_forward is $(inside cat /proc/sys/net/ipv4/ip_forward) after stop, $step_forward_before before"
inside journalctl -u nft-portfwd --no-pager -o cat | grep -q 'net.ipv4.ip_forward left at 1: libvirt forwards its own networks too' ||
    fail "the stop does not say why ip_forward stays on"
log "heal latencies (ms):"; sed "s/^/[$TEST]   /" "$D/latency"
[ -n "${LIVE_LATENCY_OUT:-}" ] && cp "$D/latency" "$LIVE_LATENCY_OUT"
log "PASS"
exit 0
