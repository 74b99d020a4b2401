#!/usr/bin/env bash
# luksblk-img bench: qemu-img bench's options and output lines, with
# --object for an encrypted volume, several requests in flight.
. "$(dirname "$0")/tools-lib.sh"

expect_ok $IMG create -q $SEC -f luks \
    -o key-secret=sec0,detached-header=true,iter-time=10 h.img
expect_ok $IMG create -q -f raw p.img 8M
IOPTS=driver=luks,file.filename=p.img,header.filename=h.img,key-secret=sec0

expect_ok $IMG bench $SEC --image-opts $IOPTS -w -c 64 -d 4 -s 256k \
    --pattern=0x5a --flush-interval=16
has "Sending 64 write requests, 262144 bytes each, 4 in parallel (starting at offset 0, step size 262144)"
has "Sending flush every 16 requests"
has_re '^Run completed in [0-9]+\.[0-9]{3} seconds\.$'
# 64 requests of 256k wrap around the 8M volume: every byte got 0x5a.
expect_ok $IO $SEC --image-opts $IOPTS -c 'read -P 0x5a 0 7936k'

expect_ok $IMG bench $SEC --image-opts $IOPTS -c 100 -d 8 -s 64k -o 1M -S 0
has "Sending 100 read requests, 65536 bytes each, 8 in parallel (starting at offset 1048576, step size 65536)"
expect_ok $IMG bench -f raw -c 10 p.img
has "Sending 10 read requests, 4096 bytes each, 64 in parallel (starting at offset 0, step size 4096)"

run $IMG bench $SEC --image-opts $IOPTS -w -d 8 --flush-interval=4 -c 8
[ "$rc" = 1 ] && printf '%s' "$err" | grep -q "Flush interval can't be smaller than depth" ||
    fail "flush interval < depth: $err"
ok
done_ok
