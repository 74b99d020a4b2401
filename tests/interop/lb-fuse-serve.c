/*
 * lb-fuse-serve.c: a minimal export server for the FUSE interop tests,
 * usable before (and independently of) luksblk-storage-daemon.  It takes
 * the daemon's --object, --blockdev and --export options, in the same
 * keyval/JSON syntax, and goes through the same export registry:
 *
 *   lb-fuse-serve --object secret,id=s0,file=pass \
 *       --blockdev driver=file,node-name=p0,filename=p.img ... \
 *       --export type=fuse,id=e0,node-name=disk0,mountpoint=m,writable=on
 *
 * It prints "ready" once every export is up, then every event as one JSON
 * line ({"event": NAME, "data": DATA}).  SIGUSR1 deletes every export
 * (block-export-del, safe mode); SIGTERM or SIGINT shuts everything down
 * (lb_exports_shutdown) and exits 0.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "lb/block.h"
#include "lb/event.h"
#include "lb/export.h"
#include "lb/object.h"
#include "lb/opts.h"

static GMutex print_lock;

static void print_event(const char *name, const char *data_json,
                        void *opaque)
{
    g_mutex_lock(&print_lock);
    printf("{\"event\": \"%s\", \"data\": %s}\n", name,
           data_json ? data_json : "{}");
    fflush(stdout);
    g_mutex_unlock(&print_lock);
}

static bool open_blockdev(const char *str, GError **errp)
{
    g_autoptr(LbOpts) opts = lb_opts_parse_any(str, NULL, errp);
    bool read_only = false;

    if (!opts || !lb_opts_get_bool(opts, "read-only", false, &read_only,
                                   errp)) {
        return false;
    }
    LbNode *node = lb_node_open(opts, read_only ? 0 : LB_OPEN_RDWR, errp);
    if (!node) {
        return false;
    }
    /* A named node stays registered; the registry holds it. */
    lb_node_unref(node);
    return true;
}

static bool add_export(const char *str, GPtrArray *ids, GError **errp)
{
    g_autoptr(LbOpts) opts = lb_opts_parse_any(str, "type", errp);

    if (!opts) {
        return false;
    }
    g_autofree char *id = g_strdup(lb_opts_get_str(opts, "id"));
    if (!lb_block_export_add(opts, errp)) {
        return false;
    }
    g_ptr_array_add(ids, g_steal_pointer(&id));
    return true;
}

static void delete_exports(GPtrArray *ids)
{
    for (guint i = 0; i < ids->len; i++) {
        g_autoptr(GError) err = NULL;
        if (!lb_block_export_del(ids->pdata[i], "safe", &err)) {
            fprintf(stderr, "lb-fuse-serve: %s\n", err->message);
        }
    }
    g_ptr_array_set_size(ids, 0);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    sigset_t sigs;

    /* Block the signals before any thread exists so sigwait() gets them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    lb_event_subscribe(print_event, NULL);

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;

        if (!val) {
            fprintf(stderr, "lb-fuse-serve: %s needs an argument\n", opt);
            return 2;
        }
        i++;
        if (strcmp(opt, "--object") == 0) {
            ok = lb_object_add_keyval(val, &err);
        } else if (strcmp(opt, "--blockdev") == 0) {
            ok = open_blockdev(val, &err);
        } else if (strcmp(opt, "--export") == 0) {
            ok = add_export(val, ids, &err);
        } else {
            fprintf(stderr, "lb-fuse-serve: unknown option %s\n", opt);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "lb-fuse-serve: %s: %s\n", opt, err->message);
            lb_exports_shutdown();
            lb_nodes_close_all();
            return 1;
        }
    }
    g_mutex_lock(&print_lock);
    printf("ready\n");
    fflush(stdout);
    g_mutex_unlock(&print_lock);

    for (;;) {
        int sig = 0;
        sigwait(&sigs, &sig);
        if (sig != SIGUSR1) {
            break;
        }
        delete_exports(ids);
    }
    lb_exports_shutdown();
    lb_nodes_close_all();
    lb_objects_clear();
    return 0;
}
