#!/usr/bin/env bash
# luksblk-img amend on LUKS1 and LUKS2, attached and detached (issue 6):
# after every keyslot change cryptsetup agrees (the slots luksDump lists,
# which passphrases open --test-passphrase accepts); every bad request
# (wrong old passphrase, slot out of range or in use, the last slot
# without --force, a wrong key-secret) gets one error line and leaves the
# header byte-identical.
. "$(dirname "$0")/tools-lib.sh"
command -v cryptsetup >/dev/null || { echo "SKIP: cryptsetup not installed"; exit 77; }

printf pw0 > k0; printf pw1 > k1; printf pw2 > k2; printf nope > kbad
OBJS="--object secret,id=s0,file=k0 --object secret,id=s1,file=k1"
OBJS="$OBJS --object secret,id=s2,file=k2 --object secret,id=bad,file=kbad"

# cs_slots HDR: the enabled keyslots cryptsetup lists, space separated.
cs_slots() {
    cryptsetup luksDump "$1" | sed -n \
        -e 's/^Key Slot \([0-7]\): ENABLED$/\1/p' \
        -e '/^Keyslots:/,/^Tokens:/s/^  \([0-9]*\): luks2$/\1/p' | xargs
}
# agree WHAT SLOTS OPENING CLOSED: cryptsetup lists exactly SLOTS, accepts
# the key files in OPENING and refuses those in CLOSED.
agree() {
    local got k
    got=$(cs_slots "$HDR")
    [ "$got" = "$2" ] || fail "$NAME $1: cryptsetup lists slots '$got', expected '$2'"
    for k in $3; do
        cryptsetup open --test-passphrase --key-file "$k" "${CSH[@]}" ||
            fail "$NAME $1: cryptsetup refuses $k"
    done
    for k in $4; do
        cryptsetup open --test-passphrase --key-file "$k" "${CSH[@]}" 2>/dev/null &&
            fail "$NAME $1: cryptsetup still accepts $k"
    done
    ok
}
# amend KEY OPTS...: luksblk-img amend with key-secret KEY.
amend() {
    local key=$1; shift
    $IMG amend $OBJS --image-opts "$OPTS,key-secret=$key" "$@"
}
# refused PATTERN KEY OPTS...: one error line, header unchanged.
refused() {
    local pat=$1 sum
    shift
    sum=$(sha256sum < "$HDR")
    expect_err "$pat" amend "$@"
    [ "$(sha256sum < "$HDR")" = "$sum" ] || fail "$NAME: refused amend $* changed the header"
    ok
}

