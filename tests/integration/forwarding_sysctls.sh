#!/bin/bash
# flush puts back every forwarding switch apply changed. Writing net.ipv4.ip_forward (or
# net.ipv6.conf.all.forwarding) sets every interface's own switch and 'default' too, so
# an interface that forwarded on its own before apply used to lose it at flush. Here one
# interface forwards IPv4 and IPv6 with the global switches off; after apply and flush it
# still does, the others stay off, and so does 'default'. A failed apply puts them back too.
# Where forwarding was on before apply, nothing was overwritten, and flush leaves every
# interface's switch as the admin set it since.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup
pf_setup_ipv6

CFG="$PF_TMP/portfwd.conf"
printf 'forward tcp 8080 to %s:80\nforward tcp 8443 to [%s]:443\n' "$GUEST_IP" "$GUEST_IP6" >"$CFG"
conf() { ip netns exec "$HOST" cat "/proc/sys/net/$1/conf/$2/forwarding"; }
# every interface's switch and default's, both families, one "name=value" a line
switches() {
    local fam dir
    for fam in ipv4 ipv6; do
        for dir in /proc/sys/net/$fam/conf/*; do
            echo "$fam ${dir##*/}=$(ip netns exec "$HOST" cat "$dir/forwarding")"
        done
    done
}

step "one interface forwards on its own; the global switches are off"
pf_sysctl_set "$HOST" "net.ipv4.conf.$HOST_IF_R.forwarding" 1
pf_sysctl_set "$HOST" "net.ipv6.conf.$HOST_IF_R.forwarding" 1
assert_eq "$(pf_ip_forward "$HOST")" 0 "net.ipv4.ip_forward is 0"
assert_eq "$(conf ipv4 "$HOST_IF_R")" 1 "$HOST_IF_R forwards IPv4 on its own"
switches >"$PF_TMP/before"

step "apply turns everything on, flush puts every switch back"
pf_run_ok --config "$CFG" apply
assert_eq "$(conf ipv4 "$HOST_IF_C")" 1 "apply turned on IPv4 forwarding everywhere"
assert_eq "$(conf ipv6 "$HOST_IF_C")" 1 "apply turned on IPv6 forwarding everywhere"
pf_run_ok flush
assert_line "$PF_OUT" "net.ipv4.ip_forward put back to 0 \(and per interface: .*$HOST_IF_R=1" "flush says which interfaces it put back"
switches >"$PF_TMP/after"
assert_same_file "$PF_TMP/before" "$PF_TMP/after" "every forwarding switch is as before apply"

step "forwarding on before apply: flush leaves what the admin set per interface since"
pf_sysctl_set "$HOST" net.ipv4.ip_forward 1
pf_run_ok --config "$CFG" apply
pf_sysctl_set "$HOST" "net.ipv4.conf.$HOST_IF_C.forwarding" 0   # the admin, after apply
pf_run_ok flush
assert_eq "$(pf_ip_forward "$HOST")" 1 "ip_forward stays 1, as before apply"
assert_eq "$(conf ipv4 "$HOST_IF_C")" 0 "the admin's own switch of $HOST_IF_C is left as set"
pf_sysctl_set "$HOST" net.ipv4.ip_forward 0
pf_sysctl_set "$HOST" "net.ipv4.conf.$HOST_IF_R.forwarding" 1
pf_sysctl_set "$HOST" "net.ipv6.conf.$HOST_IF_R.forwarding" 1
switches >"$PF_TMP/before"

step "a failed apply puts every switch back too"
pf_own_table inet portfwd held
pf_run --config "$CFG" apply
pf_expect_rc 5 "apply against a held table"
switches >"$PF_TMP/after-failed"
assert_same_file "$PF_TMP/before" "$PF_TMP/after-failed" "every forwarding switch is as before the failed apply"
pf_release_table inet portfwd
pf_pass
