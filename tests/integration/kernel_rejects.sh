#!/bin/bash
# A kernel rejection (not a config error) leaves everything as it was: another process
# owns table inet portfwd (nft's 'flags owner'), so the kernel refuses our transaction.
# apply must report it (exit 5), leave the ruleset byte-identical, turn ip_forward back
# off and record nothing; once the owner is gone, apply works.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
printf 'host-ip = %s\nforward tcp 8080 to %s:80\n' "$HOST_IP" "$GUEST_IP" >"$cfg"
pf_serve "$GUEST" tcp 0.0.0.0 80 guest

step "another process owns table inet portfwd"
pf_own_table inet portfwd held
before=$(hnft -s list ruleset)

step "apply is refused by the kernel"
pf_run --config "$cfg" apply
pf_expect_rc 5 "apply against a table owned by another process"
# The kernel refuses the change; or, before that, libnftables 1.0.6 prints the owned table
# as invalid JSON (a stray pointer in its table-flags output), which apply reports before
# it changes anything. Either way: exit 5, nothing changed, the cause named.
assert_match "$PF_ERR" "the kernel refused the change|another process owns a table|is held by process" "the error names the cause"
assert_eq "$(printf '%s\n' "$PF_ERR" | wc -l)" 1 "one line of error"
assert_eq "$(hnft -s list ruleset)" "$before" "ruleset byte-identical after the rejection"
assert_eq "$(pf_ip_forward "$HOST")" 0 "ip_forward turned back off"
[ -e "$PF_STATE/ipv4-forward.before" ] && fail "a rejected apply left a saved sysctl value"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "nothing forwards"

step "the owner goes away; apply works"
pf_release_table inet portfwd
pf_run --config "$cfg" apply
pf_expect_rc 0 "apply after the owner left"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "forward works"
pf_pass
