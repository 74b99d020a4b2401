/*
 * storage-daemon.c: luksblk-storage-daemon, the counterpart of
 * qemu-storage-daemon: a long-running process holding a block graph,
 * serving it over NBD/FUSE and managed over QMP.
 *
 * Options are processed in command-line order, as QEMU does:
 *   --object secret,id=sec0,file=pass.txt       (keyval or JSON)
 *   --blockdev driver=file,node-name=p0,filename=p.img   (keyval or JSON)
 *   --chardev socket,id=m0,path=qmp.sock,server=on,wait=off
 *   --monitor chardev=m0
 *   --nbd-server addr.type=unix,addr.path=nbd.sock
 *   --export type=nbd,id=e0,node-name=disk0,writable=on
 *   --pidfile PATH   --daemonize
 * Under systemd: READY=1 to $NOTIFY_SOCKET once every option has been
 * processed (so every export and monitor listens), STOPPING=1 at the end;
 * --chardev socket,fd=N and --nbd-server addr.type=fd take the sockets
 * of socket activation (by number, or by FileDescriptorName=).
 * SIGTERM, SIGINT, SIGHUP and the QMP quit command end the main loop;
 * then every export, job and node is closed cleanly (flushed, unlocked).
 */
#include "config.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>

#include "lb/thread.h"
#include "lb/block.h"
#include "lb/export.h"
#include "lb/notify.h"
#include "lb/object.h"
#include "lb/opts.h"
#include "qmp/qmp.h"

static const char *prog = "luksblk-storage-daemon";
static GMainLoop *loop;
static GHashTable *chardevs; /* id -> socket path, or "fd:N" */
static char *pidfile;

static void usage(void)
{
    printf(
        "Usage: %s [options]\n"
        "luksblk storage daemon\n"
        "\n"
        "  -h, --help             display this help and exit\n"
        "  -V, --version          output version information and exit\n"
        "\n"
        "  --blockdev [driver=]<driver>[,node-name=<N>][,<prop>=<value>...]\n"
        "                         configure a block backend (or JSON)\n"
        "  --chardev socket,id=<id>,path=<path>,server=on,wait=off\n"
        "  --chardev socket,id=<id>,fd=<fd>[,server=on,wait=off]\n"
        "                         configure a unix socket for a monitor\n"
        "                         (fd: a socket passed by systemd, number or name)\n"
        "  --export [type=]nbd,id=<id>,node-name=<node>[,name=<name>]\n"
        "           [,writable=on|off]\n"
        "  --export [type=]fuse,id=<id>,node-name=<node>,mountpoint=<file>\n"
        "           [,growable=on|off][,writable=on|off]\n"
        "                         export the specified block node\n"
        "  --monitor [chardev=]<id>[,mode=control][,pretty=on|off]\n"
        "                         start a QMP monitor on the chardev\n"
        "  --nbd-server addr.type=inet,addr.host=<host>,addr.port=<port>\n"
        "               [,tls-creds=<id>][,tls-authz=<id>]\n"
        "               [,max-connections=<n>][,handshake-max-seconds=<n>]\n"
        "  --nbd-server addr.type=unix,addr.path=<path>\n"
        "               [,tls-creds=<id>][,tls-authz=<id>]\n"
        "               [,max-connections=<n>][,handshake-max-seconds=<n>]\n"
        "  --nbd-server addr.type=fd,addr.str=<fd>\n"
        "               [,tls-creds=<id>][,tls-authz=<id>]\n"
        "               [,max-connections=<n>][,handshake-max-seconds=<n>]\n"
        "                         start an NBD server for exporting block nodes\n"
        "  --object help | secret,id=<id>,data=<str>|file=<path>\n"
        "           [,format=raw|base64][,keyid=<id>,iv=<base64>]\n"
        "                         create a user-creatable object\n"
        "  --pidfile <path>       write the process ID to a file\n"
        "  --daemonize            fork into the background once ready\n"
        "\n"
        "Under systemd (Type=notify) READY=1 goes to $NOTIFY_SOCKET once every\n"
        "export and monitor listens.\n",
        prog);
}

static LbOpts *parse_arg(const char *arg, const char *implied, GError **errp)
{
    return lb_opts_parse_any(arg, implied, errp);
}

