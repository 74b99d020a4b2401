/*
 * export.h: serving nodes to other programs (export layer).
 *
 * export/nbd/  NBD server (fixed newstyle, structured replies, TLS)
 * export/fuse/ FUSE export of a node as a regular file
 * export/export.c  the block-export-add/-del/query registry shared by both
 *
 * Called by the QMP handlers and the storage daemon's command line; all
 * arguments are the QMP argument objects as LbOpts.
 */
#ifndef LB_EXPORT_H
#define LB_EXPORT_H

#include <stdbool.h>
#include <glib.h>
#include "lb/opts.h"

#define LB_EXPORT_ERROR (lb_export_error_quark())
GQuark lb_export_error_quark(void);
typedef enum {
    LB_EXPORT_ERROR_FAILED,
    LB_EXPORT_ERROR_NOT_FOUND,
    LB_EXPORT_ERROR_EXISTS,
    LB_EXPORT_ERROR_INVALID,
    LB_EXPORT_ERROR_UNAVAILABLE,   /* e.g. FUSE not available */
} LbExportError;

/**
 * lb_nbd_server_start: QMP nbd-server-start arguments: "addr"
 * ({"type":"unix","path":..} or {"type":"inet","host":..,"port":..}),
 * optional "tls-creds", "tls-authz", "max-connections".
 */
bool lb_nbd_server_start(LbOpts *args, GError **errp);
bool lb_nbd_server_stop(GError **errp);
bool lb_nbd_server_running(void);

/**
 * lb_block_export_add: QMP block-export-add arguments: "type" (nbd|fuse),
 * "id", "node-name", "writable", "writethrough", and per type: nbd "name",
 * "description", "bitmaps"; fuse "mountpoint", "growable", "allow-other".
 * Emits nothing; lb_block_export_del emits BLOCK_EXPORT_DELETED when the
 * export is gone.
 */
bool lb_block_export_add(LbOpts *args, GError **errp);
/** @mode: "safe" (default: refuse while clients are connected) or "hard". */
bool lb_block_export_del(const char *id, const char *mode, GError **errp);
/** JSON array text for query-block-exports (transfer full). */
char *lb_block_export_query_json(void);
/** lb_exports_shutdown: stop the NBD server and delete every export. */
void lb_exports_shutdown(void);

#endif /* LB_EXPORT_H */
