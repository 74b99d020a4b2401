#!/usr/bin/env bash
# luksblk-img resize and check, and the header operations' refusals
# (issue 6):
#   resize of detached LUKS1/LUKS2 volumes moves only the payload's end
#   (the header stays byte-identical, the data stays) except where a LUKS2
#   segment of fixed size records it; shrinking without --shrink is
#   refused with both files unchanged;
#   check exits as qemu-img check does (0 clean, 1 not checked, 2
#   corruption, 63 format without checks) and agrees with qemu-img where
#   both can run;
#   header-attach over non-zero data and header-detach onto an existing
#   file are refused and change nothing.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tools-lib.sh"
md5() { md5sum < "$1"; }
# same FILE SUM WHAT: FILE still has checksum SUM.
same() { [ "$(md5 "$1")" = "$2" ] || fail "$1 changed by $3"; ok; }

for v in 1 2; do
    V=""
    [ $v = 2 ] && V=",luks-version=2,pbkdf=pbkdf2"
    H=h$v.img P=p$v.img
    expect_ok $IMG create -q $SEC -f luks -o "key-secret=sec0,iter-time=10,detached-header=on$V" $H
    truncate -s 4M $P
    D="driver=luks,file.filename=$P,header.filename=$H,key-secret=sec0"
    expect_ok $IO $SEC --image-opts "$D" -c 'write -P 0x61 0 1M' -c 'write -P 0x62 3M 1M'
    hs=$(md5 $H)

    # Grow: the payload file gets longer, the header does not change (the
    # new area reads as decrypted zeros, i.e. noise, as in QEMU).
    expect_ok $IMG resize $SEC --image-opts "$D" +2M
    has "Image resized."
    [ "$(stat -c %s $P)" = 6291456 ] || fail "LUKS$v payload is $(stat -c %s $P) bytes after +2M"
    same $H "$hs" "LUKS$v resize +2M"
    expect_ok $IO $SEC --image-opts "$D" -c 'read -P 0x61 0 1M' -c 'read -P 0x62 3M 1M' \
        -c 'read 4M 2M' -c length
    has "6 MiB"

    # Shrinking needs --shrink; without it nothing changes.
    ps=$(md5 $P)
    expect_err -- '--shrink' $IMG resize $SEC --image-opts "$D" 2M
    same $H "$hs" "LUKS$v refused shrink"
    same $P "$ps" "LUKS$v refused shrink"
    expect_err -- '--shrink' $IMG resize $SEC --image-opts "$D" -- -1M
    same $P "$ps" "LUKS$v refused relative shrink"
    expect_ok $IMG resize --shrink $SEC --image-opts "$D" 2M
    [ "$(stat -c %s $P)" = 2097152 ] || fail "LUKS$v payload is $(stat -c %s $P) after --shrink"
    same $H "$hs" "LUKS$v resize --shrink"
    expect_ok $IO $SEC --image-opts "$D" -c 'read -P 0x61 0 1M'

    # check: a clean header alone and the opened volume.
    expect_ok $IMG check $H
    has "No errors were found on the image."
    expect_ok $IMG check $SEC --image-opts "$D"
    expect_ok $IMG check --output=json $H
    json_is check-errors 0
    same $H "$hs" "LUKS$v check"
done

