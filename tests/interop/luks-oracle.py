#!/usr/bin/env python3
"""luks-oracle.py: decrypt LUKS payload sectors independently of luksblk.

An oracle for the interop tests: given the volume key (as printed by
`cryptsetup luksDump --dump-volume-key`), it decrypts payload sectors with
dm-crypt semantics (LUKS-FORMAT.md §2) using only `openssl enc -CIPHER-ecb`
for the block cipher, so no luksblk code is involved.  XTS tweaks, CBC
chaining, CTR counters and the IVs are computed here.

  luks-oracle.py decrypt KEYHEX SPEC FILE OFFSET LENGTH FIRST_SECTOR
      writes LENGTH decrypted bytes read at byte OFFSET of FILE, whose
      first 512-byte unit has IV sector FIRST_SECTOR, to stdout.
  SPEC: CIPHER-CHAIN[-IVGEN] with CIPHER aes or camellia, CHAIN xts, cbc,
        ecb, ctr, cfb or ofb, IVGEN plain, plain64, plain64be, benbi, null, eboiv
        (cbc) or essiv:HASH (e.g. aes-xts-plain64, camellia-cbc-essiv:sha256).
"""
import hashlib
import subprocess
import sys

SECTOR = 512


CIPHER = "aes"


def ecb(key, data, decrypt):
    """CIPHER in ECB mode over whole 16-byte blocks (the openssl CLI)."""
    args = ["openssl", "enc", "-%s-%d-ecb" % (CIPHER, len(key) * 8), "-K",
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
    if ivgen == "plain64be":
        return bytes(8) + sector.to_bytes(8, "big")
    if ivgen == "benbi":    # 1-based count of 16-byte blocks, big endian
        return bytes(8) + ((sector << 5) + 1).to_bytes(8, "big")
    if ivgen == "null":
        return bytes(16)
    raise SystemExit("unsupported ivgen " + ivgen)


def ivs(ivgen, key, first, n):
    """IVs for n sectors starting at sector first."""
    if ivgen.startswith("essiv:"):
        h = ivgen[6:]
        h = {"blake2b-512": "blake2b", "blake2s-256": "blake2s"}.get(
            h, h.replace("-", "_"))
        salt = hashlib.new(h, key).digest()
        plain = b"".join(iv_bytes("plain64", first + i, key)
                         for i in range(n))
        enc = ecb(salt, plain, False)
        return [enc[16 * i:16 * i + 16] for i in range(n)]
    if ivgen == "eboiv":    # E_key(le64(byte offset)), LUKS1 sectors
        plain = b"".join(((first + i) * SECTOR).to_bytes(8, "little") +
                         bytes(8) for i in range(n))
        enc = ecb(key, plain, False)
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


def decrypt_ecb(key, ivgen, data, first):
    return ecb(key, data, True)


def decrypt_ctr(key, ivgen, data, first):
    """Each sector is one CTR stream from its IV (128-bit big-endian)."""
    n = len(data) // SECTOR
    counters = bytearray()
    for iv in ivs(ivgen, key, first, n):
        c = int.from_bytes(iv, "big")
        for j in range(SECTOR // 16):
            counters += ((c + j) % (1 << 128)).to_bytes(16, "big")
    return xor(data, ecb(key, bytes(counters), False))


def decrypt_cfb(key, ivgen, data, first):
    """Full-block CFB per sector: P_i = C_i ^ E(C_(i-1)), C_(-1) = IV."""
    n = len(data) // SECTOR
    feed = bytearray()
    for s, iv in enumerate(ivs(ivgen, key, first, n)):
        feed += iv + data[s * SECTOR:(s + 1) * SECTOR - 16]
    return xor(data, ecb(key, bytes(feed), False))


def decrypt_ofb(key, ivgen, data, first):
    """OFB per sector, through `openssl enc -CIPHER-ofb` (a stream)."""
    n = len(data) // SECTOR
    out = bytearray()
    for s, iv in enumerate(ivs(ivgen, key, first, n)):
        args = ["openssl", "enc", "-d", "-%s-%d-ofb" % (CIPHER, len(key) * 8),
                "-K", key.hex(), "-iv", iv.hex(), "-nopad"]
        out += subprocess.run(args, input=data[s * SECTOR:(s + 1) * SECTOR],
                              stdout=subprocess.PIPE, check=True).stdout
    return bytes(out)


def main():
    if len(sys.argv) != 8 or sys.argv[1] != "decrypt":
        raise SystemExit(__doc__)
    key = bytes.fromhex(sys.argv[2])
    global CIPHER
    spec = sys.argv[3].split("-", 2)
    cipher, chain, ivgen = spec + [""] * (3 - len(spec))
    if cipher not in ("aes", "camellia"):
        raise SystemExit("only aes and camellia are supported")
    CIPHER = cipher
    off, length, first = (int(x, 0) for x in sys.argv[5:8])
    assert length % SECTOR == 0
    with open(sys.argv[4], "rb") as f:
        f.seek(off)
        data = f.read(length)
    assert len(data) == length, "short read"
    chains = {"xts": decrypt_xts, "cbc": decrypt_cbc, "ecb": decrypt_ecb,
              "ctr": decrypt_ctr, "cfb": decrypt_cfb, "ofb": decrypt_ofb}
    if chain not in chains:
        raise SystemExit("unsupported chain mode " + chain)
    out = chains[chain](key, ivgen, data, first)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main()
