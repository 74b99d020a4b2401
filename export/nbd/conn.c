/*
 * export/nbd/conn.c: one NBD connection in transmission.
 *
 * Spec: NBD protocol, "Transmission" / "Request types" / "Structured reply
 * chunk message types" / "Error values".
 *
 * The connection thread reads requests, checks them (range, alignment,
 * permissions, flags) and hands valid ones to the server's worker pool;
 * rejected requests are answered directly.  Workers do the node I/O and
 * reply under the send lock, so requests on one connection overlap and
 * replies may leave out of order.  In-flight requests are bounded by count
 * and bytes; the reader waits when the bound is reached, which pushes back
 * on the client through TCP.
 *
 * Requests (NbdReq) and their data buffers are recycled per connection so
 * steady-state I/O allocates nothing.  When the client goes away (EOF,
 * error, NBD_CMD_DISC, or a hard export delete shutting the socket down)
 * the reader stops and waits for every in-flight request to finish: a
 * write that was started completes on the node even if its reply cannot be
 * delivered, and writes already acknowledged are never undone.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <glib.h>

#include "lb/export.h"
#include "nbd-priv.h"

#define NBD_FREE_REQS_MAX   16
#define NBD_KEEP_BUF_MAX    (4u * 1024 * 1024)
#define NBD_INLINE_MAX      (64u * 1024)
#define NBD_OBUF_SIZE       (128u * 1024)
#define NBD_INLINE_MAX_US   40     /* slower small requests go to the pool */

typedef struct NbdReq {
    NbdConn *conn;
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t len;
    uint32_t acct;                    /* bytes counted in inflight_bytes */
    uint32_t n_extents;               /* BLOCK_STATUS: extents in buf */
    void *buf;
    size_t cap;
} NbdReq;

NbdConn *nbd_conn_new(NbdServer *srv, int fd)
{
    NbdConn *conn = g_new0(NbdConn, 1);
    conn->srv = srv;
    conn->ch.fd = fd;
    conn->min_block = 1;
    g_mutex_init(&conn->send_lock);
    g_mutex_init(&conn->lock);
    g_cond_init(&conn->cond);
    return conn;
}

static void req_free(NbdReq *req)
{
    free(req->buf);
    g_free(req);
}

void nbd_conn_free(NbdConn *conn)
{
    if (!conn) {
        return;
    }
    g_assert(conn->inflight == 0);
    nbd_chan_close(&conn->ch);
    g_slist_free_full(conn->free_reqs, (GDestroyNotify)req_free);
    g_free(conn->obuf);
    g_free(conn->meta_export);
    g_mutex_clear(&conn->send_lock);
    g_mutex_clear(&conn->lock);
    g_cond_clear(&conn->cond);
    g_free(conn);
}

void nbd_conn_kick(NbdConn *conn)
{
    shutdown(conn->ch.fd, SHUT_RDWR);
}

/* Map a node's -errno to the protocol's error values. */
static uint32_t nbd_errno(int err)
{
    switch (-err) {
    case 0:
        return 0;
    case EPERM:
    case EROFS:
    case EACCES:
        return NBD_EPERM;
    case ENOMEM:
        return NBD_ENOMEM;
    case EINVAL:
        return NBD_EINVAL;
    case ENOSPC:
    case EFBIG:
    case EDQUOT:
        return NBD_ENOSPC;
    case EOVERFLOW:
        return NBD_EOVERFLOW;
    case ENOTSUP:
        return NBD_ENOTSUP;
    case ESHUTDOWN:
        return NBD_ESHUTDOWN;
    default:
        return NBD_EIO;
    }
}

/*
 * Send the reply for @req with NBD error @err; read data goes with it.
 * With @batch (the connection thread, more requests already received),
 * small replies are held back and leave together in one write: one
 * wake-up of the client for many replies.  Failures are ignored: the
 * reader notices a dead socket on its own.
 */
