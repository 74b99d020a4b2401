/*
 * tools/img.h: shared pieces of luksblk-img's subcommands.
 *
 * luksblk-img follows qemu-img's command line: `luksblk-img SUBCOMMAND
 * [options]`, each subcommand in a tools/img-*.c file with a
 * `int img_<name>(int argc, char **argv)` entry point returning the exit
 * status.  Everything beyond argument parsing and printing is done by the
 * block layer.
 */
#ifndef LB_TOOLS_IMG_H
#define LB_TOOLS_IMG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct LbNode LbNode;

/* Long-only options shared by the subcommands (qemu-img's names). */
enum {
    IMG_OPT_OBJECT = 256,
    IMG_OPT_IMAGE_OPTS,
    IMG_OPT_TARGET_IMAGE_OPTS,
    IMG_OPT_OUTPUT,
    IMG_OPT_PATTERN,
    IMG_OPT_FLUSH_INTERVAL,
    IMG_OPT_NO_DRAIN,
    IMG_OPT_FORCE,
    IMG_OPT_SHRINK,
    IMG_OPT_PREALLOCATION,
    IMG_OPT_BACKING_CHAIN,
};

/*
 * What the subcommands that open an image share: the subcommand's name
 * (for usage errors), -f, --image-opts, the LB_OPEN_* flags built from
 * their defaults plus -U and -t, and --output.
 */
typedef struct ImgArgs {
    const char *cmd;
    const char *fmt;
    bool image_opts;
    unsigned flags;
    bool json;                 /* --output=json */
} ImgArgs;

/* The long options of every subcommand that opens an image. */
#define IMG_LONGOPTS_COMMON                                                    \
    { "help", no_argument, NULL, 'h' },                                        \
    { "object", required_argument, NULL, IMG_OPT_OBJECT },                     \
    { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS }

/* img_common_arg() handled the option: go on parsing. */
#define IMG_ARG_CONTINUE (-1)

/*
 * img_common_arg: getopt's result @c (with @arg) when the subcommand does
 * not handle it itself: -h (usage), -f, -U, -t, --image-opts, --object,
 * --output into @a; anything else is an invalid option.
 * Returns: IMG_ARG_CONTINUE, or the exit status after usage (0) or an
 * error (1), both printed.
 */
int img_common_arg(int c, const char *arg, ImgArgs *a);
/* The single image file name argument, or NULL after a usage error. */
const char *img_one_file(const ImgArgs *a, int argc, char **argv);
/* Open @filename as @a says (see img_open()). */
LbNode *img_open_args(const char *filename, const ImgArgs *a);
/* Append a -o argument to @optstr, comma separated (qemu-img merges -o). */
void img_append_opts(GString *optstr, const char *arg);
/* The node's length, or -1 after "Could not get image size: ..." */
int64_t img_length(LbNode *bs);

/* Print "luksblk-img: MESSAGE" on stderr. */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* The "Try 'luksblk-img CMD --help'" hint after a usage error; returns 1. */
int img_usage_error(const char *cmd, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* --object: create the object or print the error; false on failure. */
bool img_add_object(const char *spec);
/*
 * Open the image argument: a filename (or json:) with optional format, or
 * with @image_opts a keyval string.  Prints "Could not open 'X': ..." and
 * returns NULL on failure.
 */
LbNode *img_open(const char *filename, const char *fmt, bool image_opts,
                 unsigned flags);
/* -t cache mode: LB_OPEN_NOCACHE added to *@flags or not; false (printed)
 * on an unknown mode. */
bool img_parse_cache(const char *mode, unsigned *flags);
/* qemu's size_to_str: "64 MiB", "1.97 GiB", "512 B" (transfer full). */
char *img_size_to_str(uint64_t bytes);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_amend(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_reencrypt(int argc, char **argv);
int img_check(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_header_backup(int argc, char **argv);
int img_header_restore(int argc, char **argv);
int img_header_detach(int argc, char **argv);
int img_header_attach(int argc, char **argv);

#endif /* LB_TOOLS_IMG_H */
