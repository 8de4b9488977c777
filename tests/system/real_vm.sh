#!/bin/bash
# Forwards to real VMs by name: Debian's real libvirtd in a container (container.sh) boots
# real QEMU guests (software emulation; the image is built from Debian packages by
# guest_image.sh) on libvirt's default NAT network, each taking its address by DHCP from
# libvirt's dnsmasq. A client namespace outside reaches them through nft-portfwd:
#   - a forward to `vm web` leads to web's lease; render names it, status shows it live;
#   - a stopped domain's forward waits (apply exit 0, status and render say why); started
#     again, the next apply finds it;
#   - an unknown domain is refused by check and apply (exit 3), naming it.
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
inside virsh -q destroy web >/dev/null 2>&1
inside virsh -q destroy db >/dev/null 2>&1
log "PASS"
exit 0
