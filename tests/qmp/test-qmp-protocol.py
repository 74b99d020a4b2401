#!/usr/bin/env python3
"""test-qmp-protocol.py: the QMP protocol of luksblk-storage-daemon.

Greeting, capabilities negotiation, request framing (whitespace, split
and batched writes, malformed, oversized and deeply nested input),
command errors with QEMU's exact messages, id echo, several monitors at
once, event broadcast, file locks as QEMU's, and clean shutdown by quit,
SIGTERM and SIGINT.  Every
daemon runs in a temporary directory and is killed in tearDown.
"""

import json
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'qemu-iotests'))
from qmp_client import Daemon, QMPClient  # noqa: E402


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(monitors=2, qmp=False)

    def tearDown(self):
        self.d.stop()

    def client(self, index=0, negotiate=True):
        return self.d.connect(index, negotiate)

    def assertError(self, reply, cls, desc):
        self.assertIn('error', reply, reply)
        self.assertEqual(reply['error'], {'class': cls, 'desc': desc})

    def test_greeting(self):
        c = self.client(negotiate=False)
        g = c.greeting['QMP']
        self.assertEqual(g['version']['package'], 'luksblk')
        self.assertEqual(sorted(g['version']['qemu']),
                         ['major', 'micro', 'minor'])
        self.assertEqual(g['capabilities'], ['oob'])
        v = c.execute('qmp_capabilities')
        self.assertEqual(v, {'return': {}})
        ver = c.command('query-version')
        self.assertEqual(ver['qemu'], g['version']['qemu'])

    def test_negotiation(self):
        c = self.client(negotiate=False)
        self.assertError(c.execute('query-version'), 'CommandNotFound',
                         "Expecting capabilities negotiation with "
                         "'qmp_capabilities'")
        self.assertError(c.execute('no-such-command'), 'CommandNotFound',
                         "Expecting capabilities negotiation with "
                         "'qmp_capabilities'")
        self.assertError(c.execute('qmp_capabilities', {'enable': ['foo']}),
                         'GenericError',
                         "Parameter 'enable[0]' does not accept value 'foo'")
        self.assertEqual(c.execute('qmp_capabilities', {'enable': ['oob']}),
                         {'return': {}})
        self.assertError(c.execute('qmp_capabilities'), 'CommandNotFound',
                         'Capabilities negotiation is already complete, '
                         'command ignored')

    def test_id_echo(self):
        c = self.client()
        for msg_id in (1, 'abc', {'a': [1, 2]}, None):
            if msg_id is None:
                continue
            r = c.execute('query-version', msg_id=msg_id)
            self.assertEqual(r['id'], msg_id)
            r = c.execute('no-such-command', msg_id=msg_id)
            self.assertEqual(r['id'], msg_id)
            self.assertError(r, 'CommandNotFound',
                             'The command no-such-command has not been found')

    def test_framing(self):
        c = self.client()
        # Two requests in one write, with odd whitespace.
        c.send_raw(' \n{"execute":\n"query-version", "id": 1}\t\r\n'
                   '{"execute": "query-commands", "id": 2}')
        self.assertEqual(c.recv_reply()['id'], 1)
        self.assertEqual(c.recv_reply()['id'], 2)
        # One request split over many writes, braces inside strings.
        text = '{"execute": "query-version", "id": "}{\\"]["}'
        for ch in text:
            c.send_raw(ch)
        self.assertEqual(c.recv_reply()['id'], '}{"][')

    def test_malformed(self):
        c = self.client()
        r = c.execute('query-version')
        c.send_raw('{"execute": }\n')
        r = c.recv_reply()
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertTrue(r['error']['desc'].startswith('JSON parse error, '), r)
        c.send_raw('[1, 2]\n')
        self.assertError(c.recv_reply(), 'GenericError',
                         'QMP input must be a JSON object')
        c.send_raw('42\n')
        self.assertError(c.recv_reply(), 'GenericError',
                         'QMP input must be a JSON object')
        c.send_raw('}\n')
        self.assertTrue(c.recv_reply()['error']['desc']
                        .startswith('JSON parse error, '))
        c.send_raw('{"execute": "query-version", "id": "\xff"}\n'.encode('latin-1'))
        self.assertTrue(c.recv_reply()['error']['desc']
                        .startswith('JSON parse error, '))
        # An unterminated string ends at the newline.
        c.send_raw('{"execute": "query-version", "id": "abc\n')
        self.assertEqual(c.recv_reply()['error']['desc'],
                         'JSON parse error, control character in string')
        c.send_raw('"oops\n')
        self.assertEqual(c.recv_reply()['error']['desc'],
                         'JSON parse error, control character in string')
        # The session still works.
        self.assertEqual(c.execute('query-version', msg_id=7)['id'], 7)

    def test_garbage(self):
        import random
        rng = random.Random(1234)
        c = self.client()
        alphabet = b'{}[]":,\\ \nabc01-eE.truefalsnl\x00\xff'
        for _ in range(20):
            blob = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))
            c.send_raw(blob)
        # Close whatever is open, then the session must still answer.
        c.send_raw('"' + '}' * 3000 + ']' * 3000 + '\n')
        c.send_raw('"\n' + '}' * 10 + '\n{"execute": "query-version", "id": "end"}\n')
        while True:
            r = c.recv_reply()
            if r.get('id') == 'end':
                break
            self.assertIn('error', r)
        self.assertIn('return', r)
        fresh = self.client()
        self.assertIn('return', fresh.execute('query-version'))

    def test_request_shape(self):
        c = self.client()
        cases = [
            ({'execute': 1}, "QMP input member 'execute' must be a string"),
            ({'execute': 'quit', 'arguments': []},
             "QMP input member 'arguments' must be an object"),
            ({'execute': 'query-version', 'foo': 1},
             "QMP input member 'foo' is unexpected"),
            ({'arguments': {}}, "QMP input lacks member 'execute'"),
            ({'exec-oob': 'query-version'},
             'The command query-version does not support OOB'),
        ]
        for req, desc in cases:
            c.send_raw(json.dumps(req))
            self.assertError(c.recv_reply(), 'GenericError', desc)

    def test_oversized(self):
        c = self.client()
        big = '{"execute": "query-version", "id": "%s"}\n' % ('x' * (10 << 20))
        c.send_raw(big)
        r = c.recv_reply()
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertIn('size limit', r['error']['desc'])
        self.assertEqual(c.execute('query-version', msg_id=1)['id'], 1)
        c.send_raw('[' * 2000 + ']' * 2000 + '\n')
        r = c.recv_reply()
        self.assertIn('nesting depth limit', r['error']['desc'])
        self.assertEqual(c.execute('query-version', msg_id=2)['id'], 2)

    def test_argument_errors(self):
        c = self.client()
        cases = [
            ('blockdev-add', {'driver': 'luks'}, "Parameter 'file' is missing"),
            ('blockdev-add', {}, "Parameter 'driver' is missing"),
            ('blockdev-add', {'driver': 'qcow9'},
             "Parameter 'driver' does not accept value 'qcow9'"),
            ('blockdev-add', {'driver': 'file', 'filename': 1},
             "Invalid parameter type for 'filename', expected: string"),
            ('blockdev-add', {'driver': 'file', 'filename': 'x', 'bogus': 1},
             "Parameter 'bogus' is unexpected"),
            ('blockdev-add', {'driver': 'raw', 'file': {'driver': 'file'}},
             "Parameter 'file.filename' is missing"),
            ('blockdev-add', {'driver': 'luks', 'file': 'x', 'header': 7},
             "Invalid parameter type for 'header', expected: BlockdevRef"),
            ('blockdev-add', {'driver': 'file', 'filename': 'x',
                              'read-only': 'yes'},
             "Invalid parameter type for 'read-only', expected: boolean"),
            ('blockdev-add', {'driver': 'luks', 'file': 'x',
                              'key-secret': 'k', 'cache': {'direct': 1}},
             "Invalid parameter type for 'cache.direct', expected: boolean"),
            ('blockdev-del', {}, "Parameter 'node-name' is missing"),
            ('blockdev-del', {'node-name': 'x', 'force': True},
             "Parameter 'force' is unexpected"),
            ('blockdev-create', {'job-id': 'j', 'options': {
                'driver': 'luks', 'size': 'big'}},
             "Parameter 'options.size' expects uint64"),
            ('blockdev-create', {'job-id': 'j', 'options': {
                'driver': 'luks', 'size': 1, 'cipher-alg': 'rot13'}},
             "Parameter 'cipher-alg' does not accept value 'rot13'"),
            ('blockdev-create', {'job-id': 'j', 'options': {
                'driver': 'luks', 'size': 1, 'iter-time': 1.5}},
             "Invalid parameter type for 'options.iter-time', "
             "expected: integer"),
            ('blockdev-create', {'job-id': 'j', 'options': {
                'driver': 'luks', 'size': 1, 'detached-header': 'on'}},
             "Invalid parameter type for 'options.detached-header', "
             "expected: boolean"),
            ('blockdev-create', {'job-id': 'j', 'options': 5},
             "Invalid parameter type for 'options', expected: object"),
            ('object-add', {'qom-type': 'secret'}, "Parameter 'id' is missing"),
            ('object-add', {'qom-type': 'memory-backend', 'id': 'x'},
             "Parameter 'qom-type' does not accept value 'memory-backend'"),
            ('object-add', {'qom-type': 'secret', 'id': 's', 'format': 'hex'},
             "Parameter 'format' does not accept value 'hex'"),
            # QEMU's wording (compared with qemu-storage-daemon 10.0).
            ('object-add', {'qom-type': 'secret', 'id': 's'},
             "Either 'file' or 'data' must be provided"),
            ('object-add', {'qom-type': 'secret', 'id': 's', 'data': '!!',
                            'format': 'base64'},
             "Base64 data contains invalid characters"),
            ('object-del', {'id': 'nope'}, "object 'nope' not found"),
            ('job-cancel', {'id': 'nope'}, "Job not found"),
            ('block-export-del', {'id': 'nope'}, "Export 'nope' is not found"),
            ('nbd-server-stop', {}, "NBD server not running"),
            ('blockdev-amend', {'job-id': 'j', 'node-name': 'nope',
                                'options': {'driver': 'luks',
                                            'state': 'active'}},
             "Cannot find device='' nor node-name='nope'"),
            ('blockdev-amend', {'job-id': 'j', 'node-name': 'x'},
             "Parameter 'options' is missing"),
            ('human-monitor-command', {},
             "Parameter 'command-line' is missing"),
            ('nbd-server-start', {'addr': {'type': 'unix', 'data': {}}},
             "Parameter 'addr.data.path' is missing"),
            ('nbd-server-start', {'addr': {'type': 'unix', 'data': {'path': 'p'}},
                                  'max-connections': -1},
             "Parameter 'max-connections' expects uint32_t"),
            ('block-export-add', {'type': 'nbd', 'id': 'e', 'node-name': 'n',
                                  'bitmaps': ['a', 3]},
             "Invalid parameter type for 'null', "
             "expected: BlockDirtyBitmapOrStr"),
            ('query-version', {'x': 1}, "Parameter 'x' is unexpected"),
            ('job-dismiss', {'id': 'nope'}, 'Job not found'),
            ('blockdev-del', {'node-name': 'nope'},
             "Failed to find node with node-name='nope'"),
        ]
        for cmd, args, desc in cases:
            with self.subTest(cmd=cmd, args=args):
                self.assertEqual(c.error(cmd, args),
                                 {'class': 'GenericError', 'desc': desc})

    def test_introspection(self):
        c = self.client()
        names = {x['name'] for x in c.command('query-commands')}
        for cmd in ('qmp_capabilities', 'query-version', 'query-commands',
                    'query-qmp-schema', 'object-add', 'object-del',
                    'blockdev-add', 'blockdev-del', 'blockdev-create',
                    'blockdev-amend', 'query-named-block-nodes', 'query-jobs',
                    'job-dismiss', 'job-cancel', 'nbd-server-start',
                    'nbd-server-stop', 'block-export-add', 'block-export-del',
                    'query-block-exports', 'quit', 'human-monitor-command'):
            self.assertIn(cmd, names)
        schema = {e['name']: e for e in c.command('query-qmp-schema')}
        add = schema['blockdev-add']
        self.assertEqual(add['meta-type'], 'command')
        opts = schema[add['arg-type']]
        self.assertEqual(opts['tag'], 'driver')
        luks = {v['case']: v['type'] for v in opts['variants']}['luks']
        members = {m['name']: m for m in schema[luks]['members']}
        self.assertEqual(members['header']['type'], 'BlockdevRef')
        self.assertIn('default', members['header'])       # optional
        self.assertNotIn('default', members['file'])      # required
        self.assertEqual(schema['BlockdevRef']['meta-type'], 'alternate')
        create = schema[schema['BlockdevCreateOptions']['variants'][1]['type']]
        cm = {m['name'] for m in create['members']}
        self.assertTrue({'file', 'header', 'size', 'preallocation',
                         'detached-header', 'key-secret'} <= cm, cm)
        info = {m['name'] for m in schema['QCryptoBlockInfoLUKS']['members']}
        self.assertIn('detached-header', info)
        self.assertEqual(schema['JOB_STATUS_CHANGE']['meta-type'], 'event')
        secret = {m['name']: m for m in schema['SecretProperties']['members']}
        self.assertEqual(secret['loaded']['features'], ['deprecated'])
        self.assertNotIn('features', secret['data'])
        self.assertEqual(schema['str'], {'name': 'str', 'meta-type': 'builtin',
                                         'json-type': 'string'})

    def test_two_monitors_and_events(self):
        a = self.client(0)
        b = self.client(1)
        b2 = self.client(1)
        for c in (a, b, b2):
            self.assertIn('return', c.execute('query-version'))
        path = os.path.join(self.d.tmp, 'f.img')
        a.command('blockdev-create', {'job-id': 'j0', 'options': {
            'driver': 'file', 'filename': path, 'size': 1 << 20}})
        seq = ['created', 'running', 'waiting', 'pending', 'concluded']
        for c in (a, b, b2):
            got = [c.event('JOB_STATUS_CHANGE')['data'] for _ in seq]
            self.assertEqual(got, [{'id': 'j0', 'status': s} for s in seq])
        jobs = b.command('query-jobs')
        self.assertEqual(jobs, [{'id': 'j0', 'type': 'create',
                                 'status': 'concluded',
                                 'current-progress': 1, 'total-progress': 1}])
        self.assertEqual(os.path.getsize(path), 1 << 20)
        self.assertEqual(a.error('job-cancel', {'id': 'j0'})['desc'],
                         "Job 'j0' in state 'concluded' cannot accept "
                         "command verb 'cancel'")
        b.command('job-dismiss', id='j0')
        for c in (a, b, b2):
            self.assertEqual(c.event('JOB_STATUS_CHANGE')['data'],
                             {'id': 'j0', 'status': 'null'})
        self.assertEqual(a.command('query-jobs'), [])
        # A failing job concludes through "aborting" and reports its error.
        a.command('blockdev-create', {'job-id': 'j1', 'options': {
            'driver': 'file', 'filename': '/nonexistent/dir/x', 'size': 0}})
        a.event('JOB_STATUS_CHANGE', lambda e: e['data']['status'] == 'aborting')
        a.event('JOB_STATUS_CHANGE', lambda e: e['data']['status'] == 'concluded')
        job = a.command('query-jobs')[0]
        self.assertEqual(job['status'], 'concluded')
        self.assertTrue(job['error'])
        self.assertEqual(a.error('blockdev-create', {'job-id': 'j1', 'options': {
            'driver': 'file', 'filename': path, 'size': 0}})['desc'],
            "Job ID 'j1' already in use")
        # Closing one session leaves the others working.
        b2.close()
        self.assertIn('return', b.execute('query-jobs'))

    def test_objects_and_nodes(self):
        c = self.client()
        c.command('object-add', {'qom-type': 'secret', 'id': 's0',
                                 'data': 'abc123'})
        self.assertEqual(c.error('object-add', {'qom-type': 'secret',
                                                'id': 's0', 'data': 'x'})
                         ['class'], 'GenericError')
        c.command('object-del', id='s0')
        self.assertEqual(c.error('object-del', {'id': 's0'})['class'],
                         'GenericError')
        path = os.path.join(self.d.tmp, 'n.img')
        with open(path, 'wb') as f:
            f.truncate(1 << 20)
        c.command('blockdev-add', {'driver': 'file', 'node-name': 'f0',
                                   'filename': path})
        c.command('blockdev-add', {'driver': 'raw', 'node-name': 'r0',
                                   'file': 'f0'})
        nodes = {n['node-name']: n for n in c.command('query-named-block-nodes')}
        self.assertEqual(nodes['f0']['drv'], 'file')
        self.assertEqual(nodes['f0']['file'], path)
        self.assertEqual(nodes['r0']['image']['virtual-size'], 1 << 20)
        self.assertFalse(nodes['r0']['ro'])
        err = c.error('blockdev-del', {'node-name': 'f0'})
        self.assertEqual(err['class'], 'GenericError')
        self.assertIn('in use', err['desc'])
        self.assertEqual(c.error('blockdev-add', {'driver': 'file',
                                                  'filename': path}),
                         {'class': 'GenericError', 'desc':
                          "'node-name' must be specified for the root node"})
        out = c.hmp('qemu-io r0 "write -P 0x5a 4096 4096"')
        self.assertIn('wrote 4096/4096 bytes at offset 4096', out)
        out = c.hmp('qemu-io r0 "read -P 0x5a 4096 4096"')
        self.assertIn('read 4096/4096 bytes at offset 4096', out)
        self.assertNotIn('verification failed', out)
        out = c.hmp('qemu-io r0 "read -P 0x11 4096 512"')
        self.assertIn('Pattern verification failed at offset 4096', out)
        self.assertIn('Cannot find device', c.hmp('qemu-io nope "read 0 512"'))
        # As in QEMU, qemu-io's output goes to the daemon's stdout and the
        # command returns "" (QEMU's luks-detached-header test checks it);
        # only errors come back.
        hmp = 'human-monitor-command'
        self.assertEqual(c.command(hmp, {'command-line':
                                         'qemu-io r0 "read -P 0x5a 4096 512"'}),
                         '')
        self.assertIn('read 512/512 bytes at offset 4096', self.d.output())
        self.assertEqual(c.command(hmp, {'command-line':
                                         'qemu-io nope "read 0 512"'}),
                         "Error: Cannot find device='nope' nor "
                         "node-name='nope'\r\n")
        self.assertEqual(c.hmp('info block'), "unknown command: 'info'\n")
        with open(path, 'rb') as f:
            f.seek(4096)
            self.assertEqual(f.read(4096), b'\x5a' * 4096)
        c.command('blockdev-del', {'node-name': 'r0'})
        c.command('blockdev-del', {'node-name': 'f0'})
        self.assertEqual(c.command('query-named-block-nodes'), [])

    def test_quit(self):
        c = self.client()
        self.assertEqual(c.execute('quit'), {'return': {}})
        self.assertEqual(self.d.wait(), 0)
        for p in self.d.sockets:
            self.assertFalse(os.path.exists(p))

    def test_sigterm(self):
        self.client()
        self.d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.d.wait(), 0)

    def test_locks_and_sigint(self):
        """A node locks its file as QEMU does (qemu-io cannot write it),
        blockdev-del unlocks it with the daemon still running, and SIGINT
        exits cleanly with the data written through the node in the file."""
        import shutil
        import subprocess
        if not shutil.which('qemu-io'):
            self.skipTest('qemu-io not installed')
        c = self.client()
        path = os.path.join(self.d.tmp, 'lock.img')
        with open(path, 'wb') as f:
            f.truncate(1 << 20)

        def qemu_write():
            return subprocess.run(['qemu-io', '-f', 'raw', '-c',
                                   'write -P 0x11 0 512', path],
                                  capture_output=True, text=True, timeout=60)
        c.command('blockdev-add', {'driver': 'file', 'node-name': 'f',
                                   'filename': path})
        r = qemu_write()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Failed to get "write" lock', r.stderr)
        # luksblk-io is refused with qemu-io's words.
        from qmp_client import tool
        lio = subprocess.run([tool('luksblk-io'), '-f', 'raw', '-c',
                              'write -P 0x11 0 512', path],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(lio.returncode, 1)
        self.assertEqual(lio.stderr.replace('luksblk-io:', 'qemu-io:', 1),
                         r.stderr)
        c.command('blockdev-del', {'node-name': 'f'})
        r = qemu_write()
        self.assertEqual(r.returncode, 0, r.stderr)
        c.command('blockdev-add', {'driver': 'file', 'node-name': 'f',
                                   'filename': path})
        out = c.hmp('qemu-io f "write -P 0x7c 4096 4096"')
        self.assertIn('wrote 4096/4096 bytes at offset 4096', out)
        self.d.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.d.wait(), 0)
        with open(path, 'rb') as f:
            data = f.read(8192)
        self.assertEqual(data[:512], b'\x11' * 512)
        self.assertEqual(data[4096:], b'\x7c' * 4096)
        self.assertEqual(qemu_write().returncode, 0)


