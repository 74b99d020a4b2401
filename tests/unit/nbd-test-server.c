/*
 * tests/unit/nbd-test-server.c: a minimal NBD server for the export tests.
 *
 * It takes the storage daemon's option forms so a test can run either
 * program with the same arguments:
 *
 *   nbd-test-server [--object KEYVAL]... [--blockdev KEYVAL|JSON]...
 *                   --nbd-server KEYVAL [--export KEYVAL]...
 *                   [--pidfile PATH]
 *
 * The pidfile is written once every export is up; SIGTERM or SIGINT
 * stops the server, deletes the exports and closes the nodes.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "lb/block.h"
#include "lb/export.h"
#include "lb/object.h"
#include "lb/opts.h"

static void die(const char *what, GError *err)
{
    fprintf(stderr, "nbd-test-server: %s: %s\n", what,
            err ? err->message : "failed");
    exit(1);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) nodes =
        g_ptr_array_new_with_free_func((GDestroyNotify)lb_node_unref);
    const char *pidfile = NULL;
    GError *err = NULL;
    sigset_t set;

    /* Block the stop signals in every thread; main waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            fprintf(stderr, "nbd-test-server: %s needs an argument\n", opt);
            return 1;
        }
        i++;
        if (strcmp(opt, "--object") == 0) {
            if (!lb_object_add_keyval(val, &err)) {
                die(val, err);
            }
        } else if (strcmp(opt, "--blockdev") == 0) {
            g_autoptr(LbOpts) o = lb_opts_parse_any(val, NULL, &err);
            LbNode *bs = o ? lb_node_open(o, LB_OPEN_RDWR, &err) : NULL;
            if (!bs) {
                die(val, err);
            }
            g_ptr_array_add(nodes, bs);
        } else if (strcmp(opt, "--nbd-server") == 0) {
            g_autoptr(LbOpts) o = lb_opts_parse_keyval(val, NULL, &err);
            if (!o || !lb_nbd_server_start(o, &err)) {
                die(val, err);
            }
        } else if (strcmp(opt, "--export") == 0) {
            g_autoptr(LbOpts) o = lb_opts_parse_keyval(val, "type", &err);
            if (!o || !lb_block_export_add(o, &err)) {
                die(val, err);
            }
        } else if (strcmp(opt, "--pidfile") == 0) {
            pidfile = val;
        } else {
            fprintf(stderr, "nbd-test-server: unknown option %s\n", opt);
            return 1;
        }
    }
    if (pidfile) {
        g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
        if (!g_file_set_contents(pidfile, pid, -1, &err)) {
            die(pidfile, err);
        }
    }

    int sig = 0;
    sigwait(&set, &sig);
    lb_exports_shutdown();
    g_ptr_array_set_size(nodes, 0);
    lb_objects_clear();
    if (pidfile) {
        unlink(pidfile);
    }
    return 0;
}
