#!/usr/bin/env bash
# test-fuse-luks.sh: a detached-header LUKS volume (LUKS1, so that QEMU can
# open it too) exported writable over FUSE.  Real programs write through the
# mount (dd, fio psync and libaio, qemu-io -f raw); the bytes are read back
# through the mount, then, after shutdown, from the original files with
# luksblk-io and QEMU (qemu-io, qemu-img compare).  Then the volume is
# exported read-only and must refuse writes, and growable, where a write
# past EOF grows the payload.
. "$(dirname "$0")/fuse-common.sh"
need cryptsetup dd fio qemu-io qemu-img cmp

# verify WHAT CMD...: CMD (qemu-io or luksblk-io with read -P commands)
# exits 0 without a pattern mismatch.  ("read N/N bytes" is printed even
# when the pattern does not match, so grepping for it proves nothing.)
verify() {
    local what=$1 out
    shift
    out=$("$@" 2>&1) && ! grep -q "Pattern verification failed" <<<"$out" ||
        { echo "$out"; fail "$what"; }
}

P=$T/payload.img H=$T/header.img M=$T/disk.raw
make_luks luks1 "$P" "$H" 16M
touch "$M"
mapfile -t BD < <(luks_blockdevs "$P" "$H")

start_server "${BD[@]}" \
    --export "type=fuse,id=e0,node-name=disk0,mountpoint=$M,writable=on"
is_mounted "$M" || fail "export not mounted"
[ "$(stat -c %s "$M")" = $((16 << 20)) ] || fail "size $(stat -c %s "$M") != 16M"

# dd: 4 MiB of random data at 1 MiB, read back through the mount.
head -c 4M /dev/urandom > "$T/rand"
dd if="$T/rand" of="$M" bs=1M seek=1 conv=notrunc,fsync status=none || fail "dd write"
cmp "$T/rand" <(dd if="$M" bs=1M skip=1 count=4 status=none) || fail "dd readback"

# dd with an odd block size: partial-sector writes go through read-modify-write.
head -c 3333 /dev/urandom > "$T/odd"
dd if="$T/odd" of="$M" bs=3333 seek=1600 conv=notrunc status=none || fail "odd dd"
cmp "$T/odd" <(dd if="$M" bs=3333 skip=1600 count=1 status=none) || fail "odd readback"

# qemu-io on the mounted file as a raw image.
qemu-io -f raw -c 'write -P 0x5a 6M 1M' -c 'write -P 0xa5 7M 512k' "$M" >/dev/null \
    || fail "qemu-io write"
verify "qemu-io readback through FUSE" \
    qemu-io -f raw -c 'read -P 0x5a 6M 1M' -c 'read -P 0xa5 7M 512k' "$M"

# fio, psync and libaio, buffered, each verifying what it wrote.
for eng in psync libaio; do
    fio --name=fuse-$eng --filename="$M" --ioengine=$eng --iodepth=8 \
        --direct=0 --rw=randwrite --bs=4k --offset=8M --size=4M \
        --verify=crc32c --verify_fatal=1 --do_verify=1 --verify_state_save=0 \
        --output="$T/fio-$eng.log" || { cat "$T/fio-$eng.log"; fail "fio $eng"; }
done

# What the mount shows now is the reference for the offline checks.
dd if="$M" of="$T/snapshot" bs=1M status=none || fail "snapshot read"
qemu-img compare -f raw -F raw "$M" "$T/snapshot" >/dev/null || fail "qemu-img compare through FUSE"
stop_server

# Offline: luksblk-io and QEMU decrypt the original files to the same bytes.
LJ=$(luks_json "$P" "$H")
verify "luksblk-io pattern after shutdown" \
    "$IO" --object "$SECRET_OBJ" -c 'read -P 0x5a 6M 1M' -c 'read -P 0xa5 7M 512k' "$LJ"
verify "qemu-io on the luks files after shutdown" \
    qemu-io --object "$SECRET_OBJ" -c 'read -P 0x5a 6M 1M' -c 'read -P 0xa5 7M 512k' "$LJ"
qemu-img compare --object "$SECRET_OBJ" "$LJ" -F raw "$T/snapshot" >/dev/null \
    || fail "qemu-img compare luks files vs FUSE snapshot"
"$IO" --object "$SECRET_OBJ" -c 'read -v 1M 4M' "$LJ" >/dev/null || fail "luksblk-io read"

# Read-only export: reads work, writes and truncate are refused.
start_server "${BD[@]}" \
    --export "type=fuse,id=e1,node-name=disk0,mountpoint=$M,writable=off"
[ "$(stat -c %a "$M")" = 400 ] || fail "read-only export mode $(stat -c %a "$M")"
cmp "$T/rand" <(dd if="$M" bs=1M skip=1 count=4 status=none) || fail "read-only readback"
out=$(dd if=/dev/zero of="$M" bs=4k count=1 conv=notrunc 2>&1) && fail "write to read-only export succeeded"
echo "$out" | grep -qE 'Permission denied|Read-only file system' || fail "unexpected write error: $out"
truncate -s 1M "$M" 2>/dev/null && fail "truncate of read-only export succeeded"
stop_server
qemu-img compare --object "$SECRET_OBJ" "$LJ" -F raw "$T/snapshot" >/dev/null \
    || fail "read-only export changed the volume"
# Growable: a write past EOF grows the LUKS payload; QEMU sees the new size.
start_server "${BD[@]}" \
    --export "type=fuse,id=e2,node-name=disk0,mountpoint=$M,writable=on,growable=on"
# (dd, not qemu-io: QEMU's block layer itself refuses writes past EOF.)
head -c 1M /dev/zero | tr '\0' '\167' > "$T/x77"
dd if="$T/x77" of="$M" bs=1M seek=16 conv=notrunc status=none || fail "growing dd write"
[ "$(stat -c %s "$M")" = $((17 << 20)) ] || fail "size after growing write $(stat -c %s "$M")"
stop_server
[ "$(stat -c %s "$P")" = $((17 << 20)) ] || fail "payload size after growth $(stat -c %s "$P")"
verify "qemu-io after growth" \
    qemu-io --object "$SECRET_OBJ" -c 'read -P 0x77 16M 1M' -c 'read -P 0x5a 6M 1M' "$LJ"
echo PASS
