/*
 * vhost-guest-io.c: the I/O loop bench-vhost.sh runs inside its guest
 * (built static on the host, put into the initramfs).  busybox dd forks
 * once per command and has no random mode, which under TCG would measure
 * process creation, not the disk.
 *
 *   vhost-guest-io DEV seqwrite|seqread MIB     1 MiB O_DIRECT requests
 *   vhost-guest-io DEV randread COUNT SPAN_MIB  4 KiB O_DIRECT, one at a time
 *
 * Prints "SECONDS BYTES REQUESTS" on success.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DEV seqwrite|seqread|randread N [SPAN]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[2];
    long n = atol(argv[3]);
    int wr = strcmp(mode, "seqwrite") == 0;
    int fd = open(argv[1], (wr ? O_WRONLY : O_RDONLY) | O_DIRECT);
    void *buf;

    if (fd < 0 || posix_memalign(&buf, 4096, 1 << 20) != 0) {
        perror("open");
        return 1;
    }
    memset(buf, 0x5c, 1 << 20);
    double t0 = now();
    long long bytes = 0, reqs = 0;
    if (strcmp(mode, "randread") == 0) {
        long span = (argc > 4 ? atol(argv[4]) : 64) * 256; /* 4k blocks */
        uint64_t x = 88172645463325252ull;
        for (long i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (pread(fd, buf, 4096, (off_t)(x % span) * 4096) != 4096) {
                perror("pread");
                return 1;
            }
            bytes += 4096;
            reqs++;
        }
    } else {
        for (long i = 0; i < n; i++) {
            ssize_t r = wr ? pwrite(fd, buf, 1 << 20, (off_t)i << 20)
                           : pread(fd, buf, 1 << 20, (off_t)i << 20);
            if (r != 1 << 20) {
                perror(wr ? "pwrite" : "pread");
                return 1;
            }
            bytes += r;
            reqs++;
        }
        if (wr && fdatasync(fd) < 0) {
            perror("fdatasync");
            return 1;
        }
    }
    printf("%.4f %lld %lld\n", now() - t0, bytes, reqs);
    return 0;
}
