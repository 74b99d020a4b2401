/*
 * lb/notify.h: systemd's service notification and socket activation
 * protocols, without libsystemd (util/notify.c).
 */
#ifndef LB_NOTIFY_H
#define LB_NOTIFY_H

#include <stdbool.h>
#include <glib.h>

/**
 * lb_sd_notify: send @state ("READY=1", "STOPPING=1", ...) as one
 * datagram to the unix socket named by $NOTIFY_SOCKET (a path, or
 * "@name" for an abstract socket).  Returns 0 when sent, 1 when
 * NOTIFY_SOCKET is unset (not run by systemd: nothing to do), -1 with
 * @errp set on failure.  Any thread; it keeps no state.
 */
int lb_sd_notify(const char *state, GError **errp);

/**
 * lb_listen_fd_parse: the file descriptor that @str names: a number, or a
 * name from $LISTEN_FDNAMES (systemd's FileDescriptorName=) when
 * $LISTEN_PID is this process, mapping the n-th name to fd 3 + n.
 * Returns the fd, or -1 with @errp set.  Any thread.
 */
int lb_listen_fd_parse(const char *str, GError **errp);

#endif
