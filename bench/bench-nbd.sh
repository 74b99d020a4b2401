#!/usr/bin/env bash
# bench-nbd.sh: NBD export throughput, luksblk vs qemu-storage-daemon.
#
# One 1 GiB LUKS1 volume with a detached header on /dev/shm (cryptsetup,
# aes-xts-plain64), served in turn by our server and by
# qemu-storage-daemon over a unix socket with the same options; fio's nbd
# engine runs the same four jobs against each.  Prints MB/s or IOPS per
# job and the ratio luksblk / qemu.
#
# usage: bench/bench-nbd.sh [BUILD_DIR]   (env: RUNTIME=seconds, SIZE=1G)
set -u
BUILD=$(cd "${1:-build}" && pwd)
RUNTIME=${RUNTIME:-10}
SIZE=${SIZE:-1G}
if [ -x "$BUILD/tools/luksblk-storage-daemon" ] && [ -z "${LB_NBD_SERVER:-}" ]; then
    OURS="$BUILD/tools/luksblk-storage-daemon"
else
    OURS=${LB_NBD_SERVER:-$BUILD/tests/unit/nbd-test-server}
fi
for t in fio cryptsetup; do
    command -v $t >/dev/null || { echo "bench-nbd: $t not installed"; exit 1; }
done
QSD=$(command -v qemu-storage-daemon || true)

T=$(mktemp -d /dev/shm/lb-bench-nbd.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

printf 'bench' > "$T/pass"
truncate -s "$SIZE" "$T/payload.img"
cryptsetup luksFormat --batch-mode --type luks1 --header "$T/header.img" \
    --key-file "$T/pass" --pbkdf-force-iterations 1000 "$T/payload.img" || exit 1
# Fill the volume once so reads decrypt real data on both servers.
SOCK=$T/nbd.sock
URI="nbd+unix:///disk0?socket=$SOCK"
ARGS=(--object "secret,id=sec0,file=$T/pass"
      --blockdev "driver=file,node-name=p0,filename=$T/payload.img"
      --blockdev "driver=file,node-name=h0,filename=$T/header.img"
      --blockdev "driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0"
      --nbd-server "addr.type=unix,addr.path=$SOCK"
      --export "type=nbd,id=e0,node-name=disk0,name=disk0,writable=on")

start() {
    rm -f "$SOCK" "$T/pid"
    "$@" "${ARGS[@]}" --pidfile "$T/pid" >"$T/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        [ -S "$SOCK" ] && [ -s "$T/pid" ] && return 0
        sleep 0.1
    done
    cat "$T/server.log"
    echo "bench-nbd: server did not start"
    exit 1
}

stop() {
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null
    PID=
}

JOBS=("seqread 1M read 8" "seqwrite 1M write 8"
      "randread 4k randread 32" "randwrite 4k randwrite 32")

# run_job TAG JOB: one fio run; result in $T/TAG-NAME.json.
run_job() {
    local tag=$1
    set -- $2
    fio --name="$1" --ioengine=nbd --uri="$URI" --rw="$3" --bs="$2" \
        --iodepth="$4" --size="$SIZE" --time_based --runtime="$RUNTIME" \
        --ramp_time=1 --output-format=json --output="$T/$tag-$1.json" \
        >/dev/null 2>&1 || echo "bench-nbd: fio $1 failed on $tag"
}

start "$OURS"
fio --name=fill --ioengine=nbd --uri="$URI" --rw=write --bs=1M --iodepth=8 \
    --size="$SIZE" >/dev/null 2>&1
stop
# Job by job, each server in turn (a fresh server per run), so that the
# two figures of a line are measured seconds apart: on a shared machine a
# load change then skews one line, not every line of one server.
for j in "${JOBS[@]}"; do
    start "$OURS"
    run_job luksblk "$j"
    stop
    if [ -n "$QSD" ]; then
        start "$QSD"
        run_job qemu "$j"
        stop
    fi
done

python3 - "$T" "${JOBS[@]}" <<'PY'
import json, os, sys
d = sys.argv[1]
def get(tag, name):
    p = os.path.join(d, "%s-%s.json" % (tag, name))
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return None
    txt = open(p).read()
    job = json.loads(txt[txt.index("{"):])["jobs"][0]
    side = job["read"] if "read" in name else job["write"]
    return side["bw_bytes"] / 1e6, side["iops"]
print("%-10s %5s %12s %12s %7s" % ("job", "bs", "luksblk", "qemu-sd", "ratio"))
for j in sys.argv[2:]:
    name, bs = j.split()[:2]
    a, b = get("luksblk", name), get("qemu", name)
    idx, unit = (0, "MB/s") if bs == "1M" else (1, "IOPS")
    fa = "%.0f %s" % (a[idx], unit) if a else "-"
    fb = "%.0f %s" % (b[idx], unit) if b else "-"
    ratio = "%.2fx" % (a[idx] / b[idx]) if a and b and b[idx] else "-"
    print("%-10s %5s %12s %12s %7s" % (name, bs, fa, fb, ratio))
PY
