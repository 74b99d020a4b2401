/*
 * opts.c: option trees (LbOpts) and their three spellings.
 *
 * An LbOpts is an ordered map from keys to values: strings, integers,
 * doubles, booleans, null, nested LbOpts and lists.  Keyval text gives
 * strings only (QEMU's util/keyval.c rules: ",," escapes a comma, dotted
 * keys nest, an implied key may name the first value, the last duplicate
 * wins); JSON text keeps JSON types, and dotted member names are nested as
 * QEMU's json: pseudo-protocol does after flattening.  The typed getters
 * accept both forms, like QEMU's keyval and JSON visitors.  Every getter
 * marks the entry used so lb_opts_check_unused() can name unknown keys.
 * Keyval and JSON parsing live here with the tree because both need the
 * private value type.
 */
#include "config.h"
#include "lb/opts.h"

#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>

G_DEFINE_QUARK(lb-opts-error-quark, lb_opts_error)

typedef enum {
    V_STR, V_INT, V_DOUBLE, V_BOOL, V_NULL, V_OBJ, V_LIST,
} VType;

typedef struct OptsVal {
    VType type;
    char *str;          /* V_STR value; textual form for INT/DOUBLE/BOOL */
    int64_t i;
    bool b;
    LbOpts *obj;
    GPtrArray *list;    /* of OptsVal * */
} OptsVal;

typedef struct Entry {
    char *key;
    OptsVal *val;
    bool used;          /* read by a getter */
    bool traversed;     /* a dotted lookup went through this object */
} Entry;

struct LbOpts {
    gint ref;
    GPtrArray *entries; /* of Entry * */
    char *path;         /* dotted prefix of this object for messages */
};

static void val_free(OptsVal *v)
{
    if (!v) {
        return;
    }
    g_free(v->str);
    if (v->obj) {
        lb_opts_unref(v->obj);
    }
    if (v->list) {
        g_ptr_array_unref(v->list);
    }
    g_free(v);
}

static void entry_free(Entry *e)
{
    g_free(e->key);
    val_free(e->val);
    g_free(e);
}

LbOpts *lb_opts_new(void)
{
    LbOpts *o = g_new0(LbOpts, 1);
    o->ref = 1;
    o->entries = g_ptr_array_new_with_free_func((GDestroyNotify)entry_free);
    return o;
}

LbOpts *lb_opts_ref(LbOpts *o)
{
    g_atomic_int_inc(&o->ref);
    return o;
}

void lb_opts_unref(LbOpts *o)
{
    if (o && g_atomic_int_dec_and_test(&o->ref)) {
        g_ptr_array_unref(o->entries);
        g_free(o->path);
        g_free(o);
    }
}

static Entry *find_entry(LbOpts *o, const char *key)
{
    for (guint i = 0; i < o->entries->len; i++) {
        Entry *e = o->entries->pdata[i];
        if (g_str_equal(e->key, key)) {
            return e;
        }
    }
    return NULL;
}

/* Find @key, following dots through nested objects when there is no
 * entry with the literal name. */
static Entry *lookup(LbOpts *o, const char *key)
{
    Entry *e = find_entry(o, key);
    const char *dot;

    if (e || !(dot = strchr(key, '.'))) {
        return e;
    }
    g_autofree char *head = g_strndup(key, dot - key);
    Entry *parent = find_entry(o, head);
    if (!parent || parent->val->type != V_OBJ) {
        return NULL;
    }
    Entry *leaf = lookup(parent->val->obj, dot + 1);
    if (leaf) {
        parent->traversed = true;
    }
    return leaf;
}

static char *full_name(LbOpts *o, const char *key)
{
    return o->path ? g_strdup_printf("%s.%s", o->path, key) : g_strdup(key);
}

static void put(LbOpts *o, const char *key, OptsVal *v)
{
    Entry *e = find_entry(o, key);

    if (e) {
        val_free(e->val);
        e->val = v;
        e->used = false;
        return;
    }
    e = g_new0(Entry, 1);
    e->key = g_strdup(key);
    e->val = v;
    g_ptr_array_add(o->entries, e);
}

static OptsVal *val_new(VType t)
{
    OptsVal *v = g_new0(OptsVal, 1);
    v->type = t;
    return v;
}

static void set_path(LbOpts *child, LbOpts *parent, const char *key)
{
    g_free(child->path);
    child->path = parent && key ? full_name(parent, key) : NULL;
}

