/*
 * test-block-file.c: the node graph with the file and raw drivers: open
 * from keyval and json:, the node registry (names, duplicates,
 * blockdev-del while in use), range and mode checks, locking,
 * preallocation, zero writes and concurrent I/O from several threads.
 */
#include "config.h"
#include "lb/block.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct Fixture {
    char *dir;
    char *img;
} Fixture;

static void fx_setup(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    fx->dir = g_dir_make_tmp("lb-block-file-XXXXXX", &err);
    g_assert_no_error(err);
    fx->img = g_build_filename(fx->dir, "a.img", NULL);
    g_assert_true(lb_img_create("raw", fx->img, 1 << 20, NULL, &err));
    g_assert_no_error(err);
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    lb_nodes_close_all();
    g_assert_null(lb_node_list()); /* nothing left open */
    g_autoptr(GDir) d = g_dir_open(fx->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(fx->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(fx->dir);
    g_free(fx->dir);
    g_free(fx->img);
}

static LbNode *open_kv(const char *kv, unsigned flags, GError **errp)
{
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(kv, NULL, errp);
    return o ? lb_node_open(o, flags, errp) : NULL;
}

static void test_io(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv =
        g_strdup_printf("driver=raw,file.filename=%s", fx->img);
    g_autoptr(LbNode) bs = open_kv(kv, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    guint8 w[4096], r[4096];

    g_assert_cmpint(lb_node_length(bs), ==, 1 << 20);
    g_assert_cmpstr(lb_node_driver_name(bs), ==, "raw");
    g_assert_cmpstr(lb_node_filename(bs), ==, fx->img);
    g_assert_true(lb_node_name(bs)[0] == '#');
    LbNode *file = lb_node_child(bs, "file");
    g_assert_nonnull(file);
    g_assert_cmpstr(lb_node_driver_name(file), ==, "file");

    memset(w, 0xab, sizeof(w));
    g_assert_cmpint(lb_node_pwrite(bs, 1000, w, 3000, 0), ==, 0);
    g_assert_cmpint(lb_node_pread(bs, 1000, r, 3000), ==, 0);
    g_assert_cmpmem(w, 3000, r, 3000);
    g_assert_cmpint(lb_node_pread(bs, (1 << 20) - 10, r, 11), ==, -EIO);
    g_assert_cmpint(lb_node_pwrite(bs, 1 << 20, w, 1, 0), ==, -EIO);
    g_assert_cmpint(lb_node_pread(bs, 1 << 20, r, 0), ==, 0);
    g_assert_cmpint(lb_node_pwrite_zeroes(bs, 1500, 100, 0), ==, 0);
    g_assert_cmpint(lb_node_pread(bs, 1500, r, 100), ==, 0);
    for (int i = 0; i < 100; i++) {
        g_assert_cmpint(r[i], ==, 0);
    }
    g_assert_cmpint(lb_node_pread(bs, 1600, r, 1), ==, 0);
    g_assert_cmpint(r[0], ==, 0xab);
    g_assert_cmpint(lb_node_pdiscard(bs, 0, 65536), ==, 0);
    g_assert_cmpint(lb_node_flush(bs), ==, 0);
    g_assert_true(lb_node_truncate(bs, 2 << 20, LB_PREALLOC_OFF, &err));
    g_assert_cmpint(lb_node_length(bs), ==, 2 << 20);
    /* The cached length follows resizes: the new range is usable at once,
     * and a shrink takes the tail away. */
    g_assert_cmpint(lb_node_pwrite(bs, (2 << 20) - 1, w, 1, 0), ==, 0);
    g_assert_cmpint(lb_node_pwrite(bs, 2 << 20, w, 1, 0), ==, -EIO);
    g_assert_true(lb_node_truncate(bs, 1 << 19, LB_PREALLOC_FALLOC, &err));
    g_assert_cmpint(lb_node_length(bs), ==, 1 << 19);
    g_assert_cmpint(lb_node_pread(bs, 1 << 19, r, 1), ==, -EIO);

    /* Read-only: writes fail with -EPERM, truncation is refused. */
    g_autoptr(LbNode) ro = open_kv(kv, LB_OPEN_NO_LOCK, &err);
    g_assert_no_error(err);
    g_assert_false(lb_node_is_writable(ro));
    g_assert_cmpint(lb_node_pwrite(ro, 0, w, 1, 0), ==, -EPERM);
    g_assert_false(lb_node_truncate(ro, 0, LB_PREALLOC_OFF, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM);
}

static void test_raw_window(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv = g_strdup_printf(
        "driver=raw,offset=4096,size=8192,file.filename=%s", fx->img);
    g_autoptr(LbNode) bs = open_kv(kv, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    g_autoptr(LbNode) whole =
        lb_node_open_image(fx->img, "raw", false, LB_OPEN_NO_LOCK, &err);
    g_assert_no_error(err);
    guint8 buf[16];

    g_assert_cmpint(lb_node_length(bs), ==, 8192);
    memcpy(buf, "0123456789abcdef", 16);
    g_assert_cmpint(lb_node_pwrite(bs, 8176, buf, 16, 0), ==, 0);
    g_assert_cmpint(lb_node_pwrite(bs, 8177, buf, 16, 0), ==, -EIO);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(lb_node_pread(whole, 4096 + 8176, buf, 16), ==, 0);
    g_assert_cmpmem(buf, 16, "0123456789abcdef", 16);
    g_assert_false(lb_node_truncate(bs, 4096, LB_PREALLOC_OFF, &err));
    g_clear_error(&err);

    g_autofree char *bad = g_strdup_printf(
        "driver=raw,offset=1048000,size=8192,file.filename=%s", fx->img);
    g_assert_null(open_kv(bad, LB_OPEN_NO_LOCK, &err));
    g_assert_nonnull(strstr(err->message, "has to be smaller or equal"));
}

static void test_registry(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *f0 =
        g_strdup_printf("driver=file,node-name=f0,filename=%s", fx->img);

    LbNode *file = open_kv(f0, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    lb_node_unref(file); /* the registry keeps it open */
    g_assert_true(lb_node_find("f0") == file);

    /* Duplicate and malformed names. */
    g_assert_null(open_kv(f0, LB_OPEN_NO_LOCK, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS);
    g_assert_cmpstr(err->message, ==, "Duplicate nodes with node-name='f0'");
    g_clear_error(&err);
    static const char *const bad_names[] = {
        "0abc",
        "#block1",
        "a b",
        "abcdefghijabcdefghijabcdefghijabc",
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        g_autoptr(LbOpts) o = lb_opts_new();
        lb_opts_set_str(o, "driver", "file");
        lb_opts_set_str(o, "filename", fx->img);
        lb_opts_set_str(o, "node-name", bad_names[i]);
        g_assert_null(lb_node_open(o, LB_OPEN_NO_LOCK, &err));
        g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID);
        g_clear_error(&err);
    }

    /* A parent by reference: the child cannot be deleted under it. */
    g_autoptr(LbOpts) ro =
        lb_opts_parse_keyval("driver=raw,node-name=r0,file=f0", NULL, &err);
    LbNode *raw = lb_node_open(ro, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    lb_node_unref(raw);
    g_assert_true(lb_node_child(raw, "file") == file);
    g_assert_false(lb_node_del("f0", &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE);
    g_assert_cmpstr(err->message, ==, "Block device f0 is in use");
    g_clear_error(&err);
    g_assert_false(lb_node_del("nope", &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND);
    g_clear_error(&err);

    /* An export's use count also blocks deletion. */
    lb_node_use(raw);
    g_assert_false(lb_node_del("r0", &err));
    g_clear_error(&err);
    lb_node_unuse(raw);
    GList *l = lb_node_list();
    g_assert_cmpuint(g_list_length(l), ==, 2);
    g_list_free(l);
    g_assert_true(lb_node_del("r0", &err));
    g_assert_null(lb_node_find("r0"));
    g_assert_true(lb_node_del("f0", &err));
    g_assert_null(lb_node_list());

    /* Unknown references and options. */
    g_assert_null(open_kv("driver=raw,file=ghost", 0, &err));
    g_assert_cmpstr(err->message, ==,
                    "Cannot find device='ghost' nor node-name='ghost'");
    g_clear_error(&err);
    g_autofree char *unk =
        g_strdup_printf("driver=file,filename=%s,bogus=1", fx->img);
    g_assert_null(open_kv(unk, 0, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'bogus'");
    g_clear_error(&err);
    g_assert_null(open_kv("driver=nope", 0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_null(open_kv("driver=file,filename=/nonexistent/x", 0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_null(lb_node_list());
}

static void test_locking(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) w =
        lb_node_open_image(fx->img, "raw", false, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);

    g_assert_null(
        lb_node_open_image(fx->img, "raw", false, LB_OPEN_RDWR, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM);
    g_clear_error(&err);
    g_assert_null(lb_node_open_image(fx->img, "raw", false, 0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM);
    g_assert_nonnull(strstr(err->message, "Failed to get shared \"write\""));
    g_clear_error(&err);
    /* force-share readers take no locks. */
    g_autoptr(LbNode) shared =
        lb_node_open_image(fx->img, "raw", false, LB_OPEN_NO_LOCK, &err);
    g_assert_no_error(err);
    g_clear_pointer(&w, lb_node_unref);
    /* Two readers share. */
    g_autoptr(LbNode) r1 = lb_node_open_image(fx->img, NULL, false, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(lb_node_driver_name(r1), ==, "raw");
    g_autoptr(LbNode) r2 = lb_node_open_image(fx->img, NULL, false, 0, &err);
    g_assert_no_error(err);
    g_autofree char *kv =
        g_strdup_printf("driver=file,filename=%s,force-share=on", fx->img);
    g_assert_null(open_kv(kv, LB_OPEN_RDWR, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID);
}

static void test_create(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *p = g_build_filename(fx->dir, "full.img", NULL);
    g_autoptr(LbOpts) o =
        lb_opts_parse_keyval("preallocation=full", NULL, &err);
    struct stat st;

    g_assert_true(lb_img_create("raw", p, 3 << 20, o, &err));
    g_assert_no_error(err);
    g_assert_cmpint(g_stat(p, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 3 << 20);
    g_assert_cmpint(st.st_blocks * 512, >=, 3 << 20);

    g_autoptr(LbOpts) bad =
        lb_opts_parse_keyval("preallocation=huge", NULL, &err);
    g_assert_false(lb_img_create("raw", p, 1, bad, &err));
    g_clear_error(&err);
    g_autoptr(LbOpts) unk = lb_opts_parse_keyval("foo=1", NULL, &err);
    g_assert_false(lb_img_create("raw", p, 1, unk, &err));
    g_assert_nonnull(strstr(err->message, "Invalid parameter 'foo'"));
    g_clear_error(&err);
    g_assert_false(lb_img_create("vmdk", p, 1, NULL, &err));
    g_clear_error(&err);

    /* blockdev-create driver=file */
    g_autofree char *json = g_strdup_printf(
        "{\"driver\":\"file\",\"filename\":\"%s\",\"size\":65536,"
        "\"preallocation\":\"falloc\"}",
        p);
    g_autoptr(LbOpts) bc = lb_opts_parse_json(json, &err);
    g_assert_true(lb_blockdev_create(bc, &err));
    g_assert_no_error(err);
    g_assert_cmpint(g_stat(p, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 65536);

    /* json: pseudo-filename */
    g_autofree char *jf = g_strdup_printf(
        "json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\","
        "\"filename\":\"%s\"}}",
        p);
    g_autoptr(LbNode) bs = lb_node_open_image(jf, NULL, false, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_length(bs), ==, 65536);
    g_assert_cmpint(lb_node_allocated_size(bs), >=, 65536);
}

static void test_direct(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv =
        g_strdup_printf("driver=file,filename=%s,cache.direct=on", fx->img);
    g_autoptr(LbNode) bs = open_kv(kv, LB_OPEN_RDWR, &err);

    if (!bs) {
        /* tmpfs and some others refuse O_DIRECT. */
        g_test_skip(err->message);
        return;
    }
    g_autofree guint8 *al = g_malloc(8192 + 4096);
    guint8 *a = al + (4096 - (uintptr_t)al % 4096); /* 4 KiB aligned */
    guint8 odd[100], back[100];

    memset(a, 0x11, 8192);
    g_assert_cmpint(lb_node_pwrite(bs, 4096, a, 8192, 0), ==, 0);
    memset(odd, 0x22, sizeof(odd));
    g_assert_cmpint(lb_node_pwrite(bs, 5000, odd, 100, 0), ==, 0);
    g_assert_cmpint(lb_node_pread(bs, 4096, a, 8192), ==, 0);
    g_assert_cmpint(a[0], ==, 0x11);
    g_assert_cmpint(a[5000 - 4096], ==, 0x22);
    g_assert_cmpint(lb_node_pread(bs, 5050, back, 100), ==, 0);
    g_assert_cmpint(back[49], ==, 0x22);
    g_assert_cmpint(back[50], ==, 0x11);
}

static void test_discard(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree guint8 *buf = g_malloc(256 * 1024);
    g_autofree char *plain =
        g_strdup_printf("driver=raw,file.filename=%s", fx->img);
    g_autofree char *unmap = g_strdup_printf("%s,discard=unmap", plain);

    memset(buf, 0x5a, 256 * 1024);
    LbNode *bs = open_kv(plain, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_pwrite(bs, 0, buf, 256 * 1024, 0), ==, 0);
    g_assert_cmpint(lb_node_flush(bs), ==, 0);
    int64_t full = lb_node_allocated_size(bs);
    g_assert_cmpint(full, >=, 256 * 1024);
    /* Default discard=ignore: nothing is deallocated, data stays. */
    g_assert_cmpint(lb_node_pdiscard(bs, 0, 256 * 1024), ==, 0);
    g_assert_cmpint(lb_node_allocated_size(bs), ==, full);
    g_assert_cmpint(lb_node_pwrite_zeroes(bs, 0, 65536, LB_WRITE_MAY_UNMAP), ==,
                    0);
    g_assert_cmpint(lb_node_allocated_size(bs), ==, full);
    lb_node_unref(bs);

    /* discard=unmap on the format node reaches the file child. */
    bs = open_kv(unmap, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_pdiscard(bs, 65536, 196608), ==, 0);
    g_assert_cmpint(lb_node_allocated_size(bs), <, full);
    lb_node_unref(bs);

    g_autofree char *bad = g_strdup_printf("%s,discard=maybe", plain);
    g_assert_null(open_kv(bad, 0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID);
}

typedef struct Worker {
    LbNode *bs;
    unsigned id;
    int failures;
} Worker;

#define N_THREADS 4
#define CHUNK 4093 /* odd size: exercises unaligned offsets */

static gpointer worker_fn(gpointer p)
{
    Worker *w = p;
    guint8 buf[CHUNK], back[CHUNK];

    for (unsigned round = 0; round < 40; round++) {
        uint64_t off = (uint64_t)(round * N_THREADS + w->id) * CHUNK;
        memset(buf, (int)(w->id * 16 + round), sizeof(buf));
        if (lb_node_pwrite(w->bs, off, buf, CHUNK, 0) < 0 ||
            lb_node_pread(w->bs, off, back, CHUNK) < 0 ||
            memcmp(buf, back, CHUNK) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

static void test_threads(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) bs =
        lb_node_open_image(fx->img, "raw", false, LB_OPEN_RDWR, &err);
    Worker w[N_THREADS];
    GThread *t[N_THREADS];

    g_assert_no_error(err);
    for (unsigned i = 0; i < N_THREADS; i++) {
        w[i] = (Worker){.bs = bs, .id = i};
        t[i] = g_thread_new("io", worker_fn, &w[i]);
    }
    for (unsigned i = 0; i < N_THREADS; i++) {
        g_thread_join(t[i]);
        g_assert_cmpint(w[i].failures, ==, 0);
    }
}

/* -t cache modes as QEMU's bdrv_parse_cache_mode() names them. */
static const struct {
    const char *mode;
    bool ok, nocache;
} cache_cases[] = {
    { "none", true, true }, { "off", true, true },
    { "directsync", true, true }, { "writeback", true, false },
    { "writethrough", true, false }, { "unsafe", true, false },
    { "", false, false }, { "None", false, false }, { "direct", false, false },
};

static void test_cache_mode(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(cache_cases); i++) {
        g_autoptr(GError) err = NULL;
        unsigned flags = LB_OPEN_RDWR;

        g_assert_cmpint(lb_parse_cache_mode(cache_cases[i].mode, &flags, &err),
                        ==, cache_cases[i].ok);
        g_assert_cmpuint(flags, ==, LB_OPEN_RDWR | (cache_cases[i].nocache ?
                                                    LB_OPEN_NOCACHE : 0));
        if (!cache_cases[i].ok) {
            g_autofree char *msg = g_strdup_printf("Invalid cache option: %s",
                                                   cache_cases[i].mode);
            g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID);
            g_assert_cmpstr(err->message, ==, msg);
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/file/cache-mode", test_cache_mode);
    g_test_add("/block/file/io", Fixture, NULL, fx_setup, test_io, fx_teardown);
    g_test_add("/block/file/raw-window", Fixture, NULL, fx_setup,
               test_raw_window, fx_teardown);
    g_test_add("/block/file/registry", Fixture, NULL, fx_setup, test_registry,
               fx_teardown);
    g_test_add("/block/file/locking", Fixture, NULL, fx_setup, test_locking,
               fx_teardown);
    g_test_add("/block/file/create", Fixture, NULL, fx_setup, test_create,
               fx_teardown);
    g_test_add("/block/file/direct", Fixture, NULL, fx_setup, test_direct,
               fx_teardown);
    g_test_add("/block/file/discard", Fixture, NULL, fx_setup, test_discard,
               fx_teardown);
    g_test_add("/block/file/threads", Fixture, NULL, fx_setup, test_threads,
               fx_teardown);
    return g_test_run();
}
