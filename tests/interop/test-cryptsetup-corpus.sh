#!/usr/bin/env bash
# test-cryptsetup-corpus.sh: cryptsetup's own test images, run against
# luksblk with the expectations of cryptsetup 2.6's own test scripts
# (issue 11, part 3).
#
# The scripts (luks1-compat-test, compat-test, compat-test2,
# luks2-validation-test, api-test.c, api-test-2.c), the generators and the
# images come from Debian's source package of the installed cryptsetup,
# fetched at test time by scripts/debian-source.sh into the build dir; the
# images are also taken from $LB_CRYPTSETUP_IMAGES (default: ../shared/
# cryptsetup next to the checkout) when present, and where that copy differs
# from the package's (a newer upstream image) both are tested.  Nothing is
# copied into the source tree.  Passphrases, key files, checksums and
# verdicts are read out of the scripts at run time, never written here.
# Where the installed cryptsetup can run without device-mapper (luksDump,
# open --test-passphrase, --dump-volume-key) it cross-checks each verdict.
#
# Usage: $0 BUILD_DIR SUITE   SUITE: luks1 | compat | validation | luks2 | evil
# Prints one line per case and "SUITE: N/M cases passed"; exit 77 (skip)
# when the source package cannot be had.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR SUITE}" && pwd)
SUITE=${2:?usage: $0 BUILD_DIR SUITE}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io

skip() { echo "SKIP: $*"; exit 77; }
for t in xz tar sha256sum python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done
[ -x "$TOP/scripts/debian-source.sh" ] || skip "scripts/debian-source.sh is missing"
SRC=$BUILD/cryptsetup-src
"$TOP/scripts/debian-source.sh" cryptsetup "$SRC" tests >/dev/null ||
    skip "cryptsetup's source package is unavailable (see the message above)"
CS=$SRC/tests
SHARED=${LB_CRYPTSETUP_IMAGES:-$TOP/../shared/cryptsetup}
[ -d "$SHARED" ] || { echo "note: no image copy at $SHARED; source package images only"; SHARED=; }
HAVE_CS=0
command -v cryptsetup >/dev/null 2>&1 && HAVE_CS=1

T=$(mktemp -d "${TMPDIR:-/tmp}/lb-cscorpus.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

ncase=0 npass=0 CASE= BAD= NOTE=
begin() { CASE=$1; BAD=; NOTE=; ncase=$((ncase + 1)); }
bad() { BAD="${BAD:+$BAD; }$*"; }
end() {
    if [ -z "$BAD" ]; then
        npass=$((npass + 1))
        echo "ok    $CASE${NOTE:+ ($NOTE)}"
    else
        echo "FAIL  $CASE: $BAD"
    fi
}
finish() {
    echo "$SUITE: $npass/$ncase cases passed"
    [ "$ncase" -gt 0 ] || skip "no case ran"
    [ "$npass" = "$ncase" ]
    exit $?
}

# var SCRIPT NAME: the value of shell assignment NAME="..." in SCRIPT.
var() { sed -n "s/^$2=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$CS/$1" | head -n1; }
# cdef FILE NAME: the string of C macro NAME in FILE.
cdef() { sed -n "s/^#define $2 \"\(.*\)\"\$/\1/p" "$CS/$1" | head -n1; }
need() { [ -n "$2" ] || { echo "FAIL  cannot read $1 from cryptsetup's scripts"; exit 1; }; }

# variants NAME: "pkg" and, if the shared copy differs, "shared".
variants() {
    local v="pkg"
    if [ -n "$SHARED" ] && [ -f "$SHARED/$1" ] && ! cmp -s "$SHARED/$1" "$CS/$1"; then
        v="$v shared"
    fi
    [ -f "$CS/$1" ] || v=${SHARED:+shared}
    echo $v
}
src_of() { [ "$2" = shared ] && echo "$SHARED/$1" || echo "$CS/$1"; }

sum() { sha256sum < "$1" | cut -c1-64; }
secret() { printf '%s' "$2" > "$T/$1.pw"; }
# opts FILE PWNAME [HEADER]: luksblk image options.
opts() {
    echo "driver=luks,file.filename=$1,key-secret=$2${3:+,header.filename=$3}"
}
# lbread FILE PWNAME [HEADER]: read 512 bytes of payload (rw unless RO=1).
lbread() {
    "$IO" --object "secret,id=$2,file=$T/$2.pw" ${RO:+-r} --image-opts \
        "$(opts "$@")" -c 'read -q 0 512' > "$T/lb.out" 2>&1
}
# lbdecrypt OUT FILE PWNAME [HEADER]: the whole payload, decrypted.
lbdecrypt() {
    local out=$1
    shift
    "$IMG" convert --object "secret,id=$2,file=$T/$2.pw" --image-opts \
        "$(opts "$@")" -O raw "$out" > "$T/lb.out" 2>&1
}
lbinfo() { "$IMG" info -f luks --output=json "$1" > "$T/info.json" 2> "$T/lb.out"; }
# jq-like: the value at a dotted path of info.json's format-specific data.
field() {
    python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["format-specific"]["data"]
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v if not isinstance(v, (dict, list)) else json.dumps(v))' "$T/info.json" "$1" 2>/dev/null
}
# cs ARGS...: the installed cryptsetup on a file, without locks or dm.
cs() { cryptsetup --disable-locks --batch-mode "$@" > "$T/cs.out" 2>&1; }
err1() { tail -n1 "$T/lb.out"; }

