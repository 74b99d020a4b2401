#!/usr/bin/env python3
"""nbd-proto-check.py: drive an NBD server byte by byte (python3 stdlib).

Checks what real clients rarely exercise: option errors, structured and
simple replies, out-of-range / oversized / unknown requests, many requests
in flight with replies matched by cookie, a read-only export refusing
writes, a TLS-only server refusing everything but STARTTLS, and a client
sending garbage while the server keeps serving others.

usage: nbd-proto-check.py MODE SOCKET NAME
  MODE rw       full check of a writable export (it is overwritten)
       ro       NAME is a read-only export
       tlsreqd  the server requires TLS (SOCKET is HOST:PORT or a path)
"""
import os
import socket
import struct
import sys

from nbdqmp import recvall

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPMAGIC = 0x0003e889045565a9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCT_MAGIC = 0x668e33ef
ERR = 1 << 31
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
ERR_UNSUP, ERR_POLICY, ERR_INVALID = ERR | 1, ERR | 2, ERR | 3
ERR_TLS_REQD, ERR_UNKNOWN = ERR | 5, ERR | 6
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED = 6, 7, 8
OPT_LIST_META, OPT_SET_META = 9, 10
REP_META_CONTEXT = 4
CMD_BLOCK_STATUS = 7
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
CMD_WRITE_ZEROES = 6
EPERM, EINVAL, ENOSPC = 1, 22, 28

failures = 0


def check(cond, what):
    global failures
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures += 1


def connect(addr):
    if ":" in addr and not addr.startswith("/"):
        host, port = addr.rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=20)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(addr)
    return s


class Client:
    def __init__(self, addr):
        self.s = connect(addr)
        magic, opt, flags = struct.unpack(">QQH", recvall(self.s, 18))
        check(magic == NBDMAGIC and opt == IHAVEOPT, "greeting magic")
        check(flags & 3 == 3, "FIXED_NEWSTYLE and NO_ZEROES offered")
        self.s.sendall(struct.pack(">I", 3))
        self.structured = False
        self.cookie = 0

    def opt(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)

    def reply(self):
        magic, opt, rtype, length = struct.unpack(">QIII",
                                                  recvall(self.s, 20))
        assert magic == REPMAGIC, hex(magic)
        return opt, rtype, recvall(self.s, length)

    def go(self, name, infos=(3,), opt=OPT_GO):
        n = name.encode()
        data = struct.pack(">I", len(n)) + n + struct.pack(">H", len(infos))
        data += b"".join(struct.pack(">H", i) for i in infos)
        self.opt(opt, data)
        got = {}
        while True:
            _, rtype, payload = self.reply()
            if rtype != REP_INFO:
                return rtype, got
            itype = struct.unpack(">H", payload[:2])[0]
            got[itype] = payload[2:]

    def request(self, cmd, offset, length, data=b"", flags=0):
        self.cookie += 1
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, flags, cmd,
                                   self.cookie, offset, length) + data)
        return self.cookie

    def response(self, lengths):
        """One reply: (cookie, error, data); lengths maps cookie->read len."""
        magic = struct.unpack(">I", recvall(self.s, 4))[0]
        if magic == SIMPLE_MAGIC:
            err, cookie = struct.unpack(">IQ", recvall(self.s, 12))
            n = lengths.get(cookie, 0) if err == 0 else 0
            return cookie, err, recvall(self.s, n)
        assert magic == STRUCT_MAGIC, hex(magic)
        flags, rtype, cookie, length = struct.unpack(">HHQI",
                                                     recvall(self.s, 16))
        payload = recvall(self.s, length)
        assert flags & 1, "one chunk per reply, with DONE"
        if rtype == 1:
            return cookie, 0, payload[8:]
        if rtype & 0x8000:
            return cookie, struct.unpack(">I", payload[:4])[0], b""
        if rtype == 5:
            return cookie, 0, payload
        return cookie, 0, b""

    def call(self, cmd, offset, length, data=b"", flags=0):
        c = self.request(cmd, offset, length, data, flags)
        cookie, err, payload = self.response(
            {c: length} if cmd == CMD_READ else {})
        assert cookie == c
        return err, payload


