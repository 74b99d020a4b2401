/*
 * util/notify.c: the two systemd protocols luksblk-storage-daemon speaks,
 * implemented directly (no libsystemd):
 *   - readiness: "READY=1" as one datagram to $NOTIFY_SOCKET (a unix
 *     socket path, or "@name" for the abstract namespace), as
 *     sd_notify(3) sends it;
 *   - socket activation: inherited listening sockets start at fd 3
 *     ($LISTEN_FDS of them, for $LISTEN_PID); they may carry names
 *     ($LISTEN_FDNAMES, colon-separated), which fd= options accept too.
 */
#include "config.h"
#include "lb/notify.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LB_NOTIFY_ERROR g_quark_from_static_string("lb-notify-error")

int lb_sd_notify(const char *state, GError **errp)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len;

    if (!path || !*path) {
        return 1;
    }
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
        g_set_error(errp, LB_NOTIFY_ERROR, 0,
                    "NOTIFY_SOCKET '%s' is not a unix socket path", path);
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') {
        sa.sun_path[0] = '\0'; /* abstract: no terminating NUL counted */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, LB_NOTIFY_ERROR, 0, "socket: %s", g_strerror(errno));
        return -1;
    }
    socklen_t salen = offsetof(struct sockaddr_un, sun_path) + len +
                      (path[0] == '@' ? 0 : 1);
    ssize_t n;
    do {
        n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                   (struct sockaddr *)&sa, salen);
    } while (n < 0 && errno == EINTR);
    int err = errno;
    close(fd);
    if (n < 0) {
        g_set_error(errp, LB_NOTIFY_ERROR, 0, "cannot notify %s: %s", path,
                    g_strerror(err));
        return -1;
    }
    return 0;
}

int lb_listen_fd_parse(const char *str, GError **errp)
{
    guint64 v;

    if (g_ascii_string_to_unsigned(str, 10, 0, G_MAXINT, &v, NULL)) {
        return (int)v;
    }
    const char *pid = getenv("LISTEN_PID");
    const char *names = getenv("LISTEN_FDNAMES");
    const char *count = getenv("LISTEN_FDS");
    guint64 p = 0, nfds = 0;
    if (names && pid && count &&
        g_ascii_string_to_unsigned(pid, 10, 1, G_MAXINT, &p, NULL) &&
        p == (guint64)getpid() &&
        g_ascii_string_to_unsigned(count, 10, 1, 1024, &nfds, NULL)) {
        g_auto(GStrv) list = g_strsplit(names, ":", -1);
        for (guint64 i = 0; i < nfds && list[i]; i++) {
            if (g_str_equal(list[i], str)) {
                return 3 + (int)i;
            }
        }
    }
    g_set_error(errp, LB_NOTIFY_ERROR, 0,
                "'%s' is neither a file descriptor number nor the name of a "
                "socket passed by systemd (LISTEN_FDNAMES)", str);
    return -1;
}
