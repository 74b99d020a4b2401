# tools-lib.sh: shared helpers for the luksblk-img / luksblk-io tests.
# Source it with the build directory as $1.  Provides $IMG, $IO, a scratch
# directory $T (removed on exit), and assertion helpers that print what
# failed and exit 1.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io
SEC="--object secret,id=sec0,data=abc123"
T=$(mktemp -d "${TMPDIR:-/dev/shm}/lbtools.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
nchecks=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { nchecks=$((nchecks + 1)); }

# run CMD...: run, capture stdout in $out, stderr in $err, status in $rc.
run() {
    "$@" >"$T/.out" 2>"$T/.err"
    rc=$?
    out=$(cat "$T/.out")
    err=$(cat "$T/.err")
}
# expect_ok CMD...: must exit 0.
expect_ok() {
    run "$@"
    [ "$rc" = 0 ] || fail "expected success: $* (rc=$rc) stderr: $err stdout: $out"
    ok
}
# expect_rc N CMD...: must exit with status N (output in $out and $err).
expect_rc() {
    local want=$1; shift
    run "$@"
    [ "$rc" = "$want" ] ||
        fail "expected exit status $want, got $rc: $* stderr: $err stdout: $out"
    ok
}
# expect_err PATTERN CMD...: must fail (1, not a signal), with exactly one
# stderr line matching PATTERN (extended regex).
expect_err() {
    local pat=$1; shift
    run "$@"
    [ "$rc" != 0 ] || fail "expected failure: $*"
    [ "$rc" -lt 128 ] || fail "crashed (rc=$rc): $*"
    [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] ||
        fail "expected one error line from $*, got: $err"
    printf '%s\n' "$err" | grep -Eq -- "$pat" ||
        fail "error of $* does not match '$pat': $err"
    ok
}
# has LINE: $out contains LINE exactly.
has() { printf '%s\n' "$out" | grep -Fxq -- "$1" || fail "missing line '$1' in: $out"; ok; }
# has_err LINE: $err contains LINE exactly.
has_err() { printf '%s\n' "$err" | grep -Fxq -- "$1" || fail "missing stderr line '$1' in: $err"; ok; }
# has_re REGEX: some line of $out matches.
has_re() { printf '%s\n' "$out" | grep -Eq -- "$1" || fail "no line matching '$1' in: $out"; ok; }
# json_get PATH: value at a dotted path of the JSON in $out.
json_get() {
    printf '%s' "$out" | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v))' "$1"
}
json_is() {
    local got
    got=$(json_get "$1") || fail "no JSON key $1 in: $out"
    [ "$got" = "$2" ] || fail "JSON $1 is $got, expected $2"
    ok
}
done_ok() { echo "ok: $nchecks checks"; exit 0; }