# ---- luks1-compat-test: luks1-images.tar.xz ---------------------------------
suite_luks1() {
    local keyfile tdir want f name out
    keyfile=$(var luks1-compat-test KEYFILE)
    tdir=$(var luks1-compat-test TST_DIR)
    want=$(sed -n 's/.*"\$UUID" != "\([^"]*\)".*/\1/p' "$CS/luks1-compat-test")
    need KEYFILE "$keyfile"; need TST_DIR "$tdir"; need UUID "$want"
    command -v blkid >/dev/null || skip "blkid is not installed"
    for v in $(variants luks1-images.tar.xz); do
        rm -rf "$tdir"
        tar xJf "$(src_of luks1-images.tar.xz "$v")" --no-same-owner
        cp "$tdir/$keyfile" "$T/key.pw"
        # PASSPHRASE CHECK and ACTIVATION FS UUID CHECK, every luks1_* image.
        for f in "$tdir"/luks1_*; do
            name=$(basename "$f")
            begin "luks1 [$v] $name: key file opens, filesystem UUID $want"
            local before
            before=$(sum "$f")
            lbread "$f" key || bad "does not open: $(err1)"
            if lbdecrypt "$T/plain.raw" "$f" key; then
                out=$(blkid -p -o value -s UUID "$T/plain.raw")
                [ "$out" = "$want" ] || bad "decrypted UUID is '$out'"
            else
                bad "cannot decrypt: $(err1)"
            fi
            rm -f "$T/plain.raw"
            [ "$(sum "$f")" = "$before" ] || bad "image changed"
            if [ $HAVE_CS = 1 ]; then
                cs open --test-passphrase -d "$tdir/$keyfile" "$f" &&
                    NOTE="cryptsetup agrees" ||
                    NOTE="cryptsetup cannot check it here: $(tail -n1 "$T/cs.out")"
            fi
            end
        done
    done
}

