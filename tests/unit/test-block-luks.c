/*
 * test-block-luks.c: the luks block driver end to end on files: detached
 * and attached volumes opened from keyval and json:, concurrent unaligned
 * I/O from several threads, header/payload separation, wrong passphrase,
 * a payload shorter than the payload offset, info without keys,
 * blockdev-create, amend and the node graph rules.
 */
#include "config.h"
#include "lb/block.h"
#include "lb/luks.h"
#include "lb/object.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

typedef struct Fixture {
    char *dir;
    char *hdr;
    char *payload;
    char *kv; /* keyval for the detached volume */
} Fixture;

typedef struct Params {
    const char *create_opts; /* extra -o options */
    unsigned sector;
} Params;

static const Params luks1 = {"", 512};
static const Params luks2 = {
    ",luks-version=2,pbkdf=pbkdf2,sector-size=4096",
    4096,
};

#define VOL_SIZE (4u << 20)

static void fx_setup(Fixture *fx, gconstpointer data)
{
    const Params *p = data;
    g_autoptr(GError) err = NULL;
    const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR)
                           ? "/dev/shm"
                           : g_get_tmp_dir();
    g_autofree char *tmpl = g_build_filename(base, "lb-luks-XXXXXX", NULL);

    fx->dir = g_mkdtemp(g_steal_pointer(&tmpl));
    g_assert_nonnull(fx->dir);
    fx->hdr = g_build_filename(fx->dir, "hdr.img", NULL);
    fx->payload = g_build_filename(fx->dir, "payload.img", NULL);
    g_assert_true(lb_object_add_keyval("secret,id=sec0,data=abc123", &err));
    g_assert_true(lb_object_add_keyval("secret,id=sec1,data=second", &err));
    g_assert_true(lb_object_add_keyval("secret,id=bad,data=wrong", &err));
    g_autofree char *o = g_strdup_printf(
        "key-secret=sec0,detached-header=true,iter-time=10%s", p->create_opts);
    g_autoptr(LbOpts) opts = lb_opts_parse_keyval(o, NULL, &err);
    g_assert_true(lb_img_create("luks", fx->hdr, 0, opts, &err));
    g_assert_no_error(err);
    g_assert_true(lb_img_create("raw", fx->payload, VOL_SIZE, NULL, &err));
    fx->kv = g_strdup_printf("driver=luks,file.filename=%s,"
                             "header.filename=%s,key-secret=sec0",
                             fx->payload, fx->hdr);
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    lb_nodes_close_all();
    g_assert_null(lb_node_list());
    lb_objects_clear();
    g_autoptr(GDir) d = g_dir_open(fx->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(fx->dir, name, NULL);
        g_unlink(p);
    }
    g_rmdir(fx->dir);
    g_free(fx->dir);
    g_free(fx->hdr);
    g_free(fx->payload);
    g_free(fx->kv);
}

static LbNode *open_kv(const char *kv, unsigned flags, GError **errp)
{
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(kv, NULL, errp);
    return o ? lb_node_open(o, flags, errp) : NULL;
}

static GBytes *slurp(const char *path)
{
    char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_bytes_new_take(data, len);
}

static void fill(guint8 *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (guint8)(seed * 31 + i * 7 + (i >> 9));
    }
}

/* ---- basic I/O, separation of header and payload ------------------------ */

