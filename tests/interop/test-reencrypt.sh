#!/usr/bin/env bash
# test-reencrypt.sh: luksblk-img reencrypt against the real cryptsetup 2.6
# (issue 12), both ways, on plain files (--force-offline-reencrypt,
# --disable-locks, pbkdf2 with 1000 iterations for speed):
#   - luksblk encrypts / re-keys / decrypts, cryptsetup reads and finishes;
#   - cryptsetup starts (--init-only, or killed mid-hotzone) and luksblk
#     recovers and finishes; luksblk starts or is killed and cryptsetup
#     (repair, reencrypt --resume-only) finishes;
#   - mid-operation headers written by luksblk pass cryptsetup luksDump
#     and its validation (including the reencryption metadata digest);
#   - bad input: one clear error, header and data byte-identical.
# The plaintext is checked against the original after every round trip:
# cryptsetup's decrypt gives it back byte for byte, or luksblk's decrypt,
# itself checked against cryptsetup's volumes here.
# Usage: $0 BUILD_DIR CRASH_SHIM
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR CRASH_SHIM}" && pwd)
SHIM=$(realpath "${2:?usage: $0 BUILD_DIR CRASH_SHIM}")
command -v cryptsetup >/dev/null || { echo "SKIP: cryptsetup not installed"; exit 77; }
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io
T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-reenc.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
fails=0 checks=0
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }
ok() { checks=$((checks + 1)); }

printf 'old pass' > k0
printf 'new pass' > k1
printf 'wrong' > kw
OBJS="--object secret,id=s0,file=k0 --object secret,id=s1,file=k1 --object secret,id=sw,file=kw"
CS="cryptsetup -q --disable-locks"
CSF="$CS --pbkdf pbkdf2 --pbkdf-force-iterations 1000"
# lb ARGS...: luksblk-img reencrypt, fast KDFs, 512 KiB hotzones.
lb() { "$IMG" reencrypt $OBJS --iter-time 1 --pbkdf pbkdf2 -q --hotzone-size 512K "$@"; }
head -c 4M /dev/urandom > plain.img

# cs_decrypt HDR DATA KEYFILE: cryptsetup decrypts (finishing whatever is
# in progress first) and the data must be the original plaintext.
cs_decrypt() {
    local what=$1; shift
    if $CS luksDump "$1" | grep -q online-reencrypt; then
        $CS repair --key-file "$3" --header "$1" "$2" || { fail "$what: cryptsetup repair"; return; }
        $CS reencrypt --resume-only --force-offline-reencrypt --key-file "$3" \
            --header "$1" "$2" || { fail "$what: cryptsetup resume"; return; }
    fi
    $CS reencrypt --decrypt --force-offline-reencrypt --key-file "$3" \
        --header "$1" "$2" >/dev/null || { fail "$what: cryptsetup decrypt"; return; }
    cmp -s "$2" plain.img && ok || fail "$what: plaintext differs after cryptsetup decrypt"
}
# lb_plain WHAT HDR DATA SECRET: luksblk decrypts (checked against
# cryptsetup's decrypt in part 4) and the data must be the plaintext.
lb_plain() {
    lb --decrypt --header "$2" --key-secret "$4" "$3" || { fail "$1: luksblk decrypt"; return; }
    cmp -s "$3" plain.img && ok || fail "$1: plaintext differs after luksblk decrypt"
}
# cs_valid HDR: cryptsetup accepts the header (luksDump validates the JSON).
cs_valid() {
    $CS luksDump "$2" > dump.txt 2>&1 && ok || { cat dump.txt; fail "$1: cryptsetup luksDump refuses the header"; }
}

# 1. luksblk encrypts in place under a new detached header; cryptsetup
#    reads it and decrypts it back.
for res in checksum journal none; do
    cp plain.img d.img; rm -f h.img
    lb --encrypt --header h.img --key-secret s0 --resilience $res d.img 2>lb.err ||
        { cat lb.err; fail "encrypt $res"; continue; }
    [ "$res" = none ] && { grep -q "warning: resilience 'none'" lb.err && ok || fail "none: no warning"; }
    [ "$(stat -c %a h.img)" = 600 ] && ok || fail "header mode not 0600"
    $CS open --test-passphrase --key-file k0 --header h.img d.img && ok || fail "encrypt $res: cryptsetup cannot unlock"
    cmp -s d.img plain.img && fail "encrypt $res: data unchanged"
    if [ $res = checksum ]; then
        cs_decrypt "encrypt $res" h.img d.img k0
    else
        lb_plain "encrypt $res" h.img d.img s0
    fi
