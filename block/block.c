/*
 * block.c: the node graph: opening nodes from options, children, the
 * registry of named nodes, reference counts and blockdev-del.
 *
 *   lb_node_open(opts) ─> driver->open ─> lb_node_open_child("file")
 *                                          ├─ {"file": {...}}   opens inline
 *                                          └─ {"file": "name"}  references
 *
 * Every open node is in the registry under its node-name (given, or an
 * automatic "#blockNNN" name).  A node opened at top level with an explicit
 * node-name is "owned by the monitor": the registry holds a reference that
 * only lb_node_del() or lb_nodes_close_all() drops, as with QEMU's
 * blockdev-add.  The graph lock (recursive: open recurses into children)
 * guards the registry and the children lists; the data path never takes it.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <string.h>
#include "lb/thread.h"

G_DEFINE_QUARK(lb - block - error - quark, lb_block_error)

#define NODE_NAME_MAX 31

static GRecMutex graph_lock;
static GHashTable *registry; /* name -> LbNode * (no reference) */
static GPtrArray *reg_order; /* LbNode * in registration order */
static unsigned auto_name_counter;

static void child_free(LbChild *c)
{
    g_free(c->role);
    g_free(c);
}

void lb_graph_lock(void)
{
    g_rec_mutex_lock(&graph_lock);
}

void lb_graph_unlock(void)
{
    g_rec_mutex_unlock(&graph_lock);
}

bool lb_block_errno_to_error(int ret, GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, LB_BLOCK_ERROR,
                ret == -EACCES || ret == -EPERM || ret == -EROFS
                    ? LB_BLOCK_ERROR_PERM
                    : LB_BLOCK_ERROR_FAILED,
                "%s: %s", msg, g_strerror(-ret));
    return false;
}

/* ---- registry ----------------------------------------------------------- */

static void registry_add(LbNode *bs)
{
    if (!registry) {
        registry = g_hash_table_new(g_str_hash, g_str_equal);
        reg_order = g_ptr_array_new();
    }
    g_hash_table_insert(registry, bs->node_name, bs);
    g_ptr_array_add(reg_order, bs);
}

static void registry_remove(LbNode *bs)
{
    if (registry && bs->node_name &&
        g_hash_table_lookup(registry, bs->node_name) == bs) {
        g_hash_table_remove(registry, bs->node_name);
        g_ptr_array_remove(reg_order, bs);
    }
}

LbNode *lb_node_find(const char *name)
{
    LB_ASSERT_MAIN_LOOP();
    g_rec_mutex_lock(&graph_lock);
    LbNode *bs = registry ? g_hash_table_lookup(registry, name) : NULL;
    g_rec_mutex_unlock(&graph_lock);
    return bs;
}

LbNode *lb_node_find_ref(const char *name)
{
    /* The reference is taken under the graph lock, which blockdev-del
     * also holds while it decides, so the node cannot go in between. */
    g_rec_mutex_lock(&graph_lock);
    LbNode *bs = registry ? g_hash_table_lookup(registry, name) : NULL;
    if (bs) {
        lb_node_ref(bs);
    }
    g_rec_mutex_unlock(&graph_lock);
    return bs;
}

static GList *node_list(bool ref)
{
    GList *l = NULL;

    g_rec_mutex_lock(&graph_lock);
    for (guint i = 0; reg_order && i < reg_order->len; i++) {
        LbNode *bs = reg_order->pdata[i];
        l = g_list_prepend(l, ref ? lb_node_ref(bs) : bs);
    }
    g_rec_mutex_unlock(&graph_lock);
    return g_list_reverse(l);
}

GList *lb_node_list(void)
{
    LB_ASSERT_MAIN_LOOP();
    return node_list(false);
}

GList *lb_node_list_ref(void)
{
    return node_list(true);
}