for NAME in luks1-detached luks1-attached luks2-detached luks2-attached; do
    case $NAME in
    luks1-*) V="" MAXSLOT=8 ;;
    luks2-*) V=",luks-version=2,pbkdf=pbkdf2" MAXSLOT=32 ;;
    esac
    rm -f h.img p.img
    case $NAME in
    *-detached)
        expect_ok $IMG create -q $OBJS -f luks \
            -o "key-secret=s0,iter-time=10,detached-header=on$V" h.img
        truncate -s 4M p.img
        HDR=h.img CSH=(--header h.img p.img)
        OPTS="driver=luks,file.filename=p.img,header.filename=h.img" ;;
    *-attached)
        expect_ok $IMG create -q $OBJS -f luks -o "key-secret=s0,iter-time=10$V" p.img 4M
        HDR=p.img CSH=(p.img)
        OPTS="driver=luks,file.filename=p.img" ;;
    esac
    expect_ok $IO $OBJS --image-opts "$OPTS,key-secret=s0" -c 'write -P 0x3c 0 64k'
    agree created "0" "k0" "k1 k2"

    # Add in the first free slot, then in a chosen one.
    expect_ok amend s0 -o state=active,new-secret=s1,iter-time=10
    agree "add" "0 1" "k0 k1" "k2"
    expect_ok amend s1 -o state=active,new-secret=s2,keyslot=5,iter-time=10
    agree "add keyslot=5" "0 1 5" "k0 k1 k2" "kbad"

    # Bad requests: nothing changes.
    refused 'No keyslots match given \(old\) password' s1 -o state=inactive,old-secret=bad
    refused ': Invalid password, cannot unlock any keyslot$' bad -o state=active,new-secret=s2,iter-time=10
    refused "keyslot $MAXSLOT" s0 -o state=active,new-secret=s2,keyslot=$MAXSLOT,iter-time=10
    refused "Invalid keyslot $MAXSLOT" s0 -o state=inactive,keyslot=$MAXSLOT
    refused 'Invalid keyslot -1' s0 -o state=inactive,keyslot=-1
    refused 'Invalid keyslot -1' s0 -o state=active,new-secret=s2,keyslot=-1,iter-time=10
    # 2^32 + 1 must not wrap around to slot 1.
    refused 'Invalid keyslot 4294967297' s0 \
        -o state=active,new-secret=s2,keyslot=4294967297,iter-time=10
    refused 'overwrite active keyslot 1' s0 -o state=active,new-secret=s2,keyslot=1,iter-time=10
    refused 'already erased' s0 -o state=inactive,keyslot=3
    refused "'new-secret' is required" s0 -o state=active
    refused "state" s0 -o state=maybe,keyslot=1
    refused 'no-such' s0 -o state=active,new-secret=no-such,iter-time=10
    agree "refusals" "0 1 5" "k0 k1 k2" "kbad"
    # LUKS1: the same refusals word for word as qemu-img amend (not -1,
    # which qemu-img prints as 4294967295).
    if [ -z "$V" ] && command -v qemu-img >/dev/null; then
        for o in state=inactive,old-secret=bad state=inactive,keyslot=9 \
                 state=active,new-secret=s2,keyslot=8 state=active,new-secret=s2,keyslot=1 \
                 state=inactive,keyslot=3 state=active state=inactive state=maybe \
                 keyslot=1 state=active,new-secret=no-such foo=bar; do
            sum=$(sha256sum < "$HDR")
            qerr=$(qemu-img amend $OBJS --image-opts "$OPTS,key-secret=s1" -o "$o" 2>&1)
            run amend s1 -o "$o"
            [ "$rc" = 1 ] && [ "${err#luksblk-img: }" = "${qerr#qemu-img: }" ] ||
                fail "$NAME amend -o $o: '$err', qemu-img says '$qerr'"
            [ "$(sha256sum < "$HDR")" = "$sum" ] || fail "$NAME: amend -o $o changed the header"
            ok
        done
    fi

    # Remove by passphrase, then by slot number.
    expect_ok amend s1 -o state=inactive,old-secret=s0
    agree "remove old-secret" "1 5" "k1 k2" "k0"
    expect_ok amend s1 -o state=inactive,keyslot=5
    agree "remove keyslot=5" "1" "k1" "k0 k2"

    # QEMU's rules (293): erasing by passphrase is refused before anything
    # changes when every active slot matches; --force overwrites an active
    # slot in place.
    expect_ok amend s1 -o state=active,new-secret=s1,iter-time=10
    agree "same passphrase twice" "0 1" "k1" "k0 k2"
    refused '^luksblk-img: All the active keyslots match the \(old\) password that was given and erasing them will erase all the data in the image irreversibly - refusing operation$' \
        s1 -o state=inactive,old-secret=s1
    agree "all-match refusal" "0 1" "k1" "k0 k2"
    expect_ok amend s1 --force -o state=active,new-secret=s2,keyslot=0,iter-time=10
    agree "--force overwrites slot 0" "0 1" "k1 k2" "k0"
    expect_ok amend s1 -o state=inactive,old-secret=s2
    agree "overwritten slot erased" "1" "k1" "k0 k2"

    # The last passphrase goes only with --force.
    refused 'only active keyslot 1' s1 -o state=inactive,keyslot=1
    refused 'All the active keyslots match the \(old\) password' s1 -o state=inactive,old-secret=s1
    agree "last slot kept" "1" "k1" "k0 k2"
    expect_ok $IO $OBJS --image-opts "$OPTS,key-secret=s1" -c 'read -P 0x3c 0 64k'
    cp "$HDR" forced.img
    HDR0=$HDR HDR=forced.img
    [ "$HDR0" = h.img ] && CSH=(--header forced.img p.img) || CSH=(forced.img)
    if [ "$HDR0" = h.img ]; then
        expect_ok $IMG amend $OBJS --force --image-opts \
            "driver=luks,file.filename=p.img,header.filename=forced.img,key-secret=s1" \
            -o state=inactive,keyslot=1
    else
        expect_ok $IMG amend $OBJS --force --image-opts \
            "driver=luks,file.filename=forced.img,key-secret=s1" -o state=inactive,keyslot=1
    fi
    agree "--force removes the last" "" "" "k0 k1 k2"
    HDR=$HDR0
    rm -f forced.img
    # LUKS1 has 8 keyslots; the ninth key gets QEMU's refusal.
    if [ -z "$V" ]; then
        for i in 1 2 3 4 5 6 7; do
            expect_ok amend s1 -o state=active,new-secret=s2,iter-time=10
        done
        refused "^luksblk-img: Can't add a keyslot - all keyslots are in use\$" \
            s1 -o state=active,new-secret=s0,iter-time=10
    fi
    echo "ok: $NAME"
done
done_ok
