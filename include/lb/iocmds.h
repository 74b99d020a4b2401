/*
 * iocmds.h: the qemu-io command language on a node (the ui/ library,
 * above the block layer).
 *
 * Shared by luksblk-io (-c 'write -P 0xab 0 1M') and by the daemon's
 * human-monitor-command "qemu-io NODE \"CMD\"".  Output lines are QEMU's:
 *   wrote 1048576/1048576 bytes at offset 0
 *   1 MiB, 1 ops; 00.00 sec (xxx MiB/sec and yyy ops/sec)
 *   Pattern verification failed at offset 0, 512 bytes
 */
#ifndef LB_IOCMDS_H
#define LB_IOCMDS_H

#include <stdbool.h>
#include <glib.h>

typedef struct LbNode LbNode;
typedef struct LbIoCmds LbIoCmds;

/** lb_iocmds_new: an interpreter bound to @node (takes a reference). */
LbIoCmds *lb_iocmds_new(LbNode *node);
/**
 * lb_iocmds_run: run one command line, appending its output to @out.
 * @quiet suppresses the timing lines (-q).
 * Returns: 0 on success, non-zero if the command failed (pattern mismatch,
 * I/O error, bad arguments).
 */
int lb_iocmds_run(LbIoCmds *io, const char *cmdline, bool quiet, GString *out);
/**
 * lb_iocmds_run_err: like lb_iocmds_run(), but the messages qemu-io writes
 * to stderr (unknown command, bad argument count, invalid option,
 * read-only node) are appended to @err instead (when not NULL).
 */
int lb_iocmds_run_err(LbIoCmds *io, const char *cmdline, bool quiet,
                      GString *out, GString *err);
/**
 * lb_iocmds_set_error_prefix: put @prefix ("luksblk-io: ") before the
 * lines qemu-io prints with error_report() ("Block node is read-only",
 * truncate errors); none by default, as in the monitor.
 */
void lb_iocmds_set_error_prefix(LbIoCmds *io, const char *prefix);
/** Wait for outstanding aio_* requests, appending their output. */
int lb_iocmds_drain(LbIoCmds *io, GString *out);
void lb_iocmds_free(LbIoCmds *io);
/**
 * lb_iocmds_dump_json: append QEMU's human form of the JSON object @json
 * (keys with '-' shown as ' ', nested values indented by 4 more spaces) at
 * @indent spaces, objects' members in QEMU's QDict iteration order, so
 * lines come in the order qemu-img prints them.  An ImageInfoSpecific {"type":..,"data":{..}} prints its
 * data.  Used by qemu-io's `info` and `luksblk-img info`.
 * Returns: false with @errp set if @json does not parse.
 */
bool lb_iocmds_dump_json(GString *out, const char *json, unsigned indent,
                         GError **errp);
/**
 * lb_iocmds_json_pretty: @json re-printed as QEMU prints JSON for humans
 * (qemu-img info --output=json): 4-space indent, members in QEMU's QDict
 * order.  Returns: (transfer full) the text, or NULL with @errp set.
 */
char *lb_iocmds_json_pretty(const char *json, GError **errp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbIoCmds, lb_iocmds_free)

#endif /* LB_IOCMDS_H */