/* ---- setters and structure --------------------------------------------- */

void lb_opts_set_str(LbOpts *o, const char *key, const char *value)
{
    OptsVal *v = val_new(V_STR);
    v->str = g_strdup(value);
    put(o, key, v);
}

void lb_opts_set_int(LbOpts *o, const char *key, int64_t value)
{
    OptsVal *v = val_new(V_INT);
    v->i = value;
    v->str = g_strdup_printf("%" G_GINT64_FORMAT, value);
    put(o, key, v);
}

void lb_opts_set_bool(LbOpts *o, const char *key, bool value)
{
    OptsVal *v = val_new(V_BOOL);
    v->b = value;
    v->str = g_strdup(value ? "true" : "false");
    put(o, key, v);
}

void lb_opts_set_child(LbOpts *o, const char *key, LbOpts *child)
{
    OptsVal *v = val_new(V_OBJ);
    v->obj = lb_opts_ref(child);
    put(o, key, v);
}

void lb_opts_remove(LbOpts *o, const char *key)
{
    for (guint i = 0; i < o->entries->len; i++) {
        Entry *e = o->entries->pdata[i];
        if (g_str_equal(e->key, key)) {
            g_ptr_array_remove_index(o->entries, i);
            return;
        }
    }
}

static OptsVal *val_dup(const OptsVal *v)
{
    OptsVal *n = val_new(v->type);
    n->str = g_strdup(v->str);
    n->i = v->i;
    n->b = v->b;
    if (v->obj) {
        n->obj = lb_opts_dup(v->obj);
    }
    if (v->list) {
        n->list = g_ptr_array_new_with_free_func((GDestroyNotify)val_free);
        for (guint i = 0; i < v->list->len; i++) {
            g_ptr_array_add(n->list, val_dup(v->list->pdata[i]));
        }
    }
    return n;
}

void lb_opts_merge(LbOpts *dst, LbOpts *src)
{
    for (guint i = 0; i < src->entries->len; i++) {
        Entry *e = src->entries->pdata[i];
        put(dst, e->key, val_dup(e->val));
    }
}

LbOpts *lb_opts_dup(LbOpts *o)
{
    LbOpts *n = lb_opts_new();
    n->path = g_strdup(o->path);
    lb_opts_merge(n, o);
    return n;
}

GList *lb_opts_keys(LbOpts *o)
{
    GList *l = NULL;
    for (guint i = 0; i < o->entries->len; i++) {
        l = g_list_prepend(l, ((Entry *)o->entries->pdata[i])->key);
    }
    return g_list_reverse(l);
}

/* ---- getters ------------------------------------------------------------ */

bool lb_opts_has(LbOpts *o, const char *key)
{
    return lookup(o, key) != NULL;
}

const char *lb_opts_get_str(LbOpts *o, const char *key)
{
    Entry *e = lookup(o, key);
    if (!e) {
        return NULL;
    }
    e->used = true;
    return e->val->str;
}

static bool type_error(LbOpts *o, const char *key, const char *expected,
                       GError **errp)
{
    g_autofree char *name = full_name(o, key);
    g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                "Invalid parameter type for '%s', expected: %s", name,
                expected);
    return false;
}

static bool value_error(LbOpts *o, const char *key, const char *expected,
                        GError **errp)
{
    g_autofree char *name = full_name(o, key);
    g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                "Parameter '%s' expects %s", name, expected);
    return false;
}

bool lb_opts_get_string(LbOpts *o, const char *key, const char **out,
                        GError **errp)
{
    Entry *e = lookup(o, key);

    *out = NULL;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type != V_STR) {
        return type_error(o, key, "string", errp);
    }
    *out = e->val->str;
    return true;
}

bool lb_opts_get_bool(LbOpts *o, const char *key, bool def, bool *out,
                      GError **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    Entry *e = lookup(o, key);

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == V_BOOL) {
        *out = e->val->b;
        return true;
    }
    if (e->val->type != V_STR) {
        return type_error(o, key, "boolean", errp);
    }
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_str_equal(e->val->str, yes[i])) {
            *out = true;
            return true;
        }
        if (g_str_equal(e->val->str, no[i])) {
            *out = false;
            return true;
        }
    }
    return value_error(o, key, "'on' or 'off'", errp);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    guint64 v;
    char *end;

    if (!*s || *s == '-' || g_ascii_isspace(*s)) {
        return false;
    }
    errno = 0;
    v = g_ascii_strtoull(s, &end, 0);
    if (errno || *end) {
        return false;
    }
    *out = v;
    return true;
}

