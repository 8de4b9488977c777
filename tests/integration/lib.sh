# shellcheck shell=bash
# Topology and assertion helpers for the nft-portfwd integration tests.
#
# Source it from a test script, then call pf_setup:
#
#   client 203.0.113.2/24 --(pfc<pid> 203.0.113.1/24)--+
#                                                       |  host (ip_forward=0 at start)
#   guest  192.0.2.79/24  --(pfg<pid> 192.0.2.1/24)  ---+
#   remote 198.51.100.2/24 --(pfr<pid> 198.51.100.1/24)-+
#
# client, guest and remote route everything via the host. Every namespace is
# private to this run (pf-<pid>-<test>-<role>) and is deleted, with every
# process the test started, by the EXIT trap. Nothing touches the main
# namespace's ruleset or sysctls.
#
# Exit codes: 0 pass, 1 fail, 77 skip (not root / no netns).

set -u

PF_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PF_PEER="$PF_LIB_DIR/peer.py"
PF_TEST=${PF_TEST:-$(basename "$0" .sh)}
PF_TAG="pf-$$-${PF_TEST}"

CLIENT="$PF_TAG-client"
HOST="$PF_TAG-host"
GUEST="$PF_TAG-guest"
REMOTE="$PF_TAG-remote"

# host-side interface names (<= 15 chars)
HOST_IF_C="pfc$$"
HOST_IF_G="pfg$$"
HOST_IF_R="pfr$$"
PEER_IF="pfh$$"     # the other end, in client / guest / remote

CLIENT_IP=203.0.113.2
HOST_IP=203.0.113.1
HOST_GW_IP=192.0.2.1
GUEST_IP=192.0.2.79
HOST_REMOTE_IP=198.51.100.1
REMOTE_IP=198.51.100.2

PF_NS_CREATED=()
PF_PIDS=()
PF_TMP=""
PF_STATE=""
PF_OUT=""
PF_ERR=""
PF_RC=0
PF_STEP=""

# ---------------------------------------------------------------- messages

pf_log()  { echo "[$PF_TEST] $*"; }
pf_skip() { echo "[$PF_TEST] SKIP: $*"; exit 77; }
fail() {
    echo "[$PF_TEST] FAIL: $*" >&2
    [ -n "$PF_STEP" ] && echo "[$PF_TEST]   (during: $PF_STEP)" >&2
    exit 1
}
pf_pass() { echo "[$PF_TEST] PASS"; exit 0; }
step() { PF_STEP="$*"; pf_log "-- $*"; }

# ---------------------------------------------------------------- setup

pf_cleanup() {
    local rc=$? pid ns
    trap - EXIT INT TERM
    for pid in "${PF_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PF_PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    for ns in "${PF_NS_CREATED[@]}"; do
        ip netns del "$ns" 2>/dev/null || echo "[$PF_TEST] warning: could not delete netns $ns" >&2
    done
    if [ -n "$PF_TMP" ] && [ -d "$PF_TMP" ]; then
        rm -rf -- "$PF_TMP"
    fi
    exit "$rc"
}

pf_require_root() {
    [ "$(id -u)" -eq 0 ] || pf_skip "needs root (uid $(id -u))"
    command -v ip >/dev/null || pf_skip "ip (iproute2) not found"
    command -v nft >/dev/null || pf_skip "nft not found"
}

# Resolve interpreter once (avoids version-manager shims in every call).
pf_find_python() {
    PF_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || pf_skip "python3 not found"
}

pf_find_binary() {
    pf_require_root
    NFT_PORTFWD=${NFT_PORTFWD:-${SOURCE_ROOT:-$PF_LIB_DIR/../..}/build/nft-portfwd}
    [ -x "$NFT_PORTFWD" ] || fail "binary not found or not executable: NFT_PORTFWD=$NFT_PORTFWD"
}

pf_add_ns() {
    ip netns add "$1" 2>/dev/null || pf_skip "ip netns add $1 failed (no CAP_NET_ADMIN?)"
    PF_NS_CREATED+=("$1")
    ip -n "$1" link set lo up || fail "lo up in $1"
    # no duplicate address detection on the links created later (IPv6 tests)
    ip netns exec "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 2>/dev/null
}

# pf_link PEER_NS HOST_IFNAME HOST_ADDR/LEN PEER_ADDR/LEN
pf_link() {
    local peer_ns=$1 hif=$2 haddr=$3 paddr=$4
    ip -n "$HOST" link add "$hif" type veth peer name "$PEER_IF" netns "$peer_ns" \
        || fail "creating veth $hif <-> $peer_ns"
    ip -n "$HOST" addr add "$haddr" dev "$hif" || fail "addr $haddr on $hif"
    ip -n "$peer_ns" addr add "$paddr" dev "$PEER_IF" || fail "addr $paddr in $peer_ns"
    ip -n "$HOST" link set "$hif" up || fail "link up $hif"
    ip -n "$peer_ns" link set "$PEER_IF" up || fail "link up in $peer_ns"
    ip -n "$peer_ns" route add default via "${haddr%/*}" || fail "default route in $peer_ns"
}

