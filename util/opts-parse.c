/*
 * opts-parse.c: the text forms of LbOpts.
 *
 * Keyval follows QEMU's util/keyval.c: pairs separated by ',', a doubled
 * ",," is a literal comma inside a value, dotted keys nest, the first
 * element may omit "key=" when the caller names an implied key, and the
 * last of duplicate keys wins; a key used both as a value and as an object
 * is an error.  JSON keeps its types; dotted member names nest as QEMU's
 * json: pseudo-protocol does after flattening.
 */
#include "config.h"
#include "lb/opts.h"
#include "opts-priv.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "lb/secret.h"

/* A heap string that may hold a passphrase: wiped when freed. */
typedef char LbWipedStr;

static void wiped_str_free(LbWipedStr *s)
{
    if (s) {
        lb_memzero(s, strlen(s));
        g_free(s);
    }
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbWipedStr, wiped_str_free)

static void secret_free(gpointer s)
{
    lb_secret_free(s);
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
        LbOptsEntry *e = lb_opts_find_entry(cur, frags[i]);
        bool last = i + 1 == n;
        if (e && (e->val->type == LB_OPTS_V_OBJ) == last) {
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
            lb_opts_set_path(child, cur, frags[i]);
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

/* Read a value up to an unescaped ',' (",," is a literal comma).  Sized
 * before it is filled: no reallocation leaves partial copies behind. */
static char *keyval_value(const char **sp)
{
    const char *s = *sp;
    size_t n = 0;

    for (const char *p = s; *p && !(*p == ',' && p[1] != ','); p++) {
        p += *p == ',';
        n++;
    }
    char *v = g_malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        s += *s == ',';
        v[i] = *s++;
    }
    v[n] = '\0';
    if (*s == ',') {
        s++;
    }
    *sp = s;
    return v;
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
            g_autoptr(LbWipedStr) v = keyval_value(&s);
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
        g_autoptr(LbWipedStr) v = keyval_value(&s);
        if (!keyval_put(o, key, v, errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&o);
}

/* ---- JSON --------------------------------------------------------------- */

static LbOptsVal *val_from_json(JsonNode *n, LbOpts *parent, const char *key);

static void json_put(LbOpts *o, const char *key, JsonNode *n)
{
    const char *dot = strchr(key, '.');

    if (dot && dot != key && dot[1]) {
        /* {"file.filename": x} means {"file": {"filename": x}}. */
        g_autofree char *head = g_strndup(key, dot - key);
        LbOptsEntry *e = lb_opts_find_entry(o, head);
        if (!e || e->val->type != LB_OPTS_V_OBJ) {
            g_autoptr(LbOpts) child = lb_opts_new();
            lb_opts_set_path(child, o, head);
            lb_opts_set_child(o, head, child);
            e = lb_opts_find_entry(o, head);
        }
        json_put(e->val->obj, dot + 1, n);
        return;
    }
    lb_opts_put(o, key, val_from_json(n, o, key));
}

static LbOptsVal *val_from_json(JsonNode *n, LbOpts *parent, const char *key)
{
    LbOptsVal *v;

    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: {
        v = lb_opts_val_new(LB_OPTS_V_OBJ);
        v->obj = lb_opts_new();
        lb_opts_set_path(v->obj, parent, key);
        JsonObject *obj = json_node_get_object(n);
        g_autoptr(GList) members = json_object_get_members(obj);
        for (GList *l = members; l; l = l->next) {
            json_put(v->obj, l->data, json_object_get_member(obj, l->data));
        }
        return v;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *arr = json_node_get_array(n);
        v = lb_opts_val_new(LB_OPTS_V_LIST);
        v->list =
            g_ptr_array_new_with_free_func((GDestroyNotify)lb_opts_val_free);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            g_ptr_array_add(
                v->list,
                val_from_json(json_array_get_element(arr, i), parent, key));
        }
        return v;
    }
    case JSON_NODE_NULL:
        return lb_opts_val_new(LB_OPTS_V_NULL);
    case JSON_NODE_VALUE:
    default:
        break;
    }
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_STRING) {
        v = lb_opts_val_new(LB_OPTS_V_STR);
        v->str = g_strdup(json_node_get_string(n));
    } else if (t == G_TYPE_BOOLEAN) {
        v = lb_opts_val_new(LB_OPTS_V_BOOL);
        v->b = json_node_get_boolean(n);
        v->str = g_strdup(v->b ? "true" : "false");
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        v = lb_opts_val_new(LB_OPTS_V_DOUBLE);
        v->str =
            g_strdup(g_ascii_dtostr(buf, sizeof(buf), json_node_get_double(n)));
    } else {
        v = lb_opts_val_new(LB_OPTS_V_INT);
        v->i = json_node_get_int(n);
        v->str = g_strdup_printf("%" G_GINT64_FORMAT, v->i);
    }
    return v;
}