/* QEMU's id_wellformed(): a letter, then letters, digits, '-', '.', '_'. */
static bool check_node_name(const char *name, GError **errp)
{
    bool ok = g_ascii_isalpha(name[0]);
    for (const char *p = name; ok && *p; p++) {
        ok = g_ascii_isalnum(*p) || strchr("-._", *p);
    }
    if (!ok) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Invalid node-name: '%s'", name);
        return false;
    }
    if (strlen(name) > NODE_NAME_MAX) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Node name too long");
        return false;
    }
    if (registry && g_hash_table_contains(registry, name)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS,
                    "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    return true;
}

static char *auto_node_name(void)
{
    char *name;
    /* QEMU's id_generate(): '#', the subsystem, a counter, two random
     * digits; '#' keeps it out of the user's name space. */
    do {
        name = g_strdup_printf("#block%u%02d", auto_name_counter++,
                               g_random_int_range(0, 100));
        if (registry && g_hash_table_contains(registry, name)) {
            g_clear_pointer(&name, g_free);
        }
    } while (!name);
    return name;
}

/* ---- node lifecycle ----------------------------------------------------- */

void lb_node_set_filename(LbNode *bs, const char *filename)
{
    g_free(bs->filename);
    bs->filename = g_strdup(filename);
}

void lb_node_set_alignment(LbNode *bs, unsigned alignment)
{
    bs->alignment = alignment ? alignment : 1;
    bs->limits.request_alignment = bs->alignment;
}

void lb_node_set_read_only(LbNode *bs)
{
    bs->read_only = true;
    bs->flags &= ~LB_OPEN_RDWR;
}

static void node_destroy(LbNode *bs)
{
    if (bs->drv && bs->drv->close) {
        bs->drv->close(bs);
    }
    g_rec_mutex_lock(&graph_lock);
    registry_remove(bs);
    for (guint i = 0; i < bs->children->len; i++) {
        LbChild *c = bs->children->pdata[i];
        c->node->n_parents--;
        g_ptr_array_remove(c->node->parents, c);
    }
    g_rec_mutex_unlock(&graph_lock);
    g_assert(!bs->uses);
    for (guint i = 0; i < bs->children->len; i++) {
        LbChild *c = bs->children->pdata[i];
        lb_node_unref(c->node);
    }
    g_ptr_array_unref(bs->children);
    g_ptr_array_unref(bs->parents);
    g_rec_mutex_clear(&bs->update_lock);
    g_free(bs->opaque);
    g_free(bs->node_name);
    g_free(bs->filename);
    g_free(bs->opts_json);
    lb_io_node_cleanup(bs);
    g_free(bs);
}

LbNode *lb_node_ref(LbNode *bs)
{
    g_atomic_int_inc(&bs->refcnt);
    return bs;
}

int lb_node_close(LbNode *bs)
{
    int r = 0;

    if (!bs || !g_atomic_int_dec_and_test(&bs->refcnt)) {
        return 0;
    }
    if (bs->state == LB_NODE_OPEN) {
        bs->state = LB_NODE_CLOSING;
        r = lb_io_final_flush(bs);
    }
    node_destroy(bs);
    return r;
}

void lb_node_unref(LbNode *bs)
{
    lb_node_close(bs); /* a failed final flush is logged */
}

/* A reference on @bs unless its last one is already gone (closing). */
static bool node_try_ref(LbNode *bs)
{
    gint r;

    do {
        r = g_atomic_int_get(&bs->refcnt);
        if (r <= 0) {
            return false;
        }
    } while (!g_atomic_int_compare_and_exchange(&bs->refcnt, r, r + 1));
    return true;
}

GPtrArray *lb_node_parents(LbNode *bs)
{
    GPtrArray *parents = g_ptr_array_new_with_free_func(
        (GDestroyNotify)lb_node_unref);

    g_rec_mutex_lock(&graph_lock);
    for (guint i = 0; i < bs->parents->len; i++) {
        LbNode *p = ((LbChild *)bs->parents->pdata[i])->parent;
        if (node_try_ref(p)) {
            g_ptr_array_add(parents, p);
        }
    }
    g_rec_mutex_unlock(&graph_lock);
    return parents;
}

