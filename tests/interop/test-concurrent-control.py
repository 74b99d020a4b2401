#!/usr/bin/env python3
"""test-concurrent-control.py: control operations racing each other and
client I/O on luksblk-storage-daemon (issue 10, reproduced bugs 1 and 3).

- Two blockdev-amend jobs on one luks node each add a keyslot (LUKS1 with
  the slot picked by the daemon; LUKS2 with named and with picked slots),
  while an NBD client writes, query-named-block-nodes reads the header
  and exports are added and deleted.  Both jobs conclude, and afterwards BOTH new passphrases open
  the volume, in luksblk-io and in the real cryptsetup, and the bytes the
  client wrote read back through each of them.
- blockdev-del of the node a blockdev-create job formats, while the job
  runs: refused as in use (the job holds a reference taken by the
  handler), never a use-after-free; the header opens afterwards.
Exit 77 (skip) when cryptsetup is missing.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdqmp  # noqa: E402
from nbdqmp import QMP, check, nbd_go, recvall  # noqa: E402

BUILD = os.environ.get("LB_BUILD", "build")
LB = os.path.join(BUILD, "tools", "luksblk-storage-daemon")
IMG = os.path.join(BUILD, "tools", "luksblk-img")
IO = os.path.join(BUILD, "tools", "luksblk-io")
MiB = 1 << 20

if not shutil.which("cryptsetup"):
    print("cryptsetup not installed")
    sys.exit(77)


def nbd_write(s, off, data, handle):
    """One NBD_CMD_WRITE on transmission socket S; True on success."""
    s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 1, handle, off,
                          len(data)) + data)
    magic, err, h = struct.unpack(">IIQ", recvall(s, 16))
    return magic == 0x67446698 and err == 0 and h == handle


def start_daemon(tmp, extra):
    sock = os.path.join(tmp, "qmp.sock")
    args = [LB,
            "--object", "secret,id=s0,data=pass0",
            "--object", "secret,id=s1,data=pass1",
            "--object", "secret,id=s2,data=pass2"] + extra + [
            "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sock,
            "--monitor", "chardev=m0"]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "daemon.err"), "w"))
    return p, QMP(sock)


def stop(p, q):
    """Quit the daemon; its exit status (a crash shows as a signal)."""
    try:
        q.cmd("quit")
    except (OSError, EOFError):
        pass
    return p.wait(timeout=30)


def wait_concluded(q, ids, timeout=120):
    """Wait for every job in IDS to conclude; {id: error or None}."""
    left, out = set(ids), {}
    while left:
        e = q.wait_event("JOB_STATUS_CHANGE", timeout)
        if e is None:
            break
        if e["data"]["status"] == "concluded" and e["data"]["id"] in left:
            left.discard(e["data"]["id"])
    for j in q.cmd("query-jobs")["return"]:
        if j["id"] in ids:
            out[j["id"]] = j.get("error")
            q.cmd("job-dismiss", {"id": j["id"]})
    return out if not left else None


def opens(tmp, secret, hdr, payload, reads):
    """luksblk-io opens with SECRET and reads back READS [(off, byte)]."""
    cmds = []
    for off, byte in reads:
        cmds += ["-c", "read -P 0x%02x %d 65536" % (byte, off)]
    r = subprocess.run([IO, "--object", "secret,id=k,data=" + secret,
                        "--image-opts",
                        "driver=luks,file.filename=%s,header.filename=%s,"
                        "key-secret=k" % (payload, hdr)] + cmds,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print("      luksblk-io: " + (r.stdout + r.stderr).strip()[-300:])
    return r.returncode == 0


def cs_opens(tmp, secret, hdr, payload):
    key = os.path.join(tmp, "key")
    with open(key, "w") as f:
        f.write(secret)
    r = subprocess.run(["cryptsetup", "open", "--test-passphrase",
                        "--key-file", key, "--header", hdr, payload],
                       capture_output=True, text=True)
    return r.returncode == 0


def amend_race(tmp, title, create_opts, slots):
    hdr = os.path.join(tmp, "h.img")
    payload = os.path.join(tmp, "p.img")
    for f in (hdr, payload):
        if os.path.exists(f):
            os.unlink(f)
    subprocess.run([IMG, "create", "-q", "--object", "secret,id=s0,data=pass0",
                    "-f", "luks", "-o", "key-secret=s0,detached-header=on,"
                    "iter-time=10," + create_opts, hdr], check=True)
    with open(payload, "wb") as f:
        f.truncate(16 * MiB)
    nbd = os.path.join(tmp, "nbd.sock")
    p, q = start_daemon(tmp, [
        "--blockdev", "driver=file,node-name=p0,filename=" + payload,
        "--blockdev", "driver=file,node-name=h0,filename=" + hdr,
        "--blockdev", "driver=luks,node-name=disk0,file=p0,header=h0,"
                      "key-secret=s0",
        "--nbd-server", "addr.type=unix,addr.path=" + nbd,
        "--export", "type=nbd,id=e0,node-name=disk0,writable=on"])
    writes = [(i * MiB, 0x10 + i) for i in range(12)]
    try:
        s = nbd_go(nbd, "disk0")
        check(s is not None, "%s: NBD client connected" % title)
        for n, (secret, slot) in enumerate(zip(("s1", "s2"), slots)):
            opts = {"driver": "luks", "state": "active", "new-secret": secret,
                    "iter-time": 300}
            if slot is not None:
                opts["keyslot"] = slot
            r = q.cmd("blockdev-amend", {"job-id": "a%d" % n,
                                         "node-name": "disk0",
                                         "options": opts})
            check(r == {"return": {}}, "%s: amend %d started" % (title, n))
        # Client I/O, header readers and export add/del (read-only ones
        # of the header child, writable ones of the volume) while both
        # jobs run.
        ok, exports_ok = True, True
        for i, (off, byte) in enumerate(writes):
            ok = ok and nbd_write(s, off, bytes([byte]) * 65536, i + 1)
            info = q.cmd("query-named-block-nodes")
            ok = ok and "return" in info
            node, w = ("h0", False) if i % 2 else ("disk0", True)
            r1 = q.cmd("block-export-add", {"type": "nbd", "id": "x%d" % i,
                                            "name": "x%d" % i,
                                            "node-name": node,
                                            "writable": w})
            r2 = q.cmd("block-export-del", {"id": "x%d" % i})
            if not r1 == r2 == {"return": {}}:
                print("      export x%d: %s %s" % (i, r1, r2))
                exports_ok = False
        check(ok, "%s: NBD writes and query-named-block-nodes during "
              "the amends" % title)
        check(exports_ok, "%s: block-export-add/del during the amends"
              % title)
        res = wait_concluded(q, ["a0", "a1"])
        check(res == {"a0": None, "a1": None},
              "%s: both amend jobs concluded without error: %s"
              % (title, res))
        nodes = q.cmd("query-named-block-nodes")["return"]
        d = [n for n in nodes if n["node-name"] == "disk0"][0]
        slots_on = [x for x in d["image"]["format-specific"]["data"]["slots"]
                    if x["active"]]
        check(len(slots_on) == 3,
              "%s: query-named-block-nodes lists 3 active keyslots (%d)"
              % (title, len(slots_on)))
        s.close()
    finally:
        rc = stop(p, q)
    check(rc == 0, "%s: daemon exited cleanly (rc %s)" % (title, rc))
    for secret in ("pass0", "pass1", "pass2"):
        check(opens(tmp, secret, hdr, payload, writes),
              "%s: '%s' opens in luksblk-io, written bytes read back"
              % (title, secret))
        check(cs_opens(tmp, secret, hdr, payload),
              "%s: '%s' opens in cryptsetup --test-passphrase"
              % (title, secret))


def del_vs_create(tmp):
    title = "blockdev-del racing blockdev-create"
    hdr = os.path.join(tmp, "c.img")
    with open(hdr, "wb"):
        pass
    p, q = start_daemon(tmp, [
        "--blockdev", "driver=file,node-name=c0,filename=" + hdr])
    try:
        r = q.cmd("blockdev-create", {"job-id": "c", "options": {
            "driver": "luks", "file": "c0", "key-secret": "s0",
            "size": 4 * MiB, "iter-time": 300}})
        check(r == {"return": {}}, "%s: create job started" % title)
        r = q.cmd("blockdev-del", {"node-name": "c0"})
        check(r.get("error", {}).get("desc") ==
              "Node c0 is in use",
              "%s: blockdev-del refused while the job runs: %s" % (title, r))
        res = wait_concluded(q, ["c"])
        check(res == {"c": None}, "%s: create job concluded: %s"
              % (title, res))
        r = q.cmd("blockdev-del", {"node-name": "c0"})
        check(r == {"return": {}}, "%s: blockdev-del after the job" % title)
    finally:
        rc = stop(p, q)
    check(rc == 0, "%s: daemon exited cleanly (rc %s)" % (title, rc))
    r = subprocess.run([IO, "--object", "secret,id=k,data=pass0",
                        "--image-opts", "driver=luks,file.filename=%s,"
                        "key-secret=k" % hdr, "-c", "read 0 4096"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "%s: the created image opens" % title)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        amend_race(tmp, "LUKS1 picked slots", "luks-version=1", (None, None))
        amend_race(tmp, "LUKS2 argon2id picked slots",
                   "luks-version=2,pbkdf=argon2id,pbkdf-memory=32768,"
                   "pbkdf-parallel=1", (None, None))
        amend_race(tmp, "LUKS2 pbkdf2 named slots",
                   "luks-version=2,pbkdf=pbkdf2", (3, 5))
        del_vs_create(tmp)
    print("%d failure(s)" % nbdqmp.failures)
    sys.exit(1 if nbdqmp.failures else 0)


main()
