#!/usr/bin/env bash
# test-nbd-qmp.sh: the NBD server driven over QMP: nbd-server-start (QMP's
# legacy address form, unix and inet), block-export-add/-del (safe refused
# while a client is connected, hard disconnects it), query-block-exports,
# BLOCK_EXPORT_DELETED events, nodes held busy while exported,
# max-connections, nbd-server-stop.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup python3

make_volume v 16M
QMP=$T/qmp.sock
start_server "$T/pid" --object "$SECRET" $(blockdev_args v) \
    --chardev "socket,id=m0,path=$QMP,server=on,wait=off" --monitor chardev=m0

SRCDIR=$SRCDIR python3 - "$QMP" "$T/nbd.sock" "$(cat "$T/pid")" <<'PY' || fail "QMP checks"
import os, struct, sys, time
sys.path.insert(0, os.environ["SRCDIR"])
import nbdqmp
from nbdqmp import QMP, check, closed_within, greeted, nbd_connect, nbd_go

qmp_path, nbd_path, daemon_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])


def is_error(r, text=None):
    return "error" in r and (text is None or text in r["error"]["desc"])


q = QMP(qmp_path)
r = q.cmd("block-export-add", {"type": "nbd", "id": "e0", "node-name": "v"})
check(is_error(r, "NBD server not running"), "export before server: error")
r = q.cmd("nbd-server-start",
          {"addr": {"type": "unix", "data": {"path": nbd_path}}})
check(r == {"return": {}}, "nbd-server-start (unix, legacy address)")
r = q.cmd("nbd-server-start",
          {"addr": {"type": "unix", "data": {"path": nbd_path}}})
check(is_error(r, "already running"), "second nbd-server-start: error")
r = q.cmd("block-export-add", {"type": "nbd", "id": "e0", "node-name": "v",
                               "writable": True, "name": "disk0"})
check(r == {"return": {}}, "block-export-add e0")
r = q.cmd("block-export-add", {"type": "nbd", "id": "e0", "node-name": "v"})
check(is_error(r, "already in use"), "duplicate export id: error")
r = q.cmd("block-export-add", {"type": "nbd", "id": "e9", "node-name": "v",
                               "name": "disk0"})
check(is_error(r, "disk0"), "duplicate export name: error")
r = q.cmd("block-export-add", {"type": "nbd", "id": "e8",
                               "node-name": "nope"})
check(is_error(r, "nope"), "unknown node: error")
# Messages as qemu-storage-daemon 10 gives them for the same arguments.
for args, desc in [
        ({"id": "0bad"}, "Invalid block export id"),
        ({"id": "e8", "iothread": "io0"}, 'iothread "io0" not found'),
        ({"id": "e8", "bitmaps": ["b"]}, "Bitmap 'b' is not found"),
        ({"id": "e8", "bitmaps": [{"node": "v", "name": "b"}]},
         "Dirty bitmap 'b' not found"),
        ({"id": "e8", "name": "n" * 4097},
         "export name '%s' too long" % ("n" * 4097)),
        ({"id": "e8", "description": "d" * 4097},
         "description '%s' too long" % ("d" * 4097))]:
    a = {"type": "nbd", "node-name": "v", "name": "x"}
    a.update(args)
    r = q.cmd("block-export-add", a)
    check(r.get("error", {}).get("desc") == desc, "error: " + desc[:40])
check(q.cmd("object-add", {"qom-type": "iothread", "id": "io1",
                           "poll-max-ns": 0}) == {"return": {}},
      "object-add iothread (accepted, as in QEMU)")
r = q.cmd("block-export-add", {"type": "nbd", "id": "e7", "node-name": "v",
                               "allow-inactive": True, "bitmaps": [],
                               "iothread": "io1", "fixed-iothread": True})
check(r == {"return": {}}, "export e7 (iothread, allow-inactive, no bitmaps)")
r = q.cmd("query-block-exports")
check(r.get("return") == [
    {"type": "nbd", "id": "e7", "node-name": "v", "shutting-down": False},
    {"type": "nbd", "id": "e0", "node-name": "v", "shutting-down": False}],
    "query-block-exports, newest first as in QEMU")
# QEMU's legacy nbd-server-add/-remove (still in QEMU 10).
r = q.cmd("nbd-server-add", {"device": "nope"})
check(is_error(r, "Cannot find device='nope' nor node-name='nope'"),
      "nbd-server-add unknown device")
r = q.cmd("nbd-server-add", {"device": "v", "name": "legacy",
                             "description": "old style"})
check(r == {"return": {}}, "nbd-server-add")
legacy = nbd_go(nbd_path, "legacy")
check(legacy is not None, "client on the nbd-server-add export")
legacy.close()
r = q.cmd("query-block-exports")
check({"type": "nbd", "id": "legacy", "node-name": "v",
       "shutting-down": False} in r.get("return", []),
      "nbd-server-add export listed under id = name")
