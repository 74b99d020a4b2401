/*
 * fuse.c: FUSE export sessions: option parsing, mounting over a regular
 * file, the worker threads and orderly teardown.  The request handlers are
 * in fuse-ops.c.
 *
 * Lifecycle of one export:
 *
 *   check options, stat(mountpoint) is S_IFREG
 *     -> fuse_session_new(-o max_read=1M,default_permissions[,allow_other])
 *     -> fuse_session_mount()           (allow-other=auto: retry without)
 *     -> N workers: read(/dev/fuse) -> fuse_session_process_buf() -> ...
 *   free:
 *     fuse_session_exit(); cancel workers (only while blocked in read(),
 *     never in the middle of a request); join
 *     -> fuse_session_unmount()         (closes /dev/fuse: aborts the
 *                                        connection, then lazy umount)
 *     -> fuse_session_destroy(); drop node reference
 *
 * Workers use blocking reads rather than poll(): the kernel queues readers
 * of /dev/fuse exclusively and wakes one per request, where poll() would
 * wake them all.
 */
#include "config.h"
#include "fuse-priv.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "export/export-priv.h"
#include "lb/export.h"

/* Mountpoints currently exported (path strings as given), like QEMU. */
static GMutex mountpoints_lock;
static GHashTable *mountpoints;

static __thread LbFuseWorker *current_worker;

LbFuseWorker *lb_fuse_current_worker(void)
{
    return current_worker;
}

static bool fuse_available(GError **errp)
{
    struct stat st;
    const char *why = NULL;

    if (stat("/dev/fuse", &st) < 0 || access("/dev/fuse", R_OK | W_OK) < 0) {
        why = g_strerror(errno);
    } else if (!S_ISCHR(st.st_mode)) {
        why = "not a character device";
    }
    if (why) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_UNAVAILABLE,
                    "FUSE is not available: /dev/fuse: %s", why);
        return false;
    }
    return true;
}

static bool mountpoint_claim(const char *path, GError **errp)
{
    g_mutex_lock(&mountpoints_lock);
    if (!mountpoints) {
        mountpoints =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    bool taken = g_hash_table_contains(mountpoints, path);
    if (!taken) {
        g_hash_table_add(mountpoints, g_strdup(path));
    }
    g_mutex_unlock(&mountpoints_lock);
    if (taken) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_EXISTS,
                    "there already is a FUSE export on '%s'", path);
    }
    return !taken;
}

static void mountpoint_release(const char *path)
{
    g_mutex_lock(&mountpoints_lock);
    g_hash_table_remove(mountpoints, path);
    g_mutex_unlock(&mountpoints_lock);
}

/*
 * The mountpoint must exist and be a regular file: the kernel mounts the
 * export's root inode (itself a regular file) over it.  This stat() must
 * come after mountpoint_claim(): a stat() of one of our own mounts would be
 * answered by our workers, which is fine, but the claim is what catches the
 * common mistake of exporting twice onto the same path.
 */
static bool check_mountpoint(const char *path, GError **errp)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "failed to stat '%s': %s", path, g_strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "'%s' is not a regular file", path);
        return false;
    }
    return true;
}

typedef enum { ALLOW_OTHER_OFF, ALLOW_OTHER_ON, ALLOW_OTHER_AUTO } AllowOther;

static bool parse_args(LbFuseExport *exp, LbOpts *args, AllowOther *ao,
                       GError **errp)
{
    const char *mountpoint = NULL;
    const char *allow_other = NULL;

    if (!lb_opts_get_string(args, "mountpoint", &mountpoint, errp) ||
        !lb_opts_get_bool(args, "growable", false, &exp->growable, errp) ||
        !lb_opts_get_string(args, "allow-other", &allow_other, errp)) {
        return false;
    }
    if (!mountpoint) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "parameter 'mountpoint' is missing");
        return false;
    }
    /*
     * Absolute, so unmounting works whatever the daemon's working
     * directory is by then; symlinks are kept, as the mount covers the
     * link itself (QEMU's reasoning).
     */
    exp->mountpoint = g_canonicalize_filename(mountpoint, NULL);

    if (!allow_other || g_str_equal(allow_other, "auto")) {
        *ao = ALLOW_OTHER_AUTO;
    } else if (g_str_equal(allow_other, "on")) {
        *ao = ALLOW_OTHER_ON;
    } else if (g_str_equal(allow_other, "off")) {
        *ao = ALLOW_OTHER_OFF;
    } else {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "parameter 'allow-other' does not accept value '%s'",
                    allow_other);
        return false;
    }
    return true;
}

/* Create the session and mount it; on failure leave exp->se NULL. */
static bool session_mount(LbFuseExport *exp, bool allow_other, GError **errp)
{
    /*
     * max_read must be a mount option (the kernel caps READ requests with
     * it) and must equal what the init handler puts in conn->max_read.
     */
    g_autofree char *mount_opts =
        g_strdup_printf("max_read=%u,default_permissions,fsname=luksblk%s",
                        LB_FUSE_MAX_IO, allow_other ? ",allow_other" : "");
    char *argv[] = {(char *)"luksblk", (char *)"-o", mount_opts, NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, argv);

    exp->se = fuse_session_new(&args, &lb_fuse_ops, sizeof(lb_fuse_ops), exp);
    /* Option parsing may have replaced argv with an allocated copy. */
    fuse_opt_free_args(&args);
    if (!exp->se) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "failed to set up FUSE session");
        return false;
    }
    if (fuse_session_mount(exp->se, exp->mountpoint) != 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "failed to mount FUSE export on '%s'", exp->mountpoint);
        fuse_session_destroy(exp->se);
        exp->se = NULL;
        return false;
    }
    exp->mounted = true;
    exp->allow_other = allow_other;
    return true;
}

