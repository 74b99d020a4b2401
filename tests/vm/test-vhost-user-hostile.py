#!/usr/bin/env python3
"""test-vhost-user-hostile.py: a hostile vhost-user front-end against
luksblk's vhost-user-blk export.  Descriptor chains that point outside
guest memory, run past a region, loop, nest indirect tables, carry too
many buffers or put buffers out of order; rings whose indices run away;
malformed and truncated protocol messages; memory tables larger than
their memfd, unsealable memfds and a memfd truncated after mapping;
stray fds; a front-end that stalls in the middle of a message.  After
each, the daemon must still be running, answer on the socket and over
QMP, and serve a well-behaved front-end with the bytes written before.
"""
import os
import random
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vuclient as vu  # noqa: E402
from vmlib import finish, Daemon, Volume, check  # noqa: E402

KNOWN = bytes(range(256)) * 16         # 4 KiB written first, checked last


def one(b, bufs, qi=0, indirect=False, timeout=2.0):
    """Submit a raw chain; returns (used entry or None, status byte)."""
    q = b.queues[qi]
    status = bufs[-1][0] if bufs and bufs[-1][2] else None
    if status and 0 <= status - vu.GPA_BASE < b.mem.size:
        b.mem.write(status, b"\xee")
    head, descs = q.add_indirect(bufs) if indirect else q.add_chain(bufs)
    q.notify()
    try:
        used = q.wait_used(1, timeout)[0]
    except vu.VuError:
        used = None
    q.release(descs)
    st = None
    if status and 0 <= status - vu.GPA_BASE < b.mem.size:
        st = b.mem.read(status, 1)[0]
    return used, st


def hdr(b, rtype=vu.T_IN, sector=0):
    g = b.mem.alloc(16)
    b.mem.write(g, struct.pack("<IIQ", rtype, 0, sector))
    return g


def test_chains(b):
    m = b.mem
    st_g = m.alloc(1)
    data = m.alloc(4096, 512)
    end = vu.GPA_BASE + m.size
    cases = [
        ("data buffer outside guest memory",
         [(hdr(b), 16, False), (0x1000, 4096, True), (st_g, 1, True)]),
        ("data buffer running past the region's end",
         [(hdr(b), 16, False), (end - 512, 4096, True), (st_g, 1, True)]),
        ("data buffer at the top of the address space",
         [(hdr(b), 16, False), (2 ** 64 - 512, 4096, True),
          (st_g, 1, True)]),
        ("4 GiB descriptor length",
         [(hdr(b), 16, False), (data, 0xffffffff, True), (st_g, 1, True)]),
        ("readable buffer after a writable one",
         [(hdr(b, vu.T_OUT), 16, False), (st_g, 1, True),
          (data, 512, False), (st_g, 1, True)]),
        ("header outside guest memory",
         [(0x20, 16, False), (data, 512, True), (st_g, 1, True)]),
        ("header too short",
         [(hdr(b), 8, False), (data, 512, True), (st_g, 1, True)]),
        ("no header at all", [(st_g, 1, True)]),
        ("OUT with a writable data buffer",
         [(hdr(b, vu.T_OUT), 16, False), (data, 512, True),
          (st_g, 1, True)]),
    ]
    for what, bufs in cases:
        used, st = one(b, bufs)
        check(used is not None and st == vu.S_IOERR and used[1] == 1,
              "%s: IOERR" % what)

    # Status byte outside guest memory: answered, nothing written.
    used, _ = one(b, [(hdr(b), 16, False), (data, 512, True),
                      (end + 4096, 1, True)])
    check(used is not None and used[1] == 0,
          "status byte outside guest memory: returned with length 0")
    # Too many buffers for one request (more than the back-end's limit).
    bufs = [(hdr(b), 16, False)] + [(data, 512, True)] * 300 + \
        [(st_g, 1, True)]
    used, st = one(b, bufs, indirect=True)
    check(used is not None and st == vu.S_IOERR,
          "302 buffers through an indirect table: IOERR")


