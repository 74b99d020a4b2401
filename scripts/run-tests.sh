#!/usr/bin/env bash
# run-tests.sh: run every registered meson test and end with the line
# "N passed, N failed, N skipped" (skips are tests whose tool is missing).
set -u
build=${1:-build}
shift || true
meson test -C "$build" --print-errorlogs --num-processes 2 "$@"
rc=$?
log="$build/meson-logs/testlog.json"
if [ ! -f "$log" ] || [ "$(meson introspect --tests "$build" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ]; then
    echo "0 passed, 0 failed"
    exit $rc
fi
python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $rc
