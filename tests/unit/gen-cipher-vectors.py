#!/usr/bin/env python3
# gen-cipher-vectors.py: derive the sector-cipher known answers embedded in
# test-crypto-cipher.c with an independent implementation (the openssl
# command line's AES-ECB/CBC/CTR; XTS is built on AES-ECB below, as
# `openssl enc` has no XTS).  Run by hand, not by the
# test suite:  python3 tests/unit/gen-cipher-vectors.py
# Each unit of sector_size bytes is encrypted by one openssl call with the
# IV the dm-crypt IV generator gives for sector iv_sector + i*sector_size/512.
import hashlib
import struct
import subprocess
import sys


def openssl(alg, key, iv, data, extra=()):
    cmd = ['openssl', 'enc', '-' + alg, '-K', key.hex(), '-nopad', '-nosalt']
    if iv is not None:
        cmd += ['-iv', iv.hex()]
    cmd += list(extra)
    return subprocess.run(cmd, input=data, capture_output=True,
                          check=True).stdout


def xts_encrypt(key, iv, data, cipher='aes'):
    # IEEE 1619 on top of openssl's AES-ECB: T_0 = E_K2(iv), T_j+1 = T_j * x
    # in GF(2^128) (little-endian bytes, reduction 0x87); C = E_K1(P^T)^T.
    half = len(key) // 2
    ecb = '%s-%d-ecb' % (cipher, half * 8)
    t = int.from_bytes(openssl(ecb, key[half:], None, iv), 'little')
    tweaks = []
    for _ in range(len(data) // 16):
        tweaks.append(t.to_bytes(16, 'little'))
        t <<= 1
        if t >> 128:
            t = (t & ((1 << 128) - 1)) ^ 0x87
    tw = b''.join(tweaks)
    pp = bytes(a ^ b for a, b in zip(data, tw))
    cc = openssl(ecb, key[:half], None, pp)
    return bytes(a ^ b for a, b in zip(cc, tw))


def ivgen(spec, key, sector, blk=16):
    if spec == 'null':
        return bytes(blk)
    if spec == 'plain':
        return struct.pack('<Q', sector & 0xffffffff) + bytes(blk - 8)
    if spec == 'plain64':
        return struct.pack('<Q', sector) + bytes(blk - 8)
    if spec == 'plain64be':
        return bytes(blk - 8) + struct.pack('>Q', sector)
    if spec == 'benbi':
        shift = 9 - (blk.bit_length() - 1)
        return bytes(blk - 8) + struct.pack('>Q', (sector << shift) + 1)
    if spec.startswith('essiv:'):
        salt = hashlib.new(spec[6:], key).digest()
        return openssl('aes-%d-ecb' % (len(salt) * 8), salt, None,
                       struct.pack('<Q', sector) + bytes(blk - 8))
    raise ValueError(spec)


def pattern(kind, n):
    if kind == 'zero':
        return bytes(n)
    return bytes(i & 0xff for i in range(n))


CASES = [
    # name, cipher, mode, key, sector, sector_size, len, pattern
    ('ieee1619-v1', 'aes', 'xts-plain64', bytes(32), 0, 512, 512, 'zero'),
    ('ieee1619-v4', 'aes', 'xts-plain64',
     bytes.fromhex('27182818284590452353602874713526'
                   '31415926535897932384626433832795'), 0, 512, 512, 'seq'),
    ('ieee1619-v10', 'aes', 'xts-plain64',
     bytes.fromhex('27182818284590452353602874713526'
                   '62497757247093699959574966967627'
                   '31415926535897932384626433832795'
                   '02884197169399375105820974944592'), 0xff, 512, 512, 'seq'),
    ('xts256-4k', 'aes', 'xts-plain64', bytes(range(64)), 1000, 4096, 8192,
     'seq'),
    ('xts128-be', 'aes', 'xts-plain64be', bytes(range(32)), 0x10203, 512,
     1024, 'seq'),
    ('xts128-benbi', 'aes', 'xts-benbi', bytes(range(32)), 3, 1024, 2048,
     'seq'),
    ('xts256-essiv', 'aes', 'xts-essiv:sha256', bytes(range(64)), 9, 4096,
     4096, 'seq'),
    ('cbc128-essiv', 'aes', 'cbc-essiv:sha256', bytes(range(16)), 5, 512,
     1024, 'seq'),
    ('cbc256-plain64', 'aes', 'cbc-plain64', bytes(range(32)), (1 << 33) + 1,
     512, 1024, 'seq'),
    ('cbc192-plain', 'aes', 'cbc-plain', bytes(range(24)), (1 << 32) + 3,
     512, 1024, 'seq'),
    ('cbc256-null', 'aes', 'cbc-null', bytes(range(32)), 8, 2048, 4096,
     'seq'),
    ('xts192', 'aes', 'xts-plain64', bytes(range(48)), 1, 512, 1024, 'seq'),
    ('ecb256', 'aes', 'ecb', bytes(range(32)), 0, 512, 1024, 'seq'),
    ('ctr128-plain64', 'aes', 'ctr-plain64', bytes(range(16)), 77, 512,
     1024, 'seq'),
    ('camellia256-xts', 'camellia', 'xts-plain64', bytes(range(64)), 5, 512,
     1024, 'seq'),
    ('camellia128-cbc', 'camellia', 'cbc-plain64', bytes(range(16)), 6, 512,
     1024, 'seq'),
]

OSSL = {
    ('aes', 'xts', 32): None, ('aes', 'xts', 48): None,
    ('aes', 'xts', 64): None,
    ('aes', 'cbc', 16): 'aes-128-cbc', ('aes', 'cbc', 24): 'aes-192-cbc',
    ('aes', 'cbc', 32): 'aes-256-cbc', ('aes', 'ecb', 32): 'aes-256-ecb',
    ('aes', 'ctr', 16): 'aes-128-ctr',
    ('camellia', 'xts', 64): None, ('camellia', 'cbc', 16): 'camellia-128-cbc',
}


def main():
    for name, cipher, mode, key, sector, ss, n, pat in CASES:
        chain, _, ivspec = mode.partition('-')
        alg = OSSL[(cipher, chain, len(key))]
        pt = pattern(pat, n)
        ct = b''
        for i in range(0, n, ss):
            iv = None
            if chain != 'ecb':
                iv = ivgen(ivspec, key, sector + i // 512)
            if chain == 'xts':
                ct += xts_encrypt(key, iv, pt[i:i + ss], cipher)
            else:
                ct += openssl(alg, key, iv, pt[i:i + ss])
        keyhex = '"\n      "'.join(key.hex()[j:j + 64]
                                    for j in range(0, len(key) * 2, 64))
        print('    { "%s", "%s", "%s",\n      "%s",\n      %#x, %d, %d, %s,\n'
              '      "%s",\n      "%s" },' % (
                  name, cipher, mode, keyhex, sector, ss, n,
                  'true' if pat == 'zero' else 'false',
                  ct[:32].hex(), hashlib.sha256(ct).hexdigest()))


if __name__ == '__main__':
    sys.exit(main())
