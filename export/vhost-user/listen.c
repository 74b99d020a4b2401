/*
 * listen.c: the listening socket of a vhost-user-blk export.  "addr" is
 * QAPI's SocketAddress in its flat form ({"type": "unix", "path": ..} or
 * {"type": "fd", "str": "3"}); as in qemu-storage-daemon only unix and fd
 * are accepted (vhost-user passes fds, so it needs a unix socket).  The
 * socket work itself is the NBD server's (export/nbd/listen.c), so both
 * exports treat paths, stale sockets and inherited fds alike.
 */
#include "config.h"
#include "vu-priv.h"

#include <string.h>

#include "lb/export.h"
#include "../nbd/nbd-priv.h"

bool vu_listen(LbOpts *addr, int *fd, char **unix_path, GError **errp)
{
    const char *type = addr ? lb_opts_get_str(addr, "type") : NULL;
    NbdListeners ls = {0};

    if (!addr) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Parameter 'addr' is missing");
        return false;
    }
    if (type && strcmp(type, "unix") != 0 && strcmp(type, "fd") != 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "Only socket address types 'unix' and 'fd' are "
                    "supported");
        return false;
    }
    if (!nbd_listeners_open(&ls, addr, errp)) {
        return false;
    }
    g_assert(ls.n == 1);
    *fd = ls.fds[0];
    *unix_path = ls.unix_path;
    return true;
}

void vu_unlisten(int fd, char *unix_path)
{
    NbdListeners ls = {.fds = {fd}, .n = fd >= 0, .unix_path = unix_path};

    nbd_listeners_close(&ls);
}
