#!/usr/bin/env python3
"""test-vhost-user-concurrent.py: control operations while a vhost-user
front-end writes and reads on two queues of the export.  At the same
time: a blockdev-amend job adds a keyslot, and other exports of the same
node come and go over QMP (a second vhost-user-blk export with its own
front-end, and NBD exports).  Afterwards every byte the front-end wrote
is checked through cryptsetup's volume key and the independent decrypt,
and the new passphrase opens the volume.
"""
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vuclient as vu  # noqa: E402
from vmlib import finish, Daemon, Volume, check  # noqa: E402

CHUNK = 64 << 10


def chunk(i):
    return bytes([(i * 37 + 11) & 0xff]) * 512 + bytes(range(256)) * \
        ((CHUNK - 512) // 256)


def io_loop(sock, n, result):
    try:
        b = vu.BlkDev(sock, nq=2)
        ok = True
        for i in range(n):
            qi = i % 2
            st, _, _ = b.write(i * CHUNK // 512, chunk(i), qi=qi)
            st2, got, _ = b.read(i * CHUNK // 512, CHUNK, qi=1 - qi)
            ok = ok and st == st2 == vu.S_OK and got == chunk(i)
        b.close()
        result["ok"] = ok
    except (OSError, vu.VuError) as e:
        result["error"] = repr(e)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        vol = Volume(tmp, size_mb=16)
        sock = os.path.join(tmp, "vu.sock")
        nbd = os.path.join(tmp, "nbd.sock")
        d = Daemon(tmp, vol.blockdev_args() + [
            "--nbd-server", "addr.type=unix,addr.path=" + nbd,
            "--export", "type=vhost-user-blk,id=vu0,node-name=disk0,"
            "addr.type=unix,addr.path=%s,writable=on,num-queues=2" % sock])
        n = 80
        try:
            q = d.qmp
            q.cmd("object-add", {"qom-type": "secret", "id": "sec1",
                                 "data": "second-pass"})
            result = {}
            t = threading.Thread(target=io_loop, args=(sock, n, result))
            t.start()
            r = q.cmd("blockdev-amend", {
                "job-id": "am", "node-name": "disk0",
                "options": {"driver": "luks", "state": "active",
                            "new-secret": "sec1", "iter-time": 200}})
            check(r == {"return": {}}, "amend job started during guest I/O")
            rounds, ctl_ok = 0, True
            sock2 = os.path.join(tmp, "vu2.sock")
            while t.is_alive() and rounds < 40:
                r1 = q.cmd("block-export-add", {
                    "type": "vhost-user-blk", "id": "vu1",
                    "node-name": "disk0",
                    "addr": {"type": "unix", "path": sock2}})
                b2 = vu.BlkDev(sock2)
                st, _, _ = b2.read(0, 4096)
                b2.close()
                r2 = q.cmd("block-export-del", {"id": "vu1", "mode": "hard"})
                r3 = q.cmd("block-export-add", {"type": "nbd", "id": "n%d"
                                                % rounds,
                                                "node-name": "disk0"})
                r4 = q.cmd("block-export-del", {"id": "n%d" % rounds})
                ctl_ok = ctl_ok and r1 == r2 == r3 == r4 == {"return": {}} \
                    and st == vu.S_OK
                if not ctl_ok:
                    print("      round %d: %s %s %s %s st=%s"
                          % (rounds, r1, r2, r3, r4, st))
                    break
                rounds += 1
            t.join(120)
            check(result.get("ok") is True, "%d writes + reads on two queues "
                  "while exports come and go (%s)" % (n, result))
            check(ctl_ok and rounds > 0, "%d rounds of vhost-user-blk and NBD "
                  "export add/del alongside" % rounds)
            deadline = time.monotonic() + 60
            status = None
            while time.monotonic() < deadline:
                jobs = q.cmd("query-jobs").get("return", [])
                status = jobs[0]["status"] if jobs else None
                if status == "concluded":
                    break
                time.sleep(0.1)
            check(status == "concluded" and "error" not in jobs[0],
                  "amend job concluded without error")
            q.cmd("job-dismiss", {"id": "am"})
        finally:
            log = d.stop()
        good = all(vol.oracle_read(i * CHUNK, CHUNK) == chunk(i)
                   for i in range(0, n, 15))
        check(good, "independent decrypt: the front-end's bytes (every 15th "
              "chunk)")
        with open(os.path.join(tmp, "pass2"), "w") as f:
            f.write("second-pass")
        rc = os.system("cryptsetup open --test-passphrase --header %s "
                       "--key-file %s %s" % (vol.header,
                                              os.path.join(tmp, "pass2"),
                                              vol.payload))
        check(rc == 0, "cryptsetup: the keyslot added during I/O opens")
    return finish(log)


if __name__ == "__main__":
    sys.exit(main())
