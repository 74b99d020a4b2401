#!/usr/bin/env bash
# test-cryptsetup-luks2.sh: LUKS2 interop between the luksblk engine and
# cryptsetup 2.6, in both directions (issue 5).
#
#  cryptsetup -> luksblk: headers made by `cryptsetup luksFormat --type
#    luks2` (argon2id, argon2i, pbkdf2; sector 512/4096; detached and
#    attached; labels; extra keyslots from luksAddKey) open here and give
#    the volume key `luksDump --dump-volume-key` prints.
#  luksblk -> cryptsetup: headers made here pass isLuks, luksDump (without
#    being "repaired", i.e. byte-identical afterwards), open --test-passphrase,
#    dump the same volume key, and still open here after cryptsetup's
#    luksAddKey/luksKillSlot.
#  data: sectors encrypted by the engine decrypt with the dumped key by an
#    independent AES-XTS (python3 + openssl aes-*-ecb), 512-byte IV units
#    also for 4096-byte sectors (LUKS-FORMAT.md §2.3).
#
# usage: test-cryptsetup-luks2.sh path/to/luks-engine-tool
set -u
tool=$(realpath "${1:?usage: $0 luks-engine-tool}")
for t in cryptsetup openssl python3; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
dir=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-luks2-interop.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
printf 'first passphrase' > pass
printf 'second one' > pass2
printf 'third' > pass3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# cryptsetup's volume key of header $1 (keyfile $2) in hex.
cs_key() {
    cryptsetup luksDump --dump-volume-key --batch-mode --key-file "$2" "$1" |
        python3 -c '
import sys, re
t = sys.stdin.read()
m = re.search(r"MK dump:((?:\s+[0-9a-f]{2})+)", t)
print("".join(m.group(1).split()) if m else "")'
}

