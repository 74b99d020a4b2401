#!/usr/bin/env bash
# test-nbd-authz.sh: nbd-server-start's tls-authz with authz-simple and
# authz-list objects (command line and QMP): a TLS client whose x509
# distinguished name the object does not allow is refused (qemu-io and
# nbdinfo as clients, certificates made by certtool); deleting the object
# refuses everyone.  Also --nbd-server handshake-max-seconds on the
# command line.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup qemu-io nbdinfo certtool python3

make_volume v 16M
make_x509 alice bob
ok "x509 CA, server and client certificates (alice, bob)"

QMP=$T/qmp.sock
start_server "$T/pid" --object "$SECRET" $(blockdev_args v) \
    --object "tls-creds-x509,id=tls0,endpoint=server,dir=$T/srv,verify-peer=on" \
    --object "authz-simple,id=auth0,identity=O=luksblk,,CN=alice" \
    --object "authz-list,id=auth2,policy=allow,rules.0.match=O=luksblk,,CN=alice,rules.0.policy=deny" \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=0,tls-creds=tls0,tls-authz=auth0,handshake-max-seconds=5" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on" \
    --chardev "socket,id=m0,path=$QMP,server=on,wait=off" --monitor chardev=m0
PORT=$(listen_port "$T/pid")

# qemu_as WHO CMD...: qemu-io on disk0 with WHO's client certificate.
qemu_as() {
    local who=$1
    shift
    qemu-io --object "tls-creds-x509,id=tls0,endpoint=client,dir=$T/$who" \
        --image-opts "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT,export=disk0,tls-creds=tls0" \
        "$@" 2>&1
}
# served WHO: whether nbdinfo with WHO's certificate gets the export.
served() {
    nbdinfo --size "nbds://127.0.0.1:$PORT/disk0?tls-certificates=$T/$1" \
        >"$T/nbdinfo.out" 2>&1 && grep -qx 16777216 "$T/nbdinfo.out"
}
# qmp JSON...: run QMP commands, print one compact reply per line.
qmp() {
    python3 - "$QMP" "$@" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
f = s.makefile("r")
def cmd(msg):
    s.sendall(json.dumps(msg).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
json.loads(f.readline())
cmd({"execute": "qmp_capabilities"})
for a in sys.argv[2:]:
    print(json.dumps(cmd(json.loads(a)), separators=(",", ":")))
PY
}

out=$(qemu_as alice -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M')
echo "$out" | grep -q "^read 1048576/1048576" || { echo "$out"; fail "alice over TLS"; }
served alice || { cat "$T/nbdinfo.out"; fail "nbdinfo as alice"; }
ok "authz-simple: alice (O=luksblk,CN=alice) served by qemu-io and nbdinfo"

out=$(qemu_as bob -c 'read 0 4k')
echo "$out" | grep -q "^read" && fail "bob was served: $out"
served bob && fail "nbdinfo as bob was served"
grep -q "TLS authz check for O=luksblk,CN=bob is denied" "$T/pid.log" \
    || { cat "$T/pid.log"; fail "no denial in the daemon's log"; }
ok "authz-simple: bob refused (qemu-io, nbdinfo), denial logged"

out=$(qemu_as nocert -c 'read 0 4k')
echo "$out" | grep -q "^read" && fail "client without certificate served"
ok "client without a certificate refused"

# QMP: an authz-list that allows CN=b* only, on a restarted server.
r=$(qmp '{"execute":"object-add","arguments":{"qom-type":"authz-list","id":"auth1","policy":"deny","rules":[{"match":"O=luksblk,CN=b*","policy":"allow","format":"glob"}]}}' \
        '{"execute":"nbd-server-stop"}' \
        "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\",\"port\":\"0\"}},\"tls-creds\":\"tls0\",\"tls-authz\":\"auth1\"}}" \
        '{"execute":"block-export-add","arguments":{"type":"nbd","id":"e1","node-name":"v","name":"disk0"}}')
[ "$(echo "$r" | grep -c '^{"return":{}}$')" = 4 ] || { echo "$r"; fail "QMP setup"; }
PORT=$(listen_port "$T/pid")
served bob || { cat "$T/nbdinfo.out"; fail "bob not served by the authz-list"; }
served alice && fail "alice served although no rule allows her"
ok "authz-list over QMP: glob rule allows bob, default policy denies alice"

r=$(qmp '{"execute":"object-add","arguments":{"qom-type":"authz-list","id":"bad","rules":[{"match":"x"}]}}' \
        '{"execute":"object-add","arguments":{"qom-type":"authz-simple","id":"bad"}}' \
        '{"execute":"object-add","arguments":{"qom-type":"authz-listfile","id":"bad","filename":"/x"}}' \
        '{"execute":"object-del","arguments":{"id":"auth1"}}')
exp='{"return":{}}'
echo "$r" | grep -q "'rules\[0\].policy' is missing" || { echo "$r"; fail "rule without policy"; }
echo "$r" | grep -q "'identity' is missing" || { echo "$r"; fail "authz-simple without identity"; }
echo "$r" | grep -q "invalid object type: authz-listfile" || { echo "$r"; fail "authz-listfile"; }
[ "$(echo "$r" | tail -1)" = "$exp" ] || { echo "$r"; fail "object-del auth1"; }
served bob && fail "bob served after the authz object was deleted"
ok "bad authz objects refused as qemu-storage-daemon does; deleted object refuses all"

# The command line's keyval list form: auth2 denies alice, allows others.
r=$(qmp '{"execute":"nbd-server-stop"}' \
        "{\"execute\":\"nbd-server-start\",\"arguments\":{\"addr\":{\"type\":\"inet\",\"data\":{\"host\":\"127.0.0.1\",\"port\":\"0\"}},\"tls-creds\":\"tls0\",\"tls-authz\":\"auth2\"}}" \
        '{"execute":"block-export-add","arguments":{"type":"nbd","id":"e2","node-name":"v","name":"disk0"}}' \
        '{"execute":"query-qmp-schema"}')
PORT=$(listen_port "$T/pid")
echo "$r" | grep -q '"name":"authz-simple"\|"case":"authz-simple"' \
    || fail "query-qmp-schema lacks authz-simple"
echo "$r" | grep -q '"name":"handshake-max-seconds"' \
    || fail "query-qmp-schema lacks handshake-max-seconds"
served bob || { cat "$T/nbdinfo.out"; fail "bob not served by auth2"; }
served alice && fail "alice served although auth2 denies her"
ok "authz-list from keyval rules.0.match/policy; schema lists authz and handshake-max-seconds"

# A TLS session outlives object-del of its credentials (QEMU keeps them
# referenced too); later clients are refused.
python3 - "$PORT" "$T/bob" "$QMP" <<'PY' || fail "TLS session across object-del"
import json, socket, ssl, struct, sys
port, certs, qmp_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
MAGIC = 0x49484156454F5054
def recvn(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        assert d, "server closed"
        b += d
    return b
raw = socket.create_connection(("127.0.0.1", port), timeout=10)
recvn(raw, 18)
raw.sendall(struct.pack(">I", 3) + struct.pack(">QII", MAGIC, 5, 0))
assert struct.unpack(">QIII", recvn(raw, 20))[2] == 1, "STARTTLS refused"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.load_verify_locations(certs + "/ca-cert.pem")
ctx.load_cert_chain(certs + "/client-cert.pem", certs + "/client-key.pem")
s = ctx.wrap_socket(raw)
data = struct.pack(">I5sH", 5, b"disk0", 0)
s.sendall(struct.pack(">QII", MAGIC, 7, len(data)) + data)
while True:
    _, _, rtype, ln = struct.unpack(">QIII", recvn(s, 20))
    recvn(s, ln)
    if rtype != 3:
        break
assert rtype == 1, "GO failed: %#x" % rtype
q = socket.socket(socket.AF_UNIX)
q.connect(qmp_path)
f = q.makefile("r")
f.readline()
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "object-del", "arguments": {"id": "tls0"}}):
    q.sendall(json.dumps(cmd).encode() + b"\n")
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            break
    assert r == {"return": {}}, r
s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, 7, 0, 4096))
magic, err, cookie = struct.unpack(">IIQ", recvn(s, 16))
assert magic == 0x67446698 and err == 0 and cookie == 7, (magic, err)
assert len(recvn(s, 4096)) == 4096
PY
served bob && fail "a new client was served after object-del of the credentials"
ok "TLS session survives object-del of its credentials; new clients refused"
stop_server "$T/pid"

qio --object "$QSECRET" --image-opts "$(qemu_opts v)" -c 'read -P 0x5a 0 1M' \
    || fail "alice's data not in the files"
ok "data written by the allowed client read back from the files"
