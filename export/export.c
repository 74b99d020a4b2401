/*
 * export/export.c: the block export registry behind block-export-add,
 * block-export-del and query-block-exports.
 *
 * Common arguments ("type", "id", "node-name", "writable", "writethrough")
 * are handled here; the rest goes to the type's ops (export-priv.h).  The
 * registry keeps exports in creation order; query-block-exports lists
 * them newest first, the way QEMU does.  Adding an export takes a
 * permission-checked use of its node (block/perm.c), so a writable export
 * of a LUKS header is refused.  Control-plane calls come from the main
 * loop (QMP monitor or the daemon's command line: asserted); a mutex
 * guards the list anyway so that the NBD server's threads may call
 * lb_exports_shutdown() paths safely.
 */
#include "config.h"
#include "lb/export.h"

#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "lb/event.h"
#include "lb/object.h"
#include "lb/thread.h"
#include "export-priv.h"

G_DEFINE_QUARK(lb-export-error-quark, lb_export_error)

/* Every export type, explicitly (no constructor magic). */
static const LbExportOps *const export_types[] = {
    &lb_export_nbd_ops,
    &lb_export_vhost_user_blk_ops,
#ifdef LB_HAVE_EXPORT_FUSE
    &lb_export_fuse_ops,
#endif
};

/* How long a safe block-export-del waits for departing clients. */
#define EXPORT_DEL_GRACE_MS 500

static GMutex exports_lock;
static GList *exports;                /* LbExport *, creation order */

static const LbExportOps *export_type_find(const char *type)
{
    for (size_t i = 0; i < G_N_ELEMENTS(export_types); i++) {
        if (strcmp(export_types[i]->type, type) == 0) {
            return export_types[i];
        }
    }
    return NULL;
}

/* Caller holds exports_lock. */
static LbExport *export_find_locked(const char *id)
{
    for (GList *l = exports; l; l = l->next) {
        LbExport *exp = l->data;
        if (strcmp(exp->id, id) == 0) {
            return exp;
        }
    }
    return NULL;
}

static void export_free(LbExport *exp)
{
    if (!exp) {
        return;
    }
    lb_node_use_del(g_steal_pointer(&exp->use)); /* drops exp->node */
    exp->node = NULL;
    g_free(exp->id);
    g_free(exp->node_name);
    g_free(exp);
}

static char *export_event_data(const char *id)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, id);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    return json_to_string(root, FALSE);
}

static gboolean export_emit_deleted(gpointer data)
{
    lb_event_emit("BLOCK_EXPORT_DELETED", data);
    return G_SOURCE_REMOVE;
}

/*
 * Tear down an export already unlinked from the list, then announce it.
 * QEMU's timing: the event comes at once (before the command returns),
 * except that block-export-del (@del) in hard mode with clients connected
 * announces it from the main loop, after the command's return.
 */
static void export_destroy(LbExport *exp, bool hard, bool del)
{
    bool had_clients = exp->ops->n_clients(exp) > 0;
    exp->ops->destroy(exp, hard);
    exp->impl = NULL;
    char *data = export_event_data(exp->id);
    export_free(exp);
    if (del && hard && had_clients) {
        g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, export_emit_deleted, data,
                        g_free);
        return;
    }
    lb_event_emit("BLOCK_EXPORT_DELETED", data);
    g_free(data);
}