LbOpts *lb_opts_parse_json(const char *json, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func(secret_free);
    /* json-glib never sees a passphrase: it would leave copies behind. */
    g_autofree char *clean = lb_opts_json_redact(json, -1, secrets);

    if (!json_parser_load_from_data(parser, clean, -1, &local)) {
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
    LbOptsVal *v = val_from_json(root, NULL, NULL);
    LbOpts *o = g_steal_pointer(&v->obj);
    g_clear_pointer(&o->path, g_free);
    lb_opts_val_free(v);
    lb_opts_unredact(o, secrets);
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

/*
 * JSON text is UTF-8 but keyval values (file names above all) are bytes:
 * as QEMU's JSON output does, each byte that is not part of a valid UTF-8
 * sequence becomes U+FFFD, so the text always parses.  Returns @s itself
 * when it is valid, else a repaired copy stored in *@tmp.
 */
static const char *utf8_or_repaired(const char *s, char **tmp)
{
    if (g_utf8_validate(s, -1, NULL)) {
        return s;
    }
    *tmp = g_utf8_make_valid(s, -1);
    return *tmp;
}

static JsonNode *val_to_json(const LbOptsVal *v)
{
    g_autofree char *tmp = NULL;
    JsonNode *n;

    switch (v->type) {
    case LB_OPTS_V_STR:
        n = json_node_init_string(json_node_alloc(),
                                  utf8_or_repaired(v->str, &tmp));
        break;
    case LB_OPTS_V_INT:
        n = json_node_init_int(json_node_alloc(), v->i);
        break;
    case LB_OPTS_V_DOUBLE:
        n = json_node_init_double(json_node_alloc(),
                                  g_ascii_strtod(v->str, NULL));
        break;
    case LB_OPTS_V_BOOL:
        n = json_node_init_boolean(json_node_alloc(), v->b);
        break;
    case LB_OPTS_V_OBJ: {
        JsonObject *obj = json_object_new();
        for (guint i = 0; i < v->obj->entries->len; i++) {
            LbOptsEntry *e = v->obj->entries->pdata[i];
            g_autofree char *ktmp = NULL;
            json_object_set_member(obj, utf8_or_repaired(e->key, &ktmp),
                                   val_to_json(e->val));
        }
        n = json_node_init_object(json_node_alloc(), obj);
        json_object_unref(obj);
        break;
    }
    case LB_OPTS_V_LIST: {
        JsonArray *arr = json_array_new();
        for (guint i = 0; i < v->list->len; i++) {
            json_array_add_element(arr, val_to_json(v->list->pdata[i]));
        }
        n = json_node_init_array(json_node_alloc(), arr);
        json_array_unref(arr);
        break;
    }
    case LB_OPTS_V_NULL:
    default:
        n = json_node_init_null(json_node_alloc());
        break;
    }
    return n;
}

char *lb_opts_to_json(LbOpts *o)
{
    LbOptsVal v = {.type = LB_OPTS_V_OBJ, .obj = o};
    g_autoptr(JsonNode) root = val_to_json(&v);
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}