static void test_detached_io(Fixture *fx, gconstpointer data)
{
    const Params *p = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) hdr_before = slurp(fx->hdr);
    g_autoptr(LbNode) bs = open_kv(fx->kv, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);

    g_assert_cmpint(lb_node_length(bs), ==, VOL_SIZE);
    g_assert_cmpuint(lb_node_alignment(bs), ==, p->sector);
    g_assert_true(g_str_has_prefix(lb_node_filename(bs), "json:"));

    /* Large (chunked + parallel), unaligned and tail writes. */
    static const struct {
        uint64_t off;
        size_t len;
    } reqs[] = {
        {0, 3u << 20}, {100, 1000},           {511, 2},
        {4095, 4099},  {VOL_SIZE - 700, 700}, {300000, 262144 + 512},
    };
    for (guint i = 0; i < G_N_ELEMENTS(reqs); i++) {
        g_autofree guint8 *w = g_malloc(reqs[i].len);
        g_autofree guint8 *r = g_malloc(reqs[i].len);
        fill(w, reqs[i].len, i);
        g_assert_cmpint(lb_node_pwrite(bs, reqs[i].off, w, reqs[i].len, 0), ==,
                        0);
        g_assert_cmpint(lb_node_pread(bs, reqs[i].off, r, reqs[i].len), ==, 0);
        g_assert_cmpmem(w, reqs[i].len, r, reqs[i].len);
    }
    guint8 b[16];
    g_assert_cmpint(lb_node_pread(bs, VOL_SIZE - 8, b, 16), ==, -EIO);
    g_assert_cmpint(lb_node_pwrite_zeroes(bs, 1000, 3000, 0), ==, 0);
    g_assert_cmpint(lb_node_pread(bs, 999, b, 16), ==, 0);
    g_assert_cmpint(b[0], !=, 0);
    g_assert_cmpint(b[1], ==, 0);
    g_assert_cmpint(lb_node_flush(bs), ==, 0);
    g_clear_pointer(&bs, lb_node_unref);

    /* The header is untouched by data I/O; the payload has no magic and
     * holds ciphertext. */
    g_autoptr(GBytes) hdr_after = slurp(fx->hdr);
    g_assert_true(g_bytes_equal(hdr_before, hdr_after));
    g_autoptr(GBytes) payload = slurp(fx->payload);
    gsize plen;
    const guint8 *pd = g_bytes_get_data(payload, &plen);
    g_assert_cmpuint(plen, ==, VOL_SIZE);
    g_assert_true(memcmp(pd, "LUKS\xba\xbe", 6) != 0);
    guint8 plain[64];
    fill(plain, sizeof(plain), 0);
    g_assert_true(memcmp(pd, plain, sizeof(plain)) != 0);

    /* Reopen through json: and see the same data. */
    g_autofree char *json = g_strdup_printf(
        "json:{\"driver\":\"luks\",\"file\":{\"filename\":\"%s\"},"
        "\"header\":{\"driver\":\"file\",\"filename\":\"%s\"},"
        "\"key-secret\":\"sec0\"}",
        fx->payload, fx->hdr);
    g_autoptr(LbNode) again = lb_node_open_image(json, NULL, false, 0, &err);
    g_assert_no_error(err);
    g_autofree guint8 *w = g_malloc(1000);
    g_autofree guint8 *r = g_malloc(1000);
    fill(w, 1000, 1);
    /* Bytes 100..510 still hold request 1's data (511.. was rewritten). */
    g_assert_cmpint(lb_node_pread(again, 100, r, 411), ==, 0);
    g_assert_cmpmem(w, 411, r, 411);
    g_assert_cmpint(lb_node_pwrite(again, 0, w, 1, 0), ==, -EPERM);
}

/* ---- concurrency -----------------------------------------------------------
 */

#define N_THREADS 4
#define SHARED_REGION 8192

typedef struct Worker {
    LbNode *bs;
    unsigned id;
    int failures;
} Worker;

static gpointer worker_fn(gpointer data)
{
    Worker *w = data;
    guint8 buf[5000], back[5000];

    /* Disjoint, unaligned ranges: region i of 256 KiB from 1 MiB on. */
    for (unsigned round = 0; round < 20; round++) {
        uint64_t off = (1u << 20) + w->id * 262144 + round * 4999 + 3;
        size_t len = 1000 + round * 200;
        fill(buf, len, w->id * 100 + round);
        if (lb_node_pwrite(w->bs, off, buf, len, 0) < 0 ||
            lb_node_pread(w->bs, off, back, len) < 0 ||
            memcmp(buf, back, len) != 0) {
            w->failures++;
        }
    }
    /* Overlapping sectors: thread i owns bytes i, i+N, i+2N, ... of a
     * shared region and writes them one at a time (read-modify-write of
     * the same sectors from all threads).  A lost update shows up as a
     * byte that is not its owner's value. */
    for (unsigned pos = w->id; pos < SHARED_REGION; pos += N_THREADS) {
        guint8 v = (guint8)(0xa0 + w->id);
        if (lb_node_pwrite(w->bs, 777 + pos, &v, 1, 0) < 0) {
            w->failures++;
        }
    }
    return NULL;
}

static void test_threads(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) bs = open_kv(fx->kv, LB_OPEN_RDWR, &err);
    Worker w[N_THREADS];
    GThread *t[N_THREADS];

    g_assert_no_error(err);
    for (unsigned i = 0; i < N_THREADS; i++) {
        w[i] = (Worker){.bs = bs, .id = i};
        t[i] = g_thread_new("luks-io", worker_fn, &w[i]);
    }
    for (unsigned i = 0; i < N_THREADS; i++) {
        g_thread_join(t[i]);
        g_assert_cmpint(w[i].failures, ==, 0);
    }
    guint8 region[SHARED_REGION];
    g_assert_cmpint(lb_node_pread(bs, 777, region, sizeof(region)), ==, 0);
    for (unsigned pos = 0; pos < SHARED_REGION; pos++) {
        g_assert_cmpint(region[pos], ==, 0xa0 + pos % N_THREADS);
    }
}