# ---- compat-test [1]/[2] and api-test-2 UseLuks2Device --------------------------
suite_compat() {
    local pwd0 pwdw sha256 sha1 s
    pwd0=$(var compat-test PWD0); pwdw=$(var compat-test PWDW)
    sha256=$(sed -n 's/.*"\$ORG_SHA256" = \([0-9a-f]\{64\}\) .*/\1/p' "$CS/compat-test")
    sha1=$(sed -n 's/.*"\$ORG_SHA1" = \([0-9a-f]\{40\}\) .*/\1/p' "$CS/compat-test")
    need PWD0 "$pwd0"; need PWDW "$pwdw"; need ORG_SHA256 "$sha256"; need ORG_SHA1 "$sha1"
    secret p0 "$pwd0"; secret pw "$pwdw"
    xz -dc "$CS/compatimage.img.xz" > img
    xz -dc "$CS/compatv10image.img.xz" > img10

    begin "compat [1] compatimage.img: '$pwd0' opens, payload sha256 $sha256"
    lbdecrypt plain img p0 && s=$(sum plain) && [ "$s" = "$sha256" ] ||
        bad "payload sha256 ${s:-?}: $(err1)"
    [ $HAVE_CS = 0 ] || { printf '%s' "$pwd0" > k; cs open --test-passphrase -d k img; } ||
        bad "cryptsetup refuses it: $(tail -n1 "$T/cs.out")"
    end
    begin "compat [1] its header backup opens over the v1.0 image as a detached header"
    "$IMG" luksHeaderBackup --header-backup-file hdr.bak img > "$T/lb.out" 2>&1 ||
        bad "header backup: $(err1)"
    lbread img10 p0 hdr.bak || bad "$(err1)"
    end
    begin "compat [1] compatv10image.img (key material at sector 2): '$pwd0' opens, payload sha1 $sha1"
    lbdecrypt plain img10 p0 && s=$(sha1sum < plain | cut -c1-40) && [ "$s" = "$sha1" ] ||
        bad "payload sha1 ${s:-?}: $(err1)"
    [ $HAVE_CS = 0 ] || cs open --test-passphrase -d k img10 ||
        bad "cryptsetup refuses it: $(tail -n1 "$T/cs.out")"
    end
    begin "compat [1] the v1.0 image's header backup opens it as a detached header"
    rm -f hdr.bak
    "$IMG" luksHeaderBackup --header-backup-file hdr.bak img10 > "$T/lb.out" 2>&1 ||
        bad "header backup: $(err1)"
    lbread img10 p0 hdr.bak || bad "$(err1)"
    if [ $HAVE_CS = 1 ]; then
        cs luksHeaderBackup --header-backup-file cs.bak img10 &&
            cmp -s -n "$(stat -c %s hdr.bak)" hdr.bak cs.bak ||
            bad "differs from cryptsetup's luksHeaderBackup"
    fi
    end
    for f in img img10; do
        begin "compat [2] $f: '$pwdw' is refused, image unchanged"
        s=$(sum $f)
        if lbread $f pw; then bad "opens"; fi
        grep -q "Invalid password" "$T/lb.out" || bad "error: $(err1)"
        [ "$(sum $f)" = "$s" ] || bad "image changed"
        end
    done
    rm -f plain

    # api-test-2.c UseLuks2Device on IMAGE1 (compatimage2.img).
    local body key1 uuid cipher mode ksize off
    body=$(sed -n '/^static void UseLuks2Device(void)/,/^}/p' "$CS/api-test-2.c")
    key1=$(cdef api-test-2.c KEY1); uuid=$(cdef api-test-2.c DEVICE_1_UUID)
    cipher=$(sed -n 's/.*strcmp("\([^"]*\)", crypt_get_cipher(cd)).*/\1/p' <<<"$body")
    mode=$(sed -n 's/.*strcmp("\([^"]*\)", crypt_get_cipher_mode(cd)).*/\1/p' <<<"$body")
    ksize=$(sed -n 's/^\tkey_size = \([0-9]*\);/\1/p' <<<"$body" | head -n1)
    off=$(sed -n 's/.*EQ_(\([0-9]*\), crypt_get_data_offset(cd)).*/\1/p' <<<"$body")
    need KEY1 "$key1"; need DEVICE_1_UUID "$uuid"; need cipher "$cipher"
    need mode "$mode"; need key_size "$ksize"; need data_offset "$off"
    secret k1 "$key1"
    for v in $(variants compatimage2.img.xz); do
        xz -dc "$(src_of compatimage2.img.xz "$v")" > img2
        begin "api-test-2 UseLuks2Device [$v] compatimage2.img: '$key1' opens $cipher-$mode, ${ksize}-byte key, uuid $uuid, data at sector $off"
        lbread img2 k1 || bad "does not open: $(err1)"
        if lbinfo img2; then
            [ "$(field uuid)" = "$uuid" ] || bad "uuid $(field uuid)"
            [ "$(field payload-offset)" = $((off * 512)) ] || bad "offset $(field payload-offset)"
            [ "$(field cipher-alg)" = "$cipher-$((ksize * 8))" ] || bad "cipher $(field cipher-alg)"
            [ "$(field cipher-mode)-$(field ivgen-alg):$(field ivgen-hash-alg)" = "$mode" ] ||
                bad "mode $(field cipher-mode) $(field ivgen-alg)"
        else
            bad "info: $(err1)"
        fi
        # The data decrypts as with cryptsetup's volume key (oracle).
        if [ $HAVE_CS = 1 ] && cs luksDump --dump-volume-key -d k1.pw img2; then
            local vk plen
            vk=$(sed -n '/MK dump:/,$p' "$T/cs.out" | sed 's/MK dump://' | tr -d ' \t\n')
            plen=$(($(stat -c %s img2) - off * 512))
            [ $plen -gt 4096 ] && plen=4096
            lbdecrypt plain img2 k1 && head -c $plen plain > mine &&
                python3 "$HERE/luks-oracle.py" decrypt "$vk" "$cipher-$mode" img2 \
                    $((off * 512)) $plen 0 > theirs && [ -s mine ] && cmp -s mine theirs ||
                bad "payload differs from cryptsetup's volume key: $(err1)"
            rm -f plain mine theirs
        fi
        end
    done
}

