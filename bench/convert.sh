#!/usr/bin/env bash
# bench/convert.sh: convert a 1 GiB raw image into a detached-header
# AES-256-XTS LUKS volume and back, with luksblk-img convert and with
# qemu-img convert on the same data (on /dev/shm); checks that both round
# trips give identical bytes and prints throughput and the ratio.
# Environment: SIZE_MB (1024).
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
IMG=$BUILD/tools/luksblk-img
SIZE_MB=${SIZE_MB:-1024}
T=$(mktemp -d /dev/shm/luksblk-convert.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
SEC="--object secret,id=sec0,data=abc123"

# Source: three quarters random data, one quarter zeros (sparse-aware copy).
head -c $((SIZE_MB * 3 / 4))M /dev/urandom > src.raw
truncate -s ${SIZE_MB}M src.raw

now() { date +%s.%N; }
mbps() { python3 -c "import sys; print('%.0f' % ($SIZE_MB / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }

# tool NAME: raw -> luks (detached header, -n) -> raw; prints MB/s both ways.
roundtrip() {
    local tool=$1 t0 t1 t2
    rm -f h.img p.img back.raw
    "$IMG" create -q $SEC -f luks \
        -o key-secret=sec0,detached-header=true,iter-time=10 h.img
    "$IMG" create -q -f raw p.img ${SIZE_MB}M
    D=driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec0
    t0=$(now)
    "$tool" convert $SEC -n -f raw src.raw --target-image-opts "$D"
    t1=$(now)
    "$tool" convert $SEC --image-opts "$D" -O raw back.raw
    t2=$(now)
    cmp src.raw back.raw || { echo "FAIL: $tool round trip differs" >&2; exit 1; }
    echo "$(mbps "$t0" "$t1") $(mbps "$t1" "$t2")"
}

read -r lb_in lb_out < <(roundtrip "$IMG")
printf '%-36s %14s %14s\n' "" "raw->luks MB/s" "luks->raw MB/s"
printf '%-36s %14s %14s\n' "luksblk-img convert" "$lb_in" "$lb_out"
if command -v qemu-img >/dev/null; then
    read -r q_in q_out < <(roundtrip qemu-img)
    printf '%-36s %14s %14s\n' "qemu-img convert $(qemu-img --version | head -1 | awk '{print $3}')" "$q_in" "$q_out"
    ratio() { python3 -c "import sys; print('%.1fx' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
    printf '%-36s %14s %14s\n' "ratio luksblk / QEMU" "$(ratio "$lb_in" "$q_in")" "$(ratio "$lb_out" "$q_out")"
fi
echo "both round trips: identical bytes (${SIZE_MB} MiB)"
