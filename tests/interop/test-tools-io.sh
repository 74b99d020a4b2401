#!/usr/bin/env bash
# luksblk-io: qemu-io commands through a detached header (json: and
# --image-opts), output lines as qemu-io prints them, pattern mismatch exit
# status, aio, the interactive prompt; data agrees with qemu-io when
# installed.
. "$(dirname "$0")/tools-lib.sh"

expect_ok $IMG create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10 h.img
expect_ok $IMG create -q -f raw p.img 8M
printf abc123 > pass.txt
J='json:{"driver":"luks","file":{"filename":"p.img"},"header":{"filename":"h.img"},"key-secret":"sec0"}'
FSEC="--object secret,id=sec0,file=pass.txt"

# The DESIGN.md example verbatim.
expect_ok $IO $FSEC "$J" -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M'
has "wrote 1048576/1048576 bytes at offset 0"
has "read 1048576/1048576 bytes at offset 0"
has_re '^1 MiB, 1 ops; [0-9:.]+( sec)? \([0-9.]+ [KMGT]?i?B(ytes)?/sec and [0-9.]+ ops/sec\)$'

# The payload holds ciphertext, not the pattern.
if od -An -tx1 -N 4096 p.img | grep -q 'ab ab ab ab ab ab ab ab'; then
    fail "payload holds plaintext"
fi
ok

IOPTS=driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec0
L="$IO $SEC --image-opts $IOPTS"

# Mismatch: message and exit 1, the stats line still printed.
expect_rc 1 $L -c 'read -P 0xac 0 4k'
has "Pattern verification failed at offset 0, 4096 bytes"
has "read 4096/4096 bytes at offset 0"

# -q, readv/writev, pattern sub-range, -v dump, unaligned access.
expect_ok $L -c 'writev -q -P 0x11 1M 512 1k 2k' -c 'readv -P 0x11 1M 512 3k' \
    -c 'read -q -P 0x11 1M 3584'
has "read 3584/3584 bytes at offset 1048576"
[ "$(printf '%s\n' "$out" | grep -c wrote)" = 0 ] || fail "-q printed"
ok
expect_ok $L -c 'write -P 0x41 100 20' -c 'read -v 96 32' \
    -c 'read -P 0x41 -s 4 -l 20 96 32'
has "00000060:  ab ab ab ab 41 41 41 41 41 41 41 41 41 41 41 41  ....AAAAAAAAAAAA"
has "00000070:  41 41 41 41 41 41 41 41 ab ab ab ab ab ab ab ab  AAAAAAAA........"
has "read 32/32 bytes at offset 96"
expect_ok $L -c 'write -z 0 64k' -c 'read -P 0 0 64k' -c 'write -z -u 64k 4k'

# write -s: the buffer is a file's contents, repeated.
printf 'xyz' > pat.bin
expect_ok $L -c 'write -s pat.bin 2M 10' -c 'read -v 2M 10'
has "00200000:  78 79 7a 78 79 7a 78 79 7a 78  xyzxyzxyzx"
expect_rc 1 $L -c 'write -z -P 1 0 1'
has "Only one of -z, -P, and -s can be specified at the same time"

# length, info, flush.
expect_ok $L -c length -c info -c flush
has "8 MiB"
has "format name: luks"
has "cluster size: 0 bytes"
has "Format specific information:"
has "    detached header: true"

# aio: several requests in flight, completed by aio_flush.
expect_ok $L -c 'aio_write -P 0x21 0 64k' -c 'aio_write -P 0x22 64k 64k' \
    -c 'aio_write -P 0x23 128k 64k' -c aio_flush \
    -c 'aio_read -P 0x21 0 64k' -c 'aio_read -P 0x23 128k 64k' -c aio_flush \
    -c 'read -P 0x22 64k 64k'
has "wrote 65536/65536 bytes at offset 65536"
has "read 65536/65536 bytes at offset 131072"
expect_rc 1 $L -c 'aio_read -P 0x99 0 4k' -c aio_flush
has "Pattern verification failed at offset 0, 4096 bytes"