# ---- luks2-validation-test: generators/generate-*.sh on luks2_valid_hdr.img ----
suite_validation() {
    local ver gen imgs n=0
    ver=$(head -n1 "$SRC/.debian-source" | tr ' ' '_')
    imgs=$BUILD/cryptsetup-corpus/luks2-images-$ver
    command -v jq >/dev/null || skip "jq is not installed (the generators need it)"
    command -v xxd >/dev/null || skip "xxd is not installed (the generators need it)"
    if [ ! -f "$imgs/.done" ]; then
        # Run every generator unmodified, as luks2-validation-test does
        # ($scr DIR DIR/luks2_valid_hdr.img from generators/), two at a
        # time: each gets its own $srcdir, so its own tmp/ directory.
        rm -rf "$imgs" gen
        mkdir -p "$imgs" gen
        cp -r "$CS/generators/." gen/
        xz -dc "$CS/luks2_valid_hdr.img.xz" > "$imgs/luks2_valid_hdr.img"
        (cd gen && ls generate-*.sh | nice xargs -P 2 -I{} sh -c \
            'd=$(mktemp -d "$PWD/../w.XXXXXX") && srcdir="$d" ./{} "$1" "$1/luks2_valid_hdr.img" ||
             { echo "generator {} failed: $?"; exit 255; }' _ "$imgs") || { echo "FAIL  generators"; exit 1; }
        touch "$imgs/.done"
    fi
    # Every RUN line of the script: R = luksDump loads it, F = refuses it.
    while read -r _ name verdict msg; do
        n=$((n + 1))
        verdict=${verdict//\"/}
        begin "validation $name: $verdict"
        cp --sparse=always "$imgs/$name" t.img || { bad "not generated"; end; continue; }
        local s rc
        s=$(sum t.img)
        lbinfo t.img
        rc=$?
        [ $rc -lt 128 ] || bad "crashed ($rc)"
        case $verdict in
        R) [ $rc = 0 ] || bad "$msg: $(err1)" ;;
        F) [ $rc != 0 ] || bad "$msg" ;;
        esac
        [ "$(sum t.img)" = "$s" ] || bad "image changed"
        if [ $HAVE_CS = 1 ]; then
            cs luksDump t.img
            rc=$?
            [ $verdict = R ] && [ $rc != 0 ] && bad "(cryptsetup refuses it)"
            [ $verdict = F ] && [ $rc = 0 ] && bad "(cryptsetup loads it)"
        fi
        end
    done < <(grep -E '^RUN[[:space:]]+[^[:space:]]+[[:space:]]+"[RF]"' "$CS/luks2-validation-test" |
             sed -E 's/^RUN[[:space:]]+([^[:space:]]+)[[:space:]]+"([RF])"[[:space:]]+"(.*)"$/RUN \1 \2 \3/')
    [ $n -gt 0 ] || { echo "FAIL  no RUN line found in luks2-validation-test"; exit 1; }
    begin "validation luks2_valid_hdr.img (the generators' base): R"
    cp --sparse=always "$imgs/luks2_valid_hdr.img" t.img
    lbinfo t.img || bad "$(err1)"
    end
}

