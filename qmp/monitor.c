/*
 * monitor.c: QMP sessions over unix sockets.
 *
 *   listening socket (GSocketService, one per --monitor / chardev)
 *     └── session per client: greeting -> negotiation -> command mode
 *           input:  non-blocking reads -> LbJsonSplitter -> dispatch
 *           output: a byte queue flushed whenever the socket is writable
 *
 * Each session is independent; any number may be open at once.  Events
 * (lb_event_emit, from any thread) are timestamped when raised, queued,
 * and broadcast from the main loop to every session in command mode.
 * Lines end in "\r\n" as QEMU's do.
 */
#include "config.h"
#include "qmp/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <json-glib/json-glib.h>

#include "lb/event.h"
#include "lb/secret.h"
#include "qmp/dispatch.h"
#include "qmp/json-splitter.h"
#include "qmp/qmp-opts.h"

/* Bigger requests are refused (QEMU's limit is 64 MiB per token). */
#define LB_QMP_MAX_REQUEST (8 * 1024 * 1024)
/* Unsent output beyond this closes the session. */
#define LB_QMP_MAX_BACKLOG (64 * 1024 * 1024)

typedef struct LbSession {
    GSocketConnection *conn;
    GSocket *sock;
    GSource *in_src, *out_src;
    GString *out;
    LbJsonSplitter splitter;
    bool negotiated;
    bool closing;
} LbSession;

typedef struct LbListener {
    char *id;
    char *path;
    GSocketService *service;
} LbListener;

static GList *sessions;
static GList *listeners;
static unsigned event_handle;
static GMutex event_lock;
static GQueue event_queue = G_QUEUE_INIT;
static guint event_idle;
static void (*quit_fn)(void *opaque);
static gboolean broadcast_events(gpointer opaque);
static void *quit_opaque;
static bool quit_requested;

static void session_free(LbSession *s)
{
    sessions = g_list_remove(sessions, s);
    if (s->in_src) {
        g_source_destroy(s->in_src);
        g_source_unref(s->in_src);
    }
    if (s->out_src) {
        g_source_destroy(s->out_src);
        g_source_unref(s->out_src);
    }
    g_io_stream_close(G_IO_STREAM(s->conn), NULL, NULL);
    g_object_unref(s->conn);
    g_string_free(s->out, TRUE);
    lb_json_splitter_destroy(&s->splitter);
    g_free(s);
}

static gboolean session_writable(GSocket *sock, GIOCondition cond,
                                 gpointer opaque);

/* Send what the socket takes now; wait for G_IO_OUT for the rest. */
static void session_flush(LbSession *s)
{
    while (s->out->len > 0) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_send(s->sock, s->out->str, s->out->len, NULL, &err);
        if (n < 0) {
            if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                break;
            }
            /* The peer is gone; the input side notices and frees us. */
            g_string_truncate(s->out, 0);
            s->closing = true;
            return;
        }
        g_string_erase(s->out, 0, n);
    }
    if (s->out->len > 0 && !s->out_src) {
        s->out_src = g_socket_create_source(s->sock, G_IO_OUT, NULL);
        g_source_set_callback(
            s->out_src, (GSourceFunc)(void (*)(void))session_writable, s, NULL);
        g_source_attach(s->out_src, NULL);
    }
}

static gboolean session_writable(GSocket *sock, GIOCondition cond,
                                 gpointer opaque)
{
    LbSession *s = opaque;

    g_source_unref(s->out_src);
    s->out_src = NULL;
    session_flush(s);
    return G_SOURCE_REMOVE;
}

static void session_send_text(LbSession *s, const char *text)
{
    if (s->closing) {
        return;
    }
    if (s->out->len > LB_QMP_MAX_BACKLOG) {
        /* The client stopped reading (events pile up): drop it rather
         * than grow without bound.  The input side then frees it. */
        g_string_truncate(s->out, 0);
        s->closing = true;
        g_socket_shutdown(s->sock, TRUE, TRUE, NULL);
        return;
    }
    g_string_append(s->out, text);
    g_string_append(s->out, "\r\n");
    session_flush(s);
}

static void session_send(LbSession *s, JsonNode *msg)
{
    g_autofree char *text = lb_qmp_to_text(msg);
    session_send_text(s, text);
}

