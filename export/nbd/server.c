/*
 * export/nbd/server.c: the NBD server: nbd-server-start/-stop, listening
 * sockets, the accept thread, and the "nbd" export type.
 *
 * There is one server per process, as in QEMU.  It listens (listen.c) on
 * a unix socket or on TCP, accepts
 * connections on one thread and runs each connection on its own thread
 * (handshake, then reading requests); the I/O of every connection runs on
 * one shared worker pool sized for the machine.
 *
 *   nbd-server-start ──> listeners + accept thread + worker pool
 *   block-export-add type=nbd ──> NbdExport in srv->exports (by name)
 *   client connects ──> NbdConn thread: GO name ──> NbdExport.n_clients++
 *   block-export-del hard / nbd-server-stop ──> shut sockets down, wait
 *
 * srv->lock guards the export list, the connection list and the client
 * counts; srv->cond signals a connection leaving.
 */
#include "config.h"
#include "lb/export.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "lb/object.h"
#include "nbd-priv.h"

struct NbdServer {
    GMutex lock;
    GCond cond;
    NbdListeners listen;
    int wake[2];                      /* pipe: wake the accept thread */
    bool stopping;                    /* ... to make it exit */
    GThread *accept_thread;
    GList *conns;                     /* NbdConn * */
    unsigned n_conns;
    uint64_t max_conns;               /* 0 = unlimited */
    uint64_t handshake_max;           /* seconds, 0 = unlimited */
    char *tls_authz;                  /* authz object id, or NULL */
    GPtrArray *exports;               /* NbdExport * */
    char *tls_creds;                  /* object id, or NULL */
    GThreadPool *pool;
};

static GMutex server_lock;            /* guards nbd_server itself */
static NbdServer *nbd_server;

/* ---- exports ------------------------------------------------------------ */

static NbdExport *server_export_find_locked(NbdServer *srv, const char *name)
{
    for (guint i = 0; i < srv->exports->len; i++) {
        NbdExport *nexp = srv->exports->pdata[i];
        if (strcmp(nexp->name, name) == 0) {
            return nexp;
        }
    }
    return NULL;
}

NbdExport *nbd_server_export_get(NbdServer *srv, const char *name)
{
    g_mutex_lock(&srv->lock);
    NbdExport *nexp = server_export_find_locked(srv, name);
    if (!nexp && name[0] == '\0' && srv->exports->len == 1) {
        nexp = srv->exports->pdata[0];
    }
    if (nexp) {
        nexp->n_clients++;
    }
    g_mutex_unlock(&srv->lock);
    return nexp;
}

void nbd_server_conn_set_export(NbdServer *srv, NbdConn *conn,
                                NbdExport *nexp)
{
    g_mutex_lock(&srv->lock);
    conn->nexp = nexp;
    g_mutex_unlock(&srv->lock);
}

void nbd_server_export_put(NbdServer *srv, NbdExport *nexp)
{
    g_mutex_lock(&srv->lock);
    g_assert(nexp->n_clients > 0);
    nexp->n_clients--;
    g_cond_broadcast(&srv->cond);
    g_mutex_unlock(&srv->lock);
}

GPtrArray *nbd_server_export_names(NbdServer *srv, GPtrArray **descs)
{
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    *descs = g_ptr_array_new_with_free_func(g_free);
    g_mutex_lock(&srv->lock);
    for (guint i = 0; i < srv->exports->len; i++) {
        NbdExport *nexp = srv->exports->pdata[i];
        g_ptr_array_add(names, g_strdup(nexp->name));
        g_ptr_array_add(*descs, g_strdup(nexp->description));
    }
    g_mutex_unlock(&srv->lock);
    return names;
}

bool nbd_server_tls_required(NbdServer *srv)
{
    return srv->tls_creds != NULL;
}

LbTlsCreds *nbd_server_tls(NbdServer *srv)
{
    if (!srv->tls_creds) {
        return NULL;
    }
    /*
     * Looked up per use, referenced for the session's life: a deleted or
     * replaced object fails later handshakes (a server configured for TLS
     * never falls back to plaintext, see nbd_server_tls_required) and
     * cannot vanish under a running one.
     */
    return lb_tls_creds_get(srv->tls_creds, NULL);
}