r = q.cmd("nbd-server-remove", {"name": "legacy", "mode": "hard"})
check(r == {"return": {}}, "nbd-server-remove")
# The legacy client's close may or may not have reached the server before
# the hard remove, so the event comes before or after the return: wait
# for it, or it turns up late among the events checked below.
ev = q.wait_event("BLOCK_EXPORT_DELETED")
check(ev is not None and ev["data"] == {"id": "legacy"},
      "BLOCK_EXPORT_DELETED legacy")
q.events.clear()
r = q.cmd("block-export-del", {"id": "e7"})
check(r == {"return": {}} and
      [e["data"] for e in q.events] == [{"id": "e7"}],
      "BLOCK_EXPORT_DELETED e7 arrives before block-export-del returns")
q.events.clear()
r = q.cmd("blockdev-del", {"node-name": "v"})
check(is_error(r), "blockdev-del of an exported node: error")

client = nbd_go(nbd_path, "disk0")
check(client is not None, "client connected to disk0")
r = q.cmd("block-export-del", {"id": "e0"})
check(is_error(r, "in use"), "safe block-export-del with a client: error")
r = q.cmd("block-export-del", {"id": "e0", "mode": "hard"})
check(r == {"return": {}}, "hard block-export-del")
check(q.events == [], "... whose event follows the return (client cut off)")
ev = q.wait_event("BLOCK_EXPORT_DELETED")
check(ev is not None and ev["data"] == {"id": "e0"},
      "BLOCK_EXPORT_DELETED e0")
try:
    gone = client.recv(1) == b""
except OSError:
    gone = True
check(gone, "hard delete disconnected the client")
check(q.cmd("query-block-exports").get("return") == [], "no exports left")
r = q.cmd("block-export-del", {"id": "e0"})
check(is_error(r, "not found"), "deleting a deleted export: error")

