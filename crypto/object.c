/*
 * object.c: the registry of user-creatable objects (--object, object-add).
 *
 * Objects are kept in one process-wide table keyed by id, protected by a
 * mutex.  Each object type is an LbObjectClass listed explicitly below.
 * The TLS classes live in crypto/tlscreds.c, so every program (the tools
 * included, as in QEMU) accepts --object tls-creds-x509/tls-creds-psk.
 */
#include "config.h"
#include "lb/object.h"

#include <string.h>

G_DEFINE_QUARK(lb - object - error - quark, lb_object_error)

typedef struct LbObject {
    char *id;
    const LbObjectClass *cls;
    void *priv;
} LbObject;

static GMutex obj_lock;
static GHashTable *objects; /* id -> LbObject */
static GList *obj_order;    /* ids in creation order (for listing) */

/*
 * "iothread": accepted so that qemu-storage-daemon command lines with
 * --object iothread,id=io0 and --export ...,iothread=io0 work unchanged.
 * Every export already runs on a shared multi-threaded data path, so the
 * object only checks its properties as QEMU does and holds nothing.
 */
static void *iothread_create(const char *id, LbOpts *props, GError **errp)
{
    static const char *const props_int[] = {
        "poll-max-ns", "poll-grow", "poll-shrink", "aio-max-batch",
        "thread-pool-min", "thread-pool-max",
    };
    int64_t v[G_N_ELEMENTS(props_int)];

    for (guint i = 0; i < G_N_ELEMENTS(props_int); i++) {
        int64_t def = g_str_equal(props_int[i], "thread-pool-max") ? 64 : 0;
        if (!lb_opts_get_int(props, props_int[i], def, &v[i], errp)) {
            return NULL;
        }
        if (v[i] < 0) {
            g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                        "%s value must be in range [0, %" G_GINT64_FORMAT "]",
                        props_int[i], G_MAXINT64);
            return NULL;
        }
    }
    int64_t min = v[4], max = v[5];
    if (min > max || max <= 0 || max > G_MAXINT) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "bad thread-pool-min/thread-pool-max values");
        return NULL;
    }
    return g_strdup(id);
}

static const LbObjectClass iothread_class = {
    .type = "iothread",
    .create = iothread_create,
    .destroy = g_free,
};

static const LbObjectClass *find_class(const char *type)
{
    const LbObjectClass *classes[] = {
        &lb_secret_class,
        &lb_tls_creds_x509_class,
        &lb_tls_creds_psk_class,
        &lb_tls_creds_anon_class,
        &lb_authz_simple_class,
        &lb_authz_list_class,
        &iothread_class,
    };

    for (guint i = 0; i < G_N_ELEMENTS(classes); i++) {
        if (classes[i] && classes[i]->type &&
            g_str_equal(classes[i]->type, type)) {
            return classes[i];
        }
    }
    return NULL;
}

static void object_free(LbObject *obj)
{
    if (obj->cls->destroy) {
        obj->cls->destroy(obj->priv);
    }
    g_free(obj->id);
    g_free(obj);
}

static GHashTable *table(void)
{
    if (!objects) {
        objects = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify)object_free);
    }
    return objects;
}

/* QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
bool lb_id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

bool lb_object_add(LbOpts *props, GError **errp)
{
    const char *type = NULL, *id = NULL;

    if (!lb_opts_get_string(props, "qom-type", &type, errp) ||
        !lb_opts_get_string(props, "id", &id, errp)) {
        return false;
    }
    if (!type) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'qom-type' is missing");
        return false;
    }
    if (!id) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'id' is missing");
        return false;
    }
    const LbObjectClass *cls = find_class(type);
    if (!cls) {
        /* The schema's types without an implementation, as in QEMU. */
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "invalid object type: %s", type);
        return false;
    }
    if (!lb_id_wellformed(id)) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'id' expects an identifier");
        return false;
    }
    /* The legacy QMP form nests the properties under "props". */
    LbOpts *legacy = lb_opts_get_child(props, "props");
    g_autoptr(LbOpts) merged = NULL;
    if (legacy) {
        merged = lb_opts_dup(props);
        lb_opts_remove(merged, "props");
        lb_opts_merge(merged, legacy);
        lb_opts_mark_used(merged, "qom-type");
        lb_opts_mark_used(merged, "id");
        props = merged;
    }

    g_mutex_lock(&obj_lock);
    bool exists = g_hash_table_contains(table(), id);
    g_mutex_unlock(&obj_lock);
    if (exists) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_EXISTS,
                    "attempt to add duplicate property '%s' to object "
                    "(type 'container')",
                    id);
        return false;
    }

    /* Create without the lock: a secret's create looks up its keyid. */
    void *priv = cls->create(id, props, errp);
    if (!priv) {
        return false;
    }
    if (!lb_opts_check_unexpected(props, errp)) {
        cls->destroy(priv);
        return false;
    }
    LbObject *obj = g_new0(LbObject, 1);
    obj->id = g_strdup(id);
    obj->cls = cls;
    obj->priv = priv;

    g_mutex_lock(&obj_lock);
    if (g_hash_table_contains(table(), id)) {
        g_mutex_unlock(&obj_lock);
        object_free(obj);
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_EXISTS,
                    "attempt to add duplicate property '%s' to object "
                    "(type 'container')",
                    id);
        return false;
    }
    g_hash_table_insert(objects, obj->id, obj);
    obj_order = g_list_append(obj_order, obj->id);
    g_mutex_unlock(&obj_lock);
    return true;
}

bool lb_object_add_keyval(const char *str, GError **errp)
{
    g_autoptr(LbOpts) props = lb_opts_parse_any(str, "qom-type", errp);

    return props && lb_object_add(props, errp);
}

bool lb_object_del(const char *id, GError **errp)
{
    g_mutex_lock(&obj_lock);
    LbObject *obj = objects ? g_hash_table_lookup(objects, id) : NULL;
    if (obj) {
        obj_order = g_list_remove(obj_order, obj->id);
        g_hash_table_steal(objects, id);
    }
    g_mutex_unlock(&obj_lock);
    if (!obj) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND,
                    "object '%s' not found", id);
        return false;
    }
    object_free(obj);
    return true;
}

bool lb_object_exists(const char *id)
{
    g_mutex_lock(&obj_lock);
    bool found = objects && g_hash_table_contains(objects, id);
    g_mutex_unlock(&obj_lock);
    return found;
}

const char *lb_object_type(const char *id)
{
    g_mutex_lock(&obj_lock);
    LbObject *obj = objects ? g_hash_table_lookup(objects, id) : NULL;
    const char *type = obj ? obj->cls->type : NULL;
    g_mutex_unlock(&obj_lock);
    return type;
}

GList *lb_object_list(void)
{
    g_mutex_lock(&obj_lock);
    GList *l = g_list_copy(obj_order);
    g_mutex_unlock(&obj_lock);
    return l;
}

void lb_objects_clear(void)
{
    g_mutex_lock(&obj_lock);
    g_clear_pointer(&obj_order, g_list_free);
    GHashTable *old = g_steal_pointer(&objects);
    g_mutex_unlock(&obj_lock);
    if (old) {
        g_hash_table_unref(old);
    }
}

void *lb_object_get(const char *id, const LbObjectClass *cls, GError **errp)
{
    g_mutex_lock(&obj_lock);
    LbObject *obj = objects ? g_hash_table_lookup(objects, id) : NULL;
    void *priv = obj && obj->cls == cls ? obj->priv : NULL;
    g_mutex_unlock(&obj_lock);
    if (!obj) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND,
                    "No %s with id '%s'",
                    cls == &lb_secret_class ? "secret" : "object", id);
        return NULL;
    }
    if (!priv) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Object with id '%s' is not a %s object", id, cls->type);
        return NULL;
    }
    return priv;
}

int lb_object_call(const char *id, const LbObjectClass *cls,
                   bool (*fn)(void *priv, void *data), void *data)
{
    int r = -1;

    g_mutex_lock(&obj_lock);
    LbObject *obj = objects ? g_hash_table_lookup(objects, id) : NULL;
    if (obj && obj->cls == cls) {
        r = fn(obj->priv, data);
    }
    g_mutex_unlock(&obj_lock);
    return r;
}