/* ---- errors
 * ------------------------------------------------------------------ */

static void test_wrong_pass(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GBytes) before = slurp(fx->hdr);
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,file.filename=%s,header.filename=%s,key-secret=bad",
        fx->payload, fx->hdr);

    g_assert_null(open_kv(kv, LB_OPEN_RDWR, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_clear_error(&err);
    g_autoptr(GBytes) after = slurp(fx->hdr);
    g_assert_true(g_bytes_equal(before, after));
    g_assert_null(lb_node_list());

    /* Missing key-secret, unknown secret, payload used as header. */
    g_autofree char *nokey =
        g_strdup_printf("driver=luks,file.filename=%s,header.filename=%s",
                        fx->payload, fx->hdr);
    g_assert_null(open_kv(nokey, 0, &err));
    g_assert_cmpstr(err->message, ==,
                    "Parameter 'key-secret' is required for cipher");
    g_clear_error(&err);
    g_autofree char *ghost = g_strdup_printf("%s,key-secret=ghost", nokey);
    g_assert_null(open_kv(ghost, 0, &err));
    g_assert_error(err, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND);
    g_clear_error(&err);
    g_autofree char *swapped = g_strdup_printf(
        "driver=luks,file.filename=%s,header.filename=%s,key-secret=sec0",
        fx->hdr, fx->payload);
    g_assert_null(open_kv(swapped, 0, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NOT_LUKS);
    g_clear_error(&err);
    g_assert_null(lb_node_list());
}

static void test_short_payload(Fixture *fx, gconstpointer data)
{
    const Params *p = data;
    g_autoptr(GError) err = NULL;
    g_autofree char *img = g_build_filename(fx->dir, "attached.img", NULL);
    g_autofree char *o =
        g_strdup_printf("key-secret=sec0,iter-time=10%s", p->create_opts);
    g_autoptr(LbOpts) opts = lb_opts_parse_keyval(o, NULL, &err);

    g_assert_true(lb_img_create("luks", img, 1 << 20, opts, &err));
    g_assert_no_error(err);
    g_autofree char *att =
        g_strdup_printf("driver=luks,file.filename=%s,key-secret=sec0", img);
    g_autoptr(LbNode) ok = lb_node_open_image(att, NULL, true, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_length(ok), ==, 1 << 20);
    g_autofree char *info = lb_node_info_json(ok);
    g_assert_nonnull(strstr(info, "\"detached-header\":false"));
    g_clear_pointer(&ok, lb_node_unref);

    /* Keep the header, cut the payload short: the header-only backup
     * (payload offset > 0) used as the header of a tiny payload. */
    g_autofree char *tiny = g_build_filename(fx->dir, "tiny.img", NULL);
    g_assert_true(lb_img_create("raw", tiny, 4096, NULL, &err));
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,file.filename=%s,header.filename=%s,key-secret=sec0", tiny,
        img);
    g_assert_null(open_kv(kv, 0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "too small"));
    g_clear_error(&err);
    g_assert_null(lb_node_list());
}

/* ---- info without keys
 * ----------------------------------------------------------- */

static void test_info_no_keys(Fixture *fx, gconstpointer data)
{
    const Params *p = data;
    g_autoptr(GError) err = NULL;
    g_autofree char *kv =
        g_strdup_printf("driver=luks,file.filename=%s,header.filename=%s",
                        fx->payload, fx->hdr);
    g_autoptr(LbNode) bs = open_kv(kv, LB_OPEN_NO_KEYS, &err);
    g_assert_no_error(err);
    g_autofree char *info = lb_node_info_json(bs);

    g_assert_true(g_str_has_prefix(
        info, "{\"type\":\"luks\",\"data\":{\"cipher-alg\":\"aes-256\","
              "\"cipher-mode\":\"xts\",\"ivgen-alg\":\"plain64\","
              "\"hash-alg\":\"sha256\",\"detached-header\":true,"
              "\"payload-offset\":0,\"master-key-iters\":"));
    g_assert_nonnull(strstr(info, "\"slots\":[{\"active\":true,\"iters\":"));
    if (p->sector == 512) {
        g_assert_nonnull(strstr(info, "{\"active\":false,\"key-offset\":"));
    } else {
        g_assert_nonnull(strstr(info, "\"version\":2"));
        g_assert_nonnull(strstr(info, "\"sector-size\":4096"));
    }
    guint8 b[512];
    g_assert_cmpint(lb_node_pread(bs, 0, b, sizeof(b)), <, 0);

    /* The header file alone, probed, no secret. */
    g_autoptr(LbNode) h =
        lb_node_open_image(fx->hdr, NULL, false, LB_OPEN_NO_KEYS, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(lb_node_driver_name(h), ==, "luks");
}

/* ---- graph, blockdev-create, amend
 * ----------------------------------------------- */

static void test_graph(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *p0 = g_strdup_printf("driver=file,node-name=p0,"
                                          "filename=%s",
                                          fx->payload);
    g_autofree char *h0 = g_strdup_printf("driver=file,node-name=h0,"
                                          "filename=%s",
                                          fx->hdr);

    lb_node_unref(open_kv(p0, LB_OPEN_RDWR, &err));
    g_assert_no_error(err);
    lb_node_unref(open_kv(h0, LB_OPEN_RDWR, &err));
    lb_node_unref(
        open_kv("driver=raw,node-name=f0,file=p0", LB_OPEN_RDWR, &err));
    g_assert_no_error(err);
    lb_node_unref(open_kv("driver=luks,node-name=disk0,file=f0,header=h0,"
                          "key-secret=sec0",
                          LB_OPEN_RDWR, &err));
    g_assert_no_error(err);
    LbNode *disk = lb_node_find("disk0");
    g_assert_nonnull(disk);
    g_assert_true(lb_node_child(disk, "header") == lb_node_find("h0"));
    g_assert_cmpint(lb_node_pwrite(disk, 10, "hello", 5, 0), ==, 0);

    g_assert_null(open_kv("driver=luks,node-name=disk0,file=f0,header=h0,"
                          "key-secret=sec0",
                          0, &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS);
    g_clear_error(&err);
    g_assert_false(lb_node_del("h0", &err));
    g_assert_error(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_IN_USE);
    g_clear_error(&err);
    g_assert_false(lb_node_del("f0", &err));
    g_clear_error(&err);
    g_assert_true(lb_node_del("disk0", &err));
    g_assert_true(lb_node_del("f0", &err));
    g_assert_true(lb_node_del("h0", &err));
    g_assert_true(lb_node_del("p0", &err));
    g_assert_null(lb_node_list());
}

static void test_blockdev_create(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *h2 = g_build_filename(fx->dir, "h2.img", NULL);
    g_autofree char *p2 = g_build_filename(fx->dir, "p2.img", NULL);

    g_assert_true(lb_img_create("raw", h2, 0, NULL, &err));
    g_assert_true(lb_img_create("raw", p2, 0, NULL, &err));
    g_autofree char *hk = g_strdup_printf("driver=file,node-name=hn,"
                                          "filename=%s",
                                          h2);
    g_autofree char *pk = g_strdup_printf("driver=file,node-name=pn,"
                                          "filename=%s",
                                          p2);
    lb_node_unref(open_kv(hk, LB_OPEN_RDWR, &err));
    lb_node_unref(open_kv(pk, LB_OPEN_RDWR, &err));
    g_assert_no_error(err);
    g_autoptr(LbOpts) o = lb_opts_parse_json(
        "{\"driver\":\"luks\",\"header\":\"hn\",\"file\":\"pn\","
        "\"size\":1048576,\"key-secret\":\"sec0\",\"iter-time\":10}",
        &err);
    g_assert_true(lb_blockdev_create(o, &err));
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_length(lb_node_find("pn")), ==, 1 << 20);
    lb_node_unref(open_kv("driver=luks,node-name=d,file=pn,header=hn,"
                          "key-secret=sec0",
                          LB_OPEN_RDWR, &err));
    g_assert_no_error(err);
    g_assert_cmpint(lb_node_length(lb_node_find("d")), ==, 1 << 20);

    g_autoptr(LbOpts) none = lb_opts_parse_json(
        "{\"driver\":\"luks\",\"size\":1,\"key-secret\":\"sec0\"}", &err);
    g_assert_false(lb_blockdev_create(none, &err));
    g_clear_error(&err);
}

static void test_amend(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbNode) bs = open_kv(fx->kv, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);

    g_autoptr(LbOpts) add = lb_opts_parse_keyval(
        "state=active,new-secret=sec1,iter-time=10", NULL, &err);
    g_assert_true(lb_node_amend(bs, add, false, &err));
    g_assert_no_error(err);
    g_autoptr(LbOpts) busy = lb_opts_parse_keyval(
        "state=active,new-secret=sec1,keyslot=0,iter-time=10", NULL, &err);
    g_assert_false(lb_node_amend(bs, busy, false, &err));
    g_assert_nonnull(strstr(err->message, "Refusing to overwrite"));
    g_clear_error(&err);
    g_clear_pointer(&bs, lb_node_unref);

    g_autofree char *kv1 = g_strdup_printf(
        "driver=luks,file.filename=%s,header.filename=%s,key-secret=sec1",
        fx->payload, fx->hdr);
    bs = open_kv(kv1, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    g_autoptr(LbOpts) del0 =
        lb_opts_parse_keyval("state=inactive,old-secret=sec0", NULL, &err);
    g_assert_true(lb_node_amend(bs, del0, false, &err));
    g_assert_no_error(err);
    g_autoptr(LbOpts) last =
        lb_opts_parse_keyval("state=inactive,old-secret=sec1", NULL, &err);
    g_assert_false(lb_node_amend(bs, last, false, &err));
    g_assert_nonnull(strstr(err->message, "refusing operation"));
    g_clear_error(&err);
    g_autoptr(LbOpts) unk =
        lb_opts_parse_keyval("state=active,foo=1", NULL, &err);
    g_assert_false(lb_node_amend(bs, unk, false, &err));
    g_clear_error(&err);
    g_clear_pointer(&bs, lb_node_unref);

    g_assert_null(open_kv(fx->kv, 0, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
}

static void test_luks2_options(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *img = g_build_filename(fx->dir, "l2.img", NULL);
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(
        "key-secret=sec0,luks-version=2,pbkdf=argon2id,pbkdf-memory=64,"
        "pbkdf-parallel=1,pbkdf-iterations=4,label=mylabel,sector-size=512,"
        "cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,"
        "ivgen-hash-alg=sha256,detached-header=true",
        NULL, &err);

    g_assert_true(lb_img_create("luks", img, 0, o, &err));
    g_assert_no_error(err);
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,file.filename=%s,header.filename=%s,key-secret=sec0",
        fx->payload, img);
    g_autoptr(LbNode) bs = open_kv(kv, 0, &err);
    g_assert_no_error(err);
    g_autofree char *info = lb_node_info_json(bs);
    g_assert_nonnull(strstr(info, "\"cipher-alg\":\"aes-128\""));
    g_assert_nonnull(strstr(info, "\"cipher-mode\":\"cbc\""));
    g_assert_nonnull(strstr(info, "\"ivgen-alg\":\"essiv\","
                                  "\"ivgen-hash-alg\":\"sha256\""));
    g_assert_nonnull(strstr(info, "\"label\":\"mylabel\""));
    g_assert_nonnull(strstr(info, "\"kdf\":\"argon2id\",\"time-cost\":4,"
                                  "\"memory\":64,\"parallel\":1"));
    g_assert_nonnull(strstr(info, "\"sector-size\":512"));

    /* LUKS2-only options need luks-version=2. */
    g_autoptr(LbOpts) bad = lb_opts_parse_keyval(
        "key-secret=sec0,label=x,detached-header=true", NULL, &err);
    g_assert_false(lb_img_create("luks", img, 0, bad, &err));
    g_assert_true(g_str_has_suffix(err->message, ": Parameter 'label' requires "
                                                 "luks-version=2"));
}

static void add(const char *name, const Params *p, GTestFixtureFunc fn)
{
    g_autofree char *path = g_strdup_printf(
        "/block/luks/%s/%s", p == &luks1 ? "luks1" : "luks2", name);
    g_test_add_vtable(path, sizeof(Fixture), p, (GTestFixtureFunc)fx_setup, fn,
                      (GTestFixtureFunc)fx_teardown);
}

int main(int argc, char **argv)
{
    static const Params *const params[] = {&luks1, &luks2};

    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(params); i++) {
        add("detached-io", params[i], (GTestFixtureFunc)test_detached_io);
        add("threads", params[i], (GTestFixtureFunc)test_threads);
        add("wrong-pass", params[i], (GTestFixtureFunc)test_wrong_pass);
        add("short-payload", params[i], (GTestFixtureFunc)test_short_payload);
        add("info-no-keys", params[i], (GTestFixtureFunc)test_info_no_keys);
    }
    add("graph", &luks1, (GTestFixtureFunc)test_graph);
    add("blockdev-create", &luks1, (GTestFixtureFunc)test_blockdev_create);
    add("amend", &luks1, (GTestFixtureFunc)test_amend);
    add("amend", &luks2, (GTestFixtureFunc)test_amend);
    add("options", &luks2, (GTestFixtureFunc)test_luks2_options);
    return g_test_run();
}
