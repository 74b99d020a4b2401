"""nbdqmp.py: helpers shared by the NBD interop tests written in Python
(test-nbd-qmp.sh's checks, test-nbd-vs-qsd.py, nbd-proto-check.py,
nbd-killed-client.py): a QMP client that keeps
the events it sees, a minimal NBD client for the handshake, and
listen_port() to read back the port a server bound as port 0.
"""
import json
import os
import select
import socket
import struct
import time

IHAVEOPT = 0x49484156454F5054
failures = 0


def check(cond, what):
    """Print an ok/FAIL line and count failures."""
    global failures
    print(("ok    " if cond else "FAIL  ") + what)
    failures += not cond


class QMP:
    """A QMP session; events seen while waiting for replies are kept."""

    def __init__(self, path, retries=100):
        for i in range(retries):
            self.s = socket.socket(socket.AF_UNIX)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if i == retries - 1:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.line()
        assert self.cmd("qmp_capabilities") == {"return": {}}

    def line(self, timeout=20):
        """The next JSON message, or None after TIMEOUT seconds or EOF."""
        while b"\n" not in self.buf:
            if not select.select([self.s], [], [], max(0, timeout))[0]:
                return None
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data
        text, self.buf = self.buf.split(b"\n", 1)
        return json.loads(text)

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.line()
            if r is None:
                raise EOFError("no reply to " + name)
            if "event" not in r:
                return r
            self.events.append(r)

    def wait_event(self, name, timeout=10):
        """The first event NAME (removed from the kept ones), or None."""
        end = time.time() + timeout
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            r = self.line(end - time.time())
            if r is None:
                return None
            self.events.append(r)

    def take_events(self, wait=0.0):
        """(name, data) of every event kept or arriving within WAIT s."""
        end = time.time() + wait
        while time.time() < end:
            r = self.line(end - time.time())
            if r is None:
                break
            self.events.append(r)
        ev = [(e["event"], e.get("data")) for e in self.events]
        self.events = []
        return ev


def listen_port(pid):
    """The TCP port process PID listens on.  Tests start servers on port 0
    and read the port the kernel picked back here, so no two tests can race
    for a port that looked free.  Exactly one listening socket expected."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            if col[3] == "0A" and col[9] in inodes:     # 0A: LISTEN
                ports.add(int(col[1].rsplit(":", 1)[1], 16))
    if len(ports) != 1:
        raise RuntimeError("process %d listens on TCP ports %s, not one"
                           % (pid, sorted(ports)))
    return ports.pop()


def blocks(path, offset, length, bs=65536):
    """The 64 KiB blocks of PATH's range, for blocks_changed()."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    return [data[i:i + bs] for i in range(0, len(data), bs)]


def wait_blocks_changed(path, offset, length, before, count, timeout=30,
                        alive=None):
    """Wait until COUNT blocks of PATH's range differ from BEFORE (from
    blocks()): a client's writes have reached the volume.  ALIVE, if given,
    is polled too; the wait ends early when it returns False.  Whether
    enough changed."""
    end = time.time() + timeout
    while time.time() < end:
        now = blocks(path, offset, length)
        if sum(a != b for a, b in zip(before, now)) >= count:
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.05)
    return False


def recvall(s, n):
    """Exactly N bytes from S; EOFError if the server hangs up first."""
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("server closed the connection")
        buf += chunk
    return buf


def nbd_connect(addr):
    """A socket to ADDR: a unix socket path or a (host, port) tuple."""
    if isinstance(addr, tuple):
        return socket.create_connection(addr, timeout=10)
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(addr)
    return s


def greeted(s, timeout):
    """Whether the server's greeting arrives within TIMEOUT seconds."""
    r, _, _ = select.select([s], [], [], timeout)
    return bool(r)


def closed_within(s, timeout):
    """Whether the server hangs up on S within TIMEOUT seconds."""
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], end - time.time())
        if r:
            try:
                if s.recv(4096) == b"":
                    return True
            except OSError:
                return True
    return False


def nbd_go(addr, name, s=None):
    """Enter transmission on export NAME (on S if given): the socket, or
    None when the server refuses."""
    if s is None:
        s = nbd_connect(addr)
    hello = b""
    while len(hello) < 18:
        chunk = s.recv(18 - len(hello))
        if not chunk:
            return None
        hello += chunk
    s.sendall(struct.pack(">I", 3))
    n = name.encode()
    data = struct.pack(">I", len(n)) + n + struct.pack(">H", 0)
    s.sendall(struct.pack(">QII", IHAVEOPT, 7, len(data)) + data)
    while True:
        hdr = b""
        while len(hdr) < 20:
            hdr += s.recv(20 - len(hdr))
        _, _, rtype, length = struct.unpack(">QIII", hdr)
        while length:
            length -= len(s.recv(length))
        if rtype == 1:
            return s
        if rtype & (1 << 31):
            return None
