#!/usr/bin/env python3
"""corrupt-luks2.py: write damaged copies of a LUKS2 header for
test-corrupt-headers.sh.

Usage: corrupt-luks2.py HEADER OUTDIR

Each output file OUTDIR/NAME holds the two header copies (the first
2 * hdr_size bytes) of HEADER with one change to the JSON metadata, written
into both copies with valid checksums, so the JSON validation itself (not
the checksum) has to refuse it; the caller lays it over a copy of HEADER.  A few cases
change the binary header of both copies instead.
"""
import copy
import hashlib
import json
import os
import struct
import sys

BIN = 4096


def read_json(hdr):
    end = hdr.index(b"\0", BIN)
    return json.loads(hdr[BIN:end])


def write_copies(hdr, text, bin_patch=None):
    """Put JSON @text into both copies and fix their sha256 checksums."""
    out = bytearray(hdr)
    hdr_size = struct.unpack(">Q", hdr[8:16])[0]
    for off in (0, hdr_size):
        area = bytearray(hdr_size - BIN)
        area[:len(text)] = text
        out[off + BIN:off + hdr_size] = area
        if bin_patch:
            bin_patch(out, off)
        out[off + 448:off + 512] = bytes(64)
        csum = hashlib.sha256(bytes(out[off:off + hdr_size])).digest()
        out[off + 448:off + 448 + 32] = csum
    return bytes(out[:2 * hdr_size])


def set_path(doc, path, value):
    """path "a.b.c": set (value not None) or delete (value None)."""
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()
KS = "keyslots.0"
SEG = "segments.0"
DIG = "digests.0"

CASES = {
    "ks-type": (KS + ".type", "luks3"),
    "ks-key-size-0": (KS + ".key_size", 0),
    "ks-key-size-huge": (KS + ".key_size", 4096),
    "ks-key-size-str": (KS + ".key_size", "32"),
    "ks-area-offset-text": (KS + ".area.offset", "abc"),
    "ks-area-offset-neg": (KS + ".area.offset", "-4096"),
    "ks-area-offset-huge": (KS + ".area.offset", "99999999999999999999"),
    "ks-area-offset-1": (KS + ".area.offset", "1"),
    "ks-area-offset-in-hdr": (KS + ".area.offset", "4096"),
    "ks-area-size-0": (KS + ".area.size", "0"),
    "ks-area-size-huge": (KS + ".area.size", "18446744073709551615"),
    "ks-area-enc": (KS + ".area.encryption", "foo-bar-baz"),
    "ks-area-key-size": (KS + ".area.key_size", 7),
    # cryptsetup 2.6.1 takes any JSON integer as af.stripes and always uses
    # 4000; af.hash must be a non-empty string, its case does not matter.
    "ks-af-stripes-0": (KS + ".af.stripes", 0),
    "ks-af-stripes-1000": (KS + ".af.stripes", 1000),
    "ks-af-stripes-neg": (KS + ".af.stripes", -1),
    "ks-af-stripes-huge": (KS + ".af.stripes", 4294967295),
    "ks-af-stripes-int64": (KS + ".af.stripes", 99999999999),
    "ks-af-stripes-str": (KS + ".af.stripes", "4000"),
    "ks-af-stripes-float": (KS + ".af.stripes", 1.5),
    "ks-af-hash": (KS + ".af.hash", "nope"),
    "ks-af-hash-upper": (KS + ".af.hash", "SHA256"),
    "ks-af-hash-empty": (KS + ".af.hash", ""),
    "ks-af-hash-int": (KS + ".af.hash", 5),
    "ks-af-type": (KS + ".af.type", "luks2"),
    "ks-af-missing": (KS + ".af", DELETE),
    "ks-kdf-type": (KS + ".kdf.type", "scrypt"),
    "ks-kdf-salt": (KS + ".kdf.salt", "!!!"),
    "ks-kdf-salt-empty": (KS + ".kdf.salt", ""),
    "ks-kdf-hash": (KS + ".kdf.hash", "md4"),
    "ks-kdf-iter-0": (KS + ".kdf.iterations", 0),
    "ks-kdf-iter-neg": (KS + ".kdf.iterations", -1),
    "ks-kdf-iter-float": (KS + ".kdf.iterations", 1.5),
    "ks-missing": (KS, DELETE),
    "ks-id-text": ("keyslots.x", {}),
    "ks-id-big": ("keyslots.40", None),
    "keyslots-array": ("keyslots", []),
    "seg-offset": (SEG + ".offset", "x"),
    "seg-size": (SEG + ".size", "7"),
    "seg-enc": (SEG + ".encryption", "aes"),
    "seg-sector-1000": (SEG + ".sector_size", 1000),
    "seg-sector-0": (SEG + ".sector_size", 0),
    "seg-sector-8192": (SEG + ".sector_size", 8192),
    "seg-type": (SEG + ".type", "linear"),
    "seg-iv-tweak": (SEG + ".iv_tweak", "-1"),
    "segments-missing": ("segments", DELETE),
    "seg-missing": (SEG, DELETE),
    "dig-keyslots-unknown": (DIG + ".keyslots", ["5"]),
    "dig-keyslots-none": (DIG + ".keyslots", []),
    "dig-segments-none": (DIG + ".segments", []),
    "dig-digest-short": (DIG + ".digest", "AAAA"),
    "dig-iter-0": (DIG + ".iterations", 0),
    "dig-hash": (DIG + ".hash", "md4"),
    "dig-type": (DIG + ".type", "argon2"),
    "digests-missing": ("digests", DELETE),
    "cfg-json-size": ("config.json_size", "1"),
    "cfg-json-size-huge": ("config.json_size", "4194304"),
    "cfg-keyslots-size-0": ("config.keyslots_size", "0"),
    "cfg-keyslots-size-odd": ("config.keyslots_size", "4097"),
    "cfg-requirements": ("config.requirements", {"mandatory": ["online-reencrypt"]}),
    "cfg-flags-type": ("config.flags", "allow-discards"),
    "config-missing": ("config", DELETE),
    "token-bad": ("tokens.0", {"type": "luks2-keyring", "keyslots": ["9"]}),
    "token-not-object": ("tokens.0", 5),
}