done

# 2. cryptsetup --init-only, luksblk runs it; luksblk --init-only,
#    cryptsetup runs it (each validates the other's metadata digest).
cp plain.img d.img; rm -f h.img
$CSF reencrypt --encrypt --type luks2 --header h.img --init-only --key-file k0 d.img || fail "cs init-only"
lb --header h.img --key-secret s0 d.img && ok || fail "luksblk resumes cryptsetup's init-only encrypt"
lb_plain "cs init, lb encrypt" h.img d.img s0

cp plain.img d.img; rm -f h.img
lb --encrypt --header h.img --key-secret s0 --init-only d.img && ok || fail "lb init-only encrypt"
cmp -s d.img plain.img && ok || fail "init-only changed the data"
cs_valid "lb init-only encrypt" h.img
$CS luksDump h.img | grep -q "online-reencrypt-v2" && ok || fail "no requirement after init-only"
$CS reencrypt --resume-only --force-offline-reencrypt --key-file k0 --header h.img d.img && ok ||
    fail "cryptsetup resumes luksblk's init-only encrypt"
cs_decrypt "lb init, cs encrypt" h.img d.img k0

# 3. re-key a cryptsetup volume with every resilience; the new key differs,
#    the passphrase still opens, cryptsetup decrypts to the original.
cp plain.img d.img; rm -f h.img
$CSF reencrypt --encrypt --type luks2 --header h.img --key-file k0 --sector-size 512 d.img || fail "cs encrypt"
vk() { $CS luksDump --dump-volume-key --key-file "$2" "$1" | sed -n '/MK dump:/,$p' | tr -d ' \t\n'; }
for res in checksum journal none; do
    before=$(vk h.img k0)
    lb --header h.img --key-secret s0 --resilience $res d.img 2>/dev/null && ok || fail "re-key $res"
    [ "$(vk h.img k0)" != "$before" ] && ok || fail "re-key $res: volume key unchanged"
    cs_valid "re-key $res" h.img
done
# new cipher parameters and a new passphrase
lb --header h.img --key-secret s0 --new-key-secret s1 --key-size 256 --sector-size 4096 d.img && ok ||
    fail "re-key to 256 bits, 4096-byte sectors, new passphrase"
$CS open --test-passphrase --key-file k1 --header h.img d.img && ok || fail "new passphrase does not open"
$CS open --test-passphrase --key-file k0 --header h.img d.img 2>/dev/null && fail "old passphrase still opens" || ok
$CS luksDump h.img | grep -q "sector: 4096" && ok || fail "sector size not 4096"
cs_decrypt "re-keys" h.img d.img k1

# 4. luksblk decrypts a cryptsetup volume (detached header).
cp plain.img d.img; rm -f h.img
$CSF reencrypt --encrypt --type luks2 --header h.img --key-file k0 d.img || fail "cs encrypt"
lb --decrypt --header h.img --key-secret s0 d.img && ok || fail "lb decrypt"
cmp -s d.img plain.img && ok || fail "lb decrypt: plaintext differs"
cs_valid "decrypted" h.img

