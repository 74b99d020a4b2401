"""vmlib.py: shared helpers of the vhost-user-blk tests: a detached-header
LUKS2 volume made by cryptsetup, luksblk-storage-daemon with a QMP
monitor, and the independent checks of a volume's bytes (luksblk-io, and
cryptsetup's volume key with tests/interop/luks-oracle.py).
"""
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from nbdqmp import QMP, check  # noqa: E402,F401

BUILD = os.environ.get("LB_BUILD", "build")
DAEMON = os.path.join(BUILD, "tools", "luksblk-storage-daemon")
LBIO = os.path.join(BUILD, "tools", "luksblk-io")
ORACLE = os.path.join(HERE, "..", "interop", "luks-oracle.py")
PASS = "vhost-test-pass"


def finish(log=""):
    """End of a test script: the daemon's log if anything failed, the
    failure count, and the exit status."""
    import nbdqmp
    if nbdqmp.failures and log:
        print(log[-3000:])
    print("%d failure(s)" % nbdqmp.failures)
    return 1 if nbdqmp.failures else 0


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


class Volume:
    """A LUKS2 volume with a detached header (cryptsetup luksFormat)."""

    def __init__(self, tmp, size_mb=32, sector=512):
        if not shutil.which("cryptsetup"):
            skip("cryptsetup is not installed")
        self.tmp = tmp
        self.payload = os.path.join(tmp, "payload.img")
        self.header = os.path.join(tmp, "header.img")
        self.passfile = os.path.join(tmp, "pass.txt")
        with open(self.passfile, "w") as f:
            f.write(PASS)
        with open(self.payload, "wb") as f:
            f.truncate(size_mb << 20)
        with open(self.header, "wb") as f:
            f.truncate(16 << 20)
        subprocess.run(
            ["cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2",
             "--header", self.header, "--key-file", self.passfile,
             "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
             "--sector-size", str(sector), "--cipher", "aes-xts-plain64",
             "--key-size", "512", self.payload],
            check=True, capture_output=True)
        self.size = size_mb << 20
        self.sector = sector
        self._key = None

    def blockdev_args(self, node="disk0", read_only=False):
        ro = ",read-only=on" if read_only else ""
        return ["--object", "secret,id=sec0,file=" + self.passfile,
                "--blockdev", "driver=file,node-name=p0,filename=%s%s"
                % (self.payload, ro),
                "--blockdev", "driver=file,node-name=h0,filename=%s%s"
                % (self.header, ro),
                "--blockdev", "driver=luks,node-name=%s,file=p0,header=h0,"
                "key-secret=sec0%s" % (node, ro)]

    def image_opts(self):
        return ("driver=luks,file.filename=%s,header.filename=%s,"
                "key-secret=sec0" % (self.payload, self.header))

    def lbio(self, *cmds):
        """Run luksblk-io commands on the volume; returns (rc, output)."""
        args = [LBIO, "--object", "secret,id=sec0,file=" + self.passfile,
                "--image-opts", self.image_opts()]
        for c in cmds:
            args += ["-c", c]
        r = subprocess.run(args, capture_output=True, text=True)
        return r.returncode, r.stdout + r.stderr

    def volume_key(self):
        if self._key is None:
            out = subprocess.run(
                ["cryptsetup", "luksDump", "--dump-volume-key",
                 "--batch-mode", "--key-file", self.passfile, self.header],
                check=True, capture_output=True, text=True).stdout
            m = re.search(r"MK dump:((?:\s+[0-9a-f]{2})+)", out)
            hexkey = "".join(m.group(1).split()) if m else ""
            self._key = hexkey
        return self._key

    def oracle_read(self, off, length):
        """Decrypt [off, off+length) of the payload with the oracle."""
        r = subprocess.run(
            [sys.executable, ORACLE, "decrypt", self.volume_key(),
             "aes-xts-plain64", self.payload, str(off), str(length),
             str(off // 512)],
            check=True, capture_output=True)
        return r.stdout

    def raw_read(self, off, length):
        with open(self.payload, "rb") as f:
            f.seek(off)
            return f.read(length)


class Daemon:
    """luksblk-storage-daemon with a QMP monitor, stopped by stop()."""

    def __init__(self, tmp, args, tag="lb"):
        self.qmp_path = os.path.join(tmp, tag + ".qmp")
        self.log = open(os.path.join(tmp, tag + ".log"), "w+")
        self.p = subprocess.Popen(
            [DAEMON] + args +
            ["--chardev", "socket,id=m0,path=%s,server=on,wait=off"
             % self.qmp_path, "--monitor", "chardev=m0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.qmp = QMP(self.qmp_path)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.seek(0)
        return self.log.read()

    def cpu_seconds(self):
        """utime + stime of the daemon so far (from /proc)."""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick


def wait_for(path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