RAW = {
    "json-array": b"[]",
    "json-null": b"null",
    "json-empty": b"",
    "json-truncated": None,       # first half of the real text
    "json-deep": b"[" * 20000,
    "json-not-utf8": b'{"keyslots":{"0":"\xff\xfe"}}',
}


def bin_case(name):
    """Binary-header changes applied to both copies."""
    def patch(out, off):
        if name == "bin-hdr-offset":
            out[off + 256:off + 264] = struct.pack(">Q", off + 512)
        elif name == "bin-version":
            out[off + 6:off + 8] = struct.pack(">H", 3)
        elif name == "bin-csum-alg":
            out[off + 72:off + 104] = b"crc32".ljust(32, b"\0")
        elif name == "bin-label-unterminated":
            out[off + 24:off + 72] = b"L" * 48
        elif name == "bin-uuid-unterminated":
            out[off + 168:off + 208] = b"U" * 40
    return patch


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    hdr = open(src, "rb").read()
    doc = read_json(hdr)
    text = json.dumps(doc, separators=(",", ":")).encode()
    cases = {}
    for name, (path, value) in CASES.items():
        d = copy.deepcopy(doc)
        if value is None:          # a copy of keyslot 0 under another id
            value = copy.deepcopy(d["keyslots"]["0"])
        set_path(d, path, value)
        cases[name] = write_copies(hdr, json.dumps(d).encode())
    # Keyslot 1 sharing keyslot 0's area, listed in the digest.
    d = copy.deepcopy(doc)
    d["keyslots"]["1"] = copy.deepcopy(d["keyslots"]["0"])
    d["digests"]["0"]["keyslots"].append("1")
    cases["ks-overlap"] = write_copies(hdr, json.dumps(d).encode())
    for name, raw in RAW.items():
        cases[name] = write_copies(hdr, raw if raw is not None
                                   else text[:len(text) // 2])
    for name in ("bin-hdr-offset", "bin-version", "bin-csum-alg",
                 "bin-label-unterminated", "bin-uuid-unterminated"):
        cases[name] = write_copies(hdr, text, bin_case(name))
    # Only the checksum of both copies wrong.
    broken = bytearray(write_copies(hdr, text))
    hdr_size = struct.unpack(">Q", hdr[8:16])[0]
    for off in (0, hdr_size):
        broken[off + 448] ^= 0xFF
    cases["bin-csum-both"] = bytes(broken)
    os.makedirs(outdir, exist_ok=True)
    for name, data in cases.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
