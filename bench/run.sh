#!/usr/bin/env bash
# bench/run.sh (`make bench`, not part of make check): sequential read and
# write throughput of a 1 GiB AES-256-XTS LUKS1 volume with a detached
# header on /dev/shm, through luksblk and through QEMU's luks driver, on
# the same volume in the same run.
#
#   luksblk:  luksblk-img bench --object ... -s 1M -d DEPTH   (threads)
#             luksblk-io -c 'aio_read -q ...' x N -c aio_flush (same method
#             as QEMU below)
#   QEMU:     qemu-io --object ... -c 'aio_read -q ...' x N -c aio_flush
#             (qemu-img bench has no --object, so it cannot open an
#             encrypted volume; qemu-io's aio commands keep DEPTH 1 MiB
#             requests in flight between aio_flush commands instead; the
#             time to open the volume and exit is subtracted)
#
# Environment: SIZE_MB (1024), DEPTH (8), ROUNDS (3, best run kept).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io
SIZE_MB=${SIZE_MB:-1024}
DEPTH=${DEPTH:-8}
ROUNDS=${ROUNDS:-3}
T=$(mktemp -d /dev/shm/luksblk-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"

SEC="--object secret,id=sec0,data=abc123"
OPTS=driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0

"$IMG" create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10,cipher-alg=aes-256,cipher-mode=xts,ivgen-alg=plain64 \
    hdr.img
"$IMG" create -q -f raw -o preallocation=full payload.img ${SIZE_MB}M
echo "volume: ${SIZE_MB} MiB payload, detached header, AES-256-XTS, /dev/shm"
echo "requests: 1 MiB, depth $DEPTH, best of $ROUNDS rounds; $(nproc) CPUs"
echo

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print('%.0f' % ($SIZE_MB / float(sys.argv[1])))" "$1"; }
best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

# luksblk-img bench: seconds from its "Run completed in X seconds." line.
lb_bench() {
    local w=$1 times=() i
    for i in $(seq "$ROUNDS"); do
        t=$("$IMG" bench $SEC --image-opts $OPTS $w -c "$SIZE_MB" -d "$DEPTH" \
            -s 1M | sed -n 's/^Run completed in \([0-9.]*\) seconds\.$/\1/p')
        times+=("$t")
    done
    best "${times[@]}"
}

# A qemu-io style tool running SIZE_MB aio requests of 1 MiB, minus the
# time the same tool needs to open the volume and exit.
aio_cmds() {
    local op=$1 i
    for ((i = 0; i < SIZE_MB; i++)); do
        if [ "$op" = write ]; then
            printf -- "-c\naio_write -q -P 0x5a %dM 1M\n" "$i"
        else
            printf -- "-c\naio_read -q %dM 1M\n" "$i"
        fi
        if (( i % DEPTH == DEPTH - 1 )); then
            printf -- "-c\naio_flush\n"
        fi
    done
    printf -- "-c\naio_flush\n"
}
aio_run() {
    local tool=$1 op=$2 times=() i t0 t1 base
    mapfile -t args < <(aio_cmds "$op")
    t0=$(now); "$tool" $SEC --image-opts $OPTS -c flush >/dev/null; t1=$(now)
    base=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1")
    for i in $(seq "$ROUNDS"); do
        t0=$(now)
        "$tool" $SEC --image-opts $OPTS "${args[@]}" >/dev/null
        t1=$(now)
        times+=("$(python3 -c "import sys; print(max(1e-6, float(sys.argv[2]) - float(sys.argv[1]) - float(sys.argv[3])))" "$t0" "$t1" "$base")")
    done
    best "${times[@]}"
}

# One request covering the whole volume (QEMU's best case: no per-request
# overhead), timed by the tool itself.
one_run() {
    local tool=$1 op=$2 times=() i cmd
    if [ "$op" = write ]; then cmd="write -P 0x5a 0 ${SIZE_MB}M"; else cmd="read 0 ${SIZE_MB}M"; fi
    for i in $(seq "$ROUNDS"); do
        times+=("$("$tool" $SEC --image-opts $OPTS -c "$cmd" |
            sed -n 's/.*ops; \(.*\) (.*/\1/p' | python3 -c '
import sys
t = sys.stdin.read().strip()
if t.endswith(" sec"):
    print(float(t[:-4]))
else:
    h, m, s = t.split(":")
    print(int(h) * 3600 + int(m) * 60 + float(s))')")
    done
    best "${times[@]}"
}

declare -A R
R[lb_read]=$(lb_bench "")
R[lb_write]=$(lb_bench -w)
R[lbio_read]=$(aio_run "$IO" read)
R[lbio_write]=$(aio_run "$IO" write)
have_qemu=0
if command -v qemu-io >/dev/null; then
    have_qemu=1
    "$IO" $SEC --image-opts $OPTS -c 'read -q 0 1M' >/dev/null
    R[q_read]=$(aio_run qemu-io read)
    R[q_write]=$(aio_run qemu-io write)
    R[q1_read]=$(one_run qemu-io read)
    R[q1_write]=$(one_run qemu-io write)
fi

printf '%-44s %10s %10s\n' "" "read MB/s" "write MB/s"
printf '%-44s %10s %10s\n' "luksblk-img bench (-d $DEPTH, 1M)" \
    "$(mbps "${R[lb_read]}")" "$(mbps "${R[lb_write]}")"
printf '%-44s %10s %10s\n' "luksblk-io aio_read/aio_write (1M)" \
    "$(mbps "${R[lbio_read]}")" "$(mbps "${R[lbio_write]}")"
if [ $have_qemu = 1 ]; then
    printf '%-44s %10s %10s\n' "qemu-io aio_read/aio_write (1M) $(qemu-io --version | head -1 | awk '{print $3}')" \
        "$(mbps "${R[q_read]}")" "$(mbps "${R[q_write]}")"
    printf '%-44s %10s %10s\n' "qemu-io read/write of ${SIZE_MB}M in one request" \
        "$(mbps "${R[q1_read]}")" "$(mbps "${R[q1_write]}")"
    ratio() { python3 -c "import sys; print('%.1fx' % (float(sys.argv[2]) / float(sys.argv[1])))" "$1" "$2"; }
    echo
    printf '%-44s %10s %10s\n' "ratio luksblk-img bench / QEMU" \
        "$(ratio "${R[lb_read]}" "${R[q_read]}")" "$(ratio "${R[lb_write]}" "${R[q_write]}")"
    printf '%-44s %10s %10s\n' "ratio luksblk-io / qemu-io (same method)" \
        "$(ratio "${R[lbio_read]}" "${R[q_read]}")" "$(ratio "${R[lbio_write]}" "${R[q_write]}")"
    qbest_r=$(best "${R[q_read]}" "${R[q1_read]}")
    qbest_w=$(best "${R[q_write]}" "${R[q1_write]}")
    printf '%-44s %10s %10s\n' "ratio luksblk-img bench / QEMU's best" \
        "$(ratio "${R[lb_read]}" "$qbest_r")" "$(ratio "${R[lb_write]}" "$qbest_w")"
else
    echo "qemu-io not installed: no QEMU comparison"
fi

echo
echo "convert (bench/convert.sh):"
"$HERE/convert.sh" "$BUILD"