static bool add_chardev(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, "backend", errp);
    const char *backend, *id, *path, *fd, *server, *wait;

    if (!o || !lb_opts_get_string(o, "backend", &backend, errp) ||
        !lb_opts_get_string(o, "id", &id, errp) ||
        !lb_opts_get_string(o, "path", &path, errp) ||
        !lb_opts_get_string(o, "fd", &fd, errp)) {
        return false;
    }
    server = lb_opts_get_str(o, "server");
    wait = lb_opts_get_str(o, "wait");
    lb_opts_mark_used(o, "server");
    lb_opts_mark_used(o, "wait");
    lb_opts_mark_used(o, "logfile");
    if (!backend || strcmp(backend, "socket") != 0) {
        g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                    "chardev backend '%s' is not supported (only socket)",
                    backend ? backend : "");
        return false;
    }
    if (!id) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_MISSING,
                            "Parameter 'id' is missing");
        return false;
    }
    if (!path == !fd) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_MISSING,
                            path ? "path and fd are mutually exclusive"
                                 : "only unix sockets (path=...) and "
                                   "inherited sockets (fd=...) are supported");
        return false;
    }
    if (server && !g_str_equal(server, "on") && !g_str_equal(server, "true")) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                            "only server=on sockets are supported");
        return false;
    }
    if (wait && !g_str_equal(wait, "off") && !g_str_equal(wait, "false")) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                            "wait=on is not supported, use wait=off");
        return false;
    }
    if (!lb_opts_check_unused(o, NULL, errp)) {
        return false;
    }
    if (g_hash_table_contains(chardevs, id)) {
        g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                    "attempt to add duplicate chardev '%s'", id);
        return false;
    }
    if (fd) {
        int n = lb_listen_fd_parse(fd, errp);
        if (n < 0) {
            return false;
        }
        g_hash_table_insert(chardevs, g_strdup(id), g_strdup_printf("fd:%d", n));
        return true;
    }
    g_hash_table_insert(chardevs, g_strdup(id), g_strdup(path));
    return true;
}

static bool add_monitor(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, "chardev", errp);
    const char *chardev, *mode;

    if (!o || !lb_opts_get_string(o, "chardev", &chardev, errp) ||
        !lb_opts_get_string(o, "mode", &mode, errp)) {
        return false;
    }
    lb_opts_mark_used(o, "pretty");
    lb_opts_mark_used(o, "id");
    if (!lb_opts_check_unused(o, NULL, errp)) {
        return false;
    }
    if (mode && !g_str_equal(mode, "control")) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE,
                            "Only QMP is supported");
        return false;
    }
    const char *path = chardev ? g_hash_table_lookup(chardevs, chardev) : NULL;
    if (!path) {
        g_set_error(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_MISSING,
                    "chardev \"%s\" not found", chardev ? chardev : "");
        return false;
    }
    if (g_str_has_prefix(path, "fd:")) {
        return lb_monitor_listen_fd(chardev, atoi(path + 3), errp);
    }
    return lb_monitor_listen_unix(chardev, path, errp);
}

static bool add_blockdev(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, "driver", errp);

    if (!o || !lb_qmp_check_opts("blockdev-add", o, arg[0] != '{', errp)) {
        return false;
    }
    if (!lb_opts_has(o, "node-name")) {
        g_set_error_literal(errp, LB_OPTS_ERROR, LB_OPTS_ERROR_MISSING,
                            "'node-name' must be specified for the root node");
        return false;
    }
    LbNode *bs = lb_node_open(o, LB_OPEN_RDWR, errp);
    if (!bs) {
        return false;
    }
    lb_node_unref(bs); /* the registry keeps it until blockdev-del */
    return true;
}

static bool add_object(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, "qom-type", errp);

    if (o && lb_opts_has(o, "qom-type") &&
        g_strcmp0(lb_opts_get_str(o, "qom-type"), "help") == 0) {
        printf("List of user creatable objects:\n  authz-list\n"
               "  authz-simple\n  iothread\n  secret\n  tls-creds-anon\n"
               "  tls-creds-psk\n"
               "  tls-creds-x509\n");
        exit(0);
    }
    return o && lb_qmp_check_opts("object-add", o, arg[0] != '{', errp) &&
           lb_object_add(o, errp);
}

static bool start_nbd(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, NULL, errp);

    return o && lb_nbd_server_start(o, errp);
}

static bool add_export(const char *arg, GError **errp)
{
    g_autoptr(LbOpts) o = parse_arg(arg, "type", errp);

    return o && lb_qmp_check_opts("block-export-add", o, arg[0] != '{', errp) &&
           lb_block_export_add(o, errp);
}

static bool write_pidfile(const char *path, GError **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());

    if (!g_file_set_contents(path, text, -1, errp)) {
        g_prefix_error(errp, "cannot create PID file: ");
        return false;
    }
    return true;
}

static gboolean on_signal(gpointer opaque)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

static void on_quit(void *opaque)
{
    g_main_loop_quit(loop);
}

