#!/usr/bin/env bash
# Header operations that detached headers make possible (issue 6):
# backup (byte-identical to cryptsetup luksHeaderBackup), recovery of a
# damaged header from a backup, restore (foreign header refused unless
# forced), detach (payload offset kept, no data moves, payload carries no
# signature), attach back, and every refusal leaves the files unchanged.
. "$(dirname "$0")/tools-lib.sh"
have_cs=true
command -v cryptsetup >/dev/null || { have_cs=false; echo "cryptsetup not installed: skipping its checks"; }
md5() { md5sum "$1" | cut -d' ' -f1; }
L1="--image-opts driver=luks,file.filename=vol.img,key-secret=sec0"
D1="--image-opts driver=luks,file.filename=vol.img,header.filename=hdr.img,key-secret=sec0"

# An attached LUKS1 volume with data.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 vol.img 8M
expect_ok $IO $SEC $L1 -c 'write -P 0x5a 0 1M' -c 'write -P 0xa5 7M 1M'

# Backup: mode 0600, the header area only, same bytes as cryptsetup's.
expect_ok $IMG header-backup vol.img bak.img
[ "$(stat -c %a bak.img)" = 600 ] || fail "backup mode is $(stat -c %a bak.img)"
[ "$(stat -c %s bak.img)" = 2068480 ] || fail "backup size $(stat -c %s bak.img)"
ok
if $have_cs; then
    cryptsetup luksHeaderBackup --batch-mode vol.img --header-backup-file cs.bak ||
        fail "cryptsetup luksHeaderBackup"
    cmp bak.img cs.bak || fail "backup differs from cryptsetup's"
    ok
fi
sum=$(md5 bak.img)
expect_err "already exists.*confirm" $IMG header-backup vol.img bak.img
[ "$(md5 bak.img)" = "$sum" ] || fail "refused backup changed the file"
ok
expect_ok $IMG luksHeaderBackup --header-backup-file bak2.img vol.img
cmp bak.img bak2.img || fail "cryptsetup-style backup differs"
ok

# Damage the header: the volume no longer opens, but the backup unlocks
# the payload where it is (payload offset from the backup), then restores.
dd if=/dev/zero of=vol.img bs=4096 count=1 conv=notrunc status=none
expect_err "not in LUKS format|Could not open" $IO $SEC $L1 -c 'read -P 0x5a 0 1M'
expect_ok $IO $SEC --image-opts driver=luks,file.filename=vol.img,header.filename=bak.img,key-secret=sec0 \
    -r -c 'read -P 0x5a 0 1M' -c 'read -P 0xa5 7M 1M'
before=$(md5 vol.img)
expect_err "without confirmation" $IMG header-restore vol.img bak.img
[ "$(md5 vol.img)" = "$before" ] || fail "unconfirmed restore changed the image"
ok
expect_ok $IMG header-restore -y vol.img bak.img
expect_ok $IO $SEC $L1 -c 'read -P 0x5a 0 1M' -c 'read -P 0xa5 7M 1M'

# A header from another volume is refused unless forced.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 other.img 8M
expect_ok $IMG header-backup other.img other.bak
before=$(md5 vol.img)
expect_err "another volume" $IMG header-restore -y vol.img other.bak
[ "$(md5 vol.img)" = "$before" ] || fail "foreign restore changed the image"
ok
expect_ok $IMG header-restore -y --force vol.img other.bak
expect_ok $IMG header-restore -y --force vol.img bak.img
expect_ok $IO $SEC $L1 -c 'read -P 0x5a 0 1M'

# Detach: header moves to hdr.img, payload offset kept, data not moved.
before=$(md5 vol.img)
expect_err "without confirmation" $IMG header-detach vol.img hdr.img
[ "$(md5 vol.img)" = "$before" ] && [ ! -e hdr.img ] || fail "unconfirmed detach changed something"
ok
expect_ok $IMG header-detach -y vol.img hdr.img
head -c 2068480 vol.img | cmp -s - <(head -c 2068480 /dev/zero) || fail "header not wiped"
ok
expect_ok $IMG info --output=json hdr.img
json_is format-specific.data.payload-offset 2068480
json_is format-specific.data.detached-header false
expect_ok $IO $SEC $D1 -c 'read -P 0x5a 0 1M' -c 'read -P 0xa5 7M 1M' -c 'write -P 0x33 1M 64k'
if $have_cs; then
    cryptsetup isLuks vol.img && fail "payload still looks like LUKS"
    printf abc123 > pass
    cryptsetup open --test-passphrase --key-file pass --header hdr.img vol.img ||
        fail "cryptsetup cannot use the detached header"
    ok
fi

# Attach it back.
expect_ok $IMG header-attach vol.img hdr.img
expect_ok $IO $SEC $L1 -c 'read -P 0x5a 0 1M' -c 'read -P 0x33 1M 64k' -c 'read -P 0xa5 7M 1M'

# A header created detached (payload offset 0) has no room in front.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,detached-header=true,iter-time=10 det.img
expect_ok $IMG create -q -f raw pay.img 4M
before=$(md5 pay.img)
expect_err "no room" $IMG header-attach -y pay.img det.img
[ "$(md5 pay.img)" = "$before" ] || fail "refused attach changed the payload"
ok

# LUKS2 made by cryptsetup: our backup equals its backup; detach works.
if $have_cs; then
    truncate -s 20M v2.img
    printf abc123 > pass
    cryptsetup luksFormat --type luks2 --batch-mode --key-file pass \
        --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --sector-size 512 v2.img ||
        fail "cryptsetup luksFormat"
    L2="--image-opts driver=luks,file.filename=v2.img,key-secret=sec0"
    expect_ok $IO $SEC $L2 -c 'write -P 0x77 0 1M'
    expect_ok $IMG header-backup v2.img v2.bak
    cryptsetup luksHeaderBackup --batch-mode v2.img --header-backup-file v2cs.bak ||
        fail "cryptsetup luksHeaderBackup (luks2)"
    cmp v2.bak v2cs.bak || fail "LUKS2 backup differs from cryptsetup's"
    ok
    expect_ok $IMG header-detach -y v2.img v2.hdr
    cryptsetup isLuks v2.img && fail "LUKS2 payload still looks like LUKS"
    cryptsetup open --test-passphrase --key-file pass --header v2.hdr v2.img ||
        fail "cryptsetup cannot use the detached LUKS2 header"
    expect_ok $IO $SEC --image-opts driver=luks,file.filename=v2.img,header.filename=v2.hdr,key-secret=sec0 \
        -c 'read -P 0x77 0 1M'
fi
echo "header-ops: $nchecks checks passed"
