/*
 * tools/img-create.c: `luksblk-img create`, as qemu-img create:
 *
 *   create [--object objectdef] [-q] [-f fmt] [-o options] filename [size]
 *
 * -o options (repeatable, merged) are handed to the block layer's
 * lb_img_create() untouched; this file only prints qemu-img's
 * "Formatting 'F', fmt=luks size=N key=value..." line and `-o help`.
 * With -o detached-header=true the filename is the header file and no size
 * is needed: no payload is written.
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/opts.h"

typedef struct CreateOpt {
    const char *name;
    const char *type;
    const char *help;
} CreateOpt;

/* qemu-img's option list for luks plus the LUKS2 options luksblk adds. */
static const CreateOpt luks_opts[] = {
    { "key-secret", "str",
      "ID of the secret that provides the keyslot passphrase" },
    { "cipher-alg", "str", "Name of encryption cipher algorithm" },
    { "cipher-mode", "str", "Name of encryption cipher mode" },
    { "ivgen-alg", "str", "Name of IV generator algorithm" },
    { "ivgen-hash-alg", "str", "Name of IV generator hash algorithm" },
    { "hash-alg", "str", "Name of encryption hash algorithm" },
    { "iter-time", "num", "Time to spend in PBKDF in milliseconds" },
    { "detached-header", "bool (on/off)", "Create a detached LUKS header" },
    { "preallocation", "str",
      "Preallocation mode (allowed values: off, falloc, full)" },
    { "luks-version", "num", "LUKS format version (1 or 2, default 1)" },
    { "sector-size", "num", "LUKS2 encryption sector size (512 to 4096)" },
    { "pbkdf", "str", "LUKS2 keyslot PBKDF (argon2id, argon2i, pbkdf2)" },
    { "pbkdf-memory", "num", "LUKS2 argon2 memory cost in KiB" },
    { "pbkdf-parallel", "num", "LUKS2 argon2 parallel threads" },
    { "label", "str", "LUKS2 label" },
    { "size", "size", "Virtual disk size" },
};

static const CreateOpt raw_opts[] = {
    { "preallocation", "str",
      "Preallocation mode (allowed values: off, falloc, full)" },
    { "size", "size", "Virtual disk size" },
};

static const CreateOpt *create_opts_for(const char *fmt, size_t *n)
{
    if (!strcmp(fmt, "luks")) {
        *n = G_N_ELEMENTS(luks_opts);
        return luks_opts;
    }
    if (!strcmp(fmt, "raw")) {
        *n = G_N_ELEMENTS(raw_opts);
        return raw_opts;
    }
    return NULL;
}

static int create_opt_cmp(const void *a, const void *b)
{
    const CreateOpt *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int create_help(const char *fmt)
{
    size_t n = 0;
    const CreateOpt *opts = create_opts_for(fmt, &n);

    if (!opts) {
        img_error("Unknown file format '%s'", fmt);
        return 1;
    }
    /* qemu-img lists the options sorted by name. */
    g_autofree const CreateOpt **sorted = g_new(const CreateOpt *, n);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = &opts[i];
    }
    qsort(sorted, n, sizeof(*sorted), create_opt_cmp);
    printf("Supported %s options:\n", fmt);
    for (size_t i = 0; i < n; i++) {
        g_autofree char *left = g_strdup_printf("%s=<%s>", sorted[i]->name,
                                                sorted[i]->type);
        printf("  %-22s - %s\n", left, sorted[i]->help);
    }
    printf("\nThe protocol level may support further options.\n"
           "Specify the target filename to include those options.\n");
    return 0;
}

/* Whether the -o string asks for help ("help", "?", or a help key). */
static bool create_wants_help(const char *o)
{
    g_auto(GStrv) parts = g_strsplit(o, ",", -1);

    for (char **p = parts; *p; p++) {
        if (!strcmp(*p, "help") || !strcmp(*p, "?")) {
            return true;
        }
    }
    return false;
}