bool lb_opts_get_uint(LbOpts *o, const char *key, uint64_t def,
                      uint64_t *out, GError **errp)
{
    Entry *e = lookup(o, key);

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == V_INT) {
        if (e->val->i < 0) {
            return value_error(o, key, "uint64", errp);
        }
        *out = (uint64_t)e->val->i;
        return true;
    }
    if (e->val->type != V_STR) {
        return type_error(o, key, "integer", errp);
    }
    if (!parse_u64(e->val->str, out)) {
        *out = def;
        return value_error(o, key, "uint64", errp);
    }
    return true;
}

bool lb_opts_get_int(LbOpts *o, const char *key, int64_t def, int64_t *out,
                     GError **errp)
{
    Entry *e = lookup(o, key);
    char *end;

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == V_INT) {
        *out = e->val->i;
        return true;
    }
    if (e->val->type != V_STR) {
        return type_error(o, key, "integer", errp);
    }
    errno = 0;
    gint64 v = g_ascii_strtoll(e->val->str, &end, 0);
    if (errno || *end || !*e->val->str) {
        return value_error(o, key, "integer", errp);
    }
    *out = v;
    return true;
}

bool lb_opts_get_size(LbOpts *o, const char *key, uint64_t def,
                      uint64_t *out, GError **errp)
{
    Entry *e = lookup(o, key);

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == V_INT) {
        if (e->val->i < 0) {
            return value_error(o, key, "a size value", errp);
        }
        *out = (uint64_t)e->val->i;
        return true;
    }
    if (e->val->type != V_STR) {
        return type_error(o, key, "integer", errp);
    }
    if (!lb_parse_size(e->val->str, out, NULL)) {
        *out = def;
        return value_error(o, key, "a size value", errp);
    }
    return true;
}

LbOpts *lb_opts_get_child(LbOpts *o, const char *key)
{
    Entry *e = lookup(o, key);
    if (!e || e->val->type != V_OBJ) {
        return NULL;
    }
    e->used = true;
    return e->val->obj;
}

bool lb_opts_is_child(LbOpts *o, const char *key)
{
    Entry *e = lookup(o, key);
    return e && e->val->type == V_OBJ;
}

void lb_opts_mark_used(LbOpts *o, const char *key)
{
    Entry *e = lookup(o, key);
    if (e) {
        e->used = true;
    }
}

static const char *first_unused(LbOpts *o, char **name_out)
{
    for (guint i = 0; i < o->entries->len; i++) {
        Entry *e = o->entries->pdata[i];
        if (e->used) {
            continue;
        }
        if (e->traversed && e->val->type == V_OBJ) {
            /* Only some nested keys were read: look for the others. */
            char *sub = NULL;
            if (first_unused(e->val->obj, &sub)) {
                *name_out = g_strdup_printf("%s.%s", e->key, sub);
                g_free(sub);
                return *name_out;
            }
            continue;
        }
        *name_out = g_strdup(e->key);
        return *name_out;
    }
    return NULL;
}

bool lb_opts_check_unused(LbOpts *o, const char *what, GError **errp)
{
    g_autofree char *name = NULL;

    if (!first_unused(o, &name)) {
        return true;
    }
    g_autofree char *full = full_name(o, name);
    g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_UNKNOWN,
                "%s%sInvalid parameter '%s'", what ? what : "",
                what ? ": " : "", full);
    return false;
}

/* ---- sizes -------------------------------------------------------------- */

bool lb_parse_size(const char *str, uint64_t *out, GError **errp)
{
    static const char suffixes[] = "BKMGTPE";
    const char *p = str;
    char *end = NULL;
    uint64_t mul = 1;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (!g_ascii_isdigit(*p) && *p != '.') {
        goto bad;
    }
    errno = 0;
    guint64 whole = g_ascii_strtoull(p, &end, 10);
    if (errno) {
        goto bad;
    }
    double frac = 0;
    if (*end == '.') {
        char *fend;
        frac = g_ascii_strtod(end, &fend);
        if (fend == end + 1 && end == p) {
            goto bad;
        }
        end = fend;
    }
    if (*end) {
        const char *s = strchr(suffixes, g_ascii_toupper(*end));
        if (!s || end[1]) {
            goto bad;
        }
        mul = (uint64_t)1 << (10 * (s - suffixes));
    } else if (frac != 0) {
        goto bad;    /* a fraction of a byte */
    }
    if (whole > UINT64_MAX / mul) {
        goto bad;
    }
    double extra = frac * (double)mul;
    if ((double)(UINT64_MAX - whole * mul) < extra) {
        goto bad;
    }
    *out = whole * mul + (uint64_t)extra;
    return true;
bad:
    g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                "invalid size value '%s'", str);
    return false;
}

