#!/bin/bash
# The Cockpit page (dist/cockpit) in a real browser: Debian's cockpit-ws on loopback and
# Debian's Chromium, headless, both in the test's host namespace, driven through the
# DevTools protocol (cdp.py). Topology and helpers: tests/integration/lib.sh (client
# 203.0.113.2 -> host 203.0.113.1, guest 192.0.2.79). The page must:
#   list the forwards of the live table (names, state live, counters rising after
#   traffic, a limit's drops); add a forward through its form, after which a client's
#   connection reaches the guest; show the tool's own message next to the host port field
#   for a bad port (70000), with the table and 90-added.conf unchanged; remove the forward,
#   after which new connections fail; show drift and fix it with its Apply button; show
#   the watcher and its last heals; follow Cockpit's dark theme (localStorage 'shell:style').
# Screenshots of the list and the form, light and dark, are kept in
# $BUILD_ROOT/meson-logs/cockpit/. Root only; exits 77 without cockpit-ws, cockpit-bridge,
# chromium or Debian's python3-websocket.
PF_TEST=cockpit
. "$(dirname "$0")/../integration/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$HERE/../.." && pwd)}
BUILD_ROOT=${BUILD_ROOT:-$SOURCE_ROOT/build}
NFT_PORTFWD=${NFT_PORTFWD:-$BUILD_ROOT/nft-portfwd}
CDP=$HERE/cdp.py
PAGE_FILES=$SOURCE_ROOT/dist/cockpit
ARTIFACTS=$BUILD_ROOT/meson-logs/cockpit
# Both listen on the host namespace's own loopback: no other program can hold them.
WS_PORT=9090
DEVTOOLS_PORT=9222
PAGE=http://127.0.0.1:$WS_PORT/cockpit/@localhost/nft-portfwd/index.html

pf_require_root
[ -x /usr/lib/cockpit/cockpit-ws ] || pf_skip "cockpit-ws is not installed (apt-get install cockpit-ws)"
command -v cockpit-bridge >/dev/null || pf_skip "cockpit-bridge is not installed"
CHROMIUM=$(command -v chromium) || pf_skip "chromium is not installed"
# Debian's interpreter and module, not whichever python3 comes first on PATH
/usr/bin/python3 -c 'import websocket' 2>/dev/null || pf_skip "python3-websocket is not installed"
pf_find_binary

pf_setup
WS_PID="" CHROMIUM_PID="" WATCH_PID=""
# The host namespace's processes but the watcher (lib.sh stops that one); none: exit 1
others_in_host() {
    ip netns pids "$HOST" 2>/dev/null | grep -vx "${WATCH_PID:-none}"
}
# Chromium and cockpit-ws, then what the bridge left in the host namespace (its
# dbus-daemon and ssh-agent), by pid, before lib.sh deletes the namespaces.
stop_browser() {
    local pid
    for pid in $CHROMIUM_PID $WS_PID; do kill "$pid" 2>/dev/null; done
    for pid in $CHROMIUM_PID $WS_PID; do wait "$pid" 2>/dev/null; done
    for pid in $(others_in_host); do kill "$pid" 2>/dev/null; done
    for _ in $(seq 50); do
        others_in_host >/dev/null || return 0
        sleep 0.1
    done
    echo "[$PF_TEST] warning: processes left in $HOST: $(others_in_host | tr '\n' ' ')" >&2
}
pf_on_exit stop_browser

rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS" || fail "mkdir $ARTIFACTS"

# ---------------------------------------------------------------- the browser

# cdp ARGS...: one DevTools command (see cdp.py); its error on stderr, non-zero on failure
cdp() {
    ip netns exec "$HOST" /usr/bin/python3 "$CDP" "$DEVTOOLS_PORT" "$@"
}
browser() {   # ARGS...: cdp, failing the test when it fails
    cdp "$@" >/dev/null 2>"$PF_TMP/cdp.err" || fail "browser: $(cat "$PF_TMP/cdp.err")"
}
page_value() {   # JS: print the expression's value
    cdp eval "$1" 2>"$PF_TMP/cdp.err" || fail "browser: $(cat "$PF_TMP/cdp.err")"
}
page_wait() {   # JS DESCRIPTION [SECONDS]: until the expression is truthy
    cdp wait "$1" "${3:-20}" >/dev/null 2>"$PF_TMP/cdp.err" || fail "$2: $(cat "$PF_TMP/cdp.err")"
    pf_log "ok: $2"
}
screenshot() {   # NAME
    browser screenshot "$ARTIFACTS/$1.png"
    [ -s "$ARTIFACTS/$1.png" ] || fail "no screenshot $1.png"
    pf_log "screenshot: $ARTIFACTS/$1.png"
}

