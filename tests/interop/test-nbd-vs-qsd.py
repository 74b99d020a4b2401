#!/usr/bin/env python3
"""test-nbd-vs-qsd.py: the NBD server's QMP and command-line interface
against qemu-storage-daemon (the oracle, when installed).

Runs the same QMP sequences (nbd-server-start/-stop, block-export-add/
-del, query-block-exports, nbd-server-add/-remove, object-add of authz,
iothread and TLS objects, BLOCK_EXPORT_DELETED before or after the
reply) and the same bad --nbd-server / --export / --object lines on both
daemons and requires identical replies, events and error messages.
Exit 77 (skip) without qemu-storage-daemon.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdqmp  # noqa: E402
from nbdqmp import QMP, check, nbd_go  # noqa: E402

QSD = shutil.which("qemu-storage-daemon")
LB = os.path.join(os.environ.get("LB_BUILD", "build"),
                  "tools", "luksblk-storage-daemon")


def run_qmp(prog, tmp, tag, steps):
    sock = os.path.join(tmp, tag + ".qmp")
    p = subprocess.Popen(
        [prog, "--blockdev",
         "driver=file,node-name=f0,filename=" + os.path.join(tmp, "disk.img"),
         "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sock,
         "--monitor", "chardev=m0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, clients = [], {}
    try:
        q = QMP(sock)
        for step in steps:
            if step == "connect":
                clients["c"] = nbd_go(os.path.join(tmp, tag + ".nbd"), "f0")
                out.append(clients["c"] is not None)
            elif step == "events-now":
                out.append(q.take_events())
            elif step == "events-later":
                out.append(q.take_events(0.6))
            else:
                name, args = step
                text = json.dumps(args).replace("@NBD@", os.path.join(
                    tmp, tag + ".nbd")).replace("@DIR@", tmp)
                r = q.cmd(name, json.loads(text))
                out.append(r if "error" not in r else {"error": r["error"]})
    finally:
        p.terminate()
        p.wait()
    return out


def compare_qmp(tmp, title, steps):
    a = run_qmp(QSD, tmp, "qsd", steps)
    b = run_qmp(LB, tmp, "lb", steps)
    for step, x, y in zip(steps, a, b):
        what = step if isinstance(step, str) else step[0]
        check(x == y, "%s: %s %s" % (title, what, json.dumps(x)[:90]))
        if x != y:
            print("      qsd: %s\n      lb : %s" % (json.dumps(x)[:300],
                                                  json.dumps(y)[:300]))


def run_cli(prog, tmp, args):
    try:
        r = subprocess.run([prog, "--blockdev", "driver=file,node-name=f0,"
                            "filename=" + os.path.join(tmp, "disk.img")]
                           + args, capture_output=True, text=True, timeout=2)
    except subprocess.TimeoutExpired:
        return "running"
    msg = r.stderr.strip().split(": ", 1)[-1]
    return "exit %d: %s" % (r.returncode, msg)


U = {"type": "unix", "data": {"path": "@NBD@"}}
E = {"type": "nbd", "node-name": "f0"}

START_AND_ERRORS = [
    ("nbd-server-stop", {}),
    ("block-export-add", dict(E, id="e0")),
    ("nbd-server-start", {"addr": {"type": "unix", "data": {}}}),
    ("nbd-server-start", {"addr": {"type": "bogus", "data": {}}}),
    ("nbd-server-start", {"addr": {"type": "inet",
                                   "data": {"host": "127.0.0.1"}}}),
    ("nbd-server-start", {"addr": {"type": "fd", "data": {"str": "3"}}}),
    ("nbd-server-start", {"addr": {"type": "vsock",
                                   "data": {"cid": "x", "port": "1"}}}),
    ("nbd-server-start", {"addr": U, "tls-creds": "nope"}),
    ("nbd-server-start", {"addr": U, "max-connections": -1}),
    ("nbd-server-start", {"addr": U, "max-connections": "x"}),
    ("nbd-server-start", {"addr": U, "handshake-max-seconds": -1}),
    ("nbd-server-start", {"addr": U, "bogus": 1}),
    ("nbd-server-start", {"addr": U, "tls-authz": "nobody-yet",
                          "handshake-max-seconds": 3,
                          "max-connections": 2}),
    ("nbd-server-start", {"addr": U}),
    ("block-export-add", dict(E, id="e0", **{"node-name": "nope"})),
    ("block-export-add", dict(E, id="0bad")),
    ("block-export-add", dict(E, id="e0", iothread="io0")),
    ("block-export-add", dict(E, id="e0", bitmaps=["b"])),
    ("block-export-add", dict(E, id="e0", bitmaps=[{"node": "f0",
                                                    "name": "b"}])),
    ("block-export-add", dict(E, id="e0", bitmaps=["a", 3])),
    ("block-export-add", dict(E, id="e0", name="n" * 4097)),
    ("block-export-add", dict(E, id="e0", description="d" * 4097)),
    ("block-export-add", dict(E, id="e0", writable=True,
                              description="d", **{"allow-inactive": True})),
    ("block-export-add", dict(E, id="e0")),
    ("block-export-add", dict(E, id="e1")),
    ("block-export-add", dict(E, id="e1", name="other")),
    ("query-block-exports", None),
    ("block-export-del", {"id": "nope"}),
    ("block-export-del", {"id": "e0", "mode": "bogus"}),
    ("block-export-del", {"id": "e1"}),
    "events-now",
    ("query-block-exports", None),
    ("nbd-server-stop", {}),
    "events-now",
    ("query-block-exports", None),
]

DELETE_TIMING = [
    ("nbd-server-start", {"addr": U}),
    ("block-export-add", dict(E, id="e0", writable=True)),
    "connect",
    ("block-export-del", {"id": "e0"}),
    ("block-export-del", {"id": "e0", "mode": "hard"}),
    "events-now",
    "events-later",
    ("block-export-add", dict(E, id="e1")),
    "connect",
    ("nbd-server-stop", {}),
    "events-now",
]

LEGACY_AND_OBJECTS = [
    ("nbd-server-add", {"device": "f0"}),
    ("nbd-server-start", {"addr": U}),
    ("nbd-server-add", {"device": "nope"}),
    ("nbd-server-add", {"device": "f0"}),
    ("nbd-server-add", {"device": "f0"}),
    ("nbd-server-add", {"device": "f0", "name": "n2", "bitmap": "b"}),
    ("query-block-exports", None),
    ("nbd-server-remove", {"name": "nope"}),
    ("nbd-server-remove", {"name": "f0"}),
    "events-now",
    ("object-add", {"qom-type": "authz-simple", "id": "a0"}),
    ("object-add", {"qom-type": "authz-simple", "id": "a0",
                    "identity": "CN=x"}),
    ("object-add", {"qom-type": "authz-list", "id": "a1", "policy": "allow",
                    "rules": [{"match": "CN=*", "policy": "deny",
                               "format": "glob"}]}),
    ("object-add", {"qom-type": "authz-list", "id": "a2",
                    "rules": [{"match": "x"}]}),
    ("object-add", {"qom-type": "authz-list", "id": "a3", "policy": "no"}),
    ("object-add", {"qom-type": "authz-listfile", "id": "a4",
                    "filename": "/x"}),
    ("object-add", {"qom-type": "iothread", "id": "io0"}),
    ("object-add", {"qom-type": "tls-creds-anon", "id": "t0",
                    "endpoint": "client"}),
    ("nbd-server-stop", {}),
    ("nbd-server-start", {"addr": U, "tls-creds": "t0"}),
    ("nbd-server-start", {"addr": U, "tls-creds": "a0"}),
    ("object-del", {"id": "a0"}),
    ("object-del", {"id": "a1"}),
]

CLI = [
    ["--nbd-server", "addr.type=unix,addr.path=@S,foo=1"],
    ["--nbd-server", "addr.type=unix,addr.path=@S,addr.foo=1"],
    ["--nbd-server", "addr.type=unix"],
    ["--nbd-server", "addr.type=unix,addr.path=@S,max-connections=x"],
    ["--nbd-server", "addr.type=unix,addr.path=@S,max-connections=-1"],
    ["--nbd-server", "addr.type=unix,addr.path=@S,handshake-max-seconds=1.5"],
    ["--nbd-server", "addr.type=unix,addr.path=@S,handshake-max-seconds=4294967296"],
    ["--nbd-server", "addr.type=inet,addr.host=127.0.0.1"],
    ["--nbd-server", "addr.type=inet,addr.host=127.0.0.1,addr.port=1,addr.to=70000"],
    ["--nbd-server", "addr.type=fd,addr.str=myfd"],
    ["--nbd-server", "addr.type=fd,addr.str=99"],
    ["--nbd-server", "addr.type=vsock,addr.cid=2,addr.port=x"],
    ["--nbd-server", "addr.type=unix,addr.path=@S",
     "--export", "type=nbd,id=0e,node-name=f0"],
    ["--nbd-server", "addr.type=unix,addr.path=@S",
     "--export", "type=nbd,id=e0,node-name=f0,bitmaps.0=x"],
    ["--nbd-server", "addr.type=unix,addr.path=@S",
     "--export", "type=nbd,id=e0,node-name=f0,iothread=x"],
    ["--nbd-server", "addr.type=unix,addr.path=@S",
     "--export", "type=nbd,id=e0,node-name=f0,foo=bar"],
    ["--export", "type=nbd,id=e0,node-name=f0"],
    ["--object", "authz-simple,id=a0"],
    ["--object", "authz-simple,id=a0,identity=x,foo=1"],
    ["--object", "authz-list,id=a0,rules.1.match=x,rules.1.policy=allow"],
    ["--object", "authz-list,id=a0,rules.0.match=x,rules.0.policy=allow,"
                 "rules.0.format=regex"],
    ["--object", "authz-listfile,id=a0,filename=/x"],
    ["--object", "iothread,id=io0,thread-pool-min=5,thread-pool-max=2"],
    ["--object", "iothread,id=io0,poll-grow=-1"],
]


def main():
    if not QSD:
        print("SKIP: qemu-storage-daemon not installed")
        return 77
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR",
                                                        "/dev/shm")) as tmp:
        with open(os.path.join(tmp, "disk.img"), "wb") as f:
            f.truncate(16 << 20)
        compare_qmp(tmp, "start/add errors", START_AND_ERRORS)
        compare_qmp(tmp, "delete timing", DELETE_TIMING)
        compare_qmp(tmp, "legacy, objects", LEGACY_AND_OBJECTS)
        for args in CLI:
            a = [x.replace("@S", os.path.join(tmp, "qsd.sock")) for x in args]
            b = [x.replace("@S", os.path.join(tmp, "lb.sock")) for x in args]
            x = run_cli(QSD, tmp, a).replace(os.path.join(tmp, "qsd.sock"),
                                             "@S")
            y = run_cli(LB, tmp, b).replace(os.path.join(tmp, "lb.sock"),
                                            "@S")
            check(x == y, "cli %s => %s" % (" ".join(args)[:60], x[:70]))
            if x != y:
                print("      qsd: %s\n      lb : %s" % (x, y))
    print("%d failure(s)" % nbdqmp.failures)
    return 1 if nbdqmp.failures else 0


if __name__ == "__main__":
    sys.exit(main())
