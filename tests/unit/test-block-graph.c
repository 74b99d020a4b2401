/*
 * test-block-graph.c: the node graph's control plane under concurrency
 * (issue 10): child permissions, the exclusive header update (amend
 * racing resize and info readers), references across threads, named
 * thread contexts and their asserts, and block jobs (progress in bytes,
 * pause, cancel, speed limit, drained nodes) driving the shared copy
 * loop.
 */
#include "config.h"
#include "lb/block.h"
#include "lb/block-io.h"
#include "lb/copy.h"
#include "lb/job.h"
#include "lb/object.h"
#include "lb/thread.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#define MiB (1024u * 1024u)

typedef struct Fixture {
    char *dir;
    char *hdr, *payload, *src, *dst;
} Fixture;

static void fx_setup(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *tmpl =
        g_build_filename(g_get_tmp_dir(), "lb-graph-XXXXXX", NULL);

    fx->dir = g_mkdtemp(g_steal_pointer(&tmpl));
    g_assert_nonnull(fx->dir);
    fx->hdr = g_build_filename(fx->dir, "hdr.img", NULL);
    fx->payload = g_build_filename(fx->dir, "payload.img", NULL);
    fx->src = g_build_filename(fx->dir, "src.img", NULL);
    fx->dst = g_build_filename(fx->dir, "dst.img", NULL);
    lb_object_add_keyval("secret,id=sec0,data=abc123", NULL);
    lb_object_add_keyval("secret,id=sec1,data=second", NULL);
    g_autoptr(LbOpts) opts = lb_opts_parse_keyval(
        "key-secret=sec0,detached-header=true,iter-time=10", NULL, &err);
    g_assert_true(lb_img_create("luks", fx->hdr, 0, opts, &err));
    g_assert_true(lb_img_create("raw", fx->payload, 4 * MiB, NULL, &err));
    g_assert_true(lb_img_create("raw", fx->src, 8 * MiB, NULL, &err));
    g_assert_true(lb_img_create("raw", fx->dst, 8 * MiB, NULL, &err));
    g_assert_no_error(err);
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    lb_nodes_close_all();
    g_unlink(fx->hdr);
    g_unlink(fx->payload);
    g_unlink(fx->src);
    g_unlink(fx->dst);
    g_rmdir(fx->dir);
    g_free(fx->hdr);
    g_free(fx->payload);
    g_free(fx->src);
    g_free(fx->dst);
    g_free(fx->dir);
}

static LbNode *open_kv(const char *kv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) opts = lb_opts_parse_keyval(kv, NULL, &err);
    g_assert_no_error(err);
    LbNode *bs = lb_node_open(opts, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    return bs;
}

static LbNode *open_disk(Fixture *fx)
{
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,node-name=disk0,key-secret=sec0,"
        "file.driver=file,file.node-name=p0,file.filename=%s,"
        "header.driver=file,header.node-name=h0,header.filename=%s",
        fx->payload, fx->hdr);
    return open_kv(kv);
}

/* A writable use of the header child is refused in QEMU 10's words; a
 * read-only one and a writable use of the detached payload are not. */
static void test_perm_header(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) disk = open_disk(fx);
    LbNode *h0 = lb_node_find("h0");

    g_assert_null(lb_node_use_add(h0, LB_PERM_CONSISTENT_READ | LB_PERM_WRITE,
                                  &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM);
    g_assert_cmpstr(err->message, ==,
                    "Permission conflict on node 'h0': permissions 'write' "
                    "are both required by an unnamed block device (uses "
                    "node 'h0' as 'root' child) and unshared by node "
                    "'disk0' (uses node 'h0' as 'header' child).");
    g_clear_error(&err);
    LbNodeUse *ro = lb_node_use_add(h0, LB_PERM_CONSISTENT_READ, &err);
    g_assert_nonnull(ro);
    LbNodeUse *rw = lb_node_use_add(lb_node_find("p0"),
                                    LB_PERM_CONSISTENT_READ | LB_PERM_WRITE,
                                    &err);
    g_assert_nonnull(rw);
    /* An exported node: blockdev-del refuses it, in QEMU's words. */
    LbNodeUse *exp = lb_node_use_add(disk, LB_PERM_CONSISTENT_READ, &err);
    g_assert_nonnull(exp);
    g_assert_false(lb_node_del("disk0", &err));
    g_assert_cmpstr(err->message, ==, "Node disk0 is in use");
    g_clear_error(&err);
    lb_node_use_del(exp);
    lb_node_use_del(ro);
    lb_node_use_del(rw);
}