class CommandLineTest(unittest.TestCase):
    def test_bad_options(self):
        import subprocess
        from qmp_client import tool
        daemon = tool('luksblk-storage-daemon')
        for args, msg in [
            (['--monitor', 'chardev=nope'], 'chardev "nope" not found'),
            (['--blockdev', 'driver=file,filename=/nonexistent/x,node-name=a'],
             '--blockdev'),
            (['--bogus'], "unrecognized option '--bogus'"),
            (['--object', 'secret,id=s0'], '--object'),
            (['--blockdev', 'driver=qcow2,node-name=x'],
             "Parameter 'driver' does not accept value 'qcow2'"),
            (['--blockdev', 'driver=file,node-name=x,filename=a,read-only=2'],
             "Parameter 'read-only' expects 'on' or 'off'"),
            (['--blockdev', 'driver=raw,node-name=x,file.driver=file'],
             "Parameter 'file.filename' is missing"),
            (['--blockdev', 'driver=raw,node-name=x,file=f,offset=abc'],
             "Parameter 'offset' expects integer"),
            (['--blockdev', '{"driver": "raw", "node-name": "x", "file": 1}'],
             "Invalid parameter type for 'file', expected: BlockdevRef"),
            (['--blockdev', 'driver=file,filename=a'],
             "'node-name' must be specified for the root node"),
            (['--object', 'secret,id=s,format=hex'],
             "Parameter 'format' does not accept value 'hex'"),
            (['--export', 'type=nbd,id=e'], "Parameter 'node-name' is missing"),
            (['--blockdev', 'driver=file,node-name=x,read-only=on,bogus=1,'
                            'filename=' + os.path.abspath(__file__)],
             "Invalid parameter 'bogus'"),
            (['--blockdev', '{"driver": "file", "node-name": "x", '
                            '"filename": "a", "bogus": 1}'],
             "Parameter 'bogus' is unexpected"),
            (['--chardev', 'socket,id=c,path=/tmp/x,server=on,wait=on'],
             'wait=on is not supported'),
        ]:
            r = subprocess.run([daemon] + args, capture_output=True, text=True,
                               timeout=20)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(msg, r.stderr)

    def test_cli_graph_and_export(self):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            img = os.path.join(tmp, 'a.img')
            with open(img, 'wb') as f:
                f.truncate(1 << 20)
            nbd = os.path.join(tmp, 'nbd.sock')
            d = Daemon('--object', 'secret,id=s0,data=x',
                       '--blockdev', 'driver=file,node-name=f,filename=' + img,
                       '--blockdev', '{"driver": "raw", "node-name": "r", '
                       '"file": "f"}',
                       '--nbd-server', 'addr.type=unix,addr.path=' + nbd,
                       '--export', 'type=nbd,id=e0,node-name=r,writable=on')
            try:
                c = d.qmp
                self.assertEqual(c.command('query-block-exports'),
                                 [{'id': 'e0', 'type': 'nbd', 'node-name': 'r',
                                   'shutting-down': False}])
                names = [n['node-name'] for n in
                         c.command('query-named-block-nodes')]
                self.assertEqual(sorted(names), ['f', 'r'])
                self.assertTrue(os.path.exists(nbd))
                d.proc.send_signal(signal.SIGTERM)
                self.assertEqual(d.wait(), 0)
            finally:
                d.stop()

    def test_daemonize_pidfile(self):
        import subprocess
        import tempfile
        import time
        from qmp_client import tool
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'q.sock')
            pidfile = os.path.join(tmp, 'pid')
            img = os.path.join(tmp, 'a.img')
            with open(img, 'wb') as f:
                f.truncate(65536)
            # A relative --pidfile is still removed at exit, although
            # --daemonize changed to / (QEMU resolves it first, too).
            r = subprocess.run([tool('luksblk-storage-daemon'), '--daemonize',
                                '--pidfile', 'pid', '--chardev',
                                'socket,id=m2,path=q2.sock,server=on,wait=off',
                                '--monitor', 'm2',
                                '--object', 'secret,id=s0,data=x',
                                '--blockdev', '{"driver": "file", '
                                '"node-name": "f", "filename": "%s"}' % img,
                                '--chardev', 'socket,id=m,path=%s,server=on,'
                                'wait=off' % sock, '--monitor', 'm'],
                               timeout=20, cwd=tmp)
            self.assertEqual(r.returncode, 0)
            with open(pidfile) as f:
                pid = int(f.read())
            try:
                c = QMPClient(sock)
                nodes = c.command('query-named-block-nodes')
                self.assertEqual([n['node-name'] for n in nodes], ['f'])
                c.command('quit')
                c.close()
                for _ in range(200):
                    if not os.path.exists(pidfile):
                        break
                    time.sleep(0.05)
                self.assertFalse(os.path.exists(pidfile))
            finally:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


if __name__ == '__main__':
    unittest.main(verbosity=2)