# Build the four-namespace topology, temp dir and state dir.
pf_setup() {
    pf_require_root
    pf_find_python
    trap pf_cleanup EXIT
    trap 'exit 1' INT TERM
    PF_TMP=$(mktemp -d "/tmp/$PF_TAG.XXXXXX") || fail "mktemp"
    PF_STATE="$PF_TMP/state"
    mkdir -p "$PF_STATE"

    pf_add_ns "$CLIENT"
    pf_add_ns "$HOST"
    pf_add_ns "$GUEST"
    pf_add_ns "$REMOTE"
    pf_link "$CLIENT" "$HOST_IF_C" "$HOST_IP/24" "$CLIENT_IP/24"
    pf_link "$GUEST" "$HOST_IF_G" "$HOST_GW_IP/24" "$GUEST_IP/24"
    pf_link "$REMOTE" "$HOST_IF_R" "$HOST_REMOTE_IP/24" "$REMOTE_IP/24"

    # Start with forwarding off so the tests prove apply turns it on.
    pf_sysctl_set "$HOST" net.ipv4.ip_forward 0
    [ "$(pf_ip_forward "$HOST")" = 0 ] || fail "could not set ip_forward=0 in host namespace"
    # The test's own namespaces must start with empty rulesets.
    [ -z "$(ip netns exec "$HOST" nft list ruleset)" ] || fail "host namespace ruleset not empty at start"
}

# Optional IPv6 on the same links (no DAD, so addresses are usable at once):
#   client 2001:db8:1::2 - host 2001:db8:1::1 | host 2001:db8:2::1 - guest 2001:db8:2::79
#   host 2001:db8:3::1 - remote 2001:db8:3::2; IPv6 forwarding in host set to 0.
CLIENT_IP6=2001:db8:1::2
HOST_IP6=2001:db8:1::1
HOST_GW_IP6=2001:db8:2::1
GUEST_IP6=2001:db8:2::79
HOST_REMOTE_IP6=2001:db8:3::1
REMOTE_IP6=2001:db8:3::2

pf_setup_ipv6() {
    local ns
    for ns in "$CLIENT" "$HOST" "$GUEST" "$REMOTE"; do
        [ "$(ip netns exec "$ns" cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null)" = 0 ] \
            || pf_skip "IPv6 not available in namespace $ns"
    done
    pf_sysctl_set "$HOST" net.ipv6.conf.all.forwarding 0
    ip -n "$HOST" addr add "$HOST_IP6/64" dev "$HOST_IF_C" nodad || fail "ipv6 addr host-client"
    ip -n "$CLIENT" addr add "$CLIENT_IP6/64" dev "$PEER_IF" nodad || fail "ipv6 addr client"
    ip -n "$HOST" addr add "$HOST_GW_IP6/64" dev "$HOST_IF_G" nodad || fail "ipv6 addr host-guest"
    ip -n "$GUEST" addr add "$GUEST_IP6/64" dev "$PEER_IF" nodad || fail "ipv6 addr guest"
    ip -n "$HOST" addr add "$HOST_REMOTE_IP6/64" dev "$HOST_IF_R" nodad || fail "ipv6 addr host-remote"
    ip -n "$REMOTE" addr add "$REMOTE_IP6/64" dev "$PEER_IF" nodad || fail "ipv6 addr remote"
    ip -n "$CLIENT" -6 route add default via "$HOST_IP6" || fail "ipv6 route client"
    ip -n "$GUEST" -6 route add default via "$HOST_GW_IP6" || fail "ipv6 route guest"
    ip -n "$REMOTE" -6 route add default via "$HOST_REMOTE_IP6" || fail "ipv6 route remote"
}

pf_ip6_forward() { ip netns exec "$1" cat /proc/sys/net/ipv6/conf/all/forwarding; }

# ---------------------------------------------------------------- sysctl / nft

pf_sysctl_set() { ip netns exec "$1" sysctl -qw "$2=$3" || fail "sysctl $2=$3 in $1"; }
pf_ip_forward() { ip netns exec "$1" cat /proc/sys/net/ipv4/ip_forward; }

# nft in the host namespace
hnft() { ip netns exec "$HOST" nft "$@"; }

