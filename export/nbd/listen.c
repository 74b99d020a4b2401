/*
 * export/nbd/listen.c: the NBD server's listening sockets.
 *
 * nbd-server-start's "addr", as QEMU's util/qemu-sockets.c reads it:
 *   unix   a socket file (a stale one is replaced, and the file is removed
 *          on stop) or, with abstract=on, a Linux abstract name ("tight"
 *          addressing unless tight=off)
 *   inet   TCP on every address the host name resolves to (IPv6 sockets
 *          are v6-only so that 0.0.0.0 and :: can both be bound); ipv4,
 *          ipv6 and numeric steer the lookup, "to" makes the port a range
 *          (the first free one is taken), keep-alive and mptcp as in QEMU
 *   vsock  AF_VSOCK cid and port
 *   fd     an inherited socket, by number or by systemd's
 *          FileDescriptorName= (command line only: QMP's fd
 *          passing needs QEMU's getfd, which qemu-storage-daemon lacks too)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <linux/vm_sockets.h>
#include <glib.h>

#include "lb/export.h"
#include "lb/notify.h"
#include "nbd-priv.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define NBD_LISTEN_BACKLOG 64

/* The InetSocketAddress flags that shape the listening sockets. */
typedef struct NbdListenOpts {
    int family; /* from ipv4 / ipv6 */
    bool numeric;
    bool keep_alive;
    bool mptcp;
    bool has_to;
    unsigned to; /* last port of the range */
} NbdListenOpts;

static bool listen_fd(NbdListeners *ls, int fd, GError **errp)
{
    if (listen(fd, NBD_LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to listen on socket: %s", g_strerror(e));
        return false;
    }
    ls->fds[ls->n++] = fd;
    return true;
}

static bool listen_unix(NbdListeners *ls, const char *path, bool abstract,
                        bool tight, GError **errp)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);

    if (plen + (abstract ? 1 : 0) >= sizeof(sun.sun_path)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "UNIX socket path '%s' is too long", path);
        return false;
    }
    /* An abstract name starts with a NUL; "tight" ends the address there. */
    memcpy(sun.sun_path + (abstract ? 1 : 0), path, plen);
    socklen_t alen = sizeof(sun);
    if (abstract && tight) {
        alen = offsetof(struct sockaddr_un, sun_path) + 1 + plen;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to create Unix socket: %s", g_strerror(errno));
        return false;
    }
    if (!abstract) {
        unlink(path); /* a stale file from an earlier run */
    }
    if (bind(fd, (struct sockaddr *)&sun, alen) < 0) {
        int e = errno;
        close(fd);
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to bind socket to %s: %s", path, g_strerror(e));
        return false;
    }
    if (!abstract) {
        ls->unix_path = g_strdup(path);
    }
    return listen_fd(ls, fd, errp);
}

/*
 * One TCP socket bound to @ai on the first free port of [port, to]; else
 * -1 with *err set and *bound_err true when a bind (not socket()) failed.
 */
static int listen_inet_one(struct addrinfo *ai, unsigned port, unsigned to,
                           const NbdListenOpts *o, int *err, bool *bound_err)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    o->mptcp ? IPPROTO_MPTCP : ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (o->keep_alive) {
        /* Inherited by every accepted connection. */
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    }
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    for (unsigned p = port; p <= to; p++) {
        if (ai->ai_family == AF_INET6) {
            ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(p);
        } else {
            ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(p);
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, NBD_LISTEN_BACKLOG) == 0) {
            return fd;
        }
        *err = errno;
        *bound_err = true;
    }
    close(fd);
    return -1;
}

static bool listen_inet(NbdListeners *ls, const char *host, const char *port,
                        const NbdListenOpts *o, GError **errp)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE,
                             .ai_family = o->family,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    /* QEMU's "errno" when the range is empty: nothing was even tried. */
    int saved = ENOTCONN;
    bool bound_err = false;

    if (o->numeric) {
        hints.ai_flags |= AI_NUMERICHOST;
    }
    int rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "address resolution failed for %s:%s: %s", host ? host : "",
                    port, gai_strerror(rc));
        return false;
    }
    for (struct addrinfo *ai = res; ai && ls->n < NBD_MAX_LISTEN;
         ai = ai->ai_next) {
        unsigned first =
            ai->ai_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port)
                : ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port);
        unsigned last = o->has_to ? o->to : first;
        int fd = listen_inet_one(ai, first, last, o, &saved, &bound_err);
        if (fd >= 0) {
            ls->fds[ls->n++] = fd;
        }
    }
    freeaddrinfo(res);
    if (ls->n == 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    bound_err ? "Failed to find an available port: %s"
                              : "Failed to create a socket: %s",
                    g_strerror(saved));
        return false;
    }
    ls->tcp = true;
    return true;
}

static bool listen_vsock(NbdListeners *ls, const char *cid, const char *port,
                         GError **errp)
{
    struct sockaddr_vm svm = {.svm_family = AF_VSOCK};
    guint64 v;

    if (!g_ascii_string_to_unsigned(cid, 10, 0, G_MAXUINT32, &v, NULL)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to parse cid '%s'", cid);
        return false;
    }
    svm.svm_cid = v;
    if (!g_ascii_string_to_unsigned(port, 10, 0, G_MAXUINT32, &v, NULL)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to parse port '%s'", port);
        return false;
    }
    svm.svm_port = v;
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to create socket: %s", g_strerror(errno));
        return false;
    }
    if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0) {
        int e = errno;
        close(fd);
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to bind socket: %s", g_strerror(e));
        return false;
    }
    return listen_fd(ls, fd, errp);
}