bool lb_block_export_add(LbOpts *args, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    const char *type = NULL, *id = NULL, *node_name = NULL;
    bool writable, writethrough;

    if (!lb_opts_get_string(args, "type", &type, errp) ||
        !lb_opts_get_string(args, "id", &id, errp) ||
        !lb_opts_get_string(args, "node-name", &node_name, errp) ||
        !lb_opts_get_bool(args, "writable", false, &writable, errp) ||
        !lb_opts_get_bool(args, "writethrough", false, &writethrough, errp)) {
        return false;
    }
    /*
     * Every export shares one multi-threaded data path, so fixed-iothread
     * has nothing to pin; an iothread must still name an iothread object.
     */
    const char *iothread = NULL;
    if (!lb_opts_get_string(args, "iothread", &iothread, errp)) {
        return false;
    }
    lb_opts_mark_used(args, "fixed-iothread");
    /* No node is ever inactive here (no migration), so nothing to allow. */
    lb_opts_mark_used(args, "allow-inactive");
    if (!type || !id || !node_name) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter '%s' is missing",
                    !type ? "type" : !id ? "id" : "node-name");
        return false;
    }
    const LbExportOps *ops = export_type_find(type);
    if (!ops) {
        bool known = strcmp(type, "fuse") == 0;
        g_set_error(errp, LB_EXPORT_ERROR,
                    known ? LB_EXPORT_ERROR_UNAVAILABLE
                          : LB_EXPORT_ERROR_INVALID,
                    known ? "FUSE exports are not available in this build"
                          : "Invalid parameter 'type': unknown export type "
                            "'%s'", type);
        return false;
    }

    if (!lb_id_wellformed(id)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Invalid block export id");
        return false;
    }
    g_mutex_lock(&exports_lock);
    bool dup = export_find_locked(id) != NULL;
    g_mutex_unlock(&exports_lock);
    if (dup) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_EXISTS,
                    "Block export id '%s' is already in use", id);
        return false;
    }
    LbNode *node = lb_node_find(node_name);
    if (!node) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                    "Cannot find device=\'\' nor node-name=\'%s\'",
                    node_name);
        return false;
    }
    if (iothread && g_strcmp0(lb_object_type(iothread), "iothread") != 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                    "iothread \"%s\" not found", iothread);
        return false;
    }
    if (writable && !lb_node_is_writable(node)) {
        /* QEMU's generic check (vhost-user-blk) does not name the node. */
        if (ops == &lb_export_vhost_user_blk_ops) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                        "Cannot export read-only node as writable");
        } else {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                        "Cannot export read-only node '%s' as writable",
                        node_name);
        }
        return false;
    }

    /* Checked against every parent of the node (and the nodes below a
     * pass-through parent): a LUKS header is nobody else's to write. */
    unsigned perm = LB_PERM_CONSISTENT_READ | (writable ? LB_PERM_WRITE : 0);
    LbNodeUse *use = lb_node_use_add(node, perm, errp);
    if (!use) {
        return false;
    }
    LbExport *exp = g_new0(LbExport, 1);
    exp->id = g_strdup(id);
    exp->ops = ops;
    exp->node_name = g_strdup(node_name);
    exp->use = use;
    exp->node = node;
    exp->writable = writable;
    exp->writethrough = writethrough;

    if (!ops->create(exp, args, errp)) {
        export_free(exp);
        return false;
    }
    if (!lb_opts_check_unexpected(args, errp)) {
        ops->destroy(exp, true);
        export_free(exp);
        return false;
    }
    g_mutex_lock(&exports_lock);
    exports = g_list_append(exports, exp);
    g_mutex_unlock(&exports_lock);
    return true;
}

bool lb_block_export_del(const char *id, const char *mode, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    bool hard;

    if (!mode || strcmp(mode, "safe") == 0) {
        hard = false;
    } else if (strcmp(mode, "hard") == 0) {
        hard = true;
    } else {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Invalid parameter 'mode': '%s'", mode);
        return false;
    }

    /*
     * Safe mode: a client that has just hung up (a qemu-io that exited a
     * moment ago) may not be reaped yet by its connection thread, so give
     * departing clients a short grace period before refusing.
     */
    for (unsigned tries = 0;; tries++) {
        g_mutex_lock(&exports_lock);
        LbExport *exp = export_find_locked(id);
        if (!exp) {
            g_mutex_unlock(&exports_lock);
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                        "Export '%s' is not found", id);
            return false;
        }
        if (hard || exp->ops->n_clients(exp) == 0) {
            exports = g_list_remove(exports, exp);
            g_mutex_unlock(&exports_lock);
            export_destroy(exp, hard, true);
            return true;
        }
        g_mutex_unlock(&exports_lock);
        if (tries >= EXPORT_DEL_GRACE_MS / 10) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                        "export '%s' still in use", id);
            return false;
        }
        g_usleep(10 * 1000);
    }
}

void lb_export_del_type(const LbExportOps *ops)
{
    GList *victims = NULL;

    g_mutex_lock(&exports_lock);
    for (GList *l = exports; l;) {
        GList *next = l->next;
        LbExport *exp = l->data;
        if (exp->ops == ops) {
            exports = g_list_delete_link(exports, l);
            victims = g_list_append(victims, exp);
        }
        l = next;
    }
    g_mutex_unlock(&exports_lock);

    for (GList *l = victims; l; l = l->next) {
        export_destroy(l->data, true, false);
    }
    g_list_free(victims);
}

char *lb_block_export_query_json(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    g_mutex_lock(&exports_lock);
    for (GList *l = g_list_last(exports); l; l = l->prev) {
        LbExport *exp = l->data;
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, exp->ops->type);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, exp->id);
        json_builder_set_member_name(b, "node-name");
        json_builder_add_string_value(b, exp->node_name);
        json_builder_set_member_name(b, "shutting-down");
        json_builder_add_boolean_value(b, FALSE);
        json_builder_end_object(b);
    }
    g_mutex_unlock(&exports_lock);
    json_builder_end_array(b);

    g_autoptr(JsonNode) root = json_builder_get_root(b);
    return json_to_string(root, FALSE);
}

void lb_exports_shutdown(void)
{
    GError *err = NULL;

    if (lb_nbd_server_running() && !lb_nbd_server_stop(&err)) {
        g_clear_error(&err);
    }
    /* Whatever is left (FUSE exports) goes in hard mode. */
    for (size_t i = 0; i < G_N_ELEMENTS(export_types); i++) {
        lb_export_del_type(export_types[i]);
    }
}
