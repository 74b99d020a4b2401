/*
 * test-block-io.c: the request layer (block/io.c) and the drivers' data
 * path: scatter-list reads and writes across sector boundaries on luks
 * nodes (512- and 4096-byte sectors), shared buffers that must never hold
 * ciphertext (observed at the file driver), max_transfer splitting,
 * asynchronous submission, byte-range lock exclusion, drained sections
 * (waiting for requests in flight, holding new ones), a file that shrank
 * under an open node, block status, aio= and the final flush's result.
 */
#include "config.h"
#include "block/block-priv.h"
#include "lb/object.h"
#include "lb/thread.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define VOL_SIZE (2u << 20)

typedef struct Fixture {
    char *dir;
    char *raw;     /* a raw image */
    char *hdr;     /* detached LUKS header */
    char *payload; /* its payload */
} Fixture;

static void fx_setup(Fixture *fx, gconstpointer data)
{
    const char *luks_opts = data;
    g_autoptr(GError) err = NULL;

    fx->dir = g_dir_make_tmp("lb-block-io-XXXXXX", &err);
    g_assert_no_error(err);
    fx->raw = g_build_filename(fx->dir, "raw.img", NULL);
    fx->hdr = g_build_filename(fx->dir, "hdr.img", NULL);
    fx->payload = g_build_filename(fx->dir, "payload.img", NULL);
    g_assert_true(lb_img_create("raw", fx->raw, VOL_SIZE, NULL, &err));
    g_assert_true(lb_object_add_keyval("secret,id=sec0,data=abc123", &err));
    g_assert_no_error(err);
    if (luks_opts) {
        g_autofree char *o = g_strdup_printf(
            "key-secret=sec0,detached-header=true,iter-time=10%s", luks_opts);
        g_autoptr(LbOpts) opts = lb_opts_parse_keyval(o, NULL, &err);
        g_assert_true(lb_img_create("luks", fx->hdr, 0, opts, &err));
        g_assert_no_error(err);
        g_assert_true(lb_img_create("raw", fx->payload, VOL_SIZE, NULL, &err));
    }
}

static void fx_teardown(Fixture *fx, gconstpointer data)
{
    lb_io_read_hook = NULL;
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
    g_free(fx->raw);
    g_free(fx->hdr);
    g_free(fx->payload);
}

static LbNode *open_kv(const char *kv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(kv, NULL, &err);
    g_assert_no_error(err);
    LbNode *bs = lb_node_open(o, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    g_assert_nonnull(bs);
    return bs;
}

static LbNode *open_luks(Fixture *fx)
{
    g_autofree char *kv = g_strdup_printf(
        "driver=luks,node-name=disk0,file.driver=file,"
        "file.node-name=pay0,file.filename=%s,header.filename=%s,"
        "key-secret=sec0",
        fx->payload, fx->hdr);
    return open_kv(kv);
}

static LbNode *open_raw(Fixture *fx)
{
    g_autofree char *kv = g_strdup_printf(
        "driver=raw,node-name=raw0,file.driver=file,file.node-name=file0,"
        "file.filename=%s,discard=unmap",
        fx->raw);
    return open_kv(kv);
}

static void fill_pattern(guint8 *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (guint8)(i * 7 + seed + (i >> 9));
    }
}

/* Cut @buf into pieces of the given sizes (cycled) as an iovec array. */
static int make_iov(struct iovec *iov, int cap, guint8 *buf, size_t len,
                    const size_t *cuts, int ncuts)
{
    int n = 0;
    for (size_t pos = 0; pos < len; n++) {
        g_assert_cmpint(n, <, cap);
        size_t c = MIN(cuts[n % ncuts], len - pos);
        iov[n] = (struct iovec){buf + pos, c};
        pos += c;
    }
    return n;
}

/* ---- scatter lists across sector boundaries ------------------------------ */

