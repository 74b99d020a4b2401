/*
 * tools/img-convert.c: `luksblk-img convert`, as qemu-img convert:
 *
 *   convert [--object def] [--image-opts] [--target-image-opts] [-n] [-p]
 *           [-q] [-f fmt] [-O output_fmt] [-o options] [-S sparse_size]
 *           [-m num] [-t cache] [-T src_cache] [-U] filename output
 *
 * raw -> luks, luks -> raw and luks -> luks (a new key): the target is
 * created with lb_img_create() unless -n, then opened (a created luks
 * target with the -o key-secret) and filled by the block layer's copy
 * loop (lb_copy_run, block/copy.c) with -m threads; this file only parses
 * the arguments and prints.  Sparse-aware as qemu-img: a chunk whose
 * every -S sized block is zero is not written to a freshly created target
 * that reads as zeros (raw); on a luks target or with -n it becomes a
 * write_zeroes request, since unwritten ciphertext does not decrypt to
 * zeros.
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/copy.h"
#include "lb/opts.h"

/* What convert parses and prints; the copy itself is lb_copy_run(). */
typedef struct Convert {
    uint64_t sparse;          /* -S bytes, 0 = write every byte */
    bool zero_init;           /* target reads as zeros where not written */
    bool progress;
    int shown;                /* last progress shown, in 1/100 percent */
} Convert;

/* -p: called by the copy loop, serialised. */
static void convert_progress(void *opaque, uint64_t done, uint64_t total)
{
    Convert *c = opaque;
    int now = total ? (int)(done * 10000 / total) : 10000;

    if (c->progress && now / 100 != c->shown / 100) {
        printf("    (%d.%02d/100%%)\r", now / 100, now % 100);
        fflush(stdout);
        c->shown = now;
    }
}

/* Open a target we just created: luks needs its key-secret. */
static LbNode *convert_open_created(const char *out, const char *fmt,
                                    LbOpts *opts, unsigned flags)
{
    const char *secret = lb_opts_get_str(opts, "key-secret");

    if (!strcmp(fmt, "luks") && secret) {
        g_autoptr(LbOpts) o = lb_opts_new();
        g_autoptr(LbOpts) file = lb_opts_new();
        g_autoptr(GError) err = NULL;
        lb_opts_set_str(o, "driver", "luks");
        lb_opts_set_str(file, "driver", "file");
        lb_opts_set_str(file, "filename", out);
        lb_opts_set_child(o, "file", file);
        lb_opts_set_str(o, "key-secret", secret);
        LbNode *bs = lb_node_open(o, flags, &err);
        if (!bs) {
            img_error("Could not open '%s': %s", out, err->message);
        }
        return bs;
    }
    return img_open(out, fmt, false, flags);
}

int img_convert(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "target-image-opts", no_argument, NULL, IMG_OPT_TARGET_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GString) optstr = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    ImgArgs a = { .cmd = "convert" };      /* the source */
    const char *out_fmt = "raw";
    bool target_opts = false, no_create = false;
    bool quiet = false;
    unsigned dst_flags = LB_OPEN_RDWR;
    uint64_t nthreads = 8;
    Convert c = { .sparse = 4096 };
    int ch, ret;

    while ((ch = getopt_long(argc, argv, "hf:O:o:npqS:m:Wt:T:cCU", longopts,
                             NULL)) != -1) {
        switch (ch) {
        case 'O': out_fmt = optarg; break;
        case 'o': img_append_opts(optstr, optarg); break;
        case 'n': no_create = true; break;
        case 'p': c.progress = true; break;
        case 'q': quiet = true; break;
        case 'S':
            if (!lb_parse_size(optarg, &c.sparse, NULL)) {
                img_error("Invalid buffer size for sparse output specified");
                return 1;
            }
            break;
        case 'm':
            nthreads = g_ascii_strtoull(optarg, NULL, 10);
            if (nthreads < 1 || nthreads > 16) {
                img_error("Invalid number of coroutines. Allowed number of "
                          "coroutines is between 1 and 16");
                return 1;
            }
            break;
        case 't':                   /* the target's cache mode */
            if (!img_parse_cache(optarg, &dst_flags)) {
                return 1;
            }
            break;
        case 'T':                   /* the source's */
            if (!img_parse_cache(optarg, &a.flags)) {
                return 1;
            }
            break;
        case 'c':
            img_error("Compression not supported for this file format");
            return 1;
        case 'W': case 'C': break;
        case IMG_OPT_TARGET_IMAGE_OPTS: target_opts = true; break;
        default:
            if ((ret = img_common_arg(ch, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    c.progress &= !quiet;
    if (argc - optind != 2) {
        return img_usage_error("convert", argc - optind < 2 ?
                               "Expecting image file name" :
                               "converting several images is not supported");
    }
    if (target_opts && !no_create) {
        img_error("--target-image-opts requires use of -n flag");
        return 1;
    }
    const char *src_name = argv[optind], *out = argv[optind + 1];

    g_autoptr(LbNode) src = img_open_args(src_name, &a);
    if (!src) {
        return 1;
    }
    int64_t size = lb_node_length(src);
    if (size < 0) {
        img_error("Could not get size of '%s': %s", src_name,
                  g_strerror((int)-size));
        return 1;
    }
    g_autoptr(LbOpts) opts = optstr->len ?
        lb_opts_parse_keyval(optstr->str, NULL, &err) : lb_opts_new();
    if (!opts) {
        img_error("Invalid options for file format '%s': %s", out_fmt,
                  err->message);
        return 1;
    }
    g_autoptr(LbNode) dst = NULL;
    if (no_create) {
        dst = img_open(out, target_opts ? NULL : out_fmt, target_opts,
                       dst_flags);
    } else {
        const char *dh = lb_opts_get_str(opts, "detached-header");
        if (dh && (!strcmp(dh, "true") || !strcmp(dh, "on"))) {
            img_error("a detached-header target needs -n: create the "
                      "header and payload first, then use "
                      "--target-image-opts");
            return 1;
        }
        g_autoptr(LbOpts) create_opts = lb_opts_dup(opts);
        if (!lb_img_create(out_fmt, out, size, create_opts, &err)) {
            /* qemu-img names the file once; the block layer did already. */
            g_autofree char *prefix = g_strdup_printf("%s: ", out);
            const char *msg = err->message;
            if (g_str_has_prefix(msg, prefix)) {
                msg += strlen(prefix);
            }
            img_error("%s: error while converting %s: %s", out, out_fmt, msg);
            return 1;
        }
        dst = convert_open_created(out, out_fmt, opts, dst_flags);
        c.zero_init = strcmp(lb_node_driver_name(dst), "luks") != 0;
    }
    if (!dst) {
        return 1;
    }
    int64_t dsize = lb_node_length(dst);
    if (dsize >= 0 && dsize < size) {
        img_error("Target image is smaller than the source (%" PRId64
                  " < %" PRId64 " bytes)", dsize, size);
        return 1;
    }

    c.shown = -100;
    LbCopyParams cp = {
        .src = src,
        .dst = dst,
        .size = (uint64_t)size,
        .sparse = c.sparse,
        .zero_init = c.zero_init,
        .threads = (unsigned)nthreads,
        .progress = convert_progress,
        .opaque = &c,
    };
    ret = lb_copy_run(&cp);
    if (c.progress) {
        printf("\n");
    }
    if (ret < 0) {
        img_error("error while %s: %s", "converting", g_strerror(-ret));
        return 1;
    }
    return 0;
}
