/*
 * perm.c: permissions on the node graph (issue 10 part 3), after QEMU's
 * BLK_PERM_* model.
 *
 * Every user of a node is either an edge from a parent (LbChild) or a
 * non-node use (an export, LbNodeUse).  Each needs some permissions and
 * shares some with the others:
 *
 *   user                    needs                        shares
 *   export                  consistent read [+ write]    everything
 *   data edge (raw file,    consistent read              what the parent's
 *     luks detached file)   [+ write, resize]            own users share
 *   metadata edge (luks     consistent read              consistent read
 *     header, attached file) [+ write, resize]           (and no more)
 *
 * A data edge passes its parent's users through, so a luks node with an
 * attached header on raw -> file makes the file node unwritable by others
 * too.  Two users conflict when one needs what the other does not share;
 * the check runs whenever an edge or a use appears (and for the nodes
 * below), and the new user is refused with QEMU 10's message.  Everything
 * here runs under the graph lock, in the main loop.
 */
#include "config.h"
#include "block-priv.h"

#include <string.h>
#include "lb/thread.h"

typedef struct User {
    LbChild *edge;     /* or */
    LbNodeUse *use;
} User;

static unsigned node_shared(LbNode *bs);

static unsigned edge_perm(const LbChild *c)
{
    return LB_PERM_CONSISTENT_READ |
           (c->parent->read_only ? 0 : LB_PERM_WRITE | LB_PERM_RESIZE);
}

static unsigned edge_shared(const LbChild *c)
{
    unsigned shared = node_shared(c->parent);

    /* force-share=on (QEMU's BDRV_O_FORCE_SHARE): the parent shares all. */
    if ((c->kind & LB_CHILD_METADATA) && !(c->parent->flags & LB_OPEN_NO_LOCK)) {
        shared &= LB_PERM_CONSISTENT_READ;
    }
    return shared;
}

/* What every user of @bs together lets others do (all when unused). */
static unsigned node_shared(LbNode *bs)
{
    unsigned shared = LB_PERM_ALL;

    for (guint i = 0; bs->parents && i < bs->parents->len; i++) {
        shared &= edge_shared(bs->parents->pdata[i]);
    }
    return shared; /* uses (exports) share everything */
}

static unsigned user_perm(const User *u)
{
    return u->edge ? edge_perm(u->edge) : u->use->perm;
}

static unsigned user_shared(const User *u)
{
    return u->edge ? edge_shared(u->edge) : LB_PERM_ALL;
}

/* QEMU's bdrv_perm_names(), in its order. */
static char *perm_names(unsigned perm)
{
    static const char *const names[] = {"consistent read", "write",
                                        "resize"};
    g_autoptr(GString) s = g_string_new(NULL);

    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        if (perm & (1u << i)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", names[i]);
        }
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* QEMU's bdrv_child_user_desc() plus "(uses node 'X' as 'Y' child)". */
static char *user_desc(const User *u, LbNode *bs)
{
    if (u->edge) {
        return g_strdup_printf("node '%s' (uses node '%s' as '%s' child)",
                               lb_node_name(u->edge->parent), lb_node_name(bs),
                               u->edge->role);
    }
    return g_strdup_printf("an unnamed block device (uses node '%s' as "
                           "'root' child)",
                           lb_node_name(bs));
}

static bool check_node(LbNode *bs, GError **errp)
{
    g_autoptr(GArray) users = g_array_new(FALSE, TRUE, sizeof(User));

    for (guint i = 0; bs->parents && i < bs->parents->len; i++) {
        User u = {.edge = bs->parents->pdata[i]};
        g_array_append_val(users, u);
    }
    for (GList *l = bs->uses; l; l = l->next) {
        User u = {.use = l->data};
        g_array_append_val(users, u);
    }
    for (guint a = 0; a < users->len; a++) {
        const User *ua = &g_array_index(users, User, a);
        for (guint b = 0; b < users->len; b++) {
            const User *ub = &g_array_index(users, User, b);
            unsigned clash = user_perm(ua) & ~user_shared(ub);
            if (a == b || !clash) {
                continue;
            }
            g_autofree char *names = perm_names(clash);
            g_autofree char *da = user_desc(ua, bs);
            g_autofree char *db = user_desc(ub, bs);
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                        "Permission conflict on node '%s': permissions '%s' "
                        "are both required by %s and unshared by %s.",
                        lb_node_name(bs), names, da, db);
            return false;
        }
    }
    return true;
}

bool lb_perm_check_tree(LbNode *bs, GError **errp)
{
    if (!check_node(bs, errp)) {
        return false;
    }
    for (guint i = 0; i < bs->children->len; i++) {
        LbChild *c = bs->children->pdata[i];
        if (!lb_perm_check_tree(c->node, errp)) {
            return false;
        }
    }
    return true;
}

LbNodeUse *lb_node_use_add(LbNode *bs, unsigned perm, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    LbNodeUse *use = g_new0(LbNodeUse, 1);

    use->node = bs;
    use->perm = perm;
    lb_graph_lock();
    bs->uses = g_list_append(bs->uses, use);
    bool ok = lb_perm_check_tree(bs, errp);
    if (!ok) {
        bs->uses = g_list_remove(bs->uses, use);
    }
    lb_graph_unlock();
    if (!ok) {
        g_free(use);
        return NULL;
    }
    lb_node_ref(bs);
    lb_node_use(bs);
    return use;
}

void lb_node_use_del(LbNodeUse *use)
{
    if (!use) {
        return;
    }
    LbNode *bs = use->node;
    lb_graph_lock();
    bs->uses = g_list_remove(bs->uses, use);
    lb_graph_unlock();
    lb_node_unuse(bs);
    lb_node_unref(bs);
    g_free(use);
}

bool lb_node_child_set_role(LbNode *parent, const char *role, unsigned kind,
                            GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    bool ok = true;

    lb_graph_lock();
    for (guint i = 0; i < parent->children->len; i++) {
        LbChild *c = parent->children->pdata[i];
        if (g_str_equal(c->role, role)) {
            unsigned old = c->kind;
            c->kind = kind;
            ok = lb_perm_check_tree(c->node, errp);
            if (!ok) {
                c->kind = old;
            }
            break;
        }
    }
    lb_graph_unlock();
    return ok;
}
