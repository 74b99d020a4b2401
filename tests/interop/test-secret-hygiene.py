#!/usr/bin/env python3
"""test-secret-hygiene.py: passphrases and volume keys only in locked memory.

A luksblk-storage-daemon gets four passphrases of a detached-header LUKS2
volume and a LUKS1 one: on the command line (--object
secret,data=... in keyval and in JSON form), over QMP object-add with plain
data, and over QMP in libvirt's keyid/iv form (AES-256-CBC under another
secret).  Each one opens the volumes with blockdev-add and does I/O; a
third volume is made with blockdev-create, opened and written.  The
daemon's memory is then read through /proc/PID/mem: every copy of a
passphrase, of a volume key (cryptsetup --dump-volume-key), of either
half of an XTS key (a key schedule starts with the raw key) or of a block
of a keyslot's PBKDF2 output (computed here from luksDump's salt and
iteration count) must lie in a VM_LOCKED, VM_DONTDUMP mapping (smaps
"lo" and "dd": mlock and MADV_DONTDUMP), which is where LbSecret keeps key
material; after blockdev-del and object-del no copy may remain at all.
The same scan runs on luksblk-io waiting at its prompt with a volume
open (an argon2id keyslot) and on luksblk-img bench stopped (SIGSTOP) mid-run, its passphrase
read from a pipe.
Needs root (to read another process's memory), cryptsetup and openssl.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qemu-iotests'))
from qmp_client import Daemon, tool  # noqa: E402

failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    print(('ok    ' if cond else 'FAIL  ') + what)
    failures += not cond


def skip(why):
    print('SKIP:', why)
    sys.exit(77)


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw).stdout


def slot_keys(dump, passes):
    """{label: key} for the PBKDF2 output of every keyslot in luksDump
    text @dump, slot N being opened by passes[N]: the key that decrypts the
    slot's key material.  Split in hash-sized blocks, as PBKDF2 makes it."""
    keys = {}
    luks1 = dump.startswith('LUKS header') and 'Version:       \t1' in dump
    if luks1:
        hash_name = re.search(r'Hash spec:\s*(\S+)', dump).group(1)
        size = int(re.search(r'MK bits:\s*(\d+)', dump).group(1)) // 8
        parts = re.split(r'\nKey Slot (\d+): ENABLED\n', dump)[1:]
    else:
        parts = re.split(r'\n  (\d+): luks2\n', dump)[1:]
    for num, text in zip(parts[0::2], parts[1::2]):
        text = re.split(r'\nKey Slot |\n  \d+: |\nTokens:', text)[0]
        if 'Iterations:' not in text:
            continue  # argon2: not in the Python standard library
        if not luks1:
            hash_name = re.search(r'\tHash:\s*(\S+)', text).group(1)
            size = int(re.search(r'Cipher key:\s*(\d+)', text).group(1)) // 8
        iters = int(re.search(r'Iterations:\s*(\d+)', text).group(1))
        salt = re.search(r'Salt:\s*((?:[0-9a-f]{2}\s+)+)', text).group(1)
        dk = hashlib.pbkdf2_hmac(hash_name, passes[int(num)],
                                 bytes.fromhex(''.join(salt.split())),
                                 iters, size)
        dlen = hashlib.new(hash_name).digest_size
        for off in range(0, size, dlen):
            keys['slot %s key block %d' % (num, off // dlen)] = \
                dk[off:off + dlen]
    return keys


def make_volume(tmp, name, ltype, passes, argon2=False):
    """A detached-header volume opened by every passphrase in @passes;
    returns (payload, header, volume key bytes, {label: keyslot key})."""
    payload = os.path.join(tmp, name + '-payload.img')
    header = os.path.join(tmp, name + '-header.img')
    keyfiles = []
    for i, p in enumerate(passes):
        kf = os.path.join(tmp, '%s-pass%d' % (name, i))
        with open(kf, 'wb') as f:
            f.write(p)
        keyfiles.append(kf)
    with open(payload, 'wb') as f:
        f.truncate(4 << 20)
    pbkdf = ['--pbkdf-force-iterations', '1000']
    if argon2:
        pbkdf = ['--pbkdf', 'argon2id', '--pbkdf-force-iterations', '4',
                 '--pbkdf-memory', '32', '--pbkdf-parallel', '1']
    elif ltype == 'luks2':
        pbkdf = ['--pbkdf', 'pbkdf2'] + pbkdf
    run('cryptsetup', 'luksFormat', '--batch-mode', '--type', ltype,
        '--header', header, '--key-file', keyfiles[0], *pbkdf, payload)
    for kf in keyfiles[1:]:
        run('cryptsetup', 'luksAddKey', '--batch-mode', '--header', header,
            '--key-file', keyfiles[0], *pbkdf, payload, kf)
    dump = run('cryptsetup', 'luksDump', '--batch-mode', header).decode()
    return (payload, header, volume_key(header, keyfiles[0]),
            {'%s %s' % (name, k): v
             for k, v in slot_keys(dump, passes).items()})


def volume_key(header, keyfile):
    dump = run('cryptsetup', 'luksDump', '--dump-volume-key', '--batch-mode',
               '--key-file', keyfile, header).decode()
    m = re.search(r'MK dump:\s*((?:[0-9a-f]{2}\s+)+)', dump)
    if not m:
        raise RuntimeError('no volume key in luksDump output:\n' + dump)
    return bytes.fromhex(''.join(m.group(1).split()))


def encrypt_secret(key, iv, plain):
    """libvirt's secret encryption: AES-256-CBC, PKCS#7, base64."""
    out = run('openssl', 'enc', '-aes-256-cbc', '-K', key.hex(),
              '-iv', iv.hex(), input=plain)
    return base64.b64encode(out).decode()


def mappings(pid):
    """[(start, end, locked and no-dump, name, perms)] from smaps."""
    maps = []
    with open('/proc/%d/smaps' % pid) as f:
        cur = None
        for line in f:
            m = re.match(r'^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$',
                         line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), False,
                       m.group(4) or '[anon]', m.group(3)]
                maps.append(cur)
            elif line.startswith('VmFlags:') and cur:
                # Locked (mlock) and left out of core dumps (MADV_DONTDUMP).
                flags = line.split()[1:]
                cur[2] = 'lo' in flags and 'dd' in flags
    return maps


def scan(pid, needles):
    """{label: [(address, locked, mapping name)]} for every occurrence."""
    found = {label: [] for label in needles}
    with open('/proc/%d/mem' % pid, 'rb', buffering=0) as mem:
        for start, end, locked, name, perms in mappings(pid):
            if 'r' not in perms or name in ('[vvar]', '[vsyscall]'):
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except OSError:
                continue
            for label, needle in needles.items():
                i = data.find(needle)
                while i >= 0:
                    found[label].append((start + i, locked, name))
                    i = data.find(needle, i + 1)
    return found


def needles_for(passes, keys, derived=None):
    n = {'derived ' + k: v for k, v in (derived or {}).items()}
    for label, p in passes.items():
        n['passphrase ' + label] = p
    for label, k in keys.items():
        n['volume key ' + label] = k
        if len(k) >= 32:
            # XTS: each half is a cipher key of its own.
            n['volume key %s (first half)' % label] = k[:len(k) // 2]
            n['volume key %s (second half)' % label] = k[len(k) // 2:]
    return n


def expect_locked(pid, needles, what):
    found = scan(pid, needles)
    for label, hits in sorted(found.items()):
        bad = [h for h in hits if not h[1]]
        check(not bad, '%s: %s only in locked, no-dump memory (%d copies, '
              '%d elsewhere%s)'
              % (what, label, len(hits), len(bad),
                 ''.join(' %#x %s' % (a, n) for a, _, n in bad[:4])))
    return found


def expect_absent(pid, needles, what):
    found = scan(pid, needles)
    for label, hits in sorted(found.items()):
        check(not hits, '%s: %s gone (%d copies%s)'
              % (what, label, len(hits),
                 ''.join(' %#x %s' % (a, n) for a, _, n in hits[:4])))


def hmp_io(qmp, node, cmd):
    out = qmp.hmp('qemu-io %s "%s"' % (node, cmd))
    check('error' not in out.lower() and 'fail' not in out.lower()
          and 'mismatch' not in out.lower(), 'qemu-io %s %s' % (node, cmd))


def test_daemon(tmp):
    # Printable, distinctive, different on every run.
    p_cli = ('hyg-cli-' + secrets.token_hex(12)).encode()
    p_json = ('hyg-json-' + secrets.token_hex(12)).encode()
    p_qmp = ('hyg-qmp-' + secrets.token_hex(12)).encode()
    p_enc = ('hyg-enc-' + secrets.token_hex(12)).encode()
    aes_key = secrets.token_bytes(32)
    iv = secrets.token_bytes(16)
    allp = [p_cli, p_json, p_qmp, p_enc]
    pay2, hdr2, vk2, dk2 = make_volume(tmp, 'v2', 'luks2', allp)
    pay1, hdr1, vk1, dk1 = make_volume(tmp, 'v1', 'luks1', allp)
    passes = {'cli': p_cli, 'cli-json': p_json, 'qmp': p_qmp,
              'qmp-keyid': p_enc, 'keyid AES key': aes_key}
    needles = needles_for(passes, {'luks2': vk2, 'luks1': vk1},
                          dict(dk1, **dk2))

    json_obj = json.dumps({'qom-type': 'secret', 'id': 'sec-json',
                           'data': p_json.decode()})
    d = Daemon('--object', 'secret,id=sec-cli,data=' + p_cli.decode(),
               '--object', json_obj,
               '--blockdev', 'driver=file,node-name=p2,filename=' + pay2,
               '--blockdev', 'driver=file,node-name=h2,filename=' + hdr2,
               '--blockdev', 'driver=file,node-name=p1,filename=' + pay1,
               '--blockdev', 'driver=file,node-name=h1,filename=' + hdr1)
    try:
        qmp = d.qmp
        pid = d.proc.pid
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read()
        check(p_cli not in cmdline and p_json not in cmdline,
              'passphrases wiped from /proc/PID/cmdline')
        qmp.command('object-add', {'qom-type': 'secret', 'id': 'sec-qmp',
                                   'data': p_qmp.decode()})
        qmp.command('object-add', {'qom-type': 'secret', 'id': 'aeskey',
                                   'format': 'base64',
                                   'data': base64.b64encode(aes_key).decode()})
        qmp.command('object-add', {'qom-type': 'secret', 'id': 'sec-enc',
                                   'format': 'base64', 'keyid': 'aeskey',
                                   'iv': base64.b64encode(iv).decode(),
                                   'data': encrypt_secret(aes_key, iv, p_enc)})
        # Open both volumes with each secret in turn, do I/O, close.
        for sec in ['sec-cli', 'sec-json', 'sec-qmp', 'sec-enc']:
            for v in ['1', '2']:
                node = 'luks%s-%s' % (v, sec)
                qmp.command('blockdev-add', {
                    'driver': 'luks', 'node-name': node, 'file': 'p' + v,
                    'header': 'h' + v, 'key-secret': sec})
                hmp_io(qmp, node, 'write -P 0x5a 0 64k')
                hmp_io(qmp, node, 'read -P 0x5a 0 64k')
                if sec != 'sec-enc':
                    qmp.command('blockdev-del', {'node-name': node})
        # A volume made by blockdev-create (volume key generated here).
        cpay, chdr = os.path.join(tmp, 'c-payload.img'), \
            os.path.join(tmp, 'c-header.img')
        with open(cpay, 'wb') as f:
            f.truncate(4 << 20)
        open(chdr, 'wb').close()
        qmp.command('blockdev-add', {'driver': 'file', 'node-name': 'cp',
                                     'filename': cpay})
        qmp.command('blockdev-add', {'driver': 'file', 'node-name': 'ch',
                                     'filename': chdr})
        err = qmp.run_job('blockdev-create', {'job-id': 'c0', 'options': {
            'driver': 'luks', 'file': 'cp', 'header': 'ch',
            'key-secret': 'sec-qmp', 'iter-time': 10, 'size': 4 << 20}}, 'c0')
        check(err is None, 'blockdev-create: %s' % err)
        qmp.command('blockdev-add', {'driver': 'luks', 'node-name': 'lukc',
                                     'file': 'cp', 'header': 'ch',
                                     'key-secret': 'sec-qmp'})
        hmp_io(qmp, 'lukc', 'write -P 0x3c 0 64k')
        with open(os.path.join(tmp, 'qmp-pass'), 'wb') as f:
            f.write(p_qmp)
        vkc = volume_key(chdr, os.path.join(tmp, 'qmp-pass'))
        needles.update(needles_for({}, {'created': vkc}))
        # Nodes luks1-sec-enc, luks2-sec-enc and lukc stay open.
        found = expect_locked(pid, needles, 'daemon, volumes open')
        check(found['volume key luks2'],
              'daemon: the scan does see the volume key (sanity)')
        check(found['passphrase cli'], 'daemon: the scan does see the '
              'secret objects (sanity)')

        for node in ['luks1-sec-enc', 'luks2-sec-enc', 'lukc']:
            qmp.command('blockdev-del', {'node-name': node})
        for sec in ['sec-cli', 'sec-json', 'sec-qmp', 'sec-enc', 'aeskey']:
            qmp.command('object-del', {'id': sec})
        qmp.command('query-named-block-nodes')
        expect_absent(pid, needles, 'daemon, after blockdev-del/object-del')
    finally:
        d.stop()


def test_io(tmp):
    p_io = ('hyg-io-' + secrets.token_hex(12)).encode()
    payload, header, vk, dk = make_volume(tmp, 'io', 'luks2', [p_io],
                                          argon2=True)
    needles = needles_for({'luksblk-io': p_io}, {'luksblk-io': vk}, dk)
    opts = ('driver=luks,file.filename=%s,header.filename=%s,key-secret=s0'
            % (payload, header))
    proc = subprocess.Popen(
        [tool('luksblk-io'), '--object', 'secret,id=s0,data=' + p_io.decode(),
         '--image-opts', opts],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        proc.stdin.write(b'write -P 0x33 0 64k\n')
        proc.stdin.flush()
        out = b''
        while out.count(b'qemu-io> ') < 2:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        check(b'wrote 65536' in out, 'luksblk-io wrote at its prompt')
        time.sleep(0.1)
        expect_locked(proc.pid, needles, 'luksblk-io at its prompt')
        with open('/proc/%d/cmdline' % proc.pid, 'rb') as f:
            check(p_io not in f.read(), 'luksblk-io: passphrase wiped from '
                  '/proc/PID/cmdline')
        proc.stdin.write(b'quit\n')
        proc.stdin.close()
        check(proc.wait(30) == 0, 'luksblk-io exits cleanly')
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_img_bench(tmp):
    """luksblk-img bench stopped mid-run, its passphrase read from a pipe
    (file=/dev/fd/N: GLib would read that through stdio)."""
    p_img = ('hyg-img-' + secrets.token_hex(12)).encode()
    payload, header, vk, dk = make_volume(tmp, 'img', 'luks1', [p_img])
    needles = needles_for({'luksblk-img': p_img}, {'luksblk-img': vk}, dk)
    rfd, wfd = os.pipe()
    os.write(wfd, p_img)
    os.close(wfd)
    opts = ('driver=luks,file.filename=%s,header.filename=%s,key-secret=s0'
            % (payload, header))
    proc = subprocess.Popen(
        [tool('luksblk-img'), 'bench', '--object',
         'secret,id=s0,file=/dev/fd/%d' % rfd, '--image-opts', opts,
         '-c', '100000000', '-d', '4', '-s', '4k'],
        pass_fds=[rfd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(rfd)
    try:
        out = proc.stdout.readline()
        check(out.startswith(b'Sending'), 'luksblk-img bench runs: %r' % out)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGSTOP)
        expect_locked(proc.pid, needles, 'luksblk-img bench, stopped')
    finally:
        proc.kill()
        proc.wait()


def main():
    if os.geteuid() != 0:
        skip('needs root to read /proc/PID/mem')
    for t in ['cryptsetup', 'openssl']:
        if not shutil.which(t):
            skip(t + ' not installed')
    # Under AddressSanitizer the scan is neither possible (terabytes of
    # shadow mappings) nor meaningful (freed blocks sit unwiped in ASan's
    # quarantine, outside our allocator's control).
    with open(tool('luksblk-storage-daemon'), 'rb') as f:
        if b'__asan_init' in f.read():
            skip('an AddressSanitizer build: its shadow memory and '
                 'quarantine make a memory scan meaningless')
    tmp = tempfile.mkdtemp(prefix='lb-hyg-',
                           dir=os.environ.get('TMPDIR', '/dev/shm'))
    try:
        test_daemon(tmp)
        test_io(tmp)
        test_img_bench(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d checks, %d failed' % (checks, failures))
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
