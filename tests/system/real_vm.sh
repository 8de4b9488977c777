#!/bin/bash
# Forwards to real VMs by name: Debian's real libvirtd in a container (container.sh) boots
# real QEMU guests (software emulation; the image is built from Debian packages by
# guest_image.sh) on libvirt's default NAT network, each taking its address by DHCP from
# libvirt's dnsmasq. A client namespace outside reaches them through nft-portfwd:
#   - a forward to `vm web` leads to web's lease; render names it, status shows it live;
#   - a stopped domain's forward waits (apply exit 0; status, list and diagnose say why);
#     started again, the next apply finds it;
#   - an unknown domain is refused by check and apply (exit 3), naming it;
#   - under nft-portfwd.service (the watcher): a destroyed domain's forward waits within 2 s
#     and leads to it again within 2 s of its new lease; a domain given a new MAC (so a new
#     address) is followed within 2 s, while a long-lived connection through the other
#     forward keeps flowing and that forward's counters keep counting;
#   - a domain with interfaces on two networks, picked by network;
#   - libvirtd restarted twice: the watcher reconnects and still follows a domain's stop.
# It prints the time from each lease to the first connection through the forward (the
# figures bench/RESULTS.md quotes).
# Needs what container.sh needs, and qemu-system-x86, busybox-static and cpio; exits 77
# without them. Nothing outside the container changes.
TEST=real_vm
for tool in qemu-system-x86_64 cpio; do command -v "$tool" >/dev/null || { echo "[$TEST] SKIP: $tool not installed"; exit 77; }; done
dpkg -L busybox-static >/dev/null 2>&1 || { echo "[$TEST] SKIP: busybox-static not installed"; exit 77; }
. "$(dirname "$0")/container.sh"