# Errors: each one line, non-zero.
expect_rc 1 $L -c 'read 100M 512'
has_re '^read failed: '
expect_rc 1 $L -c 'read abc 1'
has "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- abc"
expect_rc 1 $L -c 'read -P 0x100 0 1'
has "0x100 is not a valid pattern byte"
expect_rc 1 $L -c 'read 0'
has_err "bad argument count 1 to read, expected at least 2 arguments"
expect_rc 1 $L -c 'bogus'
has_err 'command "bogus" not found'
expect_rc 1 $IO -r $SEC --image-opts $IOPTS -c 'write 0 512'
has_err "luksblk-io: Block node is read-only"

# Words are split at spaces only, as qemu-io's breakline() does: quotes
# and backslashes are plain characters, an unmatched quote is no syntax.
expect_rc 1 $L -c "read -P 0xab 0 '512'"
has "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- '512'"
expect_rc 1 $L -c "write -P 1 0 'x"
has "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- 'x"
[ -z "$err" ] || fail "unmatched quote wrote to stderr: $err"
expect_ok $L -c '   read   -P 0x21   0    512  ' -c '' -c '   '
has "read 512/512 bytes at offset 0"
# Open errors: qemu-io names the device only when it is a file name.
expect_err "^luksblk-io: can't open: .*key-secret" $IO --image-opts \
    driver=luks,file.filename=p.img,header.filename=h.img -c 'read 0 1'
expect_err "^luksblk-io: can't open device nothere.img: Could not open 'nothere.img': No such file or directory$" \
    $IO nothere.img -c 'read 0 1'

# Command errors: the same output and status as qemu-io's, which checks
# the word count (options included) first, then the options, then how many
# words are left.
if command -v qemu-io >/dev/null; then
    for c in "truncate 1M 2" "truncate -m off 1M" "truncate -m" \
             "truncate -m bogus 1M" "truncate -q 1M" "discard 0 512 9" \
             "discard -q 0" "read -P" "read -P 1" "read -q 0" \
             "write -P 0x1 0" "read 0 512 9" "aio_read -P 1 0" \
             "readv -P 1 0" "sleep x" "sleep -5" "read -Z 0 1" \
             "write -z -P 1 0 1" "help truncate" "help flush" "help -x" \
             "flush -x" "length 1"; do
        expect_ok $IMG create -q -f raw r.raw 1M
        run $IO -f raw r.raw -c "$c"
        mine="$(printf '%s\n%s' "$out" "$err" | sed 's/luksblk-io/qemu-io/g') rc=$rc"
        expect_ok $IMG create -q -f raw r.raw 1M
        run qemu-io -f raw r.raw -c "$c"
        [ "$mine" = "$(printf '%s\n%s' "$out" "$err") rc=$rc" ] ||
            fail "'$c': luksblk-io: '$mine', qemu-io: '$out' '$err' rc=$rc"
        ok
    done
    run $IO -r -f raw r.raw -c 'write -Z 0 512'
    mine="$err rc=$rc"
    run qemu-io -r -f raw r.raw -c 'write -Z 0 512'
    [ "$mine" = "$(printf '%s' "$err" | sed 's/qemu-io/luksblk-io/') rc=$rc" ] ||
        fail "read-only write: '$mine', qemu-io: '$err' rc=$rc"
    ok
fi

# Interactive prompt.
expect_rc 0 $L < <(printf 'write -P 7 0 512\nread -P 7 0 512\nquit\n')
has_re '^qemu-io> wrote 512/512 bytes at offset 0$'
has_re '^qemu-io> read 512/512 bytes at offset 0$'