# "web=live ssh=live ...": each row's forward and its state
ROWS='[...document.querySelectorAll("#forwards tbody tr")].map(r => r.dataset.key + "=" + r.querySelector(".state").textContent).join(" ")'
cell() {   # KEY CLASS: the text of that cell of the forward's row
    echo "document.querySelector('#forwards tr[data-key=\"$1\"] .$2').textContent"
}
packets() {   # KEY: the row's packet counter, digits only
    page_value "$(cell "$1" packets).replace(/\\D/g, '')"
}
error_next_to_host_port='document.querySelector("#f-host-port-error").textContent'

# ---------------------------------------------------------------- the host

CONFIG=$PF_TMP/nft-portfwd.conf
DROPINS=$PF_TMP/nft-portfwd.d
ADDED=$DROPINS/90-added.conf
PATHS=(--config "$CONFIG" --config-dir "$DROPINS" --state-dir "$PF_STATE")
mkdir -p "$DROPINS"
cat >"$CONFIG" <<CONF
host-ip = $HOST_IP
forward tcp 8000 to $GUEST_IP:8000 name web
forward udp 5000 to $GUEST_IP:5000 name dns limit 1/minute burst 1
CONF
echo "forward tcp 2222 to $GUEST_IP:22 name ssh" >"$DROPINS/10-ssh.conf"
# A forward to a libvirt domain by name waits while libvirt cannot answer, as here on any
# host: its socket does not exist. A build without libvirt refuses such forwards: none then.
VM_ROW=""
cat >"$PF_TMP/vm.conf" <<CONF
libvirt-uri = qemu+unix:///system?socket=$PF_TMP/no-libvirt.sock
forward tcp 2223 to vm webvm:22 name vmweb
CONF
if "$NFT_PORTFWD" render --config "$PF_TMP/vm.conf" >/dev/null 2>&1; then
    cat "$PF_TMP/vm.conf" >>"$CONFIG"
    VM_ROW=" vmweb=waiting"   # listed after the forwards in the table
else
    pf_log "this build refuses forwards to a vm: the page is not shown one"
fi
pf_serve "$GUEST" tcp 0.0.0.0 8000 guest
pf_serve "$GUEST" udp 0.0.0.0 5000 guest
pf_serve "$GUEST" tcp 0.0.0.0 22 guest22
pf_serve "$GUEST" tcp 0.0.0.0 9000 guest9000

step "apply the config: three forwards (and one waiting for its vm)"
pf_run_ok "${PATHS[@]}" apply
assert_reaches "$CLIENT" tcp "$HOST_IP" 2222 guest22 "ssh forward works before the page opens"

