/*
 * block-io.h: the block layer's data path (block/io.c): request objects,
 * synchronous wrappers, block limits, in-flight accounting, drained
 * sections, byte-range locks and allocation status.  lb/block.h includes
 * it (and it includes lb/block.h), so either include gives both.
 *
 * Threading model of the data path:
 * - Every request passes block/io.c, which checks it, counts it in flight,
 *   range-locks it and calls the driver; nothing else calls a driver.
 * - A synchronous call (lb_node_preadv, lb_node_pread, ...) runs on the
 *   caller's thread down to the file: no thread hop, no allocation.
 * - lb_node_submit is asynchronous: an async driver starts the request
 *   itself; a synchronous driver's request runs on an I/O worker thread.
 * - Drained sections and exclusive range locks are taken by control-plane
 *   code (main loop, job threads), never from a request's own callback.
 *
 * Thread contexts named in the comments below: "any thread" (exports'
 * connection and worker threads, I/O workers, jobs, the main loop), "main
 * loop or job" (control plane: may block while requests finish).
 */
#ifndef LB_BLOCK_IO_H
#define LB_BLOCK_IO_H

#include "lb/block.h"

typedef enum {
    LB_REQ_READ,
    LB_REQ_WRITE,
    LB_REQ_WRITE_ZEROES,
    LB_REQ_DISCARD,
    LB_REQ_FLUSH,
} LbReqOp;

/* Request flags; the first two are the LbWriteFlags. */
typedef enum {
    LB_REQ_FUA = LB_WRITE_FUA,             /* durable before completion */
    LB_REQ_MAY_UNMAP = LB_WRITE_MAY_UNMAP, /* write-zeroes may punch */
    /* write-zeroes: -ENOTSUP instead of writing a buffer of zeroes */
    LB_REQ_NO_FALLBACK = 1 << 2,
    /*
     * The buffer is shared with another party (guest RAM): the layers below
     * never leave intermediate data in it (a luks read decrypts from a
     * private bounce buffer, so it never holds ciphertext).
     */
    LB_REQ_SHARED_BUF = 1 << 3,
    /*
     * The caller holds an exclusive lb_node_range_lock() covering the
     * request on this node: it takes no range lock of its own and is not
     * held back by a drained section (the lock already counts in flight).
     */
    LB_REQ_RANGE_LOCKED = 1 << 4,
} LbReqFlags;

/**
 * LbRequestCb: completion of an lb_node_submit() request, with 0 or -errno.
 * Runs on an I/O worker or a driver's completion thread, or on the
 * submitting thread before lb_node_submit() returns (a request refused by
 * the checks, or one an async driver completes at once).  It may submit
 * new requests; it must not block on a drained section or a range lock.
 */
typedef void (*LbRequestCb)(LbRequest *req, int ret);

/*
 * One request.  The caller owns the memory (embed it: no allocation in the
 * layer) and fills the public part; it must stay valid, with its iovec
 * array and buffers, until the callback has run.
 */
struct LbRequest {
    LbReqOp op;
    unsigned flags;              /* LbReqFlags */
    uint64_t offset;
    uint64_t len;                /* write-zeroes, discard (read/write: iov) */
    const struct iovec *iov;     /* read, write */
    int niov;
    LbRequestCb cb;
    void *opaque;                /* the caller's */
    /* private to block/io.c */
    LbNode *bs;
    LbRequest *next;             /* held back by a drained section */
    unsigned io_flags;
};

/**
 * lb_node_submit: start @req on @bs; @req->cb gets the result.
 * Context: any thread.
 */
void lb_node_submit(LbNode *bs, LbRequest *req);

/*
 * Synchronous requests: 0 or -errno.  Context: any thread; they run on the
 * calling thread (for synchronous drivers) and may block on a drained
 * section or an overlapping exclusive range lock.  Beyond the end is -EIO,
 * writes to a read-only node -EPERM.  @flags are LbReqFlags.
 */
int lb_node_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                   int niov, unsigned flags);
int lb_node_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                    int niov, unsigned flags);
int lb_node_pread(LbNode *bs, uint64_t off, void *buf, size_t len);
int lb_node_pwrite(LbNode *bs, uint64_t off, const void *buf, size_t len,
                   unsigned flags);
int lb_node_pwrite_zeroes(LbNode *bs, uint64_t off, uint64_t len,
                          unsigned flags);
