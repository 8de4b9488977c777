#!/bin/bash
# 'meson install' into a temporary DESTDIR and check what a system gets: every file in its
# place, nothing in /etc, the installed binary runs, both man pages render without a
# warning and cover every command and option, the systemd unit passes systemd-analyze
# verify, and the bash completion offers every command, option and config file.
# No privileges needed. Environment (set by tests/install/meson.build): NFT_PORTFWD,
# SOURCE_ROOT, BUILD_ROOT, MESON, and the install directories SBINDIR, MANDIR, UNITDIR,
# COMPLETIONSDIR, EXAMPLEDIR, HOOKDIR, COCKPITDIR.
set -u

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
pass() {
    echo "ok: $*"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# --- install --------------------------------------------------------------------------
if ! DESTDIR=$dest "$MESON" install -C "$BUILD_ROOT" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: meson install into $dest failed"
    exit 1
fi
pass "meson install --destdir"

bin=$dest$SBINDIR/nft-portfwd
man8=$dest$MANDIR/man8/nft-portfwd.8
man5=$dest$MANDIR/man5/nft-portfwd.conf.5
unit=$dest$UNITDIR/nft-portfwd.service
hook=$dest$HOOKDIR/libvirt-network-hook
completion=$dest$COMPLETIONSDIR/nft-portfwd
example=$dest$EXAMPLEDIR/nft-portfwd.conf.example
docdir=$dest${EXAMPLEDIR%/examples}
guides=("$docdir"/{README,design,migration,troubleshooting,status-json,ansible,metrics}.md)
cockpit=("$dest$COCKPITDIR"/{manifest.json,index.html,nft-portfwd.js,nft-portfwd.css})

# --- layout ---------------------------------------------------------------------------
check_path() { # WHAT DIR SUFFIX: the configured directory has the shape it must have
    case $2 in
        *"$3") pass "$1 directory $2" ;;
        *) fail "$1 directory is $2; expected one ending in $3" ;;
    esac
}
check_path "binary" "$SBINDIR" /sbin
check_path "systemd unit" "$UNITDIR" /systemd/system
check_path "bash completion" "$COMPLETIONSDIR" /bash-completion/completions
check_path "example" "$EXAMPLEDIR" /share/doc/nft-portfwd/examples
check_path "Cockpit page" "$COCKPITDIR" /share/cockpit/nft-portfwd

[[ -x $bin && -f $bin ]] && pass "binary $SBINDIR/nft-portfwd" || fail "no executable $SBINDIR/nft-portfwd"
for f in "$man8" "$man5" "$unit" "$completion" "$example" "${guides[@]}" "${cockpit[@]}"; do
    [[ -f $f && -s $f ]] && pass "installed ${f#"$dest"}" || fail "missing or empty: ${f#"$dest"}"
done
if [[ -e $dest/etc ]]; then
    fail "the install writes under /etc (it must never replace /etc/nft-portfwd.conf): $(cd "$dest" && find etc)"
else
    pass "nothing installed under /etc"
fi
# Nothing installed that this test does not know about (a new file needs a check here).
expected=$(printf '%s\n' "$bin" "$man8" "$man5" "$unit" "$hook" \
    "$dest$UNITDIR/nft-portfwd-metrics.service" "$dest$UNITDIR/nft-portfwd-metrics.timer" \
    "$completion" "$example" "${example%/*}/nft-portfwd-alerts.yml" \
    "${guides[@]}" "${cockpit[@]}" | sort)
actual=$(find "$dest" -type f | sort)
# The hook is executable and calls the installed binary.
[[ -x $hook ]] && grep -q "^        ( $SBINDIR/nft-portfwd reapply --quiet" "$hook" && ! grep -q @SBINDIR@ "$hook" &&
    pass "libvirt network hook is executable and calls $SBINDIR/nft-portfwd" ||
    fail "libvirt network hook $hook: not executable, or @SBINDIR@ not substituted"
if [[ $expected == "$actual" ]]; then
    pass "exactly the expected files are installed"
else
    fail "installed files differ from the expected list:"
    diff <(echo "$expected") <(echo "$actual") | sed 's/^/    /'
fi

# --- the Cockpit page (tests/system/cockpit.sh runs it in a browser) ------------------
page=$dest$COCKPITDIR
if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$page/manifest.json" 2>/dev/null; then
    pass "the Cockpit manifest is JSON"
else
    fail "the Cockpit manifest $COCKPITDIR/manifest.json is not JSON"
fi
# Cockpit's Content-Security-Policy refuses inline scripts: each one must have a src
if grep -q '<script src="../base1/cockpit.js">' "$page/index.html" &&
    ! grep '<script' "$page/index.html" | grep -qv ' src='; then
    pass "the Cockpit page loads cockpit.js and no inline script"
