#!/usr/bin/env bash
# test-deb.sh: the Debian package's whole cycle on this machine.
#   1. scripts/build-deb.sh builds luksblk_*.deb out of a copy of the tree
#      in a temp dir (dpkg-buildpackage -b -us -uc; lintian: no errors)
#   2. apt-get install ./luksblk_*.deb; Depends come from shlibs
#   3. `make demo`'s steps (scripts/demo.sh) run against /usr/bin/luksblk-*,
#      man finds the pages, the units and completion are in place
#   4. apt-get purge: the package is gone and no file it had is left
# Skips (77) without dpkg-buildpackage/debhelper, root or apt-get, in
# sanitizer builds (nothing sanitizer-specific in a package), or when a
# luksblk package or /usr/bin/luksblk-img is already on the machine (not
# ours to touch).  One run at a time per machine (flock): other trees'
# make check runs it too.  The package is purged on every exit path.
set -euo pipefail
SRC=${LB_SRC:?}
BUILD=${LB_BUILD:?}
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "${LB_SANITIZE:-none}" = none ] || skip "sanitizer build; make check tests the package"
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
    skip "dpkg-buildpackage or debhelper missing (apt-get install dpkg-dev debhelper fakeroot)"
[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    skip "installing a package needs root and apt-get"

exec 9>/tmp/luksblk-deb-test.lock
flock -w 1500 9 || fail "another luksblk package test held the lock for 25 min"
if dpkg-query -W -f='${Status}' luksblk 2>/dev/null | grep -q 'ok installed'; then
    skip "a luksblk package is installed on this machine; not touching it"
fi
[ ! -e /usr/bin/luksblk-img ] || skip "/usr/bin/luksblk-img exists (not from a package)"

T=$(mktemp -d "${TMPDIR:-/tmp}/lb-deb.XXXXXX")
installed=0
cleanup() {
    if [ "$installed" = 1 ]; then
        apt-get -o DPkg::Lock::Timeout=900 purge -y -qq luksblk >/dev/null 2>&1 ||
            dpkg --purge luksblk >/dev/null 2>&1 || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# 1. build
"$SRC/scripts/build-deb.sh" "$T/out" 2>&1 | tee "$T/build.txt" ||
    fail "scripts/build-deb.sh failed"
deb=$(ls "$T"/out/luksblk_*.deb)
version=$(meson introspect --projectinfo "$BUILD" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
case $deb in *"luksblk_${version}_"*) ;; *) fail "$deb is not version $version" ;; esac
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libglib2.0 libgnutls libargon2; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (shlibs): $depends"
done
echo "Depends: $depends"

# 2. install; directories that existed before stay after the purge
dirs_before=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\.||; s|/$||' |
    while read -r p; do [ -d "$p" ] && echo "$p"; done || true)
installed=1
apt-get -o DPkg::Lock::Timeout=900 install -y -qq "$deb" >"$T/apt.log" 2>&1 ||
    { cat "$T/apt.log"; fail "apt-get install $deb"; }
dpkg-query -W -f='${Status}' luksblk | grep -q 'ok installed' || fail "not installed"
files=$(dpkg -L luksblk)

# 3. the installed programs
/usr/bin/luksblk-img --version | grep -q "^luksblk-img version $version" || fail "--version"
/usr/bin/luksblk-storage-daemon --version | grep -q "^Features: " || fail "daemon --version"
for f in luksblk-storage-daemon@.service luksblk-storage-daemon@.socket; do
    grep -q "/$f\$" <<<"$files" || fail "$f not packaged"
done
grep -q '^ExecStart=/usr/bin/luksblk-storage-daemon ' \
    "$(grep '@\.service$' <<<"$files")" || fail "unit runs another program"
grep -q '/usr/share/bash-completion/completions/luksblk-io$' <<<"$files" ||
    fail "completion not packaged"
if command -v man >/dev/null; then
    for p in luksblk-img luksblk-io luksblk-storage-daemon 7\ luksblk; do
        # shellcheck disable=SC2086
        man -w $p >/dev/null 2>&1 || fail "man $p: no page"
    done
    man luksblk-img 2>/dev/null | grep -q 'header-detach' || fail "man luksblk-img"
fi
echo "== make demo's steps against /usr/bin"
LB_BINDIR=/usr/bin "$SRC/scripts/demo.sh" "$BUILD" >"$T/demo.log" 2>&1 ||
    { cat "$T/demo.log"; fail "demo.sh against /usr/bin failed"; }
grep -q '^\$ /usr/bin/luksblk-img create' "$T/demo.log" ||
    { cat "$T/demo.log"; fail "the demo did not run /usr/bin/luksblk-img"; }
grep -E '^=== ' "$T/demo.log"

# 4. purge: nothing left
apt-get -o DPkg::Lock::Timeout=900 purge -y -qq luksblk >"$T/apt.log" 2>&1 ||
    { cat "$T/apt.log"; fail "apt-get purge"; }
installed=0
if dpkg-query -W -f='${Status}' luksblk 2>/dev/null | grep -q 'installed'; then
    fail "still installed after purge"
fi
left=$(while read -r f; do
        [ "$f" != /. ] || continue
        [ -e "$f" ] || [ -L "$f" ] || continue
        grep -qxF -- "$f" <<<"$dirs_before" || echo "$f"
    done <<<"$files")
for d in /etc/luksblk /var/lib/luksblk /var/lib/private/luksblk /run/luksblk; do
    [ ! -e "$d" ] || left="$left $d"
done
[ -z "$left" ] || fail "left behind after purge: $left"
echo "built, installed, demo run against /usr/bin, purged: nothing left"
