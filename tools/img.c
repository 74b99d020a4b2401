/*
 * tools/img.c: luksblk-img, the qemu-img of luksblk: subcommand dispatch
 * and the helpers every subcommand shares (the options they have in
 * common, objects, opening the image argument, error and usage lines as
 * qemu-img prints them, human sizes).
 *
 *   luksblk-img create --object secret,id=sec0,data=abc123 -f luks \
 *       -o key-secret=sec0,detached-header=true,iter-time=100 hdr.img
 *   luksblk-img info [--output=json] hdr.img
 */
#include "config.h"
#include "img.h"
#include "version.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/object.h"

typedef struct ImgCmd {
    const char *name;
    int (*func)(int argc, char **argv);
    const char *synopsis;
} ImgCmd;

static const ImgCmd img_cmds[] = {
    { "amend", img_amend,
      "amend [--object objectdef] [--image-opts] [-f fmt] [--force] "
      "-o options filename" },
    { "bench", img_bench,
      "bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval]"
      " [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q]"
      " [-s buffer_size] [-S step_size] [-t cache] [-w] [-U]"
      " [--object objectdef] [--image-opts] filename" },
    { "check", img_check,
      "check [--object objectdef] [--image-opts] [-q] [-f fmt] "
      "[--output=ofmt] [-U] filename" },
    { "compare", img_compare,
      "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-p] "
      "[-q] [-s] [-U] filename1 filename2" },
    { "convert", img_convert,
      "convert [--object objectdef] [--image-opts] [--target-image-opts] "
      "[-n] [-p] [-q] [-f fmt] [-O output_fmt] [-o options] [-S size] "
      "[-m num] [-W] filename output_filename" },
    { "create", img_create,
      "create [--object objectdef] [-q] [-f fmt] [-o options] "
      "filename [size]" },
    { "header-attach", img_header_attach,
      "header-attach [-y] [--force] image header" },
    { "header-backup", img_header_backup,
      "header-backup [-y] image backup" },
    { "header-detach", img_header_detach,
      "header-detach [-y] image header" },
    { "header-restore", img_header_restore,
      "header-restore [-y] [--force] image backup" },
    { "info", img_info,
      "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] "
      "[-U] filename" },
    { "luksHeaderBackup", img_header_backup,
      "luksHeaderBackup --header-backup-file backup image" },
    { "luksHeaderRestore", img_header_restore,
      "luksHeaderRestore [--force] --header-backup-file backup image" },
    { "measure", img_measure,
      "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | "
      "[--object objectdef] [--image-opts] [-f fmt] filename]" },
    { "reencrypt", img_reencrypt,
      "reencrypt [--object objectdef] --key-secret id [--new-key-secret id] "
      "[--encrypt | --decrypt] [--header hdr] [--cipher spec] "
      "[--key-size bits] [--sector-size n] [--resilience mode] "
      "[--hotzone-size size] [--reduce-device-size size] [--iter-time ms] "
      "[--init-only | --resume-only | --repair] [-p] [-q] device" },
    { "resize", img_resize,
      "resize [--object objectdef] [--image-opts] [-f fmt] "
      "[--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size" },
};

void img_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", g_get_prgname(), msg);
}

int img_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", g_get_prgname(), msg);
    fprintf(stderr, "Try '%s %s%s--help' for more info\n", g_get_prgname(),
            cmd ? cmd : "", cmd ? " " : "");
    return 1;
}

bool img_add_object(const char *spec)
{
    g_autoptr(GError) err = NULL;
    bool ok = lb_object_add_keyval(spec, &err);

    /* @spec is an argv string: take a passphrase out of it for good (it
     * shows in /proc/PID/cmdline and stays on the stack otherwise). */
    lb_opts_scrub_arg((char *)spec);
    if (!ok) {
        img_error("%s", err->message);
    }
    return ok;
}

LbNode *img_open(const char *filename, const char *fmt, bool image_opts,
                 unsigned flags)
{
    g_autoptr(GError) err = NULL;
    LbNode *bs = lb_node_open_image(filename, fmt, image_opts, flags, &err);

    if (!bs) {
        img_error("Could not open '%s': %s", filename, err->message);
    }
    return bs;
}

