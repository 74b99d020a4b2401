#!/usr/bin/env python3
"""soak.py: many clients at once on one encrypted volume, each checking
every read against a model of what was written; an independent decrypt of
the whole volume at the end.

    soak.py [--build DIR] [--duration 30s|10m|1h] [--size 64M]
            [--conns 8] [--depth 32] [--fuse-procs 3] [--seed N]

One luksblk-storage-daemon serves a LUKS2 volume (detached header made by
cryptsetup, 4 KiB sectors, aes-xts-plain64) over NBD and FUSE at once:

  * NBD: CONNS connections to one export (multi-conn), DEPTH requests in
    flight on each: one asyncio coroutine per (connection, slot) "lane".
  * FUSE: FUSE_PROCS processes with pread/pwrite/fsync/fallocate on the
    mounted file (skipped without /dev/fuse).
  * QMP: a keyslot added and removed again with blockdev-amend, in a loop,
    while all of the above runs.

The model.  Each lane owns a region: it remembers every byte it wrote
(writes of any size and alignment, write-zeroes), forgets what it trimmed,
and every read must return exactly what it remembers.  A shared region of
4 KiB blocks is written by every NBD lane; each block write carries a
global sequence number repeated over the block (so a torn block shows).
A read of a shared block must return a block that was written there (or
the initial zeros) and that was not certainly overwritten before the read
was sent: a write X is stale for a read sent at time r if some later
write Y to the block was sent after X completed and completed itself
before r.  (This assumes what luksblk gives, writes visible to every
connection once acknowledged, which is stronger than NBD's flush rule.)
FUSE processes check shared blocks for integrity only.

At the end the whole volume is read over NBD and checked against the
model, the daemon is stopped, and the payload file is decrypted with the
volume key from `cryptsetup luksDump --dump-volume-key` (python3
cryptography's AES-XTS, no luksblk code); both must agree byte for byte.

Printed: operations, GiB moved, errors (must be 0), the daemon's RSS and
open fds after start-up and at the end (fds must be equal, RSS bounded).
Exit 0 on success, 1 on any error, 77 when a tool is missing.
"""
import argparse
import asyncio
import ctypes
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

SECTOR = 4096
SHARED_BLOCK = 4096
NBD_MAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REQ_MAGIC = 0x25609513
SIMPLE_REPLY = 0x67446698
OPT_GO = 7
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_ZEROES = 0, 1, 2, 3, 4, 6
FLAG_FUA = 1
FLAG_CAN_MULTI_CONN = 1 << 8
SHARED_MAGIC = 0x5EA1B10C


def parse_size(s):
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", s)
    if not m:
        raise argparse.ArgumentTypeError("bad size " + s)
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def parse_duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m|h)?", s)
    if not m:
        raise argparse.ArgumentTypeError("bad duration " + s)
    return float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


class Stats:
    def __init__(self):
        self.ops = {}
        self.bytes = 0
        self.errors = []

    def op(self, name, nbytes=0):
        self.ops[name] = self.ops.get(name, 0) + 1
        self.bytes += nbytes

    def error(self, what):
        if len(self.errors) < 20:
            print("ERROR " + what, flush=True)
        self.errors.append(what)

    def merge(self, d):
        for k, v in d["ops"].items():
            self.ops[k] = self.ops.get(k, 0) + v
        self.bytes += d["bytes"]
        for e in d["errors"]:
            self.error(e)


# ---- shared blocks ---------------------------------------------------------

