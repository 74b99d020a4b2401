/*
 * reenc-crash-shim.c: an LD_PRELOAD library that kills the process at a
 * chosen write to a chosen file, for tests/interop/test-reencrypt-crash.sh
 * (luksblk-img and cryptsetup both run under it).
 *
 * LB_CRASH_FILE=PATH selects the file (compared with the fd's
 * /proc/self/fd link; unset = any regular file).  With LB_CRASH_AT=N the
 * process dies with _exit(99), no cleanup and no flush, at its N-th
 * write, pwrite, pwrite64 or pwritev to that file; with LB_CRASH_TORN=1
 * that call first writes the first half of its buffer (a torn write).
 * With LB_CRASH_COUNT=FILE set instead, the number of matching writes is
 * appended to FILE at exit, so a test knows how many kill points exist.
 * With LB_SIGNAL_AT=N the process sends itself SIGTERM just before its
 * N-th matching write, which then goes ahead (a clean interruption).
 */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_long lb_calls;

static void *lb_real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (!f) {
        _exit(98);
    }
    return f;
}

/* Whether @fd is the file the test watches. */
static int lb_watched(int fd)
{
    const char *want = getenv("LB_CRASH_FILE");
    char link[64], path[PATH_MAX];
    struct stat st;

    if (!getenv("LB_CRASH_AT") && !getenv("LB_CRASH_COUNT") &&
        !getenv("LB_SIGNAL_AT")) {
        return 0;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }
    if (!want) {
        return 1;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n < 0) {
        return 0;
    }
    path[n] = '\0';
    return strcmp(path, want) == 0;
}

static void lb_count_at_exit(void)
{
    const char *f = getenv("LB_CRASH_COUNT");
    FILE *o = f ? fopen(f, "a") : NULL;

    if (o) {
        fprintf(o, "%ld\n", (long)atomic_load(&lb_calls));
        fclose(o);
    }
}

__attribute__((constructor)) static void lb_init(void)
{
    if (getenv("LB_CRASH_COUNT")) {
        atexit(lb_count_at_exit);
    }
}

/* Whether this call is the one to die at; *torn: write half first. */
static int lb_crash_now(int fd, int *torn)
{
    const char *at = getenv("LB_CRASH_AT");
    const char *t = getenv("LB_CRASH_TORN");

    if (!lb_watched(fd)) {
        return 0;
    }
    long n = atomic_fetch_add(&lb_calls, 1) + 1;
    const char *sig = getenv("LB_SIGNAL_AT");
    if (sig && n == atol(sig)) {
        raise(SIGTERM);
    }
    *torn = t && *t == '1';
    return at && n == atol(at);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    ssize_t (*real)(int, const void *, size_t) = lb_real("write");
    int torn = 0;

    if (lb_crash_now(fd, &torn)) {
        if (torn && n > 1) {
            real(fd, buf, n / 2);
        }
        _exit(99);
    }
    return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t (*real)(int, const void *, size_t, off_t) = lb_real("pwrite");
    int torn = 0;

    if (lb_crash_now(fd, &torn)) {
        if (torn && n > 1) {
            real(fd, buf, n / 2, off);
        }
        _exit(99);
    }
    return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    ssize_t (*real)(int, const struct iovec *, int, off_t) = lb_real("pwritev");
    int torn = 0;

    if (lb_crash_now(fd, &torn)) {
        if (torn && cnt > 0) {
            struct iovec half = iov[0];
            half.iov_len /= 2;
            real(fd, &half, 1, off);
        }
        _exit(99);
    }
    return real(fd, iov, cnt, off);
}