bool nbd_server_tls_authorize(NbdServer *srv, NbdChan *ch, GError **errp)
{
    if (!srv->tls_authz) {
        return true;
    }
    /*
     * Departures from QEMU, which skips the check in both cases: a client
     * without a certificate (the x509 creds have verify-peer=off, so none
     * is asked for) is refused, and a PSK client's username is checked.
     * An authz object lists who may connect; nobody else gets in.
     */
    g_autofree char *who = nbd_chan_tls_identity(ch);
    if (!who) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "TLS client has no certificate to check against "
                    "tls-authz '%s' (verify-peer is off)", srv->tls_authz);
        return false;
    }
    g_autoptr(GError) err = NULL;
    if (!lb_authz_is_allowed(srv->tls_authz, who, &err)) {
        /* QEMU's message; the reason (no such object) only when it helps. */
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "TLS authz check for %s is denied%s%s", who,
                    err->code == LB_OBJECT_ERROR_NOT_FOUND ? ": " : "",
                    err->code == LB_OBJECT_ERROR_NOT_FOUND ? err->message
                                                           : "");
        return false;
    }
    return true;
}

GThreadPool *nbd_server_pool(NbdServer *srv)
{
    return srv->pool;
}

/* Wait until @nexp has no clients, kicking any connection that uses it. */
static void server_export_drain_locked(NbdServer *srv, NbdExport *nexp)
{
    while (nexp->n_clients > 0) {
        for (GList *l = srv->conns; l; l = l->next) {
            NbdConn *conn = l->data;
            if (conn->nexp == nexp) {
                nbd_conn_kick(conn);
            }
        }
        g_cond_wait_until(&srv->cond, &srv->lock,
                          g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND);
    }
}

/*
 * "bitmaps": there are no dirty bitmaps here, so every name given is
 * unknown; say so as QEMU does for the first one.  The list is JSON (QMP)
 * or keyval "bitmaps.0=NAME"; an element is a name or {"node", "name"}.
 */
static bool nbd_export_check_bitmaps(LbOpts *args, GError **errp)
{
    if (!lb_opts_has(args, "bitmaps")) {
        return true;
    }
    lb_opts_mark_used(args, "bitmaps");
    g_autofree char *text = lb_opts_to_json(args);
    g_autoptr(JsonNode) root = json_from_string(text, NULL);
    JsonNode *list = root ? json_object_get_member(
                                json_node_get_object(root), "bitmaps")
                          : NULL;
    JsonNode *first = NULL;
    if (list && JSON_NODE_HOLDS_ARRAY(list) &&
        json_array_get_length(json_node_get_array(list)) > 0) {
        first = json_array_get_element(json_node_get_array(list), 0);
    } else if (list && JSON_NODE_HOLDS_OBJECT(list)) {
        first = json_object_get_member(json_node_get_object(list), "0");
    }
    if (!first) {
        return true;                  /* an empty list */
    }
    if (JSON_NODE_HOLDS_OBJECT(first)) {
        JsonObject *o = json_node_get_object(first);
        const char *node = json_object_get_string_member_with_default(
            o, "node", "");
        if (!lb_node_find(node)) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                        "Node '%s' not found", node);
            return false;
        }
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                    "Dirty bitmap '%s' not found",
                    json_object_get_string_member_with_default(o, "name",
                                                               ""));
        return false;
    }
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_NOT_FOUND,
                "Bitmap '%s' is not found", json_node_get_string(first));
    return false;
}

