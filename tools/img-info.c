/*
 * tools/img-info.c: `luksblk-img info`, as qemu-img info:
 *
 *   info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] [-U]
 *        filename
 *
 * The image is opened without keys (LB_OPEN_NO_KEYS, QEMU's BDRV_O_NO_IO),
 * so a LUKS header is described without a passphrase.  The description is
 * built once as QEMU's ImageInfo JSON ("virtual-size", "filename",
 * "format", "actual-size", "format-specific", "encrypted", "dirty-flag",
 * "children") and printed either as JSON in QEMU's pretty layout or in
 * qemu-img's human form, whose format-specific part is generated from the
 * JSON by lb_iocmds_dump_json().
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lb/block.h"
#include "lb/iocmds.h"

/* QEMU lists the most recently attached child first. */
static const char *const info_child_roles[] = { "header", "file" };

static bool info_is_protocol(LbNode *bs)
{
    return !strcmp(lb_node_driver_name(bs), "file");
}

/* QEMU's ImageInfo of @bs and its children, as a JSON object. */
static JsonObject *info_build(LbNode *bs)
{
    JsonObject *o = json_object_new();
    JsonArray *children = json_array_new();
    g_autofree char *spec = lb_node_info_json(bs);
    int64_t len = lb_node_length(bs);
    int64_t alloc = lb_node_allocated_size(bs);

    for (size_t i = 0; i < G_N_ELEMENTS(info_child_roles); i++) {
        LbNode *child = lb_node_child(bs, info_child_roles[i]);
        if (child) {
            JsonObject *c = json_object_new();
            json_object_set_string_member(c, "name", info_child_roles[i]);
            json_object_set_object_member(c, "info", info_build(child));
            json_array_add_object_element(children, c);
        }
    }
    json_object_set_array_member(o, "children", children);
    json_object_set_int_member(o, "virtual-size", len < 0 ? 0 : len);
    json_object_set_string_member(o, "filename", lb_node_filename(bs));
    json_object_set_string_member(o, "format", lb_node_driver_name(bs));
    if (alloc >= 0) {
        json_object_set_int_member(o, "actual-size", alloc);
    }
    if (spec) {
        g_autoptr(JsonParser) p = json_parser_new();
        if (json_parser_load_from_data(p, spec, -1, NULL) &&
            json_parser_get_root(p)) {
            json_object_set_member(o, "format-specific",
                                   json_node_copy(json_parser_get_root(p)));
        }
    } else if (info_is_protocol(bs)) {
        JsonObject *fs = json_object_new();
        json_object_set_string_member(fs, "type", "file");
        json_object_set_object_member(fs, "data", json_object_new());
        json_object_set_object_member(o, "format-specific", fs);
    }
    if (!strcmp(lb_node_driver_name(bs), "luks")) {
        json_object_set_boolean_member(o, "encrypted", true);
    }
    json_object_set_boolean_member(o, "dirty-flag", false);
    return o;
}

/* ---- qemu-img's human form (bdrv_image_info_dump) ------------------------ */

static void info_human(GString *out, JsonObject *o, const char *path,
                       unsigned indent)
{
    bool protocol = !strcmp(json_object_get_string_member(o, "format"),
                            "file");
    int64_t vsize = json_object_get_int_member(o, "virtual-size");
    g_autofree char *vstr = img_size_to_str(vsize);

    g_string_append_printf(out, "%*s%s: %s\n", indent, "",
                           path ? "filename" : "image",
                           json_object_get_string_member(o, "filename"));
    g_string_append_printf(out, "%*s%s: %s\n", indent, "",
                           protocol ? "protocol type" : "file format",
                           json_object_get_string_member(o, "format"));
    g_string_append_printf(out, "%*s%s: %s (%" PRId64 " bytes)\n", indent, "",
                           protocol ? "file length" : "virtual size",
                           vstr, vsize);
    if (json_object_has_member(o, "actual-size")) {
        g_autofree char *astr = img_size_to_str(
            json_object_get_int_member(o, "actual-size"));
        g_string_append_printf(out, "%*sdisk size: %s\n", indent, "", astr);
    } else {
        g_string_append_printf(out, "%*sdisk size: unavailable\n", indent,
                               "");
    }
    if (json_object_has_member(o, "encrypted")) {
        g_string_append_printf(out, "%*sencrypted: yes\n", indent, "");
    }
    if (json_object_has_member(o, "format-specific")) {
        JsonObject *fs = json_object_get_object_member(o, "format-specific");
        JsonObject *data = json_object_get_object_member(fs, "data");
        if (data && json_object_get_size(data) > 0) {
            JsonNode *node = json_object_get_member(fs, "data");
            g_autofree char *text = json_to_string(node, FALSE);
            g_string_append_printf(out, "%*sFormat specific information:\n",
                                   indent, "");
            lb_iocmds_dump_json(out, text, indent + 4, NULL);
        }
    }
    JsonArray *children = json_object_get_array_member(o, "children");
    for (guint i = 0; children && i < json_array_get_length(children); i++) {
        JsonObject *c = json_array_get_object_element(children, i);
        g_autofree char *cpath = g_strdup_printf(
            "%s/%s", path ? path : "", json_object_get_string_member(c,
                                                                     "name"));
        g_string_append_printf(out, "%*sChild node '%s':\n", indent, "",
                               cpath);
        info_human(out, json_object_get_object_member(c, "info"), cpath,
                   indent + 4);
    }
}

int img_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, IMG_OPT_BACKING_CHAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgArgs a = { .cmd = "info", .flags = LB_OPEN_NO_KEYS };
    int c, ret;

    while ((c = getopt_long(argc, argv, "f:hU", longopts, NULL)) != -1) {
        if (c != IMG_OPT_BACKING_CHAIN &&
            (ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
            return ret;
        }
    }
    const char *name = img_one_file(&a, argc, argv);
    if (!name) {
        return 1;
    }
    g_autoptr(LbNode) bs = img_open_args(name, &a);
    if (!bs) {
        return 1;
    }
    g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(root, info_build(bs));
    g_autoptr(GString) out = g_string_new(NULL);
    if (a.json) {
        g_autofree char *text = json_to_string(root, FALSE);
        g_autofree char *pretty = lb_iocmds_json_pretty(text, NULL);
        g_string_append_printf(out, "%s\n", pretty);
    } else {
        info_human(out, json_node_get_object(root), NULL, 0);
    }
    fputs(out->str, stdout);
    return 0;
}
