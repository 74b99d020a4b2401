/*
 * io.c: the data path entry points, the only callers of a driver's data
 * functions.  They check the node's state, mode and the request range
 * (beyond the end is -EIO, as QEMU's block layer does), then call the
 * driver.
 *
 * Nodes with an alignment above 1 (luks: its sector size) get requests of
 * any offset and length: unaligned parts are done with a read-modify-write
 * of the partial sectors through a stack buffer.  Writes on such nodes are
 * tracked so an RMW never overlaps another write in flight (which could
 * otherwise put back stale bytes of a sector another request just wrote):
 * RMW requests wait for any overlapping write, aligned writes wait only for
 * overlapping RMWs, so aligned writes never serialise among themselves.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <string.h>

#define MAX_ALIGN 4096u
#define ZERO_CHUNK (256u * 1024u)

static const guint8 zero_buf[ZERO_CHUNK];

static int check_request(LbNode *bs, uint64_t off, uint64_t len, bool write)
{
    g_assert(bs->state == LB_NODE_OPEN || bs->state == LB_NODE_CLOSING);
    if (write && bs->read_only) {
        return -EPERM;
    }
    int64_t size = bs->drv->length(bs);
    if (size < 0) {
        return (int)size;
    }
    if (off > (uint64_t)size || len > (uint64_t)size - off) {
        return -EIO;
    }
    return 0;
}

int64_t lb_node_length(LbNode *bs)
{
    g_assert(bs->state == LB_NODE_OPEN || bs->state == LB_NODE_CLOSING);
    return bs->drv->length(bs);
}

/* ---- write tracking ----------------------------------------------------- */

static bool overlaps(const LbTrackedReq *a, const LbTrackedReq *b)
{
    return a->start < b->end && b->start < a->end;
}

static void track_begin(LbNode *bs, LbTrackedReq *req)
{
    g_mutex_lock(&bs->track_lock);
    for (;;) {
        bool wait = false;
        for (LbTrackedReq *r = bs->tracked; r; r = r->next) {
            if ((r->rmw || req->rmw) && overlaps(r, req)) {
                wait = true;
                break;
            }
        }
        if (!wait) {
            break;
        }
        bs->track_waiters++;
        g_cond_wait(&bs->track_cond, &bs->track_lock);
        bs->track_waiters--;
    }
    req->next = bs->tracked;
    bs->tracked = req;
    g_mutex_unlock(&bs->track_lock);
}

static void track_end(LbNode *bs, LbTrackedReq *req)
{
    g_mutex_lock(&bs->track_lock);
    for (LbTrackedReq **p = &bs->tracked; *p; p = &(*p)->next) {
        if (*p == req) {
            *p = req->next;
            break;
        }
    }
    /* A broadcast costs a futex syscall even when nobody waits. */
    if (bs->track_waiters) {
        g_cond_broadcast(&bs->track_cond);
    }
    g_mutex_unlock(&bs->track_lock);
}

/* ---- unaligned requests ------------------------------------------------- */

