#!/usr/bin/env bash
# test-cryptsetup-luks1.sh: LUKS1 volumes between cryptsetup and luksblk.
#
#  1. Volumes cryptsetup formats (attached, detached, detached with
#     --offset; several ciphers and hashes) open in luksblk-io; data it
#     writes decrypts, with the volume key cryptsetup dumps, in an
#     independent oracle (luks-oracle.py: openssl AES-ECB + Python).
#  2. Volumes luksblk-img creates pass `cryptsetup isLuks`, `luksDump`,
#     `open --test-passphrase [--header]`, stay byte-identical under those
#     read-only commands, and data written by luksblk-io decrypts with the
#     key cryptsetup dumps.
#  3. A luksHeaderBackup of an attached volume, used as a detached header,
#     unlocks the original image at the payload offset it records.
# cryptsetup never activates a device here.  Usage: $0 BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRCDIR=$(cd "$(dirname "$0")" && pwd)
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL  $*"; exit 1; }
ok() { echo "ok    $*"; }

for t in cryptsetup python3 openssl; do
    command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
"$IMG" --help >/dev/null 2>&1 && "$IO" --help >/dev/null 2>&1 ||
    skip "luksblk-img/luksblk-io not built yet"

T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-cs1.XXXXXX")
trap 'rm -rf "$T"' EXIT
printf 'abc123' > "$T/pass"
SEC="secret,id=sec0,file=$T/pass"
PATTERN=$T/pattern
python3 -c 'import sys; sys.stdout.buffer.write(b"\x5c" * 65536)' > "$PATTERN"

# volume_key HDR: the volume key cryptsetup dumps, as hex.
volume_key() {
    cryptsetup luksDump --dump-volume-key --batch-mode --key-file "$T/pass" "$1" |
        sed -n '/MK dump:/,$p' | sed 's/MK dump://' | tr -d ' \t\n'
}
# dump_field HDR NAME: one field of `cryptsetup luksDump`.
dump_field() {
    cryptsetup luksDump "$1" | sed -n "s/^$2:[[:space:]]*//p"
}
# image_opts DATA [HDR]: luksblk/QEMU --image-opts for the volume.
image_opts() {
    echo "driver=luks,file.filename=$1${2:+,header.filename=$2},key-secret=sec0"
}

# check_data NAME DATA HDR OPTS: write a pattern at byte 1536 (IV sector 3)
# through luksblk-io, read it back, and decrypt it with cryptsetup's key.
check_data() {
    local name=$1 data=$2 hdr=$3 opts=$4
    "$IO" --object "$SEC" --image-opts "$opts" \
        -c 'write -P 0x5c 1536 64k' -c 'read -P 0x5c 1536 64k' \
        > "$T/io.out" 2>&1 || { cat "$T/io.out"; fail "$name: luksblk-io write/read"; }
    local key spec po
    key=$(volume_key "$hdr")
    [ -n "$key" ] || fail "$name: cryptsetup --dump-volume-key"
    spec="$(dump_field "$hdr" 'Cipher name')-$(dump_field "$hdr" 'Cipher mode')"
    po=$(dump_field "$hdr" 'Payload offset')
    python3 "$SRCDIR/luks-oracle.py" decrypt "$key" "$spec" "$data" \
        $((po * 512 + 1536)) 65536 3 > "$T/plain" ||
        fail "$name: oracle decrypt"
    cmp -s "$T/plain" "$PATTERN" ||
        fail "$name: payload does not decrypt with cryptsetup's volume key"
}

# check_info NAME OPTS PAYLOAD DETACHED: luksblk-img info fields.
check_info() {
    "$IMG" info --output=json --object "$SEC" --image-opts "$2" > "$T/info.json" ||
        fail "$1: luksblk-img info"
    python3 - "$T/info.json" "$3" "$4" <<'PY' || fail "$1: luksblk-img info fields"
import json, sys
d = json.load(open(sys.argv[1]))["format-specific"]
assert d["type"] == "luks", d
d = d["data"]
assert d["payload-offset"] == int(sys.argv[2]), d
assert d["detached-header"] == (sys.argv[3] == "1"), d
assert d["slots"][0]["active"] is True and len(d["slots"]) == 8, d
PY
}