# Independent AES-XTS decryption of file $2 with key $1, unit size $3,
# first IV sector $4; output to $5.
xts_decrypt() {
    python3 - "$@" <<'PY'
import subprocess, sys
key, src, unit, first, dst = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
k1, k2 = key[:len(key)//2], key[len(key)//2:]
bits = len(k1) * 4
def ecb(k, data, dec):
    a = ["openssl", "enc", "-aes-%d-ecb" % bits, "-nopad", "-K", k]
    if dec:
        a.append("-d")
    return subprocess.run(a, input=data, capture_output=True, check=True).stdout
def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))
data = open(src, "rb").read()
out = bytearray()
for u in range(len(data) // unit):
    c = data[u * unit:(u + 1) * unit]
    iv = (first + u * unit // 512).to_bytes(16, "little")
    t = int.from_bytes(ecb(k2, iv, False), "little")
    tw = bytearray()
    for j in range(unit // 16):
        tw += t.to_bytes(16, "little")
        t <<= 1
        if t >> 128:
            t = (t & ((1 << 128) - 1)) ^ 0x87
    out += xor(ecb(k1, xor(c, tw), True), tw)
open(dst, "wb").write(out)
PY
}

fast_cs=(--batch-mode --key-file pass)
# Forced costs: no PBKDF benchmark, so no flakiness on a loaded machine.
argon=(--pbkdf-memory 32 --pbkdf-parallel 1 --pbkdf-force-iterations 4)

# ---- cryptsetup -> luksblk ---------------------------------------------------
# name | luksFormat arguments | detached? | sector size
# Every KDF x sector size 512/4096 x detached/attached, every other one
# with a label; then a few odd ones.
cases=()
n=0
for kdf in argon2id argon2i pbkdf2; do
    if [ $kdf = pbkdf2 ]; then kargs="--pbkdf pbkdf2 --pbkdf-force-iterations 1000"
    else kargs="--pbkdf $kdf ${argon[*]}"; fi
    for sector in 512 4096; do
        for det in 1 0; do
            n=$((n + 1))
            lab="" lname=""
            [ $((n % 2)) = 1 ] && lab=" --label MYLABEL$n" lname="-label"
            cases+=("$kdf-$sector-$([ $det = 1 ] && echo detached || echo attached)$lname|$kargs --sector-size $sector$lab|$det|$sector")
        done
    done
done
cases+=(
    "pbkdf2-512-detached-256bit|--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --sector-size 512 --key-size 256|1|512"
    "pbkdf2-sha512-1024-detached|--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --hash sha512 --sector-size 1024|1|1024"
    "pbkdf2-sha3-384-512-detached|--pbkdf pbkdf2 --pbkdf-force-iterations 1000 --hash sha3-384 --sector-size 512|1|512"
    "argon2id-2048-attached-64k-meta|--pbkdf argon2id ${argon[*]} --sector-size 2048 --luks2-metadata-size 64k|0|2048"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name args detached sector <<<"$c"
    rm -f H data
    truncate -s 20M data
    if [ "$detached" = 1 ]; then
        hdr=H; hopt=(--header H)
    else
        hdr=data; hopt=()
    fi
    # shellcheck disable=SC2086
    if ! cryptsetup luksFormat --type luks2 "${fast_cs[@]}" $args "${hopt[@]}" data; then
        fail "$name: cryptsetup luksFormat"; continue
    fi
    if ! cryptsetup luksAddKey --batch-mode --key-file pass --pbkdf pbkdf2 \
            --pbkdf-force-iterations 1000 "$hdr" pass2; then
        fail "$name: cryptsetup luksAddKey"; continue
    fi
    want=$(cs_key "$hdr" pass)
    got=$("$tool" dump-key "$hdr" pass) || { fail "$name: open"; continue; }
    got2=$("$tool" dump-key "$hdr" pass2) || { fail "$name: open slot 1"; continue; }
    if [ -n "$want" ] && [ "$want" = "$got" ] && [ "$want" = "$got2" ]; then
        ok "$name: volume key matches (both keyslots)"
    else
        fail "$name: volume key mismatch ($want / $got / $got2)"
    fi
    "$tool" dump-key "$hdr" pass3 >/dev/null 2>&1
    [ $? = 2 ] && ok "$name: wrong passphrase refused" || fail "$name: wrong passphrase"
    info=$("$tool" info "$hdr")
    grep -qx "sector-size=$sector" <<<"$info" || fail "$name: sector size ($info)"
    case $args in
    *--label*) grep -qx "label=${args##*--label }" <<<"$info" || fail "$name: label ($info)";;
    *) grep -q "^label=." <<<"$info" && fail "$name: label without --label ($info)";;
    esac
    # Data: our encryption decrypts with the dumped key independently.
    head -c 16384 /dev/urandom > plain
    off=$((3 * 4096))
    if "$tool" encrypt "$hdr" pass "$off" plain enc &&
       xts_decrypt "$want" enc "$sector" $((off / 512)) dec &&
       cmp -s plain dec; then
        ok "$name: data decrypts with the dumped key ($sector-byte sectors)"
    else
        fail "$name: data check"
    fi
done

# ---- luksblk -> cryptsetup ------------------------------------------------------
ours=(
    "argon2id-4096-detached-label|pbkdf=argon2id memory=32 parallel=1 time=4 iterations=1000 sector=4096 detached label=OURS|1|4096"
    "argon2i-512-attached|pbkdf=argon2i memory=64 parallel=1 time=4 iterations=1000 sector=512|0|512"
    "pbkdf2-512-attached-64k|pbkdf=pbkdf2 iterations=1000 sector=512 hdr-size=65536|0|512"
    "pbkdf2-2048-detached-128bit|pbkdf=pbkdf2 iterations=1000 sector=2048 detached cipher-alg=aes-128|1|2048"
    "pbkdf2-sha1-1024-detached|pbkdf=pbkdf2 iterations=1000 sector=1024 detached hash=sha1|1|1024"
)
for c in "${ours[@]}"; do
    IFS='|' read -r name args detached sector <<<"$c"
    rm -f H data
    truncate -s 20M data
    if [ "$detached" = 1 ]; then
        hdr=H; hopt=(--header H)
    else
        hdr=data; hopt=()
    fi
    # shellcheck disable=SC2086
    "$tool" create "$hdr" pass $args || { fail "$name: create"; continue; }
    [ "$detached" = 1 ] && { [ "$(stat -c %s H)" = 16777216 ] || fail "$name: header file size"; }
    cryptsetup isLuks --type luks2 "$hdr" && ok "$name: isLuks" || fail "$name: isLuks"
    sum=$(sha256sum < "$hdr")
    dump=$(cryptsetup luksDump "$hdr") || fail "$name: luksDump"
    grep -q "sector: $sector \[bytes\]" <<<"$dump" || fail "$name: luksDump sector ($dump)"
    case $args in *label=*) grep -q "^Label:.*OURS" <<<"$dump" || fail "$name: label";; esac
    if cryptsetup open --test-passphrase --key-file pass "${hopt[@]}" data; then
        ok "$name: open --test-passphrase"
    else
        fail "$name: open --test-passphrase"
    fi
    [ "$(sha256sum < "$hdr")" = "$sum" ] && ok "$name: cryptsetup left the header untouched" ||
        fail "$name: cryptsetup rewrote (repaired) our header"
    want=$("$tool" dump-key "$hdr" pass)
    [ "$(cs_key "$hdr" pass)" = "$want" ] && ok "$name: cryptsetup dumps our volume key" ||
        fail "$name: volume key differs"
    # Data encrypted here decrypts with the key cryptsetup dumped.
    head -c 16384 /dev/urandom > plain
    if "$tool" encrypt "$hdr" pass 8192 plain enc &&
       xts_decrypt "$want" enc "$sector" 16 dec && cmp -s plain dec; then
        ok "$name: data decrypts independently"
    else
        fail "$name: data check"
    fi
    # cryptsetup edits our header; we still open it.
    if cryptsetup luksAddKey --batch-mode --key-file pass --pbkdf pbkdf2 \
            --pbkdf-force-iterations 1000 "${hopt[@]}" "$hdr" pass2 &&
       [ "$("$tool" dump-key "$hdr" pass2)" = "$want" ]; then
        ok "$name: key added by cryptsetup opens here"
    else
        fail "$name: luksAddKey by cryptsetup"
    fi
    if cryptsetup luksKillSlot --batch-mode --key-file pass2 "$hdr" 0 &&
       ! "$tool" dump-key "$hdr" pass >/dev/null 2>&1 &&
       [ "$("$tool" dump-key "$hdr" pass2)" = "$want" ]; then
        ok "$name: slot killed by cryptsetup is gone here"
    else
        fail "$name: luksKillSlot by cryptsetup"
    fi
    # And keyslots we add/remove are seen by cryptsetup.
    slot=$("$tool" add-key "$hdr" pass2 pass3) || fail "$name: add-key"
    if cryptsetup open --test-passphrase --key-file pass3 "${hopt[@]}" data &&
       "$tool" remove-key "$hdr" 1 &&
       ! cryptsetup open --test-passphrase --key-file pass2 "${hopt[@]}" data 2>/dev/null &&
       cryptsetup open --test-passphrase --key-file pass3 "${hopt[@]}" data; then
        ok "$name: our add-key (slot $slot) / remove-key seen by cryptsetup"
    else
        fail "$name: our keyslot changes"
    fi
