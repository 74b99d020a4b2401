/*
 * commands-export.c: nbd-server-start/-stop, block-export-add/-del,
 * query-block-exports and QEMU's legacy nbd-server-add/-remove.
 *
 * QMP's nbd-server-start takes QEMU's legacy address form
 *   {"type": "unix", "data": {"path": "/run/nbd.sock"}}
 * which is flattened here into the form the export layer (and the
 * daemon's --nbd-server) uses: {"type": "unix", "path": "/run/nbd.sock"}.
 */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "lb-qapi-commands-block-export.h"
#include "lb/block.h"
#include "lb/export.h"
#include "qmp/qmp-opts.h"
#include "qmp/qmp.h"

bool lb_qmp_nbd_server_start(const LbQmpNbdServerStartArgs *args,
                             JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    JsonObject *addr = json_node_get_object(args->addr);
    JsonObject *data = json_object_get_object_member(addr, "data");
    g_autoptr(GList) keys = json_object_get_members(data);

    /* QEMU's monitor_get_fd() in qemu-storage-daemon: no fd passing. */
    if (g_strcmp0(json_object_get_string_member(addr, "type"), "fd") == 0) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "only QEMU supports file descriptor passing");
        return false;
    }

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "addr");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b,
                                  json_object_get_string_member(addr, "type"));
    for (GList *l = keys; l; l = l->next) {
        json_builder_set_member_name(b, l->data);
        json_builder_add_value(b, json_object_dup_member(data, l->data));
    }
    json_builder_end_object(b);
    if (args->has_tls_creds) {
        json_builder_set_member_name(b, "tls-creds");
        json_builder_add_string_value(b, args->tls_creds);
    }
    if (args->has_tls_authz) {
        json_builder_set_member_name(b, "tls-authz");
        json_builder_add_string_value(b, args->tls_authz);
    }
    if (args->has_max_connections) {
        json_builder_set_member_name(b, "max-connections");
        json_builder_add_int_value(b, (gint64)args->max_connections);
    }
    if (args->has_handshake_max_seconds) {
        json_builder_set_member_name(b, "handshake-max-seconds");
        json_builder_add_int_value(b, (gint64)args->handshake_max_seconds);
    }
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(LbOpts) opts = lb_qmp_opts_from_node(root, errp);
    return opts && lb_nbd_server_start(opts, errp);
}

bool lb_qmp_nbd_server_stop(JsonNode **ret, GError **errp)
{
    return lb_nbd_server_stop(errp);
}

bool lb_qmp_block_export_add(JsonObject *args, JsonNode **ret, GError **errp)
{
    JsonNode *an = json_object_get_member(args, "addr");
    JsonObject *addr = an && JSON_NODE_HOLDS_OBJECT(an)
                           ? json_node_get_object(an)
                           : NULL;

    /* qemu-storage-daemon's monitor_get_fd(): no fd passing over QMP. */
    if (addr && g_strcmp0(json_object_get_string_member_with_default(
                              addr, "type", ""), "fd") == 0) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "only QEMU supports file descriptor passing");
        return false;
    }
    g_autoptr(LbOpts) opts = lb_qmp_opts_from_object(args, errp);

    return opts && lb_block_export_add(opts, errp);
}

bool lb_qmp_block_export_del(const LbQmpBlockExportDelArgs *args,
                             JsonNode **ret, GError **errp)
{
    return lb_block_export_del(
        args->id,
        args->has_mode ? lb_qapi_BlockExportRemoveMode_str[args->mode] : NULL,
        errp);
}

/*
 * nbd-server-add: QEMU's qmp_nbd_server_add() as a block-export-add whose
 * id and name default to @device, downgraded to read-only for a read-only
 * node instead of failing.
 */
bool lb_qmp_nbd_server_add(JsonObject *args, JsonNode **ret, GError **errp)
{
    const char *device = json_object_get_string_member(args, "device");
    const char *name =
        json_object_get_string_member_with_default(args, "name", device);

    if (!lb_nbd_server_running()) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "NBD server not running");
        return false;
    }
    LbNode *node = lb_node_find(device);
    if (!node) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Cannot find device='%s' nor node-name='%s'", device,
                    device);
        return false;
    }
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "nbd");
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "node-name");
    json_builder_add_string_value(b, device);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, name);
    if (json_object_has_member(args, "description")) {
        json_builder_set_member_name(b, "description");
        json_builder_add_value(b, json_object_dup_member(args, "description"));
    }
    json_builder_set_member_name(b, "writable");
    json_builder_add_boolean_value(
        b, json_object_get_boolean_member_with_default(args, "writable",
                                                       FALSE) &&
               lb_node_is_writable(node));
    if (json_object_has_member(args, "bitmap")) {
        json_builder_set_member_name(b, "bitmaps");
        json_builder_begin_array(b);
        json_builder_add_value(b, json_object_dup_member(args, "bitmap"));
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(LbOpts) opts = lb_qmp_opts_from_node(root, errp);
    return opts && lb_block_export_add(opts, errp);
}

/* The type of export @id ("nbd", "fuse"), or NULL (transfer full). */
static char *export_type(const char *id)
{
    g_autofree char *text = lb_block_export_query_json();
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    JsonArray *list = root ? json_node_get_array(root) : NULL;

    for (guint i = 0; list && i < json_array_get_length(list); i++) {
        JsonObject *e = json_array_get_object_element(list, i);
        if (g_strcmp0(json_object_get_string_member(e, "id"), id) == 0) {
            return g_strdup(json_object_get_string_member(e, "type"));
        }
    }
    return NULL;
}

bool lb_qmp_nbd_server_remove(const LbQmpNbdServerRemoveArgs *args,
                              JsonNode **ret, GError **errp)
{
    g_autofree char *type = export_type(args->name);

    if (type && strcmp(type, "nbd") != 0) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Block export '%s' is not an NBD export", args->name);
        return false;
    }
    return lb_block_export_del(
        args->name,
        args->has_mode ? lb_qapi_BlockExportRemoveMode_str[args->mode] : NULL,
        errp);
}

bool lb_qmp_query_block_exports(JsonNode **ret, GError **errp)
{
    g_autofree char *text = lb_block_export_query_json();

    *ret = json_from_string(text ? text : "[]", errp);
    return *ret != NULL;
}
