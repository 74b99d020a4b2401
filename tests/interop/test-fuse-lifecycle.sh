#!/usr/bin/env bash
# test-fuse-lifecycle.sh: FUSE export options and lifecycle on a plain file
# node: bad mountpoints and options are refused with a clear message,
# growable exports grow on writes past EOF, others refuse them, truncate
# and fallocate work, and shutdown unmounts.  (Deletion over QMP is in
# test-fuse-qmp.py.)
. "$(dirname "$0")/fuse-common.sh"
need dd cmp truncate fallocate

F=$T/plain.img M=$T/disk.raw
truncate -s 1M "$F"
touch "$M"
BD=(--blockdev "driver=file,node-name=f0,filename=$F")

# expect_refused MESSAGE EXPORT-OPTIONS...: the server must fail to start.
expect_refused() {
    local msg=$1; shift
    local args=("${BD[@]}")
    for e in "$@"; do args+=(--export "$e"); done
    if "$SERVER" "${args[@]}" > "$T/refused.log" 2>&1; then
        fail "export accepted: $*"
    fi
    grep -q "$msg" "$T/refused.log" || { cat "$T/refused.log"; fail "no '$msg' for: $*"; }
    is_mounted "$M" && fail "left mounted after refusal: $*"
    return 0
}
mkdir "$T/dir"
expect_refused "is not a regular file" "type=fuse,id=e0,node-name=f0,mountpoint=$T/dir"
expect_refused "failed to stat" "type=fuse,id=e0,node-name=f0,mountpoint=$T/missing"
expect_refused "allow-other" "type=fuse,id=e0,node-name=f0,mountpoint=$M,allow-other=maybe"
expect_refused "already is a FUSE export" \
    "type=fuse,id=e0,node-name=f0,mountpoint=$M" "type=fuse,id=e1,node-name=f0,mountpoint=$M"
expect_refused "Parameter 'bogus' is unexpected" "type=fuse,id=e0,node-name=f0,mountpoint=$M,bogus=1"

# No usable /dev/fuse (hidden in a private mount namespace): clear refusal.
if unshare -m true 2>/dev/null; then
    : > "$T/not-fuse"
    if unshare -m sh -c 'mount --bind "$1" /dev/fuse && shift && exec "$@"' sh \
        "$T/not-fuse" "$SERVER" "${BD[@]}" \
        --export "type=fuse,id=e0,node-name=f0,mountpoint=$M" > "$T/nofuse.log" 2>&1; then
        fail "export accepted without /dev/fuse"
    fi
    grep -q "FUSE is not available: /dev/fuse: not a character device" "$T/nofuse.log" || { cat "$T/nofuse.log"; fail "no FUSE-unavailable message"; }
else
    echo "note: unshare -m not permitted, FUSE-unavailable case not tested"
fi

# Non-growable, writable: a write past EOF is refused, truncate resizes.
MOUNTS=("$M")
start_server "${BD[@]}" --export "type=fuse,id=e0,node-name=f0,mountpoint=$M,writable=on,allow-other=off"
grep -q "allow_other" <(grep " $(realpath "$M") fuse" /proc/self/mounts) && fail "allow-other=off mounted with allow_other"
out=$(dd if=/dev/zero of="$M" bs=4k seek=256 count=1 conv=notrunc 2>&1) && fail "write past EOF succeeded"
echo "$out" | grep -q 'No space left' || fail "write past EOF: $out"
[ "$(stat -c %s "$M")" = $((1 << 20)) ] || fail "size changed by a refused write"
truncate -s 2M "$M" || fail "truncate grow"
[ "$(stat -c %s "$F")" = $((2 << 20)) ] || fail "node not grown by truncate"
stop_server

# Growable: writes past EOF extend the node; fallocate punch/zero work.
start_server "${BD[@]}" --export "type=fuse,id=e0,node-name=f0,mountpoint=$M,writable=on,growable=on"
# allow-other defaults to auto, which as root (or with user_allow_other)
# mounts with allow_other.
if [ "$(id -u)" = 0 ]; then
    grep " $(realpath "$M") fuse" /proc/self/mounts | grep -q allow_other \
        || fail "allow-other=auto as root did not mount with allow_other"
fi
touch "$M" || fail "touch (timestamps are accepted and ignored)"
if grep " $(realpath "$M") fuse" /proc/self/mounts | grep -q allow_other; then
    chmod 640 "$M" && [ "$(stat -c %a "$M")" = 640 ] || fail "chmod 640 on an allow_other mount"
else
    chmod 640 "$M" 2>/dev/null && fail "group access granted without allow_other"
fi
head -c 64k /dev/urandom > "$T/rand"
dd if="$T/rand" of="$M" bs=64k seek=47 conv=notrunc status=none || fail "growing write"
[ "$(stat -c %s "$M")" = $((3 << 20)) ] || fail "size after growing write $(stat -c %s "$M")"
[ "$(stat -c %s "$F")" = $((3 << 20)) ] || fail "node size after growing write"
cmp "$T/rand" <(dd if="$M" bs=64k skip=47 count=1 status=none) || fail "growing write readback"
head -c 64k /dev/urandom > "$T/rand0"
dd if="$T/rand0" of="$M" bs=64k conv=notrunc status=none || fail "write at 0"
fallocate -p -o 4096 -l 4096 "$M" || fail "punch hole"
cmp <(head -c 4096 /dev/zero) <(dd if="$M" bs=4k skip=1 count=1 status=none) \
    || fail "punched range does not read as zeroes"
cmp -n 4096 "$T/rand0" "$M" || fail "punch hole clobbered data before it"
cmp -i 8192:8192 -n 57344 "$T/rand0" "$M" || fail "punch hole clobbered data after it"
fallocate -z -o $((3 << 20)) -l 65536 "$M" || fail "zero range past EOF"
[ "$(stat -c %s "$M")" = $(((3 << 20) + 65536)) ] || fail "zero range did not extend"
cmp "$T/rand" <(dd if="$M" bs=64k skip=47 count=1 status=none) \
    || fail "zeroing past EOF clobbered data before it"
cmp <(head -c 65536 /dev/zero) <(dd if="$M" bs=64k skip=48 count=1 status=none) \
    || fail "zero range past EOF does not read as zeroes"

stop_server
cmp "$T/rand" <(dd if="$F" bs=64k skip=47 count=1 status=none) || fail "data lost after shutdown"
echo PASS