/* The filename QEMU would show: the file child's for a plain format node,
 * otherwise a json: description of the options. */
static void derive_filename(LbNode *bs)
{
    if (bs->filename) {
        return;
    }
    LbNode *file = lb_node_child(bs, "file");
    if (file && bs->children->len == 1) {
        bs->filename = g_strdup(lb_node_filename(file));
    } else {
        bs->filename = g_strdup_printf("json:%s", bs->opts_json);
    }
}

/* Read the generic node options and turn them into flags. */
static bool generic_opts(LbOpts *opts, unsigned *flags, GError **errp)
{
    bool ro, auto_ro, force_share, direct, no_flush;
    const char *discard = NULL, *detect_zeroes = NULL;

    if (!lb_opts_get_bool(opts, "read-only", false, &ro, errp) ||
        !lb_opts_get_bool(opts, "auto-read-only",
                          (*flags & LB_OPEN_AUTO_RO) != 0, &auto_ro, errp) ||
        !lb_opts_get_bool(opts, "force-share", (*flags & LB_OPEN_NO_LOCK) != 0,
                          &force_share, errp) ||
        !lb_opts_get_bool(opts, "cache.direct", (*flags & LB_OPEN_NOCACHE) != 0,
                          &direct, errp) ||
        !lb_opts_get_bool(opts, "cache.no-flush", false, &no_flush, errp) ||
        !lb_opts_get_string(opts, "discard", &discard, errp) ||
        !lb_opts_get_string(opts, "detect-zeroes", &detect_zeroes, errp)) {
        return false;
    }
    bool unmap = (*flags & LB_OPEN_UNMAP) != 0;
    if (discard) {
        if (g_str_equal(discard, "unmap") || g_str_equal(discard, "on")) {
            unmap = true;
        } else if (g_str_equal(discard, "ignore") ||
                   g_str_equal(discard, "off")) {
            unmap = false;
        } else {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Invalid discard option");
            return false;
        }
    }
    if (detect_zeroes && !g_str_equal(detect_zeroes, "off")) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "detect-zeroes is not supported");
        return false;
    }
    if (ro) {
        *flags &= ~LB_OPEN_RDWR;
    }
    *flags = (*flags & ~(LB_OPEN_AUTO_RO | LB_OPEN_NO_LOCK | LB_OPEN_NOCACHE |
                         LB_OPEN_UNMAP)) |
             (unmap ? LB_OPEN_UNMAP : 0) | (auto_ro ? LB_OPEN_AUTO_RO : 0) |
             (force_share ? LB_OPEN_NO_LOCK : 0) |
             (direct ? LB_OPEN_NOCACHE : 0);
    if (force_share && (*flags & LB_OPEN_RDWR) && !auto_ro) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "force-share=on can only be used with read-only images");
        return false;
    }
    return true;
}

