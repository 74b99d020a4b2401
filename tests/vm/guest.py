"""guest.py: the tiny TCG guest of the vhost-user-blk tests (the recipe of
the shared VM-TESTING notes).

Kernel: Debian's linux-image package that linux-image-amd64 depends on,
fetched with `apt-get download` and unpacked with dpkg-deb (never
installed); the xz payload of its bzImage is unpacked to an ELF vmlinux,
which QEMU boots directly (PVH), about twice as fast as the bzImage.  The
kernel and its six virtio modules are cached in the build directory
(tests/vm/guest-cache), under a lock so parallel tests build it once.

initramfs: busybox-static, the modules and tests/vm/guest-init.sh as
/init, written as an uncompressed newc cpio for each run (cheap, and a
changed init script is never stale).  The test scenario and its
parameters go on the kernel command line; the guest talks over its
serial console, which is a unix socket the host listens on, so the host
reads result lines and can answer (no sleeps on either side).
"""
import fcntl
import lzma
import os
import re
import select
import shutil
import socket
import stat
import struct
import subprocess
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = shutil.which("qemu-system-x86_64")
MODULES = ["virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
           "virtio", "virtio_pci", "virtio_blk"]
MODULE_PATHS = {
    "virtio_ring": "drivers/virtio/virtio_ring.ko",
    "virtio_pci_modern_dev": "drivers/virtio/virtio_pci_modern_dev.ko",
    "virtio_pci_legacy_dev": "drivers/virtio/virtio_pci_legacy_dev.ko",
    "virtio": "drivers/virtio/virtio.ko",
    "virtio_pci": "drivers/virtio/virtio_pci.ko",
    "virtio_blk": "drivers/block/virtio_blk.ko",
}


class GuestUnavailable(Exception):
    pass


def is_static_elf(path):
    """True for an ELF executable without a PT_INTERP (dynamic loader)."""
    with open(path, "rb") as f:
        h = f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2:
            return False
        phoff, = struct.unpack_from("<Q", h, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", h, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    return all(struct.unpack_from("<I", ph, i * phentsize)[0] != 3
               for i in range(phnum))


def busybox_static():
    """The busybox-static binary (a dynamic busybox cannot run alone)."""
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(p) and is_static_elf(p):
            return p
    raise GuestUnavailable("busybox-static is not installed")


def kernel_package():
    out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                         capture_output=True, text=True).stdout
    m = re.search(r"Depends:\s*(linux-image-[0-9][^\s]*)", out)
    if not m:
        raise GuestUnavailable("no linux-image package known to apt")
    return m.group(1)


def bzimage_to_vmlinux(bz):
    """The ELF kernel inside a bzImage (x86 boot protocol, xz payload)."""
    setup_sects = bz[0x1f1] or 4
    off, length = struct.unpack_from("<II", bz, 0x248)
    start = (setup_sects + 1) * 512 + off
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    elf = d.decompress(bz[start:start + length])
    if elf[:4] != b"\x7fELF":
        raise GuestUnavailable("kernel payload is not an xz-compressed ELF")
    return elf