/* Fork; the parent waits for the child to report readiness on a pipe. */
static int daemonize(void)
{
    int fds[2];

    if (pipe(fds) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0) {
        char status = 1;
        close(fds[1]);
        while (read(fds[0], &status, 1) < 0 && errno == EINTR) {
        }
        _exit(status == 0 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

static void daemon_ready(int fd)
{
    char ok = 0;
    int null = open("/dev/null", O_RDWR);

    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    if (chdir("/") < 0) {
        /* Paths were all resolved already; nothing else depends on it. */
    }
    if (write(fd, &ok, 1) < 0) {
        /* The parent went away; keep serving anyway. */
    }
    close(fd);
}

/* systemd's Type=notify readiness; nothing when not run by systemd. */
static void notify(const char *state)
{
    g_autoptr(GError) err = NULL;

    if (lb_sd_notify(state, &err) < 0) {
        g_printerr("%s: %s\n", prog, err->message);
    }
}

typedef bool (*OptFunc)(const char *arg, GError **errp);

static const struct {
    const char *name;
    OptFunc fn;
} options[] = {
    {"object", add_object},    {"blockdev", add_blockdev},
    {"chardev", add_chardev},  {"monitor", add_monitor},
    {"nbd-server", start_nbd}, {"export", add_export},
};

static OptFunc find_option(const char *name)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(options); i++) {
        if (g_str_equal(options[i].name, name)) {
            return options[i].fn;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bool daemon = false;
    int ready_fd = -1;

    signal(SIGPIPE, SIG_IGN);
    /* First pass: options that take effect before anything is opened. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (g_str_equal(a, "-h") || g_str_equal(a, "--help")) {
            usage();
            return 0;
        }
        if (g_str_equal(a, "-V") || g_str_equal(a, "--version")) {
            lb_tool_print_version(prog);
            return 0;
        }
        if (g_str_equal(a, "--daemonize")) {
            daemon = true;
        }
    }
    if (daemon) {
        ready_fd = daemonize();
    }

    chardevs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    loop = g_main_loop_new(NULL, FALSE);
    lb_thread_main_loop_claim(); /* graph changes and QMP run here */
    lb_qmp_set_quit_handler(on_quit, NULL);

    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        g_autoptr(GError) err = NULL;

        if (g_str_equal(a, "--daemonize")) {
            continue;
        }
        const char *name = g_str_has_prefix(a, "--") ? a + 2 : NULL;
        const char *eq = name ? strchr(name, '=') : NULL;
        g_autofree char *key =
            name ? g_strndup(name, eq ? (size_t)(eq - name) : strlen(name))
                 : NULL;
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        OptFunc fn = key ? find_option(key) : NULL;

        if (!key || (!fn && !g_str_equal(key, "pidfile"))) {
            g_printerr("%s: unrecognized option '%s'\n", prog, a);
            rc = 1;
            break;
        }
        if (!val) {
            g_printerr("%s: option '%s' requires an argument\n", prog, a);
            rc = 1;
            break;
        }
        if (!eq) {
            i++;
        }
        if (!fn) {
            g_free(pidfile);
            /* Absolute: --daemonize changes to / before exit unlinks it. */
            pidfile = g_canonicalize_filename(val, NULL);
            if (!write_pidfile(pidfile, &err)) {
                g_clear_pointer(&pidfile, g_free);
            }
        } else {
            fn(val, &err);
        }
        if (fn == add_object) {
            /* An argv string: take the passphrase out of it for good (it
             * shows in /proc/PID/cmdline and stays on the stack), before
             * an error message could quote it. */
            lb_opts_scrub_arg((char *)val);
        }
        if (err) {
            g_printerr("%s: --%s %s: %s\n", prog, key, val, err->message);
            rc = 1;
        }
    }

    if (rc == 0) {
        /* The PID file names the process that serves: after the fork. */
        if (ready_fd >= 0) {
            daemon_ready(ready_fd);
        }
        guint sigs[] = {SIGTERM, SIGINT, SIGHUP};
        for (unsigned i = 0; i < G_N_ELEMENTS(sigs); i++) {
            g_unix_signal_add(sigs[i], on_signal, NULL);
        }
        notify("READY=1"); /* every listener was opened above */
        g_main_loop_run(loop);
        notify("STOPPING=1");
    }

    lb_monitor_shutdown_all();
    lb_exports_shutdown();
    lb_jobs_cancel_all();
    lb_nodes_close_all();
    lb_objects_clear();
    if (pidfile) {
        unlink(pidfile);
        g_free(pidfile);
    }
    g_hash_table_destroy(chardevs);
    g_main_loop_unref(loop);
    return rc;
}
