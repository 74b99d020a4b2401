/*
 * io.c: the data path's one choke point: every request to a node passes
 * here, where it is checked (state, mode, range: beyond the end is -EIO,
 * as QEMU's block layer does), counted in flight, held at the gate of a
 * drained section, range-locked, aligned and split, and only then given to
 * the driver.  Threading model: see include/lb/block-io.h.
 *
 * Per node, one 64-bit word (LbNodeIo.state) holds the number of requests
 * in flight and two counters that send requests to the slow path: drained
 * sections and exclusive range locks.  A request's admission is one atomic
 * add; when it sees neither counter set, it proceeds holding an implicit
 * shared range lock ("fast holder") and its completion is one atomic
 * subtract: no mutex, no futex on the uncontended path.
 *
 *   request ──add 1──> state has QUIESCE? ──yes──> sub 1, wait for drained_end
 *                        │ no (or PARENT / RANGE_LOCKED: they pass the gate)
 *                        ├─ EXCL clear, shared: fast holder ──> driver
 *                        └─ else: entry in the node's range list, wait for
 *                           the earlier conflicting entries ──> driver
 *
 * The range list is first come, first served: an entry waits for earlier
 * overlapping entries it conflicts with (either side exclusive), and an
 * exclusive entry also waits until no fast holder is left (fast holders do
 * not say which range they hold).  A read-modify-write of the partial
 * sectors of an unaligned write is exclusive on its sectors; aligned reads
 * and writes are shared, so they never serialise among themselves.
 *
 * Nodes with an alignment above 1 (luks: its sector size) take requests of
 * any offset and length: unaligned parts go through a stack buffer of one
 * sector.  Reads and writes larger than the node's max_transfer are split.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <string.h>
#include "lb/thread.h"

#define MAX_ALIGN 4096u
#define ZERO_CHUNK (256u * 1024u)
#define SLICE_STACK 8
#define IO_WORKERS_MAX 16

#define IO_INFLIGHT_MASK 0xffffffffull
#define IO_QUIESCE_ONE (1ull << 32)
#define IO_QUIESCE_MASK (0xffffull << 32)
#define IO_EXCL_ONE (1ull << 48)
#define IO_EXCL_MASK (0xffffull << 48)
#define IO_SLOW_MASK (IO_QUIESCE_MASK | IO_EXCL_MASK)

/* Flags that stay in block/io.c; drivers never see them. */
#define IO_PRIVATE_FLAGS (LB_REQ_PARENT | LB_REQ_RANGE_LOCKED)
#define IO_BYPASS_GATE (LB_REQ_PARENT | LB_REQ_RANGE_LOCKED)

static const guint8 zero_buf[ZERO_CHUNK];

struct LbRangeLock {
    LbNode *bs;
    LbRangeEntry e;
};

/* ---- per-node state ------------------------------------------------------ */

void lb_io_node_init(LbNode *bs)
{
    g_mutex_init(&bs->io.lock);
    g_cond_init(&bs->io.cond);
    bs->io.hooks = g_array_new(FALSE, FALSE, sizeof(LbQuiesceHook));
    bs->limits.request_alignment = 1;
}

void lb_io_node_cleanup(LbNode *bs)
{
    g_assert((bs->io.state & IO_INFLIGHT_MASK) == 0);
    g_assert(!bs->io.held && !bs->io.head);
    g_mutex_clear(&bs->io.lock);
    g_cond_clear(&bs->io.cond);
    g_array_unref(bs->io.hooks);
}

void lb_node_set_limits(LbNode *bs, const LbBlockLimits *limits)
{
    bs->limits = *limits;
    lb_node_set_alignment(bs, limits->request_alignment);
}

const LbBlockLimits *lb_node_limits(LbNode *bs)
{
    return &bs->limits;
}

/* Wake the node's waiters; under io.lock. */
static void io_wake_locked(LbNodeIo *io)
{
    /* A broadcast costs a futex syscall even when nobody waits. */
    if (io->waiters) {
        g_cond_broadcast(&io->cond);
    }
}

static void io_wait_locked(LbNodeIo *io)
{
    io->waiters++;
    g_cond_wait(&io->cond, &io->lock);
    io->waiters--;
}

