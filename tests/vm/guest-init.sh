#!/bin/sh
# guest-init.sh: /init of the vhost-user-blk test guest (busybox-static).
# Loads the virtio modules, waits for /dev/vda, runs the scenario named by
# vt= on the kernel command line and prints "VT key value" result lines
# and "VT-END rc" on the serial console (a socket the host test reads and
# answers on), then powers off.  Offsets: 1 MiB units unless noted.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin

for m in virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio \
         virtio_pci virtio_blk; do
    insmod /mod/$m.ko || echo "VT insmod-failed $m"
done
n=0
while [ ! -b /dev/vda ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done

vt=none
for kv in $(cat /proc/cmdline); do
    case "$kv" in vt=*) vt=${kv#vt=} ;; esac
done

say() { echo "VT $*"; }
# md5 of COUNT MiB at MiB offset SKIP, read with O_DIRECT.
md5() { dd if=/dev/vda bs=1M skip="$1" count="${2:-1}" iflag=direct 2>/dev/null |
        md5sum | cut -d' ' -f1; }
flushes() { awk '{print $16}' /sys/block/vda/stat; }
# The text pattern (the host computes the same bytes) and a byte pattern.
mkpat() { yes "luksblk-vhost-$1" | head -c 1048576 > /tmp/pat-$1; }
# mkbyte OCTAL: 1 MiB of the byte with that octal value (253 = 0xab).
mkbyte() { dd if=/dev/zero bs=1M count=1 2>/dev/null | tr '\000' "\\$1" > /tmp/byte-$1; }
# Write /tmp/FILE at MiB offset with O_DIRECT and fsync; prints dd's status.
dwrite() { dd if=/tmp/$1 of=/dev/vda bs=1M seek="$2" count=1 oflag=direct \
              conv=fsync 2>/tmp/dd.err; echo $?; }
waitgo() { read -r line; say got "$line"; }

[ -b /dev/vda ] || { say error no-vda; echo "VT-END 1"; poweroff -f; }
say size "$(blockdev --getsize64 /dev/vda)"
say serial "$(cat /sys/block/vda/serial 2>/dev/null)"
say cache "$(cat /sys/block/vda/cache_type)"

case "$vt" in
basic)
    say known "$(md5 0)"
    mkpat a
    say write-direct "$(dwrite pat-a 2)"
    f0=$(flushes)
    echo "write back" > /sys/block/vda/cache_type
    say cache-after "$(cat /sys/block/vda/cache_type)"
    mkbyte 253
    # Buffered write + fsync: write-back cache, so fsync sends FLUSH.
    dd if=/tmp/byte-253 of=/dev/vda bs=1M seek=4 count=1 conv=fsync 2>/dev/null
    say write-fsync $?
    say flushes $(( $(flushes) - f0 ))
    say readback "$(md5 2) $(md5 4)"
    ;;
mq)
    say hctx "$(ls /sys/block/vda/mq | tr '\n' ' ')"
    mkpat q0
    mkpat q1
    taskset -c 0 dd if=/tmp/pat-q0 of=/dev/vda bs=64k seek=32 oflag=direct \
        conv=fsync 2>/dev/null &
    taskset -c 1 dd if=/tmp/pat-q1 of=/dev/vda bs=64k seek=48 oflag=direct \
        conv=fsync 2>/dev/null &
    wait
    say readback "$(md5 2) $(md5 3)"
    ;;
reboot)
    marker=$(dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 6)
    if [ "$marker" != "BOOT-2" ]; then
        mkpat r
        say write-direct "$(dwrite pat-r 2)"
        printf 'BOOT-2' | dd of=/dev/vda bs=512 seek=100 conv=sync,fsync \
            2>/dev/null
        say boot 1
        reboot -f
    fi
    say boot 2
    say readback "$(md5 2)"
    ;;
reconnect)
    mkpat c
    say write-direct "$(dwrite pat-c 2)"
    say phase 1
    waitgo
    say readback "$(md5 2)"
    mkbyte 252
    say write-direct2 "$(dwrite byte-252 6)"
    say readback2 "$(md5 6)"
    ;;
ro)
    say ro "$(cat /sys/block/vda/ro)"
    say known "$(md5 0)"
    mkbyte 253
    say write-ro "$(dwrite byte-253 0) $(head -n1 /tmp/dd.err)"
    say known-after "$(md5 0)"
    ;;
nbd)
    mkpat n
    say write-direct "$(dwrite pat-n 2)"
    say phase 1
    waitgo
    say nbd-bytes "$(md5 8)"
    ;;
bench)
    # bench/bench-vhost.sh: phases "MODE:N[:SPAN]" from vtb=, each started
    # by the host (it samples the daemon's CPU time around it).
    for spec in $(tr ' ' '\n' < /proc/cmdline | sed -n 's/^vtb=//p' | tr ',' ' '); do
        set -- $(echo "$spec" | tr ':' ' ')
        say phase "$1"
        waitgo
        say result "$1 $(/bin/vgio /dev/vda "$@")"
    done
    ;;
*)
    say error "unknown scenario $vt"
    ;;
esac
echo "VT-END 0"
poweroff -f
