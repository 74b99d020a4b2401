#!/usr/bin/env bash
# bench-fuse.sh: FUSE export throughput, luksblk vs qemu-storage-daemon, in
# the same run on the same 1 GiB detached-header LUKS1 volume (LUKS1 because
# QEMU cannot open LUKS2) on /dev/shm.  fio (buffered, direct=0) runs the
# same jobs on each server's FUSE mount:
#   seq-write / seq-read   1 MiB blocks, 1 job
#   rand-write / rand-read 4 KiB blocks, 4 jobs (psync)
#   rand-read-odirect      the same with O_DIRECT (direct=1), for reference
# and prints MiB/s, IOPS and the luksblk/QEMU ratio per line.
#
# Caching differs: QEMU 10.0's FUSE export lets the kernel cache the file,
# luksblk's opens it in direct-I/O mode (coherent with other exports of the
# node, parallel writes).  So with direct=0, QEMU's random reads turn into
# page-cache hits as the run goes on (more so with a longer RUNTIME); the
# O_DIRECT line compares both without the cache.
#
# Usage: bench/bench-fuse.sh [BUILD_DIR]   (env: RUNTIME=seconds, SIZE=1G)
# Not part of `make check`: it needs root or fusermount3, ~2.2 GiB of
# /dev/shm and a minute or two.
set -u
B=$(realpath "${1:-build}")
RUNTIME=${RUNTIME:-8}
SIZE=${SIZE:-1G}

for t in fio cryptsetup qemu-storage-daemon python3; do
    command -v $t >/dev/null || { echo "bench-fuse: $t not installed"; exit 77; }
done
[ -c /dev/fuse ] || { echo "bench-fuse: no /dev/fuse"; exit 77; }
OURS=$B/tools/luksblk-storage-daemon
[ -x "$OURS" ] || { echo "bench-fuse: $OURS not built"; exit 1; }

T=$(mktemp -d /dev/shm/lb-bench-fuse.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    grep -q " $T/" /proc/self/mounts && umount -l "$T"/*.raw 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

printf 'bench-pass' > "$T/pass"
truncate -s "$SIZE" "$T/payload.img"
cryptsetup luksFormat --batch-mode --type luks1 --header "$T/header.img" \
    --key-file "$T/pass" --cipher aes-xts-plain64 --key-size 512 \
    --hash sha256 --pbkdf-force-iterations 1000 "$T/payload.img" >/dev/null \
    || { echo "bench-fuse: luksFormat failed"; exit 1; }
# Fill the payload once so both servers read real ciphertext, not holes.
head -c "$SIZE" /dev/urandom |
    dd of="$T/payload.img" bs=1M iflag=fullblock conv=notrunc status=none

ARGS=(--object "secret,id=sec0,file=$T/pass"
      --blockdev "driver=file,node-name=p0,filename=$T/payload.img"
      --blockdev "driver=file,node-name=h0,filename=$T/header.img"
      --blockdev "driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0")

start() {   # PROGRAM MOUNTPOINT
    touch "$2"
    "$1" "${ARGS[@]}" \
        --export "type=fuse,id=e0,node-name=disk0,mountpoint=$2,writable=on" \
        > "$T/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 200); do
        grep -q " $2 fuse" /proc/self/mounts && stat "$2" >/dev/null 2>&1 && return 0
        kill -0 $PID 2>/dev/null || break
        sleep 0.05
    done
    cat "$T/server.log"; echo "bench-fuse: $1 did not mount"; exit 1
}
stop() {
    kill -TERM "$PID"; wait "$PID" 2>/dev/null; PID=
}

# run_job NAME MOUNTPOINT JOB: one JSON result file.
JOBS="seq-write:write:1M:1:0 seq-read:read:1M:1:0 rand-write:randwrite:4k:4:0 rand-read:randread:4k:4:0 rand-read-odirect:randread:4k:4:1"
run_job() {
    IFS=: read -r name rw bs nj direct <<< "$3"
    fio --name="$name" --filename="$2" --rw="$rw" --bs="$bs" \
        --numjobs="$nj" --group_reporting --ioengine=psync --direct="$direct" \
        --size="$SIZE" --runtime="$RUNTIME" --time_based \
        --output-format=json --output="$T/$1-$name.json" >/dev/null 2>&1 \
        || { echo "bench-fuse: fio $name on $1 failed"; exit 1; }
}

echo "bench-fuse: $SIZE LUKS1 detached header on /dev/shm, fio psync direct=0, ${RUNTIME}s per job"
# Job by job, each server in turn on a fresh mount (so neither keeps a page
# cache from an earlier job), and the two figures of a line are measured
# seconds apart: on a shared machine a load change then skews one line,
# not every line of one server.
for j in $JOBS; do
    start "$OURS" "$T/luksblk.raw"; run_job luksblk "$T/luksblk.raw" "$j"; stop
    start qemu-storage-daemon "$T/qemu.raw"; run_job qemu "$T/qemu.raw" "$j"; stop
done

python3 - "$T" $JOBS <<'EOF'
import json, sys
d = sys.argv[1]
def fig(server, name):
    job = json.load(open(f"{d}/{server}-{name}.json"))["jobs"][0]
    io = job["write"] if "write" in name else job["read"]
    return io["bw"] / 1024.0, io["iops"]
print(f"{'job':<17} {'luksblk MiB/s':>14} {'IOPS':>9} {'qemu MiB/s':>11} {'IOPS':>9} {'ratio':>6}")
worst = None
for j in sys.argv[2:]:
    name = j.split(":")[0]
    reference = name.endswith("-odirect")
    lb, lbi = fig("luksblk", name)
    qm, qmi = fig("qemu", name)
    ratio = lb / qm if qm else float("inf")
    if not reference:
        worst = ratio if worst is None else min(worst, ratio)
    print(f"{name:<17} {lb:>14.1f} {lbi:>9.0f} {qm:>11.1f} {qmi:>9.0f} {ratio:>5.2f}x")
print(f"worst ratio {worst:.2f}x over the direct=0 jobs (target >= 2x)")
EOF