def negotiate(addr, name, structured=True):
    c = Client(addr)
    c.ctx = None
    if structured:
        c.opt(OPT_STRUCTURED)
        check(c.reply()[1] == REP_ACK, "STRUCTURED_REPLY acknowledged")
        c.structured = True
        rtype, ctxs = meta(c, OPT_SET_META, name, ["base:allocation"])
        check(rtype == REP_ACK and len(ctxs) == 1, "SET_META_CONTEXT")
        c.ctx = list(ctxs)[0] if ctxs else None
    rtype, infos = c.go(name)
    check(rtype == REP_ACK and 0 in infos, "GO %r" % name)
    size, tflags = struct.unpack(">QH", infos[0])
    minb, prefb, maxb = struct.unpack(">III", infos[3])
    return c, size, tflags, (minb, prefb, maxb)


def meta(c, opt, name, queries):
    n = name.encode()
    data = struct.pack(">I", len(n)) + n + struct.pack(">I", len(queries))
    for q in queries:
        data += struct.pack(">I", len(q)) + q.encode()
    c.opt(opt, data)
    ctxs = {}
    while True:
        _, rtype, payload = c.reply()
        if rtype != REP_META_CONTEXT:
            return rtype, ctxs
        ctxs[struct.unpack(">I", payload[:4])[0]] = payload[4:].decode()


def check_err(c, opt, data, rtype, msg, what):
    """Option OPT with DATA gets error RTYPE with QEMU's message MSG."""
    c.opt(opt, data)
    _, got, payload = c.reply()
    check(got == rtype and payload == msg.encode(),
          "%s -> %#x %r (got %#x %r)" % (what, rtype, msg, got, payload))


def check_messages(addr, name):
    """Error replies carry qemu-storage-daemon 10's messages."""
    c = Client(addr)
    check_err(c, 99, b"", ERR_UNSUP, "Unsupported option 99 (<unknown>)",
              "unknown option")
    check_err(c, OPT_LIST, b"x", ERR_INVALID,
              "option 'list' has unexpected length", "LIST with data")
    check_err(c, OPT_INFO, struct.pack(">I", 4) + b"nope\0\0", ERR_UNKNOWN,
              "export 'nope' not present", "INFO unknown export")
    check_err(c, OPT_GO, b"\0\0\0\x09abc", ERR_INVALID,
              "Inconsistent lengths in option go", "GO with a short name")
    check_err(c, OPT_INFO, struct.pack(">I", 5000) + b"y" * 5000,
              ERR_INVALID, "Invalid name length: 5000", "INFO long name")
    check_err(c, OPT_SET_META, struct.pack(">I", 0) + b"\0" * 4,
              ERR_INVALID, "request option 'set meta context' when "
              "structured reply is not negotiated", "SET_META early")
    check_err(c, OPT_STARTTLS, b"", ERR_POLICY, "TLS not configured",
              "STARTTLS without creds")
    check_err(c, 77, b"q" * 300000, ERR_UNSUP,
              "Unsupported option 77 (<unknown>)", "unknown 300 kB option")
    check_err(c, OPT_LIST, b"q" * 300000, ERR_INVALID,
              "option 'list' has unexpected length", "LIST with 300 kB")
    c.opt(OPT_STRUCTURED)
    check(c.reply()[1] == REP_ACK, "STRUCTURED_REPLY")
    check_err(c, OPT_STRUCTURED, b"", ERR_INVALID,
              "structured reply already negotiated", "STRUCTURED_REPLY twice")
    # Infos in QEMU's order: name, description, block size, export last.
    n = name.encode()
    c.opt(OPT_INFO, struct.pack(">I", len(n)) + n + struct.pack(">HH", 1, 1))
    order = []
    while True:
        _, rtype, payload = c.reply()
        if rtype != REP_INFO:
            break
        order.append(struct.unpack(">H", payload[:2])[0])
    check(rtype == REP_ACK and order[0] == 1 and order[-2:] == [3, 0],
          "INFO replies ordered as QEMU's: %r" % order)
    c.s.close()


