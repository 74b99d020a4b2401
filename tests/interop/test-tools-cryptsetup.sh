#!/usr/bin/env bash
# The tools on volumes cryptsetup made: detached LUKS1 and LUKS2 headers
# (argon2id with tiny memory, 4096-byte sectors) are described by
# `luksblk-img info` without a passphrase and read/written by luksblk-io;
# for LUKS1, qemu-io reads back what luksblk-io wrote.
. "$(dirname "$0")/tools-lib.sh"
command -v cryptsetup >/dev/null || { echo "SKIP: cryptsetup not installed"; exit 77; }

printf abc123 > pass.txt
FSEC="--object secret,id=sec0,file=pass.txt"
truncate -s 8M p1.img p2.img
cryptsetup luksFormat --batch-mode --type luks1 --key-file pass.txt \
    --iter-time 10 --header h1.img p1.img || fail "luksFormat luks1"
cryptsetup luksFormat --batch-mode --type luks2 --key-file pass.txt \
    --pbkdf argon2id --pbkdf-memory 32 --pbkdf-parallel 1 \
    --pbkdf-force-iterations 4 \
    --sector-size 4096 --header h2.img p2.img || fail "luksFormat luks2"
ok

expect_ok $IMG info --output=json h1.img
json_is format '"luks"'
json_is format-specific.data.detached-header true
json_is format-specific.data.payload-offset 0
# LUKS2 info shows what issue 5 lists: version, label, sector size,
# keyslots with their KDF, segments, digests, detached-header.
printf second > pass2.txt
cryptsetup luksAddKey --batch-mode --key-file pass.txt --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1000 h2.img pass2.txt || fail "luksAddKey luks2"
cryptsetup config --batch-mode --label MYDISK h2.img || fail "cryptsetup config --label"
expect_ok $IMG info --output=json h2.img
json_is format-specific.data.version 2
json_is format-specific.data.label '"MYDISK"'
json_is format-specific.data.sector-size 4096
json_is format-specific.data.detached-header true
json_is format-specific.data.payload-offset 0
json_is format-specific.data.keyslots.0.kdf '"argon2id"'
json_is format-specific.data.keyslots.0.memory 32
json_is format-specific.data.keyslots.1.kdf '"pbkdf2"'
json_is format-specific.data.keyslots.1.id 1
json_is format-specific.data.segments.0.offset 0
json_is format-specific.data.segments.0.size '"dynamic"'
json_is format-specific.data.segments.0.sector-size 4096
json_is format-specific.data.segments.0.encryption '"aes-xts-plain64"'
json_is format-specific.data.digests.0.keyslots '[0, 1]'
json_is format-specific.data.digests.0.segments '[0]'
expect_ok $IMG info h2.img
has "file format: luks"
has "    detached header: true"
has_re '^    sector size: 4096$'

# Keyslot KDF parameters, in the QEMU-shaped "slots" and in "keyslots",
# as cryptsetup luksDump shows them.  An argon2 slot has no PBKDF2 "iters".
cryptsetup luksAddKey --batch-mode --key-file pass.txt --pbkdf pbkdf2 \
    --pbkdf-force-iterations 1234 --hash sha512 --key-slot 3 --header h2.img \
    p2.img pass.txt || fail "luksAddKey pbkdf2"
dump=$(cryptsetup luksDump h2.img)
dumped() {    # dumped SLOT FIELD: luksDump's value of FIELD in keyslot SLOT
    printf '%s\n' "$dump" | awk -v s="  $1: luks2" -v f="$2:" '
        $0 == s { on = 1; next } /^  [0-9]+: / { on = 0 }
        on && index($0, "\t" f) == 1 { sub(/^[^:]*: */, ""); print; exit }'
}
expect_ok $IMG info --output=json h2.img
json_is format-specific.data.slots.0.kdf '"argon2id"'
json_is format-specific.data.slots.0.time-cost "$(dumped 0 'Time cost')"
json_is format-specific.data.slots.0.memory "$(dumped 0 Memory)"
json_is format-specific.data.slots.0.parallel "$(dumped 0 Threads)"
json_is format-specific.data.slots.0.memory 32
json_get format-specific.data.slots.0.iters >/dev/null 2>&1 &&
    fail "argon2 slot shows iters: $(json_get format-specific.data.slots.0.iters)"
json_is format-specific.data.slots.1.iters 1000
json_is format-specific.data.slots.2.kdf '"pbkdf2"'
json_is format-specific.data.slots.2.kdf-hash '"sha512"'
json_is format-specific.data.slots.2.iters 1234
json_is format-specific.data.keyslots.2.id 3
json_is format-specific.data.keyslots.2.iterations 1234
json_is format-specific.data.keyslots.0.time-cost "$(dumped 0 'Time cost')"
json_is format-specific.data.keyslots.0.af-hash "\"$(dumped 0 'AF hash')\""
json_is format-specific.data.keyslots.2.af-hash "\"$(dumped 3 'AF hash')\""
json_is format-specific.data.keyslots.2.af-hash '"sha512"'
expect_ok $IMG info h2.img
has "            kdf: argon2id"
has "            time cost: $(dumped 0 'Time cost')"
has "            memory: 32"
has "            parallel: 1"
has "            kdf hash: sha512"
has "            iters: 1234"
printf '%s\n' "$out" | grep -q '^            iters: 0$' && fail "iters 0 shown: $out"
ok
cryptsetup luksKillSlot --batch-mode --key-file pass.txt h2.img 3 ||
    fail "luksKillSlot 3"

for v in 1 2; do
    O="driver=luks,file.filename=p$v.img,header.filename=h$v.img,key-secret=sec0"
    expect_ok $IO $FSEC --image-opts "$O" -c 'write -P 0x6b 4k 1M' \
        -c 'read -P 0x6b 4k 1M' -c 'aio_write -P 0x6c 2M 64k' -c aio_flush \
        -c 'read -P 0x6c 2M 64k' -c length
    has "8 MiB"
    expect_ok $IMG bench $FSEC --image-opts "$O" -c 16 -d 4 -s 64k
done
if command -v qemu-io >/dev/null; then
    expect_ok qemu-io $FSEC --image-opts \
        driver=luks,file.filename=p1.img,header.filename=h1.img,key-secret=sec0 \
        -c 'read -P 0x6b 4k 1M' -c 'read -P 0x6c 2M 64k'
fi
# cryptsetup still accepts both headers afterwards.
cryptsetup open --test-passphrase --key-file pass.txt --header h1.img p1.img &&
cryptsetup open --test-passphrase --key-file pass.txt --header h2.img p2.img ||
    fail "cryptsetup rejects its headers after use"
ok
done_ok