static int read_unaligned(LbNode *bs, uint64_t off, guint8 *buf, size_t len)
{
    unsigned a = bs->alignment;
    guint8 tmp[MAX_ALIGN] __attribute__((aligned(64)));

    g_assert(a <= MAX_ALIGN);
    while (len > 0) {
        uint64_t head = off % a;
        size_t n;
        int r;
        if (head == 0 && len >= a) {
            n = len - len % a;
            r = bs->drv->pread(bs, off, buf, n);
        } else {
            n = MIN(len, a - head);
            r = bs->drv->pread(bs, off - head, tmp, a);
            memcpy(buf, tmp + head, n);
        }
        if (r < 0) {
            return r;
        }
        off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

static int write_unaligned(LbNode *bs, uint64_t off, const guint8 *buf,
                           size_t len, unsigned flags)
{
    unsigned a = bs->alignment;
    guint8 tmp[MAX_ALIGN] __attribute__((aligned(64)));

    g_assert(a <= MAX_ALIGN);
    while (len > 0) {
        uint64_t head = off % a;
        size_t n;
        int r;
        if (head == 0 && len >= a) {
            n = len - len % a;
            r = bs->drv->pwrite(bs, off, buf, n, flags);
        } else {
            n = MIN(len, a - head);
            r = bs->drv->pread(bs, off - head, tmp, a);
            if (r == 0) {
                memcpy(tmp + head, buf, n);
                r = bs->drv->pwrite(bs, off - head, tmp, a, flags);
            }
        }
        if (r < 0) {
            return r;
        }
        off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

/* A checked write of @len bytes, tracked on nodes with alignment > 1. */
static int do_write(LbNode *bs, uint64_t off, const void *buf, size_t len,
                    unsigned flags)
{
    unsigned a = bs->alignment;

    if (a <= 1) {
        return bs->drv->pwrite(bs, off, buf, len, flags);
    }
    bool rmw = (off % a) || (len % a);
    LbTrackedReq req = {
        .start = off - off % a,
        .end = rmw ? (off + len + a - 1) / a * a : off + len,
        .rmw = rmw,
    };
    track_begin(bs, &req);
    int r = rmw ? write_unaligned(bs, off, buf, len, flags)
                : bs->drv->pwrite(bs, off, buf, len, flags);
    track_end(bs, &req);
    return r;
}

/* ---- public data path --------------------------------------------------- */

int lb_node_pread(LbNode *bs, uint64_t off, void *buf, size_t len)
{
    int r = check_request(bs, off, len, false);
    if (r < 0 || len == 0) {
        return r;
    }
    unsigned a = bs->alignment;
    if (a > 1 && ((off % a) || (len % a))) {
        return read_unaligned(bs, off, buf, len);
    }
    return bs->drv->pread(bs, off, buf, len);
}

int lb_node_pwrite(LbNode *bs, uint64_t off, const void *buf, size_t len,
                   unsigned flags)
{
    int r = check_request(bs, off, len, true);
    if (r < 0 || len == 0) {
        return r;
    }
    return do_write(bs, off, buf, len, flags);
}

int lb_io_write_zeroes_fallback(LbNode *bs, uint64_t off, uint64_t len,
                                unsigned flags)
{
    flags &= ~LB_WRITE_MAY_UNMAP;
    while (len > 0) {
        /* After the first chunk, chunks start ZERO_CHUNK-aligned. */
        size_t n = MIN(len, ZERO_CHUNK - off % ZERO_CHUNK);
        int r = do_write(bs, off, zero_buf, n, flags);
        if (r < 0) {
            return r;
        }
        off += n;
        len -= n;
    }
    return 0;
}

int lb_node_pwrite_zeroes(LbNode *bs, uint64_t off, uint64_t len,
                          unsigned flags)
{
    int r = check_request(bs, off, len, true);
    if (r < 0 || len == 0) {
        return r;
    }
    if (!(bs->flags & LB_OPEN_UNMAP)) {
        flags &= ~LB_WRITE_MAY_UNMAP; /* holes only with discard=unmap */
    }
    unsigned a = bs->alignment;
    if (!bs->drv->pwrite_zeroes || (a > 1 && ((off % a) || (len % a)))) {
        return lb_io_write_zeroes_fallback(bs, off, len, flags);
    }
    if (a <= 1) {
        return bs->drv->pwrite_zeroes(bs, off, len, flags);
    }
    LbTrackedReq req = {.start = off, .end = off + len};
    track_begin(bs, &req);
    r = bs->drv->pwrite_zeroes(bs, off, len, flags);
    track_end(bs, &req);
    return r;
}

int lb_node_pdiscard(LbNode *bs, uint64_t off, uint64_t len)
{
    int r = check_request(bs, off, len, true);
    /* As QEMU: discard requests are dropped unless discard=unmap. */
    if (r < 0 || len == 0 || !bs->drv->pdiscard ||
        !(bs->flags & LB_OPEN_UNMAP)) {
        return r; /* discard is advisory: no support means success */
    }
    return bs->drv->pdiscard(bs, off, len);
}

int lb_node_flush(LbNode *bs)
{
    g_assert(bs->state == LB_NODE_OPEN || bs->state == LB_NODE_CLOSING);
    if (!bs->drv->flush || bs->read_only) {
        return 0;
    }
    return bs->drv->flush(bs);
}