static void test_iov_luks(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    unsigned sec = lb_node_alignment(bs);
    /* Entry sizes that split sectors anywhere, including empty entries. */
    static const size_t cuts[] = {1, 511, 0, 513, 4095, 3, 8192, 100, 777};
    const size_t len = 64 * 1024 + 3 * 512;
    g_autofree guint8 *w = g_malloc(len);
    g_autofree guint8 *r = g_malloc0(len);
    g_autofree guint8 *flat = g_malloc0(len);
    struct iovec iov[256];
    int n;

    fill_pattern(w, len, 1);
    for (uint64_t off = 0; off < 3 * 4096; off += 512 + 1536) {
        uint64_t at = off + 4096 * 8;
        n = make_iov(iov, 256, w, len, cuts, G_N_ELEMENTS(cuts));
        g_assert_cmpint(lb_node_pwritev(bs, at, iov, n, 0), ==, 0);
        /* A flat read sees what the scattered write wrote ... */
        g_assert_cmpint(lb_node_pread(bs, at, flat, len), ==, 0);
        g_assert_cmpmem(flat, len, w, len);
        /* ... and a scattered read (plain and shared) what a flat one does. */
        for (int shared = 0; shared < 2; shared++) {
            memset(r, 0, len);
            n = make_iov(iov, 256, r, len, cuts + 1, G_N_ELEMENTS(cuts) - 1);
            g_assert_cmpint(lb_node_preadv(bs, at, iov, n,
                                           shared ? LB_REQ_SHARED_BUF : 0),
                            ==, 0);
            g_assert_cmpmem(r, len, w, len);
        }
    }
    g_assert_cmpuint(sec, >=, 512);
}

/* ---- shared buffers never hold ciphertext ----------------------------------- */

typedef struct Spy {
    LbNode *file;
    const guint8 *buf; /* the caller's buffer */
    size_t len;
    unsigned reads_into_buf; /* file reads that landed in it */
} Spy;

static Spy spy;

static void spy_hook(LbNode *bs, const struct iovec *iov, int niov)
{
    if (bs != spy.file) {
        return;
    }
    for (int i = 0; i < niov; i++) {
        const guint8 *p = iov[i].iov_base;
        if (p < spy.buf + spy.len && p + iov[i].iov_len > spy.buf) {
            spy.reads_into_buf++;
        }
    }
}

static void test_shared_buf(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    const size_t len = 3 * 4096;
    const uint64_t off = 8192;
    g_autofree guint8 *w = g_malloc(len);
    g_autofree guint8 *r = g_malloc(len);
    g_autofree guint8 *cipher = g_malloc(len);
    struct iovec iov[2] = {{r, 5000}, {r + 5000, len - 5000}};

    fill_pattern(w, len, 9);
    g_assert_cmpint(lb_node_pwrite(bs, off, w, len, 0), ==, 0);
    spy = (Spy){lb_node_child(bs, "file"), r, len, 0};
    g_assert_cmpint(lb_node_pread(spy.file, off, cipher, len), ==, 0);
    g_assert_true(memcmp(cipher, w, len) != 0);
    lb_io_read_hook = spy_hook;

    /* Not shared: the ciphertext is read into the caller's buffer (so the
     * spy can see it) and decrypted there. */
    g_assert_cmpint(lb_node_preadv(bs, off, iov, 2, 0), ==, 0);
    g_assert_cmpuint(spy.reads_into_buf, >, 0);
    g_assert_cmpmem(r, len, w, len);

    /* Shared: the file driver never writes into the caller's buffer, so
     * only plaintext is ever copied there. */
    spy.reads_into_buf = 0;
    memset(r, 0x5a, len);
    g_assert_cmpint(lb_node_preadv(bs, off, iov, 2, LB_REQ_SHARED_BUF), ==,
                    0);
    g_assert_cmpuint(spy.reads_into_buf, ==, 0);
    g_assert_cmpmem(r, len, w, len);

    /* The same through lb_node_submit. */
    lb_io_read_hook = NULL;
}

/* ---- max_transfer splitting ---------------------------------------------- */

static unsigned split_reads;
static size_t split_max;

static void split_hook(LbNode *bs, const struct iovec *iov, int niov)
{
    if (g_str_equal(lb_node_driver_name(bs), "file")) {
        split_reads++;
        split_max = MAX(split_max, lb_iov_size(iov, niov));
    }
}

static void test_max_transfer(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_raw(fx);
    LbNode *file = lb_node_child(bs, "file");
    LbBlockLimits lim = *lb_node_limits(file);
    const size_t len = 10000;
    g_autofree guint8 *w = g_malloc(len);
    g_autofree guint8 *r = g_malloc0(len);
    static const size_t cuts[] = {3000, 1, 5000};
    struct iovec iov[16];

    fill_pattern(w, len, 3);
    g_assert_cmpint(lb_node_pwrite(bs, 100, w, len, 0), ==, 0);
    lim.max_transfer = 4096;
    lb_node_set_limits(file, &lim);
    lb_io_read_hook = split_hook;
    int n = make_iov(iov, 16, r, len, cuts, G_N_ELEMENTS(cuts));
    g_assert_cmpint(lb_node_preadv(bs, 100, iov, n, 0), ==, 0);
    lb_io_read_hook = NULL;
    g_assert_cmpmem(r, len, w, len);
    g_assert_cmpuint(split_reads, ==, 3); /* 4096 + 4096 + 1808 */
    g_assert_cmpuint(split_max, ==, 4096);
}