step "start cockpit-ws and Chromium in the host namespace"
# The page as a package in a scratch data dir, with the settings.json that points it at
# this test's binary, config, drop-ins and state dir (the package ships none).
PKG=$PF_TMP/data/cockpit/nft-portfwd
mkdir -p "$PKG" "$PF_TMP/home"
for f in "$PAGE_FILES"/*; do ln -s "$f" "$PKG/" || fail "ln -s $f"; done
cat >"$PKG/settings.json" <<JSON
{"program": "$NFT_PORTFWD", "config": "$CONFIG", "config_dir": "$DROPINS", "state_dir": "$PF_STATE"}
JSON
# --local-session: a bridge as this user (root), no login; loopback only.
HOME=$PF_TMP/home XDG_DATA_DIRS=$PF_TMP/data:/usr/share ip netns exec "$HOST" \
    /usr/lib/cockpit/cockpit-ws --no-tls --address 127.0.0.1 --port "$WS_PORT" \
    --local-session=cockpit-bridge >"$ARTIFACTS/cockpit-ws.log" 2>&1 &
WS_PID=$!
HOME=$PF_TMP/home ip netns exec "$HOST" "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --user-data-dir="$PF_TMP/chromium" --remote-debugging-port="$DEVTOOLS_PORT" \
    --window-size=1280,900 about:blank >"$ARTIFACTS/chromium.log" 2>&1 &
CHROMIUM_PID=$!
for _ in $(seq 100); do
    ip netns exec "$HOST" /usr/bin/python3 - "$WS_PORT" "$DEVTOOLS_PORT" <<'PY' 2>/dev/null && break
import sys, urllib.request
for port in sys.argv[1:]:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
PY
    kill -0 "$WS_PID" 2>/dev/null || fail "cockpit-ws ended: $(cat "$ARTIFACTS/cockpit-ws.log")"
    kill -0 "$CHROMIUM_PID" 2>/dev/null || fail "chromium ended: $(tail -5 "$ARTIFACTS/chromium.log")"
    sleep 0.1
done
browser navigate "$PAGE"

step "(1) the page lists the forwards of the live table"
page_wait "$ROWS === 'web=live dns=live ssh=live$VM_ROW'" "the page lists web, dns and ssh, each live${VM_ROW:+, and vmweb waiting}"
if [ -n "$VM_ROW" ]; then
    assert_match "$(page_value "$(cell vmweb vm)")" "^vm webvm\$" "vmweb's guest is named by its vm"
    assert_match "$(page_value "$(cell vmweb why)")" "^cannot connect to qemu\\+unix:///system" \
        "vmweb's row says why it waits, in the tool's words"
fi
assert_eq "$(page_value "$(cell web origin)")" "$CONFIG:2" "web's origin is its file and line"
assert_eq "$(page_value "$(cell ssh origin)")" "$DROPINS/10-ssh.conf:1" "ssh's origin is its drop-in"
assert_eq "$(page_value 'document.querySelectorAll("[data-remove]").length')" 0 \
    "no Remove button: no forward comes from 90-added.conf"
assert_eq "$(page_value 'document.querySelector("#summary").textContent')" \
    "table inet portfwd: live, in sync with the config" "the summary says in sync"
assert_eq "$(page_value 'document.querySelector("#drift-section").hidden')" true "no drift shown"
assert_eq "$(page_value 'getComputedStyle(document.documentElement).backgroundColor')" \
    "rgb(255, 255, 255)" "light theme by default"

step "(1) live counters rise after traffic; a limit's drops are shown"
before=$(packets web)
for _ in 1 2 3; do assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "tcp 8000 reaches the guest"; done
assert_reaches "$CLIENT" udp "$HOST_IP" 5000 guest "the first udp 5000 datagram is within the limit"
assert_no_reply "$CLIENT" udp "$HOST_IP" 5000 "a second new udp 5000 flow is above 1/minute"
page_wait "Number($(cell web packets).replace(/\\D/g, '')) > $before" \
    "web's packet counter on the page rises above $before without a reload"
page_wait "/^1\\/minute burst 1: [1-9][0-9]* dropped\$/.test($(cell dns limit))" \
    "dns's limit column counts the dropped connection"
assert_match "$(packets web)" '^[1-9][0-9]*$' "web's packets on the page"
screenshot list-light

step "(2) adding tcp 9000 through the form makes the client's connection work"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 9000 "tcp 9000 before the add"
[ -e "$ADDED" ] && fail "90-added.conf exists before the page added anything"
browser type '#f-host-port' 9000
browser type '#f-guest' "$GUEST_IP"
browser type '#f-name' app
browser click '#add'
page_wait "$ROWS === 'web=live dns=live ssh=live app=live$VM_ROW'" "the new forward app is listed, live"
assert_match "$(page_value 'document.querySelector("#add-result").textContent')" \
    "^Added forward tcp 9000 to $GUEST_IP:9000 name app to $ADDED\\." "the page says what it added, where"
assert_eq "$(grep -v '^#' "$ADDED")" "forward tcp 9000 to $GUEST_IP:9000 name app" "90-added.conf holds the forward"
assert_reaches "$CLIENT" tcp "$HOST_IP" 9000 guest9000 "tcp 9000 reaches the guest's listener"
assert_eq "$(page_value "$(cell app origin)")" "$ADDED:2" "app's origin is 90-added.conf"
assert_eq "$(page_value 'Array.from(document.querySelectorAll("[data-remove]"), b => b.dataset.remove).join(" ")')" app \
    "only the forward of 90-added.conf has a Remove button"
assert_eq "$(page_value 'document.querySelector("#f-host-port").value')" "" "the form is empty again"

step "(3) a bad port: the tool's message next to the host port field, nothing changed"
# The tool's own words for this input, as 'add --json' gives them (it writes nothing)
pf_run "${PATHS[@]}" add tcp 70000 to "$GUEST_IP:9001" name db --json
pf_expect_rc 3 "add with port 70000"
printf '%s\n' "$PF_OUT" >"$PF_TMP/bad.json"
expected=$(pf_json "$PF_TMP/bad.json" 'd["error"]')
assert_match "$expected" "^command line: forward host port: '70000' is out of range" "the tool refuses port 70000"
pf_ruleset_snapshot "$PF_TMP/ruleset.before"
cp "$ADDED" "$PF_TMP/added.before"
browser type '#f-host-port' 70000
browser type '#f-guest' "$GUEST_IP"
browser type '#f-guest-port' 9001
browser type '#f-name' db
browser click '#add'
page_wait "$error_next_to_host_port" "an error appears next to the host port field"
assert_eq "$(page_value "$error_next_to_host_port")" "$expected" "it is the tool's message, verbatim"
assert_eq "$(page_value 'document.querySelector("#f-host-port").getAttribute("aria-invalid")')" true \
    "the host port field is marked invalid"
assert_eq "$(page_value 'document.querySelector("#f-guest-error").textContent + document.querySelector("#add-error").textContent')" "" \
    "no error at any other field or in the general area"
pf_ruleset_snapshot "$PF_TMP/ruleset.after"
assert_same_file "$PF_TMP/ruleset.before" "$PF_TMP/ruleset.after" "the kernel's ruleset is unchanged"
assert_same_file "$PF_TMP/added.before" "$ADDED" "90-added.conf is unchanged"
assert_eq "$(page_value "$ROWS")" "web=live dns=live ssh=live app=live$VM_ROW" "the list is unchanged"
screenshot form-light

step "Cockpit's dark theme: the shell's setting (localStorage 'shell:style') is followed"
browser eval 'localStorage.setItem("shell:style", "dark")'
browser navigate "$PAGE"
page_wait "$ROWS === 'web=live dns=live ssh=live app=live$VM_ROW'" "the list again, in the dark theme"
assert_eq "$(page_value 'document.documentElement.classList.contains("pf-theme-dark")')" true "<html> has pf-theme-dark"
assert_eq "$(page_value 'getComputedStyle(document.documentElement).backgroundColor')" \
    "rgb(27, 29, 33)" "the page's background is the shell's dark one"
screenshot list-dark
browser type '#f-host-port' 70000
browser type '#f-guest' "$GUEST_IP"
browser click '#add'
page_wait "$error_next_to_host_port" "the host port error in the dark theme"
screenshot form-dark

step "(4) removing app through the page ends the forward"
browser click '[data-remove="app"]'
page_wait 'document.querySelector("[data-confirm-remove=\"app\"]")' "removing asks for a confirmation"
assert_eq "$(grep -c 'name app' "$ADDED")" 1 "nothing removed before the confirmation"
browser click '[data-confirm-remove="app"]'
page_wait "$ROWS === 'web=live dns=live ssh=live$VM_ROW'" "app is no longer listed"
grep -qs 'name app' "$ADDED" && fail "90-added.conf still holds app: $(cat "$ADDED")"
pf_log "ok: 90-added.conf no longer holds app"
assert_no_reply "$CLIENT" tcp "$HOST_IP" 9000 "a new tcp 9000 connection fails once app is removed"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the other forwards still work"

step "drift: a config changed by hand is shown, and the page's Apply fixes it"
echo "forward tcp 8080 to $GUEST_IP:8000 name web2" >>"$CONFIG"
page_wait '!document.querySelector("#drift-section").hidden' "the drift section appears"
assert_match "$(page_value 'document.querySelector("#drift-list").textContent')" \
    "the config changed since the last apply" "it names the drift"
assert_eq "$(page_value "$(cell web2 state)")" missing "web2 is missing from the table"
assert_match "$(page_value 'document.querySelector("#apply-command").textContent')" \
    "^sudo $NFT_PORTFWD --config $CONFIG .* apply\$" "the fix is shown as a command"
browser click '#apply'
page_wait "document.querySelector('#drift-section').hidden && $ROWS === 'web=live dns=live web2=live ssh=live$VM_ROW'" \
    "after Apply, no drift and web2 is live"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8080 guest "tcp 8080 reaches the guest after the page's apply"

step "the watcher and its last heals"
ip netns exec "$HOST" "$NFT_PORTFWD" "${PATHS[@]}" watch >"$PF_TMP/watch.log" 2>&1 &
WATCH_PID=$!
PF_PIDS+=("$WATCH_PID")
page_wait "document.querySelector('#watcher').textContent.startsWith('Running (pid $WATCH_PID) since ')" \
    "the page shows the watcher running"
hnft delete table inet portfwd || fail "nft delete table inet portfwd"
page_wait "/; 1 heal, the last:$/.test(document.querySelector('#watcher').textContent) && document.querySelectorAll('#heals li').length === 1" \
    "the page shows the watcher's heal"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the watcher put the forwards back"
hnft delete element inet portfwd fwd4 '{ tcp . 8000 }' || fail "hand delete of tcp 8000"
page_wait "document.querySelectorAll('#heals li').length === 2" "the page lists both heals"
assert_match "$(page_value 'document.querySelector("#heals li:first-child").textContent')" \
    ": table inet portfwd differed from the config$" "the newest heal first, in the watcher's words"
assert_match "$(page_value 'document.querySelector("#heals li:last-child").textContent')" \
    ": table inet portfwd was missing$" "then the first"
assert_reaches "$CLIENT" tcp "$HOST_IP" 8000 guest "the watcher put tcp 8000 back"
pf_log "the page's watcher line: $(page_value 'document.querySelector("#watcher").textContent')"

pf_pass
