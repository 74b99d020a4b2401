#!/usr/bin/env bash
# test-nbd-tls.sh: NBD over TCP with TLS: x509 certificates made by
# certtool (qemu-io and nbdinfo as clients, client certificates verified)
# and PSK (psktool) and anonymous TLS; plaintext clients and clients
# without a certificate are refused.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup qemu-io nbdinfo certtool psktool python3

make_volume v 16M
mkdir -p "$T/psk"
make_x509 cli
ok "x509 CA, server and client certificates"

start_server "$T/pid" --object "$SECRET" $(blockdev_args v) \
    --object "tls-creds-x509,id=tls0,endpoint=server,dir=$T/srv,verify-peer=on" \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=0,tls-creds=tls0" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on"

PORT=$(listen_port "$T/pid")
NBDOPTS="driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT,export=disk0"
qio --object "tls-creds-x509,id=tls0,endpoint=client,dir=$T/cli" \
    --image-opts "$NBDOPTS,tls-creds=tls0" \
    -c 'write -P 0x42 0 1M' -c 'read -P 0x42 0 1M' || fail "qemu-io over TLS"
ok "qemu-io over TLS (x509, client certificate verified)"

nbdinfo --json "nbds://127.0.0.1:$PORT/disk0?tls-certificates=$T/cli" >"$T/info" \
    || fail "nbdinfo over TLS"
grep -q '"export-size": 16777216' "$T/info" || fail "nbdinfo size over TLS"
ok "nbdinfo over TLS"

if qemu-io --image-opts "$NBDOPTS" -c 'read 0 4k' 2>&1 | grep -q "^read"; then
    fail "plaintext qemu-io was served"
fi
if nbdinfo "nbd://127.0.0.1:$PORT/disk0" >/dev/null 2>&1; then
    fail "plaintext nbdinfo was served"
fi
python3 "$SRCDIR/nbd-proto-check.py" tlsreqd "127.0.0.1:$PORT" disk0 \
    || fail "TLS-required protocol check"
ok "plaintext clients refused"

if qemu-io --object "tls-creds-x509,id=tls0,endpoint=client,dir=$T/nocert" \
    --image-opts "$NBDOPTS,tls-creds=tls0" -c 'read 0 4k' 2>&1 | grep -q "^read"; then
    fail "client without a certificate was served"
fi
ok "client without a certificate refused (verify-peer)"
stop_server "$T/pid"

# PSK.
psktool -u alice -p "$T/psk/keys.psk" >/dev/null 2>&1 || fail "psktool"
start_server "$T/pid2" --object "$SECRET" $(blockdev_args v) \
    --object "tls-creds-psk,id=tls0,endpoint=server,dir=$T/psk" \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=0,tls-creds=tls0" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on"
PORT=$(listen_port "$T/pid2")
NBDOPTS="driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT,export=disk0"
qio --object "tls-creds-psk,id=tls0,endpoint=client,dir=$T/psk,username=alice" \
    --image-opts "$NBDOPTS,tls-creds=tls0" -c 'read -P 0x42 0 1M' \
    -c 'write -P 0x24 1M 1M' || fail "qemu-io over TLS-PSK"
nbdinfo "nbds://alice@127.0.0.1:$PORT/disk0?tls-psk-file=$T/psk/keys.psk" >/dev/null \
    || fail "nbdinfo over TLS-PSK"
if qemu-io --image-opts "$NBDOPTS" -c 'read 0 4k' 2>&1 | grep -q "^read"; then
    fail "plaintext client served by the PSK server"
fi
ok "TLS-PSK: qemu-io and nbdinfo served, plaintext refused"
stop_server "$T/pid2"

# Anonymous TLS (tls-creds-anon): encrypted, nobody authenticated.
start_server "$T/pid3" --object "$SECRET" $(blockdev_args v) \
    --object "tls-creds-anon,id=tls0,endpoint=server" \
    --nbd-server "addr.type=inet,addr.host=127.0.0.1,addr.port=0,tls-creds=tls0" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on"
PORT=$(listen_port "$T/pid3")
NBDOPTS="driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT,export=disk0"
qio --object "tls-creds-anon,id=tls0,endpoint=client" \
    --image-opts "$NBDOPTS,tls-creds=tls0" -c 'read -P 0x42 0 1M' \
    || fail "qemu-io over anonymous TLS"
out=$(qemu-io --image-opts "$NBDOPTS" -c 'read 0 4k' 2>&1)
echo "$out" | grep -q "Option 0x7 not permitted before TLS" \
    || fail "plaintext client not refused with QEMU's message: $out"
ok "tls-creds-anon: qemu-io served, plaintext refused (QEMU's message)"
stop_server "$T/pid3"

qio --object "$QSECRET" --image-opts "$(qemu_opts v)" -c 'read -P 0x42 0 1M' \
    -c 'read -P 0x24 1M 1M' || fail "data written over TLS not in the files"
ok "data written over TLS read back from the files"
