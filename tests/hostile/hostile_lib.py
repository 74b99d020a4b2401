"""hostile_lib.py: shared parts of the hostile-client tests
(hostile-nbd.py, hostile-qmp.py): a luksblk-storage-daemon on a LUKS1
volume with a QMP monitor, unix sockets in a temp dir, the daemon's fds
and RSS from /proc, and ok/FAIL reporting.  Every daemon started is killed
at exit.
"""
import atexit
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

failures = 0
T0 = time.monotonic()


def check(cond, what):
    global failures
    print(("ok    " if cond else "FAIL  ") + what +
          (" [%.1f s]" % (time.monotonic() - T0) if os.environ.get("HOSTILE_DEBUG") else ""),
          flush=True)
    failures += not cond
    return cond


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


DAEMONS = []


def finish():
    if failures:
        for d in DAEMONS:
            d.log.seek(0)
            print("---- daemon log (exit status %s):" % d.proc.poll())
            print(d.log.read()[-4000:])
    print("%d failure(s)" % failures)
    sys.exit(1 if failures else 0)


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(hard, max(soft, want))
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new


def usage(pid):
    """(RSS bytes, open fds, threads) of process PID."""
    with open("/proc/%d/status" % pid) as f:
        st = f.read()
    rss = int(re.search(r"VmRSS:\s+(\d+)", st).group(1)) * 1024
    threads = int(re.search(r"Threads:\s+(\d+)", st).group(1))
    return rss, len(os.listdir("/proc/%d/fd" % pid)), threads


def wait_for(cond, timeout=20.0, step=0.02):
    """Poll COND until true or TIMEOUT s; its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


class Daemon:
    """The daemon serving volume "v" (16 MiB LUKS1, detached header), with
    a QMP monitor; the NBD server is started by the test over QMP."""

    def __init__(self, extra=(), fds=4096):
        build = os.environ.get("LB_BUILD") or skip("LB_BUILD not set")
        self.bin = os.path.join(build, "tools", "luksblk-storage-daemon")
        if not os.access(self.bin, os.X_OK):
            skip("no " + self.bin)
        if not shutil.which("cryptsetup"):
            skip("cryptsetup not installed")
        self.tmp = tempfile.mkdtemp(prefix="lb-hostile.",
                                    dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        atexit.register(self.cleanup)
        t = self.tmp
        with open(t + "/pass", "w") as f:
            f.write("hostile")
        with open(t + "/v-payload.img", "wb") as f:
            f.truncate(16 << 20)
        subprocess.run(["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks1",
                        "--header", t + "/v-header.img", "--key-file", t + "/pass",
                        "--pbkdf-force-iterations", "1000", t + "/v-payload.img"],
                       check=True, capture_output=True)
        self.qmp_path = t + "/qmp.sock"
        self.nbd_path = t + "/nbd.sock"
        cmd = [self.bin, "--object", "secret,id=sec0,file=%s/pass" % t,
               "--blockdev", "driver=file,node-name=v-p,filename=%s/v-payload.img" % t,
               "--blockdev", "driver=file,node-name=v-h,filename=%s/v-header.img" % t,
               "--blockdev", "driver=luks,node-name=v,file=v-p,header=v-h,key-secret=sec0",
               *extra,
               "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % self.qmp_path,
               "--monitor", "chardev=m0"]
        self.log = open(t + "/daemon.log", "w+")

        def limits():
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, fds)), hard))
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=limits)
        DAEMONS.append(self)
        if not wait_for(lambda: os.path.exists(self.qmp_path) or
                        self.proc.poll() is not None, 60):
            self.fail_log("daemon did not start")
        if self.proc.poll() is not None:
            self.fail_log("daemon exited at start-up")

    def fail_log(self, what):
        self.log.seek(0)
        print(self.log.read()[-4000:])
        print("FAIL  " + what)
        sys.exit(1)

    def alive(self):
        return self.proc.poll() is None

    def usage(self):
        return usage(self.proc.pid)

    def stop(self):
        """quit over QMP; whether the daemon exited with status 0."""
        try:
            q = Qmp(self.qmp_path)
            q.cmd("quit")
        except OSError:
            pass
        try:
            return self.proc.wait(60) == 0
        except subprocess.TimeoutExpired:
            return False

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Qmp:
    def __init__(self, path, timeout=60):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.events = []
        greeting = self.recv()
        assert "QMP" in greeting, greeting
        assert self.cmd("qmp_capabilities") == {"return": {}}

    def recv(self):
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 16)
            if not d:
                raise EOFError("QMP connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, data):
        self.s.sendall(data)

    def reply(self):
        """The next reply, keeping events."""
        while True:
            r = self.recv()
            if "event" in r:
                self.events.append(r)
            else:
                return r

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        return self.reply()

    def close(self):
        self.s.close()
