#!/usr/bin/env python3
"""hostile-nbd.py: the NBD server against clients that misbehave, while a
well-behaved client keeps writing and verifying, and the daemon's fds,
threads and memory are watched.

  * CYCLES (default 10,000) connect/disconnect cycles from 4 threads:
    gone before the greeting, mid-handshake (part of an option), reset
    (SO_LINGER 0) after the greeting, mid-request (a write's header and
    half its data, after GO), and mid-TLS (STARTTLS, then part of a real
    ClientHello) on a TLS server;
  * 1,000 idle connections in transmission at once (under TSan, 2,000
    cycles and 200 idle connections: LB_SANITIZER=thread);
  * oversized, out-of-range and misaligned requests;
  * a client that sends 256 MiB of reads and never reads a reply;
  * max-connections honoured (the limit's client waits, is served later).

Afterwards: the daemon is alive, the good client saw no error, the fds are
back to their count before the first client, threads are back, the RSS is
bounded, and the daemon quits cleanly.  Unix sockets only (loopback);
LB_BUILD names the build dir; HOSTILE_CYCLES overrides the cycle count.
"""
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "interop")]
from hostile_lib import (Daemon, Qmp, check, finish, raise_fd_limit,  # noqa: E402
                         wait_for)
from nbdqmp import recvall  # noqa: E402

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REQ_MAGIC = 0x25609513
SIMPLE_REPLY = 0x67446698
OPT_STARTTLS, OPT_GO = 5, 7
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3
SIZE = 16 << 20


def unix(path, timeout=20):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def go(s, name="disk0"):
    """Handshake on S up to transmission; S, or None when refused."""
    recvall(s, 18)
    n = name.encode()
    data = struct.pack(">I", len(n)) + n + struct.pack(">H", 0)
    s.sendall(struct.pack(">I", 3) + struct.pack(">QII", IHAVEOPT, OPT_GO, len(data)) + data)
    while True:
        _, _, rtype, length = struct.unpack(">QIII", recvall(s, 20))
        recvall(s, length)
        if rtype == 1:
            return s
        if rtype & (1 << 31):
            return None


def request(s, cmd, off, length, data=b"", cookie=1):
    s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, cmd, cookie, off, length) + data)


def reply(s, length=0):
    magic, err, cookie = struct.unpack(">IIQ", recvall(s, 16))
    assert magic == SIMPLE_REPLY, hex(magic)
    data = recvall(s, length) if length and not err else b""
    return err, cookie, data


class GoodClient(threading.Thread):
    """Writes a pattern into its own 1 MiB and reads it back, in a loop."""

    def __init__(self, path, base):
        super().__init__(daemon=True)
        self.path, self.base = path, base
        self.stop = threading.Event()
        self.ops = 0
        self.errors = []

    def run(self):
        try:
            s = go(unix(self.path))
            rnd = random.Random(self.base)
            while not self.stop.is_set():
                off = self.base + rnd.randrange(0, (1 << 20) - 65536, 512)
                buf = rnd.randbytes(rnd.choice((512, 4096, 65536)))
                request(s, CMD_WRITE, off, len(buf), buf)
                err, _, _ = reply(s)
                request(s, CMD_READ, off, len(buf), cookie=2)
                err2, _, got = reply(s, len(buf))
                if err or err2 or got != buf:
                    self.errors.append("at %d: errors %d/%d, data %s" %
                                       (off, err, err2, "ok" if got == buf else "differs"))
                    return
                self.ops += 2
            request(s, CMD_DISC, 0, 0)
            s.close()
        except Exception as e:          # noqa: BLE001 - reported by the test
            self.errors.append(repr(e))

    def finish(self):
        self.stop.set()
        self.join(60)
        return not self.is_alive() and not self.errors


