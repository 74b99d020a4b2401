#!/usr/bin/env bash
# Damaged detached headers through luksblk-img info and luksblk-io: every
# case either works or fails with exactly one error line and a normal exit
# status (never a signal), and the header file is never modified.
#   LUKS1: truncated at 512-byte boundaries; one byte flipped in each
#          field of the binary header and of every keyslot.
#   LUKS2: JSON metadata damaged field by field (tests/interop/
#          corrupt-luks2.py, checksums valid), binary fields, truncation.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tools-lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit 77; }

PASS="--object secret,id=sec0,data=abc123"
expect_ok $IMG create -q -f raw p.img 1M
psum=$(md5sum < p.img)
ncases=0

# try FILE: info and a read through FILE as the detached header.
try() {
    local f=$1 sum tool
    sum=$(md5sum < "$f")
    for tool in info io; do
        if [ $tool = info ]; then
            run $IMG info "$f"
        else
            run $IO $PASS --image-opts \
                "driver=luks,file.filename=p.img,header.filename=$f,key-secret=sec0" \
                -c 'read 0 512'
        fi
        [ "$rc" -lt 128 ] || fail "$tool crashed (rc=$rc) on $CASE: $err"
        if [ "$rc" != 0 ]; then
            [ "$(printf '%s\n' "$err" | grep -c .)" = 1 ] ||
                fail "$tool on $CASE: expected one error line, got: $err"
            printf '%s\n' "$err" | grep -q "^luksblk-" ||
                fail "$tool on $CASE: unprefixed error: $err"
        fi
    done
    [ "$(md5sum < "$f")" = "$sum" ] || fail "modified by info or io: $CASE"
    ncases=$((ncases + 1))
    ok
}

# ---- LUKS1 ------------------------------------------------------------------
expect_ok $IMG create -q $PASS -f luks -o key-secret=sec0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,detached-header=on h1.img
size=$(stat -c %s h1.img)
CASE=intact try h1.img
[ "$rc" = 0 ] || fail "intact LUKS1 header does not open: $err"

# Truncation: every 512-byte boundary through the binary header and the
# start of slot 0's key material, then every 4 KiB (all later cuts are the
# same "device too small" case; 4 KiB is the keyslot alignment), and the
# last sector.
cuts="$(seq 0 512 8192) $(seq 12288 4096 $((size - 1))) $((size - 512))"
for n in $cuts; do
    head -c "$n" h1.img > t.img
    CASE="luks1 cut at $n" try t.img
    # The file is padded to 4 KiB after the last keyslot's material.
    [ "$rc" != 0 ] || [ "$n" -ge $((size - 4096)) ] ||
        fail "LUKS1 header cut at $n opens"
done

# Field flips: offset:length of each field; the first and last byte of
# each are flipped (iteration counts only in the low byte: a flipped high
# byte is a valid 2^31-iteration PBKDF, a slow header, not a broken one).
fields="0:6 6:2 8:32 40:32 72:32 104:4 108:4 112:20 132:32 164:4H 168:40"
for s in 0 1 2 3 4 5 6 7; do
    b=$((208 + 48 * s))
    fields="$fields $b:4 $((b + 4)):4H $((b + 8)):32 $((b + 40)):4 $((b + 44)):4"
