#!/usr/bin/env python3
"""test-nbd-datapath.py: the block layer's data path seen through an NBD
export of a plain file (raw over file), with the raw protocol client of
nbd-proto-check.py:

- base:allocation answers truthfully: data extents where the file has
  data, hole+zero extents where it has holes (REQ_ONE: one extent);
- the file shrinks under the running server: a read past the new end
  fails with EIO (no zeroes passed off as data), a read inside it still
  works, and the connection stays up for more requests.

Exit 77 (skip) when the file system does not report holes.
"""
import importlib.util
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
spec = importlib.util.spec_from_file_location(
    "nbd_proto_check", os.path.join(HERE, "nbd-proto-check.py"))
npc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(npc)

LB = os.path.join(os.environ.get("LB_BUILD", "build"),
                  "tools", "luksblk-storage-daemon")
MiB = 1 << 20
EIO = 5
REQ_ONE = 1 << 3
HOLE, ZERO = 1, 2


def extents(c, offset, length, flags=0):
    err, payload = c.call(npc.CMD_BLOCK_STATUS, offset, length, flags=flags)
    if err:
        return err, []
    ctx = struct.unpack(">I", payload[:4])[0]
    npc.check(ctx == c.ctx, "block status reply in our meta context")
    return 0, [struct.unpack(">II", payload[i:i + 8])
               for i in range(4, len(payload), 8)]


def main():
    tmp = tempfile.mkdtemp(prefix="lb-nbd-datapath-")
    img = os.path.join(tmp, "disk.img")
    sock = os.path.join(tmp, "nbd.sock")
    pidfile = os.path.join(tmp, "pid")
    with open(img, "wb") as f:
        f.truncate(8 * MiB)
        f.seek(0)
        f.write(b"\x11" * (64 << 10))
        f.seek(2 * MiB)
        f.write(b"\x22" * MiB)
    # Does this file system report holes at all?
    with open(img, "rb") as f:
        try:
            hole = os.lseek(f.fileno(), 0, os.SEEK_HOLE)
        except OSError:
            hole = 8 * MiB
    if hole >= 8 * MiB:
        print("SKIP: the file system does not report holes")
        sys.exit(77)

    p = subprocess.Popen(
        [LB, "--blockdev", "driver=file,node-name=f0,filename=" + img,
         "--blockdev", "driver=raw,node-name=r0,file=f0",
         "--nbd-server", "addr.type=unix,addr.path=" + sock,
         "--export", "type=nbd,id=e0,node-name=r0,name=r0,writable=on",
         "--pidfile", pidfile],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # The pid file is written once the exports are set up.
        for _ in range(500):
            if os.path.exists(sock) and os.path.exists(pidfile) and \
                    os.path.getsize(pidfile) > 0:
                break
            time.sleep(0.02)
        c, size, _, _ = npc.negotiate(sock, "r0")
        npc.check(size == 8 * MiB, "export size")

        err, ext = extents(c, 0, 8 * MiB)
        npc.check(err == 0 and ext[0][1] == 0 and ext[0][0] >= 64 << 10,
                  "extent 0: data (%r)" % ext[:3])
        total = sum(e[0] for e in ext)
        npc.check(total <= 8 * MiB, "extents cover at most the request")
        # Walk the map: data at [0, 64K) and [2M, 3M), holes elsewhere.
        pos, seen = 0, []
        while pos < 8 * MiB:
            err, ext = extents(c, pos, 8 * MiB - pos)
            if err or not ext:
                break
            for length, flags in ext:
                seen.append((pos, length, flags))
                pos += length
        data = [(o, n) for o, n, fl in seen if fl == 0]
        holes = [(o, n) for o, n, fl in seen if fl == HOLE | ZERO]
        npc.check(pos == 8 * MiB, "extents cover the export")
        npc.check(all(fl in (0, HOLE | ZERO) for _, _, fl in seen),
                  "flags: data or hole+zero")
        in_data = lambda x: any(o <= x < o + n for o, n in data)  # noqa
        npc.check(in_data(0) and in_data(2 * MiB) and in_data(3 * MiB - 1),
                  "written ranges are data")
        npc.check(not in_data(MiB) and not in_data(5 * MiB) and holes,
                  "unwritten ranges are holes")
        err, ext = extents(c, MiB, 4 * MiB, flags=REQ_ONE)
        npc.check(err == 0 and len(ext) == 1 and ext[0] == (MiB, HOLE | ZERO),
                  "REQ_ONE: one hole extent up to the data (%r)" % ext)

        # The file shrinks under the server.
        os.truncate(img, 4 * MiB)
        err, _ = c.call(npc.CMD_READ, 6 * MiB, 4096)
        npc.check(err == EIO, "read past the shrunk end -> EIO (got %d)" % err)
        err, _ = c.call(npc.CMD_READ, 4 * MiB - 2048, 4096)
        npc.check(err == EIO, "read across the shrunk end -> EIO")
        err, data = c.call(npc.CMD_READ, 2 * MiB, 4096)
        npc.check(err == 0 and data == b"\x22" * 4096,
                  "read inside the file still works")
        err, data = c.call(npc.CMD_READ, 0, 4096)
        npc.check(err == 0 and data == b"\x11" * 4096,
                  "the connection stays up")
        c.request(npc.CMD_DISC, 0, 0)
        c.s.close()
    finally:
        p.terminate()
        p.wait()
        for n in os.listdir(tmp):
            os.unlink(os.path.join(tmp, n))
        os.rmdir(tmp)
    sys.exit(1 if npc.failures else 0)


if __name__ == "__main__":
    main()