def build_kernel(cache):
    """Fetch and unpack the kernel into @cache (once; locked)."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        done = os.path.join(cache, "ready")
        if os.path.exists(done):
            return
        if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
            raise GuestUnavailable("apt-get/dpkg-deb not available")
        pkg = kernel_package()
        dl = os.path.join(cache, "dl")
        os.makedirs(dl, exist_ok=True)
        os.chmod(dl, 0o777)         # apt-get download may run as _apt
        debs = [f for f in os.listdir(dl) if f.startswith(pkg + "_")]
        if not debs:
            r = subprocess.run(["apt-get", "download", pkg], cwd=dl,
                               capture_output=True, text=True)
            debs = [f for f in os.listdir(dl) if f.startswith(pkg + "_")]
            if r.returncode != 0 or not debs:
                raise GuestUnavailable("apt-get download %s failed: %s"
                                       % (pkg, r.stderr.strip()[-200:]))
        deb = os.path.join(dl, debs[0])
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb],
                               stdout=subprocess.PIPE)
        wanted = {v: k for k, v in MODULE_PATHS.items()}
        with tarfile.open(fileobj=tar.stdout, mode="r|") as tf:
            for ti in tf:
                name = ti.name.lstrip("./")
                base = None
                if re.match(r"boot/vmlinuz-", name):
                    base = "vmlinuz"
                else:
                    m = re.match(r"lib/modules/[^/]+/kernel/(.*)$", name)
                    if m and m.group(1) in wanted:
                        base = wanted[m.group(1)] + ".ko"
                if base and ti.isfile():
                    with open(os.path.join(cache, base), "wb") as f:
                        f.write(tf.extractfile(ti).read())
        tar.wait()
        with open(os.path.join(cache, "vmlinuz"), "rb") as f:
            elf = bzimage_to_vmlinux(f.read())
        with open(os.path.join(cache, "vmlinux"), "wb") as f:
            f.write(elf)
        for m in MODULES:
            if not os.path.exists(os.path.join(cache, m + ".ko")):
                raise GuestUnavailable("module %s missing from %s" % (m, pkg))
        shutil.rmtree(dl, ignore_errors=True)
        os.unlink(os.path.join(cache, "vmlinuz"))
        open(done, "w").close()


def cpio_newc(entries):
    """entries: (path, mode, data or symlink target) -> newc archive."""
    out = bytearray()
    ino = 1
    for path, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        if isinstance(data, str):
            data = data.encode()
        name = path.encode() + b"\0"
        hdr = "070701" + "".join("%08x" % v for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
        out += hdr.encode() + name
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def build_initramfs(cache, path, extra=()):
    with open(busybox_static(), "rb") as f:
        bb = f.read()
    with open(os.path.join(HERE, "guest-init.sh"), "rb") as f:
        init = f.read()
    d = stat.S_IFDIR | 0o755
    entries = [("bin", d, b""), ("dev", d, b""), ("proc", d, b""),
               ("sys", d, b""), ("tmp", d, b""), ("mod", d, b""),
               ("bin/busybox", stat.S_IFREG | 0o755, bb),
               ("bin/sh", stat.S_IFLNK | 0o777, "busybox"),
               ("init", stat.S_IFREG | 0o755, init)]
    for m in MODULES:
        with open(os.path.join(cache, m + ".ko"), "rb") as f:
            entries.append(("mod/%s.ko" % m, stat.S_IFREG | 0o644,
                            f.read()))
    for name, src in extra:
        with open(src, "rb") as f:
            entries.append((name, stat.S_IFREG | 0o755, f.read()))
    with open(path, "wb") as f:
        f.write(cpio_newc(entries))


def prepare(build_dir, tmp, extra=()):
    """Kernel (cached) and a fresh initramfs with @extra [(path in the
    initramfs, host file)]; raises GuestUnavailable."""
    if not QEMU:
        raise GuestUnavailable("qemu-system-x86_64 is not installed "
                               "(Debian: qemu-system-x86)")
    cache = os.path.join(build_dir, "tests", "vm", "guest-cache")
    build_kernel(cache)
    initrd = os.path.join(tmp, "initramfs.cpio")
    build_initramfs(cache, initrd, extra)
    return os.path.join(cache, "vmlinux"), initrd


class Guest:
    """One QEMU run; its serial console is a socket we listen on."""

    def __init__(self, kernel, initrd, tmp, disks, params, smp=1,
                 reboot=False, mem="256M", tag="vm"):
        """@disks: [(vhost-user socket, num_queues, chardev extra opts)]."""
        self.tmp = tmp
        ser = os.path.join(tmp, tag + ".serial")
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(ser)
        self.lsock.listen(1)
        cmd = [QEMU, "-nodefaults", "-no-user-config", "-display", "none",
               "-accel", "tcg", "-cpu", "qemu64", "-smp", str(smp),
               "-m", mem, "-object",
               "memory-backend-memfd,id=mem,size=%s,share=on" % mem,
               "-numa", "node,memdev=mem",
               "-chardev", "socket,id=ser0,path=" + ser,
               "-serial", "chardev:ser0",
               "-kernel", kernel, "-initrd", initrd,
               "-append", "console=ttyS0 quiet panic=-1 " + " ".join(
                   "%s=%s" % kv for kv in params.items())]
        if not reboot:
            cmd.append("-no-reboot")
        for i, (sock, nq, extra) in enumerate(disks):
            cmd += ["-chardev", "socket,id=vu%d,path=%s%s" % (i, sock, extra),
                    "-device", "vhost-user-blk-pci,chardev=vu%d,num-queues=%d"
                    % (i, nq)]
        self.log = open(os.path.join(tmp, tag + ".qemu.log"), "w")
        self.p = subprocess.Popen(cmd, stdout=self.log,
                                  stderr=subprocess.STDOUT)
        self.lsock.settimeout(30)
        self.conn, _ = self.lsock.accept()
        self.buf = b""
        self.lines = []

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.conn], [], [], left)[0]:
                return None
            data = self.conn.recv(4096)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        text = line.decode(errors="replace").rstrip("\r")
        self.lines.append(text)
        return text

    def expect(self, prefix, timeout=60):
        """Read lines until one starts with @prefix; returns it or None."""
        while True:
            line = self.readline(timeout)
            if line is None:
                return None
            if line.startswith(prefix):
                return line

    def results(self, timeout=90):
        """All "VT key value" lines up to "VT-END"; returns a dict."""
        res = {}
        while True:
            line = self.readline(timeout)
            if line is None:
                res.setdefault("END", "timeout")
                return res
            if line.startswith("VT-END"):
                res["END"] = line.split(" ", 1)[1] if " " in line else ""
                return res
            if line.startswith("VT "):
                parts = line.split(" ", 2)
                res[parts[1]] = parts[2] if len(parts) > 2 else ""

    def send(self, text):
        self.conn.sendall(text.encode() + b"\n")

    def wait(self, timeout=60):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None
        finally:
            self.conn.close()
            self.lsock.close()
            self.log.close()

    def qemu_log(self):
        with open(self.log.name) as f:
            return f.read()
