/*
 * block/snapshot.c: the "snapshot" driver, a temporary overlay that keeps
 * every write away from the image below, as QEMU's snapshot=on (qemu-io
 * -s) does with a temporary qcow2 file:
 *
 *   snapshot  (read-write)  written chunks -> an unlinked temporary file
 *     └── file  (read-only) the image, never written
 *
 * Reads take each 64 KiB chunk from the overlay if it was written, else
 * from the image.  A write that covers part of a chunk first copies the
 * chunk up.  The image node is opened (or referenced) read-only, so even a
 * bug here cannot reach it: the file driver would refuse the write.
 * Everything is dropped when the node closes.  The length is the image's;
 * resizing, discard and zero writes beyond copy-up are not offered.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define SNAP_CHUNK ((uint64_t)64 * 1024)

typedef struct SnapState {
    LbNode *file;          /* owned by the node's children list */
    int fd;                /* the overlay, unlinked at open */
    uint64_t len;          /* fixed: the image's length at open */
    GMutex lock;           /* the bitmap and copy-up */
    guint8 *written;       /* one bit per chunk */
} SnapState;

static bool snap_open(LbNode *bs, LbOpts *opts, unsigned flags, GError **errp)
{
    SnapState *s = lb_node_opaque(bs);
    g_autofree char *path = NULL;

    s->fd = -1;
    g_mutex_init(&s->lock);
    /* The image below is read-only whatever the overlay's mode.  The core
     * refuses a read-only child under a writable parent (block.c); the
     * overlay is the parent for which that is the point, so it presents
     * itself as read-only while the child is attached. */
    bool ro = bs->read_only;
    bs->read_only = true;
    s->file = lb_node_open_child(bs, opts, "file", true,
                                 flags & ~LB_OPEN_RDWR, errp);
    bs->read_only = ro;
    if (!s->file) {
        return false;
    }
    if (lb_node_is_writable(s->file)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "the image below a snapshot must be read-only");
        return false;
    }
    int64_t len = lb_node_length(s->file);
    if (len < 0) {
        return lb_block_errno_to_error((int)len, errp,
                                       "Could not get the image size");
    }
    s->len = (uint64_t)len;
    s->fd = g_file_open_tmp("luksblk-snapshot-XXXXXX", &path, errp);
    if (s->fd < 0) {
        return false;
    }
    g_unlink(path);
    s->written = g_malloc0((s->len / SNAP_CHUNK + 8) / 8 + 1);
    lb_node_set_alignment(bs, lb_node_alignment(s->file));
    lb_node_set_filename(bs, lb_node_filename(s->file));
    return true;
}

static void snap_close(LbNode *bs)
{
    SnapState *s = lb_node_opaque(bs);

    if (s->fd >= 0) {
        close(s->fd);
    }
    g_free(s->written);
    g_mutex_clear(&s->lock);
}

static int64_t snap_length(LbNode *bs)
{
    SnapState *s = lb_node_opaque(bs);
    return (int64_t)s->len;
}

static bool chunk_written(SnapState *s, uint64_t c)
{
    return s->written[c / 8] & (1u << (c % 8));
}

static int overlay_io(SnapState *s, bool write, uint64_t off, void *buf,
                      size_t len)
{
    while (len > 0) {
        ssize_t n = write ? pwrite(s->fd, buf, len, (off_t)off)
                          : pread(s->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        if (n == 0) {          /* a hole at the end: written as zeros */
            memset(buf, 0, len);
            return 0;
        }
        buf = (guint8 *)buf + n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* A read of the image below, as part of this node's request. */
static int child_read(LbNode *file, uint64_t off, void *buf, size_t len)
{
    struct iovec iov = {buf, len};
    return lb_io_child(file, LB_REQ_READ, off, len, &iov, 1, 0);
}

/* Data path, any thread. */
static int snap_pread(LbNode *bs, uint64_t off, void *buf, size_t len)
{
    SnapState *s = lb_node_opaque(bs);
    guint8 *p = buf;
    int ret = 0;

    g_mutex_lock(&s->lock);
    while (len > 0 && ret == 0) {
        uint64_t c = off / SNAP_CHUNK;
        size_t n = MIN(len, (c + 1) * SNAP_CHUNK - off);
        ret = chunk_written(s, c) ? overlay_io(s, false, off, p, n)
                                  : child_read(s->file, off, p, n);
        off += n;
        p += n;
        len -= n;
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

/* Data path, any thread. */
static int snap_pwrite(LbNode *bs, uint64_t off, const void *buf, size_t len,
                       unsigned flags)
{
    SnapState *s = lb_node_opaque(bs);
    const guint8 *p = buf;
    g_autofree guint8 *chunk = NULL;
    int ret = 0;

    if (off > s->len || len > s->len - off) {
        return -EINVAL;
    }
    g_mutex_lock(&s->lock);
    while (len > 0 && ret == 0) {
        uint64_t c = off / SNAP_CHUNK, start = c * SNAP_CHUNK;
        size_t clen = (size_t)MIN(SNAP_CHUNK, s->len - start);
        size_t n = MIN(len, start + clen - off);
        if (!chunk_written(s, c) && n < clen) {
            /* Copy the chunk up before part of it is replaced. */
            if (!chunk) {
                chunk = g_malloc(SNAP_CHUNK);
            }
            ret = child_read(s->file, start, chunk, clen);
            if (ret == 0) {
                memcpy(chunk + (off - start), p, n);
                ret = overlay_io(s, true, start, chunk, clen);
            }
        } else {
            ret = overlay_io(s, true, off, (void *)p, n);
        }
        if (ret == 0) {
            s->written[c / 8] |= 1u << (c % 8);
        }
        off += n;
        p += n;
        len -= n;
    }
    g_mutex_unlock(&s->lock);
    return ret;
}

/* Scatter lists: one entry as is, more through a flat copy. */
static int snap_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                       int niov, size_t len, unsigned flags)
{
    if (niov == 1) {
        return snap_pread(bs, off, iov[0].iov_base, len);
    }
    g_autofree guint8 *flat = g_malloc(len);
    int ret = snap_pread(bs, off, flat, len);
    if (ret == 0) {
        lb_iov_from_buf(iov, niov, 0, flat, len);
    }
    return ret;
}

static int snap_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                        int niov, size_t len, unsigned flags)
{
    if (niov == 1) {
        return snap_pwrite(bs, off, iov[0].iov_base, len, flags);
    }
    g_autofree guint8 *flat = g_malloc(len);
    lb_iov_to_buf(iov, niov, 0, flat, len);
    return snap_pwrite(bs, off, flat, len, flags);
}

static int snap_flush(LbNode *bs)
{
    return 0;      /* nothing here outlives the node */
}

const LbBlockDriver lb_driver_snapshot = {
    .name = "snapshot",
    .state_size = sizeof(SnapState),
    /* control plane */
    .open = snap_open,
    .close = snap_close,
    /* data path */
    .length = snap_length,
    .preadv = snap_preadv,
    .pwritev = snap_pwritev,
    .flush = snap_flush,
};
