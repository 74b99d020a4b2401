/*
 * qapi-visit.c: validation of QMP arguments against generated descriptors.
 *
 * This is the input half of QEMU's QObject input visitor, reduced to
 * checking: values are walked in schema order, and the first problem is
 * reported with the same message QEMU gives, naming nested members by
 * their dotted path ("options.file") and list elements by index
 * ("bitmaps[2]").  Keys that no member consumed are rejected once the
 * object's members (base, then the union branch) have all been checked.
 */
#include "config.h"
#include "qapi-visit.h"

#include <math.h>
#include <string.h>

#include "lb/opts.h"
#include "qmp/qmp.h"

#define BUILTIN(sym, str, b)                                                   \
    const LbQapiType sym = {                                                   \
        .name = str, .kind = LB_QAPI_KIND_BUILTIN, .builtin = b}
BUILTIN(lb_qapi_type_str, "str", LB_QAPI_STR);
BUILTIN(lb_qapi_type_int, "int", LB_QAPI_INT);
BUILTIN(lb_qapi_type_int8, "int8", LB_QAPI_INT8);
BUILTIN(lb_qapi_type_int16, "int16", LB_QAPI_INT16);
BUILTIN(lb_qapi_type_int32, "int32", LB_QAPI_INT32);
BUILTIN(lb_qapi_type_int64, "int64", LB_QAPI_INT64);
BUILTIN(lb_qapi_type_uint8, "uint8", LB_QAPI_UINT8);
BUILTIN(lb_qapi_type_uint16, "uint16", LB_QAPI_UINT16);
BUILTIN(lb_qapi_type_uint32, "uint32", LB_QAPI_UINT32);
BUILTIN(lb_qapi_type_uint64, "uint64", LB_QAPI_UINT64);
BUILTIN(lb_qapi_type_size, "size", LB_QAPI_SIZE);
BUILTIN(lb_qapi_type_number, "number", LB_QAPI_NUMBER);
BUILTIN(lb_qapi_type_bool, "bool", LB_QAPI_BOOL);
BUILTIN(lb_qapi_type_null, "null", LB_QAPI_NULL);
BUILTIN(lb_qapi_type_any, "any", LB_QAPI_ANY);

typedef struct Walk {
    GString *path; /* full name of the value being visited */
    bool keyval;   /* scalars may be strings (command-line keyval) */
} Walk;

static bool visit(Walk *w, const LbQapiType *type, const char *name,
                  JsonNode *node, GError **errp);

static void set_err(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_err(GError **errp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC, msg);
}

static const char *full(Walk *w)
{
    return w->path->len ? w->path->str : "null";
}

static bool bad_type(Walk *w, const char *expected, GError **errp)
{
    set_err(errp, "Invalid parameter type for '%s', expected: %s", full(w),
            expected);
    return false;
}

static GType value_type(JsonNode *node)
{
    return JSON_NODE_HOLDS_VALUE(node) ? json_node_get_value_type(node)
                                       : G_TYPE_INVALID;
}

static bool visit_int(Walk *w, LbQapiBuiltin b, JsonNode *node, GError **errp)
{
    static const struct {
        const char *cname;
        int64_t min;
        uint64_t max;
    } range[] = {
        [LB_QAPI_INT] = {"int64", INT64_MIN, INT64_MAX},
        [LB_QAPI_INT8] = {"int8_t", INT8_MIN, INT8_MAX},
        [LB_QAPI_INT16] = {"int16_t", INT16_MIN, INT16_MAX},
        [LB_QAPI_INT32] = {"int32_t", INT32_MIN, INT32_MAX},
        [LB_QAPI_INT64] = {"int64", INT64_MIN, INT64_MAX},
        [LB_QAPI_UINT8] = {"uint8_t", INT64_MIN, UINT8_MAX},
        [LB_QAPI_UINT16] = {"uint16_t", INT64_MIN, UINT16_MAX},
        [LB_QAPI_UINT32] = {"uint32_t", INT64_MIN, UINT32_MAX},
        [LB_QAPI_UINT64] = {"uint64", INT64_MIN, UINT64_MAX},
        [LB_QAPI_SIZE] = {"uint64", INT64_MIN, UINT64_MAX},
    };
    bool is_unsigned = b >= LB_QAPI_UINT8;
    GType t = value_type(node);

    if (t != G_TYPE_INT64) {
        /* As qemu-storage-daemon 10 answers: signed types want a JSON
         * integer; unsigned ones are read as a uint64 before their range
         * check, so anything else "expects uint64". */
        if (!is_unsigned) {
            return bad_type(w, "integer", errp);
        }
        set_err(errp, "Parameter '%s' expects uint64", full(w));
        return false;
    }
    int64_t v = json_node_get_int(node);
    /* Unsigned types take negative numbers modulo 2^64, as QEMU does for
     * backward compatibility; only the small ones check a maximum. */
    if (v < range[b].min || (v >= 0 && (uint64_t)v > range[b].max) ||
        (is_unsigned && v < 0 && range[b].max != UINT64_MAX)) {
        set_err(errp, "Parameter '%s' expects %s", full(w), range[b].cname);
        return false;
    }
    return true;
}

