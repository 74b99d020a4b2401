/*
 * commands-block.c: the block graph over QMP: blockdev-add, blockdev-del,
 * query-named-block-nodes, and the blockdev-create / blockdev-amend jobs.
 *
 * Arguments arrive validated against qapi/block-core.json and are handed
 * to the block layer as LbOpts, children given either as nested options
 * or as node-name references, exactly as the client sent them:
 *   {"driver":"luks","file":"libvirt-1-format","header":"libvirt-2-storage",
 *    "key-secret":"libvirt-2-storage-secret0"}
 */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "lb-qapi-commands-block-core.h"
#include "lb/block.h"
#include "lb/secret.h"
#include "lb/job.h"
#include "qmp/qmp-opts.h"
#include "qmp/qmp.h"

/* Secrets of the request being dispatched (main loop only). */
static GPtrArray *request_secrets;

void lb_qmp_set_request_secrets(GPtrArray *secrets)
{
    request_secrets = secrets;
}

LbOpts *lb_qmp_opts_from_node(JsonNode *node, GError **errp)
{
    /* The monitor redacted passphrases before parsing: the node holds
     * markers, and the values go back straight into the LbOpts. */
    g_autofree char *text = json_to_string(node, FALSE);
    LbOpts *opts = lb_opts_parse_json(text, errp);

    lb_memzero(text, strlen(text));
    if (opts && request_secrets) {
        lb_opts_unredact(opts, request_secrets);
    }
    return opts;
}

LbOpts *lb_qmp_opts_from_object(JsonObject *obj, GError **errp)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_OBJECT);

    json_node_set_object(node, obj);
    return lb_qmp_opts_from_node(node, errp);
}

JsonNode *lb_qmp_node_from_text(const char *json, GError **errp)
{
    return json ? json_from_string(json, errp) : NULL;
}

bool lb_qmp_blockdev_add(JsonObject *args, JsonNode **ret, GError **errp)
{
    if (!json_object_has_member(args, "node-name")) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "'node-name' must be specified for the root node");
        return false;
    }
    g_autoptr(LbOpts) opts = lb_qmp_opts_from_object(args, errp);
    if (!opts) {
        return false;
    }
    /* The node stays in the registry (which holds it) until blockdev-del. */
    LbNode *bs = lb_node_open(opts, LB_OPEN_RDWR, errp);
    if (!bs) {
        return false;
    }
    lb_node_unref(bs);
    return true;
}

bool lb_qmp_blockdev_del(const LbQmpBlockdevDelArgs *args, JsonNode **ret,
                         GError **errp)
{
    return lb_node_del(args->node_name, errp);
}

static void add_node_info(JsonBuilder *b, LbNode *bs)
{
    const char *drv = lb_node_driver_name(bs);
    const char *filename = lb_node_filename(bs);
    bool encrypted = strcmp(drv, "luks") == 0;
    int64_t len = lb_node_length(bs);
    int64_t alloc = lb_node_allocated_size(bs);
    g_autofree char *spec = lb_node_info_json(bs);
    static const char *const zero_stats[] = {
        "bps",     "bps_rd",  "bps_wr",          "iops",
        "iops_rd", "iops_wr", "write_threshold", "backing_file_depth",
    };

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "node-name");
    json_builder_add_string_value(b, lb_node_name(bs));
    json_builder_set_member_name(b, "drv");
    json_builder_add_string_value(b, drv);
    json_builder_set_member_name(b, "file");
    json_builder_add_string_value(b, filename ? filename : "");
    json_builder_set_member_name(b, "ro");
    json_builder_add_boolean_value(b, !lb_node_is_writable(bs));
    json_builder_set_member_name(b, "encrypted");
    json_builder_add_boolean_value(b, encrypted);
    json_builder_set_member_name(b, "detect_zeroes");
    json_builder_add_string_value(b, "off");
    for (unsigned i = 0; i < G_N_ELEMENTS(zero_stats); i++) {
        json_builder_set_member_name(b, zero_stats[i]);
        json_builder_add_int_value(b, 0);
    }
    json_builder_set_member_name(b, "cache");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "writeback");
    json_builder_add_boolean_value(b, true);
    json_builder_set_member_name(b, "direct");
    json_builder_add_boolean_value(b, false);
    json_builder_set_member_name(b, "no-flush");
    json_builder_add_boolean_value(b, false);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "image");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "filename");
    json_builder_add_string_value(b, filename ? filename : "");
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, drv);
    json_builder_set_member_name(b, "virtual-size");
    json_builder_add_int_value(b, len < 0 ? 0 : len);
    if (alloc >= 0) {
        json_builder_set_member_name(b, "actual-size");
        json_builder_add_int_value(b, alloc);
    }
    if (encrypted) {
        json_builder_set_member_name(b, "encrypted");
        json_builder_add_boolean_value(b, true);
    }
    JsonNode *fs = spec ? json_from_string(spec, NULL) : NULL;
    if (fs) {
        json_builder_set_member_name(b, "format-specific");
        json_builder_add_value(b, fs);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
}