static void *worker_main(void *opaque)
{
    LbFuseWorker *w = opaque;
    struct fuse_session *se = w->exp->se;

    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    current_worker = w;
    while (!fuse_session_exited(se)) {
        /* read() is the only point where lb_fuse_export_free() cancels. */
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        int ret = fuse_session_receive_buf(se, &w->fbuf);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (ret == -EINTR || ret == -EAGAIN) {
            continue;
        }
        if (ret <= 0) {
            /* -ENODEV: unmounted behind our back; the export is dead. */
            break;
        }
        fuse_session_process_buf(se, &w->fbuf);
    }
    return NULL;
}

/*
 * One worker per CPU plus one, so a worker waiting in a flush does not idle
 * a CPU.  More workers only add context switches: on 2 CPUs, 4 KiB random
 * reads ran about 25% slower with 4 workers and 45% slower with 8.
 */
static unsigned worker_count(void)
{
    unsigned n = g_get_num_processors() + 1;

    return CLAMP(n, 2, LB_FUSE_MAX_WORKERS);
}

static bool workers_start(LbFuseExport *exp, GError **errp)
{
    unsigned n = worker_count();
    sigset_t all, old;
    bool ok = true;

    /*
     * Workers inherit a mask blocking every signal, so process signals
     * (SIGTERM for the daemon) go to the threads that expect them and never
     * interrupt a worker.  pthread_cancel() still works: glibc's
     * cancellation signal cannot be blocked.
     */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < n; i++) {
        LbFuseWorker *w = &exp->workers[i];

        w->exp = exp;
        exp->n_workers = i + 1;
        w->rbuf = g_aligned_alloc(LB_FUSE_MAX_IO, 1, MAX(exp->align, 64));
        int err = pthread_create(&w->thread, NULL, worker_main, w);
        if (err) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                        "cannot start FUSE worker: %s", g_strerror(err));
            ok = false;
            break;
        }
        w->started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

static void workers_stop(LbFuseExport *exp)
{
    for (unsigned i = 0; i < exp->n_workers; i++) {
        if (exp->workers[i].started) {
            pthread_cancel(exp->workers[i].thread);
        }
    }
    for (unsigned i = 0; i < exp->n_workers; i++) {
        LbFuseWorker *w = &exp->workers[i];

        if (w->started) {
            pthread_join(w->thread, NULL);
            w->started = false;
        }
        free(w->fbuf.mem);
        w->fbuf.mem = NULL;
        g_clear_pointer(&w->rbuf, g_aligned_free);
    }
    exp->n_workers = 0;
}

static bool fuse_export_create(LbExport *common, LbOpts *args, GError **errp)
{
    AllowOther ao = ALLOW_OTHER_AUTO;

    if (!fuse_available(errp)) {
        return false;
    }

    g_autoptr(LbFuseExport) exp = g_new0(LbFuseExport, 1);
    g_mutex_init(&exp->resize_lock);
    g_mutex_init(&exp->attr_lock);
    exp->id = g_strdup(common->id);
    exp->writable = common->writable;
    exp->writethrough = common->writethrough;
    exp->align = MAX(lb_node_alignment(common->node), 1);
    g_assert((exp->align & (exp->align - 1)) == 0);
    exp->st_mode = S_IFREG | S_IRUSR | (exp->writable ? S_IWUSR : 0);
    exp->st_uid = getuid();
    exp->st_gid = getgid();
    if (!parse_args(exp, args, &ao, errp)) {
        return false;
    }
    if (!mountpoint_claim(exp->mountpoint, errp)) {
        g_clear_pointer(&exp->mountpoint, g_free); /* not ours to release */
        return false;
    }
    exp->node = lb_node_ref(common->node);
    if (!check_mountpoint(exp->mountpoint, errp)) {
        return false;
    }

    bool ok;
    if (ao == ALLOW_OTHER_AUTO) {
        /* As QEMU: try allow_other first, quietly fall back without it. */
        ok = session_mount(exp, true, NULL) || session_mount(exp, false, errp);
    } else {
        ok = session_mount(exp, ao == ALLOW_OTHER_ON, errp);
    }
    if (!ok || !workers_start(exp, errp)) {
        return false;
    }
    common->impl = g_steal_pointer(&exp);
    return true;
}

void lb_fuse_export_free(LbFuseExport *exp)
{
    if (!exp) {
        return;
    }
    if (exp->se) {
        fuse_session_exit(exp->se);
        workers_stop(exp);
        if (exp->mounted) {
            fuse_session_unmount(exp->se);
        }
        fuse_session_destroy(exp->se);
    }
    if (exp->mountpoint) {
        mountpoint_release(exp->mountpoint);
    }
    g_clear_pointer(&exp->node, lb_node_unref);
    g_mutex_clear(&exp->resize_lock);
    g_mutex_clear(&exp->attr_lock);
    g_free(exp->mountpoint);
    g_free(exp->id);
    g_free(exp);
}

/*
 * Unmounting is always "hard": open file descriptors on the mount point
 * get ENOTCONN afterwards, as with QEMU.  Open files are not counted as
 * clients, so block-export-del in safe mode never refuses a FUSE export.
 */
static void fuse_export_destroy(LbExport *common, bool hard)
{
    g_clear_pointer(&common->impl, lb_fuse_export_free);
}

static unsigned fuse_export_n_clients(LbExport *common)
{
    return 0;
}

const LbExportOps lb_export_fuse_ops = {
    .type = "fuse",
    .create = fuse_export_create,
    .destroy = fuse_export_destroy,
    .n_clients = fuse_export_n_clients,
};
