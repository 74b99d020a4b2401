#!/usr/bin/env bash
# check-tsan.sh: build luksblk with ThreadSanitizer into a separate build
# directory and run the threaded tests there (the block layer, the NBD and
# FUSE exports, QMP, the soak and the hostile-client tests).
#
# Usage: scripts/check-tsan.sh [BUILDDIR] [TEST...]   (default build-tsan)
#
# Every TSan report, from the unit tests and from the daemons and tools
# the shell tests start, is written to a log file in a fresh directory; the
# run fails if any report was written, even when the test that ran the
# program passed.  Suppressions (tests/tsan.supp) cover only library false
# positives, each explained there; GLib's locks and thread pool are
# annotated for TSan by tests/tsan/glib-tsan.c, linked into this build.
#
# Single-threaded tests (ciphers, KDFs, header parsers: no threads to race)
# are left to `make check` and `make check-asan`; under TSan's 5-15x
# slowdown they would only cost time.
set -u
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
shift || true

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Db_sanitize=thread -Db_lundef=false \
        >/dev/null || exit 1
fi
ninja -C "$build" || exit 1

# The threaded tests: anything that runs an I/O thread pool, an export,
# a job or the monitor.  Test names as in `meson test --list`.
tests=("$@")
if [ ${#tests[@]} = 0 ]; then
    tests=(util-event block-file block-io block-luks block-graph
           crypto-block-concurrent
           nbd-io nbd-concurrency nbd-tls nbd-qmp nbd-authz nbd-addr
           nbd-datapath fuse-lifecycle fuse-luks fuse-concurrent fuse-qmp
           concurrent-control export-perms
           qmp-protocol luks-detached-header luks2-detached-header
           soak hostile-nbd hostile-qmp)
    # Only those this build has (FUSE tests need libfuse3, etc.).
    have=$(meson test -C "$build" --list 2>/dev/null | sed 's/.* \/ //')
    keep=()
    for t in "${tests[@]}"; do
        grep -qx -- "$t" <<<"$have" && keep+=("$t")
    done
    tests=("${keep[@]}")
fi

logdir=$(mktemp -d "${TMPDIR:-/tmp}/luksblk-tsan.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
# halt_on_error=0: report every race of a run, not only the first.
# second_deadlock_stack: both stacks of a lock-order inversion.
# TSan's exit code (66) also fails the test that ran the program.
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:log_path=$logdir/report:suppressions=$PWD/tests/tsan.supp:print_suppressions=0"
# Tests whose timing assumptions do not hold under TSan's slowdown read this.
export LB_SANITIZER=thread
# GLib 2.74's slice allocator recycles list nodes and small blocks between
# threads inside libglib, where TSan cannot see the free and the reuse: it
# would report the reuse as a race.  Plain malloc instead (GLib >= 2.76
# does this always).
export G_SLICE=always-malloc

# TSan runs each program several times slower: give every test more time.
scripts/run-tests.sh "$build" --timeout-multiplier 3 "${tests[@]}"
rc=$?

reports=$(find "$logdir" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
    echo "check-tsan: $reports ThreadSanitizer report file(s):" >&2
    for f in "$logdir"/*; do
        echo "---- $(basename "$f")" >&2
        head -n 80 "$f" >&2
    done
    exit 1
fi
echo "check-tsan: no ThreadSanitizer reports"
exit $rc
