#!/usr/bin/env python3
"""test-vhost-user-proto.py: luksblk's vhost-user-blk export driven by a
Python front-end (vuclient.py) over its unix socket, with guest RAM in a
memfd: the protocol (features, protocol features, queue count, config
space, memory table and its replacement, vrings, GET_VRING_BASE,
disconnect and reconnect, two queues) and every virtio-blk request type
with its status byte, on a detached-header LUKS2 volume.  The bytes are
checked afterwards through luksblk-io and cryptsetup's volume key with
the independent decrypt of tests/interop/luks-oracle.py.
"""
import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vuclient as vu  # noqa: E402
from vmlib import Daemon, Volume, check, finish  # noqa: E402


def pattern(seed, n):
    return bytes((seed + i * 7) & 0xff for i in range(n))


def test_basics(d, sock, vol):
    b = vu.BlkDev(sock, nq=2)
    check(b.offered & vu.F_PROTOCOL_FEATURES and b.offered & vu.F_VERSION_1,
          "features: VERSION_1 and PROTOCOL_FEATURES offered")
    check(b.offered & vu.F_INDIRECT and b.offered & vu.F_EVENT_IDX,
          "features: INDIRECT_DESC and EVENT_IDX offered")
    check(not b.offered & vu.BLK_F_RO, "features: writable export is not RO")
    check(b.pfeatures & vu.PF_MQ and b.pfeatures & vu.PF_REPLY_ACK and
          b.pfeatures & vu.PF_CONFIG, "protocol features: MQ REPLY_ACK CONFIG")
    check(b.max_queues == 2, "GET_QUEUE_NUM is num-queues (2)")
    check(b.capacity() == vol.size // 512, "config: capacity in sectors")
    blk_size, = struct.unpack("<I", b.config[20:24])
    check(blk_size == 512, "config: blk_size 512")
    check(b.config[32] == 0, "config: starts write-through (wce=0)")
    nq, = struct.unpack("<H", b.config[34:36])
    check(nq == 2, "config: num_queues 2")
    part = b.get_config(32, 4)
    check(part == b.config[32:36], "GET_CONFIG at an offset")

    data = pattern(1, 64 << 10)
    st, _, ulen = b.write(8, data)
    check(st == vu.S_OK and ulen == 1, "OUT 64 KiB: status OK, used len 1")
    st, got, ulen = b.read(8, len(data))
    check(st == vu.S_OK and got == data and ulen == len(data) + 1,
          "IN 64 KiB: same bytes, used len data+1")
    st, got, _ = b.read(8, 4096, indirect=True)
    check(st == vu.S_OK and got == data[:4096], "IN through indirect table")
    st, _, _ = b.write(4096, pattern(9, 8192), indirect=True)
    check(st == vu.S_OK and b.read(4096, 8192)[1] == pattern(9, 8192),
          "OUT through indirect table")

    # Many requests in flight on one queue, one kick.
    hs = [b.submit(0, vu.T_OUT, 1024 + 16 * i, out=pattern(i, 8192))
          for i in range(24)]
    res = b.finish(hs)
    check(all(r[0] == vu.S_OK for r in res), "24 writes in flight: all OK")
    hs = [b.submit(0, vu.T_IN, 1024 + 16 * i, in_len=8192)
          for i in range(24)]
    res = b.finish(hs)
    check(all(r[0] == vu.S_OK and r[1] == pattern(i, 8192)
              for i, r in enumerate(res)), "24 reads in flight: right bytes")

    st, got, ulen = b.req(vu.T_GET_ID, in_len=20)
    check(st == vu.S_OK and got.rstrip(b"\0") == b"vu0" and ulen == 21,
          "GET_ID: the export id")
    check(b.req(vu.T_FLUSH)[0] == vu.S_OK, "FLUSH: OK")
    b.write(2048, pattern(3, 4096))
    st = b.req(vu.T_WRITE_ZEROES, out=vu.dwz(2048, 8))[0]
    check(st == vu.S_OK and b.read(2048, 4096)[1] == bytes(4096),
          "WRITE_ZEROES: OK, reads zeroes")
    check(b.req(vu.T_DISCARD, out=vu.dwz(3000, 8))[0] == vu.S_OK,
          "DISCARD: OK")
    check(b.req(vu.T_DISCARD, out=vu.dwz(3000, 8, 1))[0] == vu.S_UNSUPP,
          "DISCARD with the unmap flag: UNSUPP")
    check(b.req(99)[0] == vu.S_UNSUPP, "unknown request type: UNSUPP")

    cap = b.capacity()
    check(b.read(cap - 8, 4096)[0] == vu.S_OK, "IN of the last 4 KiB: OK")
    check(b.read(cap - 7, 4096)[0] == vu.S_IOERR, "IN past the end: IOERR")
    check(b.write(cap, b"x" * 512)[0] == vu.S_IOERR,
          "OUT at the end: IOERR")
    check(b.read(2 ** 63, 512)[0] == vu.S_IOERR, "IN at sector 2^63: IOERR")
    check(b.read(0, 100)[0] == vu.S_IOERR, "IN of 100 bytes: IOERR")
    check(b.req(vu.T_WRITE_ZEROES, out=vu.dwz(cap - 4, 8))[0] == vu.S_IOERR,
          "WRITE_ZEROES past the end: IOERR")

    # Config: wce is the only writable field.
    c = b.conn
    ok = c.do(vu.SET_CONFIG, struct.pack("<III", 32, 1, 0) + b"\x01")
    check(ok == 0 and b.get_config()[32] == 1, "SET_CONFIG wce=1 (write-back)")
    bad = c.do(vu.SET_CONFIG, struct.pack("<III", 0, 8, 0) + bytes(8))
    check(bad != 0 and b.capacity() == cap, "SET_CONFIG of capacity refused")
    b.write(5000, pattern(5, 4096))
    check(b.req(vu.T_FLUSH)[0] == vu.S_OK, "write-back OUT + FLUSH: OK")
    c.do(vu.SET_CONFIG, struct.pack("<III", 32, 1, 0) + b"\x00")

    # Second queue.
    st, _, _ = b.write(6000, pattern(6, 4096), qi=1)
    check(st == vu.S_OK and b.read(6000, 4096, qi=1)[1] == pattern(6, 4096),
          "queue 1: OUT and IN")
    b.close()
    return data


def test_mem_replace(sock):
    """A new memory table while the rings run; old regions unmapped."""
    b = vu.BlkDev(sock)
    b.write(7000, pattern(7, 4096))
    # The same RAM under a new fd and a different front-end address.
    fd2 = os.open("/proc/self/fd/%d" % b.mem.fd, os.O_RDWR)
    ack = b.conn.do(vu.SET_MEM_TABLE,
                    b.mem.table(uaddr=vu.UADDR_BASE + (1 << 30)), [fd2])
    os.close(fd2)
    check(ack == 0, "SET_MEM_TABLE replacement while running: acked")
    # Ring addresses are front-end addresses: move them with the table.
    q = b.queues[0]
    ack = b.conn.do(vu.SET_VRING_ADDR, struct.pack(
        "<IIQQQQ", 0, 0, q.desc - vu.GPA_BASE + vu.UADDR_BASE + (1 << 30),
        q.used - vu.GPA_BASE + vu.UADDR_BASE + (1 << 30),
        q.avail - vu.GPA_BASE + vu.UADDR_BASE + (1 << 30), 0))
    check(ack == 0, "SET_VRING_ADDR after the new table: acked")
    st, got, _ = b.read(7000, 4096)
    check(st == vu.S_OK and got == pattern(7, 4096),
          "I/O after the table replacement")
    # Back at the first address: rings re-translated against the new table.
    fd3 = os.open("/proc/self/fd/%d" % b.mem.fd, os.O_RDWR)
    ack = b.conn.do(vu.SET_MEM_TABLE, b.mem.table(), [fd3])
    os.close(fd3)
    ack2 = b.conn.do(vu.SET_VRING_ADDR, q.addr_payload())
    st, got, _ = b.read(7000, 4096)
    check(ack == 0 and ack2 == 0 and st == vu.S_OK and got == pattern(7, 4096),
          "second replacement: I/O still right")
    # GET_VRING_BASE stops the ring and reports the next index.
    r = b.conn.call(vu.GET_VRING_BASE, struct.pack("<II", 0, 0))
    idx, base = struct.unpack("<II", r)
    check(idx == 0 and base == q.avail_idx, "GET_VRING_BASE: %d" % base)
    # Restart from that base, as QEMU does after a guest reset.
    check(not any(q.setup(base)), "ring restarted at its base")
    st, got, _ = b.read(7000, 4096)
    check(st == vu.S_OK and got == pattern(7, 4096), "I/O after restart")
    b.close()


def test_reconnect(d, sock):
    b = vu.BlkDev(sock)
    b.write(8000, pattern(8, 4096))
    b.close()
    r = d.qmp.cmd("query-block-exports")
    check(r.get("return", [{}])[0].get("type") == "vhost-user-blk",
          "query-block-exports: type vhost-user-blk")
    b = vu.BlkDev(sock)
    st, got, _ = b.read(8000, 4096)
    check(st == vu.S_OK and got == pattern(8, 4096),
          "reconnect: fresh handshake, same bytes")
    # A second front-end waits until the first one leaves.
    b.close()


def test_read_only(d, tmp):
    """A read-only export of the same node: RO offered, writes IOERR."""
    sock = os.path.join(tmp, "ro.sock")
    r = d.qmp.cmd("block-export-add", {
        "type": "vhost-user-blk", "id": "ro0", "node-name": "disk0",
        "addr": {"type": "unix", "path": sock}})
    check(r == {"return": {}}, "block-export-add read-only (QMP)")
    b = vu.BlkDev(sock)
    check(b.offered & vu.BLK_F_RO, "read-only export offers VIRTIO_BLK_F_RO")
    before = b.read(8, 4096)
    check(before[0] == vu.S_OK, "read-only export: IN OK")
    check(b.write(8, b"\xee" * 4096)[0] == vu.S_IOERR,
          "read-only export: OUT gets IOERR")
    check(b.req(vu.T_WRITE_ZEROES, out=vu.dwz(8, 8))[0] == vu.S_IOERR,
          "read-only export: WRITE_ZEROES gets IOERR")
    check(b.req(vu.T_DISCARD, out=vu.dwz(8, 8))[0] == vu.S_IOERR,
          "read-only export: DISCARD gets IOERR")
    check(b.read(8, 4096)[1] == before[1], "read-only export: data unchanged")
    b.close()
    r = d.qmp.cmd("block-export-del", {"id": "ro0"})
    check(r == {"return": {}}, "block-export-del of the read-only export")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        vol = Volume(tmp)
        sock = os.path.join(tmp, "vu.sock")
        d = Daemon(tmp, vol.blockdev_args() + [
            "--export", "type=vhost-user-blk,id=vu0,node-name=disk0,"
            "addr.type=unix,addr.path=%s,writable=on,num-queues=2" % sock])
        try:
            data = test_basics(d, sock, vol)
            test_mem_replace(sock)
            test_reconnect(d, sock)
            test_read_only(d, tmp)
            r = d.qmp.cmd("block-export-del", {"id": "vu0"})
            check(r == {"return": {}}, "block-export-del after disconnect")
        except (OSError, vu.VuError) as e:
            check(False, "exception: %r" % e)
        finally:
            log = d.stop()
        check(not os.path.exists(sock), "socket removed with the export")
        rc, out = vol.lbio("read -P 0x00 %d 4096" % (2048 * 512))
        check(rc == 0, "luksblk-io: zeroed range reads zeroes")
        check(vol.oracle_read(8 * 512, len(data)) == data,
              "cryptsetup key + independent decrypt: OUT bytes")
        check(vol.raw_read(8 * 512, 4096) != data[:4096],
              "payload holds ciphertext, not the plaintext")
    return finish(log)


if __name__ == "__main__":
    sys.exit(main())