def check_options(addr, name):
    check_messages(addr, name)
    c = Client(addr)
    c.opt(99)
    check(c.reply()[1] == ERR_UNSUP, "unknown option -> ERR_UNSUP")
    c.opt(OPT_LIST)
    names = []
    while True:
        _, rtype, payload = c.reply()
        if rtype != REP_SERVER:
            break
        n = struct.unpack(">I", payload[:4])[0]
        names.append(payload[4:4 + n].decode())
    check(rtype == REP_ACK and name in names, "LIST names %r" % name)
    c.opt(OPT_LIST, b"x")
    check(c.reply()[1] == ERR_INVALID, "LIST with data -> ERR_INVALID")
    rtype, _ = c.go("no-such-export", opt=OPT_INFO)
    check(rtype == ERR_UNKNOWN, "INFO unknown export -> ERR_UNKNOWN")
    c.opt(OPT_STARTTLS)
    check(c.reply()[1] == ERR_POLICY, "STARTTLS without creds -> POLICY")
    rtype, infos = c.go(name, infos=(1, 3), opt=OPT_INFO)
    check(rtype == REP_ACK and infos.get(1) == name.encode(),
          "INFO returns NBD_INFO_NAME")
    check(meta(c, OPT_SET_META, name, ["base:allocation"])[0] == ERR_INVALID,
          "SET_META_CONTEXT before STRUCTURED_REPLY -> ERR_INVALID")
    rtype, ctxs = meta(c, OPT_LIST_META, name, [])
    check(rtype == REP_ACK and list(ctxs.values()) == ["base:allocation"],
          "LIST_META_CONTEXT offers base:allocation")
    rtype, ctxs = meta(c, OPT_LIST_META, name, ["qemu:dirty-bitmap:x"])
    check(rtype == REP_ACK and ctxs == {}, "unknown context not listed")
    check(meta(c, OPT_LIST_META, "nope", [])[0] == ERR_UNKNOWN,
          "LIST_META_CONTEXT for an unknown export -> ERR_UNKNOWN")
    c.opt(OPT_ABORT)
    check(c.reply()[1] == REP_ACK, "ABORT acknowledged")
    c.s.close()