static void conn_reply(NbdConn *conn, NbdReq *req, uint32_t err, bool batch)
{
    uint8_t hdr[NBD_CHUNK_HEADER_SIZE + 12];
    struct iovec iov[2];
    int n = 1;
    bool structured = conn->structured && (req->type == NBD_CMD_READ ||
                                           req->type == NBD_CMD_BLOCK_STATUS);

    if (structured && !err && req->type == NBD_CMD_BLOCK_STATUS) {
        /* base:allocation: the extents req_execute() put in req->buf. */
        put32(hdr, NBD_STRUCTURED_REPLY_MAGIC);
        put16(hdr + 4, NBD_REPLY_FLAG_DONE);
        put16(hdr + 6, NBD_REPLY_TYPE_BLOCK_STATUS);
        memcpy(hdr + 8, &req->cookie, 8);  /* opaque bytes */
        put32(hdr + 16, 4 + 8 * req->n_extents);
        put32(hdr + 20, NBD_META_ID_ALLOCATION);
        iov[0] = (struct iovec){ hdr, NBD_CHUNK_HEADER_SIZE + 4 };
        iov[1] = (struct iovec){ req->buf, 8 * req->n_extents };
        n = 2;
    } else if (structured) {
        put32(hdr, NBD_STRUCTURED_REPLY_MAGIC);
        put16(hdr + 4, NBD_REPLY_FLAG_DONE);
        memcpy(hdr + 8, &req->cookie, 8);  /* opaque bytes */
        if (err) {
            put16(hdr + 6, NBD_REPLY_TYPE_ERROR);
            put32(hdr + 16, 6);
            put32(hdr + 20, err);
            put16(hdr + 24, 0);       /* no message */
            iov[0] = (struct iovec){ hdr, NBD_CHUNK_HEADER_SIZE + 6 };
        } else {
            put16(hdr + 6, NBD_REPLY_TYPE_OFFSET_DATA);
            put32(hdr + 16, 8 + req->len);
            put64(hdr + 20, req->offset);
            iov[0] = (struct iovec){ hdr, NBD_CHUNK_HEADER_SIZE + 8 };
            iov[1] = (struct iovec){ req->buf, req->len };
            n = 2;
        }
    } else {
        put32(hdr, NBD_SIMPLE_REPLY_MAGIC);
        put32(hdr + 4, err);
        memcpy(hdr + 8, &req->cookie, 8);  /* opaque bytes */
        iov[0] = (struct iovec){ hdr, NBD_SIMPLE_REPLY_SIZE };
        if (!err && req->type == NBD_CMD_READ) {
            iov[1] = (struct iovec){ req->buf, req->len };
            n = 2;
        }
    }
    g_mutex_lock(&conn->send_lock);
    size_t total = iov[0].iov_len + (n > 1 ? iov[1].iov_len : 0);
    if (batch && conn->olen + total <= NBD_OBUF_SIZE) {
        if (!conn->obuf) {
            conn->obuf = g_malloc(NBD_OBUF_SIZE);
        }
        for (int i = 0; i < n; i++) {
            /* A 0-byte read or 0 extents: no buffer (memcpy from NULL is UB). */
            if (iov[i].iov_len) {
                memcpy(conn->obuf + conn->olen, iov[i].iov_base, iov[i].iov_len);
                conn->olen += iov[i].iov_len;
            }
        }
    } else if (conn->olen) {
        struct iovec all[3] = { { conn->obuf, conn->olen }, iov[0], iov[1] };
        nbd_chan_writev(&conn->ch, all, n + 1);
        conn->olen = 0;
    } else {
        nbd_chan_writev(&conn->ch, iov, n);
    }
    g_mutex_unlock(&conn->send_lock);
}

/* Send the replies held back by conn_reply(batch). */
static void conn_flush_replies(NbdConn *conn)
{
    g_mutex_lock(&conn->send_lock);
    if (conn->olen) {
        struct iovec iov = { conn->obuf, conn->olen };
        nbd_chan_writev(&conn->ch, &iov, 1);
        conn->olen = 0;
    }
    g_mutex_unlock(&conn->send_lock);
}

static NbdReq *req_get(NbdConn *conn)
{
    NbdReq *req = NULL;

    g_mutex_lock(&conn->lock);
    if (conn->free_reqs) {
        req = conn->free_reqs->data;
        conn->free_reqs = g_slist_delete_link(conn->free_reqs,
                                              conn->free_reqs);
        conn->n_free_reqs--;
    }
    g_mutex_unlock(&conn->lock);
    if (!req) {
        req = g_new0(NbdReq, 1);
        req->conn = conn;
    }
    return req;
}

