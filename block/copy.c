/*
 * copy.c: the chunked copy loop (include/lb/copy.h).  Workers take the
 * next chunk from an atomic counter, read it from the source and write
 * it to the target; with a sparse size, runs of all-zero blocks are not
 * written to a target that reads as zeros, and become write_zeroes
 * requests otherwise (unwritten luks ciphertext does not decrypt to
 * zeros).  With a job, each chunk ends at a job checkpoint: progress in
 * bytes, pause, drain, speed limit and cancel.
 */
#include "config.h"
#include "lb/copy.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "lb/block.h"
#include "lb/job.h"

#define DEFAULT_CHUNK (1024 * 1024)

typedef struct Copy {
    const LbCopyParams *p;
    size_t chunk;
    gssize next;   /* atomic: next chunk */
    gint error;    /* atomic: first -errno */
    GMutex lock;   /* done, progress callback */
    uint64_t done;
} Copy;

static bool is_zero(const guint8 *buf, size_t len)
{
    return len == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0);
}

/* Copy one chunk; runs of zero sparse-sized blocks are skipped or zeroed. */
static int copy_chunk(const LbCopyParams *p, guint8 *buf, uint64_t off,
                      size_t len)
{
    int ret = lb_node_pread(p->src, off, buf, len);
    size_t pos = 0;

    if (ret < 0 || p->sparse == 0) {
        return ret < 0 ? ret : lb_node_pwrite(p->dst, off, buf, len, 0);
    }
    while (pos < len && ret == 0) {
        size_t n = MIN(p->sparse, len - pos);
        bool zero = is_zero(buf + pos, n);
        size_t run = n;
        while (pos + run < len) {
            size_t m = MIN(p->sparse, len - pos - run);
            if (is_zero(buf + pos + run, m) != zero) {
                break;
            }
            run += m;
        }
        if (!zero) {
            ret = lb_node_pwrite(p->dst, off + pos, buf + pos, run, 0);
        } else if (!p->zero_init) {
            ret = lb_node_pwrite_zeroes(p->dst, off + pos, run,
                                        LB_WRITE_MAY_UNMAP);
        }
        pos += run;
    }
    return ret;
}

static void copy_progress(Copy *c, uint64_t bytes)
{
    const LbCopyParams *p = c->p;

    if (p->job) {
        lb_job_add_progress(p->job, bytes);
    }
    g_mutex_lock(&c->lock);
    c->done += bytes;
    if (p->progress) {
        p->progress(p->opaque, c->done, p->size);
    }
    g_mutex_unlock(&c->lock);
}

static gpointer copy_worker(gpointer data)
{
    Copy *c = data;
    const LbCopyParams *p = c->p;
    g_autofree guint8 *buf = g_malloc(c->chunk);

    for (;;) {
        uint64_t off = (uint64_t)g_atomic_pointer_add(&c->next, 1) * c->chunk;
        if (off >= p->size || g_atomic_int_get(&c->error)) {
            break;
        }
        size_t len = MIN(c->chunk, p->size - off);
        int ret = copy_chunk(p, buf, off, len);
        if (ret == 0 && p->job && !lb_job_checkpoint(p->job, len)) {
            ret = -ECANCELED;
        }
        if (ret < 0) {
            g_atomic_int_compare_and_exchange(&c->error, 0, ret);
            break;
        }
        copy_progress(c, len);
    }
    return NULL;
}

int lb_copy_run(const LbCopyParams *p)
{
    Copy c = {.p = p, .chunk = p->chunk ? p->chunk : DEFAULT_CHUNK};
    uint64_t nchunks = (p->size + c.chunk - 1) / c.chunk;
    unsigned nthreads = (unsigned)MIN(MAX(p->threads, 1u), MAX(nchunks, 1));

    g_mutex_init(&c.lock);
    if (p->job) {
        lb_job_set_total(p->job, p->size);
    }
    copy_progress(&c, 0);
    g_autofree GThread **threads = g_new0(GThread *, nthreads);
    for (unsigned i = 0; i < nthreads; i++) {
        threads[i] = g_thread_new("lb-copy", copy_worker, &c);
    }
    for (unsigned i = 0; i < nthreads; i++) {
        g_thread_join(threads[i]);
    }
    g_mutex_clear(&c.lock);
    int ret = g_atomic_int_get(&c.error);
    return ret < 0 ? ret : lb_node_flush(p->dst);
}
