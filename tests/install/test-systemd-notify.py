#!/usr/bin/env python3
# test-systemd-notify.py: luksblk-storage-daemon under systemd's protocols,
# with a fake NOTIFY_SOCKET and sockets passed as socket activation does.
#   1. sockets passed as fds 3 (QMP) and 4 (NBD), named through
#      LISTEN_FDNAMES=qmp:nbd (fd=qmp, addr.str=nbd); NOTIFY_SOCKET a path:
#      READY=1 arrives, then QMP answers on the passed socket and lists the
#      export, NBD greets on the other; SIGTERM -> STOPPING=1, exit 0
#   2. fd=3 by number, NBD on a unix path the daemon creates, NOTIFY_SOCKET
#      abstract (@name): when READY=1 arrives the NBD socket exists and
#      greets (readiness comes after the listeners, not before)
#   3. an unknown fd name, or an fd nothing was passed at: a clear error,
#      exit 1, and no READY=1
import os, signal, socket, subprocess, sys, tempfile, time, json, shutil

BUILD = os.environ["LB_BUILD"]
TOOLS = os.path.join(BUILD, "tools")
DAEMON = os.path.join(TOOLS, "luksblk-storage-daemon")
T = tempfile.mkdtemp(prefix="lb-notify.")
procs = []


def fail(msg):
    print("FAIL:", msg)
    for p in procs:
        if p.poll() is None:
            p.kill()
    shutil.rmtree(T, ignore_errors=True)
    sys.exit(1)


def qmp_check(sock):
    sock.settimeout(30)
    f = sock.makefile("rw")
    greeting = json.loads(f.readline())
    if "QMP" not in greeting:
        fail("no QMP greeting: %r" % greeting)
    for cmd in ("qmp_capabilities", "query-block-exports"):
        f.write(json.dumps({"execute": cmd}) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "event" not in r:
                break
    ids = [e["id"] for e in r.get("return", [])]
    if ids != ["e0"]:
        fail("query-block-exports: %r" % r)
    sock.close()


def nbd_check(sock):
    sock.settimeout(30)
    magic = sock.recv(8)
    if magic != b"NBDMAGIC":
        fail("NBD socket greets with %r" % magic)
    sock.close()


def recv_state(ns, timeout=60):
    ns.settimeout(timeout)
    try:
        return ns.recv(4096).decode()
    except socket.timeout:
        return None


os.chdir(T)
with open("pass.txt", "w") as f:
    f.write("abc123")
subprocess.run([os.path.join(TOOLS, "luksblk-img"), "create", "-q",
                "--object", "secret,id=s,file=pass.txt", "-f", "luks", "-o",
                "key-secret=s,detached-header=true,iter-time=10", "hdr.img"],
               check=True)
with open("payload.img", "wb") as f:
    f.truncate(16 << 20)
GRAPH = ["--object", "secret,id=sec0,file=pass.txt",
         "--blockdev", "driver=file,node-name=p0,filename=payload.img",
         "--blockdev", "driver=file,node-name=h0,filename=hdr.img",
         "--blockdev",
         "driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0"]
EXPORT = ["--export", "type=nbd,id=e0,node-name=disk0,writable=on"]


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    return s


def start(args, env_extra, fds=()):
    env = dict(os.environ, **env_extra)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"):
        if k not in env_extra:
            env.pop(k, None)

    def place_fds():
        for i, s in enumerate(fds):
            os.dup2(s.fileno(), 3 + i)  # inheritable, as systemd passes them

    # LISTEN_PID must be the daemon's own pid: the shell execs it.
    argv = ["sh", "-c", 'LISTEN_PID=$$ exec "$0" "$@"', DAEMON] + args
    p = subprocess.Popen(argv, env=env, preexec_fn=place_fds, close_fds=False,
                         stderr=subprocess.PIPE, text=True)
    procs.append(p)
    return p


def stop(p, ns, name):
    p.send_signal(signal.SIGTERM)
    st = recv_state(ns, 30)
    if st is None or "STOPPING=1" not in st:
        fail("%s: no STOPPING=1 after SIGTERM (got %r)" % (name, st))
    rc = p.wait(60)
    if rc != 0:
        fail("%s: exit status %d: %s" % (name, rc, p.stderr.read()))


# 1. named sockets from socket activation, notify socket path
ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns.bind(os.path.join(T, "notify"))
q, n = listening("qmp1.sock"), listening("nbd1.sock")
p = start(GRAPH + ["--chardev", "socket,id=m0,fd=qmp", "--monitor", "chardev=m0",
                   "--nbd-server", "addr.type=fd,addr.str=nbd"] + EXPORT,
          {"NOTIFY_SOCKET": os.path.join(T, "notify"), "LISTEN_FDS": "2",
           "LISTEN_FDNAMES": "qmp:nbd"}, fds=(q, n))
q.close(), n.close()
st = recv_state(ns)
if st != "READY=1":
    fail("1: expected READY=1, got %r (daemon: %s)" % (st, p.poll() is not None and p.stderr.read()))
for path, check in (("qmp1.sock", qmp_check), ("nbd1.sock", nbd_check)):
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    check(c)
stop(p, ns, "1")
print("1. socket activation by name: READY=1, QMP and NBD served, STOPPING=1")

# 2. fd by number, daemon-made NBD socket, abstract notify socket
abstract = "lb-notify-test-%d" % os.getpid()
ns2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
ns2.bind("\0" + abstract)
q = listening("qmp2.sock")
p = start(GRAPH + ["--chardev", "socket,id=m0,fd=3", "--monitor", "chardev=m0",
                   "--nbd-server", "addr.type=unix,addr.path=nbd2.sock"] + EXPORT,
          {"NOTIFY_SOCKET": "@" + abstract}, fds=(q,))
q.close()
st = recv_state(ns2)
if st != "READY=1":
    fail("2: expected READY=1, got %r" % st)
if not os.path.exists("nbd2.sock"):
    fail("2: READY=1 before the NBD socket exists")
c = socket.socket(socket.AF_UNIX)
c.connect("nbd2.sock")
nbd_check(c)
c = socket.socket(socket.AF_UNIX)
c.connect("qmp2.sock")
qmp_check(c)
stop(p, ns2, "2")
print("2. fd=3, abstract NOTIFY_SOCKET: READY=1 only once NBD listens")

# 3. unknown name: error, no READY
p = start(GRAPH + ["--chardev", "socket,id=m0,fd=nosuch", "--monitor", "chardev=m0"],
          {"NOTIFY_SOCKET": os.path.join(T, "notify"), "LISTEN_FDS": "1",
           "LISTEN_FDNAMES": "qmp"}, fds=())
rc = p.wait(60)
err = p.stderr.read()
if rc != 1 or "nosuch" not in err:
    fail("3: exit %d, stderr %r" % (rc, err))
if recv_state(ns, 0.5) is not None:
    fail("3: a failed start sent a notification")
print("3. unknown fd name:", err.strip())
p = start(GRAPH + ["--chardev", "socket,id=m0,fd=99", "--monitor", "chardev=m0"],
          {"NOTIFY_SOCKET": os.path.join(T, "notify")}, fds=())
rc = p.wait(60)
err = p.stderr.read()
if rc != 1 or "fd 99 is not open" not in err or "WARNING" in err:
    fail("3: fd=99: exit %d, stderr %r" % (rc, err))
if recv_state(ns, 0.5) is not None:
    fail("3: a failed start sent a notification")
print("3. fd not open:", err.strip())
shutil.rmtree(T, ignore_errors=True)
print("systemd notify and socket activation work")
