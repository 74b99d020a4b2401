#!/usr/bin/env bash
# test-crash-amend.sh: luksblk-img amend killed at every write (issue 6).
#
# The process is really killed (_exit, through tests/unit/crash-shim.c as
# LD_PRELOAD) before its 1st, 2nd, ... data-changing file call, and again
# with that call torn in half, until amend runs through.  After every kill
# the detached header must open with the old or the new passphrase set,
# never neither: the passphrase both sets share opens in luksblk-io and in
# cryptsetup, reading the data written before.  LUKS1 and LUKS2, adding and
# removing a keyslot.  Usage: $0 BUILD_DIR CRASH_SHIM
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR CRASH_SHIM}" && pwd)
SHIM=$(realpath "${2:?usage: $0 BUILD_DIR CRASH_SHIM}")
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io
T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-crash.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
have_cs=false
command -v cryptsetup >/dev/null && have_cs=true
fails=0 points=0
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }

printf old > k0
printf new > k1
OBJS="--object secret,id=s0,file=k0 --object secret,id=s1,file=k1"
truncate -s 4M p.img
opts() { echo "driver=luks,file.filename=p.img,header.filename=$1,key-secret=$2"; }

# opens HDR KEY: the header unlocks with secret KEY and shows the data.
opens() {
    "$IO" $OBJS --image-opts "$(opts "$1" "$2")" -r -c 'read -P 0x4b 0 64k' \
        > io.out 2>&1 && ! grep -q "verification failed" io.out || return 1
    if $have_cs; then
        cryptsetup open --test-passphrase --key-file "k${2#s}" --header "$1" p.img || return 1
    fi
}

# run_op NAME START KEEPER AMEND_OPTS...: kill amend at every write of
# START's copy; KEEPER (in old and new set) must open after each.
run_op() {
    local name=$1 start=$2 keeper=$3 key=$4
    shift 4
    local n torn rc done=false
    for n in $(seq 1 40); do
        for torn in 0 1; do
            cp "$start" h.img
            LD_PRELOAD=$SHIM LB_CRASH_AT=$n LB_CRASH_TORN=$torn \
                "$IMG" amend $OBJS --image-opts "$(opts h.img "$key")" "$@" \
                > amend.out 2>&1
            rc=$?
            if [ $rc = 0 ]; then
                done=true
                break
            fi
            [ $rc = 99 ] || { cat amend.out; fail "$name: amend failed (rc $rc) at write $n"; }
            opens h.img "$keeper" || fail "$name: killed at write $n (torn=$torn): '$keeper' no longer opens"
            points=$((points + 1))
        done
        $done && break
    done
    $done || fail "$name: amend never completed"
    # Completed: the new set is in place.
    opens h.img "$keeper" || fail "$name: '$keeper' does not open after amend"
    echo "ok    $name: survived a kill before each of $((n - 1)) writes, whole and torn"
}

for v in 1 2; do
    V=""
    [ $v = 2 ] && V=",luks-version=2,pbkdf=pbkdf2"
    rm -f base.hdr two.hdr
    "$IMG" create -q $OBJS -f luks -o "key-secret=s0,iter-time=10,detached-header=on$V" base.hdr ||
        { fail "LUKS$v create"; continue; }
    "$IO" $OBJS --image-opts "$(opts base.hdr s0)" -c 'write -P 0x4b 0 64k' > /dev/null ||
        fail "LUKS$v write"
    # Add "new": old set {old}, new set {old, new}: "old" always opens.
    run_op "LUKS$v add-key" base.hdr s0 s0 -o state=active,new-secret=s1,iter-time=10
    cp h.img two.hdr
    opens two.hdr s1 || fail "LUKS$v: the added passphrase does not open"
    # Remove "old": old set {old, new}, new set {new}: "new" always opens.
    run_op "LUKS$v remove-key" two.hdr s1 s1 -o state=inactive,old-secret=s0
    "$IO" $OBJS --image-opts "$(opts h.img s0)" -c 'read 0 512' > /dev/null 2>&1 &&
        fail "LUKS$v: the removed passphrase still opens"
done
echo "$points crash points survived, $fails failure(s)"
[ "$points" -gt 10 ] || { echo "FAIL  too few crash points ($points)"; exit 1; }
[ "$fails" = 0 ]