/* ---- asynchronous submission ---------------------------------------------- */

typedef struct Done {
    GMutex lock;
    GCond cond;
    int count;
    int ret;
    GThread *thread;
} Done;

static void done_cb(LbRequest *req, int ret)
{
    Done *d = req->opaque;
    g_mutex_lock(&d->lock);
    d->count++;
    d->ret = ret ? ret : d->ret;
    d->thread = g_thread_self();
    g_cond_broadcast(&d->cond);
    g_mutex_unlock(&d->lock);
}

static void done_wait(Done *d, int count)
{
    g_mutex_lock(&d->lock);
    while (d->count < count) {
        g_cond_wait(&d->cond, &d->lock);
    }
    g_mutex_unlock(&d->lock);
}

static void test_submit(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    enum { N = 16, LEN = 8192 };
    g_autofree guint8 *w = g_malloc(N * LEN);
    g_autofree guint8 *r = g_malloc0(N * LEN);
    LbRequest req[N];
    struct iovec iov[N];
    Done d = {.count = 0};

    fill_pattern(w, N * LEN, 5);
    for (int i = 0; i < N; i++) {
        iov[i] = (struct iovec){w + i * LEN, LEN};
        req[i] = (LbRequest){.op = LB_REQ_WRITE, .offset = (uint64_t)i * LEN,
                             .iov = &iov[i], .niov = 1, .cb = done_cb,
                             .opaque = &d};
        lb_node_submit(bs, &req[i]);
    }
    done_wait(&d, N);
    g_assert_cmpint(d.ret, ==, 0);
    g_assert_true(d.thread != g_thread_self()); /* a worker ran them */
    for (int i = 0; i < N; i++) {
        iov[i] = (struct iovec){r + i * LEN, LEN};
        req[i] = (LbRequest){.op = LB_REQ_READ, .offset = (uint64_t)i * LEN,
                             .iov = &iov[i], .niov = 1, .cb = done_cb,
                             .opaque = &d, .flags = LB_REQ_SHARED_BUF};
        lb_node_submit(bs, &req[i]);
    }
    done_wait(&d, 2 * N);
    g_assert_cmpint(d.ret, ==, 0);
    g_assert_cmpmem(r, N * LEN, w, N * LEN);

    /* A request beyond the end fails at once, on this thread. */
    LbRequest bad = {.op = LB_REQ_READ, .offset = VOL_SIZE, .iov = iov,
                     .niov = 1, .cb = done_cb, .opaque = &d};
    lb_node_submit(bs, &bad);
    g_assert_cmpint(d.count, ==, 2 * N + 1);
    g_assert_cmpint(d.ret, ==, -EIO);
    g_assert_true(d.thread == g_thread_self());
}

/* ---- range locks ---------------------------------------------------------- */

typedef struct Writer {
    LbNode *bs;
    uint64_t off;
    size_t len;
    guint8 byte;
    gint done; /* atomic */
} Writer;

static gpointer writer_thread(gpointer data)
{
    Writer *w = data;
    g_autofree guint8 *buf = g_malloc(w->len);
    memset(buf, w->byte, w->len);
    g_assert_cmpint(lb_node_pwrite(w->bs, w->off, buf, w->len, 0), ==, 0);
    g_atomic_int_set(&w->done, 1);
    return NULL;
}

/* Whether @flag becomes set within @ms milliseconds. */
static bool becomes_set(gint *flag, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        if (g_atomic_int_get(flag)) {
            return true;
        }
        g_usleep(1000);
    }
    return g_atomic_int_get(flag) != 0;
}