# ---- compat-test2 (unbound keyslot, metadata sizes), api-test-2 Luks2Requirements
suite_luks2() {
    local pwd0 pwd1 pwd3 pwd4 pass s v mda
    pwd0=$(var compat-test2 PWD0); pwd1=$(var compat-test2 PWD1)
    pwd3=$(var compat-test2 PWD3); pwd4=$(var compat-test2 PWD4)
    pass=$(cdef api-test-2.c PASSPHRASE)
    need PWD1 "$pwd1"; need PWD3 "$pwd3"; need PWD4 "$pwd4"; need PASSPHRASE "$pass"
    secret p0 "$pwd0"; secret p1 "$pwd1"; secret p3 "$pwd3"; secret p4 "$pwd4"
    secret pa "$pass"
    truncate -s 1M payload

    # Luks2Requirements: load/dump unrestricted, passphrase verifies, but
    # activation (and every header change) refused; the _free twin opens.
    for v in $(variants luks2_header_requirements.tar.xz); do
        rm -f luks2_header_requirements luks2_header_requirements_free
        tar xJf "$(src_of luks2_header_requirements.tar.xz "$v")" --no-same-owner
        # As api-test-2 does, on a device with room for the payload.
        cp luks2_header_requirements req.img
        cp luks2_header_requirements_free free.img
        truncate -s +1M req.img free.img
        begin "api-test-2 Luks2Requirements [$v]: info works, '$pass' gives no data access (read-only too), no header change"
        s=$(sum req.img)
        lbinfo req.img || bad "info: $(err1)"
        [ -n "$(field requirements)" ] || bad "info shows no requirements"
        if lbread req.img pa; then bad "data access allowed"; fi
        grep -q "requirements" "$T/lb.out" || bad "error: $(err1)"
        if RO=1 lbread req.img pa; then bad "read-only access allowed"; fi
        grep -q "requirements" "$T/lb.out" || bad "read-only error: $(err1)"
        "$IMG" amend --object secret,id=pa,file=pa.pw --object secret,id=p3,file=p3.pw \
            --image-opts "$(opts req.img pa)" \
            -o state=active,new-secret=p3,iter-time=10 > "$T/lb.out" 2>&1 && bad "keyslot added"
        [ "$(sum req.img)" = "$s" ] || bad "header changed"
        [ $HAVE_CS = 0 ] || cs open --test-passphrase -d pa.pw req.img ||
            bad "cryptsetup refuses the passphrase"
        end
        begin "api-test-2 Luks2Requirements [$v]: the _free header opens with '$pass'"
        lbread free.img pa || bad "$(err1)"
        end
    done

    # compat-test2: a keyslot not assigned to the segment cannot unlock.
    for v in $(variants luks2_keyslot_unassigned.img.xz); do
        xz -dc "$(src_of luks2_keyslot_unassigned.img.xz "$v")" > keyu.img
        begin "compat-test2 unbound keyslot [$v]: '$pwd1' (keyslot 1) opens no data, header unchanged"
        s=$(sum keyu.img)
        lbinfo keyu.img || bad "info: $(err1)"
        [ "$(field digests.1.keyslots)" = "[1]" ] && [ "$(field digests.1.segments)" = "[]" ] ||
            bad "keyslot 1 is not shown unbound"
        if lbread keyu.img p1; then bad "'$pwd1' opens the data"; fi
        grep -q "Invalid password" "$T/lb.out" || bad "error: $(err1)"
        [ "$(sum keyu.img)" = "$s" ] || bad "image changed"
        [ $HAVE_CS = 0 ] || cs open -S1 --test-passphrase -d p1.pw keyu.img ||
            bad "cryptsetup refuses '$pwd1' on keyslot 1"
        [ $HAVE_CS = 0 ] || ! cs open -S1 --test-passphrase -d p0.pw keyu.img ||
            bad "cryptsetup takes '$pwd0' on keyslot 1"
        end
    done

    # compat-test2 [39]: every metadata size opens; a key added at slot 9.
    tar xJf "$(src_of luks2_mda_images.tar.xz pkg)" --no-same-owner
    for mda in $(sed -n 's/^for mda in \(.*\) ; do$/\1/p' "$CS/compat-test2"); do
        begin "compat-test2 [39] test_image_$mda: '$pwd4' opens; '$pwd3' added at slot 9 opens"
        lbread test_image_$mda p4 || bad "'$pwd4': $(err1)"
        "$IMG" amend --object secret,id=p4,file=p4.pw --object secret,id=p3,file=p3.pw \
            --image-opts "$(opts test_image_$mda p4)" \
            -o state=active,new-secret=p3,keyslot=9,iter-time=10 > "$T/lb.out" 2>&1 ||
            bad "add key: $(err1)"
        lbread test_image_$mda p4 || bad "'$pwd4' after: $(err1)"
        lbread test_image_$mda p3 || bad "'$pwd3': $(err1)"
        if [ $HAVE_CS = 1 ]; then
            cs open -S9 --test-passphrase -d p3.pw test_image_$mda || bad "cryptsetup refuses slot 9"
            cs open --test-passphrase -d p4.pw test_image_$mda || bad "cryptsetup refuses '$pwd4'"
        fi
        rm -f test_image_$mda
        end
    done

    # Only in the upstream copy (no cryptsetup 2.6 script uses it): a segment
    # cipher in the kernel's capi: notation.  cryptsetup 2.6.1 loads it and
    # verifies compat-test2's PWD1; luksblk must refuse the data clearly.
    if [ -n "$SHARED" ] && [ -f "$SHARED/luks2_invalid_cipher.img.xz" ] && [ $HAVE_CS = 1 ]; then
        xz -dc "$SHARED/luks2_invalid_cipher.img.xz" > ic.img
        begin "luks2_invalid_cipher [shared]: loads as in cryptsetup 2.6.1; data refused clearly, image unchanged"
        s=$(sum ic.img)
        cs luksDump ic.img || bad "cryptsetup does not load it"
        lbinfo ic.img || bad "info: $(err1)"
        if lbread ic.img p1; then bad "opens"; fi
        grep -q "not supported" "$T/lb.out" || bad "error: $(err1)"
        [ "$(sum ic.img)" = "$s" ] || bad "image changed"
        end
    fi

    # compat-test2 [29]: a LUKS2 header overwritten by an LVM2 PV label is
    # not LUKS until `cryptsetup repair` (isLuks fails with blkid).
    xz -dc "$(src_of blkid-luks2-pv.img.xz pkg)" > pv.img
    begin "compat-test2 [29] blkid-luks2-pv.img: not taken as LUKS (ambiguous signatures)"
    s=$(sum pv.img)
    if lbinfo pv.img; then bad "taken as LUKS"; fi
    [ "$(sum pv.img)" = "$s" ] || bad "image changed"
    [ $HAVE_CS = 0 ] || ! cs isLuks pv.img || bad "cryptsetup takes it"
    end
}

