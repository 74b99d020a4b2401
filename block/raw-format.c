/*
 * raw-format.c: the "raw" format driver: a window (offset, size) onto its
 * "file" child, passed through unchanged.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <inttypes.h>

typedef struct RawState {
    LbNode *file; /* owned by the node's children list */
    uint64_t offset;
    uint64_t size;
    bool has_size;
} RawState;

static bool raw_open(LbNode *bs, LbOpts *opts, unsigned flags, GError **errp)
{
    RawState *s = lb_node_opaque(bs);

    if (!lb_opts_get_size(opts, "offset", 0, &s->offset, errp) ||
        !lb_opts_get_size(opts, "size", 0, &s->size, errp)) {
        return false;
    }
    s->has_size = lb_opts_has(opts, "size");
    s->file = lb_node_open_child(bs, opts, "file", true, flags, errp);
    if (!s->file) {
        return false;
    }
    int64_t len = lb_node_length(s->file);
    if (len < 0) {
        return lb_block_errno_to_error((int)len, errp,
                                       "Could not get the file size");
    }
    if (s->offset > (uint64_t)len) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Offset (%" PRIu64 ") cannot be greater than size of "
                    "the containing file (%" PRId64 ")",
                    s->offset, len);
        return false;
    }
    if (s->has_size && s->size > (uint64_t)len - s->offset) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "The sum of offset (%" PRIu64 ") and size (%" PRIu64
                    ") has to be smaller or equal to the actual size of the "
                    "containing file (%" PRId64 ")",
                    s->offset, s->size, len);
        return false;
    }
    lb_node_set_limits(bs, lb_node_limits(s->file));
    if (s->offset == 0 && !s->has_size) {
        lb_node_set_filename(bs, lb_node_filename(s->file));
    }
    return true;
}

static void raw_close(LbNode *bs)
{
}

static int64_t raw_length(LbNode *bs)
{
    RawState *s = lb_node_opaque(bs);

    if (s->has_size) {
        return (int64_t)s->size;
    }
    int64_t len = lb_node_length(s->file);
    if (len < 0) {
        return len;
    }
    return (uint64_t)len > s->offset ? len - (int64_t)s->offset : 0;
}

static int raw_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                      int niov, size_t len, unsigned flags)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child(s->file, LB_REQ_READ, s->offset + off, len, iov, niov,
                       flags);
}

static int raw_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                       int niov, size_t len, unsigned flags)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child(s->file, LB_REQ_WRITE, s->offset + off, len, iov, niov,
                       flags);
}

static int raw_pwrite_zeroes(LbNode *bs, uint64_t off, uint64_t len,
                             unsigned flags)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child(s->file, LB_REQ_WRITE_ZEROES, s->offset + off, len,
                       NULL, 0, flags);
}

static int raw_pdiscard(LbNode *bs, uint64_t off, uint64_t len)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child(s->file, LB_REQ_DISCARD, s->offset + off, len, NULL, 0,
                       0);
}

static int raw_flush(LbNode *bs)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child(s->file, LB_REQ_FLUSH, 0, 0, NULL, 0, 0);
}

/* The file child's allocation, through the window. */
static int raw_block_status(LbNode *bs, uint64_t off, uint64_t len,
                            uint64_t *pnum)
{
    RawState *s = lb_node_opaque(bs);
    return lb_io_child_block_status(s->file, s->offset + off, len, pnum);
}

static bool raw_truncate(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                         GError **errp)
{
    RawState *s = lb_node_opaque(bs);

    if (s->has_size || s->offset) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Cannot resize fixed-size raw disks");
        return false;
    }
    return lb_node_truncate(s->file, size, prealloc, errp);
}

static bool raw_create(const char *filename, uint64_t size, LbOpts *opts,
                       GError **errp)
{
    return lb_driver_file.create(filename, size, opts, errp);
}

const LbBlockDriver lb_driver_raw = {
    .name = "raw",
    .state_size = sizeof(RawState),
    /* control plane */
    .open = raw_open,
    .close = raw_close,
    .truncate = raw_truncate,
    .create = raw_create,
    /* data path */
    .length = raw_length,
    .preadv = raw_preadv,
    .pwritev = raw_pwritev,
    .pwrite_zeroes = raw_pwrite_zeroes,
    .pdiscard = raw_pdiscard,
    .flush = raw_flush,
    .block_status = raw_block_status,
};
