/*
 * block-priv.h: the node structure, shared by the block/ sources only.
 *
 * Lifecycle of a node:
 *
 *   lb_node_open ──> NEW ──drv->open──> OPEN ──last unref──> CLOSED (freed)
 *                     └── open fails ──> drv->close (half-open) ──> freed
 *
 * Graph fields (children, parents, uses, registry) change only under the
 * graph lock in block.c, in the main loop; the data path reads children
 * without it, which is safe because a node's children never change while
 * it is open.  Permissions (block/perm.c) are computed from the edges and
 * uses on demand, under the graph lock.
 */
#ifndef LB_BLOCK_BLOCK_PRIV_H
#define LB_BLOCK_BLOCK_PRIV_H

#include "lb/block.h"
#include "lb/iov.h"

/* Internal open flag: auto-read-only in effect (inherited by children). */
#define LB_OPEN_AUTO_RO (1u << 16)
/* Internal open flag: discard=unmap (QEMU's BDRV_O_UNMAP), inherited. */
#define LB_OPEN_UNMAP (1u << 17)

typedef enum {
    LB_NODE_NEW,
    LB_NODE_OPEN,
    LB_NODE_CLOSING,
} LbNodeState;

/* An edge parent -> child; also listed in the child's parents. */
typedef struct LbChild {
    char *role;       /* "file", "header" */
    LbNode *node;     /* the child (a reference) */
    LbNode *parent;
    unsigned kind;    /* LbChildRole: data, metadata */
} LbChild;

/* A user of a node that is not a node: an export (lb_node_use_add). */
struct LbNodeUse {
    LbNode *node;
    unsigned perm;    /* LbPerm needed; a use shares every permission */
};

/* A range held on the slow path of a node's range lock (see io.c). */
typedef struct LbRangeEntry {
    uint64_t start, end;
    bool excl;
    struct LbRangeEntry *prev, *next; /* arrival order */
} LbRangeEntry;

/* Quiesce callback registration (lb_node_add_quiesce_cb). */
typedef struct LbQuiesceHook {
    LbQuiesceCb cb;
    void *opaque;
} LbQuiesceHook;

/*
 * io.c's per-node state.  @state packs, so that a request's admission and
 * completion are one atomic add each: requests in flight (low 32 bits),
 * drained sections (IO_QUIESCE_ONE units) and exclusive range locks held
 * or waiting (IO_EXCL_ONE units).  The rest is under @lock.
 */
typedef struct LbNodeIo {
    guint64 state;
    GMutex lock;
    GCond cond;
    unsigned waiters;             /* threads in g_cond_wait(cond) */
    unsigned quiesce;             /* drained-section depth */
    unsigned n_entries;           /* range entries (each one in flight) */
    LbRangeEntry *head, *tail;
    LbRequest *held, *held_tail;  /* async requests stopped by the gate */
    GArray *hooks;                /* of LbQuiesceHook */
} LbNodeIo;

struct LbNode {
    gint refcnt;
    LbNodeState state;
    const LbBlockDriver *drv;
    void *opaque;
    char *node_name;
    char *filename;  /* set by the driver, or derived */
    char *opts_json; /* the options the node was opened with */
    unsigned flags;  /* LbOpenFlags in effect */
    bool read_only;
    bool monitor_owned; /* registry holds a reference */
    unsigned alignment;
    GPtrArray *children; /* of LbChild * */
    GPtrArray *parents;  /* of LbChild * (edges into this node) */
    int n_parents;
    gint users;    /* exports, lb_node_use() */
    GList *uses;   /* LbNodeUse * (perm-checked users) */
    /* Exclusive header/metadata update (amend, resize): QEMU's
     * updating_keys; a second update waits for the first. */
    GRecMutex update_lock;
    LbBlockLimits limits; /* set at open; limits.request_alignment = alignment */
    LbNodeIo io;          /* io.c: in flight, drain, range locks */
};

/* Drivers set these during open. */
void lb_node_set_filename(LbNode *bs, const char *filename);
void lb_node_set_alignment(LbNode *bs, unsigned alignment);
void lb_node_set_read_only(LbNode *bs);

/*
 * (transfer full) the open nodes that have @bs as a child (direct
 * parents), each referenced.  Context: any thread (takes the graph lock).
 */
GPtrArray *lb_node_parents(LbNode *bs);

/* Drivers set their limits during open (request_alignment: see above). */
void lb_node_set_limits(LbNode *bs, const LbBlockLimits *limits);

/* io.c's per-node state: set up at node creation, torn down at its end. */
void lb_io_node_init(LbNode *bs);
void lb_io_node_cleanup(LbNode *bs);
/* The last reference's flush, logged when it fails; 0 or -errno. */
int lb_io_final_flush(LbNode *bs);

/*
 * Request flag for drivers: a request a parent driver sends to its child
 * as part of a request of its own.  It passes drained sections (the
 * parent's request is already counted in flight above).
 */
#define LB_REQ_PARENT (1u << 16)

/*
 * A driver's request to its child @child, part of a request of its own
 * (LB_REQ_PARENT added): as lb_node_preadv() etc.  @iov is used by reads
 * and writes only.
 */
int lb_io_child(LbNode *child, LbReqOp op, uint64_t off, uint64_t len,
                const struct iovec *iov, int niov, unsigned flags);
int lb_io_child_block_status(LbNode *child, uint64_t off, uint64_t len,
                             uint64_t *pnum);

/*
 * Tests only: when set, called after every driver read with the buffers
 * the driver filled (to check what lands in a caller's buffer).
 */
extern void (*lb_io_read_hook)(LbNode *bs, const struct iovec *iov,
                               int niov);

/* An async driver's completion of @req (drv->submit). Any thread. */
void lb_io_complete(LbRequest *req, int ret);

/*
 * Write zeroes by writing a buffer of zeroes, for a driver whose fast way
 * failed; called from within the driver's pwrite_zeroes (the request is
 * already admitted and locked).
 */
int lb_io_write_zeroes_fallback(LbNode *bs, uint64_t off, uint64_t len,
                                unsigned flags);

/* perm.c: check every pair of users of @bs and of the nodes below it;
 * caller holds the graph lock. */
bool lb_perm_check_tree(LbNode *bs, GError **errp);
void lb_graph_lock(void);
void lb_graph_unlock(void);

/* Convert a data-path error at a control-plane boundary. */
/* An empty qcow2 image for QEMU (block/qcow2-create.c; not openable here). */
bool lb_qcow2_create(const char *filename, uint64_t size, LbOpts *opts,
                     GError **errp);
bool lb_block_errno_to_error(int ret, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#endif /* LB_BLOCK_BLOCK_PRIV_H */
