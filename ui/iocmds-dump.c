/*
 * ui/iocmds-dump.c: QEMU's output shapes for the qemu-io engine and
 * `luksblk-img info`: the request report lines ("read N/N bytes at offset
 * X", "1 MiB, 1 ops; 00.00 sec (...)"), the -v hex dump, and the human
 * and pretty-JSON forms of an info object.
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
 *
 * Member order: QEMU prints a dictionary in the iteration order of its
 * QDict, a hash table of 512 buckets keyed by the tdb string hash, each
 * bucket listing the most recently inserted key first.  Both printers here
 * (human and pretty JSON) walk objects in that order, so the output lines
 * come in the order qemu-img's do ("ivgen alg" first, then "detached
 * header", ...).
 */
#include "config.h"
#include "lb/iocmds.h"
#include "iocmds-priv.h"

#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

/* ---- request reports ---------------------------------------------------- */

void lb_iocmds_cvtstr(double value, GString *out)
{
    static const char *const units[] = {
        "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    };
    unsigned i = 0;

    while (i + 1 < G_N_ELEMENTS(units) && value >= 1024.0) {
        value /= 1024.0;
        i++;
    }
    if (value == (double)(uint64_t)value) {
        g_string_append_printf(out, "%" PRIu64 " %s", (uint64_t)value,
                               units[i]);
    } else if (i == 0) {
        g_string_append_printf(out, "%f %s", value, units[i]);
    } else {
        g_string_append_printf(out, "%.3f %s", value, units[i]);
    }
}

static void io_timestr(gint64 usec, GString *out)
{
    double sec = usec / 1e6;

    if (usec >= G_USEC_PER_SEC) {
        unsigned s = (unsigned)sec;
        g_string_append_printf(out, "%u:%02u:%05.2f", s / 3600,
                               (s / 60) % 60, sec - (s / 60) * 60);
    } else {
        g_string_append_printf(out, "%05.2f sec", sec);
    }
}

/* The two lines qemu-io prints after a request (or one line with -C). */
void lb_iocmds_report(GString *out, const char *op, gint64 usec,
                      uint64_t off, uint64_t count, bool cflag)
{
    double sec = usec > 0 ? usec / 1e6 : 1e-9;

    if (cflag) {
        g_string_append_printf(out, "%" PRIu64 ",1,", count);
        unsigned s = (unsigned)sec;
        g_string_append_printf(out, "%u:%02u:%05.2f,%.3f,%.3f\n", s / 3600,
                               (s / 60) % 60, sec - (s / 60) * 60,
                               count / sec, 1 / sec);
        return;
    }
    g_string_append_printf(out, "%s %" PRIu64 "/%" PRIu64
                           " bytes at offset %" PRIu64 "\n",
                           op, count, count, off);
    lb_iocmds_cvtstr((double)count, out);
    g_string_append(out, ", 1 ops; ");
    io_timestr(usec, out);
    g_string_append(out, " (");
    lb_iocmds_cvtstr(count / sec, out);
    g_string_append_printf(out, "/sec and %.4f ops/sec)\n", 1 / sec);
}

/* qemu-io's -v dump: 16 bytes a line, alphanumerics shown, rest as '.'. */
void lb_iocmds_hexdump(GString *out, const guint8 *buf, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i += 16) {
        size_t n = MIN(16, len - i);
        g_string_append_printf(out, "%08" PRIx64 ":  ", off + i);
        for (size_t j = 0; j < n; j++) {
            g_string_append_printf(out, "%02x ", buf[i + j]);
        }
        g_string_append_c(out, ' ');
        for (size_t j = 0; j < n; j++) {
            g_string_append_c(out, g_ascii_isalnum(buf[i + j]) ?
                              (char)buf[i + j] : '.');
        }
        g_string_append_c(out, '\n');
    }
}

bool lb_iocmds_pattern_ok(const guint8 *buf, size_t len, int pattern)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            return false;
        }
    }
    return true;
}

/* ---- info objects ------------------------------------------------------- */

static void dump_node(GString *out, JsonNode *node, unsigned indent);

#define QDICT_BUCKETS 512

/* The bucket of @key in a QEMU QDict (the tdb hash, modulo 512). */
static guint qdict_bucket(const char *key)
{
    guint32 v = 0x238F13AFu * (guint32)strlen(key);

    for (guint i = 0; key[i]; i++) {
        v += (guint32)(guchar)key[i] << (i * 5 % 24);
    }
    return (1103515243u * v + 12345u) % QDICT_BUCKETS;
}

typedef struct DumpMember {
    const char *key;
    guint bucket;
    guint index;
} DumpMember;

static int dump_member_cmp(const void *a, const void *b)
{
    const DumpMember *x = a, *y = b;

    if (x->bucket != y->bucket) {
        return x->bucket < y->bucket ? -1 : 1;
    }
    return x->index > y->index ? -1 : 1;   /* newest first in a bucket */
}