/* lb_node_find_ref keeps a node alive across threads: del is refused. */
static void test_find_ref(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv =
        g_strdup_printf("driver=file,node-name=f0,filename=%s", fx->src);
    LbNode *f0 = open_kv(kv);

    lb_node_unref(f0); /* the registry keeps it (monitor-owned) */
    LbNode *ref = lb_node_find_ref("f0");
    g_assert_true(ref == f0);
    g_assert_false(lb_node_del("f0", &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE);
    lb_node_unref(ref);
    g_assert_true(lb_node_del("f0", NULL));
    g_assert_null(lb_node_find_ref("f0"));
}

typedef struct Race {
    LbNode *disk;
    gint stop;
    gint amended, resized, infos;
} Race;

static gpointer amend_thread(gpointer data)
{
    Race *r = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(
        "state=active,new-secret=sec1,iter-time=200", NULL, &err);

    lb_thread_set_context(LB_CTX_JOB);
    if (lb_node_amend(r->disk, o, false, &err)) {
        g_atomic_int_inc(&r->amended);
    }
    g_assert_no_error(err);
    return NULL;
}

static gpointer resize_thread(gpointer data)
{
    Race *r = data;

    lb_thread_set_context(LB_CTX_IO);
    for (unsigned i = 1; i <= 8; i++) {
        g_autoptr(GError) err = NULL;
        g_assert_true(lb_node_truncate(r->disk, (4 + i) * MiB,
                                       LB_PREALLOC_OFF, &err));
        g_atomic_int_inc(&r->resized);
    }
    return NULL;
}

static gpointer info_thread(gpointer data)
{
    Race *r = data;

    lb_thread_set_context(LB_CTX_IO);
    while (!g_atomic_int_get(&r->stop)) {
        g_autofree char *info = lb_node_info_json(r->disk);
        g_assert_nonnull(strstr(info, "\"slots\""));
        g_atomic_int_inc(&r->infos);
    }
    return NULL;
}

/* Amend, resizes and info readers at once; then data, size and both
 * passphrases are right. */
static void test_amend_resize_race(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) disk = open_disk(fx);
    guint8 buf[4096];
    Race r = {.disk = disk};

    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(lb_node_pwrite(disk, MiB, buf, sizeof(buf), 0), ==, 0);
    GThread *ti = g_thread_new("info", info_thread, &r);
    GThread *ta = g_thread_new("amend", amend_thread, &r);
    GThread *tr = g_thread_new("resize", resize_thread, &r);
    g_thread_join(ta);
    g_thread_join(tr);
    g_atomic_int_set(&r.stop, 1);
    g_thread_join(ti);
    g_assert_cmpint(r.amended, ==, 1);
    g_assert_cmpint(r.resized, ==, 8);
    g_assert_cmpint(r.infos, >, 0);
    g_assert_cmpint(lb_node_length(disk), ==, 12 * MiB);
    g_clear_pointer(&disk, lb_node_unref);
    lb_nodes_close_all();

    /* The new passphrase opens the volume and reads the data back. */
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,key-secret=sec1,file.driver=file,file.filename=%s,"
        "header.driver=file,header.filename=%s",
        fx->payload, fx->hdr);
    g_autoptr(LbNode) again = open_kv(kv);
    guint8 back[4096];
    g_assert_cmpint(lb_node_pread(again, MiB, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_cmpint(lb_node_length(again), ==, 12 * MiB);
}

/* ---- jobs ------------------------------------------------------------- */

typedef struct CopyJob {
    LbCopyParams p;
    int ret;
} CopyJob;

static bool copy_run(LbJob *job, void *opaque, GError **errp)
{
    CopyJob *cj = opaque;

    cj->p.job = job;
    cj->ret = lb_copy_run(&cj->p);
    if (cj->ret < 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED, "copy: %s",
                    g_strerror(-cj->ret));
        return false;
    }
    return true;
}

