#!/usr/bin/env bash
# test-nbd-addr.sh: the listening address forms of --nbd-server and
# nbd-server-start that qemu-storage-daemon accepts: an inherited socket
# (addr.type=fd, as systemd and libvirt pass it), an abstract unix
# socket, a TCP port range (addr.to) with keep-alive; QMP refuses fd.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup qemu-io nbdinfo python3

make_volume v 16M
EXPORT="type=nbd,id=e0,node-name=v,name=disk0,writable=on"

# An inherited, already bound unix socket (fd 5 in the daemon).
python3 - "$SERVER" "$T" "$SECRET" $(blockdev_args v) <<'PY' || fail "addr.type=fd"
import os, socket, subprocess, sys, time
server, t, secret, bd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
path = t + "/inherited.sock"
s = socket.socket(socket.AF_UNIX)
s.bind(path)
os.dup2(s.fileno(), 5)
os.set_inheritable(5, True)
p = subprocess.Popen([server, "--object", secret, *bd, "--nbd-server",
                      "addr.type=fd,addr.str=5", "--export",
                      "type=nbd,id=e0,node-name=v,name=disk0"],
                     pass_fds=[5], stderr=subprocess.PIPE)
os.close(5)
s.close()
ok = False
for _ in range(50):
    r = subprocess.run(["nbdinfo", "--size", "nbd+unix:///disk0?socket=" + path],
                       capture_output=True, text=True)
    if r.stdout.strip() == "16777216":
        ok = True
        break
    time.sleep(0.1)
p.terminate()
p.wait()
sys.exit(0 if ok else 1)
PY
ok "addr.type=fd: an inherited socket serves nbdinfo"

ABS="lb-nbd-test-$$"
start_server "$T/pid" --object "$SECRET" $(blockdev_args v) \
    --nbd-server "addr.type=unix,addr.path=$ABS,addr.abstract=on" --export "$EXPORT"
qio --image-opts "driver=nbd,server.type=unix,server.path=$ABS,server.abstract=on,export=disk0" \
    -c 'write -P 0x33 0 64k' -c 'read -P 0x33 0 64k' || fail "abstract socket"
[ -e "$ABS" ] && fail "abstract socket left a file"
stop_server "$T/pid"
ok "abstract unix socket (qemu-io with server.abstract=on)"

# A port range whose first port is taken: a later one is used.  The
# holder binds port 0 (the kernel's pick, so no race) and reports it; the
# range is wide enough that some later port in it is free.
python3 - "$T/busy" <<'PY' &
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
PY
BG_PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/busy" ] && break; sleep 0.05; done
P1=$(cat "$T/busy")
P2=$((P1 + 64 > 65535 ? 65535 : P1 + 64))
start_server "$T/pid2" --object "$SECRET" $(blockdev_args v) \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=$P1,addr.to=$P2,addr.keep-alive=on" \
    --export "$EXPORT"
P=$(listen_port "$T/pid2")
[ "$P" -gt "$P1" ] && [ "$P" -le "$P2" ] || fail "port range $P1-$P2: listening on $P"
[ "$(nbdinfo --size "nbd://127.0.0.1:$P/disk0")" = 16777216 ] \
    || fail "port range: not serving on $P"
stop_server "$T/pid2"
ok "addr.to: the first free port of the range is taken"

QMP=$T/qmp.sock
start_server "$T/pid3" --chardev "socket,id=m0,path=$QMP,server=on,wait=off" \
    --monitor chardev=m0
python3 - "$QMP" <<'PY' || fail "QMP fd refusal"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("r")
json.loads(f.readline())
def cmd(name, args=None):
    s.sendall(json.dumps({"execute": name, "arguments": args or {}}).encode())
    return json.loads(f.readline())
cmd("qmp_capabilities")
r = cmd("nbd-server-start", {"addr": {"type": "fd", "data": {"str": "3"}}})
assert r["error"]["desc"] == "only QEMU supports file descriptor passing", r
r = cmd("nbd-server-start", {"addr": {"type": "vsock",
                                      "data": {"cid": "x", "port": "1"}}})
assert r["error"]["desc"] == "Failed to parse cid 'x'", r
PY
stop_server "$T/pid3"
ok "QMP: fd refused as qemu-storage-daemon does; vsock parsed"
