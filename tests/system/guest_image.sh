#!/bin/bash
# A guest for tests/system/real_vm.sh, from Debian packages only: Debian's kernel (the
# package linux-image-amd64 depends on, fetched with apt-get download) with its e1000
# module, and busybox-static. Its /init brings every interface up by DHCP (sending the
# domain's name as host name; eth0 carries the default route), serves HTTP on port 80 (the page says the guest's name), answers TCP on
# port 9000 with its name and keeps the connection open, and prints "GUEST-READY NAME ADDR"
# on the serial console. The name comes from the kernel command line (guest=NAME).
# usage: guest_image.sh OUTDIR    -> OUTDIR/vmlinuz, OUTDIR/initrd.gz
set -eu
OUT=$(cd "${1:?usage: guest_image.sh OUTDIR}" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
chmod 755 "$W"   # apt-get download writes as _apt
kernel=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$kernel" ] || { echo "guest_image.sh: no kernel package behind linux-image-amd64" >&2; exit 1; }
apt-get download "$kernel" >download.log 2>&1 || { cat download.log >&2; exit 1; }
dpkg-deb -x ./"$kernel"_*.deb k
cp k/boot/vmlinuz-* "$OUT/vmlinuz"

r=$W/root
mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/www" "$r/tmp"
cp "$(dpkg -L busybox-static | grep -m1 '/busybox$')" "$r/bin/busybox"
cp "$(find k/lib/modules -name e1000.ko | head -n1)" "$r/e1000.ko"
cat >"$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
name=guest
for word in $(cat /proc/cmdline); do
    case $word in guest=*) name=${word#guest=} ;; esac
done
insmod /e1000.ko
ip link set lo up
echo "$name" >/www/index.html
httpd -p 80 -h /www
# port 9000: the name, then the connection stays open, echoing (a long-lived connection)
nc -ll -p 9000 -e /answer.sh &
# DHCP on every interface, in the background: a lease renewed or changed applies as it comes
for dev in $(ls /sys/class/net); do
    case $dev in eth*) ip link set "$dev" up; udhcpc -i "$dev" -x hostname:"$name" -s /dhcp.sh -b -t 100 -T 1 ;; esac
done
while :; do
    addr=$(ip -4 -o addr show dev eth0 | awk '{ print $4 }')
    [ -n "$addr" ] && break
    sleep 0.2
done
echo "GUEST-READY $name $addr" >/dev/ttyS0
while :; do sleep 3600; done
INIT
cat >"$r/answer.sh" <<'ANSWER'
#!/bin/sh
cat /www/index.html
exec cat
ANSWER
cat >"$r/dhcp.sh" <<'DHCP'
#!/bin/sh
case $1 in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
        [ "$interface" = eth0 ] && [ -n "$router" ] && ip route replace default via "${router%% *}" dev eth0
        ;;
    deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
DHCP
chmod 755 "$r/init" "$r/dhcp.sh" "$r/answer.sh"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1 >"$OUT/initrd.gz")
