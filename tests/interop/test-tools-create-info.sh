#!/usr/bin/env bash
# luksblk-img create + info: detached and attached LUKS1 volumes, human and
# JSON output with QEMU's field names, `-o help`, raw images; cryptsetup
# (when installed) recognises the headers, not the detached payload.
. "$(dirname "$0")/tools-lib.sh"

# Detached header: the filename is the header file; no size is needed.
expect_ok $IMG create $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10 hdr.img
has "Formatting 'hdr.img', fmt=luks size=-1 key-secret=sec0 iter-time=10 detached-header=true"
expect_ok $IMG create -q -f raw payload.img 4M
[ -z "$out" ] || fail "-q printed: $out"
[ "$(stat -c %s payload.img)" = 4194304 ] || fail "raw size"
ok

# info on the bare header, without a secret.
expect_ok $IMG info --output=json hdr.img
json_is format '"luks"'
json_is filename '"hdr.img"'
json_is dirty-flag false
json_is encrypted true
json_is format-specific.type '"luks"'
json_is format-specific.data.detached-header true
json_is format-specific.data.payload-offset 0
json_is format-specific.data.cipher-alg '"aes-256"'
json_is format-specific.data.cipher-mode '"xts"'
json_is format-specific.data.ivgen-alg '"plain64"'
json_is format-specific.data.hash-alg '"sha256"'
json_is format-specific.data.slots.0.active true
json_is format-specific.data.slots.1.active false
[ "$(json_get format-specific.data.slots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 8 ] ||
    fail "8 slots"
has_re '"virtual-size": [0-9]+,'
has_re '"actual-size": [0-9]+,'
has_re '^    "format-specific": \{$'

expect_ok $IMG info hdr.img
has "image: hdr.img"
has "file format: luks"
has "encrypted: yes"
has "Format specific information:"
has "    detached header: true"
has "    payload offset: 0"
has "    cipher alg: aes-256"
has "    slots:"
has "        [0]:"
has "            active: true"
has "            stripes: 4000"
has "Child node '/file':"
has "    protocol type: file"

# info through the header on the payload, the DESIGN.md example verbatim.
expect_ok $IMG info $SEC --image-opts \
    driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0
has "file format: luks"
has "virtual size: 4 MiB (4194304 bytes)"
has "    detached header: true"
expect_ok $IMG info --output=json $SEC --image-opts \
    driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0
json_is virtual-size 4194304
json_is format-specific.data.payload-offset 0

# Attached volume: QEMU's layout for a 512-bit key puts the payload at
# 2068480 bytes.
expect_ok $IMG create $SEC -f luks -o key-secret=sec0,iter-time=10 disk.img 4M
has "Formatting 'disk.img', fmt=luks size=4194304 key-secret=sec0 iter-time=10"
expect_ok $IMG info --output=json disk.img
json_is virtual-size 4194304
json_is format-specific.data.detached-header false
json_is format-specific.data.payload-offset 2068480
json_is children.0.name '"file"'
json_is children.0.info.format '"file"'
json_is children.0.info.virtual-size $((4194304 + 2068480))
expect_ok $IMG info disk.img
has "virtual size: 4 MiB (4194304 bytes)"
has "    detached header: false"
has "    payload offset: 2068480"

# Other ciphers and hashes reach the header.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1,detached-header=on h2.img
expect_ok $IMG info --output=json h2.img
json_is format-specific.data.cipher-alg '"aes-128"'
json_is format-specific.data.cipher-mode '"cbc"'
json_is format-specific.data.ivgen-alg '"essiv"'
json_is format-specific.data.hash-alg '"sha1"'

# raw images
expect_ok $IMG info --output=json payload.img
json_is format '"raw"'
json_is virtual-size 4194304
expect_ok $IMG info -f raw payload.img
has "file format: raw"
has "virtual size: 4 MiB (4194304 bytes)"

# -o help lists QEMU's luks options.
expect_ok $IMG create -f luks -o help
has "Supported luks options:"
has_re '^  key-secret=<str> +- '
has_re '^  detached-header=<bool \(on/off\)> - '
has_re '^  iter-time=<num> +- '

# Usage errors: one line plus the hint, non-zero.
run $IMG create -f luks $SEC -o key-secret=sec0,iter-time=10 nosize.img
[ "$rc" = 1 ] && printf '%s' "$err" | grep -q "needs a size parameter" ||
    fail "missing size: rc=$rc $err"
[ ! -e nosize.img ] || fail "nosize.img created"
ok
run $IMG frob
[ "$rc" = 1 ] && printf '%s' "$err" | grep -q "Command not found: frob" ||
    fail "unknown command"
ok
run $IMG info --output=xml hdr.img
[ "$rc" = 1 ] && printf '%s' "$err" | grep -q "expects 'human' or 'json'" ||
    fail "--output=xml"
ok

# qemu-img info describes the same images with the same JSON.
if command -v qemu-img >/dev/null; then
    for args in "disk.img" "--image-opts driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=sec0"; do
        expect_ok $IMG info --output=json $SEC $args
        mine=$out
        expect_ok qemu-img info --output=json $SEC $args
        python3 - "$mine" "$out" <<'PY' || fail "qemu-img info differs for $args"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k in ("virtual-size", "format", "encrypted", "dirty-flag", "format-specific"):
    if a.get(k) != b.get(k):
        sys.exit("%s: luksblk %r, qemu %r" % (k, a.get(k), b.get(k)))
PY
        ok
    done
    # On a plain attached image the output is identical, line for line.
    for o in human json; do
        expect_ok $IMG info --output=$o disk.img
        mine=$out
        expect_ok qemu-img info --output=$o disk.img
        [ "$mine" = "$out" ] ||
            fail "info --output=$o differs from qemu-img: $(diff <(echo "$mine") <(echo "$out"))"
        ok
    done
    # File names that are not ASCII or not even UTF-8: QEMU's JSON escapes
    # (\uXXXX, U+FFFD for a stray byte), raw bytes in the human form.
    for f in "$(printf 'n\xff\xfe.img')" "$(printf 'e\xc3\xa9\x01\x7f.img')"; do
        expect_ok $IMG create -q -f raw "$f" 64k
        for o in human json; do
            expect_ok $IMG info --output=$o "$f"
            mine=$(printf '%s\n' "$out" | grep -v '^disk size\|actual-size')
            expect_ok qemu-img info --output=$o "$f"
            theirs=$(printf '%s\n' "$out" | grep -v '^disk size\|actual-size')
            [ "$mine" = "$theirs" ] ||
                fail "info --output=$o of a non-ASCII name differs from qemu-img: $(diff <(echo "$mine") <(echo "$theirs"))"
            ok
        done
    done
else
    echo "note: qemu-img not installed, skipping the QEMU comparison"
fi

# cryptsetup agrees: the header is LUKS, the detached payload is not.
if command -v cryptsetup >/dev/null; then
    cryptsetup isLuks hdr.img || fail "cryptsetup isLuks hdr.img"
    cryptsetup isLuks disk.img || fail "cryptsetup isLuks disk.img"
    ! cryptsetup isLuks payload.img || fail "payload looks like LUKS"
    printf abc123 > pass.txt
    cryptsetup open --test-passphrase --key-file pass.txt \
        --header hdr.img payload.img || fail "test-passphrase"
    ok
else
    echo "note: cryptsetup not installed, skipping its checks"
fi
# An empty qcow2 image, as QEMU's luks-detached-header test makes for a
# detached payload: QEMU's qemu-img reads it as a clean qcow2 image.
expect_ok $IMG create -f qcow2 empty.qcow2 128M
has "Formatting 'empty.qcow2', fmt=qcow2 size=134217728"
[ "$(head -c 4 empty.qcow2 | od -An -tx1 | tr -d ' ')" = 514649fb ] ||
    fail "qcow2 magic"
[ "$(stat -c %s empty.qcow2)" = 196616 ] || fail "qcow2 file length"
expect_err "^luksblk-img: bad.qcow2: Invalid parameter 'cluster_size'$" \
    $IMG create -f qcow2 -o cluster_size=4096 bad.qcow2 1M
[ ! -e bad.qcow2 ] || fail "a refused qcow2 create left a file"
if command -v qemu-img >/dev/null; then
    qemu-img check -f qcow2 empty.qcow2 >/dev/null || fail "qemu-img check"
    [ "$(qemu-img info -f qcow2 --output=json empty.qcow2 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" = 134217728 ] ||
        fail "qcow2 virtual size"
    ok
fi
# A passphrase that is not UTF-8 is refused as QEMU refuses it, and the
# image file is removed, even one that existed before (QEMU's 282).
printf '\072\074\073\377' > nonutf8.key
for pre in no yes; do
    rm -f bad.luks
    [ $pre = no ] || touch bad.luks
    expect_err "^luksblk-img: bad.luks: Data from secret k8 is not valid UTF-8\$" \
        $IMG create -f luks --object secret,id=k8,file=nonutf8.key \
        -o key-secret=k8,iter-time=10 bad.luks 4M
    [ ! -e bad.luks ] || fail "a failed create left bad.luks (pre-existing: $pre)"
done
ok
# measure: what a luks image of a size needs, as qemu-img measure says and
# as create then makes (QEMU's 288); from --size or an input image.
expect_ok $IMG measure $SEC -O luks -o key-secret=sec0,iter-time=10 --size 64M
has "required size: 69177344"
has "fully allocated size: 69177344"
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 m.luks 64M
[ "$(stat -c %s m.luks)" = 69177344 ] || fail "measure vs create"
expect_ok $IMG create -q -f raw m.raw 64M
expect_ok $IMG measure $SEC -O luks -o key-secret=sec0 --output=json -f raw m.raw
json_is required 69177344
json_is fully-allocated 69177344
expect_err "^luksblk-img: No secret with id 'nope'" \
    $IMG measure -O luks -o key-secret=nope --size 1M
if command -v qemu-img >/dev/null; then
    # iter-time=10: qemu-img measure runs a PBKDF benchmark (2 s by default)
    for o in key-secret=sec0,iter-time=10 \
             key-secret=sec0,iter-time=10,cipher-alg=aes-128,cipher-mode=cbc; do
        [ "$($IMG measure $SEC -O luks -o $o --size 1G)" = \
          "$(qemu-img measure $SEC -O luks -o $o --size 1G)" ] ||
            fail "measure -o $o differs from qemu-img"
    done
    ok
fi
done_ok