static void session_greet(LbSession *s)
{
    g_autofree char *text = g_strdup_printf(
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": %d, \"minor\": %d, "
        "\"major\": %d}, \"package\": \"luksblk\"}, "
        "\"capabilities\": [\"oob\"]}}",
        LB_VERSION_MICRO, LB_VERSION_MINOR, LB_VERSION_MAJOR);
    session_send_text(s, text);
}

static void session_error(LbSession *s, const char *desc)
{
    g_autoptr(GError) err = g_error_new(LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                                        "JSON parse error, %s", desc);
    g_autoptr(JsonNode) reply = lb_qmp_error_reply(err, NULL);
    session_send(s, reply);
}

static void on_text(const char *text, size_t len, const char *error,
                    void *opaque)
{
    LbSession *s = opaque;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;

    if (error) {
        session_error(s, error);
        return;
    }
    if (!g_utf8_validate(text, len, NULL)) {
        session_error(s, "invalid UTF-8 sequence");
        return;
    }
    /* Passphrases (object-add data) never reach json-glib, which leaves
     * unwiped copies behind; the splitter wipes @text after we return. */
    g_autoptr(GPtrArray) secrets = lb_qmp_secrets_new();
    g_autofree char *clean = lb_opts_json_redact(text, len, secrets);
    if (!json_parser_load_from_data(parser, clean, -1, &err)) {
        /* json-glib names the input "<data>"; drop that. */
        const char *msg = err->message;
        session_error(s, g_str_has_prefix(msg, "<data>:") ? msg + 7 : msg);
        return;
    }
    lb_qmp_set_request_secrets(secrets);
    g_autoptr(JsonNode) reply =
        lb_qmp_dispatch(json_parser_get_root(parser), &s->negotiated);
    lb_qmp_set_request_secrets(NULL);
    /*
     * Events the command raised go out before its reply, as in QEMU (e.g.
     * BLOCK_EXPORT_DELETED precedes block-export-del's return).
     */
    broadcast_events(NULL);
    session_send(s, reply);
    if (quit_requested && quit_fn) {
        quit_requested = false;
        quit_fn(quit_opaque);
    }
}

