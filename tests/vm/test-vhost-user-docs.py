#!/usr/bin/env python3
"""test-vhost-user-docs.py: the vhost-user-blk section of
docs/system/detached-header.rst is right.  Its libvirt domain XML passes
virt-xml-validate (libvirt-clients; that part skips without it), and its
daemon command, run as written (paths moved into a temp dir), serves the
detached-header volume: a vhost-user front-end (vuclient.py) reads what
luksblk-io wrote, and the export answers query-block-exports.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vuclient as vu  # noqa: E402
from vmlib import finish, BUILD, PASS, QMP, Volume, check, wait_for  # noqa: E402
import nbdqmp  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "docs", "system", "detached-header.rst")


def literal_blocks(text, heading):
    """The literal (::) blocks of the section titled @heading."""
    sec = text.split(heading + "\n", 1)[1]
    sec = re.split(r"\n[^\n]+\n-{3,}\n", sec, 1)[0]
    blocks, cur, lines = [], None, sec.split("\n")
    for i, line in enumerate(lines):
        if cur is not None:
            if line.strip() == "" or line.startswith("   "):
                cur.append(line[3:])
                continue
            blocks.append("\n".join(cur).strip("\n"))
            cur = None
        if line.rstrip().endswith("::"):
            cur = []
    if cur is not None:
        blocks.append("\n".join(cur).strip("\n"))
    return blocks


def main():
    with open(DOC) as f:
        text = f.read()
    blocks = literal_blocks(text, "A VM's disk over vhost-user-blk")
    xml = [b for b in blocks if b.lstrip().startswith("<domain")]
    cmd = [b for b in blocks if "luksblk-storage-daemon" in b]
    check(len(xml) == 1 and len(cmd) == 1,
          "docs: one domain XML and one daemon command")
    with tempfile.TemporaryDirectory() as tmp:
        if shutil.which("virt-xml-validate"):
            path = os.path.join(tmp, "domain.xml")
            with open(path, "w") as f:
                f.write(xml[0] + "\n")
            r = subprocess.run(["virt-xml-validate", path, "domain"],
                               capture_output=True, text=True)
            check(r.returncode == 0, "virt-xml-validate accepts the domain "
                  "XML (%s)" % (r.stdout + r.stderr).strip()[-200:])
        else:
            print("SKIP  virt-xml-validate not installed (libvirt-clients)")

        vol = Volume(tmp, size_mb=8)
        rc, _ = vol.lbio("write -P 0x6c 0 64k")
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        script = cmd[0].replace("/run/luksblk/", run + "/")
        script = script.replace("/var/lib/luksblk/vm1-payload.img",
                                vol.payload)
        script = script.replace("/var/lib/luksblk/vm1-header.img",
                                vol.header)
        script = script.replace("luksblk-storage-daemon",
                                "exec " + os.path.join(
                                    os.path.abspath(BUILD), "tools",
                                    "luksblk-storage-daemon"))
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        p = subprocess.Popen(["bash", "-euc", script],
                             env=dict(os.environ, PASSPHRASE=PASS),
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            sock = os.path.join(run, "vm1-disk0.sock")
            check(wait_for(sock, 20), "documented daemon command starts")
            b = vu.BlkDev(sock, nq=2)
            st, got, _ = b.read(0, 65536)
            check(rc == 0 and st == vu.S_OK and got == b"\x6c" * 65536,
                  "documented export serves the volume (2 queues)")
            b.close()
            q = QMP(os.path.join(run, "vm1.qmp"))
            r = q.cmd("query-block-exports")
            check(r.get("return", [{}])[0].get("id") == "vm1-disk0",
                  "documented QMP monitor lists the export")
            q.cmd("quit")
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.seek(0)
            if nbdqmp.failures:
                print(log.read()[-2000:])
    return finish()


if __name__ == "__main__":
    sys.exit(main())
