/*
 * tools/img-bench.c: `luksblk-img bench`, as qemu-img bench:
 *
 *   bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-n]
 *         [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s size]
 *         [-S step] [-t cache] [-w] [-U] [--object def] [--image-opts] file
 *
 * Unlike qemu-img bench it accepts --object, so an encrypted image can be
 * measured.  The depth is the number of requests in flight: one thread per
 * slot, each taking the next request number from a shared counter, so the
 * node sees exactly @depth concurrent requests, as it would from an NBD
 * client with that queue depth.  Request i goes to
 *   offset + i * step   wrapped modulo (image size - request size),
 * which is where qemu-img bench sends it.
 */
#include "config.h"
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/opts.h"

typedef struct Bench {
    LbNode *bs;
    bool write;
    uint64_t count;
    size_t bufsize;
    uint64_t offset, step, image_size;
    uint64_t flush_interval;
    int pattern;
    gssize next;              /* atomic: next request number */
    gint error;               /* atomic: first -errno, 0 */
} Bench;

static uint64_t bench_offset(const Bench *b, uint64_t i)
{
    if (i == 0) {
        return b->offset;
    }
    if (b->image_size <= b->bufsize) {
        return 0;
    }
    return (b->offset + i * b->step) % (b->image_size - b->bufsize);
}

static gpointer bench_worker(gpointer data)
{
    Bench *b = data;
    g_autofree guint8 *buf = g_malloc(b->bufsize);

    memset(buf, b->pattern, b->bufsize);
    for (;;) {
        uint64_t i = (uint64_t)g_atomic_pointer_add(&b->next, 1);
        int ret;

        if (i >= b->count || g_atomic_int_get(&b->error)) {
            break;
        }
        if (b->write) {
            ret = lb_node_pwrite(b->bs, bench_offset(b, i), buf, b->bufsize,
                                 0);
        } else {
            ret = lb_node_pread(b->bs, bench_offset(b, i), buf, b->bufsize);
        }
        if (ret == 0 && b->flush_interval &&
            (i + 1) % b->flush_interval == 0) {
            ret = lb_node_flush(b->bs);
        }
        if (ret < 0) {
            g_atomic_int_compare_and_exchange(&b->error, 0, ret);
            break;
        }
    }
    return NULL;
}

static bool bench_num(const char *opt, const char *s, uint64_t *out,
                      bool size)
{
    g_autoptr(GError) err = NULL;
    char *end = NULL;

    if (size) {
        if (lb_parse_size(s, out, &err)) {
            return true;
        }
    } else {
        *out = g_ascii_strtoull(s, &end, 0);
        if (end != s && !*end && s[0] != '-') {
            return true;
        }
    }
    img_error("Invalid %s specified", opt);
    return false;
}

int img_bench(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "flush-interval", required_argument, NULL, IMG_OPT_FLUSH_INTERVAL },
        { "pattern", required_argument, NULL, IMG_OPT_PATTERN },
        { "no-drain", no_argument, NULL, IMG_OPT_NO_DRAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    Bench b = { .count = 75000, .bufsize = 4096 };
    ImgArgs a = { .cmd = "bench" };
    uint64_t depth = 64, v;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hc:d:f:ni:o:qs:S:t:wU", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'c':
            if (!bench_num("request count", optarg, &b.count, false) ||
                b.count > G_MAXINT) {
                return 1;
            }
            break;
        case 'd':
            if (!bench_num("queue depth", optarg, &depth, false) ||
                depth < 1 || depth > 4096) {
                img_error("Invalid queue depth specified");
                return 1;
            }
            break;
        case 'n': a.flags |= LB_OPEN_NOCACHE; break;
        case 'i': break;                        /* aio mode: threads only */
        case 'o':
            if (!bench_num("offset", optarg, &b.offset, true)) {
                return 1;
            }
            break;
        case 'q': break;
        case 's':
            if (!bench_num("buffer size", optarg, &v, true) || v == 0 ||
                v > G_MAXINT) {
                return 1;
            }
            b.bufsize = v;
            break;
        case 'S':
            if (!bench_num("step size", optarg, &b.step, true)) {
                return 1;
            }
            break;
        case 'w': b.write = true; break;
        case IMG_OPT_FLUSH_INTERVAL:
            if (!bench_num("flush interval", optarg, &b.flush_interval,
                           false)) {
                return 1;
            }
            break;
        case IMG_OPT_PATTERN:
            if (!bench_num("pattern byte", optarg, &v, false) || v > 255) {
                return 1;
            }
            b.pattern = (int)v;
            break;
        case IMG_OPT_NO_DRAIN: break;
        default:
            if ((ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    const char *name = img_one_file(&a, argc, argv);
    if (!name) {
        return 1;
    }
    if (b.flush_interval && b.flush_interval < depth) {
        img_error("Flush interval can't be smaller than depth");
        return 1;
    }
    if (b.flush_interval && !b.write) {
        img_error("--flush-interval is only available in write tests");
        return 1;
    }
    if (b.write) {
        a.flags |= LB_OPEN_RDWR;
    }
    if (b.step == 0) {
        b.step = b.bufsize;
    }

    g_autoptr(LbNode) bs = img_open_args(name, &a);
    if (!bs) {
        return 1;
    }
    int64_t len = img_length(bs);
    if (len < 0) {
        return 1;
    }
    b.bs = bs;
    b.image_size = len;

    printf("Sending %" PRIu64 " %s requests, %zu bytes each, %" PRIu64
           " in parallel (starting at offset %" PRIu64 ", step size %" PRIu64
           ")\n", b.count, b.write ? "write" : "read", b.bufsize, depth,
           b.offset, b.step);
    if (b.flush_interval) {
        printf("Sending flush every %" PRIu64 " requests\n",
               b.flush_interval);
    }
    fflush(stdout);

    gint64 t0 = g_get_monotonic_time();
    unsigned nthreads = (unsigned)MIN(depth, MAX(b.count, 1));
    g_autofree GThread **threads = g_new0(GThread *, nthreads);
    for (unsigned i = 0; i < nthreads; i++) {
        threads[i] = g_thread_new("bench", bench_worker, &b);
    }
    for (unsigned i = 0; i < nthreads; i++) {
        g_thread_join(threads[i]);
    }
    int err = g_atomic_int_get(&b.error);
    if (err == 0 && b.write && b.flush_interval) {
        err = lb_node_flush(bs);
    }
    gint64 t = g_get_monotonic_time() - t0;
    if (err < 0) {
        img_error("Failed request: %s", g_strerror(-err));
        return 1;
    }
    printf("Run completed in %3.3f seconds.\n", t / 1e6);
    return 0;
}
