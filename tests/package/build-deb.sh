#!/bin/bash
# Build the Debian package from a temporary copy of this tree with
# 'dpkg-buildpackage -us -uc -b' (debhelper's meson build system), then check that
# 'dpkg -c' lists every file a system needs and that the unit is enabled the Debian way;
# the Cockpit page is in its own package, cockpit-nft-portfwd.
#
#   bash tests/package/build-deb.sh            # build, check, delete the copy
#   bash tests/package/build-deb.sh --keep DIR # and leave the .deb files in DIR
#
# Needs (Debian 12): apt-get install dpkg-dev debhelper build-essential fakeroot
# bash-completion, and the project's build dependencies (debian/control, Build-Depends).
# No root needed (Rules-Requires-Root: no); run as root it builds the same package.
set -u

keep=
if [[ ${1-} == --keep ]]; then
    keep=${2:?--keep needs a directory}
    mkdir -p "$keep" || exit 1
fi
src=$(cd "$(dirname "$0")/../.." && pwd)

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

for tool in dpkg-buildpackage dpkg-checkbuilddeps dh; do
    command -v "$tool" >/dev/null || {
        # 77: meson's "skipped"; .ci/run installs these, so CI builds the package
        echo "SKIP: $tool is missing; apt-get install dpkg-dev debhelper build-essential fakeroot"
        exit 77
    }
done
if ! (cd "$src" && dpkg-checkbuilddeps); then
    echo "FAIL: build dependencies are missing (see above); install them with apt-get"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The tree as git sees it (tracked and new files, not build directories), or all of it.
mkdir "$tmp/nft-portfwd"
if git -C "$src" rev-parse --show-toplevel >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
        tar --null -cf - --no-recursion -T -) | tar -xf - -C "$tmp/nft-portfwd"
else
    (cd "$src" && tar -cf - --exclude='./build*' .) | tar -xf - -C "$tmp/nft-portfwd"
fi