/* ---- admission: in-flight count and the drained-section gate ------------- */

typedef enum {
    ADMIT_FAST, /* in flight, implicit shared range lock */
    ADMIT_SLOW, /* in flight; a range lock needs an entry */
    ADMIT_HELD, /* not admitted: @hold was queued for drained_end */
} Admit;

/*
 * Count a request in flight at @bs.  In a drained section an outside
 * request waits for its end, or, given @hold (async submit), is queued.
 */
static Admit io_admit(LbNode *bs, unsigned flags, LbRequest *hold)
{
    LbNodeIo *io = &bs->io;

    for (;;) {
        guint64 old = __atomic_fetch_add(&io->state, 1, __ATOMIC_SEQ_CST);
        if (!(old & IO_SLOW_MASK)) {
            return ADMIT_FAST;
        }
        if (!(old & IO_QUIESCE_MASK) || (flags & IO_BYPASS_GATE)) {
            return (old & IO_EXCL_MASK) ? ADMIT_SLOW : ADMIT_FAST;
        }
        g_mutex_lock(&io->lock);
        __atomic_fetch_sub(&io->state, 1, __ATOMIC_SEQ_CST);
        io_wake_locked(io); /* a drainer may wait for this count */
        if (hold && io->quiesce) {
            hold->next = NULL;
            if (io->held_tail) {
                io->held_tail->next = hold;
            } else {
                io->held = hold;
            }
            io->held_tail = hold;
            g_mutex_unlock(&io->lock);
            return ADMIT_HELD;
        }
        while (io->quiesce) {
            io_wait_locked(io);
        }
        g_mutex_unlock(&io->lock);
    }
}

/* The end of a request admitted without a range entry. */
static void io_leave(LbNode *bs)
{
    LbNodeIo *io = &bs->io;
    guint64 old = __atomic_fetch_sub(&io->state, 1, __ATOMIC_SEQ_CST);

    g_assert(old & IO_INFLIGHT_MASK);
    if (old & IO_SLOW_MASK) {
        g_mutex_lock(&io->lock);
        io_wake_locked(io);
        g_mutex_unlock(&io->lock);
    }
}

/* ---- range locks ---------------------------------------------------------- */

static bool range_conflict(const LbRangeEntry *a, const LbRangeEntry *b)
{
    return (a->excl || b->excl) && a->start < b->end && b->start < a->end;
}

/* Whether @e may go: under io.lock. */
static bool range_ready(LbNodeIo *io, const LbRangeEntry *e)
{
    if (e->excl) {
        guint64 inflight =
            __atomic_load_n(&io->state, __ATOMIC_SEQ_CST) & IO_INFLIGHT_MASK;
        if (inflight > io->n_entries) {
            return false; /* fast holders left */
        }
    }
    for (const LbRangeEntry *p = e->prev; p; p = p->prev) {
        if (range_conflict(p, e)) {
            return false;
        }
    }
    return true;
}

/* Queue @e (already counted in flight) and wait until it holds its range. */
static void range_acquire(LbNode *bs, LbRangeEntry *e)
{
    LbNodeIo *io = &bs->io;

    g_mutex_lock(&io->lock);
    if (e->excl) {
        __atomic_fetch_add(&io->state, IO_EXCL_ONE, __ATOMIC_SEQ_CST);
    }
    e->next = NULL;
    e->prev = io->tail;
    if (io->tail) {
        io->tail->next = e;
    } else {
        io->head = e;
    }
    io->tail = e;
    io->n_entries++;
    io_wake_locked(io); /* exclusive waiters count fast holders */
    while (!range_ready(io, e)) {
        io_wait_locked(io);
    }
    g_mutex_unlock(&io->lock);
}

/* Drop @e and its in-flight count. */
static void range_release(LbNode *bs, LbRangeEntry *e)
{
    LbNodeIo *io = &bs->io;

    g_mutex_lock(&io->lock);
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        io->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        io->tail = e->prev;
    }
    io->n_entries--;
    __atomic_fetch_sub(&io->state, 1 + (e->excl ? IO_EXCL_ONE : 0),
                       __ATOMIC_SEQ_CST);
    io_wake_locked(io);
    g_mutex_unlock(&io->lock);
}

