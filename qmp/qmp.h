/*
 * qmp.h: the QMP layer's interface to the storage daemon.
 *
 *   client --unix socket--> LbMonitor (monitor.c: greeting, negotiation,
 *        JSON splitting) --> lb_qmp_dispatch (dispatch.c: request checks,
 *        schema validation) --> generated marshaller --> lb_qmp_<command>
 *        (commands-*.c) --> block / crypto / export layers
 *
 * Events raised anywhere with lb_event_emit() are broadcast to every
 * monitor that has left capabilities negotiation.  Errors carry a GError;
 * the reply's "class" is derived from it by lb_qmp_error_class().
 */
#ifndef LB_QMP_QMP_H
#define LB_QMP_QMP_H

#include <stdbool.h>
#include <glib.h>

#include "lb/opts.h"

#define LB_QMP_ERROR (lb_qmp_error_quark())
GQuark lb_qmp_error_quark(void);
typedef enum {
    LB_QMP_ERROR_GENERIC,           /* class GenericError */
    LB_QMP_ERROR_COMMAND_NOT_FOUND, /* class CommandNotFound */
    LB_QMP_ERROR_DEVICE_NOT_FOUND,  /* class DeviceNotFound */
} LbQmpErrorCode;

/** The QMP error class for @err: "GenericError", "CommandNotFound", ... */
const char *lb_qmp_error_class(const GError *err);

/**
 * lb_monitor_listen_unix: serve QMP on a unix socket at @path (created,
 * replacing a stale socket file).  Any number of clients may connect,
 * each getting its own session.  @id names the chardev.
 */
bool lb_monitor_listen_unix(const char *id, const char *path, GError **errp);
/**
 * lb_monitor_listen_fd: serve QMP on @fd, an inherited listening unix or
 * TCP socket (systemd socket activation; listen() is called if needed).
 * The socket is closed, never unlinked, at shutdown.  Main thread.
 */
bool lb_monitor_listen_fd(const char *id, int fd, GError **errp);
/** lb_monitor_shutdown_all: close every session and listening socket. */
void lb_monitor_shutdown_all(void);

/**
 * lb_qmp_set_quit_handler: what the quit command calls (after its reply
 * has been sent), from the main loop.
 */
void lb_qmp_set_quit_handler(void (*fn)(void *opaque), void *opaque);
/** Called by the quit command's handler. */
void lb_qmp_request_quit(void);

/* lb_jobs_cancel_all() (shutdown) is in lb/job.h. */
#include "lb/job.h"

/**
 * lb_qmp_execute_json: run one request given as JSON text (with
 * capabilities already negotiated) and return the reply as JSON text
 * (transfer full).  Used by tests and by the daemon's command line.
 */
char *lb_qmp_execute_json(const char *request);

/**
 * lb_qmp_check_opts: validate @opts against the arguments of QMP
 * @command (e.g. "blockdev-add" for --blockdev), so command-line errors
 * read like the monitor's.  @keyval: the options came from keyval text,
 * so scalar values are strings.
 */
bool lb_qmp_check_opts(const char *command, LbOpts *opts, bool keyval,
                       GError **errp);

#endif /* LB_QMP_QMP_H */