# pf_own_table FAMILY TABLE CHAIN-SPEC: another process (an `nft -i` fed through a fifo on
# fd 9) creates table FAMILY TABLE with 'flags owner' and the chain "CHAIN-SPEC" in it, and
# holds them while it lives; pf_release_table ends it and waits until the table is gone.
pf_own_table() {
    local family=$1 table=$2 chain=$3 fifo="$PF_TMP/owner.fifo"
    mkfifo "$fifo" || fail "mkfifo"
    ip netns exec "$HOST" nft -i <"$fifo" >/dev/null 2>&1 &
    PF_OWNER=$!
    PF_PIDS+=("$PF_OWNER")
    exec 9>"$fifo"
    echo "add table $family $table { flags owner; }" >&9
    echo "add chain $family $table $chain" >&9
    for _ in $(seq 50); do hnft list chain "$family" "$table" "${chain%% *}" >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "the owner's table $family $table did not appear"
}
pf_release_table() {   # FAMILY TABLE
    exec 9>&-
    wait "$PF_OWNER" 2>/dev/null
    for _ in $(seq 50); do hnft list table "$1" "$2" >/dev/null 2>&1 || return 0; sleep 0.1; done
    fail "the owner's table $1 $2 is still there"
}

# ---------------------------------------------------------------- the binary

# pf_run ARGS...: run the binary in the host namespace with the per-test state
# dir; sets PF_RC, PF_OUT, PF_ERR. Never fails by itself.
pf_state_args() {
    local a
    PF_STATE_ARGS=()
    for a in "$@"; do
        case "$a" in --state-dir | --state-dir=*) return ;; esac
    done
    for a in "$@"; do
        case "$a" in apply|flush|check|status|add|remove|diagnose|render|list) PF_STATE_ARGS=(--state-dir "$PF_STATE"); return ;; esac
    done
}

pf_run() {
    local o="$PF_TMP/run.out" e="$PF_TMP/run.err"
    pf_state_args "$@"
    ip netns exec "$HOST" timeout 20 "$NFT_PORTFWD" "${PF_STATE_ARGS[@]}" "$@" >"$o" 2>"$e"
    PF_RC=$?
    PF_OUT=$(cat "$o")
    PF_ERR=$(cat "$e")
    pf_log "nft-portfwd $* -> rc $PF_RC"
    [ -n "$PF_OUT" ] && printf '%s\n' "$PF_OUT" | sed "s/^/[$PF_TEST]   stdout: /"
    [ -n "$PF_ERR" ] && printf '%s\n' "$PF_ERR" | sed "s/^/[$PF_TEST]   stderr: /"
    return 0
}

# pf_expect_rc N DESCRIPTION
pf_expect_rc() {
    [ "$PF_RC" -eq "$1" ] || fail "$2: expected exit $1, got $PF_RC (stdout: '$PF_OUT' stderr: '$PF_ERR')"
}

# pf_run_ok ARGS...: run and require exit 0
pf_run_ok() {
    pf_run "$@"
    pf_expect_rc 0 "nft-portfwd $*"
}

# ---------------------------------------------------------------- traffic

# pf_serve NS PROTO ADDR PORT NAME: start a server, wait until it is bound.
pf_serve() {
    local ns=$1 proto=$2 addr=$3 port=$4 name=$5 i
    local rf="$PF_TMP/ready.$name.$proto.$port.$$.$RANDOM"
    ip netns exec "$ns" "$PF_PYTHON" "$PF_PEER" serve "$proto" "$addr" "$port" "$name" \
        --ready-file "$rf" >/dev/null 2>"$rf.err" &
    PF_PIDS+=("$!")
    for ((i = 0; i < 60; i++)); do
        [ -e "$rf" ] && return 0
        kill -0 "$!" 2>/dev/null || fail "server $name $proto $addr:$port died: $(cat "$rf.err")"
        sleep 0.05
    done
    fail "server $name $proto $addr:$port not ready after 3 s"
}