LbRangeLock *lb_node_range_lock(LbNode *bs, uint64_t off, uint64_t len,
                                bool exclusive)
{
    LbRangeLock *lock = g_new0(LbRangeLock, 1);

    LB_ASSERT_CONTEXT(LB_CTX_MAIN | LB_CTX_JOB);
    g_assert(bs->state == LB_NODE_OPEN);
    g_assert(len > 0 && off + len > off);
    lock->bs = lb_node_ref(bs);
    lock->e.start = off;
    lock->e.end = off + len;
    lock->e.excl = exclusive;
    io_admit(bs, 0, NULL);
    range_acquire(bs, &lock->e);
    return lock;
}

void lb_node_range_unlock(LbRangeLock *lock)
{
    if (lock) {
        range_release(lock->bs, &lock->e);
        lb_node_unref(lock->bs);
        g_free(lock);
    }
}

/* ---- drained sections ----------------------------------------------------- */

static void run_hooks(LbNode *bs, bool quiesce)
{
    g_mutex_lock(&bs->io.lock);
    g_autoptr(GArray) hooks = g_array_copy(bs->io.hooks);
    g_mutex_unlock(&bs->io.lock);
    for (guint i = 0; i < hooks->len; i++) {
        LbQuiesceHook *h = &g_array_index(hooks, LbQuiesceHook, i);
        h->cb(h->opaque, quiesce);
    }
}

void lb_node_add_quiesce_cb(LbNode *bs, LbQuiesceCb cb, void *opaque)
{
    LbQuiesceHook h = {cb, opaque};

    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&bs->io.lock);
    g_array_append_val(bs->io.hooks, h);
    g_mutex_unlock(&bs->io.lock);
}

void lb_node_remove_quiesce_cb(LbNode *bs, LbQuiesceCb cb, void *opaque)
{
    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&bs->io.lock);
    for (guint i = 0; i < bs->io.hooks->len; i++) {
        LbQuiesceHook *h = &g_array_index(bs->io.hooks, LbQuiesceHook, i);
        if (h->cb == cb && h->opaque == opaque) {
            g_array_remove_index(bs->io.hooks, i);
            break;
        }
    }
    g_mutex_unlock(&bs->io.lock);
}

/* (transfer full) @bs and every node above it, each referenced once. */
static GPtrArray *drain_set(LbNode *bs)
{
    GPtrArray *set = g_ptr_array_new_with_free_func(
        (GDestroyNotify)lb_node_unref);

    g_ptr_array_add(set, lb_node_ref(bs));
    for (guint i = 0; i < set->len; i++) {
        g_autoptr(GPtrArray) parents = lb_node_parents(set->pdata[i]);
        for (guint j = 0; j < parents->len; j++) {
            LbNode *p = parents->pdata[j];
            if (!g_ptr_array_find(set, p, NULL)) {
                g_ptr_array_add(set, lb_node_ref(p));
            }
        }
    }
    return set;
}

void lb_node_drained_begin(LbNode *bs)
{
    LB_ASSERT_CONTEXT(LB_CTX_MAIN | LB_CTX_JOB);
    g_autoptr(GPtrArray) set = drain_set(bs);

    for (guint i = 0; i < set->len; i++) {
        LbNodeIo *io = &((LbNode *)set->pdata[i])->io;
        g_mutex_lock(&io->lock);
        io->quiesce++;
        __atomic_fetch_add(&io->state, IO_QUIESCE_ONE, __ATOMIC_SEQ_CST);
        g_mutex_unlock(&io->lock);
        run_hooks(set->pdata[i], true);
    }
    for (guint i = 0; i < set->len; i++) {
        LbNodeIo *io = &((LbNode *)set->pdata[i])->io;
        g_mutex_lock(&io->lock);
        while (__atomic_load_n(&io->state, __ATOMIC_SEQ_CST) &
               IO_INFLIGHT_MASK) {
            io_wait_locked(io);
        }
        g_mutex_unlock(&io->lock);
    }
}

static void io_resubmit(LbRequest *held)
{
    while (held) {
        LbRequest *next = held->next;
        lb_node_submit(held->bs, held);
        held = next;
    }
}