def raw_desc_case(b, what, build, expect_broken=False):
    """@build(q) writes descriptors and returns the head to publish."""
    q = b.queues[0]
    head = build(q)
    q.publish(head)
    q.notify()
    try:
        used = q.wait_used(1, 1.0 if expect_broken else 2.0)[0]
    except vu.VuError:
        used = None
    if expect_broken:
        check(used is None and b.conn.alive(),
              "%s: queue stopped, daemon answers" % what)
        restart(b)
    else:
        check(used is not None and used[1] == 0,
              "%s: returned with length 0" % what)


def restart(b):
    """What QEMU does when the guest resets the device: stop the ring,
    then start it again on zeroed rings from index 0."""
    q = b.queues[0]
    r = b.conn.call(vu.GET_VRING_BASE, struct.pack("<II", 0, 0))
    check(struct.unpack("<II", r)[0] == 0, "GET_VRING_BASE on a stopped ring")
    q.free = list(range(q.size))
    b.mem.write(q.desc, bytes(vu.RING_AREA))
    check(not any(q.setup(0)), "ring reset and restarted")


def test_raw_rings(b):
    m = b.mem
    q = b.queues[0]
    free_hi = q.size - 1               # descriptors we place by hand

    def loop(q):
        q.put_desc(free_hi, m.alloc(16), 16, vu.DESC_NEXT, free_hi)
        return free_hi
    raw_desc_case(b, "descriptor chain looping on itself", loop)

    def next_oob(q):
        q.put_desc(free_hi, m.alloc(16), 16, vu.DESC_NEXT, 60000)
        return free_hi
    raw_desc_case(b, "next index beyond the ring", next_oob)

    def ind_bad_len(q):
        q.put_desc(free_hi, m.alloc(64), 40, vu.DESC_INDIRECT)
        return free_hi
    raw_desc_case(b, "indirect table of 40 bytes", ind_bad_len)

    def ind_outside(q):
        q.put_desc(free_hi, 0x5000, 64, vu.DESC_INDIRECT)
        return free_hi
    raw_desc_case(b, "indirect table outside guest memory", ind_outside)

    def ind_nested(q):
        t = m.alloc(32, 16)
        m.write(t, struct.pack("<QIHH", t, 32, vu.DESC_INDIRECT, 0))
        q.put_desc(free_hi, t, 32, vu.DESC_INDIRECT)
        return free_hi
    raw_desc_case(b, "indirect table inside an indirect table", ind_nested)

    def ind_loop(q):
        t = m.alloc(32, 16)
        m.write(t, struct.pack("<QIHH", m.alloc(16), 16, vu.DESC_NEXT, 1) +
                struct.pack("<QIHH", m.alloc(16), 16, vu.DESC_NEXT, 0))
        q.put_desc(free_hi, t, 32, vu.DESC_INDIRECT)
        return free_hi
    raw_desc_case(b, "loop inside an indirect table", ind_loop)

    raw_desc_case(b, "head index beyond the ring", lambda q: 40000,
                  expect_broken=True)

    def runaway(q):
        q.avail_idx = (q.avail_idx + 1000) & 0xffff
        return 0
    raw_desc_case(b, "available index 1000 ahead", runaway,
                  expect_broken=True)

    st, got, _ = b.read(0, 4096)
    check(st == vu.S_OK and got == KNOWN, "ring serves again after all that")


