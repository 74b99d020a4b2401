"""vuclient.py: a small vhost-user front-end and virtio-blk driver in
Python, for testing luksblk's vhost-user-blk export without a VM.

Written from QEMU's docs/interop/vhost-user.rst and the virtio 1.2 spec
(split rings).  Guest RAM is one memfd shared with the back-end; the
"guest physical" and "front-end virtual" addresses are made up (GPA_BASE,
UADDR_BASE) so the back-end must really translate them.  The helpers let
a test build well-formed requests and, for the hostile tests, arbitrary
descriptor chains and raw protocol messages.
"""
import mmap
import os
import select
import socket
import struct
import time

# vhost-user requests
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER = 1, 2, 3, 4
SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD = 5, 6, 7
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES = 15, 16
GET_QUEUE_NUM, SET_VRING_ENABLE = 17, 18
GET_CONFIG, SET_CONFIG = 24, 25

F_PROTOCOL_FEATURES = 1 << 30
PF_MQ, PF_REPLY_ACK, PF_CONFIG = 1 << 0, 1 << 3, 1 << 9
F_INDIRECT, F_EVENT_IDX, F_VERSION_1 = 1 << 28, 1 << 29, 1 << 32
BLK_F_RO, BLK_F_FLUSH, BLK_F_MQ = 1 << 5, 1 << 9, 1 << 12
BLK_F_DISCARD, BLK_F_WRITE_ZEROES, BLK_F_CONFIG_WCE = 1 << 13, 1 << 14, 1 << 11

DESC_NEXT, DESC_WRITE, DESC_INDIRECT = 1, 2, 4
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
T_DISCARD, T_WRITE_ZEROES = 11, 13
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2

GPA_BASE = 0x40000000
UADDR_BASE = 0x7f1200000000
QSIZE = 128
RING_AREA = 0x4000          # per queue: desc, avail, used
HEAP_START = 0x40000        # data buffers are allocated from here


class VuError(Exception):
    pass


