#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer harnesses of tests/fuzz with clang (ASan +
# UBSan) into build-fuzz/ and run each for a while.
#
# Usage: scripts/fuzz.sh [TARGET...]     (default: every target)
#   FUZZ_TIME   seconds per target (default 60)
#   FUZZ_JOBS   parallel fuzzing processes per target (default 1)
#
# The working corpus grows in build-fuzz/corpus/TARGET (seeded from
# tests/fuzz/corpus/TARGET); crashing inputs land in build-fuzz/crashes/
# and are copied, named as the regression test wants them, to
# build-fuzz/regress/TARGET/ (also printed as base64, so a CI log keeps
# them).  Commit a fixed crash as tests/fuzz/regress/TARGET/NAME so that
# the unit test fuzz-regress replays it in `make check`.  Any crash, leak,
# sanitizer report or timeout fails the run (exit 1).  The last lines are
# a table of executions per target.
set -eu
cd "$(dirname "$0")/.."
build=build-fuzz
time=${FUZZ_TIME:-60}
jobs=${FUZZ_JOBS:-1}

if ! command -v clang >/dev/null; then
    echo "fuzz: clang is not installed (apt-get install clang)" >&2
    exit 77
fi
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
targets=${*:-luks1 luks2 luks2-json opts qmp nbd}
ninja -C "$build" $(for t in $targets; do echo "tests/fuzz/fuzz-$t"; done)

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# Crashes of earlier runs were kept in build-fuzz/regress/: report only new ones.
rm -rf "$build/crashes"
mkdir -p "$build/crashes"
par=""
if [ "$jobs" -gt 1 ]; then
    # Job mode writes fuzz-N.log files into the current directory.
    par="-jobs=$jobs -workers=$jobs"
    src=$PWD
    cd "$build"
    build=.
else
    src=$PWD
fi
rc=0
summary=""
for t in $targets; do
    mkdir -p "$build/corpus/$t"
    echo "fuzz: $t for ${time}s"
    trc=0
    "$build/tests/fuzz/fuzz-$t" "$build/corpus/$t" "$src/tests/fuzz/corpus/$t" \
        -max_total_time="$time" $par \
        -max_len=262144 -timeout=25 -rss_limit_mb=2048 \
        -artifact_prefix="$build/crashes/$t-" -print_final_stats=1 \
        >"$build/fuzz-$t.log" 2>&1 || trc=$?
    tail -n 12 "$build/fuzz-$t.log" | grep -E "ERROR|SUMMARY|stat::number_of_executed_units|Done" || true
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log" | awk '{s += $1} END {print s + 0}')
    status=ok
    if [ "$trc" != 0 ]; then
        rc=1
        status="FAILED (exit $trc)"
        grep -m1 -E "ERROR|SUMMARY" "$build/fuzz-$t.log" || true
    fi
    summary="$summary$(printf '%-12s %12s execs  %s' "$t" "$execs" "$status")\n"
done
# Keep every crashing input as a regression input for fuzz-regress.
for f in "$build"/crashes/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    for t in $targets; do
        case $name in
        "$t"-crash-* | "$t"-leak-* | "$t"-timeout-* | "$t"-oom-*)
            mkdir -p "$build/regress/$t"
            cp "$f" "$build/regress/$t/${name#"$t"-}"
            echo "fuzz: $t input $name kept as $build/regress/$t/${name#"$t"-}" \
                "(commit it under tests/fuzz/regress/$t/ with the fix); base64:"
            base64 -w 76 "$f" | head -n 400
            ;;
        esac
    done
done
echo "fuzz: executions per target (${time}s each):"
printf "$summary"
exit $rc
