#!/usr/bin/env bash
# luksblk-img convert, resize, amend and check (issue 6) on small volumes:
# data survives raw -> luks (attached and detached) -> raw and luks -> luks
# with a new key; keyslots change as cryptsetup sees them; check's exit
# codes follow qemu-img check.
. "$(dirname "$0")/tools-lib.sh"
S2="--object secret,id=sec1,data=newpass"

# A raw source with data and holes.
expect_ok $IMG create -q -f raw src.raw 4M
expect_ok $IO -f raw src.raw -c 'write -P 0x11 0 1M' -c 'write -P 0x22 3M 512k'

# raw -> luks (attached), back to raw: identical bytes.
expect_ok $IMG convert $SEC -O luks -o key-secret=sec0,iter-time=10 src.raw a.luks
expect_ok $IMG info --output=json a.luks
json_is virtual-size 4194304
json_is format-specific.data.payload-offset 2068480
expect_ok $IO $SEC --image-opts driver=luks,file.filename=a.luks,key-secret=sec0 \
    -c 'read -P 0x11 0 1M' -c 'read -P 0 1M 2M' -c 'read -P 0x22 3M 512k'
expect_ok $IMG convert -p $SEC --image-opts \
    driver=luks,file.filename=a.luks,key-secret=sec0 -O raw back.raw
cmp src.raw back.raw || fail "raw -> luks -> raw differs"
# Sparse-aware: the 2 MiB of zeros in the middle stay a hole.
[ "$(stat -c %b back.raw)" -lt $((3 * 2048)) ] ||
    fail "convert to raw allocated the zeros: $(stat -c %b back.raw) sectors"
ok

# raw -> luks with a detached header (-n --target-image-opts).
expect_ok $IMG create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10 h.img
expect_ok $IMG create -q -f raw p.img 4M
D=driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec0
expect_ok $IMG convert -n $SEC -f raw src.raw --target-image-opts "$D"
expect_ok $IMG convert $SEC --image-opts "$D" -O raw back2.raw
cmp src.raw back2.raw || fail "raw -> detached luks -> raw differs"
ok

# compare: guest-visible contents, as qemu-img compare.
expect_ok $IMG compare $SEC --image-opts driver=raw,file.filename=src.raw "$D"
has "Images are identical."
expect_ok $IO -f raw back2.raw -c 'write -P 0x77 1000 1'
expect_rc 1 $IMG compare $SEC --image-opts driver=raw,file.filename=back2.raw "$D"
has "Content mismatch at offset 512!"
expect_rc 2 $IMG compare -f raw -F raw src.raw nosuch.raw
# Sizes differ: a content mismatch in the common part is reported alone;
# the size warning comes only once the common part matched (QEMU's 048).
cp back2.raw longer.raw && truncate -s +1M longer.raw
expect_rc 1 $IMG compare -f raw -F raw longer.raw src.raw
[ "$out" = "Content mismatch at offset 512!" ] || fail "compare: $out"
cp src.raw longer.raw && truncate -s +1M longer.raw
expect_ok $IMG compare -f raw -F raw src.raw longer.raw
[ "$out" = "$(printf 'Warning: Image size mismatch!\nImages are identical.')" ] ||
    fail "compare: $out"
expect_rc 1 $IMG compare -s -f raw -F raw src.raw longer.raw
[ "$out" = "Strict mode: Image size mismatch!" ] || fail "compare -s: $out"
ok

# luks -> luks with a new key.
expect_ok $IMG convert $SEC $S2 --image-opts "$D" -O luks \
    -o key-secret=sec1,iter-time=10,cipher-alg=aes-128 new.luks
expect_ok $IO $S2 --image-opts driver=luks,file.filename=new.luks,key-secret=sec1 \
    -c 'read -P 0x11 0 1M' -c 'read -P 0x22 3M 512k'

# resize: an attached luks volume grows; shrinking needs --shrink.
expect_ok $IMG resize $SEC --image-opts \
    driver=luks,file.filename=a.luks,key-secret=sec0 +2M
has "Image resized."
expect_ok $IMG info --output=json a.luks
json_is virtual-size 6291456
run $IMG resize $SEC --image-opts driver=luks,file.filename=a.luks,key-secret=sec0 1M
[ "$rc" = 1 ] && printf '%s' "$err" | grep -q -- "--shrink" || fail "shrink refused: $err"
ok
expect_ok $IO $SEC --image-opts driver=luks,file.filename=a.luks,key-secret=sec0 \
    -c 'read -P 0x11 0 1M'

# amend through the detached header: add a passphrase, remove the old one.
hsum=$(sha256sum < h.img)
expect_ok $IMG amend $SEC $S2 --image-opts "$D" \
    -o state=active,new-secret=sec1,iter-time=10
expect_ok $IO $S2 --image-opts driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec1 \
    -c 'read -P 0x11 0 1M'
if command -v cryptsetup >/dev/null; then
    printf newpass > new.txt
    cryptsetup open --test-passphrase --key-file new.txt --header h.img p.img ||
        fail "cryptsetup rejects the added passphrase"
    cryptsetup luksDump h.img | grep -Eq 'Key Slot 1: ENABLED' ||
        fail "luksDump: slot 1 not enabled"
    ok
fi
expect_ok $IMG amend $SEC $S2 --image-opts \
    driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec1 \
    -o state=inactive,old-secret=sec0
expect_err 'luksblk-io: .*' $IO $SEC --image-opts "$D" -c 'read 0 512'
# The last passphrase is not removed without --force; header unchanged.
hsum=$(sha256sum < h.img)
run $IMG amend $S2 --image-opts \
    driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec1 \
    -o state=inactive,old-secret=sec1
[ "$rc" = 1 ] || fail "removing the last keyslot without --force succeeded"
[ "$(sha256sum < h.img)" = "$hsum" ] || fail "refused amend changed header"
ok
expect_ok $IMG amend -f luks -o help
has "Amend options for 'luks':"

# check: clean luks 0, raw 63, corrupt header 2.
expect_ok $IMG check h.img
has "No errors were found on the image."
expect_rc 63 $IMG check -f raw src.raw
ok
cp h.img bad.img
printf '\0\0\0\0' | dd of=bad.img bs=1 seek=252 conv=notrunc 2>/dev/null
expect_rc 2 $IMG check bad.img
ok
done_ok
