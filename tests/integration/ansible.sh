#!/bin/bash
# The Ansible playbook of docs/ansible.md (docs/ansible/site.yml and its role), run by
# Debian's ansible-core against this machine inside the test's host namespace, with its
# paths pointed at PF_TMP and the build tree: the first run writes one drop-in per guest
# and reports changed, and a client reaches the guests through the forwards; the second
# run reports changed=0 and leaves the ruleset byte-identical; a table deleted behind the
# tool's back makes the apply task (alone) changed; a host without its guest list, a guest
# with a bad address (refused before its drop-in is written) and a guest forwarding a port
# another guest forwards (refused by apply, exit 3, naming both drop-ins) each fail the
# play and leave the ruleset byte-identical and the old forwards working; taking guests
# out of the list removes only the drop-ins the playbook wrote; --check changes nothing;
# the example inventory's files are accepted by apply. The files shown in docs/ansible.md
# must be byte-identical to those under docs/ansible/.
. "$(dirname "$0")/lib.sh"
pf_find_binary
pf_find_python

SRC=$(cd "${SOURCE_ROOT:-$PF_LIB_DIR/../..}" && pwd)
PLAYBOOK="$SRC/docs/ansible/site.yml"
[ -f "$PLAYBOOK" ] || fail "no playbook at $PLAYBOOK"

step "docs/ansible.md shows every file of docs/ansible/ verbatim"
# Each file is shown under a heading "### `docs/ansible/PATH`", in the first fenced
# block after it.
"$PF_PYTHON" - "$SRC" <<'PY' || fail "docs/ansible.md and docs/ansible/ differ (see above)"
import difflib, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
lines = (root / "docs/ansible.md").read_text().split("\n")
shown, bad = {}, False
i = 0
while i < len(lines):
    m = re.fullmatch(r"### `(docs/ansible/[^`]+)`", lines[i])
    i += 1
    if not m:
        continue
    while i < len(lines) and not lines[i].startswith("```"):
        i += 1
    start = i + 1
    i = start
    while i < len(lines) and lines[i] != "```":
        i += 1
    if i >= len(lines):
        sys.exit("docs/ansible.md: the block of %s has no end" % m.group(1))
    if m.group(1) in shown:
        print("docs/ansible.md shows %s twice" % m.group(1)); bad = True
    shown[m.group(1)] = "".join(l + "\n" for l in lines[start:i])
files = sorted(str(p.relative_to(root)) for p in (root / "docs/ansible").rglob("*") if p.is_file())
for f in files:
    if f not in shown:
        print("docs/ansible.md does not show %s" % f); bad = True
        continue
    text = (root / f).read_text()
    if text != shown[f]:
        bad = True
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), shown[f].splitlines(True),
                                                   f, "docs/ansible.md: " + f))
for f in sorted(set(shown) - set(files)):
    print("docs/ansible.md shows %s, which is not a file" % f); bad = True
if bad:
    sys.exit(1)
print("[ansible] ok: docs/ansible.md shows %d files verbatim: %s" % (len(files), ", ".join(files)))
PY

command -v ansible-playbook >/dev/null || pf_skip "ansible-playbook not found (apt-get install ansible-core)"
pf_setup

# Everything Ansible writes stays in PF_TMP: its home, its temporary directories, its
# config (an empty one, so no ansible.cfg of this machine applies).
A="$PF_TMP/ansible"
mkdir -p "$A/home" "$A/local" "$A/remote"
: >"$A/ansible.cfg"
ETC="$PF_TMP/etc"
CFG="$ETC/nft-portfwd.conf"
DIR="$ETC/nft-portfwd.d"
mkdir -p "$ETC"
py=/usr/bin/python3
[ -x "$py" ] || py=$PF_PYTHON
printf '[hypervisors]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n' "$py" >"$A/inventory"
home_ansible_before=$([ -e "${HOME:-/root}/.ansible" ] && echo yes || echo no)

# pf_vars FILE [GUESTS_JSON]: extra vars pointing the playbook at PF_TMP and the build
# tree, and the guests (none given: no nft_portfwd_guests at all); already root, so no
# become (no sudo needed).
pf_vars() {
    cat >"$1" <<JSON
{
  "nft_portfwd_binary": "$NFT_PORTFWD",
  "nft_portfwd_config": "$CFG",
  "nft_portfwd_config_dir": "$DIR",
  "nft_portfwd_state_dir": "$PF_STATE",
  "ansible_become": false,
  ${2:+"\"nft_portfwd_guests\": $2,"}
  "nft_portfwd_settings": {"host-ip": "$HOST_IP"}
}
JSON
}

