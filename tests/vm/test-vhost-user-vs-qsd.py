#!/usr/bin/env python3
"""test-vhost-user-vs-qsd.py: the vhost-user-blk export's command line and
QMP interface against qemu-storage-daemon 10 (the oracle): the same bad
--export lines and the same block-export-add / query-block-exports /
block-export-del sequences on both daemons must give the same errors and
replies.  Exit 77 (skip) without qemu-storage-daemon.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmlib import finish, DAEMON, QMP, check, skip  # noqa: E402

QSD = shutil.which("qemu-storage-daemon")

BAD_CLI = [
    "num-queues=0",
    "num-queues=70000",
    "logical-block-size=100",
    "logical-block-size=1000",
    "logical-block-size=256",
    "logical-block-size=4194304",
    "iothread=nope",
    "bogus=1",
]
BAD_ADDR = [
    "",
    ",addr.type=inet,addr.host=127.0.0.1,addr.port=0",
    ",addr.type=vsock,addr.cid=1,addr.port=2",
    ",addr.type=fd,addr.str=foo",
    ",addr.type=fd,addr.str=99",
    ",addr.type=unix,addr.path=/nonexistent-dir/vu.sock",
]


def run_cli(prog, tmp, export):
    try:
        r = subprocess.run(
            [prog, "--blockdev", "driver=file,node-name=f0,filename="
             + os.path.join(tmp, "disk.img"), "--export", export],
            capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        return "running"
    return "exit %d: %s" % (r.returncode,
                            r.stderr.strip().split(": ", 2)[-1])


def qmp_steps(tmp, tag):
    sock = os.path.join(tmp, tag + "-vu.sock")
    base = {"type": "vhost-user-blk", "id": "vu0", "node-name": "f0",
            "addr": {"type": "unix", "path": sock}}

    def add(**kw):
        a = dict(base)
        a.update(kw)
        return ("block-export-add", a)
    return [
        add(**{"num-queues": 0}),
        add(**{"logical-block-size": 100}),
        add(addr={"type": "inet", "host": "127.0.0.1", "port": "0"}),
        add(addr={"type": "fd", "str": "3"}),
        add(**{"node-name": "nosuch"}),
        add(id="bad id"),
        add(**{"writable": True, "node-name": "ro0"}),
        add(extra=1),
        add(**{"num-queues": 2, "logical-block-size": 4096,
               "writable": True}),
        ("query-block-exports", None),
        add(),
        ("block-export-del", {"id": "vu0"}),
        ("query-block-exports", None),
        ("block-export-del", {"id": "vu0"}),
    ]


def run_qmp(prog, tmp, tag):
    qmp_path = os.path.join(tmp, tag + ".qmp")
    p = subprocess.Popen(
        [prog, "--blockdev", "driver=file,node-name=f0,filename="
         + os.path.join(tmp, "disk.img"),
         "--blockdev", "driver=file,node-name=ro0,read-only=on,filename="
         + os.path.join(tmp, "disk2.img"),
         "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % qmp_path,
         "--monitor", "chardev=m0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = []
    try:
        q = QMP(qmp_path)
        for name, args in qmp_steps(tmp, tag):
            r = q.cmd(name, args)
            out.append(r if "error" not in r else {"error": r["error"]})
        out.append(sorted(e[0] for e in q.take_events(0.3)))
    finally:
        p.terminate()
        p.wait()
    return out


def main():
    if not QSD:
        skip("qemu-storage-daemon is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        for n in ("disk.img", "disk2.img"):
            with open(os.path.join(tmp, n), "wb") as f:
                f.truncate(16 << 20)
        sock = os.path.join(tmp, "cli.sock")
        good = ("type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,"
                "addr.path=" + sock)
        lines = [good + "," + b for b in BAD_CLI]
        lines += ["type=vhost-user-blk,id=e0,node-name=f0" + a
                  for a in BAD_ADDR]
        lines.append(good + ",num-queues=4,logical-block-size=4096")
        for line in lines:
            a = run_cli(QSD, tmp, line)
            b = run_cli(DAEMON, tmp, line)
            check(a == b, "--export ...%s: %s" % (line[-40:], a))
            if a != b:
                print("      qsd: %s\n      lb : %s" % (a, b))
        a = run_qmp(QSD, tmp, "qsd")
        b = run_qmp(DAEMON, tmp, "lb")
        steps = qmp_steps(tmp, "x") + [("events", None)]
        for (name, args), x, y in zip(steps, a, b):
            x = json.loads(json.dumps(x).replace("qsd-vu", "X-vu"))
            y = json.loads(json.dumps(y).replace("lb-vu", "X-vu"))
            check(x == y, "QMP %s %s: %s" % (
                name, json.dumps(args)[-50:] if args else "",
                json.dumps(x)[:80]))
            if x != y:
                print("      qsd: %s\n      lb : %s" % (json.dumps(x)[:300],
                                                      json.dumps(y)[:300]))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
