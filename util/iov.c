/*
 * iov.c: struct iovec helpers for the block layer's scatter lists (see
 * lb/iov.h).  Plain loops: the lists are short (one entry from NBD and
 * FUSE, a descriptor chain from vhost-user).
 */
#include "config.h"
#include "lb/iov.h"

#include <string.h>
#include <glib.h>

size_t lb_iov_size(const struct iovec *iov, int niov)
{
    size_t n = 0;

    for (int i = 0; i < niov; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

/* Index of the entry holding byte @*off; *@off becomes the offset in it. */
static int iov_seek(const struct iovec *iov, int niov, size_t *off)
{
    int i = 0;

    while (i < niov && *off >= iov[i].iov_len) {
        *off -= iov[i].iov_len;
        i++;
    }
    return i;
}

void lb_iov_to_buf(const struct iovec *iov, int niov, size_t off, void *buf,
                   size_t len)
{
    guint8 *p = buf;

    for (int i = iov_seek(iov, niov, &off); len > 0; i++, off = 0) {
        g_assert(i < niov);
        size_t n = MIN(len, iov[i].iov_len - off);
        memcpy(p, (guint8 *)iov[i].iov_base + off, n);
        p += n;
        len -= n;
    }
}

void lb_iov_from_buf(const struct iovec *iov, int niov, size_t off,
                     const void *buf, size_t len)
{
    const guint8 *p = buf;

    for (int i = iov_seek(iov, niov, &off); len > 0; i++, off = 0) {
        g_assert(i < niov);
        size_t n = MIN(len, iov[i].iov_len - off);
        memcpy((guint8 *)iov[i].iov_base + off, p, n);
        p += n;
        len -= n;
    }
}

void lb_iov_memset(const struct iovec *iov, int niov, size_t off, int c,
                   size_t len)
{
    for (int i = iov_seek(iov, niov, &off); len > 0; i++, off = 0) {
        g_assert(i < niov);
        size_t n = MIN(len, iov[i].iov_len - off);
        memset((guint8 *)iov[i].iov_base + off, c, n);
        len -= n;
    }
}

int lb_iov_slice_count(const struct iovec *iov, int niov, size_t off,
                       size_t len)
{
    int count = 0;

    for (int i = iov_seek(iov, niov, &off); len > 0; i++, off = 0) {
        g_assert(i < niov);
        size_t n = MIN(len, iov[i].iov_len - off);
        if (n) {
            count++;
        }
        len -= n;
    }
    return count;
}

int lb_iov_slice(struct iovec *dst, int dst_cap, const struct iovec *iov,
                 int niov, size_t off, size_t len)
{
    int count = 0;

    for (int i = iov_seek(iov, niov, &off); len > 0; i++, off = 0) {
        g_assert(i < niov);
        size_t n = MIN(len, iov[i].iov_len - off);
        if (n == 0) {
            continue;
        }
        if (count == dst_cap) {
            return -1;
        }
        dst[count].iov_base = (guint8 *)iov[i].iov_base + off;
        dst[count].iov_len = n;
        count++;
        len -= n;
    }
    return count;
}
