#!/usr/bin/env bash
# test-fuse-concurrent.sh: many clients at once on one FUSE export of a
# detached-header LUKS2 volume: dd and qemu-io writers on disjoint ranges,
# a reader checking a range nobody writes, and a writer killed mid-stream.
# Then a full verify through the mount, and again from a fresh server after
# restart (what reached the files), plus luksblk-io patterns offline.
. "$(dirname "$0")/fuse-common.sh"
need cryptsetup dd qemu-io cmp

P=$T/payload.img H=$T/header.img M=$T/disk.raw
make_luks luks2 "$P" "$H" 16M
touch "$M"
mapfile -t BD < <(luks_blockdevs "$P" "$H")
EXPORT="type=fuse,id=e0,node-name=disk0,mountpoint=$M,writable=on"
MiB=$((1 << 20))

start_server "${BD[@]}" --export "$EXPORT"
# The expected image starts as whatever the fresh volume decrypts to.
dd if="$M" of="$T/expect" bs=1M status=none || fail "initial read"

pids=()
# Three dd writers, 2 MiB each, 4 KiB requests.
for i in 0 1 2; do
    head -c 2M /dev/urandom > "$T/w$i"
    dd if="$T/w$i" of="$T/expect" bs=1M seek=$((2 * i)) conv=notrunc status=none
    dd if="$T/w$i" of="$M" bs=4k seek=$((512 * i)) conv=notrunc status=none &
    pids+=($!)
done
# Two qemu-io writers with many asynchronous requests in flight.
for i in 0 1; do
    cmds=()
    for k in $(seq 0 15); do
        cmds+=(-c "aio_write -P $((64 + 16 * i + k)) $(((6 + i) * MiB + k * 65536)) 64k")
    done
    cmds+=(-c aio_flush)
    qemu-io -f raw "${cmds[@]}" "$T/expect" >/dev/null || fail "qemu-io on expect"
    qemu-io -f raw "${cmds[@]}" "$M" > "$T/qio$i.log" &
    pids+=($!)
done
# A reader of a range nobody writes (12M..16M) while the writers run.
(
    for _ in $(seq 20); do
        cmp -i $((12 * MiB)):$((12 * MiB)) -n $((4 * MiB)) "$M" "$T/expect" >/dev/null || exit 1
    done
) &
reader=$!
# A writer killed mid-stream in its own range (8M..12M, excluded below).
# It loops over its range with 512-byte writes (partial sectors on 4 KiB-
# sector volumes) until killed.
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
buf = os.urandom(512)
while True:
    for off in range(8 << 20, 12 << 20, 512):
        os.pwrite(fd, buf, off)
' "$M" &
victim=$!
# Wait until it has written 1 MiB through the mount (/proc/PID/io wchar).
for _ in $(seq 600); do
    w=$(sed -n 's/^wchar: //p' "/proc/$victim/io" 2>/dev/null)
    [ -n "$w" ] && [ "$w" -ge $((1 << 20)) ] && break
    kill -0 $victim 2>/dev/null || break
    sleep 0.05
done
kill -0 $victim || fail "killable writer died on its own"
kill -KILL $victim
wait $victim 2>/dev/null

for p in "${pids[@]}"; do wait "$p" || fail "writer $p failed"; done
wait $reader || fail "concurrent reader saw changing data"
grep -q 'wrote 65536/65536' "$T/qio0.log" || fail "qemu-io writer output"

verify() {   # WHAT: everything but the killed writer's range
    cmp -n $((8 * MiB)) "$M" "$T/expect" || fail "$1: 0..8M differs"
    cmp -i $((12 * MiB)):$((12 * MiB)) "$M" "$T/expect" || fail "$1: 12M..16M differs"
}
verify "through FUSE"
stop_server

start_server "${BD[@]}" --export "$EXPORT"
verify "after restart"
stop_server

LJ=$(luks_json "$P" "$H")
"$IO" --object "$SECRET_OBJ" -c "read -P 0x40 $((6 * MiB)) 64k" \
    -c "read -P 0x5f $((7 * MiB + 15 * 65536)) 64k" "$LJ" >/dev/null \
    || fail "luksblk-io patterns offline"
echo PASS