def check_rw(addr, name):
    check_options(addr, name)
    c, size, tflags, (minb, prefb, maxb) = negotiate(addr, name)
    check(tflags & 1 and not tflags & 2, "writable export flags")
    check(tflags & (1 << 8), "CAN_MULTI_CONN advertised")
    check(minb >= 1 and prefb >= minb and maxb == 32 << 20,
          "block sizes %d/%d/%d" % (minb, prefb, maxb))
    pat = os.urandom(65536)
    check(c.call(CMD_WRITE, 0, len(pat), pat) == (0, b""), "write 64k")
    check(c.call(CMD_READ, 0, len(pat)) == (0, pat), "structured read back")
    check(c.call(CMD_WRITE, 4096, 4096, pat[:4096], flags=1)[0] == 0,
          "write with FUA")
    check(c.call(CMD_FLUSH, 0, 0)[0] == 0, "flush")
    err, _ = c.call(CMD_READ, size - 512, 1024)
    check(err == EINVAL, "read past the end -> EINVAL (got %d)" % err)
    err, _ = c.call(CMD_WRITE, size - 512, 1024, b"\0" * 1024)
    check(err == ENOSPC, "write past the end -> ENOSPC (got %d)" % err)
    err, _ = c.call(CMD_READ, 1 << 62, 512)
    check(err == EINVAL, "read at 2^62 -> EINVAL")
    err, _ = c.call(CMD_READ, 0, 64 << 20)
    check(err == EINVAL, "read of 64 MiB (> max block) -> EINVAL")
    err, _ = c.call(42, 0, 512)
    check(err == EINVAL, "unknown command -> EINVAL")
    if minb > 1:
        err, _ = c.call(CMD_READ, 1, minb)
        check(err == EINVAL, "misaligned read after block-size -> EINVAL")
    check(c.call(CMD_WRITE_ZEROES, 0, 8192)[0] == 0, "write zeroes")
    check(c.call(CMD_READ, 0, 8192) == (0, b"\0" * 8192), "zeroes read back")
    check(c.call(CMD_TRIM, 8192, 8192)[0] == 0, "trim")
    err, payload = c.call(CMD_BLOCK_STATUS, 4096, 1 << 20)
    ctx, elen, eflags = struct.unpack(">III", payload[:12]) if payload \
        else (0, 0, 0)
    check(err == 0 and ctx == c.ctx and 0 < elen <= 1 << 20 and eflags == 0,
          "BLOCK_STATUS: allocated data extent")
    err, _ = c.call(CMD_BLOCK_STATUS, size - 512, 1024)
    check(err == EINVAL, "BLOCK_STATUS past the end -> EINVAL")

    # Many requests in flight; replies may come in any order.
    blocks = {i: os.urandom(4096) for i in range(64)}
    for i, data in blocks.items():
        c.request(CMD_WRITE, 1 << 20 | i * 4096, 4096, data)
    errs = [c.response({})[1] for _ in blocks]
    check(errs == [0] * len(blocks), "64 pipelined writes")
    want = {}
    for i in blocks:
        want[c.request(CMD_READ, 1 << 20 | i * 4096, 4096)] = i
    good = 0
    for _ in blocks:
        cookie, err, data = c.response({k: 4096 for k in want})
        good += err == 0 and data == blocks[want.pop(cookie)]
    check(good == len(blocks), "64 pipelined reads match by cookie")
    c.request(CMD_DISC, 0, 0)
    c.s.close()

    # Old-style EXPORT_NAME and simple replies.
    c = Client(addr)
    c.opt(OPT_EXPORT_NAME, name.encode())
    esize, _ = struct.unpack(">QH", recvall(c.s, 10))
    check(esize == size, "EXPORT_NAME size")
    check(c.call(CMD_READ, 0, 8192) == (0, b"\0" * 8192),
          "simple read reply")
    err, _ = c.call(CMD_READ, 1, 1000)
    check(err == 0, "unaligned read without block-size negotiation")
    err, _ = c.call(CMD_BLOCK_STATUS, 0, 4096)
    check(err == EINVAL, "BLOCK_STATUS without a meta context -> EINVAL")
    c.s.close()

    # Garbage on one connection does not disturb the server.
    g = Client(addr)
    g.s.sendall(b"\xde\xad" * 64)
    try:
        g.s.recv(1)
    except OSError:
        pass
    g.s.close()
    c, _, _, _ = negotiate(addr, name, structured=False)
    check(c.call(CMD_READ, 16384, 4096) == (0, pat[16384:20480]),
          "server alive after a garbage client")
    c.s.close()


def check_ro(addr, name):
    c, size, tflags, _ = negotiate(addr, name)
    check(tflags & 2, "read-only flag set")
    err, _ = c.call(CMD_WRITE, 0, 512, b"\0" * 512)
    check(err == EPERM, "write to read-only export -> EPERM (got %d)" % err)
    check(c.call(CMD_READ, 0, 512)[0] == 0, "read works")
    c.s.close()


def check_tlsreqd(addr, name):
    c = Client(addr)
    rtype, _ = c.go(name)
    check(rtype == ERR_TLS_REQD, "GO before STARTTLS -> ERR_TLS_REQD")
    c.opt(OPT_LIST)
    check(c.reply()[1:] == (ERR_TLS_REQD,
                            b"Option 0x3 not permitted before TLS"),
          "LIST before STARTTLS -> TLS_REQD with QEMU's message")
    c.opt(OPT_EXPORT_NAME, name.encode())
    try:
        closed = c.s.recv(1) == b""
    except OSError:
        closed = True
    check(closed, "EXPORT_NAME before STARTTLS -> disconnect")


def main():
    mode, addr, name = sys.argv[1:4]
    {"rw": check_rw, "ro": check_ro, "tlsreqd": check_tlsreqd}[mode](addr,
                                                                     name)
    print("%d failure(s)" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
