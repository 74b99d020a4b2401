/*
 * tools/img-ops.c: `luksblk-img amend`, `resize` and `check`, as qemu-img:
 *
 *   amend [--object def] [--image-opts] [-f fmt] [-q] [--force] -o options
 *         filename
 *   resize [--object def] [--image-opts] [-f fmt] [--preallocation=mode]
 *          [-q] [--shrink] filename [+|-]size
 *   check [--object def] [--image-opts] [-q] [-f fmt] [--output=ofmt] [-U]
 *         filename
 *
 * amend takes QEMU's luks amend options (state=active,new-secret=ID
 * [,keyslot=N][,iter-time=MS] | state=inactive,old-secret=ID|keyslot=N)
 * and hands them to lb_node_amend(), which refuses to remove the last
 * passphrase without --force.  check validates the header (opened without
 * keys) and exits as qemu-img check does: 0 clean, 2 corrupt, 1 when the
 * check itself could not run, 63 for formats without checks.
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/luks.h"
#include "lb/opts.h"

static const struct {
    const char *name, *type, *help;
} amend_luks_opts[] = {
    { "iter-time", "num", "Time to spend in PBKDF in milliseconds" },
    { "keyslot", "num", "Select a single keyslot to modify explicitly" },
    { "new-secret", "str",
      "New secret to set in the matching keyslots. Empty string to erase" },
    { "old-secret", "str", "Select all keyslots that match this password" },
    { "state", "str",
      "Select new state of affected keyslots (active/inactive)" },
};

int img_amend(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "force", no_argument, NULL, IMG_OPT_FORCE },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GString) optstr = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    ImgArgs a = { .cmd = "amend", .flags = LB_OPEN_RDWR };
    bool force = false;
    int c, ret;

    while ((c = getopt_long(argc, argv, "ho:f:t:pq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': img_append_opts(optstr, optarg); break;
        case 'p': case 'q': break;
        case IMG_OPT_FORCE: force = true; break;
        default:
            if ((ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    if (!optstr->len) {
        return img_usage_error("amend", "Must specify options (-o)");
    }
    if (!strcmp(optstr->str, "help") || !strcmp(optstr->str, "?")) {
        printf("Amend options for 'luks':\n");
        for (size_t i = 0; i < G_N_ELEMENTS(amend_luks_opts); i++) {
            g_autofree char *l = g_strdup_printf("%s=<%s>",
                                                 amend_luks_opts[i].name,
                                                 amend_luks_opts[i].type);
            printf("  %-22s - %s\n", l, amend_luks_opts[i].help);
        }
        return 0;
    }
    const char *name = img_one_file(&a, argc, argv);
    if (!name) {
        return 1;
    }
    g_autoptr(LbOpts) opts = lb_opts_parse_keyval(optstr->str, NULL, &err);
    if (!opts) {
        img_error("Invalid options: %s", err->message);
        return 1;
    }
    g_autoptr(LbNode) bs = img_open_args(name, &a);
    if (!bs) {
        return 1;
    }
    if (!lb_node_amend(bs, opts, force, &err)) {
        img_error("%s", err->message); /* qemu-img: no prefix */
        return 1;
    }
    return 0;
}

int img_resize(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "preallocation", required_argument, NULL, IMG_OPT_PREALLOCATION },
        { "shrink", no_argument, NULL, IMG_OPT_SHRINK },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GError) err = NULL;
    ImgArgs a = { .cmd = "resize", .flags = LB_OPEN_RDWR };
    bool quiet = false, shrink = false;
    LbPrealloc prealloc = LB_PREALLOC_OFF;
    int c, ret;

    /* "-1M" is a size, not an option: stop getopt before it. */
    if (argc >= 2 && argv[argc - 1][0] == '-' &&
        g_ascii_isdigit(argv[argc - 1][1])) {
        argv[argc - 1][0] = '~';
    }
    while ((c = getopt_long(argc, argv, "hf:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case IMG_OPT_SHRINK: shrink = true; break;
        case IMG_OPT_PREALLOCATION:
            if (!lb_parse_prealloc(optarg, &prealloc, &err)) {
                img_error("%s", err->message);
                return 1;
            }
            break;
        default:
            if ((ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    if (optind != argc - 2) {
        return img_usage_error("resize", "Expecting image file name and "
                               "size");
    }
    const char *sz = argv[optind + 1];
    int sign = 0;
    uint64_t n;
    if (sz[0] == '+' || sz[0] == '~') {
        sign = sz[0] == '+' ? 1 : -1;
        sz++;
    }
    if (!lb_parse_size(sz, &n, NULL)) {
        img_error("Invalid image size specified: '%s'.", argv[optind + 1]);
        return 1;
    }

    g_autoptr(LbNode) bs = img_open_args(argv[optind], &a);
    if (!bs) {
        return 1;
    }
    int64_t cur = img_length(bs);
    if (cur < 0) {
        return 1;
    }
    uint64_t ucur = (uint64_t)cur;
    uint64_t size = sign > 0 ? ucur + n : sign < 0 ? ucur - MIN(n, ucur) : n;
    if (sign < 0 && n > (uint64_t)cur) {
        img_error("New image size must be positive");
        return 1;
    }
    if (size < (uint64_t)cur && !shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        return 1;
    }
    if (!lb_node_truncate(bs, size, prealloc, &err)) {
        img_error("%s", err->message);
        return 1;
    }
    if (!quiet) {
        printf("Image resized.\n");
    }
    return 0;
}

int img_check(int argc, char **argv)
{
    static const struct option longopts[] = {
        IMG_LONGOPTS_COMMON,
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GError) err = NULL;
    ImgArgs a = { .cmd = "check", .flags = LB_OPEN_NO_KEYS };
    bool quiet = false;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:qr:T:U", longopts, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = true; break;
        case 'r': case 'T': break;
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
    LbNode *bs = lb_node_open_image(name, a.fmt, a.image_opts, a.flags, &err);
    bool corrupt = false;
    if (!bs) {
        if (g_error_matches(err, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT)) {
            corrupt = true;
        } else {
            img_error("Could not open '%s': %s", name, err->message);
            return 1;
        }
    } else if (strcmp(lb_node_driver_name(bs), "luks")) {
        lb_node_unref(bs);
        img_error("This image format does not support checks");
        return 63;
    }
    if (a.json) {
        printf("{\n    \"filename\": \"%s\",\n    \"format\": \"luks\",\n"
               "    \"check-errors\": %d,\n    \"corruptions\": %d\n}\n",
               name, 0, corrupt ? 1 : 0);
    } else if (!quiet) {
        if (corrupt) {
            printf("ERROR header: %s\n\n1 errors were found on the image.\n"
                   "Data may be corrupted, or further writes to the image "
                   "may corrupt it.\n", err->message);
        } else {
            printf("No errors were found on the image.\n");
        }
    }
    if (bs) {
        lb_node_unref(bs);
    }
    return corrupt ? 2 : 0;
}
