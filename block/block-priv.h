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

/* A write in flight on a node with alignment > 1 (see io.c). */
typedef struct LbTrackedReq {
    uint64_t start, end; /* byte range, aligned outward for RMW */
    bool rmw;
    struct LbTrackedReq *next;
} LbTrackedReq;

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
    /* io.c: serialisation of read-modify-write on unaligned writes */
    GMutex track_lock;
    GCond track_cond;
    unsigned track_waiters; /* threads in g_cond_wait(track_cond) */
    LbTrackedReq *tracked;
};

/* Drivers set these during open. */
void lb_node_set_filename(LbNode *bs, const char *filename);
void lb_node_set_alignment(LbNode *bs, unsigned alignment);
void lb_node_set_read_only(LbNode *bs);

/* io.c helpers for drivers that need generic fallbacks. */
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