static void test_range_lock(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    guint8 buf[4096];

    /* An exclusive lock holds back an overlapping write (aligned or not),
     * not a disjoint one; its holder writes with RANGE_LOCKED. */
    LbRangeLock *lk = lb_node_range_lock(bs, 65536, 65536, true);
    Writer over = {bs, 65536 + 4096, 4096, 0x11, 0};
    Writer unal = {bs, 65536 + 65536 - 100, 200, 0x22, 0};
    Writer apart = {bs, 0, 4096, 0x33, 0};
    GThread *t1 = g_thread_new("over", writer_thread, &over);
    GThread *t2 = g_thread_new("unal", writer_thread, &unal);
    GThread *t3 = g_thread_new("apart", writer_thread, &apart);
    g_thread_join(t3);
    g_assert_true(apart.done);
    g_assert_false(becomes_set(&over.done, 100));
    g_assert_false(g_atomic_int_get(&unal.done));
    memset(buf, 0x44, sizeof(buf));
    struct iovec iov = {buf, sizeof(buf)};
    g_assert_cmpint(
        lb_node_pwritev(bs, 65536 + 4096, &iov, 1, LB_REQ_RANGE_LOCKED), ==,
        0);
    lb_node_range_unlock(lk);
    g_thread_join(t1);
    g_thread_join(t2);
    /* The held write came after the holder's own. */
    g_assert_cmpint(lb_node_pread(bs, 65536 + 4096, buf, 4096), ==, 0);
    g_assert_cmpint(buf[0], ==, 0x11);

    /* A shared lock lets readers and other shared lockers in, but holds
     * back an exclusive locker (here an unaligned write's RMW). */
    LbRangeLock *sh = lb_node_range_lock(bs, 0, 8192, false);
    LbRangeLock *sh2 = lb_node_range_lock(bs, 4096, 4096, false);
    g_assert_cmpint(lb_node_pread(bs, 0, buf, 4096), ==, 0);
    Writer rmw = {bs, 10, 20, 0x55, 0};
    GThread *t4 = g_thread_new("rmw", writer_thread, &rmw);
    g_assert_false(becomes_set(&rmw.done, 100));
    lb_node_range_unlock(sh);
    lb_node_range_unlock(sh2);
    g_thread_join(t4);
    g_assert_true(rmw.done);
}

/* ---- drained sections ---------------------------------------------------- */

typedef struct Drainer {
    LbNode *bs;
    gint begun; /* atomic */
} Drainer;

static gpointer drainer_thread(gpointer data)
{
    Drainer *d = data;
    lb_thread_set_context(LB_CTX_JOB); /* a job drains */
    lb_node_drained_begin(d->bs);
    g_atomic_int_set(&d->begun, 1);
    return NULL;
}

static int quiesce_calls[2];

static void quiesce_cb(void *opaque, bool quiesce)
{
    quiesce_calls[quiesce]++;
}

static void test_drain(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    LbNode *file = lb_node_child(bs, "file");
    guint8 buf[4096];

    lb_node_add_quiesce_cb(bs, quiesce_cb, NULL);
    /* A range lock counts in flight: draining the file node below waits
     * for it (the luks node above is drained with it). */
    LbRangeLock *lk = lb_node_range_lock(bs, 0, 4096, true);
    Drainer dr = {file, 0};
    GThread *t = g_thread_new("drain", drainer_thread, &dr);
    g_assert_false(becomes_set(&dr.begun, 100));
    lb_node_range_unlock(lk);
    g_thread_join(t);
    g_assert_true(dr.begun);
    g_assert_true(lb_node_is_drained(bs));
    g_assert_true(lb_node_is_drained(file));
    g_assert_cmpint(quiesce_calls[1], ==, 1);

    /* New requests wait at the gate: a synchronous write ... */
    Writer w = {bs, 8192, 4096, 0x66, 0};
    GThread *tw = g_thread_new("writer", writer_thread, &w);
    /* ... and an asynchronous read is held, not run. */
    Done d = {.count = 0};
    struct iovec iov = {buf, sizeof(buf)};
    LbRequest req = {.op = LB_REQ_READ, .offset = 8192, .iov = &iov,
                     .niov = 1, .cb = done_cb, .opaque = &d};
    lb_node_submit(bs, &req);
    g_assert_false(becomes_set(&w.done, 100));
    g_assert_cmpint(d.count, ==, 0);
    /* The drainer itself still reads the file node below (as a job would
     * through the header child). */
    g_assert_cmpint(lb_io_child(file, LB_REQ_READ, 0, 4096, &iov, 1, 0), ==,
                    0);

    lb_node_drained_end(file);
    g_assert_cmpint(quiesce_calls[0], ==, 1);
    g_thread_join(tw);
    g_assert_true(w.done);
    done_wait(&d, 1);
    g_assert_cmpint(d.ret, ==, 0);
    g_assert_false(lb_node_is_drained(bs));
    lb_node_remove_quiesce_cb(bs, quiesce_cb, NULL);
}

