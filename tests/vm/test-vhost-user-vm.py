#!/usr/bin/env python3
"""test-vhost-user-vm.py SCENARIO: a real guest (QEMU, TCG) on luksblk's
vhost-user-blk export of a detached-header LUKS2 volume.

  basic      reads known data, writes a pattern with O_DIRECT + fsync,
             switches the disk to write-back and writes + fsyncs again
             (FLUSH requests counted in the guest), powers off; the bytes
             are checked through luksblk-io and through cryptsetup's
             volume key with the independent decrypt (luks-oracle.py)
  mq         -smp 2, num-queues=2: one writer pinned to each CPU
  reboot     the guest reboots (QEMU stops and restarts the rings) and
             reads its first boot's data in the second
  reconnect  the export is deleted (hard) and added again while the
             guest runs; QEMU reconnects and the guest's I/O goes on
  ro         a read-only export (VIRTIO_BLK_F_RO): the disk is read-only
             in the guest and a write fails there (EPERM; the daemon's own
             IOERR for writes that reach it is in test-vhost-user-proto.py)
  nbd        the node is exported over vhost-user-blk and NBD at once:
             each side reads what the other wrote

Skips (77) without qemu-system-x86, busybox-static or the kernel package.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guest  # noqa: E402
from vmlib import finish, BUILD, Daemon, Volume, check, skip  # noqa: E402

MIB = 1 << 20


def pat(tag):
    line = ("luksblk-vhost-%s\n" % tag).encode()
    return (line * (MIB // len(line) + 1))[:MIB]


def md5(b):
    return hashlib.md5(b).hexdigest()


def export_arg(sock, extra=""):
    return ("type=vhost-user-blk,id=vu0,node-name=disk0,addr.type=unix,"
            "addr.path=%s%s" % (sock, extra))


def run_guest(kernel, initrd, tmp, sock, scenario, nq=1, smp=1,
              reboot=False, chardev_extra="", during=None):
    g = guest.Guest(kernel, initrd, tmp, [(sock, nq, chardev_extra)],
                    {"vt": scenario}, smp=smp, reboot=reboot,
                    tag="vm-" + scenario)
    try:
        if during:
            during(g)
        res = g.results()
    except OSError as e:
        res = {"END": "error: %s" % e}
    rc = g.wait()
    check(res.get("END") == "0" and rc == 0,
          "%s: guest ran to the end and powered off (END=%s rc=%s)"
          % (scenario, res.get("END"), rc))
    if res.get("END") != "0" or rc != 0:
        print("\n".join(g.lines[-30:]))
        print(g.qemu_log()[-2000:])
    return res


def vol_checks(vol, what, off, data):
    """The bytes of [off, off + len(data)) through luksblk-io and through
    cryptsetup's volume key with the independent decrypt.  Long ranges are
    sampled (first and last 64 KiB) to keep the Python decrypt short."""
    if data == bytes([data[0]]) * len(data):
        rc, _ = vol.lbio("read -P 0x%02x %d %d" % (data[0], off, len(data)))
        check(rc == 0, "%s: luksblk-io reads the bytes" % what)
    else:
        got = lbio_read(vol, off, len(data))
        check(got == data, "%s: luksblk-io reads the bytes" % what)
    k = min(len(data), 64 << 10)
    ok = (vol.oracle_read(off, k) == data[:k] and
          vol.oracle_read(off + len(data) - k, k) == data[-k:])
    check(ok, "%s: cryptsetup volume key + independent decrypt" % what)


def lbio_read(vol, off, length):
    """The bytes luksblk-io reads, from its qemu-io style "read -v" dump."""
    rc, out = vol.lbio("read -v %d %d" % (off, length))
    if rc != 0:
        return None
    data = bytearray()
    for line in out.splitlines():
        head, sep, rest = line.partition(":  ")
        if not sep or len(head) != 8:
            continue
        data += bytes.fromhex(" ".join(rest.split()[:16]))
    return bytes(data)


def sc_basic(kernel, initrd, tmp, vol, sock):
    rc, out = vol.lbio("write -P 0x5a 0 1M")
    check(rc == 0, "basic: known data written with luksblk-io")
    d = Daemon(tmp, vol.blockdev_args() + [
        "--export", export_arg(sock, ",writable=on")])
    try:
        res = run_guest(kernel, initrd, tmp, sock, "basic")
    finally:
        d.stop()
    check(res.get("size") == str(vol.size), "basic: guest sees the size")
    check(res.get("serial") == "vu0", "basic: GET_ID gives the export id")
    check(res.get("cache") == "write through", "basic: starts write-through")
    check(res.get("known") == md5(b"\x5a" * MIB), "basic: guest reads known "
          "data")
    check(res.get("write-direct") == "0", "basic: O_DIRECT write + fsync")
    check(res.get("cache-after") == "write back", "basic: switched to "
          "write-back (config write of wce)")
    check(res.get("write-fsync") == "0", "basic: buffered write + fsync")
    check(int(res.get("flushes", "0")) > 0,
          "basic: FLUSH requests sent and completed (%s)"
          % res.get("flushes"))
    check(res.get("readback") == "%s %s" % (md5(pat("a")), md5(b"\xab" * MIB)),
          "basic: guest reads back both patterns")
    vol_checks(vol, "basic O_DIRECT pattern", 2 * MIB, pat("a"))
    vol_checks(vol, "basic write-back pattern", 4 * MIB, b"\xab" * MIB)
    check(vol.raw_read(2 * MIB, 4096) != pat("a")[:4096],
          "basic: payload holds ciphertext")


def sc_mq(kernel, initrd, tmp, vol, sock):
    d = Daemon(tmp, vol.blockdev_args() + [
        "--export", export_arg(sock, ",writable=on,num-queues=2")])
    try:
        res = run_guest(kernel, initrd, tmp, sock, "mq", nq=2, smp=2)
    finally:
        d.stop()
    check(res.get("hctx", "").split() == ["0", "1"],
          "mq: guest has two hardware queues (%s)" % res.get("hctx"))
    check(res.get("readback") == "%s %s" % (md5(pat("q0")), md5(pat("q1"))),
          "mq: both writers' data read back")
    vol_checks(vol, "mq queue 0 data", 2 * MIB, pat("q0"))
    vol_checks(vol, "mq queue 1 data", 3 * MIB, pat("q1"))


def sc_reboot(kernel, initrd, tmp, vol, sock):
    d = Daemon(tmp, vol.blockdev_args() + [
        "--export", export_arg(sock, ",writable=on")])
    try:
        g = guest.Guest(kernel, initrd, tmp, [(sock, 1, "")], {"vt": "reboot"},
                        reboot=True, tag="vm-reboot")
        first = g.expect("VT boot", 60)
        res = g.results()
        g.send("")
        rc = g.wait()
    finally:
        d.stop()
    check(first == "VT boot 1" and res.get("boot") == "2",
          "reboot: second boot after the guest's reboot")
    check(res.get("END") == "0" and rc == 0, "reboot: guest powered off")
    check(res.get("readback") == md5(pat("r")),
          "reboot: first boot's data read in the second")
    vol_checks(vol, "reboot data", 2 * MIB, pat("r"))


def sc_reconnect(kernel, initrd, tmp, vol, sock):
    d = Daemon(tmp, vol.blockdev_args() + [
        "--export", export_arg(sock, ",writable=on")])
    args = {"type": "vhost-user-blk", "id": "vu0", "node-name": "disk0",
            "writable": True, "addr": {"type": "unix", "path": sock}}

    def during(g):
        ok = g.expect("VT phase 1", 60) is not None
        if not ok:
            return
        r1 = d.qmp.cmd("block-export-del", {"id": "vu0"})
        r2 = d.qmp.cmd("block-export-del", {"id": "vu0", "mode": "hard"})
        r3 = d.qmp.cmd("block-export-add", args)
        check(ok and "error" in r1 and r2 == {"return": {}} and
              r3 == {"return": {}},
              "reconnect: safe del refused while connected (%s), hard del "
              "and add again" % r1.get("error", {}).get("desc"))
        g.send("go")
    try:
        res = run_guest(kernel, initrd, tmp, sock, "reconnect",
                        chardev_extra=",reconnect-ms=100", during=during)
    finally:
        d.stop()
    check(res.get("readback") == md5(pat("c")),
          "reconnect: guest reads its data after the reconnect")
    check(res.get("write-direct2") == "0" and
          res.get("readback2") == md5(b"\xaa" * MIB),
          "reconnect: and writes after it")
    vol_checks(vol, "reconnect data", 6 * MIB, b"\xaa" * MIB)


def sc_ro(kernel, initrd, tmp, vol, sock):
    rc, _ = vol.lbio("write -P 0x33 0 1M")
    d = Daemon(tmp, vol.blockdev_args(read_only=True) + [
        "--export", export_arg(sock)])
    try:
        res = run_guest(kernel, initrd, tmp, sock, "ro")
    finally:
        d.stop()
    check(res.get("ro") == "1", "ro: guest sees a read-only disk")
    check(res.get("known") == md5(b"\x33" * MIB), "ro: reads work")
    w1 = res.get("write-ro", "")
    check(not w1.startswith("0") and "error writing" in w1,
          "ro: the guest's write fails (%s)" % w1)
    check(res.get("known-after") == md5(b"\x33" * MIB), "ro: data unchanged")
    vol_checks(vol, "ro data unchanged", 0, b"\x33" * MIB)


def sc_nbd(kernel, initrd, tmp, vol, sock):
    nbd = os.path.join(tmp, "nbd.sock")
    d = Daemon(tmp, vol.blockdev_args() + [
        "--nbd-server", "addr.type=unix,addr.path=" + nbd,
        "--export", "type=nbd,id=n0,node-name=disk0,writable=on",
        "--export", export_arg(sock, ",writable=on")])
    qemu_io = "qemu-io"
    uri = "nbd+unix:///disk0?socket=" + nbd

    def during(g):
        ok = g.expect("VT phase 1", 60) is not None
        if not ok:
            return
        r = subprocess.run([qemu_io, "-f", "raw", uri, "-c",
                            "write -P 0xcb 8M 1M"], capture_output=True,
                           text=True)
        check(ok and r.returncode == 0, "nbd: host writes through NBD while "
              "the guest runs")
        out = os.path.join(tmp, "nbd-read.bin")
        r = subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "raw",
                            uri, out], capture_output=True, text=True)
        got = None
        if r.returncode == 0:
            with open(out, "rb") as f:
                f.seek(2 * MIB)
                got = f.read(MIB)
        else:
            print(r.stderr)
        check(got == pat("n"), "nbd: host reads the guest's data over NBD")
        g.send("go")
    try:
        res = run_guest(kernel, initrd, tmp, sock, "nbd", during=during)
    finally:
        d.stop()
    check(res.get("nbd-bytes") == md5(b"\xcb" * MIB),
          "nbd: guest reads what the host wrote over NBD")
    vol_checks(vol, "nbd guest data", 2 * MIB, pat("n"))


SCENARIOS = {"basic": sc_basic, "mq": sc_mq, "reboot": sc_reboot,
             "reconnect": sc_reconnect, "ro": sc_ro, "nbd": sc_nbd}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print("usage: %s %s" % (sys.argv[0], "|".join(SCENARIOS)))
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        try:
            kernel, initrd = guest.prepare(BUILD, tmp)
        except guest.GuestUnavailable as e:
            skip(str(e))
        vol = Volume(tmp, size_mb=16)
        sock = os.path.join(tmp, "vu.sock")
        SCENARIOS[sys.argv[1]](kernel, initrd, tmp, vol, sock)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
