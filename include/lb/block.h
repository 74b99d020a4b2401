/*
 * block.h: the block layer: a graph of nodes and the drivers behind them.
 *
 * Threading model (issue 10):
 *   Main loop: QMP and every graph change (open, del, export add/del).
 *   Jobs: one thread each, on node references the main loop took first.
 *   I/O workers (NBD, FUSE, pools): the data path, never the graph lock.
 *   Amend and resize (FUSE's too) hold the node's exclusive update lock.
 *   Each function names its contexts; LB_ASSERT_* (lb/thread.h) checks.
 *
 *   luks node ("libvirt-2-format")        driver luks (block/crypto.c)
 *     ├── file:   raw node ──> file node  payload sectors only
 *     └── header: file node               the LUKS header (optional)
 *
 * Nodes are opened from LbOpts (keyval, json: or QMP arguments).  A child
 * is either nested options ({"file": {"driver": "file", ...}}) or the
 * node-name of an existing node ({"file": "libvirt-1-storage"}).  Named
 * nodes are kept in a process-wide registry.  Every edge and every export
 * declares what it needs of the node below (consistent read, write,
 * resize) and what it lets others do; a LUKS header is a metadata child
 * that nobody else may write or resize, so a writable export of it is
 * refused in QEMU's words.
 */
#ifndef LB_BLOCK_H
#define LB_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>
#include "lb/opts.h"

#define LB_BLOCK_ERROR (lb_block_error_quark())
GQuark lb_block_error_quark(void);
typedef enum {
    LB_BLOCK_ERROR_FAILED,
    LB_BLOCK_ERROR_NOT_FOUND,     /* no such node / driver / file */
    LB_BLOCK_ERROR_IN_USE,        /* node has a parent or an export */
    LB_BLOCK_ERROR_INVALID,       /* bad option */
    LB_BLOCK_ERROR_EXISTS,        /* duplicate node-name */
    LB_BLOCK_ERROR_PERM,          /* read-only, or a lock held elsewhere */
} LbBlockError;

typedef struct LbNode LbNode;
typedef struct LbNodeUse LbNodeUse;

/* Permissions on a node (QEMU's BLK_PERM_*, same names in messages). */
typedef enum {
    LB_PERM_CONSISTENT_READ = 1 << 0,
    LB_PERM_WRITE = 1 << 1,
    LB_PERM_RESIZE = 1 << 2,
    LB_PERM_ALL = (1 << 3) - 1,
} LbPerm;

/* What a child holds for its parent (QEMU's BDRV_CHILD_DATA/METADATA). */
typedef enum {
    LB_CHILD_DATA = 1 << 0,     /* passes the parent's users' data through */
    LB_CHILD_METADATA = 1 << 1, /* the parent's own metadata (a header) */
} LbChildRole;
typedef struct LbRequest LbRequest;

typedef enum {
    LB_OPEN_RDWR = 1 << 0,        /* default is read-only */
    LB_OPEN_NO_KEYS = 1 << 1,     /* luks: header only (info) */
    LB_OPEN_NO_LOCK = 1 << 2,     /* file: skip OFD locks (force-share) */
    LB_OPEN_NOCACHE = 1 << 3,     /* file: O_DIRECT */
} LbOpenFlags;

typedef enum {
    LB_WRITE_FUA = 1 << 0,        /* durable before returning */
    LB_WRITE_MAY_UNMAP = 1 << 1,  /* write_zeroes may punch a hole */
} LbWriteFlags;

typedef enum {
    LB_PREALLOC_OFF,
    LB_PREALLOC_FALLOC,
    LB_PREALLOC_FULL,
} LbPrealloc;

