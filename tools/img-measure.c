/*
 * tools/img-measure.c: `luksblk-img measure`, qemu-img's measure:
 *
 *   measure [--output=ofmt] [-O output_fmt] [-o options] [--size N |
 *           [--object objectdef] [--image-opts] [-f fmt] filename]
 *
 * prints the size a new image would need, for a given size or the virtual
 * size of an existing image:
 *
 *   required size: 1075810304
 *   fully allocated size: 1075810304
 *
 * (JSON with --output=json).  The block layer computes it
 * (lb_img_measure); this file only parses and prints.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "img.h"
#include "lb/block.h"
#include "lb/opts.h"

enum { MEASURE_OPT_SIZE = 512 };

int img_measure(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "size", required_argument, NULL, MEASURE_OPT_SIZE },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GString) optstr = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    ImgArgs a = { .cmd = "measure", .flags = 0 };
    const char *out_fmt = "raw", *size_arg = NULL;
    uint64_t size = 0, required = 0;
    int c, ret;

    while ((c = getopt_long(argc, argv, "f:ho:O:l:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            img_append_opts(optstr, optarg);
            break;
        case 'O':
            out_fmt = optarg;
            break;
        case 'l':
            img_error("snapshots are not supported");
            return 1;
        case MEASURE_OPT_SIZE:
            size_arg = optarg;
            break;
        default:
            if ((ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    if (size_arg && optind < argc) {
        img_error("--size N cannot be used together with a filename");
        return 1;
    }
    if (!size_arg && optind >= argc) {
        img_error("Either --size N or one filename must be specified.");
        return 1;
    }
    if (size_arg) {
        if (!lb_parse_size(size_arg, &size, NULL)) {
            img_error("Invalid image size specified. Must be between 0 and "
                      "9223372036854775807.");
            return 1;
        }
    } else {
        const char *filename = img_one_file(&a, argc, argv);
        if (!filename) {
            return 1;
        }
        g_autoptr(LbNode) in = img_open_args(filename, &a);
        if (!in) {
            return 1;
        }
        int64_t len = img_length(in);
        if (len < 0) {
            return 1;
        }
        size = (uint64_t)len;
    }
    g_autoptr(LbOpts) opts = optstr->len
                                 ? lb_opts_parse_keyval(optstr->str, NULL, &err)
                                 : lb_opts_new();
    if (!opts) {
        img_error("Invalid options for file format '%s': %s", out_fmt,
                  err->message);
        return 1;
    }
    /* Preallocation changes nothing: a luks payload is all allocated. */
    lb_opts_remove(opts, "preallocation");
    if (!lb_img_measure(out_fmt, size, opts, &required, &err)) {
        img_error("%s", err->message);
        return 1;
    }
    if (a.json) {
        printf("{\n    \"required\": %" PRIu64 ",\n"
               "    \"fully-allocated\": %" PRIu64 "\n}\n",
               required, required);
    } else {
        printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64
               "\n", required, required);
    }
    return 0;
}