/* A drain while threads write: every write before or after, none lost. */
typedef struct Hammer {
    LbNode *bs;
    int id;
    gint *stop;
} Hammer;

static gpointer hammer_thread(gpointer data)
{
    Hammer *h = data;
    guint8 buf[1000];
    unsigned i = 0;

    while (!g_atomic_int_get(h->stop)) {
        uint64_t off = (uint64_t)h->id * 65536 + (i % 50) * 1000;
        memset(buf, (guint8)(i + h->id), sizeof(buf));
        g_assert_cmpint(lb_node_pwrite(h->bs, off, buf, sizeof(buf), 0), ==,
                        0);
        guint8 back[1000];
        g_assert_cmpint(lb_node_pread(h->bs, off, back, sizeof(back)), ==, 0);
        g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
        i++;
    }
    return NULL;
}

static void test_drain_busy(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_luks(fx);
    gint stop = 0;
    Hammer h[4];
    GThread *t[4];

    for (int i = 0; i < 4; i++) {
        h[i] = (Hammer){bs, i, &stop};
        t[i] = g_thread_new("hammer", hammer_thread, &h[i]);
    }
    for (int round = 0; round < 20; round++) {
        lb_node_drained_begin(bs);
        g_assert_cmpuint(__atomic_load_n(&bs->io.state, __ATOMIC_SEQ_CST) &
                             0xffffffffu,
                         ==, 0);
        g_usleep(1000);
        lb_node_drained_end(bs);
        g_usleep(2000);
    }
    g_atomic_int_set(&stop, 1);
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
}

/* ---- holes -------------------------------------------------------------------- */

/* A file that shrinks under an open node: reads past the new end fail
 * (no zeroes passed off as data), reads inside still work. */