/* Make room for @len data bytes; false if memory is short. */
static bool req_reserve(NbdReq *req, size_t len)
{
    if (req->cap >= len) {
        return true;
    }
    free(req->buf);
    req->buf = NULL;
    req->cap = 0;
    /* Page alignment suits O_DIRECT files below and costs nothing. */
    size_t cap = MAX(len, 4096);
    if (posix_memalign(&req->buf, 4096, cap) != 0) {
        req->buf = NULL;
        return false;
    }
    req->cap = cap;
    return true;
}

/*
 * Return @req to the free list and drop it from the in-flight count.  The
 * connection may be freed as soon as the lock is released.
 */
static void req_done(NbdConn *conn, NbdReq *req, bool counted)
{
    bool keep;

    g_mutex_lock(&conn->lock);
    keep = conn->n_free_reqs < NBD_FREE_REQS_MAX &&
           req->cap <= NBD_KEEP_BUF_MAX;
    if (keep) {
        conn->free_reqs = g_slist_prepend(conn->free_reqs, req);
        conn->n_free_reqs++;
    }
    if (counted) {
        conn->inflight--;
        conn->inflight_bytes -= req->acct;
        /* GLib's broadcast is a futex syscall even with nobody waiting:
         * one per request, so only when the reader or the drain waits. */
        if (conn->waiters) {
            g_cond_broadcast(&conn->cond);
        }
    }
    g_mutex_unlock(&conn->lock);
    if (!keep) {
        req_free(req);
    }
}

/*
 * base:allocation for [offset, offset + len): up to NBD_MAX_EXTENTS
 * extents (one with REQ_ONE) from the node's block status, as
 * (length, flags) pairs in req->buf.  They may cover less than asked, as
 * the spec allows; a node without allocation information is all data.
 */
#define NBD_MAX_EXTENTS 128
#define NBD_STATE_HOLE 1
#define NBD_STATE_ZERO 2

static bool req_reserve(NbdReq *req, size_t len);

static int req_block_status(LbNode *node, NbdReq *req)
{
    unsigned max = (req->flags & NBD_CMD_FLAG_REQ_ONE) ? 1 : NBD_MAX_EXTENTS;
    uint64_t off = req->offset, end = req->offset + req->len;

    if (!req_reserve(req, 8 * NBD_MAX_EXTENTS)) {
        return -ENOMEM;
    }
    uint8_t *p = req->buf;
    req->n_extents = 0;
    while (off < end && req->n_extents < max) {
        uint64_t pnum = 0;
        int r = lb_node_block_status(node, off, end - off, &pnum);
        if (r < 0) {
            return r;
        }
        uint32_t flags = ((r & LB_BLOCK_HOLE) ? NBD_STATE_HOLE : 0) |
                         ((r & LB_BLOCK_ZERO) ? NBD_STATE_ZERO : 0);
        if (req->n_extents > 0 && get32(p - 4) == flags) {
            put32(p - 8, get32(p - 8) + (uint32_t)pnum); /* merge */
        } else {
            put32(p, (uint32_t)pnum);
            put32(p + 4, flags);
            p += 8;
            req->n_extents++;
        }
        off += pnum;
    }
    return 0;
}

static int req_execute(NbdConn *conn, NbdReq *req)
{
    LbExport *exp = conn->nexp->exp;
    unsigned wflags = 0;
    int r;

    if ((req->flags & NBD_CMD_FLAG_FUA) || exp->writethrough) {
        wflags |= LB_WRITE_FUA;
    }
    switch (req->type) {
    case NBD_CMD_READ:
        return lb_node_pread(exp->node, req->offset, req->buf, req->len);
    case NBD_CMD_WRITE:
        return lb_node_pwrite(exp->node, req->offset, req->buf, req->len,
                              wflags);
    case NBD_CMD_FLUSH:
        return lb_node_flush(exp->node);
    case NBD_CMD_TRIM:
        /* Trimming is advisory: a node that cannot discard did nothing. */
        r = lb_node_pdiscard(exp->node, req->offset, req->len);
        if (r == -ENOTSUP || r == -EOPNOTSUPP) {
            r = 0;
        }
        if (r == 0 && (wflags & LB_WRITE_FUA)) {
            r = lb_node_flush(exp->node);
        }
        return r;
    case NBD_CMD_WRITE_ZEROES:
        if (!(req->flags & NBD_CMD_FLAG_NO_HOLE)) {
            wflags |= LB_WRITE_MAY_UNMAP;
        }
        return lb_node_pwrite_zeroes(exp->node, req->offset, req->len,
                                     wflags);
    case NBD_CMD_BLOCK_STATUS:        /* the reply carries the answer */
        return req_block_status(exp->node, req);
    case NBD_CMD_CACHE:
        return 0;
    default:
        return -EINVAL;
    }
}