# Hard delete while a client has many requests in flight.
import shutil, subprocess
if shutil.which("fio"):
    r = q.cmd("block-export-add", {"type": "nbd", "id": "e3",
                                   "node-name": "v", "writable": True})
    check(r == {"return": {}}, "export e3 for a busy client")
    payload = os.path.join(os.path.dirname(qmp_path), "v-payload.img")
    before = nbdqmp.blocks(payload, 0, 16 << 20)
    fio = subprocess.Popen(
        ["fio", "--thread", "--name=busy", "--ioengine=nbd",
         "--uri=nbd+unix:///v?socket=" + nbd_path, "--rw=randrw",
         "--bs=64k", "--iodepth=32", "--size=16M", "--time_based",
         "--runtime=20"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    # Busy: its writes reach the volume (16 blocks of 64 KiB changed).
    nbdqmp.wait_blocks_changed(payload, 0, 16 << 20, before, 16,
                               alive=lambda: fio.poll() is None)
    check(fio.poll() is None, "the busy client is busy")
    r = q.cmd("block-export-del", {"id": "e3", "mode": "hard"})
    check(r == {"return": {}}, "hard delete under load")
    ev = q.wait_event("BLOCK_EXPORT_DELETED")
    check(ev is not None and ev["data"] == {"id": "e3"},
          "BLOCK_EXPORT_DELETED e3")
    try:
        fio.wait(timeout=30)
    except subprocess.TimeoutExpired:
        fio.kill()
    check(fio.returncode not in (None, 0), "busy client cut off")
    check("return" in q.cmd("query-version"), "daemon alive after that")

r = q.cmd("block-export-add", {"type": "nbd", "id": "e1", "node-name": "v"})
check(r == {"return": {}}, "export e1 (name defaults to the node name)")
c2 = nbd_go(nbd_path, "v")
check(c2 is not None, "client on e1 by node name")
q.events.clear()
r = q.cmd("nbd-server-stop")
check(r == {"return": {}}, "nbd-server-stop with a client connected")
check([e["data"] for e in q.events] == [{"id": "e1"}],
      "... announces e1's deletion before it returns, as QEMU does")
ev = q.wait_event("BLOCK_EXPORT_DELETED")
check(ev is not None and ev["data"] == {"id": "e1"}, "BLOCK_EXPORT_DELETED e1")
check(is_error(q.cmd("nbd-server-stop"), "not running"),
      "second nbd-server-stop: error")
import os
check(not os.path.exists(nbd_path), "unix socket removed on stop")

r = q.cmd("nbd-server-start", {"addr": {"type": "inet", "data": {
    "host": "127.0.0.1", "port": "0"}}, "max-connections": 1})
check(r == {"return": {}}, "nbd-server-start (inet, max-connections=1)")
port = nbdqmp.listen_port(daemon_pid)
r = q.cmd("block-export-add", {"type": "nbd", "id": "e2", "node-name": "v"})
check(r == {"return": {}}, "export e2")
# As in QEMU, the server stops accepting at the limit: a further client
# waits in the listen backlog and is served once the first one leaves.
c3 = nbd_go(("127.0.0.1", port), "v")
check(c3 is not None, "first TCP client served")
c4 = nbd_connect(("127.0.0.1", port))
check(not greeted(c4, 1.0), "second client waits (max-connections=1)")
c3.close()
check(greeted(c4, 5.0), "second client greeted once the first left")
c4 = nbd_go(None, "v", c4)
check(c4 is not None, "second client's handshake completes")
c6 = nbd_connect(("127.0.0.1", port))
check(not greeted(c6, 0.5), "third client waits while the second is in")
c4.close()
c6 = nbd_go(None, "v", c6)
check(c6 is not None, "third client served after the second left")
c6.close()
check(q.cmd("nbd-server-stop") == {"return": {}}, "stop again")

# handshake-max-seconds: the whole handshake is bounded, however the
# client spreads its bytes; a client in transmission is not affected.
r = q.cmd("nbd-server-start", {"addr": {"type": "unix",
                                        "data": {"path": nbd_path}},
                               "handshake-max-seconds": 1})
check(r == {"return": {}}, "nbd-server-start handshake-max-seconds=1")
check(q.cmd("block-export-add", {"type": "nbd", "id": "e4",
                                 "node-name": "v"}) == {"return": {}},
      "export e4")
t0 = time.time()
idle = nbd_connect(nbd_path)
drip = nbd_connect(nbd_path)
good = nbd_go(nbd_path, "v")
check(good is not None, "a prompt client enters transmission")
drip.recv(18)
dripped = 0
try:
    for b in struct.pack(">I", 3) + struct.pack(">Q", 0x49484156454F5054):
        drip.sendall(bytes([b]))      # one byte each 0.15 s: 1.8 s in all
        dripped += 1
        time.sleep(0.15)
except OSError:
    pass
check(closed_within(idle, 2.0) and time.time() - t0 < 3.5,
      "a silent client is dropped after handshake-max-seconds")
check(dripped < 12 or closed_within(drip, 1.0),
      "a dribbling client is dropped too")
check(not closed_within(good, 0.5), "the client in transmission stays")
good.close()
check(q.cmd("nbd-server-stop") == {"return": {}}, "stop")
r = q.cmd("nbd-server-start", {"addr": {"type": "unix",
                                        "data": {"path": nbd_path}},
                               "handshake-max-seconds": 0})
check(r == {"return": {}}, "nbd-server-start handshake-max-seconds=0")
idle = nbd_connect(nbd_path)
check(not closed_within(idle, 1.5), "0: no handshake limit")
idle.close()
r = q.cmd("nbd-server-start", {"addr": {"type": "unix",
                                        "data": {"path": nbd_path}},
                               "handshake-max-seconds": -1})
check(is_error(r, "expects uint32_t"), "handshake-max-seconds=-1 refused")
check(q.cmd("nbd-server-stop") == {"return": {}}, "stop")
r = q.cmd("blockdev-del", {"node-name": "v"})
check(r == {"return": {}}, "blockdev-del once no export holds the node")
print("%d failure(s)" % nbdqmp.failures)
sys.exit(1 if nbdqmp.failures else 0)
PY
stop_server "$T/pid"
ok "QMP export lifecycle"

# The command line: qemu-storage-daemon 10's messages for the same lines.
cli_refused() {
    local msg=$1
    shift
    local out
    out=$(timeout 10 "$SERVER" --object "$SECRET" $(blockdev_args v) "$@" 2>&1)
    [ $? = 1 ] && echo "$out" | grep -qF -- "$msg" \
        || fail "expected \"$msg\" from $*, got: $out"
}
N="addr.type=unix,addr.path=$T/c.sock"
cli_refused "Parameter 'foo' is unexpected" --nbd-server "$N,foo=1"
cli_refused "Parameter 'addr.foo' is unexpected" --nbd-server "$N,addr.foo=1"
cli_refused "Parameter 'max-connections' expects integer" \
    --nbd-server "$N,max-connections=x"
cli_refused "Parameter 'max-connections' expects uint32_t" \
    --nbd-server "$N,max-connections=-1"
cli_refused "Parameter 'handshake-max-seconds' expects uint32_t" \
    --nbd-server "$N,handshake-max-seconds=4294967296"
cli_refused "Parameter 'handshake-max-seconds' expects integer" \
    --nbd-server "$N,handshake-max-seconds=1.5"
cli_refused "Invalid block export id" --nbd-server "$N" \
    --export type=nbd,id=0e,node-name=v
cli_refused "Bitmap 'x' is not found" --nbd-server "$N" \
    --export type=nbd,id=e0,node-name=v,bitmaps.0=x
cli_refused 'iothread "x" not found' --nbd-server "$N" \
    --export type=nbd,id=e0,node-name=v,iothread=x
cli_refused "Parameter 'foo' is unexpected" --nbd-server "$N" \
    --export type=nbd,id=e0,node-name=v,foo=bar
cli_refused 'iothread "io0" not found' --object secret,id=io0,data=x \
    --nbd-server "$N" --export type=nbd,id=e0,node-name=v,iothread=io0
cli_refused "bad thread-pool-min/thread-pool-max values" \
    --object iothread,id=io0,thread-pool-min=5,thread-pool-max=2
cli_refused "Parameter 'foo' is unexpected" --object authz-simple,id=a0,identity=x,foo=1
cli_refused "Parameter 'rules.0' missing" \
    --object authz-list,id=a0,rules.1.match=x,rules.1.policy=allow
ok "command-line errors as qemu-storage-daemon gives them"
