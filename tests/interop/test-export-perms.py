#!/usr/bin/env python3
"""test-export-perms.py: child permissions (issue 10, reproduced bug 2).

A LUKS header is metadata of its luks node: a writable export of the
node's header child, of an attached header's file (directly or below a
raw node), is refused with QEMU 10's permission-conflict message; a luks
node is not added on a header another user already writes.  Read-only
exports of those nodes, and a writable export of a detached header's
payload, stay allowed.  The header bytes are unchanged afterwards and the
volume still opens.  (QEMU 10 accepts these exports and loses the header.)
"""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbdqmp  # noqa: E402
from nbdqmp import QMP, check  # noqa: E402

BUILD = os.environ.get("LB_BUILD", "build")
LB = os.path.join(BUILD, "tools", "luksblk-storage-daemon")
IMG = os.path.join(BUILD, "tools", "luksblk-img")
IO = os.path.join(BUILD, "tools", "luksblk-io")
MiB = 1 << 20


def conflict(node, user_node, role, perms="write", req=None):
    """QEMU 10's bdrv_a_allow_b() text for an export of NODE refused by
    USER_NODE's edge ROLE to it."""
    req = req or "an unnamed block device (uses node '%s' as 'root' child)" \
        % node
    return ("Permission conflict on node '%s': permissions '%s' are both "
            "required by %s and unshared by node '%s' (uses node '%s' as "
            "'%s' child)." % (node, perms, req, user_node, node, role))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    tmp = tempfile.mkdtemp()
    hdr, payload = os.path.join(tmp, "h.img"), os.path.join(tmp, "p.img")
    att, hdr2 = os.path.join(tmp, "a.img"), os.path.join(tmp, "h2.img")
    for path, opts, size in ((hdr, "detached-header=on", None),
                             (att, "", "4M"), (hdr2, "detached-header=on",
                                               None)):
        cmd = [IMG, "create", "-q", "--object", "secret,id=s0,data=pass0",
               "-f", "luks", "-o", "key-secret=s0,iter-time=10" +
               ("," + opts if opts else ""), path] + ([size] if size else [])
        subprocess.run(cmd, check=True)
    with open(payload, "wb") as f:
        f.truncate(4 * MiB)
    before = {p: sha(p) for p in (hdr, att, hdr2)}
    sock = os.path.join(tmp, "qmp.sock")
    nbd = os.path.join(tmp, "nbd.sock")
    p = subprocess.Popen([
        LB, "--object", "secret,id=s0,data=pass0",
        "--blockdev", "driver=file,node-name=p0,filename=" + payload,
        "--blockdev", "driver=file,node-name=h0,filename=" + hdr,
        "--blockdev", "driver=luks,node-name=disk0,file=p0,header=h0,"
                      "key-secret=s0",
        "--blockdev", "driver=file,node-name=f1,filename=" + att,
        "--blockdev", "driver=raw,node-name=r1,file=f1",
        "--blockdev", "driver=luks,node-name=disk1,file=r1,key-secret=s0",
        "--blockdev", "driver=file,node-name=h2,filename=" + hdr2,
        "--nbd-server", "addr.type=unix,addr.path=" + nbd,
        "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sock,
        "--monitor", "chardev=m0"], stdout=subprocess.DEVNULL)
    try:
        q = QMP(sock)

        def export(eid, node, writable):
            return q.cmd("block-export-add", {
                "type": "nbd", "id": eid, "node-name": node,
                "writable": writable})

        def refused(r, desc, what):
            got = r.get("error", {}).get("desc")
            check(got == desc, what)
            if got != desc:
                print("      want: %s\n      got : %s" % (desc, r))

        refused(export("x0", "h0", True), conflict("h0", "disk0", "header"),
                "writable export of a detached header child refused")
        refused(export("x1", "f1", True), conflict("f1", "r1", "file"),
                "writable export of an attached header's file (below raw) "
                "refused")
        refused(export("x2", "r1", True), conflict("r1", "disk1", "file"),
                "writable export of an attached header's raw node refused")
        check(export("ro0", "h0", False) == {"return": {}},
              "read-only export of the header child allowed")
        check(export("ro1", "f1", False) == {"return": {}},
              "read-only export of the attached image's file allowed")
        check(export("ro2", "r1", False) == {"return": {}},
              "read-only export of the attached image's raw node allowed")
        check(export("w0", "p0", True) == {"return": {}},
              "writable export of a detached header's payload allowed")
        check(export("w1", "disk0", True) == {"return": {}},
              "writable export of the luks node itself allowed")
        # A second writable luks node on a header in use.
        r = q.cmd("blockdev-add", {"node-name": "disk9", "driver": "luks",
                                   "file": "p0", "header": "h0",
                                   "key-secret": "s0"})
        refused(r, conflict("h0", "disk0", "header", perms="write, resize",
                            req="node 'disk9' (uses node 'h0' as 'header' "
                                "child)"),
                "a second luks node on the same header refused")
        # The other order: a luks node on a header someone writes.
        check(export("w2", "h2", True) == {"return": {}},
              "writable export of a plain file node allowed")
        r = q.cmd("blockdev-add", {"node-name": "disk2", "driver": "luks",
                                   "file": "p0", "header": "h2",
                                   "key-secret": "s0"})
        refused(r, conflict("h2", "disk2", "header"),
                "luks node on an exported writable header refused")
        nodes = [n["node-name"] for n in
                 q.cmd("query-named-block-nodes")["return"]]
        check("disk2" not in nodes, "the refused luks node does not exist")
        check(q.cmd("block-export-del", {"id": "w2"}) == {"return": {}},
              "export of h2 deleted")
        q.wait_event("BLOCK_EXPORT_DELETED")
        r = q.cmd("blockdev-add", {"node-name": "disk2", "driver": "luks",
                                   "file": "p0", "header": "h2",
                                   "key-secret": "s0", "read-only": True})
        check(r == {"return": {}}, "luks node on h2 once the export is "
              "gone: %s" % r)
        refused(export("x3", "h2", True), conflict("h2", "disk2", "header",
                                                   perms="write"),
                "writable export of a read-only luks node's header refused")
        q.cmd("quit")
    finally:
        rc = p.wait(timeout=30)
    check(rc == 0, "daemon exited cleanly (rc %s)" % rc)
    for path in (hdr, att, hdr2):
        check(sha(path) == before[path], "%s unchanged"
              % os.path.basename(path))
    r = subprocess.run([IO, "--object", "secret,id=k,data=pass0",
                        "--image-opts", "driver=luks,file.filename=%s,"
                        "header.filename=%s,key-secret=k" % (payload, hdr),
                        "-c", "read 0 4096"], capture_output=True, text=True)
    check(r.returncode == 0, "the detached volume still opens")
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)
    print("%d failure(s)" % nbdqmp.failures)
    sys.exit(1 if nbdqmp.failures else 0)


main()