else
    fail "$COCKPITDIR/index.html does not load ../base1/cockpit.js, or has an inline script"
fi

# --- the installed binary -------------------------------------------------------------
if version=$("$bin" --version 2>&1) && [[ $version == "nft-portfwd "* ]]; then
    pass "installed binary runs: $version"
else
    fail "installed binary --version: $version"
fi
if "$bin" render --config "$example" >"$tmp/example.nft" 2>"$tmp/example.err"; then
    pass "the example config renders"
else
    fail "the installed example config does not render: $(cat "$tmp/example.err")"
fi

# Commands and long options, as the binary's own --help lists them.
help=$("$NFT_PORTFWD" --help)
commands=$(awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' <<<"$help")
options=$(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
[[ -n $commands ]] || fail "no commands found in 'nft-portfwd --help'"
[[ -n $options ]] || fail "no options found in 'nft-portfwd --help'"

# --- man pages ------------------------------------------------------------------------
for page in "$man8" "$man5"; do
    name=${page##*/}
    warnings=$(man --warnings -l "$page" 2>&1 >/dev/null)
    [[ -z $warnings ]] && pass "man --warnings -l $name: no warnings" ||
        fail "man --warnings -l $name:"$'\n'"$warnings"
    warnings=$(groff -man -ww -z "$page" 2>&1)
    [[ -z $warnings ]] && pass "groff -man -ww -z $name: no warnings" ||
        fail "groff -man -ww -z $name:"$'\n'"$warnings"
done
text8=$(MANWIDTH=200 man -l "$man8" 2>/dev/null | col -b)
for c in $commands; do
    grep -qE "^[[:space:]]+$c( |\$)" <<<"$text8" && pass "nft-portfwd(8) describes command $c" ||
        fail "nft-portfwd(8) has no entry for command '$c'"
done
for o in $options; do
    grep -qF -- "$o" <<<"$text8" && pass "nft-portfwd(8) describes $o" ||
        fail "nft-portfwd(8) does not mention option $o"
done
for code in 0 1 2 3 4 5 6; do
    grep -qE "^[[:space:]]+$code[[:space:]]+[A-Za-z]" <<<"$text8" || fail "nft-portfwd(8) does not describe exit status $code"
done
text5=$(MANWIDTH=200 man -l "$man5" 2>/dev/null | col -b)
for key in public-ip host-ip host-iface masquerade integrate forward from keep-source; do
    grep -qE "^[[:space:]]+$key( |\$)" <<<"$text5" && pass "nft-portfwd.conf(5) describes $key" ||
        fail "nft-portfwd.conf(5) has no entry for '$key'"
done

# --- systemd unit ---------------------------------------------------------------------
grep -qx "ExecStart=$SBINDIR/nft-portfwd watch" "$unit" || fail "unit: ExecStart is not '$SBINDIR/nft-portfwd watch'"
grep -qx "Type=notify" "$unit" || fail "unit: Type is not notify"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "unit: ExecReload does not send SIGHUP"
grep -q '^PartOf=' "$unit" && fail "unit: PartOf= would stop the forwards with another unit"
[[ -e $dest$UNITDIR/nftables.service.d || -e $dest$UNITDIR/libvirtd.service.d ]] &&
    fail "unit: drop-ins for nftables.service or libvirtd.service are installed (the watcher needs none)"
grep -qE '@[A-Z_]+@' "$unit" && fail "unit: an unsubstituted @VARIABLE@ is left"
if command -v systemd-analyze >/dev/null; then
    # verify checks that ExecStart's program exists and that Documentation= man pages
    # open: point each copy at the installed binary and man to the installed pages.
    mkdir -p "$tmp/units"
    cp "$dest$UNITDIR/nft-portfwd-metrics.timer" "$tmp/units/"
    for name in nft-portfwd.service nft-portfwd-metrics.service; do
        sed "s|$SBINDIR/nft-portfwd|$bin|" "$dest$UNITDIR/$name" >"$tmp/units/$name"
        # exposure as systemd rates it: at most 2.5 (the unit's comments say what it still needs)
        exposure=$(systemd-analyze security --offline=yes "$tmp/units/$name" 2>/dev/null |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
        if [[ -z $exposure ]]; then
            fail "systemd-analyze security --offline=yes gave no exposure level for $name"
        elif awk -v e="$exposure" 'BEGIN { exit !(e <= 2.5) }'; then
            pass "systemd-analyze security $name: exposure $exposure (at most 2.5)"
        else
            fail "systemd-analyze security $name: exposure $exposure, more than 2.5"
        fi
    done
    for name in nft-portfwd.service nft-portfwd-metrics.service nft-portfwd-metrics.timer; do
        out=$(MANPATH=$dest$MANDIR systemd-analyze verify "$tmp/units/$name" 2>&1)
        rc=$?
        [[ $rc -eq 0 && -z $out ]] && pass "systemd-analyze verify $name" ||
            fail "systemd-analyze verify $name (exit $rc):"$'\n'"$out"
    done
    grep -q '^ExecStart=.* metrics --output /var/lib/prometheus/node-exporter/nft-portfwd.prom$' \
        "$dest$UNITDIR/nft-portfwd-metrics.service" &&
        grep -q '^ConditionPathIsDirectory=/var/lib/prometheus/node-exporter$' \
            "$dest$UNITDIR/nft-portfwd-metrics.service" &&
        grep -q '^OnUnitActiveSec=15s$' "$dest$UNITDIR/nft-portfwd-metrics.timer" &&
        pass "the metrics unit writes node_exporter's textfile directory every 15 s, when it exists" ||
        fail "the metrics unit or timer does not say what nft-portfwd(8) says"
else
    echo "skip: systemd-analyze is not installed; the units were not verified"
fi

# --- bash completion ------------------------------------------------------------------
mkdir -p "$tmp/cwd/confdir"
touch "$tmp/cwd/alpha.conf" "$tmp/cwd/beta.conf"

# MODE LINE...: complete each LINE (the cursor at its end) in a fresh bash, one result
# line per LINE: the candidates separated by spaces.
complete_lines() {
    local mode=$1
    shift
    (cd "$tmp/cwd" && bash --norc --noprofile -s -- "$mode" "$completion" "$@" <<'EOF'
mode=$1 completion=$2
shift 2
if [[ $mode == bash-completion ]]; then
    . /usr/share/bash-completion/bash_completion || exit 1
fi
. "$completion" || exit 1
for line in "$@"; do
    COMP_LINE=$line COMP_POINT=${#line}
    # Split as readline does: words at blanks, '=' a word of its own (COMP_WORDBREAKS).
    read -ra COMP_WORDS <<<"${line//=/ = }"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _nft_portfwd nft-portfwd "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    echo "${COMPREPLY[*]}"
done
EOF
    )
}

modes=standalone
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    modes="bash-completion standalone"
else
    echo "skip: bash-completion is not installed; the completion is checked on its own only"
fi
has() { [[ " $1 " == *" $2 "* ]]; }
for mode in $modes; do
    mapfile -t got < <(complete_lines "$mode" \
        "nft-portfwd " \
        "nft-portfwd --config " \
        "nft-portfwd -c " \
        "nft-portfwd --config=" \
        "nft-portfwd --" \
        "nft-portfwd apply --proto " \
        "nft-portfwd --config alpha.conf st")
    if [[ ${#got[@]} -ne 7 ]]; then
        fail "[$mode] the completion did not run (${#got[@]} results)"
        continue
    fi
    for c in $commands; do
        has "${got[0]}" "$c" || fail "[$mode] 'nft-portfwd <TAB>' does not offer command $c (got: ${got[0]})"
    done
    pass "[$mode] 'nft-portfwd <TAB>' offers: ${got[0]}"
    for i in 1 2 3; do
        has "${got[i]}" alpha.conf && has "${got[i]}" beta.conf &&
            pass "[$mode] completing a config path offers files: ${got[i]}" ||
            fail "[$mode] completing a config path (case $i) does not offer files (got: ${got[i]})"
    done
    for o in $options; do
        has "${got[4]}" "$o" || fail "[$mode] 'nft-portfwd --<TAB>' does not offer $o"
    done
    pass "[$mode] 'nft-portfwd --<TAB>' checked against --help"
    [[ ${got[5]} == "tcp udp tcp,udp" ]] && pass "[$mode] --proto values" ||
        fail "[$mode] '--proto <TAB>' offers '${got[5]}'; expected 'tcp udp tcp,udp'"
    [[ ${got[6]} == status ]] && pass "[$mode] a command after an option and its value" ||
        fail "[$mode] 'nft-portfwd --config alpha.conf st<TAB>' offers '${got[6]}'; expected 'status'"
done

# Each command's own options, as 'nft-portfwd COMMAND --help' lists them.
for c in $commands; do
    mapfile -t got < <(complete_lines standalone "nft-portfwd $c --")
    for o in $("$NFT_PORTFWD" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        has "${got[0]-}" "$o" || fail "'nft-portfwd $c --<TAB>' does not offer $o (got: ${got[0]-})"
    done
done
pass "each command's options checked against its --help"

if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all install checks passed"
