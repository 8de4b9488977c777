#!/bin/bash
# The help texts and nft-portfwd(8) state the same facts: which commands take --state-dir,
# --json, --quiet and the forward flags; each command's own --help offers exactly those;
# the watcher's back-off and handover times; the exit codes. The help texts are made from
# the code's tables and constants, so a man page (or README) that drifts from them fails.
set -u
bin=${NFT_PORTFWD:?} root=${SOURCE_ROOT:?}
exec python3 - "$bin" "$root/docs/nft-portfwd.8" "$root/README.md" <<'PY'
import re, subprocess, sys

binary, man_path, readme_path = sys.argv[1:4]
man = open(man_path).read()
readme = open(readme_path).read()
failures = []

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)

def run(*args):
    return subprocess.run([binary, *args], capture_output=True, text=True).stdout

usage = run("--help")
commands = re.findall(r"^  (\w+) +\S", usage.split("Commands:\n")[1].split("\n\n")[0], re.M)
check(len(commands) >= 10, f"--help lists the commands ({', '.join(commands)})")

def listed(text):
    return [w.strip() for w in text.replace("\n", " ").split(",") if w.strip()]

# The commands --help says take each option (generated from the dispatch table).
help_takers = {
    "--state-dir": listed(re.search(r"--state-dir DIR .*?\):\n +([^\n]*)", usage, re.S).group(1)),
    "--json": listed(re.search(r"--json +.*?: (.*)", usage).group(1)),
    "--quiet": listed(re.search(r"-q, --quiet +.*?: (.*)", usage).group(1)),
    "forward flags": listed(re.search(r"^  \(([a-z, ]+)\)$", usage, re.M).group(1)),
}

# The man page's "Taken by:" sentence in the option's paragraph.
def man_takers(anchor):
    at = man.index(anchor)
    m = re.compile(r"^Taken by: (.*)\.$", re.M).search(man, at)
    return listed(m.group(1)) if m else None

man_anchors = {
    "--state-dir": ".TP\n.BI \\-\\-state\\-dir",
    "--json": ".TP\n.B \\-\\-json\n",
    "--quiet": ".TP\n.BR \\-q \", \" \\-\\-quiet",
    "forward flags": ".SS Forward flags",
}
for option, anchor in man_anchors.items():
    check(man_takers(anchor) == help_takers[option],
          f"{option}: nft-portfwd(8) says taken by {man_takers(anchor)}, --help says {help_takers[option]}")

# Each command's own help offers exactly the options the lists give it.
spellings = {"--state-dir": "--state-dir DIR", "--json": "--json ", "--quiet": "-q, --quiet",
             "forward flags": "Forward flags"}
for cmd in commands:
    text = run(cmd, "--help")
    for option, takers in help_takers.items():
        offered = spellings[option] in text
        check(offered == (cmd in takers),
              f"'{cmd} --help' {'offers' if offered else 'lacks'} {option}, and the list "
              f"{'has' if cmd in takers else 'lacks'} {cmd}")

# The watcher's back-off and handover.
watch = run("watch", "--help")
backoff = re.search(r"\((\d+) s, doubling up to (\d+) s\)", watch.replace("\n", " "))
check(backoff is not None, "'watch --help' states the back-off")
if backoff:
    first, most = backoff.groups()
    phrase = f"{first} s, doubling up to {most} s"
    check(phrase in man.replace("\n", " "), f"nft-portfwd(8) states the back-off as '{phrase}'")
    check(phrase in readme.replace("\n", " "), f"README states the back-off as '{phrase}'")
    for other in re.findall(r"(\d+) s, doubling up to (\d+) s", man + readme):
        check(other == (first, most), f"no other back-off is stated ({other})")
handover = re.search(r"written in the last (\d+) s", watch.replace("\n", " "))
check(handover is not None and f"within {handover.group(1)} seconds" in man.replace("\n", " "),
      "the handover time is the same in 'watch --help' and nft-portfwd(8)")

# Exit codes: --help's list and the man page's EXIT STATUS give the same numbers.
codes = re.search(r"Exit codes: (.*?)\.\nSee", usage, re.S).group(1).replace("\n", " ")
help_codes = sorted(set(int(n) for n in re.findall(r"(?:^|, )(\d) ", codes)))
section = man.split(".SH EXIT STATUS")[1].split(".SH ")[0]
man_codes = sorted(int(n) for n in re.findall(r"^\.B (\d)$", section, re.M))
check(help_codes == man_codes, f"exit codes: --help {help_codes}, nft-portfwd(8) {man_codes}")

print(f"{len(failures)} disagreement(s)")
sys.exit(1 if failures else 0)
PY