# ---- api-test.c: evil headers and valid_header_file ----------------------------
suite_evil() {
    local n name valid s
    valid=$(cdef api-test.c VALID_HEADER)
    need VALID_HEADER "$valid"
    xz -dc "$CS/$valid.xz" > "$valid"
    begin "api-test $valid: loads; restores over a copy of itself"
    lbinfo "$valid" || bad "info: $(err1)"
    cp "$valid" target
    "$IMG" header-restore -y target "$valid" > "$T/lb.out" 2>&1 || bad "restore: $(err1)"
    cmp -s target "$valid" || bad "restored bytes differ"
    end
    for n in $(sed -n 's/^#define \(EVL_HEADER_[0-9]*\) .*/\1/p' "$CS/api-test.c"); do
        name=$(cdef api-test.c "$n")
        xz -dc "$CS/$name.xz" > "$name"
        begin "api-test $name: refused (info and header restore), nothing changed"
        s=$(sum target)
        if lbinfo "$name"; then bad "info loads it"; fi
        if "$IMG" header-restore -y --force target "$name" > "$T/lb.out" 2>&1; then
            bad "restored"
        fi
        [ "$(sum target)" = "$s" ] || bad "target changed"
        [ $HAVE_CS = 0 ] || ! cs luksDump "$name" || bad "(cryptsetup loads it)"
        end
    done
}

case $SUITE in
luks1 | compat | validation | luks2 | evil) "suite_$SUITE" ;;
*) echo "unknown suite $SUITE"; exit 1 ;;
esac
finish
