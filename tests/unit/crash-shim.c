/*
 * crash-shim.c: an LD_PRELOAD library that kills the process at a chosen
 * write, for tests/interop/test-crash-amend.sh.
 *
 * With LB_CRASH_AT=N the process dies (_exit(99), no cleanup, no flush)
 * just before its N-th data-changing call on a file: pwrite, pwrite64,
 * pwritev, fallocate, ftruncate.  With LB_CRASH_TORN=1 as well, that call
 * first writes the first half of its buffer (a torn write).  Reads and
 * syncs pass through untouched; without LB_CRASH_AT nothing changes.
 */
/* Define pwrite and pwrite64 as two symbols (no 64-bit renaming). */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_long lb_crash_calls;

/* Whether this call is the one to die at; *torn: write half first. */
static int lb_crash_now(int *torn)
{
    const char *at = getenv("LB_CRASH_AT");
    const char *t = getenv("LB_CRASH_TORN");

    if (!at) {
        return 0;
    }
    *torn = t && *t == '1';
    return atomic_fetch_add(&lb_crash_calls, 1) + 1 == atol(at);
}

static void *lb_real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (!f) {
        _exit(98);
    }
    return f;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    ssize_t (*real)(int, const void *, size_t, off_t) = lb_real("pwrite");
    int torn = 0;

    if (lb_crash_now(&torn)) {
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

    if (lb_crash_now(&torn)) {
        if (torn && cnt > 0) {
            struct iovec half = iov[0];
            half.iov_len /= 2;
            real(fd, &half, 1, off);
        }
        _exit(99);
    }
    return real(fd, iov, cnt, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    int (*real)(int, int, off_t, off_t) = lb_real("fallocate");
    int torn = 0;

    if (lb_crash_now(&torn)) {
        _exit(99);
    }
    return real(fd, mode, off, len);
}

int ftruncate(int fd, off_t len)
{
    int (*real)(int, off_t) = lb_real("ftruncate");
    int torn = 0;

    if (lb_crash_now(&torn)) {
        _exit(99);
    }
    return real(fd, len);
}