static LbJob *copy_job(const char *id, CopyJob *cj, LbNode *src,
                       LbNode *dst)
{
    g_autoptr(GError) err = NULL;

    *cj = (CopyJob){.p = {.src = src, .dst = dst, .size = 8 * MiB,
                          .threads = 2, .chunk = 256 * 1024}};
    LbJob *job = lb_job_create(id, "copy", copy_run, cj, NULL, &err);
    g_assert_no_error(err);
    lb_job_add_node(job, src);
    lb_job_add_node(job, dst);
    return job;
}

static void open_pair(Fixture *fx, LbNode **src, LbNode **dst)
{
    g_autofree char *a =
        g_strdup_printf("driver=file,node-name=s0,filename=%s", fx->src);
    g_autofree char *b =
        g_strdup_printf("driver=file,node-name=d0,filename=%s", fx->dst);
    *src = open_kv(a);
    *dst = open_kv(b);
}

static void wait_status(LbJob *job, LbJobStatus st)
{
    while (lb_job_status(job) != st) {
        g_main_context_iteration(NULL, TRUE);
    }
}

/* Speed limit, pause and resume, progress in bytes, bytes copied. */
static void test_job_copy(Fixture *fx, gconstpointer data)
{
    CopyJob cj;
    guint8 pat[4096], back[4096];
    g_autoptr(LbNode) s0 = NULL;
    g_autoptr(LbNode) d0 = NULL;

    open_pair(fx, &s0, &d0);
    memset(pat, 0xc3, sizeof(pat));
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpint(lb_node_pwrite(s0, i * MiB + 512, pat, sizeof(pat),
                                       0), ==, 0);
    }
    LbJob *job = copy_job("j0", &cj, s0, d0);
    lb_job_set_speed(job, 16 * MiB);   /* 8 MiB: about half a second */
    lb_job_pause(job);
    g_assert_cmpint(lb_job_status(job), ==, LB_JOB_STATUS_CREATED);
    int64_t t0 = g_get_monotonic_time();
    lb_job_start(job);
    g_assert_cmpint(lb_job_status(job), ==, LB_JOB_STATUS_PAUSED);
    g_usleep(100 * 1000);
    uint64_t cur, total;
    lb_job_progress(job, &cur, &total);
    g_assert_cmpuint(cur, ==, 0); /* paused before its first chunk */
    lb_job_resume(job);
    g_assert_cmpint(lb_job_status(job), ==, LB_JOB_STATUS_RUNNING);
    wait_status(job, LB_JOB_STATUS_CONCLUDED);
    int64_t took = g_get_monotonic_time() - t0;
    g_assert_null(lb_job_error(job));
    lb_job_progress(job, &cur, &total);
    g_assert_cmpuint(cur, ==, 8 * MiB);
    g_assert_cmpuint(total, ==, 8 * MiB);
    g_assert_cmpint(took, >=, 300 * 1000); /* 100 ms paused + limited */
    lb_job_dismiss(job);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpint(lb_node_pread(d0, i * MiB + 512, back, sizeof(back)),
                        ==, 0);
        g_assert_cmpmem(back, sizeof(back), pat, sizeof(pat));
    }
}

