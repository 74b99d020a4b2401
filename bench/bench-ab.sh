#!/usr/bin/env bash
# bench-ab.sh: paired before/after comparison of two luksblk builds (for
# changes to the data path: "keep every figure within 5%").
#
#   bench/bench-ab.sh OLD_BUILD NEW_BUILD
#
# The same jobs run on both builds, alternating OLD, NEW, OLD, NEW... so a
# load change on a shared machine skews both sides alike; best of ROUNDS
# per side is kept.  Jobs (1 GiB volumes on /dev/shm, fio):
#   nbd-luks  NBD export of a LUKS1 detached-header volume (aes-xts)
#   nbd-file  NBD export of the plain payload file (the ceiling)
#             seqread/seqwrite 1M QD8, randread/randwrite 4k QD32, and
#             randread 4k QD32 over 2 connections
#   fuse-luks FUSE export of the LUKS1 volume (psync, 4 jobs for 4k)
#   img       luksblk-img bench -s 1M -d 8, luks and raw on the same file
# Prints one line per job: old, new and new/old.
#
# Environment: RUNTIME (5 s per fio run), ROUNDS (3), SIZE (1G),
# ONLY (regex of job names to run).
set -u
OLD=$(cd "$1" && pwd)
NEW=$(cd "$2" && pwd)
RUNTIME=${RUNTIME:-5}
ROUNDS=${ROUNDS:-3}
SIZE=${SIZE:-1G}
ONLY=${ONLY:-.}
for t in fio cryptsetup python3; do
    command -v $t >/dev/null || { echo "bench-ab: $t not installed"; exit 1; }
done