bool img_parse_cache(const char *mode, unsigned *flags)
{
    g_autoptr(GError) err = NULL;

    if (!lb_parse_cache_mode(mode, flags, &err)) {
        img_error("%s", err->message);
        return false;
    }
    return true;
}

static const ImgCmd *img_find_cmd(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(img_cmds); i++) {
        if (!strcmp(name, img_cmds[i].name)) {
            return &img_cmds[i];
        }
    }
    return NULL;
}

int img_common_arg(int c, const char *arg, ImgArgs *a)
{
    switch (c) {
    case 'h':
        printf("usage: luksblk-img %s\n", img_find_cmd(a->cmd)->synopsis);
        return 0;
    case 'f':
        a->fmt = arg;
        break;
    case 'U':
        a->flags |= LB_OPEN_NO_LOCK;
        break;
    case 't':
        if (!img_parse_cache(arg, &a->flags)) {
            return 1;
        }
        break;
    case IMG_OPT_IMAGE_OPTS:
        a->image_opts = true;
        break;
    case IMG_OPT_OBJECT:
        if (!img_add_object(arg)) {
            return 1;
        }
        break;
    case IMG_OPT_OUTPUT:
        if (strcmp(arg, "human") && strcmp(arg, "json")) {
            return img_usage_error(a->cmd, "--output expects 'human' or "
                                   "'json' not '%s'", arg);
        }
        a->json = !strcmp(arg, "json");
        break;
    default:
        /* getopt said what was wrong, as "luksblk-img CMD: ..." */
        fprintf(stderr, "Try 'luksblk-img %s --help' for more info\n",
                a->cmd);
        return 1;
    }
    return IMG_ARG_CONTINUE;
}

const char *img_one_file(const ImgArgs *a, int argc, char **argv)
{
    if (optind != argc - 1) {
        img_usage_error(a->cmd, "Expecting one image file name");
        return NULL;
    }
    return argv[optind];
}

LbNode *img_open_args(const char *filename, const ImgArgs *a)
{
    return img_open(filename, a->fmt, a->image_opts, a->flags);
}

void img_append_opts(GString *optstr, const char *arg)
{
    if (optstr->len) {
        g_string_append_c(optstr, ',');
    }
    g_string_append(optstr, arg);
}

int64_t img_length(LbNode *bs)
{
    int64_t len = lb_node_length(bs);

    if (len < 0) {
        img_error("Could not get image size: %s", g_strerror((int)-len));
        return -1;
    }
    return len;
}

char *img_size_to_str(uint64_t bytes)
{
    static const char *const suffixes[] = {
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    };
    unsigned i = 0;
    double v = (double)bytes;

    /* A unit is used from 1000 of the previous one on, so that the value
     * never needs four digits before the point ("0.977 MiB"). */
    while (i + 1 < G_N_ELEMENTS(suffixes) && v >= 1000.0) {
        v /= 1024.0;
        i++;
    }
    return g_strdup_printf("%0.3g %sB", v, suffixes[i]);
}

static void img_help(void)
{
    printf("luksblk-img version " LB_VERSION "\n"
           "usage: luksblk-img [standard options] command [command options]\n"
           "LUKS disk image utility (qemu-img command line)\n\n"
           "Command syntax:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(img_cmds); i++) {
        printf("  %s\n", img_cmds[i].synopsis);
    }
}

int main(int argc, char **argv)
{
    /* Messages name the program as invoked (argv[0]), as qemu-img's do. */
    g_autofree char *base = g_path_get_basename(argv[0]);
    g_set_prgname(base);
    if (argc < 2) {
        return img_usage_error(NULL, "Not enough arguments");
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        img_help();
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        lb_tool_print_version("luksblk-img");
        return 0;
    }
    const ImgCmd *cmd = img_find_cmd(argv[1]);
    if (!cmd) {
        return img_usage_error(NULL, "Command not found: %s", argv[1]);
    }
    /* getopt's messages then start "luksblk-img CMD: ", as qemu-img's. */
    g_autofree char *prog = g_strdup_printf("%s %s", base, cmd->name);
    argv[1] = prog;
    int ret = cmd->func(argc - 1, argv + 1);
    lb_nodes_close_all();
    lb_objects_clear();
    return ret;
}