void lb_node_drained_end(LbNode *bs)
{
    LB_ASSERT_CONTEXT(LB_CTX_MAIN | LB_CTX_JOB);
    g_autoptr(GPtrArray) set = drain_set(bs);

    for (guint i = 0; i < set->len; i++) {
        LbNode *n = set->pdata[i];
        LbNodeIo *io = &n->io;
        LbRequest *held = NULL;
        g_mutex_lock(&io->lock);
        g_assert(io->quiesce > 0);
        io->quiesce--;
        __atomic_fetch_sub(&io->state, IO_QUIESCE_ONE, __ATOMIC_SEQ_CST);
        if (io->quiesce == 0) {
            held = io->held;
            io->held = io->held_tail = NULL;
        }
        io_wake_locked(io);
        g_mutex_unlock(&io->lock);
        run_hooks(n, false);
        io_resubmit(held);
    }
}

bool lb_node_is_drained(LbNode *bs)
{
    return (__atomic_load_n(&bs->io.state, __ATOMIC_SEQ_CST) &
            IO_QUIESCE_MASK) != 0;
}

/* ---- driver calls ---------------------------------------------------------- */

/* An iovec slice, on the stack when short. */
typedef struct Slice {
    struct iovec stack[SLICE_STACK];
    struct iovec *v;
    int n;
} Slice;

static void slice_init(Slice *s, const struct iovec *iov, int niov,
                       size_t off, size_t len)
{
    s->v = s->stack;
    s->n = lb_iov_slice(s->stack, SLICE_STACK, iov, niov, off, len);
    if (s->n < 0) {
        int count = lb_iov_slice_count(iov, niov, off, len);
        s->v = g_new(struct iovec, count);
        s->n = lb_iov_slice(s->v, count, iov, niov, off, len);
    }
}

static void slice_clear(Slice *s)
{
    if (s->v != s->stack) {
        g_free(s->v);
    }
}

typedef struct SyncWait {
    GMutex lock;
    GCond cond;
    bool done;
    int ret;
} SyncWait;

static void sync_wait_cb(LbRequest *req, int ret)
{
    SyncWait *w = req->opaque;

    g_mutex_lock(&w->lock);
    w->ret = ret;
    w->done = true;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
}

/* A synchronous call to an async-only driver: submit and wait. */
static int drv_submit_wait(LbNode *bs, LbReqOp op, uint64_t off,
                           uint64_t len, const struct iovec *iov, int niov,
                           unsigned flags)
{
    SyncWait w = {.done = false};
    LbRequest req = {
        .op = op, .flags = flags, .offset = off, .len = len,
        .iov = iov, .niov = niov, .cb = sync_wait_cb, .opaque = &w,
        .bs = bs,
    };

    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    bs->drv->submit(bs, &req);
    g_mutex_lock(&w.lock);
    while (!w.done) {
        g_cond_wait(&w.cond, &w.lock);
    }
    g_mutex_unlock(&w.lock);
    g_mutex_clear(&w.lock);
    g_cond_clear(&w.cond);
    return w.ret;
}

void (*lb_io_read_hook)(LbNode *bs, const struct iovec *iov, int niov);

static int drv_rw(LbNode *bs, bool write, uint64_t off,
                  const struct iovec *iov, int niov, size_t len,
                  unsigned flags)
{
    int r;

    if (write) {
        return bs->drv->pwritev
                   ? bs->drv->pwritev(bs, off, iov, niov, len, flags)
                   : drv_submit_wait(bs, LB_REQ_WRITE, off, len, iov, niov,
                                     flags);
    }
    r = bs->drv->preadv ? bs->drv->preadv(bs, off, iov, niov, len, flags)
                        : drv_submit_wait(bs, LB_REQ_READ, off, len, iov,
                                          niov, flags);
    if (G_UNLIKELY(lb_io_read_hook) && r == 0) {
        lb_io_read_hook(bs, iov, niov);
    }
    return r;
}