def test_fuzz_chains(b, n=150):
    """Random descriptors inside the data area: every one answered."""
    rnd = random.Random(1234)
    m = b.mem
    q = b.queues[0]
    lo, hi = vu.GPA_BASE + vu.HEAP_START, vu.GPA_BASE + m.size
    answered = broken = 0
    for _ in range(n):
        k = rnd.randint(1, 5)
        idx = rnd.sample(range(q.size - 16, q.size), k)
        for j, i in enumerate(idx):
            flags = rnd.choice([0, vu.DESC_WRITE, vu.DESC_NEXT,
                                vu.DESC_NEXT | vu.DESC_WRITE,
                                vu.DESC_INDIRECT, 7])
            nxt = idx[j + 1] if j + 1 < k else rnd.randint(0, 200)
            addr = rnd.choice([rnd.randint(lo, hi), rnd.randint(0, 2**64 - 1),
                               hi - rnd.randint(0, 4096)])
            ln = rnd.choice([0, 1, 16, 512, 4096, rnd.randint(0, 2**32 - 1)])
            q.put_desc(i, addr, ln, flags, nxt)
            if flags & vu.DESC_INDIRECT and lo <= addr < hi - 64:
                for e in range(4):
                    m.write(addr + 16 * e, struct.pack(
                        "<QIHH", rnd.randint(lo, hi), rnd.choice([1, 512]),
                        rnd.randint(0, 7), rnd.randint(0, 5)))
        # A random sector: the header may land anywhere in the data area.
        q.publish(idx[0])
        q.notify()
        try:
            q.wait_used(1, 1.0)
            answered += 1
        except vu.VuError:
            broken += 1
            restart(b)
    check(answered + broken == n and b.conn.alive(),
          "%d random chains: %d answered, %d stopped the ring; daemon up"
          % (n, answered, broken))


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_messages(d, sock):
    pid = d.p.pid

    def fresh():
        c = vu.Conn(sock)
        return c

    # Oversized payload, bad version, truncated payload: dropped.
    for what, raw in [
            ("payload size 4 GiB", struct.pack("<III", vu.SET_MEM_TABLE, 1,
                                               0xffffffff)),
            ("protocol version 2", struct.pack("<III", vu.GET_FEATURES, 2,
                                               0)),
    ]:
        c = fresh()
        c.sock.sendall(raw)
        c.sock.settimeout(2)
        try:
            gone = c.sock.recv(1) == b""
        except (socket.timeout, OSError):
            gone = False
        check(gone, "%s: connection dropped" % what)
        c.close()

    b = vu.BlkDev(sock)
    c = b.conn
    acks = {
        "unknown request 999": c.do(999),
        "SET_LOG_BASE (not offered)": c.do(vu.SET_LOG_BASE,
                                           struct.pack("<QQ", 0, 0)),
        "SET_VRING_NUM on queue 500": c.do(vu.SET_VRING_NUM,
                                           struct.pack("<II", 500, 64)),
        "SET_VRING_NUM of 3": c.do(vu.SET_VRING_NUM,
                                   struct.pack("<II", 0, 3)),
        "SET_VRING_NUM of 65536": c.do(vu.SET_VRING_NUM,
                                       struct.pack("<II", 0, 65536)),
        "SET_VRING_ENABLE 7": c.do(vu.SET_VRING_ENABLE,
                                   struct.pack("<II", 0, 7)),
        "SET_CONFIG of capacity": c.do(vu.SET_CONFIG, struct.pack(
            "<III", 0, 8, 0) + bytes(8)),
        "SET_CONFIG wce=2": c.do(vu.SET_CONFIG, struct.pack(
            "<III", 32, 1, 0) + b"\x02"),
        "SET_CONFIG for migration": c.do(vu.SET_CONFIG, struct.pack(
            "<III", 32, 1, 1) + b"\x01"),
        "SET_FEATURES with unknown bits": c.do(vu.SET_FEATURES,
                                               struct.pack("<Q", 1 << 63)),
        "SET_VRING_KICK without an fd": c.do(vu.SET_VRING_KICK,
                                             struct.pack("<Q", 0)),
        "SET_VRING_CALL on queue 9": c.do(vu.SET_VRING_CALL,
                                          struct.pack("<Q", 1 << 8 | 9)),
    }
    for what, ack in acks.items():
        check(ack != 0, "%s: refused (ack %d)" % (what, ack))
    r = c.call(vu.GET_CONFIG, struct.pack("<III", 250, 100, 0) + bytes(100))
    check(r == b"", "GET_CONFIG beyond 256 bytes: empty reply")

    # Memory tables.
    mem2 = vu.Memory(1 << 20)
    ack = c.do(vu.SET_MEM_TABLE, mem2.table(size=8 << 20), [mem2.fd])
    check(ack != 0, "region larger than its memfd: refused")
    ack = c.do(vu.SET_MEM_TABLE, mem2.table(offset=1 << 20, size=4096),
               [mem2.fd])
    check(ack != 0, "region offset past its memfd: refused")
    ack = c.do(vu.SET_MEM_TABLE, struct.pack("<II", 9, 0) + bytes(9 * 32),
               [mem2.fd])
    check(ack != 0, "9 regions: refused")
    ack = c.do(vu.SET_MEM_TABLE, mem2.table(), [mem2.fd, mem2.fd])
    check(ack != 0, "one region with two fds: refused")
    unsealable = vu.Memory(1 << 20, seal=False)
    ack = c.do(vu.SET_MEM_TABLE, unsealable.table(), [unsealable.fd])
    check(ack != 0, "memfd that cannot be sealed against shrinking: refused")
    check(b.read(0, 4096)[1] == KNOWN, "old table still in use after refusals")

    # The table in use cannot be shrunk under the daemon any more.
    try:
        os.ftruncate(b.mem.fd, 4096)
        shrunk = True
    except PermissionError:
        shrunk = False
    check(not shrunk, "guest memfd sealed: the front-end cannot truncate it")

    # Stray fds on messages that take none are closed, not leaked.
    before = fd_count(pid)
    for _ in range(40):
        r, w = os.pipe()
        c.send(vu.SET_OWNER, b"", [r, w], need_reply=True)
        c.recv(vu.SET_OWNER)
        os.close(r)
        os.close(w)
    check(fd_count(pid) <= before + 2, "40 messages with stray fds: no leak")
    check(b.read(0, 4096)[1] == KNOWN, "I/O fine after message abuse")
    b.close()


