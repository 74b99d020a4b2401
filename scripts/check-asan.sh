#!/usr/bin/env bash
# check-asan.sh: build luksblk with AddressSanitizer + UndefinedBehaviorSanitizer
# into a separate build directory and run the whole test suite there.
#
# Usage: scripts/check-asan.sh [BUILDDIR]   (default build-asan)
#
# Every sanitizer report (ASan, LSan, UBSan), from the unit tests and from
# the tools and daemons the shell tests start, is written to a log file in
# a fresh directory; the run fails if any report was written, even when the
# test that ran the program only expected a non-zero exit status.
set -u
cd "$(dirname "$0")/.."
build=${1:-build-asan}

if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null || exit 1
fi
ninja -C "$build" || exit 1

logdir=$(mktemp -d "${TMPDIR:-/tmp}/luksblk-asan.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
# halt_on_error: the first report ends the program (also for UBSan).
# verify_asan_link_order=0: libfuse and other preloaded libraries must not
# stop ASan from starting.  Both runtimes need the same log_path (they
# share the report machinery).
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:log_path=$logdir/report"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logdir/report"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
# The soak and hostile tests skip their RSS bounds under a sanitizer (ASan's
# quarantine and shadow memory make the daemon's RSS meaningless).
export LB_SANITIZER=address

# ASan+UBSan run 2-3x slower: the suite's timeouts (about 5x a plain run)
# are multiplied.
scripts/run-tests.sh "$build" --timeout-multiplier 3
rc=$?

reports=$(find "$logdir" -type f | wc -l)
if [ "$reports" -gt 0 ]; then
    echo "check-asan: $reports sanitizer report(s):" >&2
    for f in "$logdir"/*; do
        echo "---- $(basename "$f")" >&2
        head -n 60 "$f" >&2
    done
    exit 1
fi
echo "check-asan: no sanitizer reports"
exit $rc