# pf_play NAME VARS [ansible-playbook options...]: run the playbook in the host namespace
# (inventory $A/inventory unless options give another); PLAY_RC, PLAY_OUT, and from the
# PLAY RECAP line PLAY_CHANGED, PLAY_FAILED (of its last host); PLAY_APPLY is the
# status word of the apply task (ok, changed, fatal, skipping) or "none".
pf_play() {
    local name=$1 out="$PF_TMP/play-$1.out" vars=$2 recap
    shift 2
    [ $# -gt 0 ] || set -- -i "$A/inventory"
    ip netns exec "$HOST" env -i PATH="$PATH" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        ${ASAN_OPTIONS+"ASAN_OPTIONS=$ASAN_OPTIONS"} ${UBSAN_OPTIONS+"UBSAN_OPTIONS=$UBSAN_OPTIONS"} \
        HOME="$A/home" ANSIBLE_CONFIG="$A/ansible.cfg" \
        ANSIBLE_LOCAL_TEMP="$A/local" ANSIBLE_REMOTE_TEMP="$A/remote" \
        ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 PYTHONDONTWRITEBYTECODE=1 \
        timeout 150 ansible-playbook "$@" "$PLAYBOOK" -e "@$vars" >"$out" 2>&1
    PLAY_RC=$?
    PLAY_OUT=$(cat "$out")
    recap=$(grep -E '^[^ ]+ +: ok=' "$out" | tail -n1)
    PLAY_CHANGED=$(sed -n 's/.* changed=\([0-9]*\).*/\1/p' <<<"$recap")
    PLAY_FAILED=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$recap")
    PLAY_APPLY=$(awk '/^TASK \[(nft_portfwd : )?Apply the forwards/ { f = 1; next } f && NF { sub(/:$/, "", $1); print $1; exit }' "$out")
    PLAY_APPLY=${PLAY_APPLY:-none}
    pf_log "ansible-playbook ($name) -> rc $PLAY_RC; recap: ${recap:-none}; apply task: $PLAY_APPLY"
    [ -n "$recap" ] || { sed "s/^/[$PF_TEST]   | /" "$out"; fail "ansible-playbook ($name) printed no PLAY RECAP line"; }
}

# pf_play_ok NAME VARS: the play must succeed
pf_play_ok() {
    pf_play "$@"
    if [ "$PLAY_RC" -ne 0 ] || [ "$PLAY_FAILED" != 0 ]; then
        sed "s/^/[$PF_TEST]   | /" "$PF_TMP/play-$1.out"
        fail "ansible-playbook ($1): expected success, got rc $PLAY_RC and failed=$PLAY_FAILED"
    fi
}

# guest_json NAME ADDRESS FORWARDS_JSON: one entry of nft_portfwd_guests
guest_json() { printf '{"name": "%s", "address": "%s", "forwards": %s}' "$1" "$2" "$3"; }
WEB=$(guest_json web "$GUEST_IP" '[{"port": 8080, "to_port": 80}]')
DNS=$(guest_json dns "$GUEST_IP" '[{"port": 5000, "proto": "udp"}]')
SSH=$(guest_json ssh "$GUEST_IP" '[{"port": 2222, "to_port": 22, "from": ["203.0.113.0/24"]}]')
TYPO=$(guest_json typo 192.0.2.300 '[{"port": 8081, "to_port": 80}]')
WEB2=$(guest_json web2 "$GUEST_IP" '[{"port": 8080, "to_port": 8080}]')
pf_vars "$A/good.json" "[$WEB, $DNS, $SSH]"

# A drop-in written by hand, named like the playbook's but without its marker line: the
# playbook must leave it alone.
mkdir -p "$DIR"
printf '# written by hand\nforward tcp 9000 to %s\n' "$GUEST_IP" >"$DIR/50-hand.conf"

pf_serve "$GUEST" tcp 0.0.0.0 80 web
pf_serve "$GUEST" udp 0.0.0.0 5000 dns
pf_serve "$GUEST" tcp 0.0.0.0 22 ssh
pf_serve "$GUEST" tcp 0.0.0.0 9000 hand

step "first run: drop-ins written, apply reports changed, the forwards work"
assert_table_absent "no table before the first run"
pf_play_ok first "$A/good.json"
assert_eq "$PLAY_APPLY" changed "the apply task of the first run is changed"
[ "${PLAY_CHANGED:-0}" -ge 1 ] || fail "first run: expected changed>=1 in the recap, got '$PLAY_CHANGED'"
pf_log "ok: the first run's recap says changed=$PLAY_CHANGED"
assert_eq "$(cat "$DIR/50-web.conf")" "# Managed by Ansible: nft-portfwd playbook, guest web. Edits here are overwritten.
forward tcp 8080 to $GUEST_IP:80" "50-web.conf is the template's rendering"
assert_eq "$(tail -n1 "$DIR/50-ssh.conf")" "forward tcp 2222 to $GUEST_IP:22 from 203.0.113.0/24" "50-ssh.conf has the from networks"
assert_eq "$(stat -c '%a %U' "$DIR/50-dns.conf")" "644 root" "a drop-in is mode 0644, owner root"
assert_line "$(cat "$CFG")" "^host-ip = $HOST_IP\$" "the main config holds the host's settings"
assert_table_present "the first run creates table inet portfwd"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 reaches guest web (50-web.conf)"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 dns "udp 5000 reaches guest dns (50-dns.conf)"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 ssh "tcp 2222 reaches guest ssh (50-ssh.conf)"
assert_reaches "$CLIENT" tcp "$HOST_IP" 9000 hand "tcp 9000 of the hand-made drop-in"
ruleset=$(hnft -s list ruleset)

step "second run: nothing changed"
pf_play_ok second "$A/good.json"
assert_eq "$PLAY_APPLY" ok "the apply task of the second run is ok"
assert_eq "$PLAY_CHANGED" 0 "the second run's recap says changed=0"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "the ruleset is byte-identical after the second run"

step "the table deleted behind the tool's back: the next run puts it back, apply changed"
hnft delete table inet portfwd || fail "nft delete table inet portfwd"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 8080 "tcp 8080 is gone with the table"
pf_play_ok healed "$A/good.json"
assert_eq "$PLAY_APPLY" changed "the apply task is changed although no file changed"
assert_eq "$PLAY_CHANGED" 1 "the recap says changed=1 (the apply task alone)"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "the ruleset is byte-identical to the first run's"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 reaches guest web again"

step "a host that does not list its guests fails, and keeps its forwards"
pf_vars "$A/forgot.json"
files_before=$(cd "$DIR" && ls -l --time-style=+%s.%N)
pf_play forgot "$A/forgot.json"
[ "$PLAY_RC" -ne 0 ] || fail "a host without nft_portfwd_guests: ansible-playbook exits 0"
assert_eq "$PLAY_FAILED" 1 "the recap says failed=1"
assert_match "$PLAY_OUT" "set nft_portfwd_guests for localhost" "the play says which variable is missing"
assert_eq "$(cd "$DIR" && ls -l --time-style=+%s.%N)" "$files_before" "no drop-in was touched"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "the ruleset is byte-identical"

step "a guest with a bad address: the play fails before its drop-in is written"
pf_vars "$A/typo.json" "[$WEB, $DNS, $SSH, $TYPO]"
pf_play typo "$A/typo.json"
[ "$PLAY_RC" -ne 0 ] || fail "a guest with a bad address: ansible-playbook exits 0"
assert_eq "$PLAY_FAILED" 1 "the recap says failed=1"
assert_eq "$PLAY_APPLY" none "apply did not run"
assert_line "$PLAY_OUT" "^failed: \[localhost\] \(item=typo\)" "the drop-in task fails for guest typo"
assert_match "$PLAY_OUT" "nft-portfwd: [^ ]*:2: forward[^']*'192\.0\.2\.300'" "the output holds the tool's error with the line and the address"
[ ! -e "$DIR/50-typo.conf" ] || fail "50-typo.conf was written"
pf_log "ok: 50-typo.conf was not written"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "the ruleset is byte-identical after the bad address"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 still reaches guest web"

step "a guest forwarding a port another guest forwards: apply refuses, the play fails"
pf_vars "$A/clash.json" "[$WEB, $DNS, $SSH, $WEB2]"
pf_play clash "$A/clash.json"
[ "$PLAY_RC" -ne 0 ] || fail "a port forwarded twice: ansible-playbook exits 0"
assert_eq "$PLAY_FAILED" 1 "the recap says failed=1"
assert_match "$PLAY_OUT" "nft-portfwd apply failed with exit 3 \(the config is refused; the live forwards stay as they were\)" "the play fails with the tool's exit 3"
assert_match "$PLAY_OUT" "nft-portfwd: $DIR/50-web2\.conf:2: forward: tcp port 8080 is already forwarded by $DIR/50-web\.conf:2" \
    "the output holds the tool's error naming both drop-ins and lines"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "the ruleset is byte-identical after the refused apply"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 still reaches guest web, not web2"
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 dns "udp 5000 still reaches guest dns"

step "the fix: guests web2 and dns taken out of the list"
pf_vars "$A/fixed.json" "[$WEB, $SSH]"
pf_play_ok fixed "$A/fixed.json"
assert_eq "$PLAY_APPLY" changed "the apply task is changed (dns's forward is gone)"
if [ -e "$DIR/50-web2.conf" ] || [ -e "$DIR/50-dns.conf" ]; then
    fail "50-web2.conf or 50-dns.conf is still there: $(ls "$DIR")"
fi
pf_log "ok: the playbook removed 50-web2.conf and 50-dns.conf"
assert_eq "$(cd "$DIR" && echo *)" "50-hand.conf 50-ssh.conf 50-web.conf" "the hand-made drop-in stays"
assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "udp 5000 is gone with guest dns"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 web "tcp 8080 still reaches guest web"
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 ssh "tcp 2222 still reaches guest ssh"
assert_reaches "$CLIENT" tcp "$HOST_IP" 9000 hand "tcp 9000 of the hand-made drop-in still works"
ruleset=$(hnft -s list ruleset)
pf_play_ok fixed-again "$A/fixed.json"
assert_eq "$PLAY_CHANGED" 0 "the run after the fix, repeated, says changed=0"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "and leaves the ruleset byte-identical"

step "--check: the same list, nothing would change"
pf_play_ok check "$A/fixed.json" -i "$A/inventory" --check --diff
assert_eq "$PLAY_CHANGED" 0 "a --check run of the same list says changed=0"
assert_eq "$PLAY_APPLY" skipping "--check does not apply"
assert_eq "$(hnft -s list ruleset)" "$ruleset" "and leaves the ruleset byte-identical"

step "the example inventory: each hypervisor's files are accepted by apply"
for hv in hv1.example.org hv2.example.org; do
    e="$PF_TMP/$hv"
    mkdir -p "$e/state"
    cat >"$A/$hv.json" <<JSON
{
  "nft_portfwd_binary": "$NFT_PORTFWD",
  "nft_portfwd_config": "$e/nft-portfwd.conf",
  "nft_portfwd_config_dir": "$e/nft-portfwd.d",
  "nft_portfwd_state_dir": "$e/state",
  "ansible_become": false,
  "ansible_python_interpreter": "$py"
}
JSON
    pf_play_ok "$hv" "$A/$hv.json" -i "$SRC/docs/ansible/inventory.yml" --limit "$hv" -c local
    assert_eq "$PLAY_APPLY" changed "$hv: the apply task is changed"
done
e="$PF_TMP/hv1.example.org"
assert_eq "$(cat "$e/nft-portfwd.d/50-mail.conf")" "# Managed by Ansible: nft-portfwd playbook, guest mail. Edits here are overwritten.
forward tcp 25 to 192.168.122.11
forward tcp 2201 to 192.168.122.11:22 from 198.51.100.0/24 name mail-ssh limit 5/minute log" "hv1's 50-mail.conf is the one docs/ansible.md shows, with a name, a limit and a log"
assert_eq "$(grep -v '^#' "$e/nft-portfwd.d/50-web.conf")" "forward tcp 80 to vm web
forward tcp 443 to vm web" "hv1's 50-web.conf forwards to the libvirt domain web by name"
e="$PF_TMP/hv2.example.org"
assert_eq "$(grep -v '^#' "$e/nft-portfwd.conf")" "host-ip = 203.0.113.20, 2001:db8:20::1
public-ip = 198.51.100.20" "hv2's main config has its settings, a list joined by commas"
assert_eq "$(grep -v '^#' "$e/nft-portfwd.d/50-dns.conf")" "forward tcp,udp 53 to 192.168.122.20" "hv2's 50-dns.conf: tcp,udp"
assert_eq "$(grep -v '^#' "$e/nft-portfwd.d/50-game.conf")" "forward udp 27015-27020 to [2001:db8:122::21]
forward tcp 8443 to [2001:db8:122::21]:443 keep-source" "hv2's 50-game.conf: a range, an IPv6 guest in brackets, keep-source"
pf_run --config "$e/nft-portfwd.conf" --config-dir "$e/nft-portfwd.d" --state-dir "$e/state" status
pf_expect_rc 0 "status after hv2's play"

step "Ansible left nothing outside the test's directory"
assert_eq "$(find "$A/remote" "$A/local" -mindepth 1 -maxdepth 1 -name 'ansible-tmp*' | wc -l)" 0 "no temporary directory of Ansible is left"
if [ "$home_ansible_before" = no ] && [ -e "${HOME:-/root}/.ansible" ]; then
    fail "ansible-playbook created ${HOME:-/root}/.ansible"
fi
pf_log "ok: nothing written to ${HOME:-/root}/.ansible"
pf_pass