def test_stall(d, sock):
    """A front-end stuck half-way through a message; hard delete."""
    c = vu.Conn(sock)
    c.sock.sendall(struct.pack("<III", vu.SET_VRING_NUM, 1, 8) + b"\0\0")
    time.sleep(0.2)
    t0 = time.monotonic()
    r = d.qmp.cmd("block-export-del", {"id": "vu0", "mode": "hard"})
    took = time.monotonic() - t0
    check(r == {"return": {}} and took < 3,
          "stalled front-end: hard block-export-del in %.2f s" % took)
    c.close()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        vol = Volume(tmp, size_mb=8)
        sock = os.path.join(tmp, "vu.sock")
        export = ("type=vhost-user-blk,id=vu0,node-name=disk0,addr.type=unix,"
                  "addr.path=%s,writable=on,num-queues=2" % sock)
        d = Daemon(tmp, vol.blockdev_args() + ["--export", export])
        try:
            b = vu.BlkDev(sock, nq=2)
            check(b.write(0, KNOWN)[0] == vu.S_OK, "known data written")
            test_chains(b)
            test_raw_rings(b)
            test_fuzz_chains(b)
            st, got, _ = b.read(0, 4096, qi=1)
            check(st == vu.S_OK and got == KNOWN, "queue 1 unaffected")
            b.close()
            test_messages(d, sock)
            b = vu.BlkDev(sock)
            check(b.read(0, 4096)[1] == KNOWN,
                  "well-behaved front-end after the hostile ones")
            b.close()
            test_stall(d, sock)
            r = d.qmp.cmd("query-block-exports")
            check(d.alive() and r == {"return": []},
                  "daemon alive, QMP answers")
        except (OSError, vu.VuError) as e:
            check(False, "exception: %r" % e)
        finally:
            log = d.stop()
        check(vol.oracle_read(0, 4096) == KNOWN,
              "independent decrypt: known data intact")
    return finish(log)


if __name__ == "__main__":
    sys.exit(main())
