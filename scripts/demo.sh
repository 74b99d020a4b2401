#!/usr/bin/env bash
# demo.sh (`make demo`): the main job of luksblk on a temporary directory:
# a LUKS volume whose header lives in a separate file.
#   1. create a detached header and a raw payload (luksblk-img create)
#   2. write data through the header and read it back (luksblk-io)
#   3. show `luksblk-img info` of the header and of the opened volume
#   4. show that the payload carries no LUKS signature while the header does
#   5-8. serve a LUKS2 volume over NBD and FUSE (scripts/demo-serve.sh)
# Exits non-zero as soon as any step fails; cleans up in every case.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
# LB_BINDIR: run other programs than the build's (the .deb test: /usr/bin)
BIN=${LB_BINDIR:-$BUILD/tools}
HERE=$(cd "$(dirname "$0")" && pwd)
IMG=$BIN/luksblk-img
IO=$BIN/luksblk-io
T=$(mktemp -d "${TMPDIR:-/tmp}/luksblk-demo.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

step() { printf '\n=== %s\n' "$*"; }
# show CMD...: print the command as one would type it, then run it.
show() {
    local a line='$'
    for a in "$@"; do
        a=${a#"$BIN/"}
        if [[ $a =~ [^A-Za-z0-9_./=,:+-] ]]; then
            line+=" '$a'"
        else
            line+=" $a"
        fi
    done
    printf '%s\n' "$line"
    "$@"
}

printf abc123 > pass.txt
SEC="--object secret,id=sec0,file=pass.txt"

step "1. create a detached LUKS header and a 64 MiB payload"
show "$IMG" create $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=100 hdr.img
show "$IMG" create -f raw payload.img 64M
ls -l hdr.img payload.img

step "2. write and read back through the header"
J='json:{"driver":"luks","file":{"filename":"payload.img"},"header":{"filename":"hdr.img"},"key-secret":"sec0"}'
show "$IO" $SEC "$J" -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M'
show "$IO" $SEC --image-opts \
    driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0 \
    -c 'writev -P 0x5a 32M 4k 4k' -c 'readv -P 0x5a 32M 8k' -c length

step "3. luksblk-img info"
show "$IMG" info hdr.img
show "$IMG" info --output=json $SEC --image-opts \
    driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0 \
    | grep -E '"(virtual-size|format|detached-header|payload-offset|cipher-alg|cipher-mode)"'

step "4. the payload carries no LUKS signature; the header does"
printf 'first bytes of hdr.img:     '; od -An -c -N 6 hdr.img
printf 'first bytes of payload.img: '; od -An -tx1 -N 6 payload.img
if od -An -tx1 -N 6 payload.img | grep -q '4c 55 4b 53 ba be'; then
    echo "FAIL: payload.img starts with the LUKS magic" >&2
    exit 1
fi
if ! od -An -tx1 -N 6 hdr.img | grep -q '4c 55 4b 53 ba be'; then
    echo "FAIL: hdr.img has no LUKS magic" >&2
    exit 1
fi
if od -An -tx1 payload.img | grep -q 'ab ab ab ab ab ab ab ab ab ab'; then
    echo "FAIL: plaintext pattern visible in payload.img" >&2
    exit 1
fi
echo "payload.img: no LUKS magic, no plaintext"
if command -v cryptsetup >/dev/null; then
    show cryptsetup isLuks -v hdr.img
    if cryptsetup isLuks payload.img; then
        echo "FAIL: cryptsetup says payload.img is LUKS" >&2
        exit 1
    fi
    echo "$ cryptsetup isLuks payload.img  -> not LUKS (as intended)"
    show cryptsetup open --test-passphrase --key-file pass.txt \
        --header hdr.img payload.img
    echo "cryptsetup unlocks payload.img with hdr.img"
fi

# 5-8: serve a volume over NBD and FUSE with the storage daemon.
"$HERE/demo-serve.sh" "$BUILD"

step "demo complete"
