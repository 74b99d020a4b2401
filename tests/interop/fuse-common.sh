# fuse-common.sh: shared set-up for the FUSE export interop tests
# (sourced by tests/interop/test-fuse-*.sh).
#
# Environment (set by meson): LB_BUILD (build dir).  Provides a scratch dir
# $T (under /dev/shm when possible), tool checks that exit 77 (skip), a
# server start/stop pair that always unmounts in the EXIT trap, and a
# detached-header LUKS volume maker.  The server is luksblk-storage-daemon
# with its --object/--blockdev/--export options.

set -u
B=${LB_BUILD:?LB_BUILD must point at the build directory}
IO=$B/tools/luksblk-io
PASS=fuse-test-pass

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
need() { for t in "$@"; do command -v "$t" >/dev/null || skip "$t not installed"; done; }

[ -c /dev/fuse ] && [ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "no usable /dev/fuse"
[ "$(id -u)" = 0 ] || command -v fusermount3 >/dev/null || skip "not root and no fusermount3"

SERVER=$B/tools/luksblk-storage-daemon
[ -x "$SERVER" ] || skip "$SERVER not built"

shmroot=/dev/shm
[ -d $shmroot ] && [ -w $shmroot ] || shmroot=${TMPDIR:-/tmp}
T=$(mktemp -d "$shmroot/lb-fuse-test.XXXXXX")
printf '%s' "$PASS" > "$T/pass"
SERVER_PID=
MOUNTS=()

is_mounted() { grep -q " $(realpath "$1") fuse" /proc/self/mounts; }

unmount_all() {
    for m in "${MOUNTS[@]}"; do
        if is_mounted "$m"; then
            fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
        fi
    done
}

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    unmount_all
    rm -rf "$T"
}
trap cleanup EXIT

# start_server ARGS...: run the daemon in the background and wait until
# every mountpoint given as mountpoint=... is mounted (they are also
# recorded for cleanup).  Output goes to $T/server.log.
start_server() {
    for a in "$@"; do
        case $a in *mountpoint=*) m=${a#*mountpoint=}; MOUNTS+=("${m%%,*}");; esac
    done
    "$SERVER" "$@" > "$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        local all=1
        for m in "${MOUNTS[@]}"; do is_mounted "$m" || all=0; done
        [ $all = 1 ] && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$T/server.log"
            fail "server exited during start-up"
        fi
        sleep 0.1
    done
    cat "$T/server.log"
    fail "exports not mounted after 10 s"
}

# stop_server: SIGTERM, wait for exit status 0, check every mount is gone.
stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    local rc=$?
    SERVER_PID=
    [ $rc = 0 ] || { cat "$T/server.log"; fail "server exited with $rc"; }
    for m in "${MOUNTS[@]}"; do
        is_mounted "$m" && fail "$m still mounted after shutdown"
    done
    return 0
}

# make_luks TYPE PAYLOAD HEADER SIZE: detached-header volume by cryptsetup.
make_luks() {
    local type=$1 payload=$2 header=$3 size=$4
    truncate -s "$size" "$payload"
    cryptsetup luksFormat --batch-mode --type "$type" --header "$header" \
        --key-file "$T/pass" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
        --hash sha256 "$payload" >/dev/null || fail "cryptsetup luksFormat"
}

# Option strings for the servers and for qemu/luksblk tools.
luks_blockdevs() {    # PAYLOAD HEADER -> node disk0 (prints args)
    printf '%s\n' --object "secret,id=sec0,file=$T/pass" \
        --blockdev "driver=file,node-name=p0,filename=$1" \
        --blockdev "driver=file,node-name=h0,filename=$2" \
        --blockdev "driver=luks,node-name=disk0,file=p0,header=h0,key-secret=sec0"
}
luks_json() {         # PAYLOAD HEADER -> json: filename for qemu-img/-io
    printf 'json:{"driver":"luks","file":{"driver":"file","filename":"%s"},"header":{"driver":"file","filename":"%s"},"key-secret":"sec0"}' "$1" "$2"
}
SECRET_OBJ="secret,id=sec0,file=$T/pass"

