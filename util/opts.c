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
#include "opts-priv.h"

#include <errno.h>
#include <string.h>

#include "lb/secret.h"

G_DEFINE_QUARK(lb - opts - error - quark, lb_opts_error)

void lb_opts_val_free(LbOptsVal *v)
{
    if (!v) {
        return;
    }
    /* Any string may be a passphrase (a secret's data=): wipe them all. */
    if (v->str) {
        lb_memzero(v->str, strlen(v->str));
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

static void entry_free(LbOptsEntry *e)
{
    g_free(e->key);
    lb_opts_val_free(e->val);
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

LbOptsEntry *lb_opts_find_entry(LbOpts *o, const char *key)
{
    for (guint i = 0; i < o->entries->len; i++) {
        LbOptsEntry *e = o->entries->pdata[i];
        if (g_str_equal(e->key, key)) {
            return e;
        }
    }
    return NULL;
}

/* Find @key, following dots through nested objects when there is no
 * entry with the literal name. */
static LbOptsEntry *lookup(LbOpts *o, const char *key)
{
    LbOptsEntry *e = lb_opts_find_entry(o, key);
    const char *dot;

    if (e || !(dot = strchr(key, '.'))) {
        return e;
    }
    g_autofree char *head = g_strndup(key, dot - key);
    LbOptsEntry *parent = lb_opts_find_entry(o, head);
    if (!parent || parent->val->type != LB_OPTS_V_OBJ) {
        return NULL;
    }
    LbOptsEntry *leaf = lookup(parent->val->obj, dot + 1);
    if (leaf) {
        parent->traversed = true;
    }
    return leaf;
}

static char *full_name(LbOpts *o, const char *key)
{
    return o->path ? g_strdup_printf("%s.%s", o->path, key) : g_strdup(key);
}

void lb_opts_put(LbOpts *o, const char *key, LbOptsVal *v)
{
    LbOptsEntry *e = lb_opts_find_entry(o, key);

    if (e) {
        lb_opts_val_free(e->val);
        e->val = v;
        e->used = false;
        return;
    }
    e = g_new0(LbOptsEntry, 1);
    e->key = g_strdup(key);
    e->val = v;
    g_ptr_array_add(o->entries, e);
}

LbOptsVal *lb_opts_val_new(LbOptsValType t)
{
    LbOptsVal *v = g_new0(LbOptsVal, 1);
    v->type = t;
    return v;
}

void lb_opts_set_path(LbOpts *child, LbOpts *parent, const char *key)
{
    g_free(child->path);
    child->path = parent && key ? full_name(parent, key) : NULL;
}

/* ---- setters and structure --------------------------------------------- */

void lb_opts_set_str(LbOpts *o, const char *key, const char *value)
{
    LbOptsVal *v = lb_opts_val_new(LB_OPTS_V_STR);
    v->str = g_strdup(value);
    lb_opts_put(o, key, v);
}

void lb_opts_set_int(LbOpts *o, const char *key, int64_t value)
{
    LbOptsVal *v = lb_opts_val_new(LB_OPTS_V_INT);
    v->i = value;
    v->str = g_strdup_printf("%" G_GINT64_FORMAT, value);
    lb_opts_put(o, key, v);
}

void lb_opts_set_bool(LbOpts *o, const char *key, bool value)
{
    LbOptsVal *v = lb_opts_val_new(LB_OPTS_V_BOOL);
    v->b = value;
    v->str = g_strdup(value ? "true" : "false");
    lb_opts_put(o, key, v);
}

void lb_opts_set_child(LbOpts *o, const char *key, LbOpts *child)
{
    LbOptsVal *v = lb_opts_val_new(LB_OPTS_V_OBJ);
    v->obj = lb_opts_ref(child);
    lb_opts_put(o, key, v);
}

void lb_opts_remove(LbOpts *o, const char *key)
{
    for (guint i = 0; i < o->entries->len; i++) {
        LbOptsEntry *e = o->entries->pdata[i];
        if (g_str_equal(e->key, key)) {
            g_ptr_array_remove_index(o->entries, i);
            return;
        }
    }
}

static LbOptsVal *val_dup(const LbOptsVal *v)
{
    LbOptsVal *n = lb_opts_val_new(v->type);
    n->str = g_strdup(v->str);
    n->i = v->i;
    n->b = v->b;
    if (v->obj) {
        n->obj = lb_opts_dup(v->obj);
    }
    if (v->list) {
        n->list =
            g_ptr_array_new_with_free_func((GDestroyNotify)lb_opts_val_free);
        for (guint i = 0; i < v->list->len; i++) {
            g_ptr_array_add(n->list, val_dup(v->list->pdata[i]));
        }
    }
    return n;
}

void lb_opts_merge(LbOpts *dst, LbOpts *src)
{
    for (guint i = 0; i < src->entries->len; i++) {
        LbOptsEntry *e = src->entries->pdata[i];
        lb_opts_put(dst, e->key, val_dup(e->val));
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
        l = g_list_prepend(l, ((LbOptsEntry *)o->entries->pdata[i])->key);
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
    LbOptsEntry *e = lookup(o, key);
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
    LbOptsEntry *e = lookup(o, key);

    *out = NULL;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type != LB_OPTS_V_STR) {
        return type_error(o, key, "string", errp);
    }
    *out = e->val->str;
    return true;
}

bool lb_opts_get_bool(LbOpts *o, const char *key, bool def, bool *out,
                      GError **errp)
{
    static const char *const yes[] = {"on", "yes", "true", "y"};
    static const char *const no[] = {"off", "no", "false", "n"};
    LbOptsEntry *e = lookup(o, key);

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == LB_OPTS_V_BOOL) {
        *out = e->val->b;
        return true;
    }
    if (e->val->type != LB_OPTS_V_STR) {
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

static bool parse_size(const char *s, uint64_t *out)
{
    return lb_parse_size(s, out, NULL);
}

/*
 * The unsigned getters: a JSON integer that is not negative, or a string
 * @parse accepts; otherwise "Parameter 'KEY' expects @what".
 */
static bool get_unsigned(LbOpts *o, const char *key, uint64_t def,
                         uint64_t *out, bool (*parse)(const char *, uint64_t *),
                         const char *what, GError **errp)
{
    LbOptsEntry *e = lookup(o, key);

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == LB_OPTS_V_INT) {
        if (e->val->i < 0) {
            return value_error(o, key, what, errp);
        }
        *out = (uint64_t)e->val->i;
        return true;
    }
    if (e->val->type != LB_OPTS_V_STR) {
        return type_error(o, key, "integer", errp);
    }
    if (!parse(e->val->str, out)) {
        *out = def;
        return value_error(o, key, what, errp);
    }
    return true;
}

bool lb_opts_get_uint(LbOpts *o, const char *key, uint64_t def, uint64_t *out,
                      GError **errp)
{
    return get_unsigned(o, key, def, out, parse_u64, "uint64", errp);
}

bool lb_opts_get_int(LbOpts *o, const char *key, int64_t def, int64_t *out,
                     GError **errp)
{
    LbOptsEntry *e = lookup(o, key);
    char *end;

    *out = def;
    if (!e) {
        return true;
    }
    e->used = true;
    if (e->val->type == LB_OPTS_V_INT) {
        *out = e->val->i;
        return true;
    }
    if (e->val->type != LB_OPTS_V_STR) {
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

bool lb_opts_get_size(LbOpts *o, const char *key, uint64_t def, uint64_t *out,
                      GError **errp)
{
    return get_unsigned(o, key, def, out, parse_size, "a size value", errp);
}

LbOpts *lb_opts_get_child(LbOpts *o, const char *key)
{
    LbOptsEntry *e = lookup(o, key);
    if (!e || e->val->type != LB_OPTS_V_OBJ) {
        return NULL;
    }
    e->used = true;
    return e->val->obj;
}

bool lb_opts_is_child(LbOpts *o, const char *key)
{
    LbOptsEntry *e = lookup(o, key);
    return e && e->val->type == LB_OPTS_V_OBJ;
}

void lb_opts_mark_used(LbOpts *o, const char *key)
{
    LbOptsEntry *e = lookup(o, key);
    if (e) {
        e->used = true;
    }
}

static const char *first_unused(LbOpts *o, char **name_out)
{
    for (guint i = 0; i < o->entries->len; i++) {
        LbOptsEntry *e = o->entries->pdata[i];
        if (e->used) {
            continue;
        }
        if (e->traversed && e->val->type == LB_OPTS_V_OBJ) {
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

bool lb_opts_check_unexpected(LbOpts *o, GError **errp)
{
    g_autofree char *name = NULL;

    if (!first_unused(o, &name)) {
        return true;
    }
    g_autofree char *full = full_name(o, name);
    g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_UNKNOWN,
                "Parameter '%s' is unexpected", full);
    return false;
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
        goto bad; /* a fraction of a byte */
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
