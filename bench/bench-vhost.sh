#!/usr/bin/env bash
# bench-vhost.sh [BUILD] [ROUNDS]: luksblk's vhost-user-blk export against
# qemu-storage-daemon's, the same TCG guest and volume in the same run;
# guest throughput/IOPS and server CPU per GiB and per million requests.
# See bench/bench-vhost.py.  Not part of make check.
exec nice -n 5 python3 "$(dirname "$0")/bench-vhost.py" "${1:-build}" "${2:-2}"
