#!/bin/bash
# What the system tests share: a container booting this machine's own systemd
# (systemd-nspawn over an overlay of its root; see shared notes live-systemd.md) with
# nft-portfwd installed by `meson install` and libvirt's default network on 192.0.2.0/24.
# Source it after setting TEST; it skips (77) without root or the tools, and removes the
# container and its overlay on exit. Then: write into $R what the test needs, `boot`,
# run commands with `inside CMD`, `poweroff`. A test's /root/topology.sh in the container,
# if any, runs after each boot.
set -u
ROOT=${SOURCE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD_ROOT:-$ROOT/build}
log() { echo "[$TEST] $*"; }
skip() { echo "[$TEST] SKIP: $*"; exit 77; }
fail() { echo "[$TEST] FAIL: $*" >&2; [ -n "${PID1:-}" ] && inside journalctl -u nft-portfwd --no-pager -n 30 >&2; [ -n "${LIVE_KEEP:-}" ] && { echo "$PID1" >/tmp/live.pid1; sleep 300; }; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
for tool in systemd-nspawn nsenter virsh; do command -v "$tool" >/dev/null || skip "$tool not installed"; done
[ -e /lib/systemd/system/libvirtd.service ] || skip "libvirt-daemon-system not installed"
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || skip "dnsmasq-base not installed"

D=$(mktemp -d /var/tmp/pf-$TEST.XXXXXX) || exit 1
NAME="pf${TEST//_/}$$"
NSPAWN=""
PID1=""
cleanup() {
    local rc=$?
    trap - EXIT
    if [ -n "$PID1" ]; then
        nsenter -t "$PID1" -a systemctl poweroff >/dev/null 2>&1
    fi
    if [ -n "$NSPAWN" ]; then
        for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
        kill "$NSPAWN" 2>/dev/null
        wait "$NSPAWN" 2>/dev/null
    fi
    mountpoint -q "$D/root" && umount "$D/root"
    rm -rf "$D"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- the container's files
mkdir -p "$D/upper" "$D/work" "$D/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$D/upper,workdir=$D/work" "$D/root" || skip "cannot mount an overlay of /"
R=$D/root
python3 -c 'import uuid; print(uuid.uuid4().hex)' >"$R/etc/machine-id"
# services of this image that the test does not want
for unit in postgresql firewalld ufw docker containerd libvirt-guests e2scrub_reap nftables \
        apt-daily apt-daily-upgrade man-db systemd-timesyncd ssh cron prometheus cockpit; do
    ln -sf /dev/null "$R/etc/systemd/system/$unit.service"
done
rm -f "$R/etc/nft-portfwd.conf" "$R/var/lib/libvirt/dnsmasq/"* 2>/dev/null
DESTDIR=$R meson install -C "$BUILD" --no-rebuild --quiet >"$D/install.log" 2>&1 || { cat "$D/install.log"; fail "meson install into the container"; }
mkdir -p "$R/etc/libvirt/qemu/networks/autostart"
cat >"$R/etc/libvirt/qemu/networks/default.xml" <<'XML'
<network>
  <name>default</name>
  <forward mode='nat'/>
  <bridge name='virbr0' stp='off' delay='0'/>
  <ip address='192.0.2.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.0.2.100' end='192.0.2.200'/>
    </dhcp>
  </ip>
</network>
XML
ln -sf ../default.xml "$R/etc/libvirt/qemu/networks/autostart/default.xml"
# ---------------------------------------------------------------- booting
boot() {
    systemd-nspawn -D "$R" -b --private-network --register=no --keep-unit -M "$NAME" \
        --link-journal=no </dev/null >>"$D/console.log" 2>&1 &
    NSPAWN=$!
    PID1=""
    for _ in $(seq 150); do
        # PID 1 of the container: the systemd whose parent is the inner systemd-nspawn
        for p in $(pgrep -P "$NSPAWN" 2>/dev/null) $NSPAWN; do
            for c in $(pgrep -P "$p" -x systemd 2>/dev/null); do PID1=$c; done
        done
        [ -n "$PID1" ] && break
        sleep 0.2
    done
    [ -n "$PID1" ] || fail "the container did not boot: $(tail -n 20 "$D/console.log")"
    for _ in $(seq 150); do
        case $(inside systemctl is-system-running 2>/dev/null) in running | degraded) break ;; esac
        sleep 0.2
    done
    inside systemctl is-active -q libvirtd || inside systemctl start libvirtd || fail "libvirtd does not run"
    for _ in $(seq 50); do inside ip link show virbr0 >/dev/null 2>&1 && break; sleep 0.2; done
    inside ip link show virbr0 >/dev/null 2>&1 || fail "libvirt's default network did not start"
    [ ! -x "$R/root/topology.sh" ] || inside /root/topology.sh || fail "building the topology inside"
    log "booted: PID 1 is $PID1"
}
inside() { nsenter -t "$PID1" -a "$@"; }
poweroff() {
    inside systemctl poweroff >/dev/null 2>&1
    for _ in $(seq 150); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
    wait "$NSPAWN" 2>/dev/null
    NSPAWN=""
    PID1=""
}

