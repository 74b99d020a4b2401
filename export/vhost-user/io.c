/*
 * io.c: the vhost-user-blk export's adapter to the block layer.
 *
 * Requests carry iovecs that point into guest RAM, which the guest can
 * read (and change) at any time.  So a read is never decrypted in place:
 * the node fills a private bounce buffer and only plaintext is copied
 * into guest memory; a write is gathered into a bounce buffer first, so
 * the encryption never sees bytes the guest changes half-way.
 *
 * The block layer's calls used here are synchronous and thread-safe, so
 * requests run on a small worker pool: a queue thread hands a request
 * over and goes back to its ring, which keeps many requests in flight per
 * queue.  Each worker owns one bounce buffer (VU_IO_CHUNK bytes, aligned
 * for O_DIRECT nodes) and moves larger requests through it in chunks.
 */
#include "config.h"
#include "vu-priv.h"

#include <errno.h>
#include <string.h>

/* Bounce buffer size per worker: also the largest single node call. */
#define VU_IO_CHUNK (1024 * 1024)
#define VU_IO_ALIGN 4096

static GThreadPool *io_pool;
static GOnce io_once = G_ONCE_INIT;
static GPrivate io_bounce = G_PRIVATE_INIT(g_free);

/* Copy @len bytes at byte @off of @iov to or from @buf. */
static void iov_copy(const struct iovec *iov, int niov, size_t off, void *buf,
                     size_t len, bool to_iov)
{
    uint8_t *p = buf;

    for (int i = 0; i < niov && len > 0; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t n = MIN(len, iov[i].iov_len - off);
        uint8_t *g = (uint8_t *)iov[i].iov_base + off;
        if (to_iov) {
            memcpy(g, p, n);
        } else {
            memcpy(p, g, n);
        }
        p += n;
        len -= n;
        off = 0;
    }
}

static uint8_t *bounce_get(void)
{
    uint8_t *b = g_private_get(&io_bounce);

    if (!b) {
        b = g_aligned_alloc(VU_IO_CHUNK, 1, VU_IO_ALIGN);
        g_private_set(&io_bounce, b);
    }
    return b;
}

static int io_rw(VuIo *io)
{
    uint8_t *buf = bounce_get();
    size_t total = 0;

    for (int i = 0; i < io->niov; i++) {
        total += io->iov[i].iov_len;
    }
    for (size_t done = 0; done < total;) {
        size_t n = MIN(total - done, (size_t)VU_IO_CHUNK);
        int r;
        if (io->op == VU_IO_READ) {
            r = lb_node_pread(io->node, io->offset + done, buf, n);
            if (r == 0) {
                iov_copy(io->iov, io->niov, done, buf, n, true);
            }
        } else {
            iov_copy(io->iov, io->niov, done, buf, n, false);
            r = lb_node_pwrite(io->node, io->offset + done, buf, n,
                               io->flags);
        }
        if (r < 0) {
            return r;
        }
        done += n;
    }
    return 0;
}

static int io_run(VuIo *io)
{
    switch (io->op) {
    case VU_IO_READ:
    case VU_IO_WRITE:
        return io_rw(io);
    case VU_IO_WRITE_ZEROES:
        return lb_node_pwrite_zeroes(io->node, io->offset, io->len,
                                     io->flags);
    case VU_IO_DISCARD:
        return lb_node_pdiscard(io->node, io->offset, io->len);
    case VU_IO_FLUSH:
        return lb_node_flush(io->node);
    }
    return -EINVAL;
}

static void io_worker(gpointer data, gpointer user_data)
{
    VuIo *io = data;

    io->cb(io, io_run(io));
}

static gpointer io_pool_new(gpointer arg)
{
    /*
     * Shared by every queue of every export: the node calls block, so a
     * few more threads than CPUs keep the CPUs busy while some wait.
     */
    unsigned n = CLAMP(2 * g_get_num_processors(), 4, 32);
    io_pool = g_thread_pool_new(io_worker, NULL, n, FALSE, NULL);
    return NULL;
}

void vu_io_init(void)
{
    g_once(&io_once, io_pool_new, NULL);
}

void vu_io_submit(VuIo *io)
{
    vu_io_init();
    g_thread_pool_push(io_pool, io, NULL);
}