# pf_send NS PROTO ADDR PORT [TIMEOUT]: prints the reply; non-zero on no reply.
pf_send() {   # NS PROTO ADDR PORT [TIMEOUT [peer.py send options: --source ADDR, --sport PORT]]
    local ns=$1 proto=$2 addr=$3 port=$4 t=${5:-2}
    shift $(($# < 5 ? $# : 5))
    ip netns exec "$ns" timeout 5 "$PF_PYTHON" "$PF_PEER" send "$proto" "$addr" "$port" --timeout "$t" "$@" 2>"$PF_TMP/send.err"
}

# assert_reaches NS PROTO ADDR PORT EXPECTED_NAME DESCRIPTION [peer.py send options...]
# The reply must come from the server named EXPECTED_NAME; PF_SEEN is then set
# to the source address that server saw.
assert_reaches() {
    local ns=$1 proto=$2 addr=$3 port=$4 want=$5 desc=$6 reply
    shift 6
    reply=$(pf_send "$ns" "$proto" "$addr" "$port" 2 "$@") \
        || fail "$desc: $proto $addr:$port from ${ns##*-}${*:+ ($*)} got no reply ($(cat "$PF_TMP/send.err")), expected '$want'"
    case "$reply" in
        "$want "*) ;;
        *) fail "$desc: $proto $addr:$port from ${ns##*-}${*:+ ($*)} answered by '$reply', expected '$want'" ;;
    esac
    PF_SEEN=${reply#"$want "}
    pf_log "ok: $desc ($proto $addr:$port${*:+ $*} -> '$reply')"
}

# assert_no_reply NS PROTO ADDR PORT DESCRIPTION [peer.py send options...]
assert_no_reply() {
    local ns=$1 proto=$2 addr=$3 port=$4 desc=$5 reply
    shift 5
    if reply=$(pf_send "$ns" "$proto" "$addr" "$port" 1 "$@"); then
        fail "$desc: $proto $addr:$port from ${ns##*-}${*:+ ($*)} unexpectedly answered '$reply'"
    fi
    pf_log "ok: $desc ($proto $addr:$port${*:+ $*}: no answer)"
}

# ---------------------------------------------------------------- assertions

assert_eq() {   # ACTUAL EXPECTED DESCRIPTION
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
    pf_log "ok: $3"
}

assert_match() {   # STRING ERE DESCRIPTION
    [[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
    pf_log "ok: $3"
}

assert_line() {   # TEXT ERE DESCRIPTION: some line of TEXT matches
    printf '%s\n' "$1" | grep -Eq -- "$2" || fail "$3: no line of '$1' matches /$2/"
    pf_log "ok: $3"
}

assert_no_line() {   # TEXT ERE DESCRIPTION: no line of TEXT matches
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then fail "$3: '$1' matches /$2/"; fi
    pf_log "ok: $3"
}

assert_table_absent() {   # DESCRIPTION
    if hnft list table inet portfwd >/dev/null 2>&1; then
        fail "$1: table inet portfwd still exists in host namespace"
    fi
    pf_log "ok: $1"
}

assert_table_present() {   # DESCRIPTION
    hnft list table inet portfwd >/dev/null 2>&1 \
        || fail "$1: table inet portfwd missing in host namespace"
    pf_log "ok: $1"
}

# assert_same_file A B DESCRIPTION: byte-identical, shows a diff otherwise
assert_same_file() {
    if ! cmp -s "$1" "$2"; then
        diff -u "$1" "$2" | head -40 >&2
        fail "$3: outputs differ (see diff above)"
    fi
    pf_log "ok: $3"
}

# ---------------------------------------------------------------- additions: second guest, send options

# A libvirt-like guest network: bridge pfb<pid> in the host namespace carries
# 192.0.2.1/24, with the first guest's veth and a second guest's veth enslaved:
#
#   guest  192.0.2.79/24 --(pfg<pid>)--+
#                                      +-- bridge pfb<pid> 192.0.2.1/24 (host)
#   guest2 192.0.2.80/24 --(pfq<pid>)--+
#
# Call after pf_setup (IPv4 only; do not combine with pf_setup_ipv6). guest2
# routes everything via the host, like the first guest.
GUEST2="$PF_TAG-guest2"
GUEST2_IP=192.0.2.80
HOST_BR="pfb$$"
HOST_IF_G2="pfq$$"

pf_setup_guest_bridge() {
    pf_add_ns "$GUEST2"
    ip -n "$HOST" addr del "$HOST_GW_IP/24" dev "$HOST_IF_G" || fail "removing $HOST_GW_IP from $HOST_IF_G"
    ip -n "$HOST" link add "$HOST_BR" type bridge || fail "creating bridge $HOST_BR"
    ip -n "$HOST" link set "$HOST_IF_G" master "$HOST_BR" || fail "enslaving $HOST_IF_G to $HOST_BR"
    ip -n "$HOST" addr add "$HOST_GW_IP/24" dev "$HOST_BR" || fail "addr $HOST_GW_IP on $HOST_BR"
    ip -n "$HOST" link set "$HOST_BR" up || fail "link up $HOST_BR"
    ip -n "$HOST" link add "$HOST_IF_G2" type veth peer name "$PEER_IF" netns "$GUEST2" \
        || fail "creating veth $HOST_IF_G2 <-> $GUEST2"
    ip -n "$HOST" link set "$HOST_IF_G2" master "$HOST_BR" || fail "enslaving $HOST_IF_G2 to $HOST_BR"
    ip -n "$HOST" link set "$HOST_IF_G2" up || fail "link up $HOST_IF_G2"
    ip -n "$GUEST2" addr add "$GUEST2_IP/24" dev "$PEER_IF" || fail "addr $GUEST2_IP in $GUEST2"
    ip -n "$GUEST2" link set "$PEER_IF" up || fail "link up in $GUEST2"
    ip -n "$GUEST2" route add default via "$HOST_GW_IP" || fail "default route in $GUEST2"
    # the guest keeps its default route via 192.0.2.1 (now the bridge); make sure it is there
    ip -n "$GUEST" route replace default via "$HOST_GW_IP" || fail "default route in $GUEST"
}

# pf_ruleset_snapshot FILE: the host namespace's whole ruleset (to prove "no kernel change")
pf_ruleset_snapshot() { hnft -s list ruleset >"$1" 2>&1 || fail "nft list ruleset in host namespace"; }

# ---------------------------------------------------------------- additions: other firewalls (coexist_*.sh)

# pf_on_exit COMMAND: run COMMAND (eval'd) from the EXIT trap, before pf_cleanup
# deletes the namespaces and $PF_TMP; the test's exit status is kept. Call after pf_setup.
PF_EXIT_HOOKS=()
pf_cleanup_with_hooks() {
    local rc=$? h
    trap - EXIT
    for h in "${PF_EXIT_HOOKS[@]}"; do
        eval "$h" || echo "[$PF_TEST] warning: exit hook failed: $h" >&2
    done
    (exit "$rc")
    pf_cleanup
}
pf_on_exit() {
    PF_EXIT_HOOKS+=("$1")
    trap pf_cleanup_with_hooks EXIT
}

# pf_json FILE EXPR: evaluate a Python expression over d (FILE parsed as JSON), print it
# (lists, dicts and booleans as JSON).
pf_json() {
    "$PF_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"d": d})
print(json.dumps(v) if isinstance(v, (bool, list, dict)) or v is None else v)
' "$1" "$2" 2>"$PF_TMP/json.err" || fail "reading $2 from $1: $(cat "$PF_TMP/json.err")"
}

# pf_cx_tables: every table of the host namespace but inet portfwd, "FAMILY NAME" a line
pf_cx_tables() {
    hnft list tables | awk '$1 == "table" && !($2 == "inet" && $3 == "portfwd") { print $2 " " $3 }'
}

# pf_cx_snapshot SUFFIX: the list of foreign tables and each one's stateless listing
pf_cx_snapshot() {
    local t
    pf_cx_tables >"$PF_TMP/cx-tables.$1" || fail "nft list tables ($1)"
    while read -r t; do
        # shellcheck disable=SC2086
        hnft -s list table $t >"$PF_TMP/cx-${t// /_}.$1" 2>/dev/null || fail "nft -s list table $t ($1)"
    done <"$PF_TMP/cx-tables.$1"
}

# pf_cx_compare SUFFIX_A SUFFIX_B DESCRIPTION: same foreign tables, each byte-identical
pf_cx_compare() {
    local t
    assert_same_file "$PF_TMP/cx-tables.$1" "$PF_TMP/cx-tables.$2" "same foreign tables $3"
    while read -r t; do
        assert_same_file "$PF_TMP/cx-${t// /_}.$1" "$PF_TMP/cx-${t// /_}.$2" "table $t byte-identical $3"
    done <"$PF_TMP/cx-tables.$1"
}

# pf_cx_ours_outside: how many rules with a comment starting "nft-portfwd" the foreign tables hold
pf_cx_ours_outside() {
    local t n=0 c
    while read -r t; do
        # shellcheck disable=SC2086
        c=$(hnft list table $t 2>/dev/null | grep -c 'comment "nft-portfwd')
        n=$((n + c))
    done < <(pf_cx_tables)
    echo "$n"
}

# pf_cx_iptables_readable: iptables -S / ip6tables -S on every table iptables-nft owns in
# the host namespace must succeed without "incompatible"; PF_CX_IPT gets all their output.
pf_cx_iptables_readable() {
    local fam tbl tool out rc
    PF_CX_IPT=""
    while read -r fam tbl; do
        case "$fam" in ip) tool=iptables ;; ip6) tool=ip6tables ;; *) continue ;; esac
        case "$tbl" in filter|nat|mangle|raw|security) ;; *) continue ;; esac
        out=$(ip netns exec "$HOST" "$tool" -S -t "$tbl" 2>&1)
        rc=$?
        [ "$rc" -eq 0 ] || fail "$tool -S -t $tbl exits $rc: $out"
        if printf '%s\n' "$out" | grep -qi incompatible; then
            fail "$tool -S -t $tbl cannot read the table: $(printf '%s\n' "$out" | grep -i incompatible)"
        fi
        PF_CX_IPT+="$out"$'\n'
    done < <(pf_cx_tables)
    pf_log "ok: iptables -S / ip6tables -S read every iptables-nft table without 'incompatible'"
}