/* "Formatting 'F', fmt=luks size=N k=v ..." in the format's option order. */
static void create_print(const char *filename, const char *fmt,
                         int64_t size, LbOpts *opts)
{
    g_autoptr(GString) line = g_string_new(NULL);
    g_autoptr(GList) keys = lb_opts_keys(opts);
    size_t n = 0;
    const CreateOpt *known = create_opts_for(fmt, &n);

    g_string_printf(line, "Formatting '%s', fmt=%s size=%" G_GINT64_FORMAT,
                    filename, fmt, size);
    for (size_t i = 0; known && i < n; i++) {
        const char *v = lb_opts_get_str(opts, known[i].name);
        if (v && strcmp(known[i].name, "size")) {
            g_string_append_printf(line, " %s=%s", known[i].name, v);
        }
    }
    for (GList *l = keys; l; l = l->next) {
        bool listed = false;
        for (size_t i = 0; known && i < n; i++) {
            listed |= !strcmp(known[i].name, l->data);
        }
        const char *v = lb_opts_get_str(opts, l->data);
        if (!listed && v) {
            g_string_append_printf(line, " %s=%s", (char *)l->data, v);
        }
    }
    printf("%s\n", line->str);
    fflush(stdout);
}

/* A detached LUKS header needs no size: no payload is written. */
static bool create_is_detached(const char *fmt, LbOpts *opts)
{
    const char *v = lb_opts_get_str(opts, "detached-header");

    return !strcmp(fmt, "luks") && v &&
           (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes"));
}

int img_create(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "format", required_argument, NULL, 'f' },
        { "options", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GString) optstr = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) opts = NULL;
    ImgArgs a = { .cmd = "create" };
    const char *filename;
    bool quiet = false;
    uint64_t size = 0;
    bool have_size = false;
    int c, ret;

    while ((c = getopt_long(argc, argv, "F:b:f:ho:quq", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'o':
            img_append_opts(optstr, optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'b': case 'F':
            img_error("backing files are not supported");
            return 1;
        case 'u':
            break;
        default:
            if ((ret = img_common_arg(c, optarg, &a)) != IMG_ARG_CONTINUE) {
                return ret;
            }
        }
    }
    const char *fmt = a.fmt ? a.fmt : "raw";
    if (optstr->len && create_wants_help(optstr->str)) {
        return create_help(fmt);
    }
    if (optind >= argc) {
        return img_usage_error("create", "Expecting image file name");
    }
    filename = argv[optind++];
    if (optind < argc) {
        if (!lb_parse_size(argv[optind], &size, NULL)) {
            img_error("Invalid image size specified: '%s'.", argv[optind]);
            return 1;
        }
        have_size = true;
        optind++;
    }
    if (optind < argc) {
        return img_usage_error("create", "Unexpected argument: %s",
                               argv[optind]);
    }

    opts = optstr->len ? lb_opts_parse_keyval(optstr->str, NULL, &err)
                       : lb_opts_new();
    if (!opts) {
        img_error("Invalid options for file format '%s': %s", fmt,
                  err->message);
        return 1;
    }
    if (lb_opts_has(opts, "size")) {
        if (!lb_opts_get_size(opts, "size", 0, &size, &err)) {
            img_error("%s: %s", filename, err->message);
            return 1;
        }
        lb_opts_remove(opts, "size");
        have_size = true;
    }
    if (!have_size && !create_is_detached(fmt, opts)) {
        img_error("%s: Image creation needs a size parameter", filename);
        return 1;
    }
    if (!quiet) {
        create_print(filename, fmt, have_size ? (int64_t)size : -1, opts);
    }
    if (!lb_img_create(fmt, filename, size, opts, &err)) {
        /* qemu-img's "FILE: message"; the block layer may name it already. */
        g_autofree char *prefix = g_strdup_printf("%s: ", filename);
        if (g_str_has_prefix(err->message, prefix)) {
            img_error("%s", err->message);
        } else {
            img_error("%s%s", prefix, err->message);
        }
        return 1;
    }
    return 0;
}
