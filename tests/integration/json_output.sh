#!/bin/bash
# Machine-readable results for configuration management: apply --json reports
# "changed": true, then false on a repeat; flush likewise; errors are JSON too
# (with the message on stderr); --quiet prints nothing but errors.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_setup

cfg="$PF_TMP/portfwd.conf"
printf 'host-ip = %s\nforward tcp 8080 to %s:80\n' "$HOST_IP" "$GUEST_IP" >"$cfg"
json() { printf '%s' "$PF_OUT" | "$PF_PYTHON" -c "import json,sys; d=json.load(sys.stdin); print(json.dumps(d$1))"; }

step "apply --json: changed, then unchanged"
pf_run_ok --config "$cfg" apply --json
assert_eq "$(json '["changed"]')" true "first apply: changed"
assert_eq "$(json '["table_changed"]')" true "first apply: table changed"
assert_eq "$(json '["forwards"]')" 1 "one forward"
assert_eq "$(json '["sysctls_set"][0]["name"]')" '"net.ipv4.ip_forward"' "ip_forward reported as set"
assert_eq "$(json '["ok"]')" true "ok"
pf_run_ok --config "$cfg" apply --json
assert_eq "$(json '["changed"]')" false "second apply: nothing changed"
assert_eq "$(json '["sysctls_set"]')" "[]" "no sysctl set the second time"

step "check --json and --quiet"
pf_run_ok --config "$cfg" check --json
assert_eq "$(json '["changed"]')" false "check changes nothing"
pf_run_ok --config "$cfg" apply --quiet
assert_eq "$PF_OUT" "" "apply --quiet prints nothing"
pf_run_ok --config "$cfg" status -q
assert_eq "$PF_OUT" "" "status -q prints nothing"

step "errors as JSON"
printf 'forward tcp 8080 to 300.1.1.1\n' >"$PF_TMP/bad.conf"
pf_run --config "$PF_TMP/bad.conf" apply --json
pf_expect_rc 3 "bad config"
assert_eq "$(json '["ok"]')" false "ok is false"
assert_eq "$(json '["exit_code"]')" 3 "exit_code in the JSON"
assert_match "$(json '["error"]')" "forward guest address: '300.1.1.1'" "the error in the JSON"
assert_match "$PF_ERR" "300.1.1.1" "and on stderr"
pf_run --config "$PF_TMP/bad.conf" apply --quiet
pf_expect_rc 3 "bad config, quiet"
assert_eq "$PF_OUT" "" "quiet: nothing on stdout"
assert_match "$PF_ERR" "300.1.1.1" "quiet: the error still on stderr"

step "flush --json: changed, then unchanged"
pf_run_ok flush --json
assert_eq "$(json '["changed"]')" true "flush deleted the table"
assert_eq "$(json '["table_deleted"]')" true "table_deleted"
assert_eq "$(json '["sysctls_restored"][0]["value"]')" '"0"' "ip_forward restored to 0"
pf_run_ok flush --json
assert_eq "$(json '["changed"]')" false "second flush: nothing to do"
pf_pass