/* Checks in QEMU's order (nbd_export_create), with its messages. */
static bool nbd_export_create(LbExport *exp, LbOpts *args, GError **errp)
{
    const char *name = NULL, *desc = NULL;

    if (!lb_opts_get_string(args, "name", &name, errp) ||
        !lb_opts_get_string(args, "description", &desc, errp)) {
        return false;
    }
    lb_opts_mark_used(args, "allocation-depth");
    if (!lb_nbd_server_running()) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "NBD server not running");
        return false;
    }
    if (!name) {
        name = exp->node_name;
    }
    if (strlen(name) > NBD_MAX_STRING) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "export name '%s' too long", name);
        return false;
    }
    if (desc && strlen(desc) > NBD_MAX_STRING) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "description '%s' too long", desc);
        return false;
    }

    g_mutex_lock(&server_lock);
    NbdServer *srv = nbd_server;
    if (!srv) {
        g_mutex_unlock(&server_lock);
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "NBD server not running");
        return false;
    }
    g_mutex_lock(&srv->lock);
    bool dup = server_export_find_locked(srv, name) != NULL;
    g_mutex_unlock(&srv->lock);
    g_mutex_unlock(&server_lock);
    if (dup) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_EXISTS,
                    "NBD server already has export named '%s'", name);
        return false;
    }
    if (!nbd_export_check_bitmaps(args, errp)) {
        return false;
    }

    NbdExport *nexp = g_new0(NbdExport, 1);
    nexp->exp = exp;
    nexp->name = g_strdup(name);
    nexp->description = g_strdup(desc);
    /* Control-plane calls do not run concurrently: the name is still free. */
    g_mutex_lock(&server_lock);
    g_mutex_lock(&nbd_server->lock);
    g_ptr_array_add(nbd_server->exports, nexp);
    g_mutex_unlock(&nbd_server->lock);
    g_mutex_unlock(&server_lock);
    exp->impl = nexp;
    return true;
}

static void nbd_export_destroy(LbExport *exp, bool hard)
{
    NbdExport *nexp = exp->impl;

    g_mutex_lock(&server_lock);
    NbdServer *srv = nbd_server;
    g_assert(srv);
    g_mutex_lock(&srv->lock);
    g_ptr_array_remove(srv->exports, nexp);
    server_export_drain_locked(srv, nexp);
    g_mutex_unlock(&srv->lock);
    g_mutex_unlock(&server_lock);
    g_free(nexp->name);
    g_free(nexp->description);
    g_free(nexp);
}

static unsigned nbd_export_n_clients(LbExport *exp)
{
    NbdExport *nexp = exp->impl;
    unsigned n;

    g_mutex_lock(&server_lock);
    g_mutex_lock(&nbd_server->lock);
    n = nexp->n_clients;
    g_mutex_unlock(&nbd_server->lock);
    g_mutex_unlock(&server_lock);
    return n;
}

const LbExportOps lb_export_nbd_ops = {
    .type = "nbd",
    .create = nbd_export_create,
    .destroy = nbd_export_destroy,
    .n_clients = nbd_export_n_clients,
};

/* ---- connections -------------------------------------------------------- */

/* Wake the accept thread (the pipe is non-blocking: a full pipe is awake). */
static void server_wake(NbdServer *srv)
{
    ssize_t w = write(srv->wake[1], "x", 1);
    (void)w;
}

/* Whether max-connections is reached; caller holds srv->lock. */
static bool server_full_locked(NbdServer *srv)
{
    return srv->max_conns && srv->n_conns >= srv->max_conns;
}

void nbd_server_handshake_done(NbdServer *srv, NbdConn *conn)
{
    g_mutex_lock(&srv->lock);
    conn->handshake_deadline = 0;
    g_mutex_unlock(&srv->lock);
}

static gpointer server_conn_thread(gpointer data)
{
    NbdConn *conn = data;
    NbdServer *srv = conn->srv;

    nbd_conn_run(conn);
    g_mutex_lock(&srv->lock);
    srv->conns = g_list_remove(srv->conns, conn);
    g_mutex_unlock(&srv->lock);
    nbd_conn_free(conn);
    /* Last touch of @srv: stop may free it once n_conns reaches 0. */
    g_mutex_lock(&srv->lock);
    if (server_full_locked(srv)) {
        server_wake(srv);             /* a slot frees: accept again */
    }
    srv->n_conns--;
    g_cond_broadcast(&srv->cond);
    g_mutex_unlock(&srv->lock);
    return NULL;
}

static void server_accept_one(NbdServer *srv, int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
            g_usleep(100 * 1000);     /* out of resources: do not spin */
        }
        return;
    }
    if (srv->listen.tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    NbdConn *conn = nbd_conn_new(srv, fd);
    g_mutex_lock(&srv->lock);
    if (srv->handshake_max) {
        conn->handshake_deadline = g_get_monotonic_time() +
                                   srv->handshake_max * G_TIME_SPAN_SECOND;
    }
    srv->conns = g_list_prepend(srv->conns, conn);
    srv->n_conns++;
    g_mutex_unlock(&srv->lock);

    g_autoptr(GError) err = NULL;
    GThread *t = g_thread_try_new("nbd-conn", server_conn_thread, conn, &err);
    if (!t) {
        g_mutex_lock(&srv->lock);
        srv->conns = g_list_remove(srv->conns, conn);
        srv->n_conns--;
        g_mutex_unlock(&srv->lock);
        nbd_conn_free(conn);
        return;
    }
    g_thread_unref(t);
}

