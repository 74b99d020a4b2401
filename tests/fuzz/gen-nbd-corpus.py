#!/usr/bin/env python3
"""gen-nbd-corpus.py: write the seed inputs of the NBD fuzz harness
(tests/fuzz/fuzz-nbd.c) into DIR (run by hand:
`tests/fuzz/gen-nbd-corpus.py tests/fuzz/corpus/nbd`).

Each seed is one client's whole byte stream: the fixed-newstyle handshake
with a mix of options, then transmission requests on export "disk0"
(writable, 1 MiB) or "ro" (read-only), covering every command and flag the
server knows, so the fuzzer starts from deep inside both phases.
"""
import os
import struct
import sys

IHAVEOPT = 0x49484156454F5054
REQ_MAGIC = 0x25609513
OPT = dict(EXPORT_NAME=1, ABORT=2, LIST=3, STARTTLS=5, INFO=6, GO=7,
           STRUCTURED_REPLY=8, LIST_META_CONTEXT=9, SET_META_CONTEXT=10)
CMD = dict(READ=0, WRITE=1, DISC=2, FLUSH=3, TRIM=4, CACHE=5,
           WRITE_ZEROES=6, BLOCK_STATUS=7)
FUA, NO_HOLE, DF, REQ_ONE = 1, 2, 4, 8


def opt(name, data=b""):
    return struct.pack(">QII", IHAVEOPT, OPT[name], len(data)) + data


def go_data(export, infos=(3, 1, 2)):
    n = export.encode()
    return (struct.pack(">I", len(n)) + n + struct.pack(">H", len(infos)) +
            b"".join(struct.pack(">H", i) for i in infos))


def meta_data(export, *queries):
    n = export.encode()
    out = struct.pack(">I", len(n)) + n + struct.pack(">I", len(queries))
    for q in queries:
        out += struct.pack(">I", len(q)) + q.encode()
    return out


def req(cmd, off=0, length=0, flags=0, cookie=1, payload=b""):
    return struct.pack(">IHHQQI", REQ_MAGIC, flags, CMD[cmd], cookie, off,
                       length) + payload


def handshake(export, structured=True, meta=True, flags=3):
    out = struct.pack(">I", flags)
    if structured:
        out += opt("STRUCTURED_REPLY")
    if meta:
        out += opt("SET_META_CONTEXT", meta_data(export, "base:allocation"))
    return out + opt("GO", go_data(export))


def transmission():
    return (req("WRITE", 0, 4096, FUA, 1, bytes(range(256)) * 16) +
            req("READ", 0, 4096, DF, 2) +
            req("WRITE_ZEROES", 8192, 65536, NO_HOLE, 3) +
            req("TRIM", 131072, 65536, 0, 4) +
            req("BLOCK_STATUS", 0, 1 << 20, REQ_ONE, 5) +
            req("CACHE", 0, 4096, 0, 6) +
            req("FLUSH", 0, 0, 0, 7) +
            req("READ", (1 << 20) - 512, 1024, 0, 8) +   # past the end
            req("DISC", 0, 0, 0, 9))


SEEDS = {
    "go-structured": handshake("disk0") + transmission(),
    "go-simple": handshake("disk0", structured=False, meta=False) +
    transmission(),
    "export-name": struct.pack(">I", 1) + opt("EXPORT_NAME", b"disk0") +
    req("WRITE", 512, 512, 0, 1, b"\xa5" * 512) + req("READ", 0, 1024, 0, 2) +
    req("DISC"),
    "list-info-abort": struct.pack(">I", 3) + opt("LIST") +
    opt("LIST_META_CONTEXT", meta_data("disk0", "base:")) +
    opt("INFO", go_data("ro")) + opt("INFO", go_data("nosuch")) +
    opt("ABORT"),
    "ro-write": handshake("ro") + req("WRITE", 0, 512, 0, 1, bytes(512)) +
    req("TRIM", 0, 512, 0, 2) + req("READ", 0, 512, 0, 3) + req("DISC"),
    "starttls-unknown": struct.pack(">I", 3) + opt("STARTTLS") +
    struct.pack(">QII", IHAVEOPT, 77, 4) + b"abcd" + opt("GO", go_data("")) +
    req("READ", 0, 512, 0, 1) + struct.pack(">I", 0xdeadbeef) + bytes(24),
}

if __name__ == "__main__":
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