# QEMU agrees (qemu-io 9.0+ opens a detached header too).
if command -v qemu-io >/dev/null; then
    expect_ok qemu-io $SEC --image-opts $IOPTS -c 'read -P 0xab 512k 1k' \
        -c 'write -P 0x5a 2M 1M'
    expect_ok $L -c 'read -P 0x5a 2M 1M'
    expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 d.img 4M
    expect_ok $IO $SEC --image-opts driver=luks,file.filename=d.img,key-secret=sec0 \
        -c 'write -P 0x33 1M 1M'
    expect_ok qemu-io $SEC --image-opts driver=luks,file.filename=d.img,key-secret=sec0 \
        -c 'read -P 0x33 1M 1M'

    # The same script gives the same output lines as qemu-io (timings
    # aside), on stdout and on stderr.
    C=(-c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' -c 'read -P 0xac 0 4k'
       -c 'readv -P 0xab 0 4k 4k' -c 'writev -P 1 0 512 512' -c 'read -v 0 40'
       -c 'write -z 1M 64k' -c 'read -P 0 1M 64k' -c 'read 100M 1k'
       -c 'read 1 512' -c 'write -q 3 5' -c 'read -C 0 512' -c length -c info
       -c bogus -c 'read 0' -c 'read -x 0 1' -c 'read abc 1'
       -c 'read -P 0x100 0 1' -c 'discard 0 4k' -c flush -c 'read 0 3G'
       -c 'write -z -P 1 0 1' -c 'write -u 0 1' -c 'aio_write -P 9 0 4k'
       -c aio_flush -c 'aio_read -P 9 0 4k' -c aio_flush
       -c 'read -P 9 -s 10 -l 20 0 4k')
    norm() {
        sed -E 's/[0-9.:]+( sec)? \([0-9.]+ [A-Za-z]+\/sec and [0-9.]+ ops\/sec\)/T/;
                s/^[0-9]+,1,[0-9:.]+,[0-9.]+,[0-9.]+$/CSV/' "$1"
    }
    DO=(--image-opts driver=luks,file.filename=d.img,key-secret=sec0)
    $IO $SEC "${DO[@]}" "${C[@]}" >lb.out 2>lb.err
    qemu-io $SEC "${DO[@]}" "${C[@]}" >q.out 2>q.err
    diff <(norm lb.out) <(norm q.out) || fail "stdout differs from qemu-io"
    diff lb.err q.err || fail "stderr differs from qemu-io"
    ok
else
    echo "note: qemu-io not installed, skipping the QEMU checks"
fi
# -s (snapshot): writes land in a temporary overlay and are read back in
# the same run; the image itself never changes (QEMU's 052), for a luks
# image (chunk copy-up on partial writes) and a raw one.
expect_ok $IMG create -q $SEC -f luks -o key-secret=sec0,iter-time=10 s.img 1M
expect_ok $IO $SEC --image-opts driver=luks,file.filename=s.img,key-secret=sec0 \
    -c "write -P 0x3c 0 1M"
before=$(sha256sum < s.img)
expect_ok $IO -s $SEC --image-opts driver=luks,file.filename=s.img,key-secret=sec0 \
    -c "write -P 0xa7 1000 70000" -c "read -P 0xa7 1000 70000" \
    -c "read -P 0x3c 0 1000" -c "read -P 0x3c 71000 977576" \
    -c "aio_write -P 0x11 512k 512k" -c aio_flush -c "read -P 0x11 512k 512k" \
    -c flush
printf '%s\n' "$out" | grep -q 'verification failed' && fail "-s reads: $out"
[ "$(sha256sum < s.img)" = "$before" ] || fail "-s wrote to the luks image"
expect_ok $IO $SEC --image-opts driver=luks,file.filename=s.img,key-secret=sec0 \
    -c "read -P 0x3c 0 1M"
has "read 1048576/1048576 bytes at offset 0"
expect_ok $IMG create -q -f raw r.img 256k
expect_ok $IO -s -f raw -c "write -P 0x55 0 256k" -c "read -P 0x55 0 256k" r.img
printf '%s\n' "$out" | grep -q 'verification failed' && fail "-s raw: $out"
cmp -s -n 262144 r.img /dev/zero || fail "-s wrote to r.img"
ok
# Numbers in hex, as qemu-io's cvtnum takes them (QEMU's 288).
expect_ok $IO -f raw -c "write -P 0x51 0x10000 0x400" -c "read -P 0x51 65536 1k" r.img
has "wrote 1024/1024 bytes at offset 65536"
has "read 1024/1024 bytes at offset 65536"
expect_rc 1 $IO -f raw -c "read 0x 1" r.img
has "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- 0x"
done_ok
