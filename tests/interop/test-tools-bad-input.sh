#!/usr/bin/env bash
# Bad input to luksblk-io / luksblk-img: each case gets exactly one error
# line, a non-zero exit (not a crash), and leaves the header file
# byte-identical.
. "$(dirname "$0")/tools-lib.sh"

expect_ok $IMG create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10 h.img
expect_ok $IMG create -q -f raw p.img 4M
expect_ok $IO $SEC --image-opts \
    driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec0 \
    -c 'write -P 0x5c 0 64k'
sum0=$(sha256sum < h.img)
psum0=$(sha256sum < p.img)
unchanged() {
    [ "$(sha256sum < h.img)" = "$sum0" ] || fail "header changed after: $*"
    [ "$(sha256sum < p.img)" = "$psum0" ] || fail "payload changed after: $*"
    ok
}
opts() { echo "driver=luks,file.filename=${2:-p.img},header.filename=$1,key-secret=sec0"; }
BAD="--object secret,id=sec0,data=wrong"

# Wrong passphrase: QEMU's wording, which scripts written for QEMU grep.
expect_err "^luksblk-io: can't open: Invalid password, cannot unlock any keyslot$" \
    $IO $BAD --image-opts "$(opts h.img)" -c 'read 0 512'
unchanged wrong passphrase
expect_err "^luksblk-img: Could not open '.*': Invalid password, cannot unlock any keyslot$" \
    $IMG bench $BAD -c 1 --image-opts "$(opts h.img)"
unchanged bench wrong passphrase
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,luks-version=2,pbkdf=pbkdf2,iter-time=10,detached-header=true h2.img
expect_err "^luksblk-io: can't open: Invalid password, cannot unlock any keyslot$" \
    $IO $BAD --image-opts "$(opts h2.img)" -c 'read 0 512'
expect_err "^luksblk-img: Could not open '.*': Invalid password, cannot unlock any keyslot$" \
    $IMG convert $BAD --image-opts "$(opts h2.img)" out.raw

# Missing header file.
expect_err 'luksblk-io: .*(No such file|not found|nohdr.img)' \
    $IO $SEC --image-opts "$(opts nohdr.img)" -c 'read 0 512'
expect_err 'luksblk-img: Could not open .*' $IMG info nohdr.img

# Truncated header: the key material is cut off.
head -c 8192 h.img > trunc.img
tsum=$(sha256sum < trunc.img)
expect_err 'luksblk-io: .*(too small|too short)' $IO $SEC --image-opts "$(opts trunc.img)" \
    -c 'read 0 512'
[ "$(sha256sum < trunc.img)" = "$tsum" ] || fail "truncated header changed"
head -c 100 h.img > trunc2.img
expect_err 'luksblk-io: .*' $IO $SEC --image-opts "$(opts trunc2.img)" \
    -c 'read 0 512'
expect_err 'luksblk-img: .*' $IMG info trunc2.img
unchanged truncated

# A header from a different volume does not unlock with this passphrase.
expect_ok $IMG create -q --object secret,id=s1,data=other -f luks \
    -o key-secret=s1,detached-header=true,iter-time=10 other.img
osum=$(sha256sum < other.img)
expect_err 'luksblk-io: .*(passphrase|password|keyslot)' \
    $IO $SEC --image-opts "$(opts other.img)" -c 'read 0 512'
[ "$(sha256sum < other.img)" = "$osum" ] || fail "other header changed"
unchanged foreign header

# An attached volume's header used for a payload smaller than its payload
# offset (2068480 bytes).
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 att.img 1M
head -c 1M /dev/zero > small.img
asum=$(sha256sum < att.img)
expect_err "luksblk-io: .*payload file 'small.img' is too small: 1048576 bytes, but the LUKS header puts the payload at offset 2068480" $IO $SEC --image-opts "$(opts att.img small.img)" \
    -c 'read 0 512'
