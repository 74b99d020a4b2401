#!/usr/bin/env python3
"""test-fuse-qmp.py: FUSE exports driven over QMP, as libvirt would.

block-export-add type fuse (with growable and allow-other) mounts the node
over a regular file; bad mountpoints are refused with QEMU's messages;
query-block-exports lists the export; blockdev-del is refused while it is
exported; block-export-del unmounts (even with a file descriptor open on
the mount, which then gets ENOTCONN) and emits BLOCK_EXPORT_DELETED; quit
and SIGTERM unmount every export.  Skips (77) without a usable /dev/fuse.
"""
import errno
import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qemu-iotests'))
from qmp_client import Daemon  # noqa: E402

MiB = 1 << 20


def mounted(path):
    real = os.path.realpath(path)
    with open('/proc/self/mounts') as f:
        return any(line.split()[1] == real and line.split()[2] == 'fuse'
                   for line in f)


def check(cond, what):
    if not cond:
        print('FAIL:', what)
        sys.exit(1)


def exports(qmp):
    return [(e['type'], e['id'], e['node-name'])
            for e in qmp.command('query-block-exports')]


def test_qmp_lifecycle(tmp):
    img = os.path.join(tmp, 'plain.img')
    mnt = os.path.join(tmp, 'disk.raw')
    with open(img, 'wb') as f:
        f.truncate(MiB)
    open(mnt, 'w').close()
    os.mkdir(os.path.join(tmp, 'dir'))

    with Daemon('--blockdev', 'driver=file,node-name=f0,filename=' + img) as d:
        qmp = d.qmp
        base = {'type': 'fuse', 'id': 'e0', 'node-name': 'f0'}

        err = qmp.error('block-export-add',
                        dict(base, mountpoint=os.path.join(tmp, 'dir')))
        check('is not a regular file' in err['desc'], 'directory: %r' % err)
        err = qmp.error('block-export-add',
                        dict(base, mountpoint=os.path.join(tmp, 'nope')))
        check('failed to stat' in err['desc'].lower(), 'missing: %r' % err)
        err = qmp.error('block-export-add', dict(base))
        check('mountpoint' in err['desc'], 'no mountpoint: %r' % err)
        check(exports(qmp) == [], 'failed adds left exports behind')
        check(not mounted(mnt), 'failed add left a mount')

        qmp.command('block-export-add',
                    dict(base, mountpoint=mnt, writable=True, growable=True,
                         **{'allow-other': 'off'}))
        check(mounted(mnt), 'not mounted after block-export-add')
        check(exports(qmp) == [('fuse', 'e0', 'f0')], 'query-block-exports')
        err = qmp.error('block-export-add',
                        dict(base, id='e1', mountpoint=mnt))
        check('already' in err['desc'], 'same mountpoint twice: %r' % err)
        err = qmp.error('blockdev-del', {'node-name': 'f0'})
        check(err['class'] == 'GenericError', 'blockdev-del while exported')

        # Growable: a write past EOF grows the node.
        fd = os.open(mnt, os.O_RDWR)
        data = os.urandom(4096)
        check(os.pwrite(fd, data, 2 * MiB) == 4096, 'growing write')
        check(os.fstat(fd).st_size == 2 * MiB + 4096, 'size after growth')
        check(os.path.getsize(img) == 2 * MiB + 4096, 'node size')
        check(os.pread(fd, 4096, 2 * MiB) == data, 'read back')

        # Delete with the file still open: unmounted, fd gets ENOTCONN.
        qmp.command('block-export-del', {'id': 'e0'})
        ev = qmp.event('BLOCK_EXPORT_DELETED')
        check(ev['data'] == {'id': 'e0'}, 'event data %r' % ev)
        check(not mounted(mnt), 'still mounted after block-export-del')
        try:
            os.pread(fd, 512, 0)
            check(False, 'read after delete succeeded')
        except OSError as e:
            check(e.errno in (errno.ENOTCONN, errno.ENODEV, errno.EIO),
                  'read after delete: %s' % e)
        try:
            os.close(fd)         # the flush on close fails the same way
        except OSError:
            pass
        check(exports(qmp) == [], 'export listed after delete')
        check(os.path.getsize(mnt) == 0, 'mountpoint file not back')
        with open(img, 'rb') as f:
            f.seek(2 * MiB)
            check(f.read(4096) == data, 'data in the image file')

        # quit unmounts whatever is exported.
        qmp.command('block-export-add', dict(base, mountpoint=mnt))
        check(mounted(mnt), 'second add not mounted')
        qmp.command('quit')
        check(d.wait() == 0, 'daemon exit status after quit')
        check(not mounted(mnt), 'still mounted after quit')


def test_sigterm(tmp):
    img = os.path.join(tmp, 'plain2.img')
    mnt = os.path.join(tmp, 'disk2.raw')
    with open(img, 'wb') as f:
        f.truncate(MiB)
    open(mnt, 'w').close()
    with Daemon('--blockdev', 'driver=file,node-name=f0,filename=' + img,
                '--export', 'type=fuse,id=e0,node-name=f0,mountpoint=%s,'
                'writable=on' % mnt) as d:
        check(mounted(mnt), 'command-line export not mounted')
        check(exports(d.qmp) == [('fuse', 'e0', 'f0')], 'query after --export')
        with open(mnt, 'r+b') as f:
            f.write(b'\xab' * 4096)
        d.proc.send_signal(signal.SIGTERM)
        check(d.wait() == 0, 'daemon exit status after SIGTERM')
        check(not mounted(mnt), 'still mounted after SIGTERM')
    with open(img, 'rb') as f:
        check(f.read(4096) == b'\xab' * 4096, 'data after SIGTERM')


def main():
    if not os.access('/dev/fuse', os.R_OK | os.W_OK):
        print('SKIP: no usable /dev/fuse')
        return 77
    with tempfile.TemporaryDirectory(dir='/dev/shm' if os.access(
            '/dev/shm', os.W_OK) else None) as tmp:
        try:
            test_qmp_lifecycle(tmp)
            test_sigterm(tmp)
        finally:
            for name in os.listdir(tmp):
                p = os.path.join(tmp, name)
                if mounted(p):
                    os.system('umount -l %s' % p)
    print('PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