static LbNode *node_open(LbOpts *opts, unsigned flags, bool monitor,
                         GError **errp)
{
    g_autofree char *json = lb_opts_to_json(opts);
    const char *drv_name = NULL, *name = NULL;

    if (!lb_opts_get_string(opts, "driver", &drv_name, errp) ||
        !lb_opts_get_string(opts, "node-name", &name, errp)) {
        return NULL;
    }
    if (!drv_name) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'driver' is missing");
        return NULL;
    }
    const LbBlockDriver *drv = lb_block_driver_find(drv_name);
    if (!drv) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND,
                    "Unknown driver '%s'", drv_name);
        return NULL;
    }
    if (!generic_opts(opts, &flags, errp)) {
        return NULL;
    }

    g_rec_mutex_lock(&graph_lock);
    if (name && !check_node_name(name, errp)) {
        g_rec_mutex_unlock(&graph_lock);
        return NULL;
    }
    LbNode *bs = g_new0(LbNode, 1);
    bs->refcnt = 1;
    bs->drv = drv;
    bs->opaque = drv->state_size ? g_malloc0(drv->state_size) : NULL;
    bs->flags = flags;
    bs->read_only = !(flags & LB_OPEN_RDWR);
    bs->alignment = 1;
    bs->opts_json = g_steal_pointer(&json);
    bs->children = g_ptr_array_new_with_free_func((GDestroyNotify)child_free);
    bs->parents = g_ptr_array_new();
    g_rec_mutex_init(&bs->update_lock);
    lb_io_node_init(bs);
    /* Named before open so permission messages about its edges name it;
     * registered only once open. */
    bs->node_name = name ? g_strdup(name) : NULL;

    bool ok = drv->open(bs, opts, flags, errp) &&
              lb_opts_check_unused(opts, NULL, errp);
    if (ok && name && registry && g_hash_table_contains(registry, name)) {
        /* A child opened meanwhile took the name. */
        ok = check_node_name(name, errp);
    }
    if (!ok) {
        g_rec_mutex_unlock(&graph_lock);
        node_destroy(bs);
        return NULL;
    }
    if (!bs->node_name) {
        bs->node_name = auto_node_name();
    }
    registry_add(bs);
    derive_filename(bs);
    bs->state = LB_NODE_OPEN;
    if (monitor && name) {
        bs->monitor_owned = true;
        lb_node_ref(bs);
    }
    g_rec_mutex_unlock(&graph_lock);
    return bs;
}

LbNode *lb_node_open(LbOpts *opts, unsigned flags, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    return node_open(opts, flags, true, errp);
}

LbNode *lb_node_open_child(LbNode *parent, LbOpts *opts, const char *role,
                           bool required, unsigned flags, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    LbNode *child = NULL;
    /* Children inherit the parent's effective mode. */
    unsigned cflags = (flags & ~LB_OPEN_NO_KEYS & ~LB_OPEN_RDWR) |
                      (parent->read_only ? 0 : LB_OPEN_RDWR);

    if (lb_opts_is_child(opts, role)) {
        LbOpts *copts = lb_opts_get_child(opts, role);
        g_autoptr(LbOpts) dup = NULL;
        if (!lb_opts_has(copts, "driver") && lb_opts_has(copts, "filename")) {
            dup = lb_opts_dup(copts);
            lb_opts_set_str(dup, "driver", "file");
            copts = dup;
        }
        child = node_open(copts, cflags, false, errp);
        if (!child) {
            g_prefix_error(errp, "%s: ", role);
            return NULL;
        }
    } else if (lb_opts_has(opts, role)) {
        const char *ref = lb_opts_get_str(opts, role);
        LbNode *found = ref ? lb_node_find(ref) : NULL;
        if (!found) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND,
                        "Cannot find device='%s' nor node-name='%s'",
                        ref ? ref : "", ref ? ref : "");
            return NULL;
        }
        if (found == parent) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "a node cannot be its own child");
            return NULL;
        }
        child = lb_node_ref(found);
    } else if (g_str_equal(role, "file") && lb_opts_has(opts, "filename")) {
        /* driver=raw,filename=x: QEMU opens a protocol child from it. */
        g_autoptr(LbOpts) copts = lb_opts_new();
        lb_opts_set_str(copts, "driver", "file");
        lb_opts_set_str(copts, "filename", lb_opts_get_str(opts, "filename"));
        child = node_open(copts, cflags, false, errp);
        if (!child) {
            return NULL;
        }
    } else if (required) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "A block device must be specified for \"%s\"", role);
        return NULL;
    } else {
        return NULL;
    }

    if (!parent->read_only && child->read_only) {
        if (!(flags & LB_OPEN_AUTO_RO)) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                        "%s: Block node '%s' is read-only", role,
                        lb_node_name(child));
            lb_node_unref(child);
            return NULL;
        }
        lb_node_set_read_only(parent);
    }
    LbChild *c = g_new0(LbChild, 1);
    c->role = g_strdup(role);
    c->node = child;
    c->parent = parent;
    c->kind = LB_CHILD_DATA; /* until the driver says otherwise */
    g_rec_mutex_lock(&graph_lock);
    child->n_parents++;
    g_ptr_array_add(parent->children, c);
    g_ptr_array_add(child->parents, c);
    bool ok = lb_perm_check_tree(child, errp);
    if (!ok) {
        child->n_parents--;
        g_ptr_array_remove(child->parents, c);
        g_ptr_array_remove(parent->children, c); /* frees c */
    }
    g_rec_mutex_unlock(&graph_lock);
    if (!ok) {
        lb_node_unref(child);
        return NULL;
    }
    return child;
}