/*
 * handshake-max-seconds: cut off every connection whose handshake ran out
 * of time (its thread then sees EOF and ends).  Returns the poll timeout
 * in ms until the next deadline, -1 for none.  Caller holds srv->lock.
 */
static int server_expire_handshakes_locked(NbdServer *srv)
{
    gint64 now = g_get_monotonic_time(), next = G_MAXINT64;

    for (GList *l = srv->conns; l; l = l->next) {
        NbdConn *conn = l->data;
        if (!conn->handshake_deadline) {
            continue;
        }
        if (conn->handshake_deadline <= now) {
            conn->handshake_deadline = 0;
            nbd_conn_kick(conn);
        } else {
            next = MIN(next, conn->handshake_deadline);
        }
    }
    if (next == G_MAXINT64) {
        return -1;
    }
    return (int)MIN((next - now + 999) / 1000, G_MAXINT);
}

/*
 * The accept thread.  While max-connections clients are connected it stops
 * polling the listening sockets, as QEMU pauses its listener: further
 * clients wait in the kernel's backlog and are accepted when one leaves.
 */
static gpointer server_accept_thread(gpointer data)
{
    NbdServer *srv = data;
    struct pollfd pfd[NBD_MAX_LISTEN + 1];
    NbdListeners *ls = &srv->listen;

    for (;;) {
        g_mutex_lock(&srv->lock);
        bool stopping = srv->stopping;
        unsigned n = server_full_locked(srv) ? 0 : ls->n;
        int timeout = server_expire_handshakes_locked(srv);
        g_mutex_unlock(&srv->lock);
        if (stopping) {
            break;
        }
        pfd[0] = (struct pollfd){ .fd = srv->wake[0], .events = POLLIN };
        for (unsigned i = 0; i < n; i++) {
            pfd[i + 1] = (struct pollfd){ .fd = ls->fds[i], .events = POLLIN };
        }
        if (poll(pfd, n + 1, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            g_warning("nbd: poll: %s", g_strerror(errno));
            break;
        }
        if (pfd[0].revents) {
            char buf[64];
            while (read(srv->wake[0], buf, sizeof(buf)) > 0) {
            }
            continue;                 /* recheck stopping and the limit */
        }
        for (unsigned i = 0; i < n; i++) {
            g_mutex_lock(&srv->lock);
            bool full = server_full_locked(srv);
            g_mutex_unlock(&srv->lock);
            if (full) {
                break;
            }
            if (pfd[i + 1].revents & POLLIN) {
                server_accept_one(srv, ls->fds[i]);
            }
        }
    }
    return NULL;
}

/* ---- start / stop ------------------------------------------------------- */

static void server_free(NbdServer *srv)
{
    nbd_listeners_close(&srv->listen);
    for (int i = 0; i < 2; i++) {
        if (srv->wake[i] >= 0) {
            close(srv->wake[i]);
        }
    }
    if (srv->pool) {
        g_thread_pool_free(srv->pool, FALSE, TRUE);
    }
    g_ptr_array_unref(srv->exports);
    g_free(srv->tls_creds);
    g_free(srv->tls_authz);
    g_mutex_clear(&srv->lock);
    g_cond_clear(&srv->cond);
    g_free(srv);
}

static bool server_check_tls(const char *id, GError **errp)
{
    LbTlsCreds *creds = lb_tls_creds_lookup(id, errp);
    if (!creds) {
        return false;
    }
    if (!lb_tls_creds_is_server(creds)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Expected TLS credentials for a server endpoint");
        return false;
    }
    return true;
}

/*
 * A uint32 argument, with the messages of QEMU's visitors for the command
 * line's strings (QMP's JSON was checked against the schema already).
 */
static bool server_get_u32(LbOpts *args, const char *key, uint64_t def,
                           uint64_t *out, GError **errp)
{
    const char *s = lb_opts_get_str(args, key);
    gint64 neg;

    *out = def;
    if (!lb_opts_has(args, key)) {
        return true;
    }
    lb_opts_mark_used(args, key);
    if (s && g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT32, out, NULL)) {
        return true;
    }
    bool integer =
        s && (g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, out, NULL) ||
              g_ascii_string_to_signed(s, 10, G_MININT64, -1, &neg, NULL));
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                "Parameter '%s' expects %s", key,
                integer ? "uint32_t" : "integer");
    return false;
}

