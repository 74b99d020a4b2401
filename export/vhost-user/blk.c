/*
 * blk.c: the vhost-user-blk export type: options (qemu-storage-daemon's
 * BlockExportOptionsVhostUserBlk: addr, logical-block-size, num-queues),
 * the virtio-blk device (features, config space, virtio 1.2 section 5.2)
 * and its requests: IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES.
 *
 * Request path:
 *   queue thread: vu_queue_pop() ─> vu_blk_handle(): check header, range
 *     and buffers ─> lb_node_submit() with LB_REQ_SHARED_BUF (guest RAM:
 *     a luks read decrypts through a private bounce buffer, so guest
 *     memory never holds ciphertext) or answer at once
 *   completion (any thread): status byte ─> used ring ─> call eventfd
 *
 * Sectors in requests are always 512 bytes (5.2.6), whatever blk_size
 * says; requests must be multiples of the logical block size and inside
 * the node, else VIRTIO_BLK_S_IOERR.  The disk starts write-through
 * (wce=0, as qemu-storage-daemon's): every write is FUA until the guest
 * switches the cache to write-back through the config space.
 */
#include "config.h"
#include "vu-priv.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "lb/export.h"

#define SECTOR 512u
/* Per-request limits advertised in the config space (as qsd's). */
#define VU_BLK_SEG_MAX (128 - 2)
#define VU_BLK_MAX_DWZ_SECTORS 32768
#define VU_BLK_MAX_QUEUES_DEFAULT 1

struct VuBlkReq {
    VuQueue *vq;
    LbRequest io;                     /* to the node: iovecs in guest RAM */
    uint32_t in_len;                  /* data bytes written to the guest */
    VuElem elem;
};

typedef struct VuBlkExport {
    VuServer srv;
    VuDev dev;
    char *unix_path;
} VuBlkExport;

/* ---- requests ----------------------------------------------------------- */

VuElem *vu_blk_req_elem(VuBlkReq *req)
{
    return &req->elem;
}

/* Caller holds vq->lock. */
VuBlkReq *vu_blk_req_get(VuQueue *vq)
{
    if (!vq->free_reqs) {
        vq->free_reqs = g_new0(VuBlkReq *, vq->num);
    }
    if (vq->n_free > 0) {
        return vq->free_reqs[--vq->n_free];
    }
    if (vq->n_alloc >= vq->num) {
        return NULL;
    }
    VuBlkReq *req = g_new0(VuBlkReq, 1);
    req->vq = vq;
    vq->n_alloc++;
    return req;
}

/* The queue is stopped: every request is back in the pool. */
void vu_blk_req_pool_free(VuQueue *vq)
{
    g_assert(vq->n_free == vq->n_alloc);
    for (unsigned i = 0; i < vq->n_free; i++) {
        g_free(vq->free_reqs[i]);
    }
    g_clear_pointer(&vq->free_reqs, g_free);
    vq->n_free = vq->n_alloc = 0;
}

static void req_complete(VuBlkReq *req, uint8_t status)
{
    VuQueue *vq = req->vq;
    uint32_t len = 0;

    if (req->elem.status) {
        __atomic_store_n(req->elem.status, status, __ATOMIC_RELAXED);
        len = (status == VIRTIO_BLK_S_OK ? req->in_len : 0) + 1;
    }
    g_mutex_lock(&vq->lock);
    vu_queue_push_locked(vq, req->elem.head, len);
    vq->free_reqs[vq->n_free++] = req;
    vq->in_flight--;
    bool wake = vq->want_slot;
    vq->want_slot = false;
    if (vq->paused || vq->quit) {
        g_cond_broadcast(&vq->cond);
    }
    g_mutex_unlock(&vq->lock);
    if (wake) {
        eventfd_write(vq->wake_fd, 1);
    }
}