def client_hello():
    """The first flight of a real TLS client (bytes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def cycle(path, kind, rnd, hello):
    """One misbehaving client of KIND; whether it got as far as it meant to."""
    s = unix(path)
    reached = False
    try:
        if kind == "gone":
            reached = True
        elif kind == "mid-handshake":
            recvall(s, 18)
            opt = struct.pack(">I", 3) + struct.pack(">QII", IHAVEOPT, OPT_GO, 64) + b"\0" * 7
            s.sendall(opt[:rnd.randrange(1, len(opt))])
            reached = True
        elif kind == "reset":
            recvall(s, 18)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            reached = True
        elif kind == "mid-request":
            reached = go(s) is not None
            hdr = struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_WRITE, 7,
                              rnd.randrange(0, 8 << 20, 512), 65536)
            s.sendall(hdr + bytes(rnd.randrange(0, 65536)))
        elif kind == "mid-tls":
            recvall(s, 18)
            s.sendall(struct.pack(">I", 3) + struct.pack(">QII", IHAVEOPT, OPT_STARTTLS, 0))
            _, _, rtype, length = struct.unpack(">QIII", recvall(s, 20))
            recvall(s, length)
            reached = rtype == 1
            if reached:
                s.sendall(hello[:rnd.randrange(1, len(hello) + 1)])
    except (OSError, EOFError):
        pass
    s.close()
    return reached


def run_cycles(path, plan, nthreads=4):
    """Run the (kind, count) PLAN from NTHREADS threads; the unexpected
    errors, and cycles that did not get as far as they meant to (the
    server refused or hung up early)."""
    jobs = [k for k, n in plan for _ in range(n)]
    random.Random(1).shuffle(jobs)
    errors = []
    hello = client_hello()

    def worker(i):
        rnd = random.Random(i)
        for kind in jobs[i::nthreads]:
            try:
                if not cycle(path, kind, rnd, hello):
                    errors.append("%s: cut short" % kind)
            except Exception as e:      # noqa: BLE001 - reported by the test
                errors.append("%s: %r" % (kind, e))
                return
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def main():
    raise_fd_limit(4096)
    sanitizer = os.environ.get("LB_SANITIZER")
    # Under ThreadSanitizer every connection's thread costs ~10 ms more:
    # fewer cycles and idle clients there (races need overlap, not volume).
    cycles = int(os.environ.get("HOSTILE_CYCLES", "2000" if sanitizer == "thread" else "10000"))
    n_idle = 200 if sanitizer == "thread" else 1000
    d = Daemon(extra=["--object", "tls-creds-anon,id=tls0,endpoint=server"])
    q = Qmp(d.qmp_path)
    nbd = d.nbd_path
    unix_addr = {"type": "unix", "data": {"path": nbd}}
    check(q.cmd("nbd-server-start", {"addr": unix_addr}) == {"return": {}}, "nbd-server-start")
    check(q.cmd("block-export-add", {"type": "nbd", "id": "e0", "node-name": "v",
                                      "name": "disk0", "writable": True}) == {"return": {}},
          "export disk0")
    rss0, fds0, thr0 = d.usage()
    print("daemon at start: RSS %.1f MiB, %d fds, %d threads" % (rss0 / 2**20, fds0, thr0))

    good = GoodClient(nbd, 8 << 20)
    good.start()
    wait_for(lambda: good.ops > 0 or good.errors or not good.is_alive())
    t0 = time.monotonic()
    n_tls = cycles // 20
    rest = cycles - n_tls
    plan = [("gone", rest * 4 // 10), ("mid-handshake", rest * 2 // 10),
            ("reset", rest * 2 // 10)]
    plan.append(("mid-request", rest - sum(n for _, n in plan)))
    errs = run_cycles(nbd, plan)
    check(not errs, "%d plain connect/disconnect cycles (%s): %s" %
          (rest, ", ".join("%d %s" % (n, k) for k, n in plan), errs[:3] or "no client error"))
    check(d.alive() and "return" in q.cmd("query-block-exports"), "daemon alive and answering QMP")
    print("  %.1f s" % (time.monotonic() - t0))

    # 1,000 idle connections in transmission at once.
    t1 = time.monotonic()
    idle = []
    try:
        for _ in range(n_idle):
            idle.append(go(unix(nbd)))
    except (OSError, EOFError) as e:
        check(False, "idle connection %d: %r" % (len(idle), e))
    check(len(idle) == n_idle and all(idle), "%d idle connections in transmission" % n_idle)
    _, fds_idle, thr_idle = d.usage()
    print("  with %d idle: %d fds, %d threads" % (n_idle, fds_idle, thr_idle))
    s = go(unix(nbd))
    request(s, CMD_READ, 0, 4096)
    check(reply(s, 4096)[0] == 0, "a new client is served beside them")
    s.close()
    check("return" in q.cmd("query-named-block-nodes"), "QMP answers beside them")
    for c in idle:
        c.close()
    idle = []
    print("  %.1f s" % (time.monotonic() - t1))

    # Oversized, out-of-range and misaligned requests.
    s = go(unix(nbd))
    request(s, CMD_WRITE, 1, 3, b"xyz")
    ok_w = reply(s)[0] == 0
    request(s, CMD_READ, 0, 5, cookie=2)
    err, _, got = reply(s, 5)
    check(ok_w and err == 0 and got[1:4] == b"xyz", "misaligned write and read (offset 1, 3 bytes)")
    request(s, CMD_READ, SIZE - 512, 1024, cookie=3)
    check(reply(s)[0] != 0, "a read past the end: error reply")
    request(s, CMD_WRITE, SIZE, 512, bytes(512), cookie=4)
    check(reply(s)[0] != 0, "a write past the end: error reply")
    request(s, CMD_READ, 0, 64 << 20, cookie=5)
    try:
        err, _, _ = reply(s)
        oversize = err != 0
    except (EOFError, OSError):
        oversize = True      # a hard disconnect is allowed too
    check(oversize, "a 64 MiB read (over the 32 MiB maximum): error or disconnect")
    s.close()
    s = go(unix(nbd))
    try:
        request(s, CMD_WRITE, 0, 33 << 20, bytes(33 << 20))
        err, _, _ = reply(s)
        check(err != 0, "a 33 MiB write (over the maximum): error reply")
    except (EOFError, OSError):
        check(True, "a 33 MiB write (over the maximum): disconnected")
    s.close()

    # A client that never reads its replies.
    s = go(unix(nbd))
    s.settimeout(0.5)
    sent = 0
    try:
        for i in range(256):
            request(s, CMD_READ, (i % 16) << 20, 1 << 20, cookie=100 + i)
            sent += 1
    except (socket.timeout, OSError):
        pass                                      # the server stopped reading
    rss_stuck = d.usage()[0]
    s2 = go(unix(nbd))
    request(s2, CMD_READ, 8 << 20, 4096)
    check(reply(s2, 4096)[0] == 0, "others served while a client never reads "
          "(%d 1 MiB reads sent)" % sent)
    s2.close()
    s.close()
    if not sanitizer:
        check(rss_stuck < rss0 + (160 << 20), "daemon RSS bounded with unread replies "
              "(%.1f MiB)" % (rss_stuck / 2**20))

    # max-connections: the limit's client waits and is served later.
    check(good.finish(), "the good client saw no error (%d ops) %s" % (good.ops, good.errors[:1]))
    check(q.cmd("nbd-server-stop") == {"return": {}}, "nbd-server-stop")
    r = q.cmd("nbd-server-start", {"addr": unix_addr, "max-connections": 4})
    check(r == {"return": {}}, "nbd-server-start max-connections=4")
    q.cmd("block-export-add", {"type": "nbd", "id": "e1", "node-name": "v",
                               "name": "disk0", "writable": True})
    four = [go(unix(nbd)) for _ in range(4)]
    fifth = unix(nbd)
    fifth.settimeout(1.0)
    try:
        early = fifth.recv(18)
    except socket.timeout:
        early = None
    check(all(four) and not early, "max-connections=4: the fifth client is not greeted")
    four.pop().close()
    fifth.settimeout(20)
    check(go(fifth) is not None, "... and is served once one of the four leaves")
    for c in four + [fifth]:
        c.close()

    # Mid-TLS: a TLS server, clients vanishing inside the TLS handshake.
    check(q.cmd("nbd-server-stop") == {"return": {}}, "nbd-server-stop")
    r = q.cmd("nbd-server-start", {"addr": unix_addr, "tls-creds": "tls0"})
    check(r == {"return": {}}, "nbd-server-start with TLS")
    q.cmd("block-export-add", {"type": "nbd", "id": "e2", "node-name": "v",
                               "name": "disk0", "writable": True})
    t2 = time.monotonic()
    errs = run_cycles(nbd, [("mid-tls", n_tls), ("gone", 0)])
    check(not errs, "%d mid-TLS cycles: %s" % (n_tls, errs[:3] or "no client error"))
    print("  %.1f s" % (time.monotonic() - t2))
    check(q.cmd("nbd-server-stop") == {"return": {}}, "nbd-server-stop")
    check(q.cmd("nbd-server-start", {"addr": unix_addr}) == {"return": {}}, "plain server again")
    q.cmd("block-export-add", {"type": "nbd", "id": "e3", "node-name": "v",
                               "name": "disk0", "writable": True})

    # Nothing left behind: the server's connections all ended.
    def settled():
        rss, fds, thr = d.usage()
        return fds <= fds0 and thr <= thr0 + 2 and (rss, fds, thr)
    end = wait_for(settled, 60, 0.1)
    rss1, fds1, thr1 = d.usage()
    print("daemon at end: RSS %.1f MiB, %d fds, %d threads" % (rss1 / 2**20, fds1, thr1))
    check(fds1 == fds0, "fds back to %d (now %d)" % (fds0, fds1))
    check(bool(end), "threads back to %d (+2 idle pool workers; now %d)" % (thr0, thr1))
    if not sanitizer:
        check(rss1 < rss0 + (96 << 20), "RSS bounded: %.1f -> %.1f MiB" %
              (rss0 / 2**20, rss1 / 2**20))
    s = go(unix(nbd))
    request(s, CMD_READ, 1, 3)
    check(reply(s, 3)[2] == b"xyz", "data written before is still there")
    s.close()
    q.close()
    check(d.stop(), "daemon quits cleanly")
    finish()


if __name__ == "__main__":
    main()