/* An aligned read or write, split at max_transfer. */
static int drv_rw_split(LbNode *bs, bool write, uint64_t off,
                        const struct iovec *iov, int niov, size_t len,
                        unsigned flags)
{
    uint64_t max = bs->limits.max_transfer;

    if (!max || len <= max) {
        return drv_rw(bs, write, off, iov, niov, len, flags);
    }
    max -= max % bs->alignment;
    g_assert(max > 0);
    for (size_t pos = 0; pos < len;) {
        size_t n = MIN(max, len - pos);
        Slice s;
        slice_init(&s, iov, niov, pos, n);
        int r = drv_rw(bs, write, off + pos, s.v, s.n, n, flags);
        slice_clear(&s);
        if (r < 0) {
            return r;
        }
        pos += n;
    }
    return 0;
}

static bool is_unaligned(LbNode *bs, uint64_t off, uint64_t len)
{
    unsigned a = bs->alignment;
    return a > 1 && ((off % a) || (len % a));
}

/*
 * A read or write of any alignment: whole sectors straight through, the
 * partial ones through a sector on the stack (read-modify-write for
 * writes; the caller holds the sectors exclusively).
 */
static int io_rw(LbNode *bs, bool write, uint64_t off, const struct iovec *iov,
                 int niov, size_t len, unsigned flags)
{
    unsigned a = bs->alignment;
    guint8 tmp[MAX_ALIGN] __attribute__((aligned(64)));
    struct iovec tiov = {tmp, a};
    unsigned tflags = flags & ~LB_REQ_SHARED_BUF; /* tmp is ours */

    if (!is_unaligned(bs, off, len)) {
        return drv_rw_split(bs, write, off, iov, niov, len, flags);
    }
    g_assert(a <= MAX_ALIGN);
    for (size_t pos = 0; pos < len;) {
        uint64_t head = (off + pos) % a;
        size_t n;
        int r;
        if (head == 0 && len - pos >= a) {
            n = (len - pos) - (len - pos) % a;
            Slice s;
            slice_init(&s, iov, niov, pos, n);
            r = drv_rw_split(bs, write, off + pos, s.v, s.n, n, flags);
            slice_clear(&s);
        } else {
            n = MIN(len - pos, a - head);
            r = drv_rw(bs, false, off + pos - head, &tiov, 1, a, tflags);
            if (r == 0 && write) {
                lb_iov_to_buf(iov, niov, pos, tmp + head, n);
                r = drv_rw(bs, true, off + pos - head, &tiov, 1, a, tflags);
            } else if (r == 0) {
                lb_iov_from_buf(iov, niov, pos, tmp + head, n);
            }
        }
        if (r < 0) {
            return r;
        }
        pos += n;
    }
    return 0;
}

/* Zeroes written as data, in ZERO_CHUNK pieces (lock held by the caller). */
static int write_zero_buffers(LbNode *bs, uint64_t off, uint64_t len,
                              unsigned flags)
{
    flags &= ~(LB_REQ_MAY_UNMAP | LB_REQ_SHARED_BUF);
    while (len > 0) {
        /* After the first chunk, chunks start ZERO_CHUNK-aligned. */
        size_t n = MIN(len, ZERO_CHUNK - off % ZERO_CHUNK);
        struct iovec iov = {(void *)zero_buf, n};
        int r = io_rw(bs, true, off, &iov, 1, n, flags);
        if (r < 0) {
            return r;
        }
        off += n;
        len -= n;
    }
    return 0;
}

int lb_io_write_zeroes_fallback(LbNode *bs, uint64_t off, uint64_t len,
                                unsigned flags)
{
    if (flags & LB_REQ_NO_FALLBACK) {
        return -ENOTSUP;
    }
    return write_zero_buffers(bs, off, len, flags);
}

static int io_dispatch(LbNode *bs, LbReqOp op, uint64_t off, uint64_t len,
                       const struct iovec *iov, int niov, unsigned flags)
{
    switch (op) {
    case LB_REQ_READ:
        return io_rw(bs, false, off, iov, niov, len, flags);
    case LB_REQ_WRITE:
        return io_rw(bs, true, off, iov, niov, len, flags);
    case LB_REQ_WRITE_ZEROES:
        if (!(bs->flags & LB_OPEN_UNMAP)) {
            flags &= ~LB_REQ_MAY_UNMAP; /* holes only with discard=unmap */
        }
        if (!bs->drv->pwrite_zeroes || is_unaligned(bs, off, len)) {
            return lb_io_write_zeroes_fallback(bs, off, len, flags);
        }
        return bs->drv->pwrite_zeroes(bs, off, len, flags);
    case LB_REQ_DISCARD:
        return bs->drv->pdiscard(bs, off, len);
    case LB_REQ_FLUSH:
        return bs->drv->flush(bs);
    }
    return -EINVAL;
}

