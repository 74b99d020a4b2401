#!/usr/bin/env bash
# test-qemu-luks1.sh: LUKS1 volumes between QEMU and luksblk.
#
# For each layout, one side creates the volume and writes a pattern, the
# other reads it and writes a second pattern, and the first reads that
# back:
#   - attached images made by qemu-img and by luksblk-img;
#   - detached headers made by luksblk-img and by QEMU (QMP blockdev-create
#     in qemu-storage-daemon: qemu-img 10.0 has no detached-header create);
#     detached headers need QEMU >= 9.0, skipped otherwise;
# and `qemu-img info` and `luksblk-img info` report the same LUKS fields and
# virtual size.  Usage: $0 BUILD_DIR
set -u
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
IMG=$BUILD/tools/luksblk-img
IO=$BUILD/tools/luksblk-io

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL  $*"; exit 1; }
ok() { echo "ok    $*"; }

for t in qemu-img qemu-io python3; do
    command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
"$IMG" --help >/dev/null 2>&1 && "$IO" --help >/dev/null 2>&1 ||
    skip "luksblk-img/luksblk-io not built yet"
QVER=$(qemu-img --version | sed -n 's/^qemu-img version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
DETACHED=1
read -r qmaj qmin <<< "$QVER"
[ "${qmaj:-0}" -ge 9 ] || DETACHED=0

T=$(mktemp -d "${TMPDIR:-/dev/shm}/lb-q1.XXXXXX")
trap 'rm -rf "$T"' EXIT
printf 'abc123' > "$T/pass"
SEC="secret,id=sec0,file=$T/pass"

# opts DATA [HDR]: --image-opts for both QEMU and luksblk.
opts() {
    echo "driver=luks,file.filename=$1${2:+,header.filename=$2},key-secret=sec0"
}
# run TOOL NAME OPTS CMD...: qemu-io or luksblk-io with the commands.
run() {
    local tool=$1 name=$2 o=$3
    shift 3
    local args=()
    for c in "$@"; do args+=(-c "$c"); done
    "$tool" --object "$SEC" --image-opts "$o" "${args[@]}" > "$T/out" 2>&1 &&
        ! grep -q "Pattern verification failed" "$T/out" ||
        { cat "$T/out"; fail "$name: $(basename "$tool") $*"; }
}
# exchange NAME OPTS: QEMU and luksblk read each other's writes.
exchange() {
    run qemu-io "$1" "$2" 'write -P 0xa1 0 1M' 'write -P 0xa2 3M 512k'
    run "$IO" "$1" "$2" 'read -P 0xa1 0 1M' 'read -P 0xa2 3M 512k' \
        'write -P 0xb1 1M 1M' 'write -P 0xb2 3584k 512'
    run qemu-io "$1" "$2" 'read -P 0xb1 1M 1M' 'read -P 0xb2 3584k 512' \
        'read -P 0xa1 0 1M'
}
# same_info NAME OPTS: qemu-img info and luksblk-img info agree.
same_info() {
    qemu-img info --output=json --object "$SEC" --image-opts "$2" > "$T/q.json" ||
        fail "$1: qemu-img info"
    "$IMG" info --output=json --object "$SEC" --image-opts "$2" > "$T/l.json" ||
        fail "$1: luksblk-img info"
    python3 - "$T/q.json" "$T/l.json" <<'PY' || fail "$1: info differs"
import json, sys
q, l = (json.load(open(p)) for p in sys.argv[1:3])
assert q["virtual-size"] == l["virtual-size"], (q["virtual-size"], l["virtual-size"])
qd, ld = q["format-specific"]["data"], l["format-specific"]["data"]
assert l["format-specific"]["type"] == "luks"
for k, v in qd.items():
    assert ld.get(k) == v, (k, v, ld.get(k))
PY
}

# ---- attached, made by qemu-img ---------------------------------------------
for o in "" ",cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,hash-alg=sha1" \
         ",cipher-alg=twofish-256,cipher-mode=xts,hash-alg=sha512"; do
    qemu-img create -q -f luks --object "$SEC" -o "key-secret=sec0,iter-time=10$o" \
        "$T/q.img" 4M || fail "qemu-img create$o"
    exchange "qemu-made attached$o" "$(opts "$T/q.img")"
    same_info "qemu-made attached$o" "$(opts "$T/q.img")"
    ok "qemu-img image ${o:-(defaults)}: data and info match"
    rm -f "$T/q.img"
done

# ---- attached, made by luksblk-img ------------------------------------------
for o in "" ",cipher-alg=serpent-256,cipher-mode=cbc,ivgen-alg=plain64,hash-alg=sha256"; do
    "$IMG" create -f luks --object "$SEC" -o "key-secret=sec0,iter-time=10$o" \
        "$T/l.img" 4M > /dev/null || fail "luksblk-img create$o"
    exchange "luksblk-made attached$o" "$(opts "$T/l.img")"
    same_info "luksblk-made attached$o" "$(opts "$T/l.img")"
    ok "luksblk-img image ${o:-(defaults)}: data and info match"
    rm -f "$T/l.img"
done

if [ $DETACHED = 0 ]; then
    echo "NOTE: QEMU $qmaj.$qmin has no detached LUKS headers; skipped those"
    exit 0
fi

# ---- detached header made by luksblk-img ------------------------------------
"$IMG" create -f luks --object "$SEC" \
    -o key-secret=sec0,iter-time=10,detached-header=true "$T/l.hdr" > /dev/null ||
    fail "luksblk-img create detached"
[ "$(stat -c %s "$T/l.hdr")" = 2068480 ] || fail "detached header size"
truncate -s 4M "$T/l.payload"
exchange "luksblk-made detached" "$(opts "$T/l.payload" "$T/l.hdr")"
same_info "luksblk-made detached" "$(opts "$T/l.payload" "$T/l.hdr")"
ok "luksblk-img detached header: data and info match"

# A detached header opened alone (no header=) would put the payload over
# its own key material: both QEMU and luksblk refuse, the header survives.
sum=$(sha256sum < "$T/l.hdr")
for tool in qemu-io "$IO"; do
    "$tool" --object "$SEC" --image-opts "$(opts "$T/l.hdr")" \
        -c 'write -P 0 0 64k' > "$T/out" 2>&1
    grep -q "^wrote" "$T/out" && fail "$(basename "$tool") wrote over a detached header"
done
[ "$(sha256sum < "$T/l.hdr")" = "$sum" ] || fail "detached header changed"
run "$IO" "detached after refusal" "$(opts "$T/l.payload" "$T/l.hdr")" 'read -P 0xb1 1M 1M'
ok "a detached header opened alone is refused by QEMU and luksblk"

# ---- detached header made by QEMU (blockdev-create over QMP) ----------------
command -v qemu-storage-daemon >/dev/null 2>&1 || skip "qemu-storage-daemon not installed"
: > "$T/q.hdr"
python3 - "$T" <<'PY' || fail "QEMU blockdev-create of a detached header"
import json, os, socket, subprocess, sys, time
t = sys.argv[1]
sock = os.path.join(t, "qmp.sock")
p = subprocess.Popen(["qemu-storage-daemon",
    "--object", "secret,id=sec0,file=%s/pass" % t,
    "--blockdev", "driver=file,node-name=h0,filename=%s/q.hdr" % t,
    "--chardev", "socket,id=m0,path=%s,server=on,wait=off" % sock,
    "--monitor", "chardev=m0"])
try:
    for _ in range(200):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rw")
    f.readline()
    def cmd(name, **args):
        f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        f.flush()
        while True:
            m = json.loads(f.readline())
            if "return" in m:
                return m["return"]
            assert "error" not in m, m
    cmd("qmp_capabilities")
    cmd("blockdev-create", **{"job-id": "j0", "options": {
        "driver": "luks", "header": "h0", "key-secret": "sec0",
        "iter-time": 10, "size": 0}})
    for _ in range(600):
        jobs = cmd("query-jobs")
        if jobs[0]["status"] == "concluded":
            assert "error" not in jobs[0], jobs
            break
        time.sleep(0.05)
    cmd("job-dismiss", id="j0")
    cmd("quit")
finally:
    p.wait(timeout=10)
PY
truncate -s 4M "$T/q.payload"
exchange "qemu-made detached" "$(opts "$T/q.payload" "$T/q.hdr")"
same_info "qemu-made detached" "$(opts "$T/q.payload" "$T/q.hdr")"
ok "QEMU detached header: data and info match"