static const char *probe_format(LbNode *file)
{
    guint8 buf[8];
    int64_t len = lb_node_length(file);

    if (len >= (int64_t)sizeof(buf) &&
        lb_node_pread(file, 0, buf, sizeof(buf)) == 0 &&
        memcmp(buf, "LUKS\xba\xbe", 6) == 0) {
        return "luks";
    }
    return "raw";
}

LbNode *lb_node_open_image(const char *filename, const char *fmt,
                           bool image_opts, unsigned flags, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    g_autoptr(LbOpts) opts = image_opts
                                 ? lb_opts_parse_keyval(filename, NULL, errp)
                                 : lb_opts_parse_filename(filename, errp);
    if (!opts) {
        return NULL;
    }
    if (lb_opts_has(opts, "driver") || image_opts) {
        if (fmt && !lb_opts_has(opts, "driver")) {
            lb_opts_set_str(opts, "driver", fmt);
        }
        return node_open(opts, flags, false, errp);
    }
    /* A plain file name (possibly inside json:) and an optional format. */
    g_autoptr(LbOpts) fopts = lb_opts_dup(opts);
    lb_opts_set_str(fopts, "driver", "file");
    if (fmt && g_str_equal(fmt, "file")) {
        return node_open(fopts, flags, false, errp);
    }
    g_autoptr(LbNode) file = node_open(fopts, flags, false, errp);
    if (!file) {
        return NULL;
    }
    g_autoptr(LbOpts) top = lb_opts_new();
    lb_opts_set_str(top, "driver", fmt ? fmt : probe_format(file));
    lb_opts_set_str(top, "file", lb_node_name(file));
    return node_open(top, flags, false, errp);
}

bool lb_node_del(const char *name, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    g_rec_mutex_lock(&graph_lock);
    LbNode *bs = registry ? g_hash_table_lookup(registry, name) : NULL;
    if (!bs) {
        g_rec_mutex_unlock(&graph_lock);
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND,
                    "Failed to find node with node-name='%s'", name);
        return false;
    }
    if (!bs->monitor_owned) {
        g_rec_mutex_unlock(&graph_lock);
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE,
                    "Node %s is not owned by the monitor", name);
        return false;
    }
    /* QEMU's two messages: a user that is not a node (an export, a job:
     * QEMU's BlockBackend) first, then any other reference or parent. */
    if (g_atomic_int_get(&bs->users) > 0) {
        g_rec_mutex_unlock(&graph_lock);
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE,
                    "Node %s is in use", name);
        return false;
    }
    if (bs->n_parents > 0 || g_atomic_int_get(&bs->refcnt) > 1) {
        g_rec_mutex_unlock(&graph_lock);
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE,
                    "Block device %s is in use", name);
        return false;
    }
    bs->monitor_owned = false;
    registry_remove(bs);
    g_rec_mutex_unlock(&graph_lock);
    lb_node_unref(bs);
    return true;
}

