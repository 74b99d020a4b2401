/*
 * export/nbd/listen.c: the NBD server's listening sockets.
 *
 * nbd-server-start's "addr": a unix socket (a stale socket file is
 * replaced, and the file is removed on stop, as QEMU does) or TCP on every
 * address the host name resolves to (IPv6 sockets are v6-only so that
 * 0.0.0.0 and :: can both be bound).
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>

#include "lb/export.h"
#include "nbd-priv.h"

static bool listen_fd(NbdListeners *ls, int fd, GError **errp)
{
    if (listen(fd, 64) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "failed to listen on socket: %s", g_strerror(errno));
        close(fd);
        return false;
    }
    ls->fds[ls->n++] = fd;
    return true;
}

static bool listen_unix(NbdListeners *ls, const char *path, GError **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    if (strlen(path) >= sizeof(sun.sun_path)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(sun.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "failed to create socket: %s", g_strerror(errno));
        return false;
    }
    /* Like QEMU: a stale socket file from an earlier run is replaced. */
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to bind socket to %s: %s", path,
                    g_strerror(errno));
        close(fd);
        return false;
    }
    ls->unix_path = g_strdup(path);
    return listen_fd(ls, fd, errp);
}

static bool listen_inet(NbdListeners *ls, const char *host,
                        const char *port, GError **errp)
{
    struct addrinfo hints = { .ai_flags = AI_PASSIVE,
                              .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int saved = 0;

    int rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "address resolution failed for %s:%s: %s",
                    host ? host : "", port, gai_strerror(rc));
        return false;
    }
    for (struct addrinfo *ai = res; ai && ls->n < NBD_MAX_LISTEN;
         ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
            saved = errno;
            close(fd);
            continue;
        }
        ls->fds[ls->n++] = fd;
    }
    freeaddrinfo(res);
    if (ls->n == 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to bind socket on %s:%s: %s", host ? host : "",
                    port, g_strerror(saved ? saved : EADDRNOTAVAIL));
        return false;
    }
    ls->tcp = true;
    return true;
}

/*
 * @addr is QMP's SocketAddressLegacy ({"type":"unix","data":{"path":..}})
 * or the flat SocketAddress of the command line (addr.type=unix,
 * addr.path=..).
 */
bool nbd_listeners_open(NbdListeners *ls, LbOpts *addr, GError **errp)
{
    const char *type = NULL, *path = NULL, *host = NULL, *port = NULL;

    if (!lb_opts_get_string(addr, "type", &type, errp)) {
        return false;
    }
    LbOpts *data = lb_opts_get_child(addr, "data");
    LbOpts *a = data ? data : addr;
    lb_opts_mark_used(addr, "data");
    /* InetSocketAddress options that need nothing from us. */
    static const char *const ignored[] = {
        "numeric", "to", "ipv4", "ipv6", "keep-alive", "mptcp",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ignored); i++) {
        lb_opts_mark_used(a, ignored[i]);
    }
    if (!type) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'addr.type' is missing");
        return false;
    }
    if (strcmp(type, "unix") == 0) {
        if (!lb_opts_get_string(a, "path", &path, errp)) {
            return false;
        }
        if (!path) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                        "Parameter 'addr.path' is missing");
            return false;
        }
        return listen_unix(ls, path, errp);
    }
    if (strcmp(type, "inet") == 0) {
        if (!lb_opts_get_string(a, "host", &host, errp) ||
            !lb_opts_get_string(a, "port", &port, errp)) {
            return false;
        }
        if (!port) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                        "Parameter 'addr.port' is missing");
            return false;
        }
        return listen_inet(ls, host, port, errp);
    }
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                "Invalid parameter 'addr.type': '%s' (unix or inet)", type);
    return false;
}

void nbd_listeners_close(NbdListeners *ls)
{
    for (unsigned i = 0; i < ls->n; i++) {
        close(ls->fds[i]);
    }
    ls->n = 0;
    if (ls->unix_path) {
        unlink(ls->unix_path);
        g_clear_pointer(&ls->unix_path, g_free);
    }
}