/* Cancel stops the copy at a checkpoint: "Operation cancelled". */
static void test_job_cancel(Fixture *fx, gconstpointer data)
{
    CopyJob cj;
    g_autoptr(LbNode) s0 = NULL;
    g_autoptr(LbNode) d0 = NULL;

    open_pair(fx, &s0, &d0);
    LbJob *job = copy_job("j1", &cj, s0, d0);

    lb_job_set_speed(job, 1 * MiB);    /* 8 s unless cancelled */
    lb_job_start(job);
    g_usleep(150 * 1000);
    lb_job_cancel(job);
    wait_status(job, LB_JOB_STATUS_CONCLUDED);
    g_assert_cmpint(cj.ret, ==, -ECANCELED);
    g_assert_nonnull(lb_job_error(job));
    uint64_t cur, total;
    lb_job_progress(job, &cur, &total);
    g_assert_cmpuint(cur, <, 8 * MiB);
    lb_job_dismiss(job);
    g_assert_null(lb_job_find("j1"));
}

/* Drain awareness: a job waits at its checkpoints while a node of it is
 * drained, and goes on when the drained section ends. */
static void test_job_drain(Fixture *fx, gconstpointer data)
{
    CopyJob cj;
    g_autoptr(LbNode) s0 = NULL;
    g_autoptr(LbNode) d0 = NULL;
    uint64_t cur, total;

    open_pair(fx, &s0, &d0);
    LbJob *job = copy_job("j3", &cj, s0, d0);
    lb_node_drained_begin(d0);
    lb_job_start(job);
    g_usleep(200 * 1000);
    lb_job_progress(job, &cur, &total);
    g_assert_cmpuint(cur, ==, 0);
    g_assert_cmpint(lb_job_status(job), ==, LB_JOB_STATUS_RUNNING);
    lb_node_drained_end(d0);
    wait_status(job, LB_JOB_STATUS_CONCLUDED);
    g_assert_null(lb_job_error(job));
    lb_job_progress(job, &cur, &total);
    g_assert_cmpuint(cur, ==, 8 * MiB);
    lb_job_dismiss(job);
}

static void test_job_duplicate(Fixture *fx, gconstpointer data)
{
    CopyJob cj, cj2;
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) s0 = NULL;
    g_autoptr(LbNode) d0 = NULL;

    open_pair(fx, &s0, &d0);
    LbJob *job = copy_job("j2", &cj, s0, d0);

    g_assert_null(lb_job_create("j2", "copy", copy_run, &cj2, NULL, &err));
    g_assert_cmpstr(err->message, ==, "Job ID 'j2' already in use");
    lb_job_start(job);
    wait_status(job, LB_JOB_STATUS_CONCLUDED);
    lb_job_dismiss(job);
}

/* ---- thread contexts -------------------------------------------------- */

static gpointer del_from_job(gpointer data)
{
    lb_thread_set_context(LB_CTX_JOB);
    lb_node_del("nothing", NULL);
    return NULL;
}

static void test_context_assert(void)
{
    if (g_test_subprocess()) {
        g_assert_true(lb_in_main_loop());
        g_thread_join(g_thread_new("job", del_from_job, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*lb_node_del called from a job thread*");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    lb_thread_main_loop_claim();
    g_test_add("/block/graph/perm/header", Fixture, NULL, fx_setup,
               test_perm_header, fx_teardown);
    g_test_add("/block/graph/find-ref", Fixture, NULL, fx_setup,
               test_find_ref, fx_teardown);
    g_test_add("/block/graph/amend-resize-race", Fixture, NULL, fx_setup,
               test_amend_resize_race, fx_teardown);
    g_test_add("/block/graph/job/copy", Fixture, NULL, fx_setup,
               test_job_copy, fx_teardown);
    g_test_add("/block/graph/job/cancel", Fixture, NULL, fx_setup,
               test_job_cancel, fx_teardown);
    g_test_add("/block/graph/job/drain", Fixture, NULL, fx_setup,
               test_job_drain, fx_teardown);
    g_test_add("/block/graph/job/duplicate", Fixture, NULL, fx_setup,
               test_job_duplicate, fx_teardown);
    g_test_add_func("/block/graph/context-assert", test_context_assert);
    return g_test_run();
}