def shared_block(idx, seq):
    return struct.pack("<IIQ", SHARED_MAGIC, idx, seq) * (SHARED_BLOCK // 16)


def shared_parse(idx, data):
    """The sequence number of a shared block (0: never written), or an
    error string."""
    if data == bytes(SHARED_BLOCK):
        return 0
    unit = data[:16]
    if unit * (SHARED_BLOCK // 16) != data:
        return "torn or foreign shared block %d" % idx
    magic, bidx, seq = struct.unpack("<IIQ", unit)
    if magic != SHARED_MAGIC or bidx != idx:
        return "shared block %d holds block %d's data" % (idx, bidx)
    return seq


class SharedModel:
    """Per block: the writes that a read may still legitimately return."""

    def __init__(self, nblocks):
        self.clock = 0
        # block -> list of [seq, issued, acked or None]
        self.hist = [[[0, 0, 0]] for _ in range(nblocks)]
        self.reads = {}         # read id -> issue time, of reads in flight
        self.next_read = 0

    def tick(self):
        self.clock += 1
        return self.clock

    def write_issued(self, idx, seq):
        w = [seq, self.tick(), None]
        self.hist[idx].append(w)
        return w

    def write_acked(self, idx, w):
        w[2] = self.tick()
        oldest_read = min(self.reads.values(), default=self.clock + 1)
        h = self.hist[idx]
        # X can never be returned again once a write Y that started after
        # X finished has itself finished before every read still pending.
        self.hist[idx] = [x for x in h if not any(
            x[2] is not None and y[2] is not None and x[2] < y[1] and
            y[2] < oldest_read for y in h)]

    def read_issued(self):
        self.next_read += 1
        self.reads[self.next_read] = self.tick()
        return self.next_read

    def read_check(self, rid, idx, seq):
        r = self.reads.pop(rid)
        self.tick()
        h = self.hist[idx]
        for x in h:
            if x[0] == seq:
                for y in h:
                    if (x[2] is not None and y[2] is not None and
                            x[2] < y[1] and y[2] < r):
                        return ("shared block %d: read returned write %d, "
                                "overwritten by %d before the read" %
                                (idx, seq, y[0]))
                return None
        return "shared block %d: read returned write %d, stale or never sent" % (idx, seq)


# ---- a lane's model ----------------------------------------------------------

class Region:
    """What one lane wrote to [base, base+size): bytes and which are known."""

    def __init__(self, base, size):
        self.base, self.size = base, size
        self.data = bytearray(size)
        self.known = bytearray(b"\x01") * size   # zeroed before the run

    def write(self, off, buf):
        self.data[off:off + len(buf)] = buf
        self.known[off:off + len(buf)] = b"\x01" * len(buf)

    def forget(self, off, n):
        self.known[off:off + n] = bytes(n)

    def check(self, off, got):
        n = len(got)
        want = self.data[off:off + n]
        if got == want:
            return None
        known = self.known[off:off + n]
        for i in range(n):
            if known[i] and got[i] != want[i]:
                return ("at volume offset %d: read 0x%02x, wrote 0x%02x" %
                        (self.base + off + i, got[i], want[i]))
        return None

    def pick(self, rnd, maxlen):
        """An (offset, length) inside the region: byte-aligned 1 time in 8,
        else 512-aligned, else whole sectors."""
        k = rnd.random()
        if k < 0.125:
            n = rnd.randint(1, maxlen)
            off = rnd.randint(0, self.size - n)
        elif k < 0.5:
            n = rnd.randint(1, maxlen // 512) * 512
            off = rnd.randint(0, (self.size - n) // 512) * 512
        else:
            n = rnd.randint(1, maxlen // SECTOR) * SECTOR
            off = rnd.randint(0, (self.size - n) // SECTOR) * SECTOR
        return off, n


# ---- NBD -------------------------------------------------------------------

class NbdError(Exception):
    pass


class Nbd:
    """An asyncio NBD client: fixed newstyle, OPT_GO, simple replies."""

    async def connect(self, path, name):
        self.r, self.w = await asyncio.open_unix_connection(path, limit=1 << 26)
        magic, opt, _ = struct.unpack(">QQH", await self.r.readexactly(18))
        if magic != NBD_MAGIC or opt != IHAVEOPT:
            raise NbdError("not a fixed newstyle server")
        n = name.encode()
        data = struct.pack(">I", len(n)) + n + struct.pack(">H", 0)
        self.w.write(struct.pack(">I", 3) +
                     struct.pack(">QII", IHAVEOPT, OPT_GO, len(data)) + data)
        self.size = self.flags = None
        while True:
            _, _, rtype, length = struct.unpack(">QIII", await self.r.readexactly(20))
            body = await self.r.readexactly(length)
            if rtype == 3 and struct.unpack(">H", body[:2])[0] == 0:
                self.size, self.flags = struct.unpack(">QH", body[2:12])
            elif rtype == 1:
                break
            elif rtype & (1 << 31):
                raise NbdError("OPT_GO refused: %#x %r" % (rtype, body))
        self.cookie = 0
        self.pending = {}
        self.reader = asyncio.get_running_loop().create_task(self.read_replies())

    async def read_replies(self):
        try:
            while True:
                magic, err, cookie = struct.unpack(">IIQ", await self.r.readexactly(16))
                if magic != SIMPLE_REPLY:
                    raise NbdError("bad reply magic %#x" % magic)
                fut, length = self.pending.pop(cookie)
                data = await self.r.readexactly(length) if length and not err else b""
                fut.set_result((err, data))
        except Exception as e:           # noqa: BLE001 - handed to waiters
            for fut, _ in self.pending.values():
                if not fut.done():
                    fut.set_exception(NbdError("connection lost: %r" % e))
            self.pending.clear()

    async def request(self, cmd, off=0, length=0, data=b"", flags=0):
        self.cookie += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.cookie] = (fut, length if cmd == CMD_READ else 0)
        self.w.write(struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd, self.cookie,
                                 off, length) + data)
        if self.w.transport.get_write_buffer_size() > 1 << 20:
            await self.w.drain()
        err, rdata = await fut
        if err:
            raise NbdError("cmd %d at %d+%d: error %d" % (cmd, off, length, err))
        return rdata

    async def close(self):
        self.w.write(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_DISC, 0, 0, 0))
        await self.w.drain()
        self.w.close()
        self.reader.cancel()


async def nbd_lane(nbd, region, shared, sh_base, sh_blocks, deadline, rnd,
                   stats, seq):
    maxlen = min(65536, region.size)
    while time.monotonic() < deadline:
        k = rnd.random()
        try:
            if k < 0.33:
                off, n = region.pick(rnd, maxlen)
                buf = rnd.randbytes(n)
                fua = FLAG_FUA if rnd.random() < 0.05 else 0
                await nbd.request(CMD_WRITE, region.base + off, n, buf, fua)
                region.write(off, buf)
                stats.op("nbd-write", n)
            elif k < 0.66:
                off, n = region.pick(rnd, maxlen)
                got = await nbd.request(CMD_READ, region.base + off, n)
                stats.op("nbd-read", n)
                bad = region.check(off, got)
                if bad:
                    stats.error("nbd read " + bad)
            elif k < 0.70:
                off, n = region.pick(rnd, maxlen)
                await nbd.request(CMD_ZEROES, region.base + off, n)
                region.write(off, bytes(n))
                stats.op("nbd-write-zeroes")
            elif k < 0.74:
                n = rnd.randint(1, maxlen // SECTOR) * SECTOR
                off = rnd.randint(0, (region.size - n) // SECTOR) * SECTOR
                region.forget(off, n)      # before: a read may race it
                await nbd.request(CMD_TRIM, region.base + off, n)
                stats.op("nbd-trim")
            elif k < 0.76:
                await nbd.request(CMD_FLUSH)
                stats.op("nbd-flush")
            elif k < 0.88:
                idx = rnd.randrange(sh_blocks)
                s = next(seq)
                w = shared.write_issued(idx, s)
                await nbd.request(CMD_WRITE, sh_base + idx * SHARED_BLOCK,
                                  SHARED_BLOCK, shared_block(idx, s))
                shared.write_acked(idx, w)
                stats.op("nbd-shared-write", SHARED_BLOCK)
            else:
                idx = rnd.randrange(sh_blocks)
                rid = shared.read_issued()
                got = await nbd.request(CMD_READ, sh_base + idx * SHARED_BLOCK,
                                        SHARED_BLOCK)
                stats.op("nbd-shared-read", SHARED_BLOCK)
                s = shared_parse(idx, got)
                bad = s if isinstance(s, str) else shared.read_check(rid, idx, s)
                if bad:
                    stats.error("nbd read " + bad)
        except NbdError as e:
            stats.error(str(e))
            return


# ---- FUSE --------------------------------------------------------------------

FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 1, 2, 0x10


def fuse_proc(path, base, size, sh_base, sh_blocks, deadline, seed, out):
    """One FUSE client process (multiprocessing target): its own region,
    sequential I/O, integrity checks on shared blocks; stats to OUT."""
    stats = Stats()
    rnd = random.Random(seed)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    region = Region(base, size)
    try:
        fd = os.open(path, os.O_RDWR | os.O_DIRECT)
        direct = True
    except OSError:
        fd = os.open(path, os.O_RDWR)
        direct = False
    abuf = None
    if direct:
        import mmap
        abuf = mmap.mmap(-1, 1 << 17)

    def pwrite(buf, off):
        if not direct:
            return os.pwrite(fd, buf, off)
        abuf[:len(buf)] = buf
        return os.pwritev(fd, [memoryview(abuf)[:len(buf)]], off)

    def pread(n, off):
        if not direct:
            return os.pread(fd, n, off)
        got = os.preadv(fd, [memoryview(abuf)[:n]], off)
        return bytes(abuf[:got])

    def pick():
        # O_DIRECT wants 512-aligned offsets and lengths.
        if direct:
            n = rnd.randint(1, 64) * 512
            return rnd.randint(0, (size - n) // 512) * 512, n
        return region.pick(rnd, 65536)

    try:
        while time.monotonic() < deadline:
            k = rnd.random()
            if k < 0.4:
                off, n = pick()
                buf = rnd.randbytes(n)
                if pwrite(buf, base + off) != n:
                    stats.error("fuse short write")
                region.write(off, buf)
                stats.op("fuse-write", n)
            elif k < 0.8:
                off, n = pick()
                got = pread(n, base + off)
                stats.op("fuse-read", n)
                bad = region.check(off, got) if len(got) == n else "short read"
                if bad:
                    stats.error("fuse read " + bad)
            elif k < 0.85:
                n = rnd.randint(1, 16) * SECTOR
                off = rnd.randint(0, (size - n) // SECTOR) * SECTOR
                if libc.fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                                  base + off, n) == 0:
                    region.write(off, bytes(n))
                    stats.op("fuse-zero-range")
            elif k < 0.88:
                n = rnd.randint(1, 16) * SECTOR
                off = rnd.randint(0, (size - n) // SECTOR) * SECTOR
                region.forget(off, n)
                if libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                  base + off, n) == 0:
                    stats.op("fuse-punch-hole")
            elif k < 0.90:
                os.fsync(fd)
                stats.op("fuse-fsync")
            else:
                idx = rnd.randrange(sh_blocks)
                got = pread(SHARED_BLOCK, sh_base + idx * SHARED_BLOCK)
                stats.op("fuse-shared-read", SHARED_BLOCK)
                s = shared_parse(idx, got)
                if isinstance(s, str):
                    stats.error("fuse read " + s)
        os.fsync(fd)
    except OSError as e:
        stats.error("fuse: %s" % e)
    os.close(fd)
    out.send({"ops": stats.ops, "bytes": stats.bytes, "errors": stats.errors,
              "data": bytes(region.data), "known": bytes(region.known),
              "direct": direct})
    out.close()


# ---- QMP ---------------------------------------------------------------------

class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.events = []
        self.recv()
        self.cmd("qmp_capabilities")

    def recv(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP closed")
        return json.loads(line)

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            r = self.recv()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("%s: %s" % (name, r["error"]["desc"]))
            return r["return"]

    def run_job(self, name, job_id, **args):
        self.cmd(name, **args)
        while True:
            for e in self.events:
                if (e["event"] == "JOB_STATUS_CHANGE" and
                        e["data"] == {"id": job_id, "status": "concluded"}):
                    self.events.remove(e)
                    jobs = [j for j in self.cmd("query-jobs") if j["id"] == job_id]
                    self.cmd("job-dismiss", id=job_id)
                    return jobs[0].get("error")
            self.events.append(self.recv())


def amend_loop(qmp, deadline, stats, stop):
    """Add a keyslot, then remove it again, until DEADLINE; one cycle per
    second at most (a LUKS2 keyslot's Argon2 takes every core for its
    iter-time, and back to back they would starve the I/O on 2 cores)."""
    i = 0
    while time.monotonic() < deadline and not stop.wait(1.0 if i else 0):
        i += 1
        try:
            qmp.cmd("object-add", **{"qom-type": "secret", "id": "new%d" % i,
                                     "data": "soak-pass-%d" % i})
            err = qmp.run_job("blockdev-amend", "add%d" % i, **{
                "job-id": "add%d" % i, "node-name": "v",
                "options": {"driver": "luks", "state": "active",
                            "new-secret": "new%d" % i, "iter-time": 10}})
            if err:
                stats.error("amend add: " + err)
                return
            err = qmp.run_job("blockdev-amend", "del%d" % i, **{
                "job-id": "del%d" % i, "node-name": "v",
                "options": {"driver": "luks", "state": "inactive",
                            "old-secret": "new%d" % i}})
            if err:
                stats.error("amend remove: " + err)
                return
            qmp.cmd("object-del", id="new%d" % i)
            stats.op("amend-add-remove")
        except (RuntimeError, EOFError, OSError) as e:
            stats.error("amend: %s" % e)
            return


# ---- the daemon --------------------------------------------------------------

def proc_usage(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def volume_key(header, passfile):
    out = subprocess.run(
        ["cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode",
         "--key-file", passfile, header],
        check=True, capture_output=True, text=True).stdout
    key, on = "", False
    for line in out.splitlines():
        if re.match(r"\s*(MK dump|Volume key):", line):
            on = True
            line = line.split(":", 1)[1]
        elif on and not re.fullmatch(r"[\s0-9a-fA-F]+", line):
            break
        if on:
            key += re.sub(r"\s", "", line)
    return bytes.fromhex(key)


def independent_decrypt(payload, key, size):
    """The plaintext of PAYLOAD: aes-xts-plain64, SECTOR-byte sectors,
    data at offset 0 (detached header); IV = sector number in 512-byte
    units, as dm-crypt (LUKS-FORMAT.md)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    out = bytearray()
    with open(payload, "rb") as f:
        ct = f.read(size)
    for s in range(size // SECTOR):
        iv = (s * (SECTOR // 512)).to_bytes(16, "little")
        d = Cipher(algorithms.AES(key), modes.XTS(iv)).decryptor()
        out += d.update(ct[s * SECTOR:(s + 1) * SECTOR]) + d.finalize()
    return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("LB_BUILD", "build"))
    ap.add_argument("--duration", type=parse_duration, default=30.0)
    ap.add_argument("--size", type=parse_size, default=64 << 20)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--depth", type=int, default=32)
    ap.add_argument("--fuse-procs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-amend", action="store_true",
                    help="no keyslot amend alongside (to compare)")
    a = ap.parse_args()

    daemon_bin = os.path.join(a.build, "tools", "luksblk-storage-daemon")
    if not os.access(daemon_bin, os.X_OK):
        skip(daemon_bin + " not built")
    if not shutil.which("cryptsetup"):
        skip("cryptsetup not installed")
    try:
        import cryptography.hazmat.primitives.ciphers  # noqa: F401
    except ImportError:
        skip("python3-cryptography not installed (the independent decrypt)")
    use_fuse = (a.fuse_procs > 0 and os.path.exists("/dev/fuse") and
                (os.geteuid() == 0 or shutil.which("fusermount3")))
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    print("soak: seed %d, %.0f s, %d MiB, NBD %d conns x QD%d, FUSE %s" %
          (seed, a.duration, a.size >> 20, a.conns, a.depth,
           "%d procs" % a.fuse_procs if use_fuse else "off"), flush=True)

    tmp = tempfile.mkdtemp(prefix="lb-soak.", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    payload, header = tmp + "/payload.img", tmp + "/header.img"
    passfile, sock, qmp_sock = tmp + "/pass", tmp + "/nbd.sock", tmp + "/qmp.sock"
    mnt = tmp + "/mnt"
    with open(passfile, "w") as f:
        f.write("soak-pass")
    with open(payload, "wb") as f:
        f.truncate(a.size)
    subprocess.run(["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
                    "--header", header, "--key-file", passfile,
                    "--cipher", "aes-xts-plain64", "--key-size", "512",
                    "--sector-size", str(SECTOR), "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", payload],
                   check=True, capture_output=True)
    cmd = [daemon_bin, "--object", "secret,id=sec0,file=" + passfile,
           "--blockdev", "driver=file,node-name=p,filename=" + payload,
           "--blockdev", "driver=file,node-name=h,filename=" + header,
           "--blockdev", "driver=luks,node-name=v,file=p,header=h,key-secret=sec0",
           "--nbd-server", "addr.type=unix,addr.path=" + sock,
           "--export", "type=nbd,id=e0,node-name=v,name=disk0,writable=on"]
    if use_fuse:
        open(mnt, "w").close()
        cmd += ["--export", "type=fuse,id=f0,node-name=v,mountpoint=%s,writable=on" % mnt]
    cmd += ["--chardev", "socket,id=m0,path=%s,server=on,wait=off" % qmp_sock,
            "--monitor", "chardev=m0", "--pidfile", tmp + "/pid"]
    log = open(tmp + "/daemon.log", "w+")
    daemon = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    stats = Stats()
    try:
        rc = run(a, seed, daemon, tmp, payload, header, passfile, sock, qmp_sock,
                 mnt if use_fuse else None, stats, log)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        if use_fuse:
            subprocess.run(["fusermount3", "-u", "-z", mnt], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return rc


def run(a, seed, daemon, tmp, payload, header, passfile, sock, qmp_sock, mnt,
        stats, log):
    for _ in range(600):
        if os.path.exists(tmp + "/pid") and os.path.exists(qmp_sock):
            break
        if daemon.poll() is not None:
            log.seek(0)
            print(log.read())
            print("FAIL daemon exited at start-up")
            return 1
        time.sleep(0.05)
    qmp = Qmp(qmp_sock)
    if mnt:
        for _ in range(200):
            with open("/proc/self/mounts") as f:
                if " %s fuse" % mnt in f.read():
                    break
            time.sleep(0.05)
    # A fresh LUKS volume reads as noise: write zeros everywhere first
    # (the model starts from them).
    async def zero_fill():
        c = Nbd()
        await c.connect(sock, "disk0")
        for off in range(0, a.size, 1 << 20):
            await c.request(CMD_WRITE, off, min(1 << 20, a.size - off),
                            bytes(min(1 << 20, a.size - off)))
        await c.request(CMD_FLUSH)
        await c.close()
    asyncio.run(zero_fill())
    time.sleep(0.2)      # the zero-fill connection closed on the server too
    rss0, fds0 = proc_usage(daemon.pid)

    # Layout: shared blocks first, then NBD lanes, then FUSE regions.
    size = a.size
    nfuse = a.fuse_procs if mnt else 0
    sh_size = (size // 8) // SHARED_BLOCK * SHARED_BLOCK
    fuse_size = (size // 4) // max(nfuse, 1) // SECTOR * SECTOR if nfuse else 0
    lanes = a.conns * a.depth
    lane_size = (size - sh_size - fuse_size * nfuse) // lanes // SECTOR * SECTOR
    if lane_size < SECTOR * 4:
        print("FAIL volume too small for %d lanes" % lanes)
        return 1
    fuse_base = sh_size + lanes * lane_size
    deadline = time.monotonic() + a.duration
    t0 = time.monotonic()

    def phase(what):
        if os.environ.get("SOAK_DEBUG"):
            print("soak: %6.1f s %s" % (time.monotonic() - t0, what), flush=True)

    procs = []
    for i in range(nfuse):
        rx, tx = multiprocessing.Pipe(False)
        p = multiprocessing.Process(target=fuse_proc, args=(
            mnt, fuse_base + i * fuse_size, fuse_size, 0, sh_size // SHARED_BLOCK,
            deadline, seed + 1000 + i, tx))
        p.start()
        tx.close()
        procs.append((p, rx))

    stop = threading.Event()
    amend = threading.Thread(target=amend_loop, args=(qmp, deadline, stats, stop))
    if not a.no_amend:
        amend.start()

    async def nbd_all():
        conns = []
        for _ in range(a.conns):
            c = Nbd()
            await c.connect(sock, "disk0")
            conns.append(c)
        if not conns[0].flags & FLAG_CAN_MULTI_CONN:
            stats.error("export does not advertise multi-conn")
        shared = SharedModel(sh_size // SHARED_BLOCK)
        counter = iter(range(1, 1 << 62))
        regions, tasks = [], []
        for ci, c in enumerate(conns):
            for d in range(a.depth):
                n = ci * a.depth + d
                reg = Region(sh_size + n * lane_size, lane_size)
                regions.append(reg)
                tasks.append(nbd_lane(c, reg, shared, 0, sh_size // SHARED_BLOCK,
                                      deadline, random.Random(seed + n), stats,
                                      counter))
        await asyncio.gather(*tasks)
        phase("clients done")
        await conns[0].request(CMD_FLUSH)
        # The whole volume through NBD: checked against the model here.
        image = bytearray()
        for off in range(0, size, 1 << 20):
            image += await conns[0].request(CMD_READ, off, min(1 << 20, size - off))
        stats.op("nbd-final-read", size)
        for reg in regions:
            bad = reg.check(0, bytes(image[reg.base:reg.base + reg.size]))
            if bad:
                stats.error("final read " + bad)
        for idx in range(sh_size // SHARED_BLOCK):
            rid = shared.read_issued()
            s = shared_parse(idx, bytes(image[idx * SHARED_BLOCK:(idx + 1) * SHARED_BLOCK]))
            bad = s if isinstance(s, str) else shared.read_check(rid, idx, s)
            if bad:
                stats.error("final read " + bad)
        phase("final read checked")
        for c in conns:
            await c.close()
        phase("closes done")
        return image

    loop = asyncio.new_event_loop()
    try:
        image = loop.run_until_complete(nbd_all())
    except (NbdError, OSError, asyncio.IncompleteReadError) as e:
        stats.error("nbd: %r" % e)
        image = None
    phase("NBD done")
    loop.close()
    phase("NBD closed")
    stop.set()
    if amend.is_alive():
        amend.join()
    phase("amend stopped")
    for i, (p, rx) in enumerate(procs):
        try:
            d = rx.recv() if rx.poll(a.duration + 120) else None
        except EOFError:
            d = None
        p.join(30)
        if d is None:
            stats.error("FUSE process %d gave no result (exit %s)" % (i, p.exitcode))
            continue
        stats.merge(d)
        if image is not None:
            reg = Region(fuse_base + i * fuse_size, fuse_size)
            reg.data, reg.known = bytearray(d["data"]), bytearray(d["known"])
            bad = reg.check(0, bytes(image[reg.base:reg.base + reg.size]))
            if bad:
                stats.error("final read (FUSE region %d) %s" % (i, bad))
    phase("FUSE results")
    elapsed = time.monotonic() - t0
    time.sleep(0.2)      # connections closed by the clients: server side too
    rss1, fds1 = proc_usage(daemon.pid)
    qmp.cmd("quit")
    qmp.s.close()
    try:
        daemon.wait(60)
    except subprocess.TimeoutExpired:
        stats.error("daemon did not quit")
    if daemon.returncode != 0:
        stats.error("daemon exit status %s" % daemon.returncode)

    if image is not None:
        plain = independent_decrypt(payload, volume_key(header, passfile), size)
        if plain != bytes(image):
            first = next(i for i in range(size) if plain[i] != image[i])
            stats.error("independent decrypt differs from NBD at byte %d" % first)
        else:
            stats.op("independent-decrypt", size)
    # The original passphrase still opens the header.
    if subprocess.run(["cryptsetup", "open", "--test-passphrase", "--header", header,
                       "--key-file", passfile, payload], capture_output=True).returncode:
        stats.error("the header no longer opens with the original passphrase")

    nops = sum(v for k, v in stats.ops.items() if k not in ("nbd-final-read", "independent-decrypt"))
    print("soak: %.1f s, %d operations (%.0f/s), %.2f GiB moved, %d errors" %
          (elapsed, nops, nops / elapsed, stats.bytes / (1 << 30), len(stats.errors)))
    print("soak: ops " + ", ".join("%s %d" % kv for kv in sorted(stats.ops.items())))
    print("soak: daemon RSS %.1f -> %.1f MiB, fds %d -> %d" %
          (rss0 / 2**20, rss1 / 2**20, fds0, fds1))
    if fds1 != fds0:
        stats.error("daemon fds %d at start, %d at the end" % (fds0, fds1))
    # Bounded: buffers and caches settle; a leak per request would not.
    # (Sanitizer builds keep shadow and quarantine memory: no bound there.)
    if not os.environ.get("LB_SANITIZER") and rss1 > rss0 + (256 << 20):
        stats.error("daemon RSS grew from %d to %d bytes" % (rss0, rss1))
    if not a.no_amend and stats.ops.get("amend-add-remove", 0) == 0:
        stats.error("no keyslot amend completed during the soak")
    if stats.errors:
        log.seek(0)
        print(log.read()[-4000:])
        print("FAIL soak: %d errors (seed %d)" % (len(stats.errors), seed))
        return 1
    print("ok    soak: every read matched the model; the independent decrypt matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