# 5. kills: luksblk killed at a hotzone data write (whole or torn),
#    cryptsetup repairs and finishes; cryptsetup killed, luksblk repairs
#    and finishes.  (test-reencrypt-crash.sh kills at every write.)
TT=$(pwd -P)
cp plain.img d.enc; rm -f h.enc
$CSF reencrypt --encrypt --type luks2 --header h.enc --key-file k0 d.enc
# start MODE: fresh files for MODE; $args/$cargs its luksblk/cryptsetup flags.
start() {
    rm -f h.img
    case $1 in
    encrypt) cp plain.img d.img; args="--encrypt"; cargs="--encrypt --type luks2" ;;
    rekey) cp d.enc d.img; cp h.enc h.img; args=""; cargs="" ;;
    decrypt) cp d.enc d.img; cp h.enc h.img; args="--decrypt"; cargs="--decrypt" ;;
    esac
}
for run in encrypt:0 rekey:0 rekey:1 decrypt:0 decrypt:1; do
    mode=${run%:*} torn=${run#*:}
    start $mode
    LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_CRASH_AT=3 LB_CRASH_TORN=$torn \
        "$IMG" reencrypt $OBJS --iter-time 1 --pbkdf pbkdf2 -q --hotzone-size 512K \
        $args --header h.img --key-secret s0 d.img
    [ $? = 99 ] && ok || fail "lb $mode not killed"
    cs_valid "lb $mode killed" h.img
    grep -q "in-reencryption" dump.txt && ok || fail "lb $mode killed: no hotzone in the header"
    $CS repair --key-file k0 --header h.img d.img &&
    $CS reencrypt --resume-only --force-offline-reencrypt --resilience checksum \
        --key-file k0 --header h.img d.img || fail "cryptsetup finishes lb's killed $mode"
    if [ $mode = decrypt ]; then
        cmp -s d.img plain.img && ok || fail "lb decrypt killed (torn $torn), cs finished: plaintext differs"
    else
        lb_plain "lb $mode killed (torn $torn), cs finishes" h.img d.img s0
    fi
done
for mode in encrypt rekey decrypt; do
    start $mode
    LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_CRASH_AT=3 \
        $CSF reencrypt $cargs --force-offline-reencrypt --hotzone-size 512K \
        --header h.img --key-file k0 d.img
    [ $? = 99 ] && ok || fail "cs $mode not killed"
    lb --header h.img --key-secret s0 --repair d.img && ok || fail "lb repairs cs $mode"
    $CS luksDump h.img | grep -q "in-reencryption" && fail "lb repair left the hotzone" || ok
    lb --header h.img --key-secret s0 --resume-only d.img && ok || fail "lb finishes cs $mode"
    if [ $mode = decrypt ]; then
        cmp -s d.img plain.img && ok || fail "cs decrypt killed, lb finished: plaintext differs"
    else
        lb_plain "cs $mode killed, lb finishes" h.img d.img s0
    fi
done

# 7. the luks driver on a half-converted volume: a clean (paused) header
#    reads as the plaintext through luksblk-img convert and takes writes
#    across the new/old boundary; a crashed header is recovered at open.
OPTS() { echo "driver=luks,file.filename=d.img,header.filename=h.img,key-secret=s0"; }
for mode in encrypt rekey decrypt; do
    start $mode
    LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_SIGNAL_AT=3 \
        "$IMG" reencrypt $OBJS --iter-time 1 --pbkdf pbkdf2 -q --hotzone-size 512K \
        $args --header h.img --key-secret s0 d.img
    [ $? = 2 ] && ok || fail "$mode: SIGTERM did not pause it"
    $CS luksDump h.img | grep -q online-reencrypt && ok || fail "$mode: not paused mid-way"
    rm -f back.raw
    "$IMG" convert $OBJS --image-opts "$(OPTS)" -O raw back.raw && cmp -s back.raw plain.img && ok ||
        fail "$mode: paused volume does not read as the plaintext through the driver"
    # 64 KiB across the boundary at 1.5 MiB (new below, old above when forward)
    "$IO" $OBJS --image-opts "$(OPTS)" -c 'write -P 0x5a 1536k 64k' -c 'write -P 0x33 3968k 128k' >/dev/null &&
        ok || fail "$mode: write to a paused volume"
    python3 -c '
import sys
b = bytearray(open("plain.img", "rb").read())
b[1536 * 1024:1600 * 1024] = b"\x5a" * 65536
b[3968 * 1024:4096 * 1024] = b"\x33" * 131072
open("expect.img", "wb").write(b)'
    lb --header h.img --key-secret s0 --resume-only d.img && ok || fail "$mode: resume after driver writes"
    rm -f back.raw
    if [ $mode = decrypt ]; then cp d.img back.raw; else
        "$IMG" convert $OBJS --image-opts "$(OPTS)" -O raw back.raw; fi
    cmp -s back.raw expect.img && ok || fail "$mode: data written mid-reencryption lost or wrong"
done
# A crashed hotzone (killed mid data write, torn) is recovered by the open.
start rekey
LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_CRASH_AT=3 LB_CRASH_TORN=1 lb --header h.img --key-secret s0 d.img
$CS luksDump h.img | grep -q in-reencryption && ok || fail "no crashed hotzone to recover"
"$IO" $OBJS --image-opts "$(OPTS)" -c 'read 0 4k' >/dev/null && ok || fail "driver open of a crashed header"
$CS luksDump h.img | grep -q in-reencryption && fail "the driver did not recover the hotzone" || ok
rm -f back.raw
"$IMG" convert $OBJS --image-opts "$(OPTS)" -O raw back.raw && cmp -s back.raw plain.img && ok ||
    fail "recovered volume does not read as the plaintext"

# 6. bad input: one error line, header and data unchanged.
# same_after WHAT PATTERN ARGS...: luksblk fails with PATTERN, nothing changes.
same_after() {
    local what=$1 pat=$2; shift 2
    cp h.img h.before; cp d.img d.before
    lb "$@" > out.txt 2> err.txt && { fail "$what: succeeded"; return; }
    [ "$(grep -c . err.txt)" = 1 ] && grep -Eq -- "$pat" err.txt && ok ||
        fail "$what: expected one error matching '$pat', got: $(cat err.txt)"
    cmp -s h.img h.before && cmp -s d.img d.before && ok || fail "$what: header or data changed"
}
cp plain.img d.img; rm -f h.img
$CSF reencrypt --encrypt --type luks2 --header h.img --key-file k0 d.img
same_after "wrong passphrase (re-key)" "Invalid password" --header h.img --key-secret sw d.img
same_after "wrong passphrase (decrypt)" "Invalid password" --decrypt --header h.img --key-secret sw d.img
same_after "resume without reencryption" "not in reencryption" --resume-only --header h.img --key-secret s0 d.img
same_after "encrypt an existing LUKS volume" "already holds a LUKS volume" --encrypt --header h.img --key-secret s0 d.img
lb --header h.img --key-secret s0 --init-only d.img || fail "init-only re-key"
same_after "wrong passphrase (resume)" "Invalid password" --resume-only --header h.img --key-secret sw d.img
same_after "init twice" "already initialized" --init-only --header h.img --key-secret s0 d.img
# edit HDR PYTHON: change the JSON of both copies (valid checksums).
edit() {
    python3 - "$1" "$2" <<'PY'
import hashlib, json, struct, sys
p, expr = sys.argv[1], sys.argv[2]
b = bytearray(open(p, "rb").read())
hs = struct.unpack(">Q", b[8:16])[0]
j = json.loads(bytes(b[4096:hs]).split(b"\0")[0])
ks = [k for k in j["keyslots"].values() if k["type"] == "reencrypt"][0]
exec(expr)
t = json.dumps(j, separators=(",", ":")).encode()
for off in (0, hs):
    b[off + 4096:off + hs] = t + bytes(hs - 4096 - len(t))
    b[off + 448:off + 512] = bytes(64)
    b[off + 448:off + 480] = hashlib.sha256(bytes(b[off:off + hs])).digest()
open(p, "wb").write(b)
PY
}
cp h.img h.good
edit h.img 'ks["direction"] = "backward"'
same_after "metadata digest does not verify" "Reencryption metadata is invalid" --header h.img --key-secret s0 d.img
cp h.good h.img; edit h.img 'ks["mode"] = "scramble"'
same_after "unknown mode" "unknown reencryption mode" --header h.img --key-secret s0 d.img
cp h.good h.img; edit h.img 'ks["area"]["type"] = "magic"'
same_after "unknown area type" "unknown reencryption area type" --header h.img --key-secret s0 d.img
cp h.good h.img; edit h.img 'j["config"]["requirements"]["mandatory"].append("future-feature")'
same_after "unknown requirement" "unmet requirements" --header h.img --key-secret s0 d.img
cp h.good h.img
LD_PRELOAD=$SHIM LB_CRASH_FILE=$TT/d.img LB_CRASH_AT=4 lb --header h.img --key-secret s0 d.img
truncate -s 1M d.img
same_after "payload smaller than the segments" "outside the data device" --header h.img --key-secret s0 d.img

# --encrypt --header naming an existing non-LUKS file (the data disk by
# mistake) is refused; so is a decrypt that would need a data shift.
cp plain.img x.img; cp plain.img y.img
lb --encrypt --header x.img --key-secret s0 y.img 2> err.txt && fail "encrypt over a non-empty header file"
grep -q "refusing to overwrite" err.txt && cmp -s x.img plain.img && cmp -s y.img plain.img && ok ||
    fail "encrypt over a non-empty header file: $(cat err.txt)"
truncate -s 20M a.img
$CSF luksFormat --type luks2 a.img k0 && cp a.img a.before
lb --decrypt --key-secret s0 a.img 2> err.txt && fail "attached decrypt without data shift"
grep -q "needs a data shift" err.txt && cmp -s a.img a.before && ok ||
    fail "attached decrypt: $(cat err.txt)"
# An attached header re-keys in place (header and data in one file).
lb --key-secret s0 a.img && ok || fail "attached re-key"
$CS open --test-passphrase --key-file k0 a.img && ok || fail "attached re-key: cryptsetup cannot unlock"

echo "$checks checks, $fails failures"
[ $fails = 0 ]