start=$(date +%s)
if ! (cd "$tmp/nft-portfwd" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    tail -n 60 "$tmp/build.log"
    echo "FAIL: dpkg-buildpackage failed (log above)"
    exit 1
fi
seconds=$(($(date +%s) - start))

debs=("$tmp"/nft-portfwd_*.deb)
deb=${debs[0]}
[[ -f $deb ]] || { echo "FAIL: no nft-portfwd_*.deb was built"; exit 1; }
echo "built ${deb##*/} in ${seconds}s"
# dh_auto_test's summary (the unit suite), unless DEB_BUILD_OPTIONS has nocheck.
grep -E '^(Ok|Fail|Skipped|Timeout): ' "$tmp/build.log" | sed 's/^/  unit tests: /'
grep -q '^Fail: *[1-9]' "$tmp/build.log" && fail "unit tests failed in the package build"
[[ -n $keep ]] && cp "$tmp/build.log" "$keep/build.log"

version=$(cd "$src" && dpkg-parsechangelog -S Version)
meson_version=$(sed -n "s/^  version : '\(.*\)',$/\1/p" "$src/meson.build")
[[ $version == "$meson_version" ]] ||
    fail "debian/changelog has version $version but meson.build has $meson_version"

listing=$(dpkg -c "$deb" | awk '{ print $6 }')
echo "$listing" | grep -E 'nft-portfwd|nftables' | sed 's/^/  /'
want() { # a regular expression that must match one path in the package
    grep -qE "^$1\$" <<<"$listing" || fail "the package has no $1"
}
want './usr/sbin/nft-portfwd'
want './usr/share/man/man8/nft-portfwd\.8\.gz'
want './usr/share/man/man5/nft-portfwd\.conf\.5\.gz'
want './(usr/)?lib/systemd/system/nft-portfwd\.service'
want './usr/share/bash-completion/completions/nft-portfwd'
want './usr/share/doc/nft-portfwd/examples/nft-portfwd\.conf\.example'
want './usr/share/doc/nft-portfwd/copyright'
for guide in README design migration troubleshooting status-json ansible; do
    want "./usr/share/doc/nft-portfwd/$guide\.md(\.gz)?"
done
grep -qE '^\./etc/nft-portfwd\.conf$' <<<"$listing" &&
    fail "the package ships /etc/nft-portfwd.conf; it must only ship the example"
grep -q '^\./usr/share/cockpit/' <<<"$listing" &&
    fail "nft-portfwd ships the Cockpit page; cockpit-nft-portfwd must"

# The Cockpit page, in a package of its own that needs Cockpit's bridge and this build.
cockpit_debs=("$tmp"/cockpit-nft-portfwd_*_all.deb)
cockpit_deb=${cockpit_debs[0]}
if [[ -f $cockpit_deb ]]; then
    echo "built ${cockpit_deb##*/}"
    cockpit_listing=$(dpkg -c "$cockpit_deb" | awk '{ print $6 }')
    for f in manifest.json index.html nft-portfwd.js nft-portfwd.css; do
        grep -qx "./usr/share/cockpit/nft-portfwd/$f" <<<"$cockpit_listing" ||
            fail "cockpit-nft-portfwd has no ./usr/share/cockpit/nft-portfwd/$f"
    done
    depends=$(dpkg-deb -f "$cockpit_deb" Depends)
    if [[ $depends == *"cockpit-bridge"* && $depends == *"nft-portfwd (= $version)"* ]]; then
        echo "  cockpit-nft-portfwd depends on: $depends"
    else
        fail "cockpit-nft-portfwd depends on '$depends'; expected cockpit-bridge and nft-portfwd (= $version)"
    fi
else
    fail "no cockpit-nft-portfwd_*_all.deb was built"
fi

# The unit as installed: ExecStart at the packaged binary.
dpkg-deb -x "$deb" "$tmp/root"
unit=$(ls "$tmp"/root/{usr/,}lib/systemd/system/nft-portfwd.service 2>/dev/null | head -n 1)
if [[ -n $unit ]]; then
    grep -qx 'ExecStart=/usr/sbin/nft-portfwd watch' "$unit" ||
        fail "the packaged unit's ExecStart is not /usr/sbin/nft-portfwd watch"
    grep -qE '^\./(usr/)?lib/systemd/system/(nftables|libvirtd)\.service\.d/' <<<"$listing" &&
        fail "the package ships a drop-in for nftables or libvirtd (the watcher needs none)"
fi

# Enabled and started the Debian way (dh_installsystemd), not stopped on upgrade.
dpkg-deb -e "$deb" "$tmp/control"
grep -q "deb-systemd-helper.*enable.*nft-portfwd.service\|deb-systemd-helper unmask 'nft-portfwd.service'" \
    "$tmp/control/postinst" || fail "postinst does not enable nft-portfwd.service (dh_installsystemd)"
grep -q "deb-systemd-invoke.*start.*nft-portfwd.service" "$tmp/control/postinst" ||
    fail "postinst does not start nft-portfwd.service"
grep -qF 'echo "$pid $start" >/run/nft-portfwd/handover' "$tmp/control/postinst" ||
    fail "postinst does not hand the forwards over on upgrade (restart without a flush)"
grep -q "deb-systemd-invoke stop.*nft-portfwd.service" "$tmp/control/prerm" ||
    fail "prerm does not stop (flush) nft-portfwd.service on removal"
grep -q '"$1" = remove.*' "$tmp/control/prerm" ||
    fail "prerm stops nft-portfwd.service on upgrade too (expected --no-stop-on-upgrade)"
# The metrics timer is shipped but left for the administrator to enable
for name in nft-portfwd-metrics.service nft-portfwd-metrics.timer; do
    grep -qE "^\./(usr/)?lib/systemd/system/$name\$" <<<"$listing" || fail "the package does not ship $name"
done
# (dh_installsystemd --no-enable: enabled again on upgrade only where it was, never started)
grep -q "was-enabled 'nft-portfwd-metrics.timer'" "$tmp/control/postinst" ||
    fail "postinst does not leave the metrics timer to the administrator (dh_installsystemd --no-enable)"
grep -q "deb-systemd-invoke.*start.*nft-portfwd-metrics" "$tmp/control/postinst" &&
    fail "postinst starts the metrics timer (it is the administrator's to enable)"
grep -q '^Recommends:.*libvirt0' "$tmp/control/control" || fail "the package does not recommend libvirt0 (loaded for vm forwards)"
for script in "$tmp"/control/{preinst,postinst,prerm,postrm}; do
    [[ -f $script ]] || continue
    sh -n "$script" || fail "${script##*/} is not valid sh"
done
grep -q '^Recommends:.*nftables' "$tmp/control/control" || fail "the package does not recommend nftables"

if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$deb" ${cockpit_deb:+"$cockpit_deb"} 2>&1 | grep -v "running with root" | sed "s/^/  lintian: /"
fi

if [[ -n $keep ]]; then
    cp "$tmp"/*.deb "$keep"/ && echo "kept: $(ls "$keep"/*.deb)"
fi
if [[ $failures -gt 0 ]]; then
    echo "$failures package check(s) failed"
    exit 1
fi
echo "package checks passed (build ${seconds}s)"
