/*
 * tools/img-compare.c: `luksblk-img compare`, as qemu-img compare:
 *
 *   compare [--object def] [--image-opts] [-f fmt] [-F fmt] [-p] [-q] [-s]
 *           [-U] filename1 filename2
 *
 * Compares the guest-visible contents (so a LUKS volume against the raw
 * image it was converted from).  Exit status as qemu-img: 0 identical,
 * 1 different, 2 an image could not be opened, 4 a read failed.  A size
 * difference is allowed when the extra part reads as zeros, except with
 * -s (strict).  A mismatch is reported at 512-byte granularity, as QEMU
 * does ("Content mismatch at offset 512!" for a difference at byte 1000).
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"

#define COMPARE_CHUNK (1024 * 1024)
#define COMPARE_SECTOR 512

static void compare_progress(bool on, uint64_t done, uint64_t total)
{
    if (on) {
        unsigned p = total ? (unsigned)(done * 10000 / total) : 10000;
        printf("    (%u.%02u/100%%)\r", p / 100, p % 100);
        fflush(stdout);
    }
}

/* First differing sector offset within @len bytes, or -1. */
static int64_t compare_bufs(const guint8 *a, const guint8 *b, size_t len)
{
    for (size_t s = 0; s < len; s += COMPARE_SECTOR) {
        size_t n = MIN(COMPARE_SECTOR, len - s);
        if (memcmp(a + s, b + s, n) != 0) {
            return (int64_t)s;
        }
    }
    return -1;
}

static int64_t compare_zero(const guint8 *a, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (a[i]) {
            return (int64_t)(i - i % COMPARE_SECTOR);
        }
    }
    return -1;
}

int img_compare(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    ImgArgs args = { .cmd = "compare" };
    const char *fmt2 = NULL;
    bool progress = false, quiet = false, strict = false;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:F:T:pqsU", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'F': fmt2 = optarg; break;
        case 'T': break;
        case 'p': progress = true; break;
        case 'q': quiet = true; break;
        case 's': strict = true; break;
        case IMG_OPT_OBJECT:        /* qemu-img compare exits 2 for this */
            if (!img_add_object(optarg)) {
                return 2;
            }
            break;
        default:
            if ((ret = img_common_arg(c, optarg, &args)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    progress &= !quiet;
    if (argc - optind != 2) {
        return img_usage_error("compare", "Expecting two image file names");
    }
    const char *n1 = argv[optind], *n2 = argv[optind + 1];
    g_autoptr(LbNode) a = img_open_args(n1, &args);
    if (!a) {
        return 2;
    }
    g_autoptr(LbNode) b = img_open(n2, fmt2, args.image_opts, args.flags);
    if (!b) {
        return 2;
    }
    int64_t la = lb_node_length(a), lb = lb_node_length(b);
    if (la < 0 || lb < 0) {
        img_error("Can't get size of %s: %s", la < 0 ? n1 : n2,
                  g_strerror((int)-(la < 0 ? la : lb)));
        return 4;
    }
    if (la != lb && strict) {
        if (!quiet) {
            printf("Strict mode: Image size mismatch!\n");
        }
        return 1;
    }

    g_autofree guint8 *ba = g_malloc(COMPARE_CHUNK);
    g_autofree guint8 *bb = g_malloc(COMPARE_CHUNK);
    uint64_t common = (uint64_t)MIN(la, lb), total = (uint64_t)MAX(la, lb);
    LbNode *longer = la > lb ? a : b;
    compare_progress(progress, 0, total);
    for (uint64_t off = 0, n; off < total; off += n) {
        /* Chunks stop at the end of the common part. */
        n = MIN(COMPARE_CHUNK, (off < common ? common : total) - off);
        int64_t diff;
        int ret;

        /* As QEMU: the size warning comes once the common part matched,
         * before the longer image's tail is checked for zeros. */
        if (off == common && la != lb && !quiet) {
            printf("Warning: Image size mismatch!\n");
        }
        if (off < common) {
            ret = lb_node_pread(a, off, ba, n);
            if (ret == 0) {
                ret = lb_node_pread(b, off, bb, n);
            }
            diff = ret < 0 ? -1 : compare_bufs(ba, bb, n);
        } else {
            ret = lb_node_pread(longer, off, ba, n);
            diff = ret < 0 ? -1 : compare_zero(ba, n);
        }
        if (ret < 0) {
            img_error("Error while reading offset %" PRIu64 ": %s", off,
                      g_strerror(-ret));
            return 4;
        }
        if (diff >= 0) {
            if (progress) {
                printf("\n");
            }
            if (!quiet) {
                printf("Content mismatch at offset %" PRIu64 "!\n",
                       off + (uint64_t)diff);
            }
            return 1;
        }
        compare_progress(progress, off + n, total);
    }
    if (progress) {
        printf("\n");
    }
    if (!quiet) {
        printf("Images are identical.\n");
    }
    return 0;
}
