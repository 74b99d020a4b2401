"""qmp_client.py: a small QMP client and daemon harness for luksblk tests.

Python 3 standard library only.  Daemon starts luksblk-storage-daemon with
a QMP monitor on a unix socket in a private temporary directory, connects
a QMPClient to it and always kills the process in stop().  QMPClient
speaks QMP as a management tool does: it reads the greeting, negotiates
capabilities, sends one command at a time and keeps the events it reads
while waiting for replies.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def build_dir():
    """The meson build directory (LB_BUILD, else ../../build from here)."""
    env = os.environ.get('LB_BUILD')
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, '..', '..', 'build')


def tool(name):
    return os.path.join(build_dir(), 'tools', name)


class QMPError(Exception):
    """A command returned {"error": ...}; .cls and .desc hold its parts."""

    def __init__(self, reply):
        self.reply = reply
        self.cls = reply['error']['class']
        self.desc = reply['error']['desc']
        super().__init__('%s: %s' % (self.cls, self.desc))


class QMPClient:
    def __init__(self, path, negotiate=True, timeout=60.0, log=None):
        self.log = log       # the daemon's stdout, for hmp()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        # The socket file appears at bind(), a moment before listen():
        # a connection in between is refused, so retry briefly.
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock.connect(path)
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.buf = b''
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            self.command('qmp_capabilities')

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def recv(self):
        """The next message from the daemon (reply, event or greeting)."""
        while b'\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError('QMP connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def recv_reply(self):
        """The next reply, queueing the events read before it."""
        while True:
            msg = self.recv()
            if 'event' in msg:
                self.events.append(msg)
            else:
                return msg

    def execute(self, name, args=None, msg_id=None):
        """Send a command and return the whole reply dict."""
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        if msg_id is not None:
            req['id'] = msg_id
        self.send_raw(json.dumps(req) + '\n')
        return self.recv_reply()

    def command(self, name, args=None, **kwargs):
        """Run a command; return its "return" value or raise QMPError."""
        if kwargs:
            args = dict(args or {}, **{k.replace('_', '-'): v
                                       for k, v in kwargs.items()})
        reply = self.execute(name, args)
        if 'error' in reply:
            raise QMPError(reply)
        return reply['return']

    def error(self, name, args=None):
        """Run a command that must fail; return its error dict."""
        reply = self.execute(name, args)
        if 'error' not in reply:
            raise AssertionError('%s %r succeeded: %r' % (name, args, reply))
        return reply['error']

    def event(self, name, pred=None, timeout=30.0):
        """Wait for (and remove) the first event @name matching @pred."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev['event'] == name and (pred is None or pred(ev)):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError('no %s event' % name)
            self.sock.settimeout(left)
            try:
                msg = self.recv()
            finally:
                self.sock.settimeout(60.0)
            if 'event' in msg:
                self.events.append(msg)

    def hmp(self, line):
        """human-monitor-command, as a person at the monitor sees it: what
        the daemon printed on its stdout meanwhile (qemu-io's output goes
        there, as in QEMU), then the returned text (errors), "\\r\\n" ->
        "\\n".  Needs the daemon's log (Daemon.connect() passes it)."""
        start = self.log.seek(0, os.SEEK_END) if self.log else 0
        out = self.command('human-monitor-command', {'command-line': line})
        printed = ''
        if self.log:
            self.log.flush()
            self.log.seek(start)
            printed = self.log.read()
        return printed + out.replace('\r\n', '\n')

    def run_job(self, cmd, args, job_id):
        """Start a job command, wait for it to conclude, dismiss it, and
        return its error string (None on success)."""
        self.command(cmd, args)
        self.event('JOB_STATUS_CHANGE',
                   lambda e: e['data'] == {'id': job_id, 'status': 'concluded'})
        jobs = [j for j in self.command('query-jobs') if j['id'] == job_id]
        self.command('job-dismiss', id=job_id)
        self.event('JOB_STATUS_CHANGE',
                   lambda e: e['data'] == {'id': job_id, 'status': 'null'})
        return jobs[0].get('error')


class Daemon:
    """luksblk-storage-daemon with a QMP socket in a temporary directory."""

    def __init__(self, *args, cwd=None, monitors=1, qmp=True):
        self.tmp = tempfile.mkdtemp(prefix='lb-qmp-',
                                    dir=os.environ.get('TMPDIR', '/tmp'))
        self.sockets = [os.path.join(self.tmp, 'qmp%d.sock' % i)
                        for i in range(monitors)]
        # Monitors come last, so their sockets appear once everything
        # else on the command line is set up.
        cmd = [tool('luksblk-storage-daemon')] + list(args)
        for i, path in enumerate(self.sockets):
            cmd += ['--chardev', 'socket,id=m%d,path=%s,server=on,wait=off'
                    % (i, path), '--monitor', 'chardev=m%d' % i]
        # O_APPEND: the daemon's writes land at the end whatever offset
        # output() and hmp() leave on the shared file description.
        self.log = open(os.path.join(self.tmp, 'daemon.log'), 'a+')
        self.proc = subprocess.Popen(cmd, cwd=cwd or self.tmp,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.clients = []
        deadline = time.monotonic() + 20
        while not all(os.path.exists(p) for p in self.sockets):
            if self.proc.poll() is not None:
                raise RuntimeError('daemon exited: %s' % self.output())
            if time.monotonic() > deadline:
                raise RuntimeError('daemon did not create its socket')
            time.sleep(0.02)
        try:
            self.qmp = self.connect() if qmp and monitors else None
        except OSError as e:
            out = self.output()
            self.stop()
            raise RuntimeError('cannot connect to the daemon (%s): %s'
                               % (e, out)) from e

    def connect(self, index=0, negotiate=True):
        c = QMPClient(self.sockets[index], negotiate, log=self.log)
        self.clients.append(c)
        return c

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def wait(self, timeout=20):
        return self.proc.wait(timeout)

    def stop(self):
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