# pf_cx_delete_first_ours FAMILY TABLE CHAIN [ERE]: delete, by handle, the first rule of ours
# in CHAIN (matching ERE, if given), as an administrator or libvirt rebuilding its chain would.
pf_cx_delete_first_ours() {
    local line handle
    line=$(hnft -a list chain "$1" "$2" "$3" 2>/dev/null | grep 'comment "nft-portfwd' | grep -E -- "${4:-.}" | head -n1)
    handle=${line##*# handle }
    [[ $handle =~ ^[0-9]+$ ]] || fail "no rule of nft-portfwd with a handle in $1 $2 $3: '$line'"
    hnft delete rule "$1" "$2" "$3" handle "$handle" || fail "nft delete rule $1 $2 $3 handle $handle"
    pf_log "deleted by hand from $1 $2 $3: ${line#"${line%%[![:space:]]*}"}"
}

# pf_cx_diagnose CONFIG: run diagnose in the host namespace (PF_RC, PF_OUT, PF_ERR)
pf_cx_diagnose() {
    pf_run --config "$1" diagnose --state-dir "$PF_STATE"
}

# pf_cx_status_json CONFIG NAME: status --json into $PF_TMP/NAME.json (must be JSON)
pf_cx_status_json() {
    pf_run --config "$1" status --json
    printf '%s\n' "$PF_OUT" >"$PF_TMP/$2.json"
    "$PF_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$PF_TMP/$2.json" 2>"$PF_TMP/json.err" \
        || fail "status --json output is not JSON: $(cat "$PF_TMP/json.err")"
}

# pf_cx_accepts NAME FAMILY TABLE INSERT_CHAIN: the "accepts" of the firewalls entries of
# status --json NAME that insert into that chain, '|'-separated ("" when there is none).
pf_cx_accepts() {
    pf_json "$PF_TMP/$1.json" "'|'.join(sorted(set(f['accepts'] for f in d.get('firewalls', []) if (f['family'], f['table'], f.get('insert_chain')) == ('$2', '$3', '$4'))))"
}

# ---- the coexist_*.sh scenario, in phases. A test builds the other firewall in $HOST
# (firewalls.sh), sets these, then calls pf_cx_prepare and the phases in order:
#   CX_BLOCKS    EREs, one per chain that drops the forwards, as apply's warning and
#                diagnose name it: 'ip filter FORWARD \(libvirt-iptables\).*LIBVIRT_FWI'
#   CX_INSERTS   "FAMILY TABLE CHAIN" where apply puts its accepts, one per firewall
#   CX_IPTABLES  yes: those chains are iptables-nft's; iptables -S must read and list them
# The forwards: tcp 8000 -> guest:8000, udp 5000 -> guest:5000, tcp 2222 -> guest:22; the
# guest's tcp 9000 is not forwarded (the other firewall must still guard it).
CX_BLOCKS=()
CX_INSERTS=()
CX_IPTABLES=no

pf_cx_prepare() {
    CX_CFG="$PF_TMP/portfwd.conf"
    CX_CFG_OFF="$PF_TMP/portfwd-off.conf"
    cat >"$CX_CFG" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000
forward udp 5000 to $GUEST_IP:5000
forward tcp 2222 to $GUEST_IP:22
CONF
    { echo "integrate = off"; cat "$CX_CFG"; } >"$CX_CFG_OFF"
    pf_serve "$GUEST" tcp 0.0.0.0 8000 guest
    pf_serve "$GUEST" udp 0.0.0.0 5000 guest
    pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
    pf_serve "$GUEST" tcp 0.0.0.0 9000 guest9000
    [ -n "$(pf_cx_tables)" ] || fail "the other firewall left no table in the host namespace"
    pf_cx_snapshot before
}

# pf_cx_traffic_blocked DESCRIPTION / pf_cx_traffic_works DESCRIPTION
pf_cx_traffic_blocked() {
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "tcp 8000 $1"
    assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "udp 5000 $1"
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 2222 "tcp 2222 $1"
}
pf_cx_traffic_works() {
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "tcp 8000 reaches the guest $1"
    assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest "udp 5000 reaches the guest $1"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "tcp 2222 reaches the guest's 22 $1"
}

# diagnose must FAIL naming every CX_BLOCKS chain, and fail for nothing else
pf_cx_diagnose_fails() {   # CONFIG WHEN
    local re line
    pf_cx_diagnose "$1"
    pf_expect_rc 1 "diagnose $2"
    for re in "${CX_BLOCKS[@]}"; do
        assert_line "$PF_OUT" "^\[FAIL\] .*$re" "diagnose $2: a FAIL line names /$re/"
    done
    while IFS= read -r line; do
        for re in "${CX_BLOCKS[@]}"; do [[ $line =~ $re ]] && continue 2; done
        fail "diagnose $2: a FAIL line that names no blocking chain: '$line'"
    done < <(printf '%s\n' "$PF_OUT" | grep '^\[FAIL\]')
}
pf_cx_diagnose_passes() {   # WHEN
    local re
    pf_cx_diagnose "$CX_CFG"
    pf_expect_rc 0 "diagnose $1"
    assert_no_line "$PF_OUT" '^\[FAIL\]' "diagnose $1: no FAIL line"
    for re in "${CX_BLOCKS[@]}"; do
        assert_line "$PF_OUT" "^\[PASS\] .*$re" "diagnose $1: a PASS line names /$re/"
    done
}

# status (text and --json) in sync with our accepts in place in every CX_INSERTS chain
pf_cx_status_in_place() {   # WHEN
    local ins
    pf_run --config "$CX_CFG" status
    pf_expect_rc 0 "status $1"
    pf_cx_status_json "$CX_CFG" "status-$PF_STEP_N"
    assert_eq "$(pf_json "$PF_TMP/status-$PF_STEP_N.json" 'd["drift"]')" "[]" "status --json $1: no drift"
    for ins in "${CX_INSERTS[@]}"; do
        # shellcheck disable=SC2086
        assert_eq "$(pf_cx_accepts "status-$PF_STEP_N" $ins)" "in place" "status --json $1: accepts in $ins"
    done
    PF_STEP_N=$((PF_STEP_N + 1))
}
PF_STEP_N=0

# our accepts are the first rules of each CX_INSERTS chain, and (iptables) iptables -S lists them
pf_cx_accepts_on_top() {
    local ins first chain
    for ins in "${CX_INSERTS[@]}"; do
        # shellcheck disable=SC2086
        first=$(hnft list chain $ins 2>/dev/null | sed -n '/^[[:space:]]*chain /,$p' | sed -n '2,${/^[[:space:]]*type .* hook /d;p}' | head -n1)
        assert_match "$first" 'comment "nft-portfwd' "the first rule of $ins is an accept of nft-portfwd"
        assert_match "$first" 'accept' "the first rule of $ins accepts"
    done
    [ "$CX_IPTABLES" = yes ] || return 0
    pf_cx_iptables_readable
    for ins in "${CX_INSERTS[@]}"; do
        chain=${ins##* }
        assert_line "$PF_CX_IPT" "^-A $chain -m mark --mark 0x1000000/0x1000000 -m comment --comment \"nft-portfwd: accept the forwards marked 0x01000000 by table inet portfwd\" -j ACCEPT\$" \
            "iptables -S lists our accept of the mark in $chain"
        assert_eq "$(printf '%s\n' "$PF_CX_IPT" | grep -c "^-A $chain .*nft-portfwd")" 1 "one accept of ours in $chain"
    done
}

pf_cx_phase_off() {
    local re
    step "integrate = off: table inet portfwd is live, the other firewall still drops the forwards"
    pf_run --config "$CX_CFG_OFF" apply
    pf_expect_rc 0 "apply with integrate = off"
    assert_line "$PF_OUT" '^nft-portfwd: applied 3 forwards' "apply with integrate = off applies the 3 forwards"
    assert_no_line "$PF_OUT" 'added the accept' "apply with integrate = off adds no accepts"
    for re in "${CX_BLOCKS[@]}"; do
        assert_line "$PF_ERR" "^nft-portfwd: warning: .*$re" "apply with integrate = off warns naming /$re/"
    done
    assert_table_present "table inet portfwd is live with integrate = off"
    assert_eq "$(pf_cx_ours_outside)" 0 "integrate = off: no rule of nft-portfwd in the other tables"
    pf_cx_snapshot off
    pf_cx_compare before off "after apply with integrate = off"
    pf_cx_traffic_blocked "with integrate = off (the other firewall drops it)"
    pf_cx_status_json "$CX_CFG_OFF" off
    for re in "${CX_INSERTS[@]}"; do
        # shellcheck disable=SC2086
        assert_eq "$(pf_cx_accepts off $re)" "none (integrate = off)" "status --json with integrate = off: accepts in $re"
    done
    pf_cx_diagnose_fails "$CX_CFG_OFF" "with integrate = off"
}

pf_cx_phase_auto() {
    local ins
    step "integrate = auto (the default): apply adds the accepts and says where"
    pf_run --config "$CX_CFG" apply
    pf_expect_rc 0 "apply (integrate = auto)"
    for ins in "${CX_INSERTS[@]}"; do
        assert_line "$PF_OUT" "^nft-portfwd: added the accept for the forwards to $ins \(.*\), top of " \
            "apply says it added the accept at the top of $ins"
    done
    assert_no_line "$PF_ERR" 'would drop' "apply (integrate = auto) warns about no blocking chain"
    pf_cx_traffic_works "with integrate = auto"
    assert_no_reply "$CLIENT" tcp "$GUEST_IP" 9000 "the guest's tcp 9000 (not forwarded) is still guarded by the other firewall"
    # The client routes to the guest network through the host: addressed straight to the
    # guest, the forwarded ports are not DNAT'd, carry no mark, and stay the other
    # firewall's to refuse.
    assert_no_reply "$CLIENT" tcp "$GUEST_IP" 22 "a routed client straight to the guest's forwarded tcp 22 is still refused"
    assert_no_reply "$CLIENT" tcp "$GUEST_IP" 8000 "a routed client straight to the guest's forwarded tcp 8000 is still refused"
    assert_no_reply "$CLIENT" udp "$GUEST_IP" 5000 "a routed client straight to the guest's forwarded udp 5000 is still refused"
    pf_cx_accepts_on_top
    pf_cx_status_in_place "after apply"
    pf_cx_diagnose_passes "after apply"

    step "apply again: nothing changes in the other tables"
    pf_cx_snapshot auto1
    pf_run --config "$CX_CFG" apply
    pf_expect_rc 0 "second apply"
    assert_no_line "$PF_OUT" 'added the accept' "second apply adds nothing"
    pf_cx_snapshot auto2
    pf_cx_compare auto1 auto2 "after a second apply"

    step "--integrate=off removes our accepts"
    pf_run --config "$CX_CFG" --integrate=off apply
    pf_expect_rc 0 "apply --integrate=off"
    for ins in "${CX_BLOCKS[@]}"; do
        assert_line "$PF_ERR" "^nft-portfwd: warning: .*$ins" "apply --integrate=off warns naming /$ins/"
    done
    assert_eq "$(pf_cx_ours_outside)" 0 "--integrate=off: no rule of nft-portfwd left in the other tables"
    assert_line "$PF_OUT" "^nft-portfwd: removed [0-9]+ accept rules? of nft-portfwd from other firewalls' chains \(integrate = off\)$" \
        "apply --integrate=off says it removed our accepts"
    pf_cx_snapshot flagoff
    pf_cx_compare before flagoff "after apply --integrate=off"
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "tcp 8000 after apply --integrate=off"
    pf_run --config "$CX_CFG" apply
    pf_expect_rc 0 "apply after --integrate=off"
    pf_cx_snapshot auto3
    pf_cx_compare auto1 auto3 "after apply, --integrate=off, apply"
    assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "tcp 8000 works again after the next apply"
}

pf_cx_phase_drift() {
    local ins=${CX_INSERTS[0]} fam tbl chain
    read -r fam tbl chain <<<"$ins"
    step "drift: our accept deleted by hand from $ins"
    pf_cx_delete_first_ours "$fam" "$tbl" "$chain" 'meta mark'
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "tcp 8000 once our accept is gone"
    pf_run --config "$CX_CFG" status
    pf_expect_rc 1 "status with our accept missing"
    assert_line "$PF_OUT" "^ *drift: .*missing.* $ins \(" "status prints a drift line naming $ins"
    pf_cx_status_json "$CX_CFG" drift
    assert_match "$(pf_json "$PF_TMP/drift.json" 'd["drift"]')" " $ins \(" "status --json: a drift line names $ins"
    assert_eq "$(pf_cx_accepts drift "$fam" "$tbl" "$chain")" "missing" "status --json: accepts in $ins"
    pf_cx_diagnose_fails "$CX_CFG" "with our accept missing"

    step "the next apply heals it"
    pf_run --config "$CX_CFG" apply
    pf_expect_rc 0 "apply after the drift"
    assert_line "$PF_OUT" "^nft-portfwd: added the accept for the forwards to $ins \(" "apply puts the accept back in $ins"
    pf_cx_status_in_place "after healing"
    pf_cx_traffic_works "after healing"
    pf_cx_snapshot healed
    pf_cx_compare auto1 healed "healed as after the first apply"
}

pf_cx_phase_flush() {
    step "flush: every other table as before the first apply"
    pf_run --config "$CX_CFG" flush
    pf_expect_rc 0 "flush"
    assert_table_absent "flush deletes table inet portfwd"
    pf_cx_snapshot flushed
    pf_cx_compare before flushed "after flush"
    assert_eq "$(hnft list ruleset 2>/dev/null | grep -c nft-portfwd)" 0 "no rule with comment nft-portfwd anywhere after flush"
    [ "$CX_IPTABLES" = yes ] && pf_cx_iptables_readable
    assert_no_reply "$CLIENT" tcp "$HOST_IP" 8000 "tcp 8000 after flush"
}
