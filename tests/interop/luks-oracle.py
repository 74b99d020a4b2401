#!/usr/bin/env python3
"""luks-oracle.py: decrypt LUKS payload sectors independently of luksblk.

An oracle for the interop tests: given the volume key (as printed by
`cryptsetup luksDump --dump-volume-key`), it decrypts payload sectors with
dm-crypt semantics (LUKS-FORMAT.md §2) using only `openssl enc -aes-*-ecb`
for the block cipher, so no luksblk code is involved.  XTS tweaks, CBC
chaining and the plain/plain64/essiv IVs are computed here.

  luks-oracle.py decrypt KEYHEX SPEC FILE OFFSET LENGTH FIRST_SECTOR
      writes LENGTH decrypted bytes read at byte OFFSET of FILE, whose
      first 512-byte unit has IV sector FIRST_SECTOR, to stdout.
  SPEC: aes-xts-plain64, aes-xts-plain, aes-cbc-plain64, aes-cbc-plain,
        aes-cbc-essiv:sha256.
"""
import hashlib
import subprocess
import sys

SECTOR = 512


def ecb(key, data, decrypt):
    """AES-ECB over whole 16-byte blocks through the openssl CLI."""
    args = ["openssl", "enc", "-aes-%d-ecb" % (len(key) * 8), "-K",
            key.hex(), "-nopad"]
    if decrypt:
        args.append("-d")
    out = subprocess.run(args, input=data, stdout=subprocess.PIPE,
                         check=True).stdout
    assert len(out) == len(data)
    return out


def xor(a, b):
    n = len(a)
    return (int.from_bytes(a, "little") ^
            int.from_bytes(b, "little")).to_bytes(n, "little")


def iv_bytes(ivgen, sector, key):
    if ivgen == "plain64":
        return sector.to_bytes(8, "little") + bytes(8)
    if ivgen == "plain":
        return (sector & 0xFFFFFFFF).to_bytes(4, "little") + bytes(12)
    raise SystemExit("unsupported ivgen " + ivgen)


def ivs(ivgen, key, first, n):
    """IVs for n sectors starting at sector first."""
    if ivgen.startswith("essiv:"):
        salt = hashlib.new(ivgen[6:], key).digest()
        plain = b"".join(iv_bytes("plain64", first + i, key)
                         for i in range(n))
        enc = ecb(salt, plain, False)
        return [enc[16 * i:16 * i + 16] for i in range(n)]
    return [iv_bytes(ivgen, first + i, key) for i in range(n)]


def gf_double(t):
    """Multiply an XTS tweak by x in GF(2^128) (little-endian, IEEE 1619)."""
    v = int.from_bytes(t, "little") << 1
    if v >> 128:
        v = (v & ((1 << 128) - 1)) ^ 0x87
    return v.to_bytes(16, "little")


def decrypt_xts(key, ivgen, data, first):
    k1, k2 = key[:len(key) // 2], key[len(key) // 2:]
    n = len(data) // SECTOR
    t0 = ecb(k2, b"".join(ivs(ivgen, key, first, n)), False)
    tweaks = []
    for s in range(n):
        t = t0[16 * s:16 * s + 16]
        for _ in range(SECTOR // 16):
            tweaks.append(t)
            t = gf_double(t)
    tw = b"".join(tweaks)
    return xor(ecb(k1, xor(data, tw), True), tw)


def decrypt_cbc(key, ivgen, data, first):
    n = len(data) // SECTOR
    d = ecb(key, data, True)
    out = bytearray()
    for s, iv in enumerate(ivs(ivgen, key, first, n)):
        c = data[s * SECTOR:(s + 1) * SECTOR]
        prev = iv + c[:-16]
        out += xor(d[s * SECTOR:(s + 1) * SECTOR], prev)
    return bytes(out)


def main():
    if len(sys.argv) != 8 or sys.argv[1] != "decrypt":
        raise SystemExit(__doc__)
    key = bytes.fromhex(sys.argv[2])
    cipher, chain, ivgen = sys.argv[3].split("-", 2)
    if cipher != "aes":
        raise SystemExit("only aes is supported")
    off, length, first = (int(x, 0) for x in sys.argv[5:8])
    assert length % SECTOR == 0
    with open(sys.argv[4], "rb") as f:
        f.seek(off)
        data = f.read(length)
    assert len(data) == length, "short read"
    if chain == "xts":
        out = decrypt_xts(key, ivgen, data, first)
    elif chain == "cbc":
        out = decrypt_cbc(key, ivgen, data, first)
    else:
        raise SystemExit("unsupported chain mode " + chain)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
