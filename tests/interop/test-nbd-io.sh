#!/usr/bin/env bash
# test-nbd-io.sh: serve a detached-header LUKS volume over NBD and use it
# with real clients (nbdinfo, nbdcopy, qemu-io, fio, a raw protocol
# checker); after shutdown read everything back from the files with qemu.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup qemu-io qemu-img nbdinfo nbdcopy fio python3

make_volume v 64M
SOCK=$T/nbd.sock
URI="nbd+unix:///disk0?socket=$SOCK"
start_server "$T/pid" --object "$SECRET" $(blockdev_args v) \
    --nbd-server "addr.type=unix,addr.path=$SOCK,handshake-max-seconds=2" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on,description=test disk" \
    --export "type=nbd,id=e1,node-name=v,name=ro"

# nbdinfo: size, flags, block sizes, description.
nbdinfo --json "$URI" > "$T/info.json" || fail "nbdinfo"
python3 - "$T/info.json" <<'PY' || fail "nbdinfo fields"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["export-size"] == 64 << 20, e
assert e["is_read_only"] is False and e["can_multi_conn"] is True, e
assert e["can_df"] is True, e  # structured replies: DF, as QEMU offers
assert e["can_flush"] and e["can_fua"] and e["can_trim"] and e["can_zero"], e
assert e["block_size_minimum"] == 512 and e["block_size_maximum"] == 32 << 20, e
assert e.get("description") == "test disk", e
PY
ok "nbdinfo: size, flags, block sizes, description"
nbdinfo --list "nbd+unix://?socket=$SOCK" | grep -q 'export="ro"' || fail "nbdinfo --list"
ok "nbdinfo --list"
nbdinfo --map "$URI" | grep -qE "^ +0 +67108864 +0 +data" || fail "nbdinfo --map"
ok "nbdinfo --map (base:allocation)"

# A client that stalls in the handshake is dropped after 2 seconds.
python3 - "$SOCK" <<'PY' || fail "stalled handshake not dropped"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
t0 = time.time()
data = b""
while True:
    chunk = s.recv(100)
    if not chunk:
        break
    data += chunk
assert data[:8] == b"NBDMAGIC" and 1 < time.time() - t0 < 8, time.time() - t0
PY
ok "stalled handshake dropped (handshake-max-seconds)"

# The protocol checker: options, errors, pipelining, read-only export.
python3 "$SRCDIR/nbd-proto-check.py" rw "$SOCK" disk0 || fail "protocol check (rw)"
python3 "$SRCDIR/nbd-proto-check.py" ro "$SOCK" ro || fail "protocol check (ro)"
ok "protocol checks"

# nbdcopy in and out: 16 MiB of random data at offset 0.
head -c 16M /dev/urandom > "$T/rand"
nbdcopy "$T/rand" "$URI" || fail "nbdcopy to the export"
nbdcopy --connections=4 "$URI" "$T/out" || fail "nbdcopy from the export"
cmp -n 16777216 "$T/rand" "$T/out" || fail "nbdcopy round trip differs"
ok "nbdcopy round trip (4 connections)"

# qemu-io over NBD: patterns at 16M, an unaligned write at 24M+1000.
qio -f raw "$URI" -c 'write -P 0x5a 16M 4M' -c 'write -P 0x33 20M 1M' \
    -c 'write -P 0x77 25166824 12345' -c 'read -P 0x5a 16M 4M' \
    -c 'read -P 0x33 20M 1M' -c 'read -P 0x77 25166824 12345' \
    || fail "qemu-io over NBD"
ok "qemu-io write/read over NBD (incl. unaligned)"

# fio with its nbd engine: random 4k writes with verification at 32M.
fio --name=nbd --ioengine=nbd --uri="$URI" --rw=randwrite --bs=4k \
    --offset=32M --size=16M --iodepth=16 --verify=crc32c --do_verify=1 \
    --verify_state_save=0 \
    --output="$T/fio.log" || { cat "$T/fio.log"; fail "fio"; }
grep -q "err= 0" "$T/fio.log" || { cat "$T/fio.log"; fail "fio errors"; }
ok "fio nbd engine randwrite + verify"
nbdcopy "$URI" "$T/fio-out" || fail "nbdcopy after fio"

# Read-only export refuses writes at the client too.
if qemu-io -f raw "nbd+unix:///ro?socket=$SOCK" -c 'write 0 4k' 2>&1 | grep -q "wrote"; then
    fail "write to read-only export succeeded"
fi
ok "read-only export"

stop_server "$T/pid"
ok "server stopped cleanly"

# Everything is in the files: qemu decrypts them without any NBD.
qemu-img convert --object "$QSECRET" --image-opts "$(qemu_opts v)" -O raw "$T/final" \
    || fail "qemu-img convert of the volume"
cmp -n 16777216 "$T/rand" "$T/final" || fail "random data after shutdown"
cmp "$T/fio-out" "$T/final" || fail "volume differs from what NBD served"
qio --object "$QSECRET" --image-opts "$(qemu_opts v)" -c 'read -P 0x5a 16M 4M' \
    -c 'read -P 0x77 25166824 12345' || fail "patterns after shutdown"
if [ -x "$BUILD/tools/luksblk-io" ] && "$BUILD/tools/luksblk-io" --help >/dev/null 2>&1; then
    out=$("$BUILD/tools/luksblk-io" --object "$SECRET" --image-opts "$(qemu_opts v)" \
          -c 'read -P 0x5a 16M 4M' -c 'read -P 0x33 20M 1M' 2>&1) \
        || { echo "$out"; fail "luksblk-io read back"; }
    echo "$out" | grep -q "Pattern verification failed" && fail "luksblk-io pattern"
    ok "luksblk-io reads the patterns from the files"
fi
ok "data read back from the files after shutdown"
