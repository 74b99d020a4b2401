/*
 * block/iocmds-dump.c: QEMU's human form of an info JSON object.
 *
 * `qemu-img info` and qemu-io's `info` print the format-specific data
 * (ImageInfoSpecific) not from hand-written code per field but generically
 * from the JSON: every key is printed with '-' turned into ' ', nested
 * objects and list elements ("[0]:") are indented by four more spaces, and
 * scalars follow their key on the same line:
 *
 *       detached header: true
 *       slots:
 *           [0]:
 *               active: true
 *
 * Doing the same here means a field added to the JSON by the luks driver
 * shows up in the human output with the name QEMU would give it.
 */
#include "config.h"
#include "lb/iocmds.h"

#include <inttypes.h>

#include <glib.h>
#include <json-glib/json-glib.h>

static void dump_node(GString *out, JsonNode *node, unsigned indent);

static bool dump_is_complex(JsonNode *node)
{
    return JSON_NODE_HOLDS_OBJECT(node) || JSON_NODE_HOLDS_ARRAY(node);
}

static void dump_scalar(GString *out, JsonNode *node)
{
    GType t;

    if (JSON_NODE_HOLDS_NULL(node)) {
        g_string_append(out, "null");
        return;
    }
    t = json_node_get_value_type(node);
    if (t == G_TYPE_INT64) {
        g_string_append_printf(out, "%" PRId64, json_node_get_int(node));
    } else if (t == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else if (t == G_TYPE_DOUBLE) {
        g_string_append_printf(out, "%f", json_node_get_double(node));
    } else {
        g_string_append(out, json_node_get_string(node));
    }
}

static void dump_object(GString *out, JsonObject *obj, unsigned indent)
{
    g_autoptr(GList) members = json_object_get_members(obj);

    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *val = json_object_get_member(obj, key);
        g_autofree char *name = g_strdup(key);

        g_strdelimit(name, "-", ' ');
        g_string_append_printf(out, "%*s%s:", indent, "", name);
        if (dump_is_complex(val)) {
            g_string_append_c(out, '\n');
            dump_node(out, val, indent + 4);
        } else {
            g_string_append_c(out, ' ');
            dump_scalar(out, val);
            g_string_append_c(out, '\n');
        }
    }
}

static void dump_array(GString *out, JsonArray *arr, unsigned indent)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *val = json_array_get_element(arr, i);

        g_string_append_printf(out, "%*s[%u]:", indent, "", i);
        if (dump_is_complex(val)) {
            g_string_append_c(out, '\n');
            dump_node(out, val, indent + 4);
        } else {
            g_string_append_c(out, ' ');
            dump_scalar(out, val);
            g_string_append_c(out, '\n');
        }
    }
}

static void dump_node(GString *out, JsonNode *node, unsigned indent)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        dump_object(out, json_node_get_object(node), indent);
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        dump_array(out, json_node_get_array(node), indent);
    } else {
        g_string_append_printf(out, "%*s", indent, "");
        dump_scalar(out, node);
        g_string_append_c(out, '\n');
    }
}

bool lb_iocmds_dump_json(GString *out, const char *json, unsigned indent,
                         GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonObject *obj;

    if (!json_parser_load_from_data(parser, json, -1, errp)) {
        return false;
    }
    root = json_parser_get_root(parser);
    /* An ImageInfoSpecific {"type": .., "data": {..}} prints its data. */
    if (root && JSON_NODE_HOLDS_OBJECT(root)) {
        obj = json_node_get_object(root);
        if (json_object_has_member(obj, "type") &&
            json_object_has_member(obj, "data") &&
            json_object_get_size(obj) == 2) {
            root = json_object_get_member(obj, "data");
        }
    }
    if (root) {
        dump_node(out, root, indent);
    }
    return true;
}
