#!/usr/bin/env bash
# test-nbd-concurrency.sh: several clients writing disjoint ranges at once,
# clients killed in the middle of a write stream (one inside a request:
# what was acknowledged to it must be there), a multi-connection copy;
# then everything verified through NBD and, after shutdown, from the files.
. "$(dirname "$0")/nbd-lib.sh"
need cryptsetup qemu-io qemu-img nbdinfo nbdcopy fio python3

make_volume v 64M
make_volume w 32M
SOCK=$T/nbd.sock
URI="nbd+unix:///disk0?socket=$SOCK"
start_server "$T/pid" --object "$SECRET" $(blockdev_args v) $(blockdev_args w) \
    --nbd-server "addr.type=unix,addr.path=$SOCK" \
    --export "type=nbd,id=e0,node-name=v,name=disk0,writable=on" \
    --export "type=nbd,id=e1,node-name=w,name=disk1,writable=on"

# A fio stream into 48M..64M, killed with SIGKILL while requests are in
# flight; its range is not verified, only that nothing else suffers.
fio --thread --name=victim --ioengine=nbd --uri="$URI" --rw=randwrite --bs=64k \
    --offset=48M --size=16M --iodepth=32 --time_based --runtime=30 \
    --output="$T/victim.log" 2>/dev/null &
victim=$!
BG_PIDS+=("$victim")

# Four writers, 8 MiB each in 256 KiB requests, patterns 0x11..0x44.
writers=()
for i in 0 1 2 3; do
    cmds=()
    for j in $(seq 0 31); do
        cmds+=(-c "write -P 0x$((i + 1))$((i + 1)) $((i * 8 * 1048576 + j * 262144)) 256k")
    done
    qio -f raw "$URI" "${cmds[@]}" &
    writers+=($!)
done
# A client killed inside a write request (header and half its data sent)
# after 32 acknowledged 64 KiB writes into 32M..34M.
python3 "$SRCDIR/nbd-killed-client.py" write "$SOCK" disk0 $((32 << 20)) "$T/killed.log" &
killed=$!
BG_PIDS+=("$killed")
for _ in $(seq 200); do
    grep -qx half "$T/killed.log" 2>/dev/null && break
    kill -0 "$killed" 2>/dev/null || break
    sleep 0.05
done
grep -qx half "$T/killed.log" 2>/dev/null || fail "the NBD writer never got inside a request"
kill -9 "$killed"
wait "$killed" 2>/dev/null
# The victim's writes land (2 MiB of its range written): it is streaming.
wait_written "$T/v-payload.img" $((48 << 20)) $((16 << 20)) 32 \
    || fail "the fio victim never got busy"
kill -0 "$victim" 2>/dev/null || fail "the fio victim ended before it was killed"
kill -9 "$victim"
wait "$victim" 2>/dev/null
ok "clients killed mid-stream (fio with 32 requests in flight, one inside a request)"

# A multi-connection copy on the other export while writers run.
head -c 32M /dev/urandom > "$T/rand"
nbdcopy --connections=4 --requests=16 "$T/rand" "nbd+unix:///disk1?socket=$SOCK" \
    || fail "nbdcopy --connections=4"
for p in "${writers[@]}"; do
    wait "$p" || fail "writer $p failed"
done
ok "4 concurrent writers finished"

# Full verify with fresh clients.
for i in 0 1 2 3; do
    qio -f raw "$URI" -c "read -P 0x$((i + 1))$((i + 1)) $((i * 8))M 8M" \
        || fail "range $i differs"
done
nbdcopy --connections=2 "nbd+unix:///disk1?socket=$SOCK" "$T/out" || fail "nbdcopy out"
cmp "$T/rand" "$T/out" || fail "multi-conn copy differs"
python3 "$SRCDIR/nbd-killed-client.py" verify "$SOCK" disk0 $((32 << 20)) "$T/killed.log" ||
    fail "writes acknowledged to the killed client were lost"
nbdinfo "$URI" >/dev/null || fail "server stopped serving"
ok "all ranges verified through NBD; server still serving"

stop_server "$T/pid"
for i in 0 1 2 3; do
    qio --object "$QSECRET" --image-opts "$(qemu_opts v)" \
        -c "read -P 0x$((i + 1))$((i + 1)) $((i * 8))M 8M" || fail "file range $i"
done
qemu-img convert --object "$QSECRET" --image-opts "$(qemu_opts w)" -O raw "$T/final" \
    || fail "qemu-img convert"
cmp "$T/rand" "$T/final" || fail "disk1 differs after shutdown"
ok "all ranges verified from the files after shutdown"