/* Run @req and reply; @batch as for conn_reply. */
static bool req_is_small(NbdReq *req)
{
    return (req->type == NBD_CMD_READ || req->type == NBD_CMD_WRITE) &&
           !(req->flags & NBD_CMD_FLAG_FUA) && req->len <= NBD_INLINE_MAX;
}

static void req_run(NbdReq *req, bool batch)
{
    NbdConn *conn = req->conn;
    bool small = req_is_small(req);
    gint64 t0 = small ? g_get_monotonic_time() : 0;

    int r = req_execute(conn, req);
    if (small) {
        /*
         * Moving average (1/8 weight) of the time small requests take,
         * updated from every thread; a lost update now and then is fine.
         */
        gint64 us = MIN(g_get_monotonic_time() - t0, 1000000);
        gint avg = g_atomic_int_get(&conn->small_us);
        g_atomic_int_set(&conn->small_us, avg + ((gint)us - avg) / 8);
    }
    conn_reply(conn, req, nbd_errno(r), batch);
    req_done(conn, req, true);
}

void nbd_conn_worker(gpointer data, gpointer user_data)
{
    req_run(data, false);
}

/*
 * Validate a request header.  Returns 0 if it may run, else the NBD error
 * to answer with (after consuming any write payload).
 */
static uint32_t req_check(NbdConn *conn, NbdReq *req, uint64_t size)
{
    LbExport *exp = conn->nexp->exp;
    bool is_write = req->type == NBD_CMD_WRITE ||
                    req->type == NBD_CMD_TRIM ||
                    req->type == NBD_CMD_WRITE_ZEROES;
    uint16_t known = NBD_CMD_FLAG_FUA;

    switch (req->type) {
    case NBD_CMD_READ:
        known |= NBD_CMD_FLAG_DF;
        break;
    case NBD_CMD_WRITE_ZEROES:
        known |= NBD_CMD_FLAG_NO_HOLE;
        break;
    case NBD_CMD_WRITE:
    case NBD_CMD_FLUSH:
    case NBD_CMD_TRIM:
    case NBD_CMD_CACHE:
        break;
    case NBD_CMD_BLOCK_STATUS:
        if (!conn->meta_alloc || req->len == 0) {
            return NBD_EINVAL;
        }
        known |= NBD_CMD_FLAG_REQ_ONE;
        break;
    default:
        return NBD_EINVAL;
    }
    if (req->flags & ~known) {
        return NBD_EINVAL;
    }
    if (is_write && !exp->writable) {
        return NBD_EPERM;
    }
    if (req->type == NBD_CMD_FLUSH) {
        return 0;
    }
    if ((req->type == NBD_CMD_READ || req->type == NBD_CMD_WRITE) &&
        req->len > NBD_MAX_BLOCK) {
        return NBD_EINVAL;
    }
    if (req->offset > size || req->len > size - req->offset) {
        return is_write ? NBD_ENOSPC : NBD_EINVAL;
    }
    if (req->type == NBD_CMD_BLOCK_STATUS) {
        return 0;                     /* any granularity will do */
    }
    if (req->offset % conn->min_block || req->len % conn->min_block) {
        return NBD_EINVAL;
    }
    return 0;
}

/* Wait until another request fits in the in-flight bounds, then count it. */
static void conn_throttle(NbdConn *conn, uint32_t len)
{
    g_mutex_lock(&conn->lock);
    while (conn->inflight >= NBD_MAX_INFLIGHT ||
           (conn->inflight > 0 &&
            conn->inflight_bytes + len > NBD_MAX_INFLIGHT_BYTES)) {
        conn->waiters++;
        g_cond_wait(&conn->cond, &conn->lock);
        conn->waiters--;
    }
    conn->inflight++;
    conn->inflight_bytes += len;
    g_mutex_unlock(&conn->lock);
}

