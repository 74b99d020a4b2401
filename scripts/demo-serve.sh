#!/usr/bin/env bash
# demo-serve.sh (second half of `make demo`): serve a decrypted volume.
#   5. start luksblk-storage-daemon on a LUKS2 volume with a detached
#      header: QMP monitor, NBD export (unix socket), FUSE export (a file)
#   6. write through NBD (nbdcopy / qemu-io), read it back through FUSE;
#      write through FUSE, read it back through NBD
#   7. ask the daemon over QMP what it exports; quit over QMP
#   8. after shutdown, read everything back from the files with luksblk-io
# Steps needing a tool that is missing are skipped with a message.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
# LB_BINDIR: run other programs than the build's (the .deb test: /usr/bin)
BIN=${LB_BINDIR:-$BUILD/tools}
IMG=$BIN/luksblk-img
IO=$BIN/luksblk-io
DAEMON=$BIN/luksblk-storage-daemon
T=$(mktemp -d "${TMPDIR:-/tmp}/luksblk-serve.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 0.3
    mountpoint -q "$T/disk.raw" 2>/dev/null && umount -l "$T/disk.raw"
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

step() { printf '\n=== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
qmp() {  # qmp '{"execute":...}' -> prints the reply to that command
    python3 - "$T/qmp.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
json.loads(f.readline())                                  # greeting
for cmd in ('{"execute":"qmp_capabilities"}', sys.argv[2]):
    f.write(cmd + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            break
print(json.dumps(r, indent=1))
sys.exit(1 if "error" in r else 0)
PY
}

printf abc123 > pass.txt
SEC="--object secret,id=sec0,file=pass.txt"

step "5. a LUKS2 volume with a detached header, served by the daemon"
show "$IMG" create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,luks-version=2,pbkdf=argon2id,pbkdf-memory=65536,iter-time=200 hdr2.img
show "$IMG" create -q -f raw payload2.img 64M
: > disk.raw          # the FUSE export is mounted over this regular file
FUSE_EXPORT=(--export type=fuse,id=f0,node-name=disk0,mountpoint=disk.raw,writable=on)
if [ ! -c /dev/fuse ]; then
    echo "(no /dev/fuse here: FUSE export skipped)"
    FUSE_EXPORT=()
fi
set -x
"$DAEMON" $SEC \
    --blockdev driver=file,node-name=p0,filename=payload2.img \
    --blockdev driver=file,node-name=h0,filename=hdr2.img \
    --blockdev driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0 \
    --nbd-server addr.type=unix,addr.path=nbd.sock \
    --export type=nbd,id=e0,node-name=disk0,name=disk0,writable=on \
    "${FUSE_EXPORT[@]}" \
    --chardev socket,id=m0,path=qmp.sock,server=on,wait=off --monitor chardev=m0 &
{ set +x; } 2>/dev/null
pid=$!
for _ in $(seq 50); do [ -S qmp.sock ] && [ -S nbd.sock ] && break; sleep 0.1; done
[ -S nbd.sock ] || { echo "FAIL: daemon did not start" >&2; exit 1; }
URI="nbd+unix:///disk0?socket=$T/nbd.sock"

step "6. data through NBD and FUSE"
head -c 8M /dev/urandom > data1
head -c 4M /dev/urandom > data2
if command -v nbdinfo >/dev/null; then
    show nbdinfo "$URI" | grep -E 'export-size|is_read_only|can_fua|can_multi_conn'
fi
if command -v qemu-io >/dev/null; then
    show qemu-io -f raw "$URI" -c 'write -P 0x42 8M 1M' -c 'read -P 0x42 8M 1M'
fi
if command -v nbdcopy >/dev/null; then
    # nbdcopy writes the whole 64 MiB disk: pad the data with zeros.
    truncate -s 64M data1.disk; dd if=data1 of=data1.disk conv=notrunc status=none
    show nbdcopy data1.disk "$URI"
else
    echo "(nbdcopy not installed: using luksblk-io after shutdown instead)"
fi
if [ ${#FUSE_EXPORT[@]} -gt 0 ]; then
    show ls -l disk.raw
    if command -v nbdcopy >/dev/null; then
        echo "$ cmp <first 8 MiB of disk.raw> data1     # written through NBD, read through FUSE"
        cmp -n 8M disk.raw data1
    fi
    show dd if=data2 of=disk.raw bs=1M seek=32 conv=notrunc,fsync status=none
    if command -v nbdcopy >/dev/null; then
        show nbdcopy "$URI" back.disk
        echo "$ cmp <32..36 MiB of the NBD copy> data2     # written through FUSE, read through NBD"
        cmp -n 4M -i $((32 * 1048576)):0 back.disk data2
    fi
    echo "NBD and FUSE agree"
fi

step "7. QMP: what is exported, then quit"
qmp '{"execute":"query-block-exports"}'
qmp '{"execute":"quit"}' >/dev/null || true
wait "$pid" 2>/dev/null || true
pid=

step "8. after shutdown: the files hold it all, encrypted"
D="driver=luks,file.filename=payload2.img,header.filename=hdr2.img,key-secret=sec0"
if [ ${#FUSE_EXPORT[@]} -gt 0 ]; then
    "$IO" $SEC --image-opts "$D" -r -c 'read -v 32M 16' | head -1
    "$IO" $SEC --image-opts "$D" -r -c 'read -q 32M 4M' >/dev/null
    "$IMG" convert $SEC --image-opts "$D" -O raw plain.raw
    cmp -n 4M -i $((32 * 1048576)):0 plain.raw data2
    echo "FUSE-written data verified from the files"
fi
if command -v nbdcopy >/dev/null; then
    [ -f plain.raw ] || "$IMG" convert $SEC --image-opts "$D" -O raw plain.raw
    cmp -n 8M plain.raw data1
    echo "NBD-written data verified from the files"
fi
if od -An -tx1 -N 6 payload2.img | grep -q '4c 55 4b 53 ba be'; then
    echo "FAIL: payload2.img starts with the LUKS magic" >&2
    exit 1
fi
show "$IMG" info hdr2.img | grep -E 'file format|version|label|sector size|detached|pbkdf|kdf' || true

cat <<TXT

=== what a user types
  luksblk-img create --object secret,id=sec0,file=pass.txt -f luks \\
      -o key-secret=sec0,detached-header=true hdr.img
  luksblk-storage-daemon --object secret,id=sec0,file=pass.txt \\
      --blockdev driver=file,node-name=p0,filename=payload.img \\
      --blockdev driver=file,node-name=h0,filename=hdr.img \\
      --blockdev driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0 \\
      --nbd-server addr.type=unix,addr.path=nbd.sock \\
      --export type=nbd,id=e0,node-name=disk0,writable=on \\
      --export type=fuse,id=f0,node-name=disk0,mountpoint=disk.raw,writable=on \\
      --chardev socket,id=m0,path=qmp.sock,server=on,wait=off --monitor chardev=m0
  qemu-img info 'nbd+unix:///disk0?socket=nbd.sock'; mkfs.ext4 disk.raw
TXT
echo
echo "=== serve demo complete"
