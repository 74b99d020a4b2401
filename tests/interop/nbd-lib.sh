# nbd-lib.sh: shared setup for the test-nbd-*.sh interop tests (sourced).
#
# Gives a scratch dir $T on /dev/shm (removed on exit), LUKS1 volumes with
# detached headers made by cryptsetup, and start_server / stop_server for
# the NBD server under test ($LB_NBD_SERVER, default luksblk-storage-daemon;
# tests/unit/nbd-test-server takes the same options without QMP).  Every
# server started is killed by the EXIT trap.
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
SRCDIR=$(cd "$(dirname "$0")" && pwd)
SERVER=${LB_NBD_SERVER:-$BUILD/tools/luksblk-storage-daemon}

need() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not installed"; exit 77; }
    done
}


T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-nbd.XXXXXX")
SERVER_PIDS=()
BG_PIDS=()
cleanup() {
    for p in "${BG_PIDS[@]}" "${SERVER_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL  $*"; exit 1; }
ok() { echo "ok    $*"; }

printf 'abc123' > "$T/pass"
SECRET="secret,id=sec0,file=$T/pass"
QSECRET="secret,id=sec0,file=$T/pass"

# make_volume NAME SIZE: $T/NAME-payload.img + $T/NAME-header.img (LUKS1).
make_volume() {
    truncate -s "$2" "$T/$1-payload.img"
    cryptsetup luksFormat --batch-mode --type luks1 --header "$T/$1-header.img" \
        --key-file "$T/pass" --pbkdf-force-iterations 1000 "$T/$1-payload.img" \
        || fail "cryptsetup luksFormat $1"
}

# blockdev_args NAME: the --blockdev options for node "NAME" (luks).
blockdev_args() {
    echo "--blockdev driver=file,node-name=$1-p,filename=$T/$1-payload.img" \
         "--blockdev driver=file,node-name=$1-h,filename=$T/$1-header.img" \
         "--blockdev driver=luks,node-name=$1,file=$1-p,header=$1-h,key-secret=sec0"
}

# qemu's --image-opts for volume NAME opened directly from its files.
qemu_opts() {
    echo "driver=luks,file.filename=$T/$1-payload.img,header.filename=$T/$1-header.img,key-secret=sec0"
}

# start_server PIDFILE ARGS...: run the server, wait until it is serving.
start_server() {
    local pidfile=$1
    shift
    rm -f "$pidfile"
    "$SERVER" "$@" --pidfile "$pidfile" >"$pidfile.log" 2>&1 &
    local pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 100); do
        [ -s "$pidfile" ] && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$pidfile.log"; fail "server exited"; }
        sleep 0.1
    done
    cat "$pidfile.log"
    fail "server did not start"
}

# stop_server PIDFILE: SIGTERM and check a clean exit.
stop_server() {
    local pid
    pid=$(cat "$1")
    kill -TERM "$pid"
    wait "$pid"
    local rc=$?
    [ $rc = 0 ] || { cat "$1.log"; fail "server exit status $rc"; }
}

# listen_port PIDFILE: the TCP port the server of PIDFILE listens on.
# Servers are started with addr.port=0 and the port the kernel picked is
# read back, so concurrent tests never race for a port that looked free.
listen_port() {
    PYTHONPATH=$SRCDIR python3 -c 'import nbdqmp, sys; print(nbdqmp.listen_port(int(sys.argv[1])))' \
        "$(cat "$1")" || fail "no listening TCP port for $1"
}

# wait_written FILE OFFSET LENGTH COUNT: wait until COUNT 64 KiB blocks of
# FILE's range, all zero before, are not: a client's writes have landed.
wait_written() {
    PYTHONPATH=$SRCDIR python3 - "$@" <<'PY'
import sys, nbdqmp
path, off, length, count = sys.argv[1], *map(int, sys.argv[2:])
zero = [bytes(65536)] * (length // 65536)
sys.exit(0 if nbdqmp.wait_blocks_changed(path, off, length, zero, count) else 1)
PY
}

# qio ARGS...: qemu-io that fails on any error or pattern mismatch.
qio() {
    local out
    out=$(qemu-io "$@" 2>&1)
    local rc=$?
    if [ $rc != 0 ] || echo "$out" | grep -qiE "fail|error|mismatch"; then
        echo "$out"
        return 1
    fi
    return 0
}

# make_x509 CLIENT...: a CA, server credentials in $T/srv (CN 127.0.0.1)
# and, per CLIENT, client credentials in $T/CLIENT whose certificate's
# distinguished name is "O=luksblk,CN=CLIENT" (as gnutls prints it); $T/nocert
# holds only the CA.  Needs certtool.
make_x509() {
    mkdir -p "$T/ca" "$T/srv" "$T/nocert"
    printf 'cn = luksblk test CA\nca\ncert_signing_key\nexpiration_days = 2\n' \
        > "$T/ca/ca.info"
    printf '%s\n' "organization = luksblk" "cn = 127.0.0.1" \
        "ip_address = 127.0.0.1" "dns_name = localhost" tls_www_server \
        encryption_key signing_key "expiration_days = 2" > "$T/ca/srv.info"
    {
        certtool --generate-privkey --key-type=rsa --bits=2048 > "$T/ca/ca-key.pem" &&
        certtool --generate-self-signed --load-privkey "$T/ca/ca-key.pem" \
            --template "$T/ca/ca.info" --outfile "$T/ca/ca-cert.pem" &&
        x509_cert srv server srv
    } >"$T/certtool.log" 2>&1 || { cat "$T/certtool.log"; fail "certtool"; }
    for c in "$@"; do
        mkdir -p "$T/$c"
        printf '%s\n' "organization = luksblk" "cn = $c" tls_www_client \
            encryption_key signing_key "expiration_days = 2" > "$T/ca/$c.info"
        x509_cert "$c" client "$c" >"$T/certtool.log" 2>&1 \
            || { cat "$T/certtool.log"; fail "certtool $c"; }
    done
    cp "$T/ca/ca-cert.pem" "$T/nocert/"
}

# x509_cert DIR ROLE TEMPLATE: DIR/ROLE-key.pem, DIR/ROLE-cert.pem signed by
# the CA, and the CA certificate beside them.
x509_cert() {
    certtool --generate-privkey --key-type=rsa --bits=2048 > "$T/$1/$2-key.pem" &&
    certtool --generate-certificate --load-privkey "$T/$1/$2-key.pem" \
        --load-ca-certificate "$T/ca/ca-cert.pem" \
        --load-ca-privkey "$T/ca/ca-key.pem" \
        --template "$T/ca/$3.info" --outfile "$T/$1/$2-cert.pem" &&
    cp "$T/ca/ca-cert.pem" "$T/$1/"
}