/* Keyval values are strings; check that they convert, as QEMU's keyval
 * input visitor does. */
static bool visit_keyval_scalar(Walk *w, const LbQapiType *type, const char *s,
                                GError **errp)
{
    static const char *const bools[] = {
        "on", "yes", "true", "y", "off", "no", "false", "n",
    };
    uint64_t u;
    char *end = NULL;

    switch (type->builtin) {
    case LB_QAPI_STR:
    case LB_QAPI_ANY:
        return true;
    case LB_QAPI_BOOL:
        for (unsigned i = 0; i < G_N_ELEMENTS(bools); i++) {
            if (strcmp(s, bools[i]) == 0) {
                return true;
            }
        }
        set_err(errp, "Parameter '%s' expects 'on' or 'off'", full(w));
        return false;
    case LB_QAPI_NUMBER:
        g_ascii_strtod(s, &end);
        if (*s && end && *end == '\0') {
            return true;
        }
        set_err(errp, "Parameter '%s' expects number", full(w));
        return false;
    case LB_QAPI_SIZE:
        if (lb_parse_size(s, &u, NULL)) {
            return true;
        }
        set_err(errp,
                "Parameter '%s' expects a non-negative number below "
                "2^64",
                full(w));
        return false;
    case LB_QAPI_NULL:
        return bad_type(w, "null", errp);
    default:
        g_ascii_strtoll(s, &end, 0);
        if (*s && end && *end == '\0') {
            return true;
        }
        set_err(errp, "Parameter '%s' expects integer", full(w));
        return false;
    }
}

static bool visit_builtin(Walk *w, const LbQapiType *type, JsonNode *node,
                          GError **errp)
{
    GType t = value_type(node);

    if (w->keyval && t == G_TYPE_STRING) {
        return visit_keyval_scalar(w, type, json_node_get_string(node), errp);
    }

    switch (type->builtin) {
    case LB_QAPI_STR:
        return t == G_TYPE_STRING || bad_type(w, "string", errp);
    case LB_QAPI_BOOL:
        return t == G_TYPE_BOOLEAN || bad_type(w, "boolean", errp);
    case LB_QAPI_NUMBER:
        return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE ||
               bad_type(w, "number", errp);
    case LB_QAPI_NULL:
        return JSON_NODE_HOLDS_NULL(node) || bad_type(w, "null", errp);
    case LB_QAPI_ANY:
        return true;
    default:
        return visit_int(w, type->builtin, node, errp);
    }
}