done
flip() {    # flip FILE OFFSET: xor the byte with 0xa5
    local b
    b=$(od -An -tu1 -j"$2" -N1 "$1")
    # shellcheck disable=SC2059
    printf "\\x$(printf %02x $((b ^ 0xa5)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for fl in $fields; do
    off=${fl%%:*}; len=${fl#*:}; hi=1
    case $len in *H) len=${len%H}; hi=0 ;; esac
    for o in $([ $hi = 1 ] && echo "$off") $((off + len - 1)); do
        cp h1.img f.img
        flip f.img "$o"
        CASE="luks1 byte $o flipped" try f.img
    done
done
# The magic and version must be refused, not guessed.
for o in 0 5 7; do
    cp h1.img f.img; flip f.img $o
    CASE="luks1 magic $o" try f.img
    [ "$rc" != 0 ] || fail "LUKS1 header with byte $o flipped opens"
done

# ---- LUKS2 ------------------------------------------------------------------
expect_ok $IMG create -q $PASS -f luks -o key-secret=sec0,iter-time=10,luks-version=2,pbkdf=pbkdf2,detached-header=on h2.img
CASE=intact2 try h2.img
[ "$rc" = 0 ] || fail "intact LUKS2 header does not open: $err"
python3 "$HERE/corrupt-luks2.py" h2.img cases || fail "corrupt-luks2.py failed"
cp h2.img w.img
for c in cases/*; do
    dd if="$c" of=w.img conv=notrunc status=none
    CASE="luks2 $(basename "$c")" try w.img
done
# These must be refused (the others may be legal or merely unusual).
for c in json-array json-null json-empty json-truncated json-deep \
         ks-area-offset-in-hdr dig-digest-short cfg-requirements \
         seg-sector-1000 bin-csum-both bin-version bin-hdr-offset; do
    dd if="cases/$c" of=w.img conv=notrunc status=none
    run $IO $PASS --image-opts \
        "driver=luks,file.filename=p.img,header.filename=w.img,key-secret=sec0" \
        -c 'read 0 512'
    [ "$rc" != 0 ] || fail "LUKS2 case $c opens"
    # info only describes the header: an unmet requirement is shown.
    [ $c = cfg-requirements ] && continue
    run $IMG info w.img
    [ "$rc" != 0 ] || fail "LUKS2 case $c opens for info"
done
# LUKS2 af values (as cryptsetup 2.6.1): any integer af.stripes is taken and
# 4000 used, so the volume unlocks; a hash name in any case works.  Values
# cryptsetup refuses, and a hash not available here, are refused clearly.
HOPTS="driver=luks,file.filename=p.img,header.filename=w.img,key-secret=sec0"
printf abc123 > pass.txt
for c in ks-af-stripes-0 ks-af-stripes-1000 ks-af-stripes-neg \
         ks-af-stripes-huge ks-af-stripes-int64 ks-af-hash-upper; do
    cp h2.img w.img
    dd if="cases/$c" of=w.img conv=notrunc status=none
    run $IO $PASS --image-opts "$HOPTS" -c 'read -q 0 512'
    [ "$rc" = 0 ] || fail "LUKS2 case $c does not unlock: $err"
    run $IMG info --output=json w.img
    [ "$rc" = 0 ] || fail "LUKS2 case $c: info fails: $err"
    if command -v cryptsetup >/dev/null; then
        cryptsetup open --test-passphrase --batch-mode --key-file pass.txt \
            --header w.img p.img || fail "cryptsetup does not unlock $c"
    fi
    ok
done
# A header rewrite (a keyslot added) keeps the stored stripes value.
cp h2.img w.img
dd if=cases/ks-af-stripes-1000 of=w.img conv=notrunc status=none
expect_ok $IMG amend $PASS --object secret,id=s2,data=second \
    --image-opts "$HOPTS" -o state=active,new-secret=s2,iter-time=10
stripes=$(python3 -c '
import json, sys
h = open(sys.argv[1], "rb").read()
d = json.loads(h[4096:h.index(b"\0", 4096)])
print(d["keyslots"]["0"]["af"]["stripes"], d["keyslots"]["1"]["af"]["stripes"])
' w.img)
[ "$stripes" = "1000 4000" ] || fail "stripes after a rewrite: $stripes"
expect_ok $IO --object secret,id=sec0,data=second --image-opts "$HOPTS" \
    -c 'read -q 0 512'
for c in "ks-af-stripes-str|\"stripes\" is not an integer" \
         "ks-af-stripes-float|\"stripes\" is not an integer" \
         "ks-af-hash|hash \"nope\" is not supported" \
         "ks-af-hash-empty|hash \"\" is not supported" \
         "ks-af-hash-int|\"hash\" is not a string" \
         "ks-af-type|af type \"luks2\" is not supported"; do
    cp h2.img w.img
    dd if="cases/${c%%|*}" of=w.img conv=notrunc status=none
    expect_err "^luksblk-io: can't open: .*keyslot 0: ${c#*|}" \
        $IO $PASS --image-opts "$HOPTS" -c 'read 0 512'
done

for n in 0 512 4096 16384 20480 32768 $((32768 + 65536)) \
         $(($(stat -c %s h2.img) - 512)); do
    head -c "$n" h2.img > t.img
    CASE="luks2 cut at $n" try t.img
    [ "$rc" != 0 ] || fail "LUKS2 header cut at $n opens"
done

# Not a header file at all: a directory, an empty file.
mkdir d
expect_err "luksblk-img: Could not open 'd': 'file' driver requires 'd' to be a regular file" \
    $IMG info d
: > e.img
expect_err 'luksblk-io: .*cannot read LUKS header: the header is 0 bytes, too short' \
    $IO $PASS --image-opts \
    "driver=luks,file.filename=p.img,header.filename=e.img,key-secret=sec0" \
    -c 'read 0 512'

[ "$(md5sum < p.img)" = "$psum" ] || fail "payload modified"
echo "ok: $ncases damaged headers, $nchecks checks"
