#!/usr/bin/env bash
# run-qemu-iotests.sh: run QEMU's own, unmodified iotests (`check -luks`)
# against luksblk's tools.
#
# Usage: tests/qemu-iotests/run-qemu-iotests.sh BUILDDIR TEST...
#   e.g. ... build 210 luks-detached-header (names as check takes them)
#
# QEMU's tests/qemu-iotests and python/qemu come from the Debian source
# package of the installed QEMU (scripts/debian-source.sh, cached in
# BUILDDIR/qemu-src); nothing of QEMU's is committed here.  QEMU's runner
# then runs with:
#   QEMU_IMG_PROG  BUILDDIR/qemu-iotests-bin/qemu-img -> tools/luksblk-img
#   QEMU_IO_PROG   BUILDDIR/qemu-iotests-bin/qemu-io  -> tools/luksblk-io
#   QEMU_PROG      tests/qemu-iotests/qemu-launcher (iotests.VM -> daemon)
#   QEMU_NBD_PROG, QSD_PROG  a stub that fails (none of these tests use them)
# Normalisation (the only one): QEMU's reference outputs name the programs
# "qemu-img:"/"qemu-io:" in messages, and luksblk's tools, like QEMU's, name
# themselves after argv[0]; the two symlinks above are named after QEMU's
# programs, so messages read "qemu-img: ..." where a user running
# luksblk-img directly sees "luksblk-img: ...".  Outputs are compared with
# QEMU's .out files by QEMU's runner, byte for byte, with nothing else
# filtered.
#
# Exit: 0 all passed, 1 a test failed (the diff is printed), 77 the source
# package cannot be had or every test was "not run" (reason printed).
set -u
build=$(cd "${1:?usage: $0 BUILDDIR TEST...}" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

qsrc="$build/qemu-src"
"$src/scripts/debian-source.sh" qemu "$qsrc" tests/qemu-iotests python/qemu >/dev/null
rc=$?
if [ $rc = 77 ]; then
    echo "SKIP: QEMU's iotests are unavailable (see above)"
    exit 77
elif [ $rc != 0 ]; then
    exit 1
fi

bin="$build/qemu-iotests-bin"
mkdir -p "$bin"
ln -sfn "$build/tools/luksblk-img" "$bin/qemu-img"
ln -sfn "$build/tools/luksblk-io" "$bin/qemu-io"
printf '#!/bin/sh\necho "$0: not provided by luksblk" >&2\nexit 1\n' >"$bin/unsupported.tmp"
chmod +x "$bin/unsupported.tmp"
mv -f "$bin/unsupported.tmp" "$bin/unsupported"

work=$(mktemp -d "${TMPDIR:-/tmp}/lb-qemu-iotests.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/test" "$work/sock"

export QEMU_PROG="$here/qemu-launcher"
export QEMU_IMG_PROG="$bin/qemu-img"
export QEMU_IO_PROG="$bin/qemu-io"
export QEMU_NBD_PROG="$bin/unsupported"
export QSD_PROG="$bin/unsupported"
export LB_STORAGE_DAEMON="$build/tools/luksblk-storage-daemon"
export TEST_DIR="$work/test" SOCK_DIR="$work/sock"

cd "$qsrc/tests/qemu-iotests" || exit 1
out=$(python3 ./check -luks "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
# .out.bad files live beside the tests, in the build dir's copy
if [ $rc = 0 ] && printf '%s\n' "$out" | grep -q '^Not run:'; then
    if ! printf '%s\n' "$out" | grep -qE '^Passed all [1-9]'; then
        echo "SKIP: not run (see above)"
        exit 77
    fi
    echo "FAIL: some tests were not run"
    exit 1
fi
[ $rc = 0 ] || exit 1
exit 0
