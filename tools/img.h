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
/* -t cache mode -> LB_OPEN_NOCACHE or 0; false on an unknown mode. */
bool img_parse_cache(const char *mode, unsigned *flags);
/* qemu's size_to_str: "64 MiB", "1.97 GiB", "512 B" (transfer full). */
char *img_size_to_str(uint64_t bytes);

int img_create(int argc, char **argv);
int img_info(int argc, char **argv);
int img_bench(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_amend(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_check(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_header_backup(int argc, char **argv);
int img_header_restore(int argc, char **argv);
int img_header_detach(int argc, char **argv);
int img_header_attach(int argc, char **argv);

#endif /* LB_TOOLS_IMG_H */
