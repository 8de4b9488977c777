/*
 * nft-portfwd's Cockpit page: the forwards of table inet portfwd with their state and
 * counters, drift and its fix, the watcher, and adding and removing the forwards of
 * 90-added.conf. Everything comes from the tool itself, run as the administrator through
 * Cockpit's superuser channel (`--json`): the page decides nothing the tool decides, and
 * the tool's strings are data, always set as text.
 */
"use strict";

const STATUS_EVERY_MS = 3000;
const DROPIN_FILE = "90-added.conf";

/*
 * How to run the tool. Only a settings.json next to this page (root's, in the package
 * directory) may change it, never the URL: a link anyone can send must not choose the
 * files a root command reads and writes. The package ships none: the tool's defaults.
 */
const tool = { program: "nft-portfwd", options: [] };

let statusRun = null;         // the status being read, if any
let busy = false;            // an add, remove or apply is running: no second one
let confirming = null;       // the key of the forward whose removal waits for a confirm
let lastStatus = null;

function $(id) {
    return document.getElementById(id);
}

function element(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null)
        e.textContent = String(text);
    if (className)
        e.className = className;
    return e;
}

function show(id, visible) {
    $(id).hidden = !visible;
}

/* ---------------------------------------------------------------- theme */

/*
 * Cockpit 287's shell tells its pages the theme through localStorage 'shell:style'
 * ("auto", "light" or "dark") and the class pf-theme-dark on <html>; its own pages bundle
 * this logic (cockpit-dark-theme), base1 does not ship it, so it is repeated here.
 */
function applyTheme(style) {
    style = style || localStorage.getItem("shell:style") || "auto";
    const systemDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    const dark = style === "dark" || (style === "auto" && systemDark);
    document.documentElement.classList.toggle("pf-theme-dark", dark);
}

applyTheme();
window.addEventListener("storage", event => {
    if (event.key === "shell:style")
        applyTheme();
});
window.addEventListener("cockpit-style", event => applyTheme(event.detail.style));
if (window.matchMedia)
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme());

/* ---------------------------------------------------------------- running the tool */

/*
 * Runs `nft-portfwd [options] ARGS --json` as the administrator. Resolves, whatever the
 * exit code, to { exit, result, message }: result is the tool's JSON answer (printed even
 * when it refuses, exit 2 or 3; status prints it with exit 1 too), message its stderr or
 * Cockpit's reason (not permitted, program not found).
 */
function runTool(args) {
    const argv = [tool.program, ...tool.options, ...args, "--json"];
    return new Promise(resolve => {
        // cockpit's promise hands the output to a failure handler as its second argument
        cockpit.spawn(argv, { superuser: "require", err: "message" }).then(
            out => resolve(answer(0, out, "")),
            (ex, out) => resolve(answer(ex.exit_status, out, reason(ex))));
    });
}

/* Cockpit's words for a command that did not run are codes for two cases people meet. */
function reason(ex) {
    if (ex.problem === "not-found")
        return tool.program + " is not installed (not found on the administrator's PATH)";
    if (ex.problem === "access-denied")
        return "not permitted: turn on administrative access (Cockpit's top bar)";
    return ex.message;
}

function answer(exit, out, message) {
    let result = null;
    try {
        result = JSON.parse(out);
    } catch (e) {
        // no JSON: the message says why
    }
    return { exit, result, message };
}

/* What went wrong, for people: the tool's own words when it gave any. */
function failure(a) {
    return (a.result && a.result.error) || a.message || "exit code " + a.exit;
}

