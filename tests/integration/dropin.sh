#!/bin/bash
# Drop-in files: every *.conf of --config-dir is read after the main config, in lexical
# order, as more forwards of one config. Forwards of two drop-ins both work; a setting in a
# drop-in, a duplicate across files and a bad forward in a drop-in are refused with the
# file and line (both files for a duplicate), exit 3, and the live forwards unchanged;
# files that are not NAME.conf are not read; status names the file a forward came from.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/main.conf"
dir="$PF_TMP/portfwd.d"
mkdir -p "$dir"
printf 'host-ip = %s\n' "$HOST_IP" >"$cfg"
printf '# the web guest\nforward tcp 8080 to %s:80\n' "$GUEST_IP" >"$dir/10-web.conf"
printf 'forward udp 5000 to %s\n' "$GUEST_IP" >"$dir/20-dns.conf"
printf 'forward tcp 9999 to %s:22\n' "$GUEST_IP" >"$dir/30-old.conf.bak"
printf 'forward tcp 9998 to %s:22\n' "$GUEST_IP" >"$dir/.hidden.conf"
pf_serve "$GUEST" tcp 0.0.0.0 80 web
pf_serve "$GUEST" udp 0.0.0.0 5000 dns

step "forwards from two drop-in files"
pf_run_ok --config "$cfg" --config-dir "$dir" apply
assert_line "$PF_OUT" '^nft-portfwd: applied 2 forwards; table inet portfwd changed$' "two forwards, from two files"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 from 10-web.conf"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 dns "udp 5000 from 20-dns.conf"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 9999 "a .conf.bak file is not read"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 9998 "a hidden file is not read"
pf_run --config "$cfg" --config-dir "$dir" status
pf_expect_rc 0 "status in sync"
assert_line "$PF_OUT" "10-web.conf:2 .*tcp 8080" "status names the drop-in file and line of a forward"
assert_line "$PF_OUT" "20-dns.conf:1 .*udp 5000" "and of the other"
before=$(hnft -s list ruleset)

step "a setting in a drop-in is refused"
printf 'forward tcp 8081 to %s:81\nmasquerade = no\n' "$GUEST_IP" >"$dir/40-bad.conf"
pf_run --config "$cfg" --config-dir "$dir" apply
pf_expect_rc 3 "a drop-in with a setting"
assert_match "$PF_ERR" "40-bad.conf:2: masquerade: is a setting, and settings stay in the main config file" "the error names the file, the line and the setting"
assert_eq "$(hnft -s list ruleset)" "$before" "the live forwards are unchanged"

step "a duplicate across files names both"
printf 'forward tcp 8080 to %s:8080\n' "$GUEST_IP" >"$dir/40-bad.conf"
pf_run --config "$cfg" --config-dir "$dir" apply
pf_expect_rc 3 "the same port in two drop-ins"
assert_match "$PF_ERR" "40-bad.conf:1: forward: tcp port 8080 is already forwarded by .*10-web.conf:2" "the error names both files and lines"
assert_eq "$(hnft -s list ruleset)" "$before" "the live forwards are unchanged"

step "a bad forward in a drop-in"
printf 'forward tcp 8082 to 300.1.1.1:80\n' >"$dir/40-bad.conf"
pf_run --config "$cfg" --config-dir "$dir" apply
pf_expect_rc 3 "a bad address in a drop-in"
assert_match "$PF_ERR" "40-bad.conf:1: " "the error names the drop-in and its line"
assert_eq "$(hnft -s list ruleset)" "$before" "the live forwards are unchanged"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 still forwarded"

step "the directory must exist when given"
pf_run --config "$cfg" --config-dir "$PF_TMP/nowhere" render
pf_expect_rc 3 "a missing --config-dir"
assert_match "$PF_ERR" "cannot read config directory .*nowhere: No such file or directory" "the error names the directory"
pf_run --config "$cfg" --config-dir "$dir" --config-dir "$dir" render
pf_expect_rc 2 "--config-dir twice"

step "removing a drop-in removes its forward"
rm -f "$dir/40-bad.conf" "$dir/20-dns.conf"
pf_run_ok --config "$cfg" --config-dir "$dir" apply
assert_line "$PF_OUT" 'changed elements in place' "the change is made in place"
assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "udp 5000 is gone with its file"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 stays"
pf_pass