/* ---- the request path ------------------------------------------------------ */

static int io_check(LbNode *bs, LbReqOp op, uint64_t off, uint64_t len)
{
    g_assert(bs->state == LB_NODE_OPEN || bs->state == LB_NODE_CLOSING);
    if (op == LB_REQ_FLUSH) {
        return 0;
    }
    if (op != LB_REQ_READ && bs->read_only) {
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

/* Whether the request does nothing at all at this node (after checks). */
static bool io_is_noop(LbNode *bs, LbReqOp op, uint64_t len)
{
    switch (op) {
    case LB_REQ_FLUSH:
        return !bs->drv->flush || bs->read_only;
    case LB_REQ_DISCARD:
        /* As QEMU: discard requests are dropped unless discard=unmap. */
        return len == 0 || !bs->drv->pdiscard || !(bs->flags & LB_OPEN_UNMAP);
    default:
        return len == 0;
    }
}

/* Whether the request rewrites partial sectors (exclusive range lock). */
static bool io_needs_rmw(LbNode *bs, LbReqOp op, uint64_t off, uint64_t len)
{
    return (op == LB_REQ_WRITE || op == LB_REQ_WRITE_ZEROES) &&
           is_unaligned(bs, off, len);
}

/* A request on the calling thread, from admission to completion. */
static int io_run(LbNode *bs, LbReqOp op, uint64_t off, uint64_t len,
                  const struct iovec *iov, int niov, unsigned flags)
{
    int r = io_check(bs, op, off, len);

    if (r < 0 || io_is_noop(bs, op, len)) {
        return r;
    }
    bool rmw = io_needs_rmw(bs, op, off, len);
    Admit a = io_admit(bs, flags, NULL);
    bool locked = (flags & LB_REQ_RANGE_LOCKED) || op == LB_REQ_FLUSH;
    LbRangeEntry e;
    bool entry = !locked && (a == ADMIT_SLOW || rmw);
    if (entry) {
        unsigned al = rmw ? bs->alignment : 1;
        e.start = off - off % al;
        e.end = (off + len + al - 1) / al * al;
        e.excl = rmw;
        range_acquire(bs, &e);
    }
    r = io_dispatch(bs, op, off, len, iov, niov, flags & ~IO_PRIVATE_FLAGS);
    if (entry) {
        range_release(bs, &e);
    } else {
        io_leave(bs);
    }
    return r;
}

int lb_node_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                   int niov, unsigned flags)
{
    return io_run(bs, LB_REQ_READ, off, lb_iov_size(iov, niov), iov, niov,
                  flags);
}

int lb_node_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                    int niov, unsigned flags)
{
    return io_run(bs, LB_REQ_WRITE, off, lb_iov_size(iov, niov), iov, niov,
                  flags);
}

int lb_node_pread(LbNode *bs, uint64_t off, void *buf, size_t len)
{
    struct iovec iov = {buf, len};
    return io_run(bs, LB_REQ_READ, off, len, &iov, 1, 0);
}

int lb_node_pwrite(LbNode *bs, uint64_t off, const void *buf, size_t len,
                   unsigned flags)
{
    struct iovec iov = {(void *)buf, len};
    return io_run(bs, LB_REQ_WRITE, off, len, &iov, 1, flags);
}

int lb_node_pwrite_zeroes(LbNode *bs, uint64_t off, uint64_t len,
                          unsigned flags)
{
    return io_run(bs, LB_REQ_WRITE_ZEROES, off, len, NULL, 0, flags);
}

int lb_node_pdiscard(LbNode *bs, uint64_t off, uint64_t len)
{
    return io_run(bs, LB_REQ_DISCARD, off, len, NULL, 0, 0);
}

int lb_node_flush(LbNode *bs)
{
    return io_run(bs, LB_REQ_FLUSH, 0, 0, NULL, 0, 0);
}

int64_t lb_node_length(LbNode *bs)
{
    g_assert(bs->state == LB_NODE_OPEN || bs->state == LB_NODE_CLOSING);
    return bs->drv->length(bs);
}