done

# ---- damaged primary copy of a cryptsetup header ----------------------------
rm -f H data
truncate -s 4M data
if cryptsetup luksFormat --type luks2 "${fast_cs[@]}" --pbkdf pbkdf2 \
        --pbkdf-force-iterations 1000 --sector-size 512 --header H data; then
    want=$(cs_key H pass)
    printf 'X' | dd of=H bs=1 seek=$((4096 + 100)) conv=notrunc status=none
    sum=$(sha256sum < H)
    got=$("$tool" dump-key H pass 2>err) || fail "damaged primary: open"
    grep -q "primary header is damaged" err || fail "damaged primary: not reported"
    [ "$got" = "$want" ] && ok "damaged primary: opened from the secondary copy" ||
        fail "damaged primary: key"
    [ "$(sha256sum < H)" = "$sum" ] && ok "damaged primary: read-only open wrote nothing" ||
        fail "damaged primary: header changed by a read-only open"
    # Our next header write repairs it; cryptsetup then needs no repair.
    "$tool" add-key H pass pass2 >/dev/null 2>&1 || fail "damaged primary: add-key"
    sum=$(sha256sum < H)
    if cryptsetup open --test-passphrase --key-file pass2 --header H data &&
       [ "$(sha256sum < H)" = "$sum" ] && [ "$("$tool" dump-key H pass 2>&1)" = "$want" ]; then
        ok "damaged primary: repaired by the next header write"
    else
        fail "damaged primary: repair"
    fi
else
    fail "damaged primary: luksFormat"
fi

echo "$fails failure(s)"
[ "$fails" = 0 ]
