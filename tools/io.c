/*
 * tools/io.c: luksblk-io, the qemu-io of luksblk.
 *
 *   luksblk-io [--object def] [--image-opts] [-f fmt] [-r] [-n] [-t cache]
 *              [-U] [-c CMD]... [file]
 *
 * Opens one image (a path, a json: pseudo-filename, or with --image-opts a
 * keyval string) and runs qemu-io commands on it through ui/iocmds.c:
 * each -c in order, or, without -c, lines read at the "qemu-io> " prompt.
 * The exit status is 1 if any command failed (including a pattern
 * mismatch or a failed aio request), as scripts expect.
 */
#include "config.h"
#include "version.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/iocmds.h"
#include "lb/object.h"
#include "lb/opts.h"

enum {
    IO_OPT_OBJECT = 256,
    IO_OPT_IMAGE_OPTS,
};

static void io_help(void)
{
    printf("Usage: luksblk-io [OPTIONS]... [-c STRING]... [file]\n"
           "LUKS disk exerciser (qemu-io command line)\n\n"
           "  --object OBJECTDEF   define an object such as 'secret' for\n"
           "                       passwords and/or encryption keys\n"
           "  --image-opts         treat file as option string\n"
           "  -c, --cmd STRING     execute command with its arguments\n"
           "                       from the given string\n"
           "  -f, --format FMT     specifies the block driver to use\n"
           "  -r, --read-only      export read-only\n"
           "  -n, --nocache        disable host cache, short for -t none\n"
           "  -t, --cache=MODE     use the given cache mode for the image\n"
           "  -U, --force-share    force shared permissions\n"
           "  -h, --help           display this help and exit\n"
           "  -V, --version        output version information and exit\n\n"
           "See 'luksblk-io -c help' for information on available "
           "commands.\n");
}

static bool io_is_quit(const char *cmd)
{
    g_autofree char *s = g_strstrip(g_strdup(cmd));
    return !strcmp(s, "quit") || !strcmp(s, "q");
}

/* Run one command and print its output; returns false if it failed. */
static bool io_run_one(LbIoCmds *io, const char *cmd)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) err = g_string_new(NULL);
    int ret = lb_iocmds_run_err(io, cmd, false, out, err);

    /* qemu-io's stderr lines (an invalid option) come before its usage. */
    fputs(err->str, stderr);
    fputs(out->str, stdout);
    fflush(stdout);
    return ret == 0;
}

static bool io_interactive(LbIoCmds *io)
{
    bool ok = true;
    char line[4096];

    for (;;) {
        printf("qemu-io> ");
        fflush(stdout);
        if (!fgets(line, sizeof(line), stdin)) {
            break;
        }
        line[strcspn(line, "\n")] = '\0';
        if (io_is_quit(line)) {
            break;
        }
        ok &= io_run_one(io, line);
    }
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "snapshot", no_argument, NULL, 's' },
        { "nocache", no_argument, NULL, 'n' },
        { "copy-on-read", no_argument, NULL, 'C' },
        { "misalign", no_argument, NULL, 'm' },
        { "native-aio", no_argument, NULL, 'k' },
        { "aio", required_argument, NULL, 'i' },
        { "discard", required_argument, NULL, 'd' },
        { "cache", required_argument, NULL, 't' },
        { "trace", required_argument, NULL, 'T' },
        { "object", required_argument, NULL, IO_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IO_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();
    g_autoptr(GError) err = NULL;
    const char *fmt = NULL;
    bool image_opts = false, snapshot = false;
    unsigned flags = LB_OPEN_RDWR;
    bool ok = true;
    int c;

    /* Messages name the program as invoked (argv[0]), as qemu-io's do. */
    g_autofree char *base = g_path_get_basename(argv[0]);
    g_set_prgname(base);
    while ((c = getopt_long(argc, argv, "c:d:f:hi:kmnrsCt:T:UV", longopts,
                            NULL)) != -1) {
        switch (c) {
        case 'h':
            io_help();
            return 0;
        case 'V':
            lb_tool_print_version("luksblk-io");
            return 0;
        case 'c': g_ptr_array_add(cmds, optarg); break;
        case 'f': fmt = optarg; break;
        case 'r': flags &= ~LB_OPEN_RDWR; break;
        case 'n': flags |= LB_OPEN_NOCACHE; break;
        case 'U': flags |= LB_OPEN_NO_LOCK; break;
        case 't':
            if (!lb_parse_cache_mode(optarg, &flags, &err)) {
                fprintf(stderr, "%s: %s\n", g_get_prgname(), err->message);
                return 1;
            }
            break;
        case 's': snapshot = true; break;
        case 'C': case 'm': case 'k': case 'i': case 'd': case 'T':
            break;                   /* accepted for compatibility */
        case IO_OPT_IMAGE_OPTS: image_opts = true; break;
        case IO_OPT_OBJECT:
            ok = lb_object_add_keyval(optarg, &err);
            /* An argv string: take the passphrase out of it for good. */
            lb_opts_scrub_arg(optarg);
            if (!ok) {
                fprintf(stderr, "%s: %s\n", g_get_prgname(), err->message);
                return 1;
            }
            break;
        default:
            fprintf(stderr, "Try '%s --help' for more info\n", g_get_prgname());
            return 1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s: %s\n", g_get_prgname(), optind >= argc ?
                "no image file given" : "too many arguments");
        fprintf(stderr, "Try '%s --help' for more info\n", g_get_prgname());
        return 1;
    }

    /* -s: the image read-only under a temporary overlay that takes the
     * writes (block/snapshot.c), so nothing ever reaches the image. */
    LbNode *bs = lb_node_open_image(argv[optind], fmt, image_opts,
                                    snapshot ? flags & ~LB_OPEN_RDWR : flags,
                                    &err);
    if (bs && snapshot) {
        g_autoptr(LbOpts) sopts = lb_opts_new();
        lb_opts_set_str(sopts, "driver", "snapshot");
        lb_opts_set_str(sopts, "file", lb_node_name(bs));
        LbNode *top = lb_node_open(sopts, flags, &err);
        lb_node_unref(bs);
        bs = top;
    }
    if (!bs) {
        /* qemu-io names the device only when it is a file name. */
        fprintf(stderr, "%s: can't open%s%s: %s\n", g_get_prgname(),
                image_opts ? "" : " device ", image_opts ? "" : argv[optind],
                err->message);
        return 1;
    }
    LbIoCmds *io = lb_iocmds_new(bs);
    lb_node_unref(bs);
    g_autofree char *prefix = g_strdup_printf("%s: ", g_get_prgname());
    lb_iocmds_set_error_prefix(io, prefix);

    if (cmds->len == 0) {
        ok = io_interactive(io);
    }
    for (guint i = 0; i < cmds->len; i++) {
        if (io_is_quit(cmds->pdata[i])) {
            break;
        }
        ok &= io_run_one(io, cmds->pdata[i]);
    }
    g_autoptr(GString) out = g_string_new(NULL);
    ok &= lb_iocmds_drain(io, out) == 0;
    fputs(out->str, stdout);
    lb_iocmds_free(io);
    lb_nodes_close_all();
    lb_objects_clear();
    return ok ? 0 : 1;
}