bool lb_nbd_server_start(LbOpts *args, GError **errp)
{
    const char *tls = NULL, *authz = NULL;
    uint64_t max_conns = 0, handshake_max = 0;

    if (lb_nbd_server_running()) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_EXISTS,
                    "NBD server already running");
        return false;
    }
    LbOpts *addr = lb_opts_get_child(args, "addr");
    lb_opts_mark_used(args, "addr");
    if (!lb_opts_get_string(args, "tls-creds", &tls, errp) ||
        !lb_opts_get_string(args, "tls-authz", &authz, errp) ||
        !server_get_u32(args, "max-connections", 0, &max_conns, errp) ||
        !server_get_u32(args, "handshake-max-seconds",
                        NBD_HANDSHAKE_MAX_DEFAULT, &handshake_max, errp) ||
        !lb_opts_check_unexpected(args, errp)) {
        return false;
    }
    if (!addr) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'addr' is missing");
        return false;
    }
    if (tls && !server_check_tls(tls, errp)) {
        return false;
    }

    NbdServer *srv = g_new0(NbdServer, 1);
    g_mutex_init(&srv->lock);
    g_cond_init(&srv->cond);
    srv->wake[0] = srv->wake[1] = -1;
    srv->exports = g_ptr_array_new();
    srv->max_conns = max_conns;
    srv->handshake_max = handshake_max;
    srv->tls_creds = g_strdup(tls);
    /*
     * Looked up per client, as QEMU does: the object may be created or
     * replaced after the server starts, and a missing one refuses clients.
     */
    srv->tls_authz = g_strdup(authz);
    if (!nbd_listeners_open(&srv->listen, addr, errp) ||
        !lb_opts_check_unexpected(addr, errp)) {
        server_free(srv);
        return false;
    }
    if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "pipe: %s", g_strerror(errno));
        server_free(srv);
        return false;
    }
    int nthreads = MAX(4, 2 * (int)g_get_num_processors());
    srv->pool = g_thread_pool_new(nbd_conn_worker, NULL, nthreads, FALSE,
                                  errp);
    if (!srv->pool) {
        server_free(srv);
        return false;
    }
    srv->accept_thread = g_thread_try_new("nbd-accept", server_accept_thread,
                                          srv, errp);
    if (!srv->accept_thread) {
        server_free(srv);
        return false;
    }
    g_mutex_lock(&server_lock);
    nbd_server = srv;
    g_mutex_unlock(&server_lock);
    return true;
}

bool lb_nbd_server_running(void)
{
    g_mutex_lock(&server_lock);
    bool running = nbd_server != NULL;
    g_mutex_unlock(&server_lock);
    return running;
}

bool lb_nbd_server_stop(GError **errp)
{
    g_mutex_lock(&server_lock);
    NbdServer *srv = nbd_server;
    g_mutex_unlock(&server_lock);
    if (!srv) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "NBD server not running");
        return false;
    }
    /* No new connections, ... */
    g_mutex_lock(&srv->lock);
    srv->stopping = true;
    server_wake(srv);
    g_mutex_unlock(&srv->lock);
    g_thread_join(srv->accept_thread);
    srv->accept_thread = NULL;
    /* ... every nbd export goes (BLOCK_EXPORT_DELETED each), ... */
    lb_export_del_type(&lb_export_nbd_ops);
    /* ... and connections still negotiating are cut off. */
    g_mutex_lock(&srv->lock);
    while (srv->n_conns > 0) {
        for (GList *l = srv->conns; l; l = l->next) {
            nbd_conn_kick(l->data);
        }
        g_cond_wait_until(&srv->cond, &srv->lock,
                          g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND);
    }
    g_mutex_unlock(&srv->lock);

    g_mutex_lock(&server_lock);
    nbd_server = NULL;
    g_mutex_unlock(&server_lock);
    server_free(srv);
    return true;
}