# ---------------------------------------------------------------- the guests
IMG=/var/lib/pf-vm
mkdir -p "$R$IMG"
bash "$ROOT/tests/system/guest_image.sh" "$R$IMG" || fail "building the guest image"
chmod 755 "$R$IMG" && chmod 644 "$R$IMG"/*
# no cgroup controllers inside the container (cgroup v1 is read-only there): real-vm.md
echo 'cgroup_controllers = [ ]' >>"$R/etc/libvirt/qemu.conf"
# domain NAME MAC: a guest on the default network
domain_xml() {
    cat <<XML
<domain type='qemu'><name>$1</name><memory unit='MiB'>192</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$IMG/vmlinuz</kernel><initrd>$IMG/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 guest=$1</cmdline></os>
  <on_reboot>destroy</on_reboot>
  <devices><interface type='network'><source network='default'/>
    <model type='e1000'/><mac address='$2'/></interface>
    <serial type='file'><source path='$IMG/$1.console'/></serial>
    <video><model type='none'/></video>
    <memballoon model='none'/></devices></domain>
XML
}
domain_xml web 52:54:00:00:00:79 >"$R/root/web.xml"
# a second network, and a guest with an interface on each
cat >"$R/etc/libvirt/qemu/networks/lab.xml" <<'XML'
<network><name>lab</name><forward mode='nat'/><bridge name='virbr1' stp='off' delay='0'/>
  <ip address='198.51.100.1' netmask='255.255.255.0'><dhcp>
    <range start='198.51.100.100' end='198.51.100.200'/></dhcp></ip></network>
XML
ln -sf ../lab.xml "$R/etc/libvirt/qemu/networks/autostart/lab.xml"
domain_xml multi 52:54:00:00:00:81 | sed "s|</interface>|</interface><interface type='network'><source network='lab'/><model type='e1000'/><mac address='52:54:00:00:01:81'/></interface>|" >"$R/root/multi.xml"
domain_xml db 52:54:00:00:00:80 >"$R/root/db.xml"
cat >"$R/etc/nft-portfwd.conf" <<'CONF'
host-ip = 203.0.113.1
forward tcp 8080 to vm web:9000 name web
forward tcp 8081 to vm db:9000 name db
CONF
install -m 0755 "$ROOT/tests/integration/peer.py" "$R/root/peer.py"
cat >"$R/root/topology.sh" <<'SH'
#!/bin/bash
ip netns list | grep -qw client && exit 0
ip netns add client
ip -n client link set lo up
ip link add pfc0 type veth peer name eth0 netns client
ip addr add 203.0.113.1/24 dev pfc0; ip link set pfc0 up
ip -n client addr add 203.0.113.2/24 dev eth0; ip -n client link set eth0 up
ip -n client route add default via 203.0.113.1
SH
chmod 0755 "$R/root/topology.sh"

boot
inside virsh -q define /root/web.xml >/dev/null || fail "define web"
inside virsh -q define /root/db.xml >/dev/null || fail "define db"
inside virsh -q define /root/multi.xml >/dev/null || fail "define multi"

# lease NAME: its address, once the guest says it has it (its console) and libvirt's lease
# says the same, within 90 s
lease() {
    local addr="" said=""
    for _ in $(seq 450); do
        said=$(grep -a "GUEST-READY $1 " "$R$IMG/$1.console" 2>/dev/null | tail -n1 | awk '{ sub("/.*", "", $3); print $3 }')
        addr=$(inside virsh -q domifaddr "$1" --source lease 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
        [ -n "$said" ] && [ "$said" = "$addr" ] && break
        addr=""
        sleep 0.2
    done
    [ -n "$addr" ] || fail "$1: no address within 90 s (console: $(tail -c 300 "$R$IMG/$1.console" 2>/dev/null); leases: $(inside virsh -q net-dhcp-leases default))"
    LEASE=$addr
}
# reaches PORT NAME: the client reaches guest NAME through host port PORT
reaches() {
    local got
    got=$(inside ip netns exec client timeout 3 python3 /root/peer.py send tcp 203.0.113.1 "$1" --timeout 2 2>&1)
    [ "$got" = "$2" ] || fail "port $1 should reach $2, got: $got"
    log "ok: port $1 reaches $2"
}
no_reply() {
    inside ip netns exec client timeout 3 python3 /root/peer.py send tcp 203.0.113.1 "$1" --timeout 1 >/dev/null 2>&1 &&
        fail "port $1 still reaches a guest"
    log "ok: port $1 reaches nothing"
}

log "-- start web and db"
t0=$(date +%s)
inside virsh -q start web >/dev/null || fail "start web"
inside virsh -q start db >/dev/null || fail "start db"
lease web; WEB=$LEASE
lease db; DB=$LEASE
log "web has $WEB, db has $DB, $(( $(date +%s) - t0 )) s after virsh start"

log "-- apply resolves both by their leases"
out=$(inside nft-portfwd apply 2>&1) || fail "apply: $out"
log "apply: $out"
reaches 8080 web
reaches 8081 db
out=$(inside nft-portfwd render 2>&1)
echo "$out" | grep -qF "#   tcp 8080 -> vm web:9000 at $WEB (DHCP lease)" || fail "render does not say where web is: $out"
out=$(inside nft-portfwd status --json 2>&1) || fail "status: $out"
python3 - "$out" "$WEB" <<'PY' || fail "status --json: $out"
import json, sys
d = json.loads(sys.argv[1])
web = [f for f in d["forwards"] if f["name"] == "web"][0]
assert web["state"] == "live", web
assert web["guest"] == sys.argv[2] and web["vm"]["domain"] == "web" and web["vm"]["source"] == "DHCP lease", web
PY
log "ok: status shows web live at its lease"

log "-- a stopped domain's forward waits"
inside virsh -q destroy db >/dev/null || fail "destroy db"
out=$(inside nft-portfwd apply 2>&1) || fail "apply with db stopped: $out"
echo "$out" | grep -q "waiting: tcp 8081 -> vm db:9000: domain db is not running" || fail "apply does not say db waits: $out"
reaches 8080 web
no_reply 8081
out=$(inside nft-portfwd status 2>&1)
echo "$out" | grep -q "waiting.*domain db is not running" || fail "status does not show db waiting: $out"
out=$(inside nft-portfwd list 2>&1)
echo "$out" | grep -q "tcp 8081 -> vm db:9000: waiting: domain db is not running" || fail "list does not show db waiting: $out"
echo "$out" | grep -q "tcp 8080 -> vm web:9000 at $WEB (DHCP lease)" || fail "list does not show where web is: $out"
out=$(inside nft-portfwd diagnose 2>&1)
echo "$out" | grep -q "^\[FAIL\] tcp 8081 -> vm db:9000 waits: domain db is not running" ||
    fail "diagnose does not name db's forward as waiting: $out"
log "ok: status, list and diagnose say db waits"
: >"$R$IMG/db.console"
inside virsh -q start db >/dev/null || fail "start db again"
lease db
out=$(inside nft-portfwd apply 2>&1) || fail "apply with db back: $out"
reaches 8081 db

log "-- an unknown domain is refused"
inside sh -c 'echo "forward tcp 8090 to vm nosuch:80" >/root/unknown.conf'
out=$(inside nft-portfwd --config /root/unknown.conf check 2>&1); rc=$?
[ "$rc" = 3 ] || fail "check of an unknown domain: exit $rc, expected 3: $out"
echo "$out" | grep -q "/root/unknown.conf:1: forward vm: 'nosuch' is no domain of qemu:///system" ||
    fail "check does not name the unknown domain: $out"
out=$(inside nft-portfwd --config /root/unknown.conf apply 2>&1); rc=$?
[ "$rc" = 3 ] || fail "apply of an unknown domain: exit $rc, expected 3: $out"
reaches 8080 web   # the table stays as it was

inside nft-portfwd flush >/dev/null 2>&1 || fail "flush"
inside sh -c 'printf "host-ip = 203.0.113.1\nforward tcp 8080 to vm web:9000 name web\nforward tcp 8081 to vm db:9000 name db\nforward tcp 8082 to vm multi:9000 network lab name multi\n" >/etc/nft-portfwd.conf'

# ---------------------------------------------------------------- the watcher follows
# state NAME: the state status --json gives forward NAME ("live", "waiting", ...)
state() {
    inside nft-portfwd status --json 2>/dev/null | python3 -c '
import json, sys
print([f["state"] for f in json.load(sys.stdin)["forwards"] if f["name"] == sys.argv[1]][0])' "$1"
}
# within SECONDS WHAT CMD...: CMD succeeds within SECONDS; prints the milliseconds it took
within() {
    local limit=$1 what=$2 start now
    shift 2
    start=$(date +%s%N)
    until "$@" >/dev/null 2>&1; do
        now=$(date +%s%N)
        [ $(( now - start )) -lt $(( limit * 1000000000 )) ] || fail "$what: not within $limit s"
        sleep 0.1
    done
    MS=$(( ($(date +%s%N) - start) / 1000000 ))
    log "ok: $what after $MS ms"
}
is_state() { [ "$(state "$1")" = "$2" ]; }
# what the watcher did: the table maps host port PORT (status looks libvirt up itself)
mapped() { inside nft list map inet portfwd fwd4 | grep -q "tcp . $1 "; }
unmapped() { ! mapped "$1"; }
reach_q() { [ "$(inside ip netns exec client timeout 2 python3 /root/peer.py send tcp 203.0.113.1 "$1" --timeout 1 2>/dev/null)" = "$2" ]; }
# new_lease NAME: wait for NAME's lease (its console says it), then time the forward to it
follow_lease() {
    lease "$1"
    within 2 "port $2 leads to $1 at $LEASE (from its lease)" reach_q "$2" "$1"
    echo "$1|$MS" >>"$D/lease_to_forward"
}

log "-- nft-portfwd.service follows the domains"
inside virsh -q start multi >/dev/null || fail "start multi"
inside systemctl start nft-portfwd || fail "start nft-portfwd"
for _ in $(seq 450); do
    MULTI_LAB=$(inside virsh -q domifaddr multi --source lease 2>/dev/null | awk '$4 ~ /^198\.51\.100\./ { sub("/.*", "", $4); print $4 }')
    [ -n "$MULTI_LAB" ] && break
    sleep 0.2
done
[ -n "$MULTI_LAB" ] || fail "multi has no lease on lab"
within 3 "port 8082 leads to multi on network lab ($MULTI_LAB)" reach_q 8082 multi
inside nft list map inet portfwd fwd4 | grep -q "tcp . 8082 comment \"multi\" : $MULTI_LAB . 9000" ||
    fail "8082 does not map to multi's address on lab: $(inside nft list map inet portfwd fwd4)"
reaches 8080 web
reaches 8081 db

# a long-lived connection to db through 8081, echoing a line every 0.2 s
cat >"$R/root/longlived.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("203.0.113.1", 8081), timeout=2)
f = s.makefile("rwb", buffering=0)
assert f.readline().strip() == b"db"
n = 0
while True:
    f.write(b"%d\n" % n)
    if f.readline().strip() != b"%d" % n:
        print("broken at", n, flush=True); sys.exit(1)
    n += 1
    open("/root/longlived.count", "w").write(str(n))
    time.sleep(0.2)
PY
inside ip netns exec client python3 /root/longlived.py >"$R/root/longlived.log" 2>&1 &
LONG=$!
sleep 1
packets_db() { inside nft-portfwd status --json | python3 -c '
import json, sys
print([f["packets"] for f in json.load(sys.stdin)["forwards"] if f["name"] == "db"][0])'; }
db_before=$(packets_db)

log "-- web destroyed: its forward waits"
inside virsh -q destroy web >/dev/null || fail "destroy web"
within 2 "the watcher took web's forward out of the table" unmapped 8080
is_state web waiting || fail "status does not say web waits"
no_reply 8080
log "-- web started: its forward follows the lease"
: >"$R$IMG/web.console"
inside virsh -q start web >/dev/null || fail "start web"
follow_lease web 8080

log "-- web gets a new MAC, so a new address"
OLD_WEB=$LEASE
inside virsh -q destroy web >/dev/null
inside sh -c "virsh dumpxml web | sed 's/52:54:00:00:00:79/52:54:00:00:02:79/' >/root/web2.xml"
inside virsh -q define /root/web2.xml >/dev/null || fail "define web with a new MAC"
: >"$R$IMG/web.console"
inside virsh -q start web >/dev/null || fail "start web with a new MAC"
follow_lease web 8080
[ "$LEASE" != "$OLD_WEB" ] || fail "the new MAC got the old address $OLD_WEB"
inside nft list map inet portfwd fwd4 | grep -qF ": $OLD_WEB . " && fail "the old address $OLD_WEB is still mapped"
kill -0 "$LONG" 2>/dev/null || fail "the long-lived connection to db broke: $(cat "$R/root/longlived.log")"
db_after=$(packets_db)
[ "$db_after" -gt "$db_before" ] || fail "db's counter went from $db_before to $db_after: not kept"
log "ok: the connection to db kept flowing ($(cat "$R/root/longlived.count") round trips), db's counter $db_before -> $db_after"
kill "$LONG" 2>/dev/null
wait "$LONG" 2>/dev/null

since=$(date +%s.%N)
for i in 1 2; do
    log "-- systemctl restart libvirtd ($i)"
    inside systemctl restart libvirtd || fail "restart libvirtd"
    # libvirt rebuilds its chains a moment after it reports started; the watcher heals that
    within 5 "web's forward works after libvirtd restart $i" reach_q 8080 web
    within 5 "db's forward works after libvirtd restart $i" reach_q 8081 db
done
sleep 3   # the watcher reconnects within LIBVIRT_RECONNECT_S and looks again
changed=$(inside journalctl -u nft-portfwd --no-pager -o cat --since "@$since" | grep 'vm forward now')
[ -z "$changed" ] || fail "a libvirtd restart changed the vm forwards: $changed"
log "ok: the restarts changed no vm forward (a guest that libvirt cannot report for a moment keeps its address)"
inside virsh -q destroy db >/dev/null || fail "destroy db after the restarts"
within 4 "after two libvirtd restarts the watcher still follows: db's forward is out of the table" unmapped 8081
inside journalctl -u nft-portfwd --no-pager -o cat | grep 'vm forward now' | sed "s/^/[$TEST] journal: /" | tail -n 12

log "-- a reload that drops the vm forwards stops following libvirt (no busy loop on its events)"
inside sh -c 'printf "host-ip = 203.0.113.1\nforward tcp 8000 to 192.0.2.50:80\n" >/etc/nft-portfwd.conf'
inside systemctl reload nft-portfwd || fail "reload"
sleep 1
MAIN=$(inside systemctl show -p MainPID --value nft-portfwd)
ticks0=$(inside awk '{ print $14 + $15 }' "/proc/$MAIN/stat")
inside virsh -q start db >/dev/null || fail "start db"
sleep 3
ticks=$(( $(inside awk '{ print $14 + $15 }' "/proc/$MAIN/stat") - ticks0 ))
[ "$ticks" -lt 50 ] || fail "the watcher used $ticks CPU ticks (1/100 s) in 3 s after a domain event"
unmapped 8081 || fail "a forward of the old config is still there"
log "ok: $ticks CPU ticks in 3 s with domain events after the reload"

inside systemctl stop nft-portfwd
for d in web db multi; do inside virsh -q destroy "$d" >/dev/null 2>&1; done
log "lease to the first connection through the forward (ms):"
sed "s/^/[$TEST]   /" "$D/lease_to_forward"
[ -n "${VM_LATENCY_OUT:-}" ] && cp "$D/lease_to_forward" "$VM_LATENCY_OUT"
log "PASS"
exit 0
