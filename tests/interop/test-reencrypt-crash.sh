#!/usr/bin/env bash
# test-reencrypt-crash.sh: luksblk-img reencrypt really killed (_exit
# through tests/unit/reenc-crash-shim.c as LD_PRELOAD) at every header
# write (area, JSON, binary header of each copy) and every hotzone data
# write, whole and torn in half, for encrypt (checksum), re-key (checksum,
# journal) and decrypt (checksum), 1 MiB volumes in 512 KiB hotzones.
# (Encrypt is initialized by cryptsetup --init-only, the others by
# luksblk; test-reencrypt.sh covers the other way round.)
# After each kill luksblk recovers and finishes (--resume-only) and the
# data must equal a reference run from the same initialized header (same
# volume key, so equal bytes mean equal plaintext); the reference itself
# is checked with the independent oracle tests/interop/luks-oracle.py and
# cryptsetup's volume key.  A sample of kill points is finished by
# cryptsetup (repair, reencrypt --resume-only) instead.  Resilience none:
# SIGTERM mid-run stops with a clean header that both tools resume.
# Usage: $0 BUILD_DIR CRASH_SHIM
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR CRASH_SHIM}" && pwd)
SHIM=$(realpath "${2:?usage: $0 BUILD_DIR CRASH_SHIM}")
HERE=$(cd "$(dirname "$0")" && pwd)
command -v cryptsetup >/dev/null || { echo "SKIP: cryptsetup not installed"; exit 77; }
IMG=$BUILD/tools/luksblk-img
T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-reenc-crash.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
TT=$(pwd -P)
fails=0 points=0 cs_points=0
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }

printf 'crash pass' > k0
CS="cryptsetup -q --disable-locks"
CSF="$CS --pbkdf pbkdf2 --pbkdf-force-iterations 1000"
lb() { "$IMG" reencrypt --object secret,id=s0,file=k0 --key-secret s0 --iter-time 1 \
    --pbkdf pbkdf2 -q --hotzone-size 512K "$@"; }
head -c 1M /dev/urandom > plain.img
cp plain.img d.enc
# 1 MiB keyslots area: the header is copied before every kill.
KS="--luks2-keyslots-size 1M"
$CSF reencrypt --encrypt --type luks2 --header h.enc $KS --key-file k0 --sector-size 512 d.enc ||
    { echo "cryptsetup cannot encrypt"; exit 1; }

# oracle_ok HDR DATA: the finished volume decrypts to plain.img with
# cryptsetup's volume key and luks-oracle.py (no luksblk code).
oracle_ok() {
    local key
    key=$($CS luksDump --dump-volume-key --key-file k0 "$1" | sed -n '/MK dump:/,$p' |
        sed 's/MK dump://' | tr -d ' \t\n')
    python3 "$HERE/luks-oracle.py" decrypt "$key" aes-xts-plain64 "$2" 0 1048576 0 |
        cmp -s - plain.img
}
# in_reenc HDR: the newer header copy still carries the requirement (a
# kill during the final wipe leaves a finished header).
in_reenc() { $CS luksDump "$1" 2>/dev/null | grep -q online-reencrypt; }

