#!/bin/bash
# Beside the real ufw (Debian's package, enabled in the test's host namespace only): its
# default forward policy drop. With integrate = off the forwards are dropped, apply warns
# and diagnose fails naming ip filter FORWARD. With the default, apply inserts plain
# accepts at the top of FORWARD that iptables -S reads back; a hand-deleted accept is
# drift that the next apply heals; flush leaves ufw's tables byte-identical to before.
# ufw writes ENABLED=yes and its rules files under /etc/ufw: fw_ufw puts them back, and so
# does this test's EXIT trap, whatever happens.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/firewalls.sh"
pf_find_binary
command -v ufw >/dev/null || pf_skip "ufw is not installed (apt-get install ufw)"
command -v iptables-restore >/dev/null || pf_skip "iptables (iptables-nft) not installed"
pf_setup

UFW_FILES=(/etc/ufw/ufw.conf /etc/ufw/user.rules /etc/ufw/user6.rules)
UFW_SAVED="$PF_TMP/ufw-saved"
mkdir -p "$UFW_SAVED" || fail "mkdir $UFW_SAVED"
for f in "${UFW_FILES[@]}"; do
    [ -e "$f" ] && { cp -p "$f" "$UFW_SAVED/" || fail "saving $f"; }
done
# shellcheck disable=SC2317  # called from the EXIT trap
ufw_restore() {
    local f
    for f in "${UFW_FILES[@]}"; do
        [ -e "$UFW_SAVED/${f##*/}" ] || continue
        cmp -s "$UFW_SAVED/${f##*/}" "$f" && continue
        cp -p "$UFW_SAVED/${f##*/}" "$f" && echo "[$PF_TEST] restored $f" >&2
    done
}
pf_on_exit ufw_restore

step "ufw enabled in the host namespace"
fw_ufw "$HOST" || fail "enabling ufw in $HOST"
for f in "${UFW_FILES[@]}"; do
    [ -e "$UFW_SAVED/${f##*/}" ] || continue
    assert_same_file "$UFW_SAVED/${f##*/}" "$f" "$f is as it was after ufw enable in the namespace"
done
assert_line "$(ip netns exec "$HOST" iptables -S FORWARD)" '^-P FORWARD DROP$' "ufw set the FORWARD policy to DROP"
assert_line "$(ip netns exec "$HOST" iptables -S FORWARD)" '^-A FORWARD -j ufw-before-forward$' "ufw's chains are in FORWARD"
CX_BLOCKS=('ip filter FORWARD \(ufw\)')
CX_INSERTS=('ip filter FORWARD')
CX_IPTABLES=yes
pf_cx_prepare

pf_cx_phase_off
pf_cx_phase_auto
pf_cx_phase_drift
pf_cx_phase_flush
pf_pass