/** Discard is advisory: 0 when the node does not discard (discard=ignore). */
int lb_node_pdiscard(LbNode *bs, uint64_t off, uint64_t len);
int lb_node_flush(LbNode *bs);
/** lb_node_length: bytes, or -errno.  Context: any thread. */
int64_t lb_node_length(LbNode *bs);

/*
 * Per-node limits, filled at open (drivers set them; a format node starts
 * from its file child's).  block/io.c aligns requests to
 * request_alignment (read-modify-write for unaligned writes) and splits
 * reads and writes larger than max_transfer.
 */
typedef struct LbBlockLimits {
    uint32_t request_alignment;   /* bytes; 1: any offset and length */
    uint64_t max_transfer;        /* bytes per driver call; 0: no limit */
    uint64_t opt_transfer;        /* preferred request size; 0: none */
    uint32_t discard_granularity; /* 0: unknown or no discard */
    uint32_t zeroes_alignment;    /* efficient write-zeroes unit; 0: any */
} LbBlockLimits;

/** (transfer none) the limits of @bs.  Context: any thread. */
const LbBlockLimits *lb_node_limits(LbNode *bs);

/**
 * lb_node_block_status: allocation of the range at @off: returns
 * LB_BLOCK_DATA (data, or unknown), LB_BLOCK_ZERO (reads as zeroes) or
 * LB_BLOCK_HOLE | LB_BLOCK_ZERO (unallocated, reads as zeroes), and sets
 * *@pnum to the length (>0, <= @len) that has this status; or -errno.
 * Context: any thread.
 */
#define LB_BLOCK_DATA 0x1
#define LB_BLOCK_ZERO 0x2
#define LB_BLOCK_HOLE 0x4
int lb_node_block_status(LbNode *bs, uint64_t off, uint64_t len,
                         uint64_t *pnum);

/* ---- drained sections ---------------------------------------------------- */

/**
 * lb_node_drained_begin: stop new requests at @bs and at every node above
 * it (their parents, recursively) and wait until none of them has a
 * request in flight.  New requests from outside (exports, jobs, tools)
 * wait at the gate until the matching lb_node_drained_end(); requests a
 * parent driver sends to its children still pass.  Quiesce callbacks of
 * the drained nodes run first.  Nests.
 * Context: main loop or job; not from a request callback or while holding
 * a range lock of these nodes.
 */
void lb_node_drained_begin(LbNode *bs);
/** lb_node_drained_end: end a drained section; held requests resume. */
void lb_node_drained_end(LbNode *bs);
/** Whether @bs is in a drained section.  Context: any thread. */
bool lb_node_is_drained(LbNode *bs);

/**
 * LbQuiesceCb: called with @quiesce true when a drained section begins on
 * the node it was registered on (or below it), false when it ends; on the
 * thread calling drained_begin/end.  An export stops reading requests
 * while quiesced (the gate would hold them anyway).
 */
typedef void (*LbQuiesceCb)(void *opaque, bool quiesce);
/** Register / remove a quiesce callback.  Context: main loop. */
void lb_node_add_quiesce_cb(LbNode *bs, LbQuiesceCb cb, void *opaque);
void lb_node_remove_quiesce_cb(LbNode *bs, LbQuiesceCb cb, void *opaque);

/* ---- byte-range locks ---------------------------------------------------- */

typedef struct LbRangeLock LbRangeLock;

/**
 * lb_node_range_lock: lock [@off, @off + @len) of @bs, shared or
 * @exclusive, waiting for conflicting holders (first come, first served).
 * Every request takes a shared lock (a read-modify-write an exclusive one)
 * on each node it passes.  An exclusive holder does its own I/O on the
 * range with LB_REQ_RANGE_LOCKED.  While held, the lock counts as a
 * request in flight (a drained section waits for its release).
 * Returns: (transfer full) the lock, for lb_node_range_unlock().
 * Context: main loop or job; it may wait for requests to finish.
 */
LbRangeLock *lb_node_range_lock(LbNode *bs, uint64_t off, uint64_t len,
                                bool exclusive);
/** lb_node_range_unlock: release and free @lock.  Context: any thread. */
void lb_node_range_unlock(LbRangeLock *lock);

#endif /* LB_BLOCK_IO_H */