/* ---- keyval ------------------------------------------------------------- */

/* Store @value under the dotted @key, creating intermediate objects. */
static bool keyval_put(LbOpts *root, const char *key, const char *value,
                       GError **errp)
{
    g_auto(GStrv) frags = g_strsplit(key, ".", -1);
    LbOpts *cur = root;
    guint n = g_strv_length(frags);

    for (guint i = 0; i < n; i++) {
        Entry *e = find_entry(cur, frags[i]);
        bool last = i + 1 == n;
        if (e && (e->val->type == V_OBJ) == last) {
            g_autofree char *prefix = g_strjoinv(".", frags);
            /* Report the key up to the fragment that clashed. */
            size_t len = 0;
            for (guint j = 0; j <= i; j++) {
                len += strlen(frags[j]) + (j ? 1 : 0);
            }
            prefix[len] = '\0';
            g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                        "Parameters '%s.*' used inconsistently", prefix);
            return false;
        }
        if (last) {
            lb_opts_set_str(cur, frags[i], value);
        } else if (e) {
            cur = e->val->obj;
        } else {
            g_autoptr(LbOpts) child = lb_opts_new();
            set_path(child, cur, frags[i]);
            lb_opts_set_child(cur, frags[i], child);
            cur = child;
        }
    }
    return true;
}

static bool is_key_char(char c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '-';
}

/* Read a value up to an unescaped ',' ("," doubled is a literal comma). */
static char *keyval_value(const char **sp)
{
    GString *v = g_string_new(NULL);
    const char *s = *sp;

    while (*s) {
        if (*s == ',') {
            if (s[1] != ',') {
                break;
            }
            s++;
        }
        g_string_append_c(v, *s++);
    }
    if (*s == ',') {
        s++;
    }
    *sp = s;
    return g_string_free(v, FALSE);
}

LbOpts *lb_opts_parse_keyval(const char *str, const char *implied_key,
                             GError **errp)
{
    g_autoptr(LbOpts) o = lb_opts_new();
    const char *s = str;
    bool first = true;

    while (*s) {
        size_t len = strcspn(s, "=,");
        if (first && implied_key && s[len] != '=') {
            g_autofree char *v = keyval_value(&s);
            if (!keyval_put(o, implied_key, v, errp)) {
                return NULL;
            }
            first = false;
            continue;
        }
        first = false;
        /* Validate key fragments: [A-Za-z0-9_-]+ separated by dots. */
        size_t i = 0, frag = 0;
        for (; i < len; i++) {
            if (s[i] == '.') {
                if (frag == 0) {
                    break;
                }
                frag = 0;
            } else if (is_key_char(s[i])) {
                frag++;
            } else {
                break;
            }
        }
        if (i < len || frag == 0) {
            g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                        "Invalid parameter '%.*s'", (int)len, s);
            return NULL;
        }
        if (s[len] != '=') {
            g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                        "Expected '=' after parameter '%.*s'", (int)len, s);
            return NULL;
        }
        g_autofree char *key = g_strndup(s, len);
        s += len + 1;
        g_autofree char *v = keyval_value(&s);
        if (!keyval_put(o, key, v, errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&o);
}

/* ---- JSON --------------------------------------------------------------- */

static OptsVal *val_from_json(JsonNode *n, LbOpts *parent, const char *key);

static void json_put(LbOpts *o, const char *key, JsonNode *n)
{
    const char *dot = strchr(key, '.');

    if (dot && dot != key && dot[1]) {
        /* {"file.filename": x} means {"file": {"filename": x}}. */
        g_autofree char *head = g_strndup(key, dot - key);
        Entry *e = find_entry(o, head);
        if (!e || e->val->type != V_OBJ) {
            g_autoptr(LbOpts) child = lb_opts_new();
            set_path(child, o, head);
            lb_opts_set_child(o, head, child);
            e = find_entry(o, head);
        }
        json_put(e->val->obj, dot + 1, n);
        return;
    }
    put(o, key, val_from_json(n, o, key));
}

