#!/usr/bin/env python3
"""nbd-killed-client.py: an NBD client to be killed mid-stream.

  nbd-killed-client.py write SOCKET EXPORT OFFSET LOG
      Writes 64 KiB blocks from OFFSET on, 8 requests in flight, each
      block's content derived from its index; the index of every write the
      server acknowledged is appended to LOG (unbuffered) at once.  After
      32 acknowledged blocks it sends the header and half the data of one
      more write, writes "half" to LOG and sleeps until killed.
  nbd-killed-client.py verify SOCKET EXPORT OFFSET LOG
      Reads back every block LOG lists as acknowledged and checks it.

A test kills the writer (SIGKILL) once LOG says "half", i.e. inside a
request, with others acknowledged before it: nothing acknowledged may be
lost and the server must keep serving (issue 4).
"""
import hashlib
import os
import socket
import struct
import sys
import time

from nbdqmp import recvall

NBDMAGIC, IHAVEOPT = 0x4e42444d41474943, 0x49484156454F5054
OPT_GO, REP_ACK, REP_INFO = 7, 1, 3
REQ_MAGIC, SIMPLE_MAGIC = 0x25609513, 0x67446698
CMD_READ, CMD_WRITE = 0, 1
BLOCK = 65536
ACKED_BEFORE_HALF = 32


def block(i):
    return hashlib.sha256(b"block %d" % i).digest() * (BLOCK // 32)


def connect(path, name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    magic, opt, _ = struct.unpack(">QQH", recvall(s, 18))
    assert magic == NBDMAGIC and opt == IHAVEOPT
    s.sendall(struct.pack(">I", 3))     # FIXED_NEWSTYLE | NO_ZEROES
    n = name.encode()
    data = struct.pack(">I", len(n)) + n + struct.pack(">H", 0)
    s.sendall(struct.pack(">QII", IHAVEOPT, OPT_GO, len(data)) + data)
    while True:
        _, _, rtype, length = struct.unpack(">QIII", recvall(s, 20))
        recvall(s, length)
        if rtype == REP_ACK:
            return s
        assert rtype == REP_INFO, "GO refused (%#x)" % rtype


def request(s, cmd, handle, offset, length, data=b""):
    s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, cmd, handle, offset,
                          length) + data)


def reply(s, length=0):
    magic, err, handle = struct.unpack(">IIQ", recvall(s, 16))
    assert magic == SIMPLE_MAGIC, hex(magic)
    return handle, err, recvall(s, length) if err == 0 else b""


def write(path, name, offset, log):
    s = connect(path, name)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sent = acked = 0
    while acked < ACKED_BEFORE_HALF:
        while sent - acked < 8:
            request(s, CMD_WRITE, sent, offset + sent * BLOCK, BLOCK,
                    block(sent))
            sent += 1
        handle, err, _ = reply(s)
        assert err == 0, "write %d failed: %d" % (handle, err)
        os.write(fd, b"%d\n" % handle)
        acked += 1
    while acked < sent:
        handle, err, _ = reply(s)
        assert err == 0, "write %d failed: %d" % (handle, err)
        os.write(fd, b"%d\n" % handle)
        acked += 1
    # One more write, cut in the middle of its data.
    s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_WRITE, sent,
                          offset + sent * BLOCK, BLOCK) +
              block(sent)[:BLOCK // 2])
    os.write(fd, b"half\n")
    while True:
        time.sleep(60)


def verify(path, name, offset, log):
    with open(log) as f:
        lines = f.read().split()
    if "half" not in lines:
        print("FAIL  the writer never got inside a request")
        return 1
    acked = sorted(int(x) for x in lines if x != "half")
    s = connect(path, name)
    bad = 0
    for i in acked:
        request(s, CMD_READ, i, offset + i * BLOCK, BLOCK)
        _, err, data = reply(s, BLOCK)
        if err or data != block(i):
            print("FAIL  acknowledged block %d lost (err %d)" % (i, err))
            bad += 1
    s.close()
    print("%s  %d acknowledged blocks read back" % ("FAIL" if bad else "ok",
                                                   len(acked)))
    return 1 if bad or len(acked) < ACKED_BEFORE_HALF else 0


def main():
    mode, path, name, offset, log = sys.argv[1:6]
    fn = {"write": write, "verify": verify}[mode]
    sys.exit(fn(path, name, int(offset, 0), log))


if __name__ == "__main__":
    main()