int lb_qapi_enum_value(const LbQapiType *type, const char *str)
{
    for (unsigned i = 0; str && i < type->n_values; i++) {
        if (strcmp(type->values[i], str) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static bool visit_enum(Walk *w, const LbQapiType *type, const char *name,
                       JsonNode *node, GError **errp)
{
    if (value_type(node) != G_TYPE_STRING) {
        return bad_type(w, "string", errp);
    }
    const char *s = json_node_get_string(node);
    if (lb_qapi_enum_value(type, s) < 0) {
        /* QEMU names the member here, not its full path. */
        set_err(errp, "Parameter '%s' does not accept value '%s'",
                name ? name : full(w), s);
        return false;
    }
    return true;
}

static bool visit_members(Walk *w, const LbQapiType *type, JsonObject *obj,
                          GHashTable *used, GError **errp)
{
    for (unsigned i = 0; i < type->n_members; i++) {
        const LbQapiMember *m = &type->members[i];
        gsize len = w->path->len;
        bool ok = true;

        if (len) {
            g_string_append_c(w->path, '.');
        }
        g_string_append(w->path, m->name);
        if (json_object_has_member(obj, m->name)) {
            g_hash_table_add(used, (gpointer)m->name);
            ok = visit(w, m->type, m->name,
                       json_object_get_member(obj, m->name), errp);
        } else if (!m->optional) {
            set_err(errp, "Parameter '%s' is missing", w->path->str);
            ok = false;
        }
        g_string_truncate(w->path, len);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool visit_object(Walk *w, const LbQapiType *type, JsonObject *obj,
                         GError **errp)
{
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);

    if (!visit_members(w, type, obj, used, errp)) {
        return false;
    }
    if (type->tag) {
        /* The tag is a required enum member, already checked above. */
        const char *v = json_object_get_string_member(obj, type->tag);
        for (unsigned i = 0; i < type->n_variants; i++) {
            if (strcmp(type->variants[i].value, v) == 0 &&
                !visit_members(w, type->variants[i].type, obj, used, errp)) {
                return false;
            }
        }
    }
    if (w->keyval) {
        /* Unknown keyval keys are left to the layer that consumes the
         * options ("Invalid parameter 'KEY'", as the tools report). */
        return true;
    }
    g_autoptr(GList) keys = json_object_get_members(obj);
    for (GList *l = keys; l; l = l->next) {
        if (!g_hash_table_contains(used, l->data)) {
            set_err(errp, "Parameter '%s%s%s' is unexpected", w->path->str,
                    w->path->len ? "." : "", (const char *)l->data);
            return false;
        }
    }
    return true;
}

static bool alt_accepts(const LbQapiType *t, JsonNode *node, bool keyval)
{
    GType v = value_type(node);

    if (keyval && v == G_TYPE_STRING &&
        (t->kind == LB_QAPI_KIND_BUILTIN || t->kind == LB_QAPI_KIND_ENUM)) {
        return true;
    }

    switch (t->kind) {
    case LB_QAPI_KIND_OBJECT:
        return JSON_NODE_HOLDS_OBJECT(node);
    case LB_QAPI_KIND_ARRAY:
        return JSON_NODE_HOLDS_ARRAY(node);
    case LB_QAPI_KIND_ENUM:
        return v == G_TYPE_STRING;
    case LB_QAPI_KIND_BUILTIN:
        switch (t->builtin) {
        case LB_QAPI_STR:
            return v == G_TYPE_STRING;
        case LB_QAPI_BOOL:
            return v == G_TYPE_BOOLEAN;
        case LB_QAPI_NULL:
            return JSON_NODE_HOLDS_NULL(node);
        case LB_QAPI_NUMBER:
            return v == G_TYPE_INT64 || v == G_TYPE_DOUBLE;
        case LB_QAPI_ANY:
            return true;
        default:
            return v == G_TYPE_INT64;
        }
    default:
        return false;
    }
}

/*
 * A list on the command line: "rules.0.match=a,rules.1.match=b" arrives
 * as an object whose keys are the indexes 0..n-1 (QEMU's keyval lists).
 */
static bool visit_keyval_list(Walk *w, const LbQapiType *type,
                              JsonObject *obj, GError **errp)
{
    guint n = json_object_get_size(obj);

    for (guint i = 0; i < n; i++) {
        gsize len = w->path->len;
        g_string_append_printf(w->path, ".%u", i);
        g_autofree char *key = g_strdup_printf("%u", i);
        JsonNode *elem = json_object_get_member(obj, key);
        bool ok = elem != NULL;
        if (!ok) {
            set_err(errp, "Parameter '%s' missing", w->path->str);
        } else {
            ok = visit(w, type->element, NULL, elem, errp);
        }
        g_string_truncate(w->path, len);
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool visit(Walk *w, const LbQapiType *type, const char *name,
                  JsonNode *node, GError **errp)
{
    switch (type->kind) {
    case LB_QAPI_KIND_BUILTIN:
        return visit_builtin(w, type, node, errp);
    case LB_QAPI_KIND_ENUM:
        return visit_enum(w, type, name, node, errp);
    case LB_QAPI_KIND_OBJECT:
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            return bad_type(w, "object", errp);
        }
        return visit_object(w, type, json_node_get_object(node), errp);
    case LB_QAPI_KIND_ARRAY: {
        if (w->keyval && JSON_NODE_HOLDS_OBJECT(node)) {
            return visit_keyval_list(w, type, json_node_get_object(node),
                                     errp);
        }
        if (!JSON_NODE_HOLDS_ARRAY(node)) {
            return bad_type(w, "array", errp);
        }
        JsonArray *arr = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            gsize len = w->path->len;
            g_string_append_printf(w->path, "[%u]", i);
            /* Elements have no name of their own: messages that would
             * name the member use the element's full path instead. */
            bool ok = visit(w, type->element, NULL,
                            json_array_get_element(arr, i), errp);
            g_string_truncate(w->path, len);
            if (!ok) {
                return false;
            }
        }
        return true;
    }
    case LB_QAPI_KIND_ALTERNATE:
        for (unsigned i = 0; i < type->n_alternatives; i++) {
            if (alt_accepts(type->alternatives[i], node, w->keyval)) {
                return visit(w, type->alternatives[i], name, node, errp);
            }
        }
        /* QEMU names a list element "null" here (it has no name). */
        set_err(errp, "Invalid parameter type for '%s', expected: %s",
                name ? name : "null", type->name);
        return false;
    }
    g_assert_not_reached();
}

bool lb_qapi_validate_full(const LbQapiType *type, JsonNode *node, bool keyval,
                           GError **errp)
{
    Walk w = {.path = g_string_new(NULL), .keyval = keyval};
    g_autoptr(JsonNode) empty = NULL;
    bool ok;

    if (!node) {
        empty = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(empty, json_object_new());
        node = empty;
    }
    ok = visit(&w, type, NULL, node, errp);
    g_string_free(w.path, TRUE);
    return ok;
}

bool lb_qapi_validate(const LbQapiType *type, JsonNode *node, GError **errp)
{
    return lb_qapi_validate_full(type, node, false, errp);
}