/* The command line an administrator would type (shown, never run through a shell). */
function commandText(args) {
    const quote = word => /^[\w@%+=:,./-]+$/.test(word) ? word : "'" + word.replace(/'/g, "'\\''") + "'";
    return ["sudo", tool.program, ...tool.options, ...args].map(quote).join(" ");
}

function loadSettings() {
    return fetch("settings.json").then(response => {
        if (response.status === 404)
            return;
        if (!response.ok)
            throw new Error("HTTP " + response.status);
        return response.json().then(s => {
            if (s.program)
                tool.program = String(s.program);
            for (const [key, option] of [["config", "--config"], ["config_dir", "--config-dir"],
                ["state_dir", "--state-dir"]]) {
                if (s[key])
                    tool.options.push(option, String(s[key]));
            }
        });
    });
}

/* ---------------------------------------------------------------- status */

function ports(range) {
    return range[0] === range[1] ? String(range[0]) : range[0] + "-" + range[1];
}

function endpoint(address, range) {
    return (address.includes(":") ? "[" + address + "]" : address) + ":" + ports(range);
}

/* How the remove command names a forward: its name, else a protocol and port of it. */
function forwardKey(f) {
    return f.name ? [f.name] : [f.protocols[0], String(f.host_ports[0])];
}

function originFile(f) {
    return f.config.replace(/:\d+$/, "");
}

function removable(f) {
    return originFile(f).split("/").pop() === DROPIN_FILE;
}

function guestCell(f) {
    const cell = element("td");
    if (f.vm) {
        cell.append(element("span", "vm " + f.vm.domain, "vm"));
        if (f.guest)
            cell.append(" ", element("span", endpoint(f.guest, f.guest_ports), "resolved"));
        else
            cell.append(" ", element("span", "port " + ports(f.guest_ports), "quiet"));
        if (f.why)
            cell.append(element("div", f.why, "why"));
    } else {
        cell.append(endpoint(f.guest, f.guest_ports));
    }
    return cell;
}

function limitText(limit) {
    if (!limit)
        return "";
    const dropped = limit.dropped === null ? "" : ": " + limit.dropped.toLocaleString() + " dropped";
    return limit.rate + "/" + limit.per + " burst " + limit.burst + dropped;
}

function actionsCell(f) {
    const cell = element("td", null, "actions");
    if (!removable(f))
        return cell;
    const key = forwardKey(f).join(" ");
    if (confirming === key) {
        const yes = element("button", "Remove " + key, "danger");
        yes.type = "button";
        yes.dataset.confirmRemove = key;
        yes.addEventListener("click", () => removeForward(f));
        const no = element("button", "Cancel");
        no.type = "button";
        no.addEventListener("click", () => {
            confirming = null;
            renderStatus(lastStatus);
        });
        cell.append(yes, " ", no);
    } else {
        const remove = element("button", "Remove");
        remove.type = "button";
        remove.dataset.remove = key;
        remove.disabled = busy;
        remove.addEventListener("click", () => {
            confirming = key;
            renderStatus(lastStatus);
        });
        cell.append(remove);
    }
    return cell;
}

function forwardRow(f) {
    const row = element("tr");
    row.dataset.key = forwardKey(f).join(" ");
    const what = f.protocols.join(",") + " " + ports(f.host_ports) +
        (f.sources.length ? " from " + f.sources.join(", ") : "");
    row.append(element("td", f.name || "", "name"),
               element("td", what, "forward"),
               guestCell(f),
               element("td", f.config, "origin"));
    const state = element("td");
    state.append(element("span", f.state, "state state-" + f.state));
    row.append(state,
               element("td", f.packets.toLocaleString(), "number packets"),
               element("td", f.bytes.toLocaleString(), "number bytes"),
               element("td", limitText(f.limit), "limit"),
               actionsCell(f));
    return row;
}

function summaryText(s) {
    if (!s.table_present)
        return "table inet portfwd does not exist";
    return "table inet portfwd: live, " + (s.in_sync ? "in sync with the config" : "differs from the config");
}

function renderWatcher(w) {
    const p = $("watcher");
    const heals = $("heals");
    heals.replaceChildren();
    show("heals", false);
    if (!w.running) {
        p.textContent = "None running: nothing puts the forwards back when another program " +
            "removes them (systemctl enable --now nft-portfwd).";
        return;
    }
    const date = seconds => new Date(seconds * 1000).toLocaleString();
    let text = "Running (pid " + w.pid + ") since " + date(w.since) + "; " +
        w.heals + (w.heals === 1 ? " heal" : " heals");
    if (w.backing_off)
        text += ". Backing off: another program keeps undoing the forwards.";
    p.textContent = text + (w.recent_heals && w.recent_heals.length ? ", the last:" : ".");
    // its last heals, newest first, in the watcher's own words
    for (const heal of w.recent_heals || [])
        heals.append(element("li", date(heal.at) + ": " + heal.what));
    show("heals", heals.children.length > 0);
}

function renderList(id, items) {
    const list = $(id);
    list.replaceChildren(...items.map(item => element("li", item)));
}

function renderStatus(s) {
    lastStatus = s;
    $("summary").textContent = summaryText(s);
    $("summary").className = s.in_sync ? "in-sync" : "differs";
    $("sysctls").textContent = Object.entries(s.sysctls)
        .map(([name, value]) => name + " = " + (value === null ? "unreadable" : value)).join(", ");

    const drift = s.drift.concat(s.extra.map(e =>
        "extra: " + e.protocol + " " + e.host_port + " -> " + endpoint(e.guest, [e.guest_port, e.guest_port]) +
        (e.source ? " from " + e.source : "") + " (live, in no config forward)"));
    renderList("drift-list", drift);
    show("drift-section", drift.length > 0);

    renderList("problems-list", s.cannot_work.map(c => c.what + "; fix: " + c.fix));
    show("problems-section", s.cannot_work.length > 0);

    $("forwards").tBodies[0].replaceChildren(...s.forwards.map(forwardRow));
    show("no-forwards", s.forwards.length === 0);
    renderWatcher(s.watcher);
}

/* Reads the status and shows it; called while one runs, it reads again after that one. */
function refresh() {
    if (statusRun)
        return statusRun.then(refresh);
    statusRun = runTool(["status"]).then(a => {
        statusRun = null;
        // status exits 1 when the table differs from the config: an answer all the same
        if ((a.exit === 0 || a.exit === 1) && a.result) {
            show("page-error", false);
            renderStatus(a.result);
        } else {
            $("page-error").textContent = "nft-portfwd status: " + failure(a);
            show("page-error", true);
        }
    });
    return statusRun;
}

/* ---------------------------------------------------------------- changes */

function setBusy(value) {
    busy = value;
    for (const button of document.querySelectorAll("button"))
        button.disabled = value;
}

/* Runs a change, shows its outcome in `resultId`, then reads the status again. */
function change(args, resultId) {
    setBusy(true);
    $(resultId).textContent = "";
    return runTool(args).then(a => {
        setBusy(false);
        return refresh().then(() => a);
    });
}

function applyConfig() {
    change(["apply"], "apply-result").then(a => {
        $("apply-result").textContent = a.exit === 0
            ? (a.result.changed ? "Applied: the table now does what the config says." : "Applied: nothing needed changing.")
            : "apply failed: " + failure(a);
    });
}

function removeForward(f) {
    const key = forwardKey(f);
    confirming = null;
    change(["remove", ...key], "remove-result").then(a => {
        $("remove-result").textContent = a.exit === 0
            ? "Removed " + a.result.removed + " from " + a.result.file + "."
            : "remove " + key.join(" ") + " failed: " + failure(a);
    });
}

/* ---------------------------------------------------------------- the add form */

const fields = ["f-proto", "f-host-port", "f-guest", "f-guest-port", "f-name", "f-from", "f-limit", "f-burst"];

function value(id) {
    return $(id).value.trim();
}

function setGuestKind() {
    const vm = value("f-guest-kind") === "vm";
    $("f-guest-label").textContent = vm ? "VM name" : "Guest address";
    $("f-guest").dataset.field = vm ? "forward vm" : "forward guest address";
    $("f-guest").placeholder = vm ? "the libvirt domain" : "192.168.122.79";
}

/* The words of a config file's forward line, as add takes them. */
function addWords() {
    let guest = value("f-guest");
    const guestPort = value("f-guest-port");
    const words = [value("f-proto"), value("f-host-port"), "to"];
    if (value("f-guest-kind") === "vm") {
        words.push("vm");
    } else if (guest.includes(":") && !guest.startsWith("[")) {
        guest = "[" + guest + "]";      // an IPv6 address is written in brackets
    }
    words.push(guestPort ? guest + ":" + guestPort : guest);
    for (const [id, word] of [["f-from", "from"], ["f-name", "name"], ["f-limit", "limit"], ["f-burst", "burst"]]) {
        if (value(id))
            words.push(word, value(id));
    }
    return words;
}

function clearErrors() {
    for (const id of fields) {
        $(id + "-error").textContent = "";
        $(id).removeAttribute("aria-invalid");
    }
    $("add-error").textContent = "";
    show("add-error", false);
}

function fieldError(id, text) {
    $(id + "-error").textContent = text;
    $(id).setAttribute("aria-invalid", "true");
}

/*
 * The tool names the field it refuses: "command line: forward host port: '70000' is out
 * of range; ...". Its whole message goes next to that input; any other, above the button.
 */
function showAddError(message) {
    const m = /^command line: (forward [a-z ]+?): /.exec(message);
    const input = m && fields.map($).find(e => e.dataset.field === m[1]);
    if (input) {
        fieldError(input.id, message);
    } else {
        $("add-error").textContent = message;
        show("add-error", true);
    }
}

function submitAdd(event) {
    event.preventDefault();
    if (busy)
        return;
    clearErrors();
    $("add-result").textContent = "";
    const empty = fields.filter(id => $(id).hasAttribute("data-required") && !value(id));
    empty.forEach(id => fieldError(id, "Required."));
    if (empty.length)
        return;
    change(["add", ...addWords()], "add-result").then(a => {
        if (a.exit !== 0) {
            showAddError(failure(a));
            return;
        }
        const r = a.result;
        $("add-result").textContent = r.added
            ? "Added " + r.added + " to " + r.file + "."
            : "That forward is in " + r.file + " already.";
        for (const warning of r.host_warnings || [])
            $("add-result").append(element("div", "warning: " + warning, "why"));
        $("add-form").reset();
        setGuestKind();
    });
}

/* ---------------------------------------------------------------- start */

function start() {
    $("add-form").addEventListener("submit", submitAdd);
    $("f-guest-kind").addEventListener("change", setGuestKind);
    $("apply").addEventListener("click", applyConfig);
    loadSettings().then(() => {
        $("apply-command").textContent = commandText(["apply"]);
        refresh();
        // live counters; none read while the page is hidden or the last read still runs
        window.setInterval(() => {
            if (!document.hidden && !statusRun)
                refresh();
        }, STATUS_EVERY_MS);
    }, error => {
        $("page-error").textContent = "settings.json next to this page is unreadable (" + error.message +
            "); nothing was run.";
        show("page-error", true);
        $("summary").textContent = "";
    });
}

document.addEventListener("DOMContentLoaded", start);
