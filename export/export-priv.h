/*
 * export-priv.h: the contract between the export registry (export/export.c)
 * and the export types (export/nbd/, export/fuse/).
 *
 * Lifecycle of one export:
 *
 *   block-export-add ──> registry: check id, find node, lb_node_use_add()
 *                         └─> ops->create(exp, args)   type state in exp->impl
 *   clients come and go       ops->n_clients(exp) counts them
 *   block-export-del ──> registry: mode=safe refuses while n_clients > 0
 *                         └─> ops->destroy(exp, hard)  disconnect, unmount
 *                         └─> lb_node_use_del(), BLOCK_EXPORT_DELETED {"id"}
 *
 * The registry owns LbExport and its common fields; a type only reads them
 * and owns exp->impl.  create/destroy run on the control plane (QMP or the
 * daemon's command line), never concurrently for the same export.
 */
#ifndef LB_EXPORT_EXPORT_PRIV_H
#define LB_EXPORT_EXPORT_PRIV_H

#include <stdbool.h>
#include <glib.h>
#include "lb/block.h"
#include "lb/opts.h"

typedef struct LbExport LbExport;

typedef struct LbExportOps {
    const char *type;                 /* "nbd", "fuse", "vhost-user-blk" */
    /*
     * Read the type's own keys from @args (marking them used; the registry
     * rejects unknown keys afterwards) and set up exp->impl.  On failure
     * leave exp->impl NULL and set @errp.
     */
    bool (*create)(LbExport *exp, LbOpts *args, GError **errp);
    /*
     * Tear down: stop accepting clients; @hard disconnects connected ones
     * (safe mode only calls this when n_clients() was 0).  Returns when no
     * thread of the type touches @exp or its node any more; frees exp->impl.
     */
    void (*destroy)(LbExport *exp, bool hard);
    /* Number of connected clients (0 for types without the notion). */
    unsigned (*n_clients)(LbExport *exp);
} LbExportOps;

struct LbExport {
    char *id;
    const LbExportOps *ops;
    char *node_name;                  /* as given in block-export-add */
    LbNode *node;                     /* reference held by @use */
    LbNodeUse *use;                   /* permissions (lb_node_use_add) */
    bool writable;
    bool writethrough;                /* every write is FUA */
    void *impl;                       /* the type's state */
};

/* Export types (each defined in its directory). */
extern const LbExportOps lb_export_nbd_ops;
extern const LbExportOps lb_export_fuse_ops;
extern const LbExportOps lb_export_vhost_user_blk_ops;

/**
 * lb_export_del_type: delete every export of type @ops in hard mode,
 * emitting BLOCK_EXPORT_DELETED for each (nbd-server-stop).
 */
void lb_export_del_type(const LbExportOps *ops);

#endif /* LB_EXPORT_EXPORT_PRIV_H */