/* The members of @obj in QDict iteration order (transfer container). */
static GArray *dump_members(JsonObject *obj)
{
    g_autoptr(GList) keys = json_object_get_members(obj);
    GArray *arr = g_array_new(FALSE, FALSE, sizeof(DumpMember));
    guint i = 0;

    for (GList *l = keys; l; l = l->next, i++) {
        DumpMember m = { l->data, qdict_bucket(l->data), i };
        g_array_append_val(arr, m);
    }
    g_array_sort(arr, dump_member_cmp);
    return arr;
}

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

/* "LABEL: value" on one line, or "LABEL:" with the nested value below. */
static void dump_entry(GString *out, const char *label, JsonNode *val,
                       unsigned indent)
{
    g_string_append_printf(out, "%*s%s:", indent, "", label);
    if (dump_is_complex(val)) {
        g_string_append_c(out, '\n');
        dump_node(out, val, indent + 4);
    } else {
        g_string_append_c(out, ' ');
        dump_scalar(out, val);
        g_string_append_c(out, '\n');
    }
}

static void dump_object(GString *out, JsonObject *obj, unsigned indent)
{
    g_autoptr(GArray) members = dump_members(obj);

    for (guint i = 0; i < members->len; i++) {
        const char *key = g_array_index(members, DumpMember, i).key;
        g_autofree char *name = g_strdup(key);

        g_strdelimit(name, "-", ' ');
        dump_entry(out, name, json_object_get_member(obj, key), indent);
    }
}

static void dump_array(GString *out, JsonArray *arr, unsigned indent)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        g_autofree char *label = g_strdup_printf("[%u]", i);

        dump_entry(out, label, json_array_get_element(arr, i), indent);
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

/*
 * Parse @json.  Strings built from file names may hold bytes that are not
 * UTF-8: as QEMU does, each such byte reads as U+FFFD.
 */
static bool dump_parse(JsonParser *parser, const char *json, GError **errp)
{
    g_autofree char *valid = NULL;

    if (!g_utf8_validate(json, -1, NULL)) {
        json = valid = g_utf8_make_valid(json, -1);
    }
    return json_parser_load_from_data(parser, json, -1, errp);
}

bool lb_iocmds_dump_json(GString *out, const char *json, unsigned indent,
                         GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonNode *root;
    JsonObject *obj;

    if (!dump_parse(parser, json, errp)) {
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

/* ---- QEMU's pretty JSON (qobject_to_json_pretty) ------------------------ */

/*
 * A string as QEMU's qobject_to_json writes it: the short escapes for
 * '"', '\\', \b, \f, \n, \r and \t, "\\uXXXX" (upper-case hex, a
 * surrogate pair above U+FFFF) for other control characters and for
 * everything beyond ASCII.  @s is valid UTF-8 (it comes from the parser).
 */
static void json_put_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const char *p = s; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (c > 0xFFFF) {
                c -= 0x10000;
                g_string_append_printf(out, "\\u%04X\\u%04X",
                                       0xD800 | (c >> 10),
                                       0xDC00 | (c & 0x3FF));
            } else if (c < 0x20 || c >= 0x7F) {
                g_string_append_printf(out, "\\u%04X", c);
            } else {
                g_string_append_c(out, (char)c);
            }
        }
    }
    g_string_append_c(out, '"');
}

/*
 * Objects and arrays open on the current line, put each element on its own
 * line four spaces further in, and close on a line of their own, even when
 * empty ("[\n    ]"), as QEMU prints them.
 */
static void json_put(GString *out, JsonNode *n, unsigned indent)
{
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *o = json_node_get_object(n);
        g_autoptr(GArray) members = dump_members(o);
        g_string_append(out, "{\n");
        for (guint i = 0; i < members->len; i++) {
            const char *key = g_array_index(members, DumpMember, i).key;
            g_string_append_printf(out, "%*s", indent + 4, "");
            json_put_string(out, key);
            g_string_append(out, ": ");
            json_put(out, json_object_get_member(o, key), indent + 4);
            g_string_append(out, i + 1 < members->len ? ",\n" : "\n");
        }
        g_string_append_printf(out, "%*s}", indent, "");
    } else if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *a = json_node_get_array(n);
        guint len = json_array_get_length(a);
        g_string_append(out, "[\n");
        for (guint i = 0; i < len; i++) {
            g_string_append_printf(out, "%*s", indent + 4, "");
            json_put(out, json_array_get_element(a, i), indent + 4);
            g_string_append(out, i + 1 < len ? ",\n" : "\n");
        }
        g_string_append_printf(out, "%*s]", indent, "");
    } else if (JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_STRING) {
        json_put_string(out, json_node_get_string(n));
    } else {
        dump_scalar(out, n);
    }
}

char *lb_iocmds_json_pretty(const char *json, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    GString *out;

    if (!dump_parse(parser, json, errp)) {
        return NULL;
    }
    out = g_string_new(NULL);
    if (json_parser_get_root(parser)) {
        json_put(out, json_parser_get_root(parser), 0);
    }
    return g_string_free(out, FALSE);
}