[ "$(sha256sum < att.img)" = "$asum" ] || fail "attached header changed"
[ "$(stat -c %s small.img)" = 1048576 ] || fail "small payload resized"
ok

# Garbage keyslot fields: slot 0's stripe count (offset 208+44) zeroed.
cp h.img garbage.img
printf '\0\0\0\0' | dd of=garbage.img bs=1 seek=252 conv=notrunc 2>/dev/null
gsum=$(sha256sum < garbage.img)
expect_err 'luksblk-io: .*' $IO $SEC --image-opts "$(opts garbage.img)" \
    -c 'read 0 512'
[ "$(sha256sum < garbage.img)" = "$gsum" ] || fail "garbage header changed"
ok

# A header naming an unknown cipher (offset 8) or hash (offset 72), or a
# key-material offset past the end (slot 0, offset 208+40): refused, never
# guessed, and not rewritten.
for f in 8:rot13 40:cbc-lmk 72:md4; do
    cp h.img unk.img
    off=${f%%:*} name=${f#*:}
    head -c 32 /dev/zero | dd of=unk.img bs=1 seek="$off" conv=notrunc status=none
    printf '%s' "$name" | dd of=unk.img bs=1 seek="$off" conv=notrunc status=none
    usum=$(sha256sum < unk.img)
    expect_err "luksblk-io: .*unsupported.*$name" \
        $IO $SEC --image-opts "$(opts unk.img)" -c 'read 0 512'
    expect_err "luksblk-img: .*unsupported.*$name" $IMG info unk.img
    [ "$(sha256sum < unk.img)" = "$usum" ] || fail "header naming $name changed"
    ok
done
cp h.img unk.img
printf '\x7f\xff\xff\x00' | dd of=unk.img bs=1 seek=248 conv=notrunc status=none
usum=$(sha256sum < unk.img)
expect_err 'luksblk-io: .*' $IO $SEC --image-opts "$(opts unk.img)" -c 'read 0 512'
[ "$(sha256sum < unk.img)" = "$usum" ] || fail "header with a wild key offset changed"
ok
unchanged unknown algorithms

# Unknown cipher, unknown format, missing secret at create.
expect_err 'luksblk-img: c1.img: .*' $IMG create -q $SEC -f luks \
    -o key-secret=sec0,iter-time=10,cipher-alg=foo-256 c1.img 1M
expect_err 'luksblk-img: c2.img: .*' $IMG create -q $SEC -f luks \
    -o key-secret=sec0,iter-time=10,cipher-mode=nosuch c2.img 1M
expect_err 'luksblk-img: c3.img: .*' $IMG create -q -f luks \
    -o key-secret=nosuch,iter-time=10 c3.img 1M
expect_err 'luksblk-img: c4.img: .*' $IMG create -q -f foo c4.img 1M
expect_err "luksblk-img: Invalid image size specified: '1Q'." \
    $IMG create -q -f raw c5.img 1Q
expect_err 'luksblk-io: .*' $IO --object secret,id=s0 p.img -c 'read 0 1'
unchanged create errors
# Usage errors: the same lines and exit status as qemu-img's (names aside).
if command -v qemu-img >/dev/null; then
    expect_ok $IMG create -q -f raw u.raw 64k
    for c in "info -Z u.raw" "info --bogus u.raw" "info -f" "info a b" \
             "info --output=x u.raw" "check a b" "check --output=yaml u.raw" \
             "bench" "amend u.raw" "compare -Z a b" "compare a" \
             "convert --bogus a b" "resize u.raw" "create" "nocmd"; do
        run $IMG $c
        mine="$(printf '%s' "$err" | sed 's/luksblk-img/qemu-img/g') rc=$rc"
        run qemu-img $c
        [ "$mine" = "$err rc=$rc" ] ||
            fail "usage error of '$c': '$mine', qemu-img: '$err rc=$rc'"
        ok
    done
fi
done_ok