for sc in encrypt:checksum rekey:checksum rekey:journal decrypt:checksum; do
    mode=${sc%:*} res=${sc#*:}
    rm -f h0.img
    case $mode in
    encrypt) cp plain.img d0.img
        $CSF reencrypt --encrypt --type luks2 --header h0.img $KS --key-file k0 --sector-size 512 \
            --init-only --resilience $res d0.img ;;
    rekey) cp d.enc d0.img; cp h.enc h0.img; lb --header h0.img --init-only --resilience $res d0.img ;;
    decrypt) cp d.enc d0.img; cp h.enc h0.img; lb --decrypt --header h0.img --init-only --resilience $res d0.img ;;
    esac
    [ $? = 0 ] || { fail "$sc: init"; continue; }
    # Reference run, counting the writes to each file.
    for f in h d; do
        cp h0.img hr.img; cp d0.img dr.img; rm -f count
        LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/${f}r.img LB_CRASH_COUNT=$TT/count \
            lb --header hr.img --resume-only dr.img || fail "$sc: reference run"
        eval "n_$f=\$(cat count)"
    done
    if [ $mode = decrypt ]; then
        cmp -s dr.img plain.img || fail "$sc: reference decrypt differs from the plaintext"
    else
        oracle_ok hr.img dr.img || fail "$sc: reference differs from the plaintext (oracle)"
    fi
    for f in h d; do
        eval "n=\$n_$f"
        for i in $(seq 1 "$n"); do
            for torn in 0 1; do
                cp h0.img h.img; cp d0.img d.img
                LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/$f.img LB_CRASH_AT=$i LB_CRASH_TORN=$torn \
                    lb --header h.img --resume-only d.img
                [ $? = 99 ] || { fail "$sc: not killed at $f write $i"; continue; }
                points=$((points + 1))
                if in_reenc h.img; then
                    lb --header h.img --resume-only d.img ||
                        { fail "$sc: luksblk cannot finish after a kill at $f write $i torn $torn"; continue; }
                fi
                cmp -s d.img dr.img || fail "$sc: data differs after a kill at $f write $i (torn $torn)"
            done
        done
    done
    # cryptsetup finishes a sample (its resume benchmarks a new metadata
    # digest, about a second each): encrypt and decrypt killed in the
    # middle of a header commit, re-key at a torn hotzone write.
    case $mode in rekey) kps=d:1:1 ;; *) kps=h:$((n_h / 2)):0 ;; esac
    for kp in $kps; do
        IFS=: read -r f i torn <<< "$kp"
        cp h0.img h.img; cp d0.img d.img
        LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/$f.img LB_CRASH_AT=$i LB_CRASH_TORN=$torn \
            lb --header h.img --resume-only d.img
        if in_reenc h.img; then
            $CS repair --key-file k0 --header h.img d.img &&
            $CS reencrypt --resume-only --force-offline-reencrypt --resilience $res \
                --key-file k0 --header h.img d.img ||
                { fail "$sc: cryptsetup cannot finish after a kill at $f write $i"; continue; }
        fi
        cs_points=$((cs_points + 1))
        cmp -s d.img dr.img || fail "$sc: data differs after a kill at $f write $i, cryptsetup finished"
    done
    echo "$sc: $((2 * (n_h + n_d))) kill points ($n_h header, $n_d data writes)"
done

# Resilience none: a warning, and SIGTERM stops cleanly (header committed,
# no hotzone) so luksblk and cryptsetup both resume it.
for finisher in lb cs; do
    cp d.enc d.img; cp h.enc h.img
    LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_SIGNAL_AT=2 \
        "$IMG" reencrypt --object secret,id=s0,file=k0 --key-secret s0 --iter-time 1 \
        --pbkdf pbkdf2 --hotzone-size 128K --resilience none --header h.img d.img 2> err.txt
    rc=$?
    [ $rc = 2 ] || fail "none: SIGTERM did not stop it (rc $rc)"
    grep -q "warning: resilience 'none'" err.txt || fail "none: no warning"
    grep -q "in-reencryption" < <($CS luksDump h.img) && fail "none: hotzone left after SIGTERM"
    in_reenc h.img || fail "none: header not left resumable after SIGTERM"
    if [ $finisher = lb ]; then
        lb --header h.img --resume-only d.img || fail "none: luksblk cannot resume"
    else
        $CS reencrypt --resume-only --force-offline-reencrypt --resilience none \
            --key-file k0 --header h.img d.img || fail "none: cryptsetup cannot resume"
    fi
    oracle_ok h.img d.img || fail "none: plaintext differs after SIGTERM and $finisher resume"
done

echo "$points luksblk kill points, $cs_points finished by cryptsetup, $fails failures"
[ $fails = 0 ]