void lb_nodes_close_all(void)
{
    LB_ASSERT_MAIN_LOOP();
    /* Newest first, so parents go before the children they reference. */
    for (;;) {
        LbNode *victim = NULL;
        g_rec_mutex_lock(&graph_lock);
        for (guint i = reg_order ? reg_order->len : 0; i-- > 0;) {
            LbNode *bs = reg_order->pdata[i];
            if (bs->monitor_owned) {
                victim = bs;
                bs->monitor_owned = false;
                break;
            }
        }
        g_rec_mutex_unlock(&graph_lock);
        if (!victim) {
            break;
        }
        lb_node_unref(victim);
    }
}

void lb_node_use(LbNode *bs)
{
    g_atomic_int_inc(&bs->users);
}

void lb_node_unuse(LbNode *bs)
{
    g_assert(g_atomic_int_get(&bs->users) > 0);
    g_atomic_int_add(&bs->users, -1);
}

/* ---- accessors ---------------------------------------------------------- */

const char *lb_node_name(LbNode *bs)
{
    return bs->node_name;
}
const char *lb_node_driver_name(LbNode *bs)
{
    return bs->drv->name;
}
const char *lb_node_filename(LbNode *bs)
{
    return bs->filename;
}
bool lb_node_is_writable(LbNode *bs)
{
    return !bs->read_only;
}
unsigned lb_node_alignment(LbNode *bs)
{
    return bs->alignment;
}
void *lb_node_opaque(LbNode *bs)
{
    return bs->opaque;
}

LbNode *lb_node_child(LbNode *bs, const char *role)
{
    for (guint i = 0; i < bs->children->len; i++) {
        LbChild *c = bs->children->pdata[i];
        if (g_str_equal(c->role, role)) {
            return c->node;
        }
    }
    return NULL;
}

/* ---- control-plane operations through the driver ----------------------- */

void lb_node_update_begin(LbNode *bs)
{
    g_rec_mutex_lock(&bs->update_lock);
}

void lb_node_update_end(LbNode *bs)
{
    g_rec_mutex_unlock(&bs->update_lock);
}

bool lb_node_truncate(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                      GError **errp)
{
    LB_ASSERT_CONTEXT(LB_CTX_ANY);
    if (bs->read_only) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Block node is read-only");
        return false;
    }
    if (!bs->drv->truncate) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "Image format driver does not support resize");
        return false;
    }
    lb_node_update_begin(bs);
    bool ok = bs->drv->truncate(bs, size, prealloc, errp);
    lb_node_update_end(bs);
    return ok;
}

int64_t lb_node_allocated_size(LbNode *bs)
{
    if (bs->drv->allocated_size) {
        return bs->drv->allocated_size(bs);
    }
    /* A format node's storage is that of its children. */
    int64_t total = 0;
    for (guint i = 0; i < bs->children->len; i++) {
        int64_t r =
            lb_node_allocated_size(((LbChild *)bs->children->pdata[i])->node);
        if (r < 0) {
            return r;
        }
        total += r;
    }
    return bs->children->len ? total : -ENOTSUP;
}

char *lb_node_info_json(LbNode *bs)
{
    return bs->drv->info_json ? bs->drv->info_json(bs) : NULL;
}

bool lb_node_amend(LbNode *bs, LbOpts *opts, bool force, GError **errp)
{
    LB_ASSERT_CONTEXT(LB_CTX_MAIN | LB_CTX_JOB);
    if (!bs->drv->amend) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "Format driver '%s' does not support option amendment",
                    bs->drv->name);
        return false;
    }
    if (bs->read_only) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Block node is read-only");
        return false;
    }
    /* Keyslot changes read, decide and write the header: one at a time
     * (a second amend or a resize waits here). */
    lb_node_update_begin(bs);
    bool ok = bs->drv->amend(bs, opts, force, errp);
    lb_node_update_end(bs);
    return ok;
}