/* Driver interface (one const table per driver file, see block/drivers.c). */
typedef struct LbBlockDriver {
    const char *name;
    size_t state_size;                /* core allocates node->opaque */
    /* control plane */
    bool (*open)(LbNode *bs, LbOpts *opts, unsigned flags, GError **errp);
    void (*close)(LbNode *bs);        /* must cope with half-open nodes */
    bool (*truncate)(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                     GError **errp);
    /* qemu-img create FILENAME: size + -o options */
    bool (*create)(const char *filename, uint64_t size, LbOpts *opts,
                   GError **errp);
    /* blockdev-create: opts hold node references ("file", "header") */
    bool (*create_nodes)(LbOpts *opts, GError **errp);
    bool (*amend)(LbNode *bs, LbOpts *opts, bool force, GError **errp);
    /* JSON for QEMU's ImageInfoSpecific {"type":..,"data":..} or NULL */
    char *(*info_json)(LbNode *bs);
    int64_t (*allocated_size)(LbNode *bs);   /* bytes on disk, -errno */
    /*
     * data path: 0 / -errno, no allocation per request.  A driver gives
     * either the synchronous vectored calls (run on the caller's thread,
     * or on an I/O worker for lb_node_submit) or an asynchronous submit,
     * or both; block/io.c adapts (see lb/block-io.h).
     */
    int64_t (*length)(LbNode *bs);
    int (*preadv)(LbNode *bs, uint64_t off, const struct iovec *iov, int niov,
                  size_t len, unsigned flags);
    int (*pwritev)(LbNode *bs, uint64_t off, const struct iovec *iov,
                   int niov, size_t len, unsigned flags);
    int (*pwrite_zeroes)(LbNode *bs, uint64_t off, uint64_t len,
                         unsigned flags);   /* optional */
    int (*pdiscard)(LbNode *bs, uint64_t off, uint64_t len);   /* optional */
    int (*flush)(LbNode *bs);                                  /* optional */
    /* optional: start @req and call lb_io_complete(req, ret) when done */
    void (*submit)(LbNode *bs, LbRequest *req);
    /* optional: allocation of [off, off + len), see lb_node_block_status */
    int (*block_status)(LbNode *bs, uint64_t off, uint64_t len,
                        uint64_t *pnum);
} LbBlockDriver;

/* ---- control plane ------------------------------------------------------ */

/**
 * lb_node_open: open a node (and its children) from @opts; main loop.
 * Keys: "driver"
 * (required unless "filename" lets it be probed), optional "node-name",
 * "read-only", "auto-read-only", "cache.direct", "discard", "force-share",
 * plus the driver's options.  A node with a node-name is registered.
 * Returns: (transfer full) the node, or NULL with @errp set.
 */
LbNode *lb_node_open(LbOpts *opts, unsigned flags, GError **errp);
/**
 * lb_node_open_image: what the tools' positional argument means:
 * @filename (a path or "json:{...}") with optional @fmt ("luks", "raw";
 * NULL = probe), or with @image_opts a keyval string instead.  Main loop.
 */
LbNode *lb_node_open_image(const char *filename, const char *fmt,
                           bool image_opts, unsigned flags, GError **errp);
/** lb_node_ref: take a reference; any context. */
LbNode *lb_node_ref(LbNode *bs);
/**
 * lb_node_unref: drop a reference; the last one flushes and closes (a
 * failed flush is logged).  Any context (a job's last reference closes the
 * node in the job).
 */
void lb_node_unref(LbNode *bs);
/**
 * lb_node_close: lb_node_unref() that reports: when this was the last
 * reference, the final flush's result (0 or -errno; the node is closed
 * either way), else 0.  Context: as lb_node_unref().
 */
int lb_node_close(LbNode *bs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbNode, lb_node_unref)

/**
 * lb_node_find: (transfer none) the registered node @name, or NULL.
 * Main loop only: the pointer is valid until the main loop next changes
 * the graph, so it must not be handed to another thread (take a
 * reference with lb_node_find_ref() for that).
 */
LbNode *lb_node_find(const char *name);
/** lb_node_find_ref: (transfer full) node @name, or NULL; any context. */
LbNode *lb_node_find_ref(const char *name);
/** lb_node_list: registered nodes (transfer container, nodes none);
 * main loop only. */
GList *lb_node_list(void);
/** lb_node_list_ref: the same with a reference on every node (transfer
 * full: g_list_free_full(l, (GDestroyNotify)lb_node_unref)); any context. */
GList *lb_node_list_ref(void);
/**
 * lb_node_del: blockdev-del: unregister and close @name; refused while it
 * is a child of another node or in use (exports and jobs hold references).
 * Main loop.
 */