# A LUKS2 segment of fixed size (as after a reencryption; made here by
# rewriting the JSON of both copies) records the payload size: resize
# rewrites it (growing the payload file first when it is short; a shrink
# leaves the file alone), and cryptsetup reads the new size.
H=hf.img P=pf.img
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10,detached-header=on,luks-version=2,pbkdf=pbkdf2 $H
truncate -s 4M $P
python3 - "$H" "$HERE/corrupt-luks2.py" <<'PY' || fail "fixed-size segment"
import importlib.util, json, struct, sys
spec = importlib.util.spec_from_file_location("c", sys.argv[2])
c = importlib.util.module_from_spec(spec)
spec.loader.exec_module(c)
hdr = open(sys.argv[1], "rb").read()
j = c.read_json(hdr)
j["segments"]["0"]["size"] = str(4 << 20)
size = struct.unpack(">Q", hdr[8:16])[0]
out = c.write_copies(hdr[:2 * size], json.dumps(j, separators=(",", ":")).encode())
open(sys.argv[1], "r+b").write(out)
PY
D="driver=luks,file.filename=$P,header.filename=$H,key-secret=sec0"
expect_ok $IO $SEC --image-opts "$D" -c 'write -P 0x71 0 1M'
expect_ok $IMG resize $SEC --image-opts "$D" +1M
[ "$(stat -c %s $P)" = 5242880 ] || fail "fixed-size payload file is $(stat -c %s $P) bytes"
expect_ok $IMG info --output=json $SEC --image-opts "$D"
json_is virtual-size 5242880
json_is format-specific.data.segments.0.size 5242880
hs=$(md5 $H) ps=$(md5 $P)
expect_err -- '--shrink' $IMG resize $SEC --image-opts "$D" 2M
same $H "$hs" "refused fixed-size shrink"
same $P "$ps" "refused fixed-size shrink"
expect_ok $IMG resize --shrink $SEC --image-opts "$D" 2M
same $P "$ps" "fixed-size shrink (the file stays)"
expect_ok $IO $SEC --image-opts "$D" -c 'read -P 0x71 0 1M' -c length
has "2 MiB"
expect_ok $IMG check $H
if command -v cryptsetup >/dev/null; then
    cryptsetup luksDump $H | grep -q "length: 2097152 \[bytes\]" ||
        fail "cryptsetup does not read the new segment size"
    printf abc123 > pass
    cryptsetup open --test-passphrase --key-file pass --header $H $P ||
        fail "cryptsetup rejects the resized header"
    ok
fi

# An attached volume refuses to shrink below its data too, file untouched.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 a.img 4M
as=$(md5 a.img)
expect_err -- '--shrink' $IMG resize $SEC --image-opts driver=luks,file.filename=a.img,key-secret=sec0 1M
same a.img "$as" "refused attached shrink"

# check's exit codes, as qemu-img check's.
cp h1.img bad.img
printf '\0\0\0\0' | dd of=bad.img bs=1 seek=252 conv=notrunc status=none
bs=$(md5 bad.img)
expect_rc 2 $IMG check bad.img
same bad.img "$bs" "check of a corrupt header"
expect_rc 1 $IMG check nosuch.img
ok
expect_rc 63 $IMG check -f raw p1.img
has_err "luksblk-img: This image format does not support checks"
if command -v qemu-img >/dev/null; then
    # (QEMU's luks driver has no check at all: only these compare.)
    for a in "nosuch.img" "-f raw p1.img"; do
        # shellcheck disable=SC2086
        qemu-img check $a >/dev/null 2>&1; want=$?
        # shellcheck disable=SC2086
        run $IMG check $a
        [ "$rc" = "$want" ] || fail "check $a: rc=$rc, qemu-img check says $want"
        ok
    done
fi

# header-attach over data that is not zero needs -y; nothing is written.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 v.img 4M
expect_ok $IO $SEC --image-opts driver=luks,file.filename=v.img,key-secret=sec0 \
    -c 'write -P 0x5a 0 64k'
expect_ok $IMG header-detach -y v.img v.hdr
printf 'junk' | dd of=v.img bs=1 seek=100000 conv=notrunc status=none
vs=$(md5 v.img) hs=$(md5 v.hdr)
expect_err 'refusing to overwrite the start of the image without confirmation' \
    $IMG header-attach v.img v.hdr
same v.img "$vs" "unconfirmed header-attach"
same v.hdr "$hs" "unconfirmed header-attach"
# header-detach never overwrites an existing file, even with -y.
expect_ok $IMG header-attach -y v.img v.hdr
vs=$(md5 v.img)
expect_err "'v.hdr' already exists" $IMG header-detach -y v.img v.hdr
same v.img "$vs" "header-detach onto an existing file"
same v.hdr "$hs" "header-detach onto an existing file"
expect_ok $IO $SEC --image-opts driver=luks,file.filename=v.img,key-secret=sec0 \
    -c 'read -P 0x5a 0 64k'
done_ok