int lb_io_final_flush(LbNode *bs)
{
    if (!bs->drv->flush || bs->read_only) {
        return 0;
    }
    int r = bs->drv->flush(bs);
    if (r < 0) {
        g_message("node '%s': the flush before closing failed: %s",
                  bs->node_name ? bs->node_name : "", g_strerror(-r));
    }
    return r;
}

int lb_io_child(LbNode *child, LbReqOp op, uint64_t off, uint64_t len,
                const struct iovec *iov, int niov, unsigned flags)
{
    return io_run(child, op, off, len, iov, niov, flags | LB_REQ_PARENT);
}

static int io_block_status(LbNode *bs, uint64_t off, uint64_t len,
                           uint64_t *pnum, unsigned flags)
{
    int r = io_check(bs, LB_REQ_READ, off, len);

    if (r < 0) {
        return r;
    }
    if (len == 0) {
        *pnum = 0;
        return LB_BLOCK_DATA;
    }
    if (!bs->drv->block_status) {
        *pnum = len;
        return LB_BLOCK_DATA;
    }
    io_admit(bs, flags, NULL);
    r = bs->drv->block_status(bs, off, len, pnum);
    io_leave(bs);
    g_assert(r < 0 || (*pnum > 0 && *pnum <= len));
    return r;
}

int lb_node_block_status(LbNode *bs, uint64_t off, uint64_t len,
                         uint64_t *pnum)
{
    return io_block_status(bs, off, len, pnum, 0);
}

int lb_io_child_block_status(LbNode *child, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    return io_block_status(child, off, len, pnum, LB_REQ_PARENT);
}

/* ---- asynchronous submission ------------------------------------------------ */

static void io_worker(gpointer data, gpointer user)
{
    LbRequest *req = data;
    int r = io_run(req->bs, req->op, req->offset, req->len, req->iov,
                   req->niov, req->flags);
    req->cb(req, r);
}

static GThreadPool *io_pool(void)
{
    static gsize once;
    static GThreadPool *pool;

    if (g_once_init_enter(&once)) {
        unsigned n = CLAMP(4 * g_get_num_processors(), 4, IO_WORKERS_MAX);
        pool = g_thread_pool_new(io_worker, NULL, (gint)n, FALSE, NULL);
        g_once_init_leave(&once, 1);
    }
    return pool;
}

#define IO_FAST_ASYNC (1u << 0) /* io_flags: admitted, in the driver */

void lb_io_complete(LbRequest *req, int ret)
{
    if (req->io_flags & IO_FAST_ASYNC) {
        req->io_flags &= ~IO_FAST_ASYNC;
        io_leave(req->bs);
    }
    req->cb(req, ret);
}

void lb_node_submit(LbNode *bs, LbRequest *req)
{
    req->bs = bs;
    req->io_flags = 0;
    if (req->op == LB_REQ_READ || req->op == LB_REQ_WRITE) {
        req->len = lb_iov_size(req->iov, req->niov);
    }
    int r = io_check(bs, req->op, req->offset, req->len);
    if (r < 0 || io_is_noop(bs, req->op, req->len)) {
        req->cb(req, r);
        return;
    }
    /*
     * An async driver takes a simple request (aligned, one piece, no range
     * wait) straight from this thread; anything else runs the synchronous
     * path on a worker, as requests to synchronous drivers do.
     */
    bool simple = bs->drv->submit && !is_unaligned(bs, req->offset, req->len) &&
                  (!bs->limits.max_transfer ||
                   req->len <= bs->limits.max_transfer) &&
                  req->op != LB_REQ_WRITE_ZEROES;
    if (simple || lb_node_is_drained(bs)) {
        Admit a = io_admit(bs, req->flags, req);
        if (a == ADMIT_HELD) {
            return; /* drained_end resubmits it */
        }
        if (simple && (a == ADMIT_FAST || (req->flags & LB_REQ_RANGE_LOCKED))) {
            req->io_flags |= IO_FAST_ASYNC;
            bs->drv->submit(bs, req);
            return;
        }
        io_leave(bs); /* the worker admits it again */
    }
    g_thread_pool_push(io_pool(), req, NULL);
}
