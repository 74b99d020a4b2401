#!/usr/bin/env bash
# build-deb.sh (`make deb`): build the Debian package luksblk_*.deb with
# dpkg-buildpackage -b -us -uc out of a copy of the source tree in a
# temporary directory (the tree itself is not written), copy the .deb into
# OUTDIR (default build/) and run lintian on it: errors fail the build,
# warnings are printed.
# Usage: scripts/build-deb.sh [OUTDIR]
# Exit status 77 when dpkg-buildpackage is missing (the test skips).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null; then
    echo "luksblk: dpkg-buildpackage/debhelper missing:" \
         "apt-get install dpkg-dev debhelper fakeroot (scripts/install-deps.sh)" >&2
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/luksblk-deb.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir "$T/luksblk"

# The copy: the files git knows (tracked, or new and not ignored); without
# git, everything but build directories.
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z -c -o --exclude-standard |
        tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$T/luksblk" -xf -
else
    tar -C "$SRC" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$T/luksblk" -xf -
fi
cd "$T/luksblk"
if ! dpkg-checkbuilddeps 2>"$T/deps"; then
    cat "$T/deps" >&2
    echo "luksblk: install the build dependencies first (scripts/install-deps.sh)" >&2
    exit 1
fi
echo "dpkg-buildpackage -b -us -uc (in $T/luksblk; log: build.log on failure)"
# noddebs: no -dbgsym package; the suite is not rerun (debian/rules).
if ! DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} noddebs parallel=$(nproc)" \
        dpkg-buildpackage -b -us -uc >"$T/build.log" 2>&1; then
    tail -n 60 "$T/build.log" >&2
    echo "luksblk: dpkg-buildpackage failed" >&2
    exit 1
fi
debs=("$T"/luksblk_*.deb)
cp "${debs[@]}" "$OUT/"
echo "built: ${debs[*]/#"$T"/$OUT}"

if command -v lintian >/dev/null; then
    changes=("$T"/luksblk_*.changes)
    lintian --info --display-info "${changes[0]}" >"$T/lintian.log" 2>&1 || true
    grep -vE '^N: *$' "$T/lintian.log" | grep -E '^[EWI]:' | sed 's/^/lintian /' || true
    if grep -q '^E:' "$T/lintian.log"; then
        echo "luksblk: lintian reports errors" >&2
        exit 1
    fi
    echo "lintian: $(grep -c '^E:' "$T/lintian.log") errors, $(grep -c '^W:' "$T/lintian.log") warnings"
else
    echo "(lintian not installed: package not checked)"
fi