/*
 * Small reads and writes run on the connection thread itself: handing a
 * 4 KiB request to another thread costs more (a wake-up and two context
 * switches) than doing it, even with decryption.  Large requests, flushes
 * and FUA writes, which wait for the disk, go to the pool so that the
 * connection keeps reading and several cores share the crypto.  So do
 * small requests while they turn out slow (a disk that is not in the page
 * cache, a network file system): the average time of small requests
 * decides, so requests on a slow disk still overlap.
 */
static bool req_run_inline(NbdReq *req)
{
    if (req->type == NBD_CMD_CACHE || req->type == NBD_CMD_BLOCK_STATUS) {
        return true;
    }
    return req_is_small(req) &&
           g_atomic_int_get(&req->conn->small_us) < NBD_INLINE_MAX_US;
}

/* Whether a whole request header is already buffered (no recv needed). */
static bool conn_more_requests(NbdConn *conn)
{
    return conn->ch.rlen - conn->ch.rpos >= NBD_REQUEST_SIZE;
}

/* The transmission phase; returns when the client is gone or said DISC. */
static void conn_transmit(NbdConn *conn)
{
    GThreadPool *pool = nbd_server_pool(conn->srv);
    int64_t size = lb_node_length(conn->nexp->exp->node);

    while (size >= 0) {
        uint8_t hdr[NBD_REQUEST_SIZE];
        if (!conn_more_requests(conn)) {
            conn_flush_replies(conn);     /* about to wait for the client */
        }
        if (nbd_chan_read(&conn->ch, hdr, sizeof(hdr)) < 0) {
            break;
        }
        uint32_t magic, len;
        uint16_t flags, type;
        uint64_t cookie, offset;
        memcpy(&magic, hdr, 4);
        memcpy(&flags, hdr + 4, 2);
        memcpy(&type, hdr + 6, 2);
        memcpy(&cookie, hdr + 8, 8);
        memcpy(&offset, hdr + 16, 8);
        memcpy(&len, hdr + 24, 4);
        if (GUINT32_FROM_BE(magic) != NBD_REQUEST_MAGIC) {
            break;
        }
        type = GUINT16_FROM_BE(type);
        if (type == NBD_CMD_DISC) {
            break;
        }
        NbdReq *req = req_get(conn);
        req->flags = GUINT16_FROM_BE(flags);
        req->type = type;
        req->cookie = cookie;         /* opaque: echoed as received */
        req->offset = GUINT64_FROM_BE(offset);
        req->len = GUINT32_FROM_BE(len);

        uint32_t err = req_check(conn, req, size);
        bool has_payload = type == NBD_CMD_WRITE;
        bool needs_buf = type == NBD_CMD_READ || type == NBD_CMD_WRITE;
        if (!err && needs_buf && !req_reserve(req, req->len)) {
            err = NBD_ENOMEM;
        }
        if (err) {
            /* A rejected write's payload still has to be read past. */
            if (has_payload && nbd_chan_skip(&conn->ch, req->len) < 0) {
                req_done(conn, req, false);
                break;
            }
            conn_reply(conn, req, err, false);
            req_done(conn, req, false);
            continue;
        }
        if (has_payload && nbd_chan_read(&conn->ch, req->buf, req->len) < 0) {
            req_done(conn, req, false);
            break;
        }
        /* The byte bound counts buffers, not the range of a TRIM. */
        req->acct = needs_buf ? req->len : 0;
        conn_throttle(conn, req->acct);
        if (req_run_inline(req)) {
            req_run(req, conn_more_requests(conn));
        } else {
            g_thread_pool_push(pool, req, NULL);
        }
    }
}

void nbd_conn_run(NbdConn *conn)
{
    bool ok = nbd_proto_negotiate(conn);
    nbd_server_handshake_done(conn->srv, conn);
    if (ok) {
        conn_transmit(conn);
        conn_flush_replies(conn);
    }
    /* Drain: every started request finishes before the connection ends. */
    g_mutex_lock(&conn->lock);
    conn->dead = true;
    while (conn->inflight > 0) {
        conn->waiters++;
        g_cond_wait(&conn->cond, &conn->lock);
        conn->waiters--;
    }
    g_mutex_unlock(&conn->lock);
    NbdExport *nexp = conn->nexp;
    if (nexp) {
        nbd_server_conn_set_export(conn->srv, conn, NULL);
        nbd_server_export_put(conn->srv, nexp);
    }
}