/* An inherited socket by number (systemd, libvirt); it is closed on stop. */
static bool listen_inherited(NbdListeners *ls, const char *str, GError **errp)
{
    int type;
    socklen_t len = sizeof(type);
    struct sockaddr_storage ss;
    socklen_t slen = sizeof(ss);

    /* A number, or a socket unit's FileDescriptorName= (install: names). */
    int fd = lb_listen_fd_parse(str, NULL);
    if (fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Unable to parse FD number %s", str);
        return false;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &slen) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "File descriptor '%s' is not a socket", str);
        return false;
    }
    if (listen(fd, NBD_LISTEN_BACKLOG) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "Failed to listen on fd socket: %s", g_strerror(errno));
        return false;
    }
    ls->fds[ls->n++] = fd;
    ls->tcp = ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
    return true;
}

/* A string member; "Parameter 'addr.KEY' is missing" when required. */
static bool listen_get(LbOpts *a, const char *key, bool required,
                       const char **out, GError **errp)
{
    if (!lb_opts_get_string(a, key, out, errp)) {
        return false;
    }
    if (!*out && required) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'addr.%s' is missing", key);
        return false;
    }
    return true;
}

/* The InetSocketAddress flags; QEMU's inet_ai_family_from_address(). */
static bool listen_inet_opts(LbOpts *a, NbdListenOpts *o, GError **errp)
{
    bool has4 = lb_opts_has(a, "ipv4"), has6 = lb_opts_has(a, "ipv6");
    bool v4, v6;
    uint64_t to = 0;

    if (!lb_opts_get_bool(a, "ipv4", false, &v4, errp) ||
        !lb_opts_get_bool(a, "ipv6", false, &v6, errp) ||
        !lb_opts_get_bool(a, "numeric", false, &o->numeric, errp) ||
        !lb_opts_get_bool(a, "keep-alive", false, &o->keep_alive, errp) ||
        !lb_opts_get_bool(a, "mptcp", false, &o->mptcp, errp) ||
        !lb_opts_get_uint(a, "to", 0, &to, errp)) {
        return false;
    }
    if (to > G_MAXUINT16) {
        /* QEMU names the member alone here. */
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'to' expects uint16_t");
        return false;
    }
    o->has_to = lb_opts_has(a, "to");
    o->to = to;
    o->family = AF_UNSPEC;
    if (has4 && has6 && v4 == v6) {
        o->family = AF_UNSPEC;
    } else if ((has6 && v6) || (has4 && !v4)) {
        o->family = AF_INET6;
    } else if ((has4 && v4) || (has6 && !v6)) {
        o->family = AF_INET;
    }
    return true;
}

/*
 * @addr is QMP's SocketAddressLegacy ({"type":"unix","data":{"path":..}})
 * or the flat SocketAddress of the command line (addr.type=unix,
 * addr.path=..).
 */
static bool listeners_open(NbdListeners *ls, LbOpts *addr, GError **errp)
{
    const char *type = NULL, *s1 = NULL, *s2 = NULL;

    if (!lb_opts_get_string(addr, "type", &type, errp)) {
        return false;
    }
    LbOpts *data = lb_opts_get_child(addr, "data");
    LbOpts *a = data ? data : addr;
    lb_opts_mark_used(addr, "data");
    if (!type) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'addr.type' is missing");
        return false;
    }
    if (strcmp(type, "unix") == 0) {
        bool abstract, tight;
        return listen_get(a, "path", true, &s1, errp) &&
               lb_opts_get_bool(a, "abstract", false, &abstract, errp) &&
               lb_opts_get_bool(a, "tight", true, &tight, errp) &&
               listen_unix(ls, s1, abstract, tight, errp);
    }
    if (strcmp(type, "inet") == 0) {
        NbdListenOpts o = {0};
        return listen_get(a, "host", true, &s1, errp) &&
               listen_get(a, "port", true, &s2, errp) &&
               listen_inet_opts(a, &o, errp) &&
               listen_inet(ls, s1, s2, &o, errp);
    }
    if (strcmp(type, "vsock") == 0) {
        return listen_get(a, "cid", true, &s1, errp) &&
               listen_get(a, "port", true, &s2, errp) &&
               listen_vsock(ls, s1, s2, errp);
    }
    if (strcmp(type, "fd") == 0) {
        return listen_get(a, "str", true, &s1, errp) &&
               listen_inherited(ls, s1, errp);
    }
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                "Parameter 'addr.type' does not accept value '%s'", type);
    return false;
}

bool nbd_listeners_open(NbdListeners *ls, LbOpts *addr, GError **errp)
{
    if (!listeners_open(ls, addr, errp)) {
        return false;
    }
    /*
     * Non-blocking: a client that resets between poll() and accept()
     * must not leave the accept thread blocked (nbd-server-stop joins it).
     * Accepted sockets do not inherit the flag.
     */
    for (unsigned i = 0; i < ls->n; i++) {
        int fl = fcntl(ls->fds[i], F_GETFL);
        if (fl >= 0) {
            fcntl(ls->fds[i], F_SETFL, fl | O_NONBLOCK);
        }
    }
    return true;
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