bool lb_qmp_query_named_block_nodes(const LbQmpQueryNamedBlockNodesArgs *args,
                                    JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GList) nodes = lb_node_list();

    json_builder_begin_array(b);
    for (GList *l = nodes; l; l = l->next) {
        add_node_info(b, l->data);
    }
    json_builder_end_array(b);
    *ret = json_builder_get_root(b);
    return true;
}

/* ---- jobs ---------------------------------------------------------------- */

typedef struct AmendJob {
    LbNode *bs;
    LbOpts *opts;
    bool force;
} AmendJob;

/*
 * Jobs get the nodes they work on as references the handler takes in the
 * main loop before the job starts (lb_job_add_node), so a blockdev-del
 * meanwhile is refused ("in use") instead of freeing a node under the job.
 */
static bool create_run(LbJob *job, void *opaque, GError **errp)
{
    return lb_blockdev_create(opaque, errp);
}

/* Create the job, give it its nodes, start it (main loop). */
static bool start_job(const char *id, const char *type, LbJobRun run,
                      void *opaque, GDestroyNotify free_fn, GPtrArray *nodes,
                      GError **errp)
{
    LbJob *job = lb_job_create(id, type, run, opaque, free_fn, errp);

    if (!job) {
        return false;
    }
    for (guint i = 0; i < nodes->len; i++) {
        lb_job_add_node(job, nodes->pdata[i]);
    }
    lb_job_start(job);
    return true;
}

bool lb_qmp_blockdev_create(const LbQmpBlockdevCreateArgs *args, JsonNode **ret,
                            GError **errp)
{
    static const char *const node_keys[] = {"file", "header"};
    LbOpts *opts = lb_qmp_opts_from_node(args->options, errp);

    if (!opts) {
        return false;
    }
    g_autoptr(GPtrArray) nodes =
        g_ptr_array_new_with_free_func((GDestroyNotify)lb_node_unref);
    for (guint i = 0; i < G_N_ELEMENTS(node_keys); i++) {
        const char *name = lb_opts_has(opts, node_keys[i]) &&
                                   !lb_opts_is_child(opts, node_keys[i])
                               ? lb_opts_get_str(opts, node_keys[i])
                               : NULL;
        LbNode *bs = name ? lb_node_find_ref(name) : NULL;
        if (bs) {
            g_ptr_array_add(nodes, bs);
        }
    }
    return start_job(args->job_id, "create", create_run, opts,
                     (GDestroyNotify)lb_opts_unref, nodes, errp);
}

static bool amend_run(LbJob *job, void *opaque, GError **errp)
{
    AmendJob *aj = opaque;

    return lb_node_amend(aj->bs, aj->opts, aj->force, errp);
}

static void amend_free(void *opaque)
{
    AmendJob *aj = opaque;

    lb_node_unref(aj->bs);
    lb_opts_unref(aj->opts);
    g_free(aj);
}

bool lb_qmp_blockdev_amend(const LbQmpBlockdevAmendArgs *args, JsonNode **ret,
                           GError **errp)
{
    LbNode *bs = lb_node_find(args->node_name);

    if (!bs) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Cannot find device='' nor node-name='%s'",
                    args->node_name);
        return false;
    }
    JsonObject *o = json_node_get_object(args->options);
    const char *drv = json_object_get_string_member(o, "driver");
    if (strcmp(drv, lb_node_driver_name(bs)) != 0) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "Driver name mismatch: blockdev-amend cannot "
                            "change the node's driver");
        return false;
    }
    g_autoptr(LbOpts) opts = lb_qmp_opts_from_node(args->options, errp);
    if (!opts) {
        return false;
    }
    lb_opts_remove(opts, "driver");
    AmendJob *aj = g_new0(AmendJob, 1);
    aj->bs = lb_node_ref(bs);
    aj->opts = g_steal_pointer(&opts);
    aj->force = args->has_force && args->force;
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();
    g_ptr_array_add(nodes, bs);
    return start_job(args->job_id, "amend", amend_run, aj, amend_free, nodes,
                     errp);
}