# ---- 1. cryptsetup formats, luksblk reads and writes ------------------------
#      name          spec                 bits hash      layout
CASES="
xts512-sha256     aes-xts-plain64      512  sha256    detached
xts256-sha1       aes-xts-plain64      256  sha1      attached
essiv128-sha512   aes-cbc-essiv:sha256 128  sha512    detached
essiv256-sha256   aes-cbc-essiv:sha256 256  sha256    attached
plain64-ripemd160 aes-cbc-plain64      256  ripemd160 detached
xtsplain-sha224   aes-xts-plain        512  sha224    attached
xts512-offset     aes-xts-plain64      512  sha256    offset
"
while read -r name spec bits hash layout; do
    [ -n "$name" ] || continue
    data=$T/$name.img hdr=$T/$name.hdr
    truncate -s 8M "$data"
    args=(luksFormat --type luks1 --batch-mode --pbkdf-force-iterations 1000
          --key-file "$T/pass" -c "$spec" -s "$bits" -h "$hash")
    case $layout in
    attached) hdr=$data ;;
    detached) args+=(--header "$hdr") ;;
    offset) args+=(--header "$hdr" --offset 4096) ;;
    esac
    cryptsetup "${args[@]}" "$data" || fail "$name: cryptsetup luksFormat"
    if [ "$layout" = attached ]; then
        opts=$(image_opts "$data")
    else
        opts=$(image_opts "$data" "$hdr")
    fi
    po=$(dump_field "$hdr" 'Payload offset')
    check_info "$name" "$opts" $((po * 512)) $([ "$po" = 0 ] && echo 1 || echo 0)
    check_data "$name" "$data" "$hdr" "$opts"
    [ "$layout" = offset ] && [ "$po" != 4096 ] && fail "$name: offset $po"
    ok "cryptsetup-made $name ($spec, $bits bits, $hash, $layout)"
    rm -f "$data" "$hdr"
done <<< "$CASES"

# ---- 2. luksblk-img creates, cryptsetup checks ------------------------------
#      name        cipher-alg cipher-mode ivgen   hash      layout
CASES="
default     -          -     -       -         detached
default-att -          -     -       -         attached
essiv-sha1  aes-128    cbc   essiv   sha1      detached
cbc-sha512  aes-256    cbc   plain64 sha512    attached
xts-plain   aes-128    xts   plain   ripemd160 detached
"
while read -r name alg mode ivgen hash layout; do
    [ -n "$name" ] || continue
    data=$T/$name.img hdr=$T/$name.hdr
    o="key-secret=sec0,iter-time=10"
    [ "$alg" = - ] || o="$o,cipher-alg=$alg,cipher-mode=$mode,ivgen-alg=$ivgen,hash-alg=$hash"
    [ "$ivgen" = essiv ] && o="$o,ivgen-hash-alg=sha256"
    if [ "$layout" = detached ]; then
        "$IMG" create --object "$SEC" -f luks -o "$o,detached-header=true" "$hdr" \
            > /dev/null || fail "$name: luksblk-img create (detached)"
        truncate -s 4M "$data"
        opts=$(image_opts "$data" "$hdr")
        want_po=0
        [ "$(stat -c %s "$hdr")" -le 2068480 ] ||
            fail "$name: detached header file is $(stat -c %s "$hdr") bytes"
        cs_hdr=(--header "$hdr" "$data")
    else
        "$IMG" create --object "$SEC" -f luks -o "$o" "$data" 4M > /dev/null ||
            fail "$name: luksblk-img create"
        hdr=$data
        opts=$(image_opts "$data")
        cs_hdr=("$data")
    fi
    cryptsetup isLuks --type luks1 "$hdr" || fail "$name: cryptsetup isLuks"
    po=$(dump_field "$hdr" 'Payload offset')
    [ "$layout" = attached ] || [ "$po" = 0 ] || fail "$name: payload offset $po"
    [ "$layout" = detached ] || [ "$po" -gt 0 ] || fail "$name: payload offset 0"
    sum=$(sha256sum < "$hdr")
    cryptsetup open --test-passphrase --key-file "$T/pass" "${cs_hdr[@]}" ||
        fail "$name: cryptsetup open --test-passphrase"
    printf 'wrong' > "$T/wrong"
    cryptsetup open --test-passphrase --key-file "$T/wrong" "${cs_hdr[@]}" \
        2>/dev/null && fail "$name: wrong passphrase accepted"
    [ "$(sha256sum < "$hdr")" = "$sum" ] ||
        fail "$name: cryptsetup rewrote the header"
    check_info "$name" "$opts" $((po * 512)) $([ "$po" = 0 ] && echo 1 || echo 0)
    check_data "$name" "$data" "$hdr" "$opts"
    ok "luksblk-made $name ($layout) passes cryptsetup"
    rm -f "$data" "$hdr"
done <<< "$CASES"

# ---- 3. a header backup unlocks the image (recovery) ------------------------
data=$T/rec.img
truncate -s 8M "$data"
cryptsetup luksFormat --type luks1 --batch-mode --pbkdf-force-iterations 1000 \
    --key-file "$T/pass" "$data" || fail "recovery: luksFormat"
cryptsetup luksHeaderBackup --batch-mode --header-backup-file "$T/rec.hdr" "$data" ||
    fail "recovery: luksHeaderBackup"
"$IO" --object "$SEC" --image-opts "$(image_opts "$data")" \
    -c 'write -P 0x77 0 128k' > /dev/null || fail "recovery: write"
dd if=/dev/zero of="$data" bs=4096 count=1 conv=notrunc status=none
"$IO" --object "$SEC" --image-opts "$(image_opts "$data" "$T/rec.hdr")" \
    -c 'read -P 0x77 0 128k' > "$T/io.out" 2>&1 ||
    { cat "$T/io.out"; fail "recovery: read through the backup header"; }
ok "header backup unlocks the damaged image at payload offset 4096 sectors"