class Conn:
    """One vhost-user connection (the socket)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.ack = False

    def close(self):
        self.sock.close()

    def send(self, req, payload=b"", fds=(), flags=1, need_reply=False):
        if need_reply:
            flags |= 1 << 3
        msg = struct.pack("<III", req, flags, len(payload)) + payload
        if fds:
            socket.send_fds(self.sock, [msg], list(fds))
        else:
            self.sock.sendall(msg)

    def recv(self, req):
        hdr = self._recvall(12)
        r, flags, size = struct.unpack("<III", hdr)
        if r != req or not flags & 4:
            raise VuError("bad reply %d flags %#x to %d" % (r, flags, req))
        return self._recvall(size)

    def _recvall(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise VuError("connection closed")
            buf += chunk
        return buf

    def call(self, req, payload=b"", fds=()):
        """A request with its own reply."""
        self.send(req, payload, fds)
        return self.recv(req)

    def do(self, req, payload=b"", fds=()):
        """A request without a reply; with REPLY_ACK, returns the ack."""
        self.send(req, payload, fds, need_reply=self.ack)
        if self.ack:
            return struct.unpack("<Q", self.recv(req))[0]
        return 0

    def alive(self):
        """True if the back-end still answers on this connection."""
        try:
            return len(self.call(GET_FEATURES)) == 8
        except (OSError, VuError):
            return False


class Memory:
    """Guest RAM: one memfd, mapped here and sent to the back-end."""

    def __init__(self, size=4 << 20, seal=True):
        flags = os.MFD_CLOEXEC | (os.MFD_ALLOW_SEALING if seal else 0)
        self.fd = os.memfd_create("vuguest", flags)
        os.ftruncate(self.fd, size)
        self.size = size
        self.m = mmap.mmap(self.fd, size)
        self.heap = HEAP_START

    def alloc(self, n, align=64):
        self.heap = (self.heap + align - 1) // align * align
        off = self.heap
        self.heap += n
        if self.heap > self.size:
            self.heap = HEAP_START       # reuse: tests keep few buffers live
            return self.alloc(n, align)
        return GPA_BASE + off

    def off(self, gpa):
        return gpa - GPA_BASE

    def write(self, gpa, data):
        o = self.off(gpa)
        self.m[o:o + len(data)] = data

    def read(self, gpa, n):
        o = self.off(gpa)
        return bytes(self.m[o:o + n])

    def table(self, gpa=GPA_BASE, size=None, uaddr=UADDR_BASE, offset=0):
        """SET_MEM_TABLE payload for one region (the whole memfd)."""
        size = self.size if size is None else size
        return struct.pack("<II", 1, 0) + struct.pack("<QQQQ", gpa, size,
                                                      uaddr, offset)


class Queue:
    """One split virtqueue, driven from the driver side."""

    def __init__(self, conn, mem, index, size=QSIZE, event_idx=True):
        self.conn, self.mem, self.index, self.size = conn, mem, index, size
        base = 0x1000 + index * RING_AREA
        self.desc = GPA_BASE + base
        self.avail = self.desc + 16 * size
        self.used = GPA_BASE + base + 0x2000
        self.event_idx = event_idx
        mem.write(self.desc, bytes(RING_AREA))
        self.avail_idx = 0
        self.used_seen = 0
        self.free = list(range(size))
        self.kick = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.callfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def setup(self, base=0):
        c = self.conn
        acks = [c.do(SET_VRING_NUM, struct.pack("<II", self.index,
                                                self.size)),
                c.do(SET_VRING_BASE, struct.pack("<II", self.index, base)),
                c.do(SET_VRING_ADDR, self.addr_payload()),
                c.do(SET_VRING_CALL, struct.pack("<Q", self.index),
                     [self.callfd]),
                c.do(SET_VRING_KICK, struct.pack("<Q", self.index),
                     [self.kick]),
                c.do(SET_VRING_ENABLE, struct.pack("<II", self.index, 1))]
        self.avail_idx = self.used_seen = base
        return acks

    def addr_payload(self, desc=None, used=None, avail=None):
        ua = lambda g: g - GPA_BASE + UADDR_BASE  # noqa: E731
        return struct.pack("<IIQQQQ", self.index, 0,
                           ua(desc or self.desc), ua(used or self.used),
                           ua(avail or self.avail), 0)

    def put_desc(self, i, addr, length, flags, nxt=0):
        self.mem.write(self.desc + 16 * i,
                       struct.pack("<QIHH", addr, length, flags, nxt))

    def add_chain(self, bufs):
        """bufs: [(gpa, len, writable)]; returns the head index."""
        idx = [self.free.pop(0) for _ in bufs]
        for k, (gpa, n, w) in enumerate(bufs):
            last = k == len(bufs) - 1
            self.put_desc(idx[k], gpa, n, (DESC_WRITE if w else 0) |
                          (0 if last else DESC_NEXT),
                          0 if last else idx[k + 1])
        self.publish(idx[0])
        return idx[0], idx

    def add_indirect(self, bufs):
        """The same chain through one indirect descriptor table."""
        table = self.mem.alloc(16 * len(bufs), 16)
        for k, (gpa, n, w) in enumerate(bufs):
            last = k == len(bufs) - 1
            self.mem.write(table + 16 * k, struct.pack(
                "<QIHH", gpa, n, (DESC_WRITE if w else 0) |
                (0 if last else DESC_NEXT), 0 if last else k + 1))
        head = self.free.pop(0)
        self.put_desc(head, table, 16 * len(bufs), DESC_INDIRECT)
        self.publish(head)
        return head, [head]

    def publish(self, head):
        self.mem.write(self.avail + 4 + 2 * (self.avail_idx % self.size),
                       struct.pack("<H", head))
        self.avail_idx = (self.avail_idx + 1) & 0xffff
        self.mem.write(self.avail + 2, struct.pack("<H", self.avail_idx))

    def notify(self):
        os.eventfd_write(self.kick, 1)

    def used_idx(self):
        return struct.unpack("<H", self.mem.read(self.used + 2, 2))[0]

    def wait_used(self, count=1, timeout=5.0):
        """Wait for @count more used entries; returns [(id, len)]."""
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < count:
            while self.used_seen != self.used_idx() and len(out) < count:
                slot = self.used + 4 + 8 * (self.used_seen % self.size)
                out.append(struct.unpack("<II", self.mem.read(slot, 8)))
                self.used_seen = (self.used_seen + 1) & 0xffff
            if len(out) >= count:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise VuError("timeout waiting for used entries")
            # used_event: interrupt at the next entry we want
            self.mem.write(self.avail + 4 + 2 * self.size,
                           struct.pack("<H", self.used_seen))
            if self.used_seen != self.used_idx():
                continue
            select.select([self.callfd], [], [], min(left, 0.2))
            try:
                os.eventfd_read(self.callfd)
            except BlockingIOError:
                pass
        return out

    def release(self, descs):
        self.free.extend(descs)


class BlkDev:
    """virtio-blk on a connection: handshake and request helpers."""

    FEATURES = (F_VERSION_1 | F_INDIRECT | F_EVENT_IDX | F_PROTOCOL_FEATURES |
                BLK_F_FLUSH | BLK_F_MQ | BLK_F_DISCARD | BLK_F_WRITE_ZEROES |
                BLK_F_CONFIG_WCE)

    def __init__(self, path, nq=1, mem=None, features=None):
        self.conn = Conn(path)
        self.mem = mem or Memory()
        c = self.conn
        self.offered = struct.unpack("<Q", c.call(GET_FEATURES))[0]
        self.features = self.offered & (features or self.FEATURES)
        c.send(SET_FEATURES, struct.pack("<Q", self.features))
        self.pfeatures = struct.unpack("<Q", c.call(GET_PROTOCOL_FEATURES))[0]
        c.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", self.pfeatures))
        c.ack = bool(self.pfeatures & PF_REPLY_ACK)
        c.send(SET_OWNER)
        self.max_queues = struct.unpack("<Q", c.call(GET_QUEUE_NUM))[0]
        self.config = self.get_config()
        if c.do(SET_MEM_TABLE, self.mem.table(), [self.mem.fd]) != 0:
            raise VuError("SET_MEM_TABLE refused")
        self.queues = []
        for i in range(nq):
            q = Queue(c, self.mem, i,
                      event_idx=bool(self.features & F_EVENT_IDX))
            if any(q.setup()):
                raise VuError("queue %d setup refused" % i)
            self.queues.append(q)

    def get_config(self, offset=0, size=60):
        r = self.conn.call(GET_CONFIG, struct.pack("<III", offset, size, 0)
                           + bytes(size))
        return r[12:]

    def capacity(self):
        return struct.unpack("<Q", self.config[0:8])[0]

    def close(self):
        self.conn.close()

    def submit(self, qi, rtype, sector=0, out=b"", in_len=0, indirect=False,
               out_gpa=None):
        """Queue one request; returns a handle for finish()."""
        q = self.queues[qi]
        m = self.mem
        hdr = m.alloc(16)
        m.write(hdr, struct.pack("<IIQ", rtype, 0, sector))
        bufs = [(hdr, 16, False)]
        if out:
            g = out_gpa or m.alloc(len(out), 512)
            m.write(g, out)
            bufs.append((g, len(out), False))
        data = None
        if in_len:
            data = m.alloc(in_len, 512)
            m.write(data, bytes(in_len))
            bufs.append((data, in_len, True))
        status = m.alloc(1)
        m.write(status, b"\xee")
        bufs.append((status, 1, True))
        head, descs = (q.add_indirect(bufs) if indirect
                       else q.add_chain(bufs))
        return (qi, head, descs, data, in_len, status)

    def finish(self, handles, timeout=5.0):
        """Kick and wait for @handles; returns [(status, data, used_len)]."""
        byq = {}
        for h in handles:
            byq.setdefault(h[0], []).append(h)
        done = {}
        for qi, hs in byq.items():
            q = self.queues[qi]
            q.notify()
            for uid, ulen in q.wait_used(len(hs), timeout):
                done[(qi, uid)] = ulen
        out = []
        for qi, head, descs, data, in_len, status in handles:
            self.queues[qi].release(descs)
            st = self.mem.read(status, 1)[0]
            d = self.mem.read(data, in_len) if data else b""
            out.append((st, d, done.get((qi, head))))
        return out

    def req(self, rtype, sector=0, out=b"", in_len=0, qi=0, indirect=False):
        return self.finish([self.submit(qi, rtype, sector, out, in_len,
                                        indirect)])[0]

    def read(self, sector, n, qi=0, indirect=False):
        return self.req(T_IN, sector, in_len=n, qi=qi, indirect=indirect)

    def write(self, sector, data, qi=0, indirect=False):
        return self.req(T_OUT, sector, out=data, qi=qi, indirect=indirect)


def dwz(sector, nsec, flags=0):
    return struct.pack("<QII", sector, nsec, flags)