T=$(mktemp -d /dev/shm/lb-bench-ab.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    grep -q " $T/" /proc/self/mounts && umount -l "$T"/*.raw 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

printf 'bench' > "$T/pass"
truncate -s "$SIZE" "$T/payload.img"
cryptsetup luksFormat --batch-mode --type luks1 --header "$T/header.img" \
    --key-file "$T/pass" --cipher aes-xts-plain64 --key-size 512 \
    --pbkdf-force-iterations 1000 "$T/payload.img" >/dev/null || exit 1
head -c "$SIZE" /dev/urandom |
    dd of="$T/payload.img" bs=1M iflag=fullblock conv=notrunc status=none
SOCK=$T/nbd.sock
BASE=(--object "secret,id=sec0,file=$T/pass"
      --blockdev "driver=file,node-name=p0,filename=$T/payload.img"
      --blockdev "driver=file,node-name=h0,filename=$T/header.img"
      --blockdev "driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0")

start() {   # BUILD NODE [fuse MOUNTPOINT]
    local prog=$1/tools/luksblk-storage-daemon
    rm -f "$SOCK"
    if [ "${3:-}" = fuse ]; then
        touch "$4"
        "$prog" "${BASE[@]}" --export \
            "type=fuse,id=e0,node-name=$2,mountpoint=$4,writable=on" \
            >"$T/server.log" 2>&1 &
        PID=$!
        for _ in $(seq 200); do
            grep -q " $4 fuse" /proc/self/mounts && return 0
            sleep 0.05
        done
    else
        "$prog" "${BASE[@]}" --nbd-server "addr.type=unix,addr.path=$SOCK" \
            --export "type=nbd,id=e0,node-name=$2,name=d,writable=on" \
            >"$T/server.log" 2>&1 &
        PID=$!
        for _ in $(seq 200); do
            [ -S "$SOCK" ] && return 0
            sleep 0.05
        done
    fi
    cat "$T/server.log"; echo "bench-ab: server did not start"; exit 1
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null; PID=; }

# fio_value JSON: MB/s for 1M jobs, IOPS for 4k ones.
fio_value() {
    python3 - "$1" <<'PY'
import json, sys
txt = open(sys.argv[1]).read()
j = json.loads(txt[txt.index("{"):])["jobs"][0]
side = j["write"] if j["write"]["io_bytes"] else j["read"]
bs = j["job options"].get("bs", "")
print("%.0f" % (side["bw_bytes"] / 1e6 if bs == "1M" else side["iops"]))
PY
}

# One measurement: prints the figure.  KIND NAME BUILD
measure() {
    local kind=$1 name=$2 b=$3 rw bs qd conns=1 node=disk0
    case $name in
        *seqread*) rw=read bs=1M qd=8 ;;
        *seqwrite*) rw=write bs=1M qd=8 ;;
        *randread*) rw=randread bs=4k qd=32 ;;
        *randwrite*) rw=randwrite bs=4k qd=32 ;;
    esac
    case $name in *-2c) conns=2 ;; esac
    case $kind in
    nbd-luks|nbd-file)
        [ $kind = nbd-file ] && node=p0
        start "$b" $node
        fio --name=j --ioengine=nbd --uri="nbd+unix:///d?socket=$SOCK" \
            --rw=$rw --bs=$bs --iodepth=$qd --numjobs=$conns \
            --group_reporting --size="$SIZE" --time_based \
            --runtime="$RUNTIME" --ramp_time=1 --output-format=json \
            --output="$T/out.json" >/dev/null 2>&1
        stop
        fio_value "$T/out.json" ;;
    fuse-luks)
        local nj=1
        [ $bs = 4k ] && nj=4
        start "$b" disk0 fuse "$T/m.raw"
        fio --name=j --filename="$T/m.raw" --rw=$rw --bs=$bs --numjobs=$nj \
            --group_reporting --ioengine=psync --direct=0 --size="$SIZE" \
            --runtime="$RUNTIME" --time_based --output-format=json \
            --output="$T/out.json" >/dev/null 2>&1
        stop
        fio_value "$T/out.json" ;;
    img)
        local opts=driver=raw,file.filename=$T/payload.img w=
        case $name in luks-*) opts=driver=luks,file.filename=$T/payload.img,header.filename=$T/header.img,key-secret=sec0 ;; esac
        case $name in *write*) w=-w ;; esac
        local t
        t=$("$b/tools/luksblk-img" bench --object "secret,id=sec0,file=$T/pass" \
            --image-opts "$opts" $w -c 1024 -d 8 -s 1M |
            sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p')
        python3 -c "import sys; print('%.0f' % (1024 * 1.048576 / float(sys.argv[1])))" "$t" ;;
    esac
}

JOBS="nbd-luks:seqread nbd-luks:seqwrite nbd-luks:randread nbd-luks:randwrite
nbd-luks:randread-2c nbd-file:seqread nbd-file:seqwrite nbd-file:randread
nbd-file:randwrite nbd-file:randread-2c fuse-luks:seqread fuse-luks:seqwrite
fuse-luks:randread fuse-luks:randwrite img:luks-read img:luks-write
img:raw-read img:raw-write"

echo "bench-ab: old=$OLD new=$NEW, best of $ROUNDS, ${RUNTIME}s per fio run; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-22s %10s %10s %8s\n' job old new new/old
for j in $JOBS; do
    echo "$j" | grep -qE "$ONLY" || continue
    kind=${j%%:*} name=${j#*:}
    o=() n=()
    for _ in $(seq "$ROUNDS"); do
        o+=("$(measure "$kind" "$name" "$OLD")")
        n+=("$(measure "$kind" "$name" "$NEW")")
    done
    python3 - "$j" "${o[*]}" "${n[*]}" <<'PY'
import sys
job, o, n = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
bo = max(float(x) for x in o) if o else 0
bn = max(float(x) for x in n) if n else 0
unit = "IOPS" if "rand" in job else "MB/s"
print("%-22s %10.0f %10.0f %7.3f  %s  (old %s / new %s)" % (
    job, bo, bn, bn / bo if bo else 0, unit, ",".join(o), ",".join(n)))
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