static gboolean session_readable(GSocket *sock, GIOCondition cond,
                                 gpointer opaque)
{
    LbSession *s = opaque;
    char buf[65536];

    for (;;) {
        g_autoptr(GError) err = NULL;
        gssize n = g_socket_receive(sock, buf, sizeof(buf), NULL, &err);

        if (n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            break;
        }
        if (n <= 0) {
            g_source_unref(s->in_src);
            s->in_src = NULL;
            session_free(s);
            return G_SOURCE_REMOVE;
        }
        lb_json_splitter_feed(&s->splitter, buf, n);
        lb_memzero(buf, n); /* requests may carry passphrases */
        if (s->closing) {
            g_source_unref(s->in_src);
            s->in_src = NULL;
            session_free(s);
            return G_SOURCE_REMOVE;
        }
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn,
                            GObject *source, gpointer opaque)
{
    LbSession *s = g_new0(LbSession, 1);

    s->conn = g_object_ref(conn);
    s->sock = g_socket_connection_get_socket(conn);
    g_socket_set_blocking(s->sock, FALSE);
    s->out = g_string_new(NULL);
    lb_json_splitter_init(&s->splitter, LB_QMP_MAX_REQUEST, on_text, s);
    sessions = g_list_append(sessions, s);
    s->in_src =
        g_socket_create_source(s->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(
        s->in_src, (GSourceFunc)(void (*)(void))session_readable, s, NULL);
    g_source_attach(s->in_src, NULL);
    session_greet(s);
    return TRUE;
}

/* ---- events ------------------------------------------------------------ */

static gboolean broadcast_events(gpointer opaque)
{
    g_mutex_lock(&event_lock);
    GQueue q = event_queue;
    event_queue = (GQueue)G_QUEUE_INIT;
    event_idle = 0;
    g_mutex_unlock(&event_lock);

    char *text;
    while ((text = g_queue_pop_head(&q))) {
        for (GList *l = sessions; l; l = l->next) {
            LbSession *s = l->data;
            if (s->negotiated) {
                session_send_text(s, text);
            }
        }
        g_free(text);
    }
    return G_SOURCE_REMOVE;
}

static void on_event(const char *name, const char *data_json, void *opaque)
{
    gint64 now = g_get_real_time();
    char *text = g_strdup_printf(
        "{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT
        ", \"microseconds\": %" G_GINT64_FORMAT "}, \"event\": \"%s\"%s%s}",
        now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, name,
        data_json ? ", \"data\": " : "", data_json ? data_json : "");

    g_mutex_lock(&event_lock);
    g_queue_push_tail(&event_queue, text);
    if (!event_idle) {
        event_idle = g_idle_add(broadcast_events, NULL);
    }
    g_mutex_unlock(&event_lock);
}

/* ---- listeners ---------------------------------------------------------- */

/* Serve QMP sessions from @service (taken); @path is unlinked at the end. */
static void listener_start(const char *id, const char *path,
                           GSocketService *service)
{
    g_signal_connect(service, "incoming", G_CALLBACK(on_incoming), NULL);
    g_socket_service_start(service);
    if (!event_handle) {
        event_handle = lb_event_subscribe(on_event, NULL);
    }
    LbListener *l = g_new0(LbListener, 1);
    l->id = g_strdup(id);
    l->path = g_strdup(path);
    l->service = service;
    listeners = g_list_append(listeners, l);
}

bool lb_monitor_listen_unix(const char *id, const char *path, GError **errp)
{
    g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(path);
    g_autoptr(GSocketService) service = g_socket_service_new();

    if (g_file_test(path, G_FILE_TEST_EXISTS) && unlink(path) < 0) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Failed to unlink socket %s: %s", path, g_strerror(errno));
        return false;
    }
    if (!g_socket_listener_add_address(
            G_SOCKET_LISTENER(service), addr, G_SOCKET_TYPE_STREAM,
            G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, errp)) {
        g_prefix_error(errp, "Failed to bind socket to %s: ", path);
        return false;
    }
    listener_start(id, path, g_steal_pointer(&service));
    return true;
}

bool lb_monitor_listen_fd(const char *id, int fd, GError **errp)
{
    if (fcntl(fd, F_GETFD) < 0) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "fd %d is not open (no socket was passed there)", fd);
        return false;
    }
    g_autoptr(GSocket) sock = g_socket_new_from_fd(fd, errp);

    if (!sock) {
        g_prefix_error(errp, "fd %d: ", fd);
        return false;
    }
    if (g_socket_get_socket_type(sock) != G_SOCKET_TYPE_STREAM) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "fd %d is not a stream socket", fd);
        return false;
    }
    /* systemd passes sockets listening already; listen() again is a no-op
     * that keeps the backlog, and makes a merely bound socket usable. */
    if (!g_socket_listen(sock, errp)) {
        g_prefix_error(errp, "fd %d: ", fd);
        return false;
    }
    g_autoptr(GSocketService) service = g_socket_service_new();
    if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(service), sock, NULL,
                                      errp)) {
        return false;
    }
    listener_start(id, NULL, g_steal_pointer(&service));
    return true;
}

void lb_monitor_shutdown_all(void)
{
    if (event_handle) {
        lb_event_unsubscribe(event_handle);
        event_handle = 0;
    }
    /* Deliver queued events and replies before closing. */
    broadcast_events(NULL);
    if (event_idle) {
        g_source_remove(event_idle);
        event_idle = 0;
    }
    while (sessions) {
        LbSession *s = sessions->data;
        g_socket_set_blocking(s->sock, TRUE);
        g_socket_set_timeout(s->sock, 1);
        session_flush(s);
        session_free(s);
    }
    while (listeners) {
        LbListener *l = listeners->data;
        listeners = g_list_remove(listeners, l);
        g_socket_service_stop(l->service);
        g_socket_listener_close(G_SOCKET_LISTENER(l->service));
        g_object_unref(l->service);
        if (l->path) { /* fd= sockets belong to whoever passed them */
            unlink(l->path);
        }
        g_free(l->id);
        g_free(l->path);
        g_free(l);
    }
}

void lb_qmp_set_quit_handler(void (*fn)(void *opaque), void *opaque)
{
    quit_fn = fn;
    quit_opaque = opaque;
}

void lb_qmp_request_quit(void)
{
    quit_requested = true;
}