bool lb_node_del(const char *name, GError **errp);
/** lb_nodes_close_all: shutdown: flush and close every node; main loop. */
void lb_nodes_close_all(void);
/** Export layers mark a node busy so blockdev-del refuses it. */
void lb_node_use(LbNode *bs);
void lb_node_unuse(LbNode *bs);
/**
 * lb_node_use_add: an export (or another non-node user) of @bs needing
 * @perm (LbPerm) and sharing everything; refused, with QEMU's "Permission
 * conflict on node ..." message, when an edge to @bs (or to a node below
 * it that passes its data through) does not share @perm.  Also marks the
 * node in use.  Main loop only.
 * Returns: (transfer full) the use, released with lb_node_use_del().
 */
LbNodeUse *lb_node_use_add(LbNode *bs, unsigned perm, GError **errp);
void lb_node_use_del(LbNodeUse *use);
/**
 * lb_node_child_set_role: declare what child @role of @parent holds
 * (LbChildRole); a metadata child is shared with others for consistent
 * reads only.  Refused when an existing user conflicts.  Main loop
 * (drivers' open).
 */
bool lb_node_child_set_role(LbNode *parent, const char *role, unsigned kind,
                            GError **errp);
/**
 * lb_node_update_begin/end: the exclusive header update of @bs (QEMU's
 * updating_keys): amend and resize hold it for their whole run, so a
 * second one waits for the first.  Any context; not across the main loop.
 */
void lb_node_update_begin(LbNode *bs);
void lb_node_update_end(LbNode *bs);

const char *lb_node_name(LbNode *bs);          /* may be auto-generated */
const char *lb_node_driver_name(LbNode *bs);
const char *lb_node_filename(LbNode *bs);      /* file path or json: text */
bool lb_node_is_writable(LbNode *bs);
/** (transfer none) child by role ("file", "header"), or NULL. */
LbNode *lb_node_child(LbNode *bs, const char *role);
/** Request alignment in bytes (luks: its sector size). */
unsigned lb_node_alignment(LbNode *bs);
void *lb_node_opaque(LbNode *bs);              /* driver state */
/** Attach @child under @role (used by drivers' open); main loop. */
LbNode *lb_node_open_child(LbNode *parent, LbOpts *opts, const char *role,
                           bool required, unsigned flags, GError **errp);

/**
 * lb_node_truncate: resize @bs; holds its exclusive update (serialised
 * with amend and other resizes).  Main loop, job or I/O worker (FUSE).
 */
bool lb_node_truncate(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                      GError **errp);
int64_t lb_node_allocated_size(LbNode *bs);
/** (transfer full) ImageInfoSpecific JSON, or NULL; any context. */
char *lb_node_info_json(LbNode *bs);
/** lb_node_amend: keyslot changes under the exclusive update; main loop
 * (tools) or job. */
bool lb_node_amend(LbNode *bs, LbOpts *opts, bool force, GError **errp);

/** qemu-img create: make @filename of format @fmt with @size and -o @opts.
 * Main loop. */
/**
 * lb_img_measure: the bytes a new image of format @fmt holding @size bytes
 * with create options @opts needs (qemu-img measure; for luks the header
 * plus the payload, all of it allocated).  Control plane, any thread.
 */
bool lb_img_measure(const char *fmt, uint64_t size, LbOpts *opts,
                    uint64_t *required, GError **errp);
bool lb_img_create(const char *fmt, const char *filename, uint64_t size,
                   LbOpts *opts, GError **errp);
/** blockdev-create: format existing nodes as described by @opts; it looks
 * them up by reference.  Main loop or job. */
bool lb_blockdev_create(LbOpts *opts, GError **errp);
bool lb_parse_prealloc(const char *s, LbPrealloc *out, GError **errp);
/**
 * lb_parse_cache_mode: a -t cache mode as qemu-img/qemu-io take it ("none",
 * "off", "directsync" add LB_OPEN_NOCACHE to *@flags; "writeback",
 * "writethrough", "unsafe" leave them); else "Invalid cache option: MODE".
 */
bool lb_parse_cache_mode(const char *mode, unsigned *flags, GError **errp);

/* ---- data path: requests, drain, range locks (lb/block-io.h) ----------- */

#include "lb/block-io.h"

/* Drivers (block/drivers.c registry). */
const LbBlockDriver *lb_block_driver_find(const char *name);
extern const LbBlockDriver lb_driver_file;
extern const LbBlockDriver lb_driver_raw;
/* A temporary overlay over a read-only image (qemu-io -s): snapshot.c */
extern const LbBlockDriver lb_driver_snapshot;
extern const LbBlockDriver lb_driver_luks;

#endif /* LB_BLOCK_H */