/* Any thread: an I/O worker, or the submitting queue thread. */
static void req_io_done(LbRequest *io, int ret)
{
    req_complete(io->opaque, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

/* Copy @len bytes from the start of @iov[0..@n) to @buf; false if short. */
static bool iov_gather(const struct iovec *iov, unsigned n, void *buf,
                       size_t len)
{
    uint8_t *p = buf;

    for (unsigned i = 0; i < n && len > 0; i++) {
        size_t c = MIN(len, iov[i].iov_len);
        memcpy(p, iov[i].iov_base, c);
        p += c;
        len -= c;
    }
    return len == 0;
}

/* Drop @len bytes from the front of @iov[0..*@n) (in place). */
static struct iovec *iov_skip(struct iovec *iov, unsigned *n, size_t len)
{
    while (*n > 0 && len >= iov->iov_len) {
        len -= iov->iov_len;
        iov++;
        (*n)--;
    }
    if (*n > 0) {
        iov->iov_base = (uint8_t *)iov->iov_base + len;
        iov->iov_len -= len;
    }
    return iov;
}

static uint64_t iov_bytes(const struct iovec *iov, unsigned n)
{
    uint64_t s = 0;

    for (unsigned i = 0; i < n; i++) {
        s += iov[i].iov_len;
    }
    return s;
}

/* [@sector, + @bytes) lies in the disk and is aligned to blk_size. */
static bool range_ok(VuDev *dev, uint64_t sector, uint64_t bytes)
{
    uint64_t blk_sectors = dev->blk_size / SECTOR;

    return sector % blk_sectors == 0 && bytes % dev->blk_size == 0 &&
           sector <= dev->length / SECTOR &&
           bytes <= dev->length - sector * SECTOR;
}

static bool dev_wce(VuDev *dev)
{
    return __atomic_load_n(&dev->cfg.wce, __ATOMIC_RELAXED);
}

/* DISCARD and WRITE_ZEROES: one segment (max_*_seg is 1). */
static uint8_t req_dwz(VuBlkReq *req, uint32_t type, struct iovec *data,
                       unsigned n)
{
    VuDev *dev = req->vq->dev;
    VirtioBlkDwz seg;

    if (iov_bytes(data, n) != sizeof(seg) ||
        !iov_gather(data, n, &seg, sizeof(seg))) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    uint32_t allowed = type == VIRTIO_BLK_T_WRITE_ZEROES
                           ? VIRTIO_BLK_WZ_F_UNMAP : 0;
    if (seg.flags & ~allowed) {
        return VIRTIO_BLK_S_UNSUPP;
    }
    uint64_t bytes = (uint64_t)seg.num_sectors * SECTOR;
    if (!dev->writable || seg.num_sectors > VU_BLK_MAX_DWZ_SECTORS ||
        !range_ok(dev, seg.sector, bytes)) {
        return VIRTIO_BLK_S_IOERR;
    }
    req->io.offset = seg.sector * SECTOR;
    req->io.len = bytes;
    if (type == VIRTIO_BLK_T_DISCARD) {
        req->io.op = LB_REQ_DISCARD;
        req->io.flags = 0;
    } else {
        req->io.op = LB_REQ_WRITE_ZEROES;
        req->io.flags = (seg.flags & VIRTIO_BLK_WZ_F_UNMAP
                             ? LB_REQ_MAY_UNMAP : 0) |
                        (dev_wce(dev) ? 0 : LB_REQ_FUA);
    }
    return 0xff;                      /* submit */
}

/* Check and set up @req; returns a status, or 0xff to submit req->io. */
static uint8_t req_prepare(VuBlkReq *req)
{
    VuDev *dev = req->vq->dev;
    VuElem *e = &req->elem;
    VirtioBlkOutHdr h;

    if (e->bad || !e->status ||
        !iov_gather(e->iov, e->n_out, &h, sizeof(h))) {
        return VIRTIO_BLK_S_IOERR;
    }
    /* Data buffers: readable after the header, writable before status. */
    unsigned n_out = e->n_out, n_in = e->n_in;
    struct iovec *out = iov_skip(e->iov, &n_out, sizeof(h));
    struct iovec *in = e->iov + e->n_out;
    in[n_in - 1].iov_len--;
    if (in[n_in - 1].iov_len == 0) {
        n_in--;
    }
    req->io.cb = req_io_done;
    req->io.opaque = req;
    req->io.iov = NULL;
    req->io.niov = 0;
    req->io.len = 0;

    switch (h.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT: {
        bool write = h.type == VIRTIO_BLK_T_OUT;
        struct iovec *data = write ? out : in;
        unsigned n = write ? n_out : n_in;
        uint64_t bytes = iov_bytes(data, n);
        if ((write && (!dev->writable || n_in > 0)) ||
            !range_ok(dev, h.sector, bytes)) {
            return VIRTIO_BLK_S_IOERR;
        }
        req->io.op = write ? LB_REQ_WRITE : LB_REQ_READ;
        /*
         * Guest RAM: the layers below must never leave ciphertext (or
         * any intermediate data) in it, and read it only once.
         */
        req->io.flags = LB_REQ_SHARED_BUF |
                        (write && !dev_wce(dev) ? LB_REQ_FUA : 0);
        req->io.offset = h.sector * SECTOR;
        req->io.iov = data;
        req->io.niov = n;
        req->in_len = write ? 0 : bytes;
        return 0xff;
    }
    case VIRTIO_BLK_T_FLUSH:
        req->io.op = LB_REQ_FLUSH;
        req->io.flags = 0;
        return 0xff;
    case VIRTIO_BLK_T_GET_ID: {
        /* The export id: up to 20 bytes, NUL-padded when shorter. */
        char id[VIRTIO_BLK_ID_BYTES] = {0};
        size_t len = MIN(sizeof(id), iov_bytes(in, n_in));
        memcpy(id, dev->exp->id, MIN(strlen(dev->exp->id), sizeof(id)));
        size_t done = 0;
        for (unsigned i = 0; i < n_in && done < len; i++) {
            size_t c = MIN(len - done, in[i].iov_len);
            memcpy(in[i].iov_base, id + done, c);
            done += c;
        }
        req->in_len = len;
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return req_dwz(req, h.type, out, n_out);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

/*
 * The request alone on its queue (nothing else in flight or waiting):
 * run it on the queue thread, which saves the hand-over to an I/O worker
 * and back (a third of the CPU per 4 KiB request here).  With more
 * requests around, lb_node_submit() keeps many in flight.
 */
static int req_run_inline(VuBlkReq *req)
{
    LbNode *node = req->vq->dev->exp->node;
    LbRequest *io = &req->io;

    switch (io->op) {
    case LB_REQ_READ:
        return lb_node_preadv(node, io->offset, io->iov, io->niov, io->flags);
    case LB_REQ_WRITE:
        return lb_node_pwritev(node, io->offset, io->iov, io->niov,
                               io->flags);
    case LB_REQ_FLUSH:
        return lb_node_flush(node);
    default:
        return 1;
    }
}

void vu_blk_handle(VuQueue *vq, VuBlkReq *req, bool alone)
{
    req->in_len = 0;
    uint8_t st = req_prepare(req);

    if (st == 0xff && alone) {
        int r = req_run_inline(req);
        if (r <= 0) {
            req_io_done(&req->io, r);
            return;
        }
    }
    if (st == 0xff) {
        lb_node_submit(vq->dev->exp->node, &req->io);
    } else {
        req_complete(req, st);
    }
}

/* ---- the device ---------------------------------------------------------- */

uint64_t vu_blk_features(VuDev *dev)
{
    uint64_t f = 1ull << VIRTIO_BLK_F_SIZE_MAX | 1ull << VIRTIO_BLK_F_SEG_MAX |
                 1ull << VIRTIO_BLK_F_TOPOLOGY | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_DISCARD |
                 1ull << VIRTIO_BLK_F_WRITE_ZEROES |
                 1ull << VIRTIO_BLK_F_CONFIG_WCE | 1ull << VIRTIO_BLK_F_MQ |
                 1ull << VIRTIO_F_VERSION_1 |
                 1ull << VIRTIO_RING_F_INDIRECT_DESC |
                 1ull << VIRTIO_RING_F_EVENT_IDX |
                 1ull << VU_F_PROTOCOL_FEATURES;

    if (!dev->writable) {
        f |= 1ull << VIRTIO_BLK_F_RO;
    }
    return f;
}

void vu_blk_get_config(VuDev *dev, VuConfigMsg *c)
{
    uint8_t all[VU_MAX_CONFIG_SIZE] = {0};

    g_mutex_lock(&dev->cfg_lock);
    memcpy(all, &dev->cfg, sizeof(dev->cfg));
    g_mutex_unlock(&dev->cfg_lock);
    memcpy(c->data, all + c->offset, c->size);
}

/* Only wce is writable (virtio 1.2, 5.2.5: VIRTIO_BLK_F_CONFIG_WCE). */
bool vu_blk_set_config(VuDev *dev, const VuConfigMsg *c)
{
    if (c->flags != 0 || c->offset != G_STRUCT_OFFSET(VirtioBlkConfig, wce) ||
        c->size != 1 || c->data[0] > 1) {
        return false;
    }
    g_mutex_lock(&dev->cfg_lock);
    __atomic_store_n(&dev->cfg.wce, c->data[0], __ATOMIC_RELAXED);
    g_mutex_unlock(&dev->cfg_lock);
    return true;
}

static void config_init(VuDev *dev, uint16_t nq)
{
    VirtioBlkConfig *c = &dev->cfg;
    unsigned align = MAX(lb_node_alignment(dev->exp->node), 1);
    unsigned exp = 0;

    while ((dev->blk_size << exp) < align && exp < 16) {
        exp++;
    }
    memset(c, 0, sizeof(*c));
    c->capacity = dev->length / SECTOR;
    c->size_max = 0;
    c->seg_max = VU_BLK_SEG_MAX;
    c->blk_size = dev->blk_size;
    /* A LUKS sector larger than the block: tell the guest to align. */
    c->physical_block_exp = exp;
    c->min_io_size = 1;
    c->opt_io_size = 1;
    c->wce = 0;
    c->num_queues = nq;
    c->max_discard_sectors = VU_BLK_MAX_DWZ_SECTORS;
    c->max_discard_seg = 1;
    c->discard_sector_alignment = dev->blk_size / SECTOR;
    c->max_write_zeroes_sectors = VU_BLK_MAX_DWZ_SECTORS;
    c->max_write_zeroes_seg = 1;
    c->write_zeroes_may_unmap = 1;
}

/* ---- the export type ---------------------------------------------------- */

/*
 * A drained section on the node: stop taking requests off the rings (the
 * block layer would hold them at its gate anyway) and take them again
 * when it ends.  Requests already submitted finish; the drain waits for
 * them.  Main loop; never blocks.
 */
static void vu_blk_quiesce(void *opaque, bool quiesce)
{
    VuBlkExport *ve = opaque;

    g_atomic_int_set(&ve->dev.quiesced, quiesce);
    if (!quiesce) {
        for (unsigned i = 0; i < ve->dev.nq; i++) {
            eventfd_write(ve->dev.qs[i].wake_fd, 1);
        }
    }
}

static bool parse_args(LbOpts *args, uint64_t *blk_size, uint64_t *nq,
                       GError **errp)
{
    if (!lb_opts_get_size(args, "logical-block-size", SECTOR, blk_size,
                          errp) ||
        !lb_opts_get_uint(args, "num-queues", VU_BLK_MAX_QUEUES_DEFAULT, nq,
                          errp)) {
        return false;
    }
    if (*nq > G_MAXUINT16) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'num-queues' expects uint16_t");
        return false;
    }
    if (*nq == 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "num-queues must be greater than 0");
        return false;
    }
    if (*blk_size < 512 || *blk_size > 2 * 1024 * 1024 ||
        (*blk_size & (*blk_size - 1))) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "parameter logical-block-size must be a power of 2 "
                    "between 512 and 2097152");
        return false;
    }
    return true;
}

static bool vu_blk_create(LbExport *exp, LbOpts *args, GError **errp)
{
    uint64_t blk_size, nq;

    if (!parse_args(args, &blk_size, &nq, errp)) {
        return false;
    }
    int64_t len = lb_node_length(exp->node);
    if (len < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "cannot get the length of node '%s': %s", exp->node_name,
                    g_strerror((int)-len));
        return false;
    }
    LbOpts *addr = lb_opts_get_child(args, "addr");
    lb_opts_mark_used(args, "addr");
    int fd = -1;
    char *path = NULL;
    if (!vu_listen(addr, &fd, &path, errp)) {
        return false;
    }
    VuBlkExport *ve = g_new0(VuBlkExport, 1);
    ve->unix_path = path;
    ve->dev.exp = exp;
    ve->dev.nq = nq;
    ve->dev.qs = g_new0(VuQueue, nq);
    ve->dev.writable = exp->writable;
    ve->dev.blk_size = blk_size;
    ve->dev.length = (uint64_t)len / blk_size * blk_size;
    g_mutex_init(&ve->dev.cfg_lock);
    config_init(&ve->dev, nq);
    ve->srv.exp = exp;
    ve->srv.dev = &ve->dev;
    ve->srv.listen_fd = fd;
    if (!vu_server_start(&ve->srv, errp)) {
        vu_unlisten(fd, path);
        g_free(ve->dev.qs);
        g_free(ve);
        return false;
    }
    exp->impl = ve;
    lb_node_add_quiesce_cb(exp->node, vu_blk_quiesce, ve);
    return true;
}

static void vu_blk_destroy(LbExport *exp, bool hard)
{
    VuBlkExport *ve = exp->impl;

    if (!ve) {
        return;
    }
    lb_node_remove_quiesce_cb(exp->node, vu_blk_quiesce, ve);
    vu_server_stop(&ve->srv);
    vu_unlisten(ve->srv.listen_fd, ve->unix_path);
    g_mutex_clear(&ve->dev.cfg_lock);
    g_free(ve->dev.qs);
    g_free(ve);
    exp->impl = NULL;
}

static unsigned vu_blk_n_clients(LbExport *exp)
{
    VuBlkExport *ve = exp->impl;

    return ve && g_atomic_int_get(&ve->srv.connected) ? 1 : 0;
}

const LbExportOps lb_export_vhost_user_blk_ops = {
    .type = "vhost-user-blk",
    .create = vu_blk_create,
    .destroy = vu_blk_destroy,
    .n_clients = vu_blk_n_clients,
};