static OptsVal *val_from_json(JsonNode *n, LbOpts *parent, const char *key)
{
    OptsVal *v;

    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: {
        v = val_new(V_OBJ);
        v->obj = lb_opts_new();
        set_path(v->obj, parent, key);
        JsonObject *obj = json_node_get_object(n);
        g_autoptr(GList) members = json_object_get_members(obj);
        for (GList *l = members; l; l = l->next) {
            json_put(v->obj, l->data, json_object_get_member(obj, l->data));
        }
        return v;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(n);
        v = val_new(V_LIST);
        v->list = g_ptr_array_new_with_free_func((GDestroyNotify)val_free);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            g_ptr_array_add(v->list,
                            val_from_json(json_array_get_element(arr, i),
                                          parent, key));
        }
        return v;
    }
    case JSON_NODE_NULL:
        return val_new(V_NULL);
    case JSON_NODE_VALUE:
    default:
        break;
    }
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_STRING) {
        v = val_new(V_STR);
        v->str = g_strdup(json_node_get_string(n));
    } else if (t == G_TYPE_BOOLEAN) {
        v = val_new(V_BOOL);
        v->b = json_node_get_boolean(n);
        v->str = g_strdup(v->b ? "true" : "false");
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        v = val_new(V_DOUBLE);
        v->str = g_strdup(g_ascii_dtostr(buf, sizeof(buf),
                                         json_node_get_double(n)));
    } else {
        v = val_new(V_INT);
        v->i = json_node_get_int(n);
        v->str = g_strdup_printf("%" G_GINT64_FORMAT, v->i);
    }
    return v;
}

LbOpts *lb_opts_parse_json(const char *json, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;

    if (!json_parser_load_from_data(parser, json, -1, &local)) {
        g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                    "invalid JSON: %s", local->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE,
                    "JSON options must be an object");
        return NULL;
    }
    OptsVal *v = val_from_json(root, NULL, NULL);
    LbOpts *o = g_steal_pointer(&v->obj);
    g_clear_pointer(&o->path, g_free);
    val_free(v);
    return o;
}

LbOpts *lb_opts_parse_filename(const char *str, GError **errp)
{
    if (g_str_has_prefix(str, "json:")) {
        LbOpts *o = lb_opts_parse_json(str + 5, errp);
        if (!o) {
            g_prefix_error(errp, "could not parse json: pseudo-filename: ");
        }
        return o;
    }
    LbOpts *o = lb_opts_new();
    lb_opts_set_str(o, "filename", str);
    return o;
}

LbOpts *lb_opts_parse_any(const char *str, const char *implied_key,
                          GError **errp)
{
    const char *p = str;
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p == '{') {
        return lb_opts_parse_json(p, errp);
    }
    return lb_opts_parse_keyval(str, implied_key, errp);
}

static JsonNode *val_to_json(const OptsVal *v)
{
    JsonNode *n;

    switch (v->type) {
    case V_STR:
        n = json_node_init_string(json_node_alloc(), v->str);
        break;
    case V_INT:
        n = json_node_init_int(json_node_alloc(), v->i);
        break;
    case V_DOUBLE:
        n = json_node_init_double(json_node_alloc(),
                                  g_ascii_strtod(v->str, NULL));
        break;
    case V_BOOL:
        n = json_node_init_boolean(json_node_alloc(), v->b);
        break;
    case V_OBJ: {
        JsonObject *obj = json_object_new();
        for (guint i = 0; i < v->obj->entries->len; i++) {
            Entry *e = v->obj->entries->pdata[i];
            json_object_set_member(obj, e->key, val_to_json(e->val));
        }
        n = json_node_init_object(json_node_alloc(), obj);
        json_object_unref(obj);
        break;
    }
    case V_LIST: {
        JsonArray *arr = json_array_new();
        for (guint i = 0; i < v->list->len; i++) {
            json_array_add_element(arr, val_to_json(v->list->pdata[i]));
        }
        n = json_node_init_array(json_node_alloc(), arr);
        json_array_unref(arr);
        break;
    }
    case V_NULL:
    default:
        n = json_node_init_null(json_node_alloc());
        break;
    }
    return n;
}

char *lb_opts_to_json(LbOpts *o)
{
    OptsVal v = { .type = V_OBJ, .obj = o };
    g_autoptr(JsonNode) root = val_to_json(&v);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}
