#!/usr/bin/env python3
"""bench-vhost.py BUILD [ROUNDS]: the same TCG guest against luksblk's and
qemu-storage-daemon's vhost-user-blk export of the same detached-header
LUKS1 volume (QEMU opens LUKS1 detached headers; not LUKS2) on /dev/shm,
in the same run, daemons alternating, best of ROUNDS (default 2).

Guest side (bench/vhost-guest-io.c, static, in the initramfs): 1 MiB
O_DIRECT sequential write (then fdatasync) and read, and 4 KiB O_DIRECT
random reads one at a time.  Server side: the daemon's utime + stime from
/proc/PID/stat, sampled by the host right before and after each phase
(the guest waits for a "go" on its serial console), as CPU seconds per
GiB moved and per million 4 KiB requests.  Under TCG the guest caps the
throughput; the CPU ratios do not depend on it.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "vm"))
import guest  # noqa: E402

GIB = 1 << 30
SEQ_MIB = 512
RAND_N = 20000
SIZE_MIB = 640


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_volume(tmp):
    pay, hdr, pw = (os.path.join(tmp, n) for n in
                    ("payload.img", "header.img", "pass.txt"))
    with open(pw, "w") as f:
        f.write("bench-pass")
    with open(pay, "wb") as f:
        f.truncate(SIZE_MIB << 20)
    with open(hdr, "wb") as f:
        f.truncate(4 << 20)
    subprocess.run(["cryptsetup", "luksFormat", "--batch-mode", "--type",
                    "luks1", "--header", hdr, "--key-file", pw,
                    "--pbkdf-force-iterations", "1000", "--cipher",
                    "aes-xts-plain64", "--key-size", "512", pay],
                   check=True, capture_output=True)
    return pay, hdr, pw


def daemon_cmd(prog, pay, hdr, pw, sock):
    return [prog, "--object", "secret,id=sec0,file=" + pw,
            "--blockdev", "driver=file,node-name=p0,filename=" + pay,
            "--blockdev", "driver=file,node-name=h0,filename=" + hdr,
            "--blockdev", "driver=luks,node-name=disk0,file=p0,header=h0,"
            "key-secret=sec0",
            "--export", "type=vhost-user-blk,id=vu0,node-name=disk0,"
            "addr.type=unix,addr.path=%s,writable=on" % sock]


def run_one(prog, vol, tmp, kernel, initrd, tag):
    sock = os.path.join(tmp, tag + ".sock")
    d = subprocess.Popen(daemon_cmd(prog, *vol, sock),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if os.path.exists(sock):
                break
            subprocess.run(["sleep", "0.01"])
        phases = "seqwrite:%d,seqread:%d,randread:%d:%d" % (
            SEQ_MIB, SEQ_MIB, RAND_N, SIZE_MIB - 1)
        g = guest.Guest(kernel, initrd, tmp, [(sock, 1, "")],
                        {"vt": "bench", "vtb": phases}, tag="bench-" + tag)
        out = {}
        while True:
            line = g.readline(300)
            if line is None or line.startswith("VT-END"):
                break
            if line.startswith("VT phase"):
                c0 = cpu(d.pid)
                g.send("go")
            elif line.startswith("VT result"):
                c1 = cpu(d.pid)
                parts = line.split()
                secs, nbytes, nreq = float(parts[3]), int(parts[4]), \
                    int(parts[5])
                out[parts[2]] = (secs, nbytes, nreq, c1 - c0)
        g.wait()
        return out
    finally:
        d.terminate()
        d.wait()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    qsd = shutil.which("qemu-storage-daemon")
    lb = os.path.join(build, "tools", "luksblk-storage-daemon")
    if not qsd or not shutil.which("cryptsetup"):
        print("bench-vhost: needs qemu-storage-daemon and cryptsetup")
        return 77
    cc = shutil.which("cc") or shutil.which("gcc")
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        vgio = os.path.join(tmp, "vgio")
        subprocess.run([cc, "-static", "-O2", "-o", vgio,
                        os.path.join(HERE, "vhost-guest-io.c")], check=True)
        try:
            kernel, initrd = guest.prepare(build, tmp,
                                           [("bin/vgio", vgio)])
        except guest.GuestUnavailable as e:
            print("bench-vhost: " + str(e))
            return 77
        vol = make_volume(tmp)
        best = {"qsd": {}, "luksblk": {}}
        for r in range(rounds):
            order = [("qsd", qsd), ("luksblk", lb)]
            if r % 2:
                order.reverse()
            for tag, prog in order:
                res = run_one(prog, vol, tmp, kernel, initrd, tag)
                for ph, v in res.items():
                    old = best[tag].get(ph)
                    # best = least server CPU per byte, fastest guest time
                    if old is None or v[0] < old[0]:
                        best[tag][ph] = (v[0], v[1], v[2],
                                         min(v[3], old[3]) if old else v[3])
                    elif v[3] < old[3]:
                        best[tag][ph] = old[:3] + (v[3],)
        report(best)
    return 0


def report(best):
    print("phase      daemon    guest        server CPU")
    rows = {}
    for tag in ("qsd", "luksblk"):
        for ph in ("seqwrite", "seqread", "randread"):
            v = best[tag].get(ph)
            if not v:
                print("%-10s %-8s  (no result)" % (ph, tag))
                continue
            secs, nbytes, nreq, c = v
            if ph == "randread":
                rate = "%8.0f IOPS" % (nreq / secs)
                per = "%6.2f s per 1M req" % (c / nreq * 1e6)
                rows[(tag, ph)] = (nreq / secs, c / nreq * 1e6)
            else:
                rate = "%7.0f MiB/s" % (nbytes / secs / (1 << 20))
                per = "%6.3f s per GiB" % (c / (nbytes / GIB))
                rows[(tag, ph)] = (nbytes / secs, c / (nbytes / GIB))
            print("%-10s %-8s %s   %s (%.2f s)" % (ph, tag, rate, per, c))
    print()
    for ph in ("seqwrite", "seqread", "randread"):
        a, b = rows.get(("luksblk", ph)), rows.get(("qsd", ph))
        if a and b and b[1] > 0:
            print("%-10s luksblk/qsd: guest speed %.2fx, server CPU %.2fx"
                  % (ph, a[0] / b[0], a[1] / b[1]))


if __name__ == "__main__":
    sys.exit(main())