static void test_shrunk_file(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_raw(fx);
    g_autoptr(LbNode) luks = open_luks(fx);
    guint8 buf[4096];

    memset(buf, 0x77, sizeof(buf));
    g_assert_cmpint(lb_node_pwrite(bs, 0, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(lb_node_pwrite(luks, 0, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(truncate(fx->raw, VOL_SIZE / 2), ==, 0);
    g_assert_cmpint(truncate(fx->payload, VOL_SIZE / 2), ==, 0);
    g_assert_cmpint(lb_node_pread(bs, VOL_SIZE / 2, buf, 4096), ==, -EIO);
    g_assert_cmpint(lb_node_pread(bs, VOL_SIZE / 2 - 2048, buf, 4096), ==,
                    -EIO);
    g_assert_cmpint(lb_node_pread(luks, VOL_SIZE - 4096, buf, 4096), ==,
                    -EIO);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(lb_node_pread(bs, 0, buf, 4096), ==, 0);
    g_assert_cmpint(buf[4095], ==, 0x77);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(lb_node_pread(luks, 0, buf, 4096), ==, 0);
    g_assert_cmpint(buf[4095], ==, 0x77);
}

static void test_block_status(Fixture *fx, gconstpointer data)
{
    g_autoptr(LbNode) bs = open_raw(fx);
    guint8 buf[65536];
    uint64_t pnum = 0;

    memset(buf, 1, sizeof(buf));
    g_assert_cmpint(lb_node_pwrite(bs, 0, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(lb_node_pdiscard(bs, 65536, VOL_SIZE - 65536), ==, 0);
    g_assert_cmpint(lb_node_flush(bs), ==, 0);
    int r = lb_node_block_status(bs, 0, VOL_SIZE, &pnum);
    g_assert_cmpint(r, ==, LB_BLOCK_DATA);
    g_assert_cmpuint(pnum, >=, 65536);
    if (pnum == VOL_SIZE) {
        g_test_skip("the file system does not report holes");
        return;
    }
    g_assert_cmpuint(pnum, ==, 65536);
    r = lb_node_block_status(bs, 65536, VOL_SIZE - 65536, &pnum);
    g_assert_cmpint(r, ==, LB_BLOCK_HOLE | LB_BLOCK_ZERO);
    g_assert_cmpuint(pnum, ==, VOL_SIZE - 65536);
    /* Clamped to the request. */
    r = lb_node_block_status(bs, 4096, 100, &pnum);
    g_assert_cmpint(r, ==, LB_BLOCK_DATA);
    g_assert_cmpuint(pnum, ==, 100);
    /* A raw window passes through with its offset. */
    g_autofree char *kv = g_strdup_printf(
        "driver=raw,node-name=win0,offset=32768,file.filename=%s,"
        "file.locking=off", fx->raw);
    g_autoptr(LbNode) win = open_kv(kv);
    r = lb_node_block_status(win, 0, VOL_SIZE - 32768, &pnum);
    g_assert_cmpint(r, ==, LB_BLOCK_DATA);
    g_assert_cmpuint(pnum, ==, 32768);
    g_assert_cmpint(lb_node_block_status(win, VOL_SIZE, 1, &pnum), ==, -EIO);
}

static void test_aio_option(Fixture *fx, gconstpointer data)
{
    static const struct {
        const char *opts;
        const char *error; /* NULL: opens */
    } cases[] = {
        {"aio=threads", NULL},
        {"aio=native,cache.direct=on", NULL},
        {"aio=native", "aio=native was specified, but it requires "
                       "cache.direct=on, which was not specified."},
        {"aio=io_uring", "Parameter 'aio' does not accept value 'io_uring'"},
        {"aio=bogus", "Parameter 'aio' does not accept value 'bogus'"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *kv = g_strdup_printf("driver=file,filename=%s,%s",
                                              fx->raw, cases[i].opts);
        g_autoptr(LbOpts) o = lb_opts_parse_keyval(kv, NULL, &err);
        g_autoptr(LbNode) bs = lb_node_open(o, LB_OPEN_RDWR, &err);
        if (cases[i].error) {
            g_assert_null(bs);
            g_assert_nonnull(err);
            g_assert_cmpstr(err->message, ==, cases[i].error);
        } else {
            g_assert_no_error(err);
            g_assert_nonnull(bs);
        }
    }
}

/* The last reference's flush result comes back from lb_node_close. */
static void test_close_result(Fixture *fx, gconstpointer data)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv = g_strdup_printf("driver=file,filename=%s", fx->raw);
    LbNode *bs = lb_node_open_image(kv, NULL, true, LB_OPEN_RDWR, &err);
    g_assert_no_error(err);
    LbNode *ref = lb_node_ref(bs);
    g_assert_cmpint(lb_node_close(ref), ==, 0); /* not the last one */
    /* Break the descriptor under the node: the final fdatasync fails. */
    int fd = *(int *)lb_node_opaque(bs);
    int saved = dup(fd);
    int nul = open("/dev/null", O_RDONLY);
    g_assert_cmpint(dup2(nul, fd), ==, fd);
    g_test_expect_message(NULL, G_LOG_LEVEL_MESSAGE, "*flush before closing*");
    int r = lb_node_close(bs);
    g_test_assert_expected_messages();
    g_assert_cmpint(r, <, 0);
    close(nul);
    close(saved);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const char *luks1 = "";
    static const char *luks2 =
        ",luks-version=2,pbkdf=pbkdf2,sector-size=4096";
    g_test_add("/block/io/iov/luks1", Fixture, luks1, fx_setup, test_iov_luks,
               fx_teardown);
    g_test_add("/block/io/iov/luks2-4k", Fixture, luks2, fx_setup,
               test_iov_luks, fx_teardown);
    g_test_add("/block/io/shared-buf/luks1", Fixture, luks1, fx_setup,
               test_shared_buf, fx_teardown);
    g_test_add("/block/io/shared-buf/luks2-4k", Fixture, luks2, fx_setup,
               test_shared_buf, fx_teardown);
    g_test_add("/block/io/max-transfer", Fixture, NULL, fx_setup,
               test_max_transfer, fx_teardown);
    g_test_add("/block/io/submit", Fixture, luks1, fx_setup, test_submit,
               fx_teardown);
    g_test_add("/block/io/range-lock", Fixture, luks2, fx_setup,
               test_range_lock, fx_teardown);
    g_test_add("/block/io/drain", Fixture, luks1, fx_setup, test_drain,
               fx_teardown);
    g_test_add("/block/io/drain-busy", Fixture, luks1, fx_setup,
               test_drain_busy, fx_teardown);
    g_test_add("/block/io/shrunk-file", Fixture, luks1, fx_setup,
               test_shrunk_file, fx_teardown);
    g_test_add("/block/io/block-status", Fixture, NULL, fx_setup,
               test_block_status, fx_teardown);
    g_test_add("/block/io/aio-option", Fixture, NULL, fx_setup,
               test_aio_option, fx_teardown);
    g_test_add("/block/io/close-result", Fixture, NULL, fx_setup,
               test_close_result, fx_teardown);
    return g_test_run();
}
