/*
 * ui/iocmds-priv.h: what the qemu-io command engine's files share:
 * ui/iocmds.c (parsing, synchronous commands, the public interface),
 * ui/iocmds-aio.c (aio_read/aio_write/aio_flush on a GThreadPool) and
 * ui/iocmds-dump.c (QEMU's output shapes).
 */
#ifndef LB_UI_IOCMDS_PRIV_H
#define LB_UI_IOCMDS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "lb/iocmds.h"

/* QEMU's BDRV_REQUEST_MAX_BYTES: INT_MAX rounded down to 512. */
#define IO_MAX_REQUEST 2147483136ULL
#define IO_AIO_THREADS 16

struct LbIoCmds {
    LbNode *node;
    GThreadPool *pool;
    GMutex lock;              /* protects everything below */
    GCond idle;
    unsigned inflight;
    GString *done;            /* output of completed aio requests */
    bool aio_failed;
    char *err_prefix;         /* before qemu-io's error_report() lines */
    GString *err;             /* the running command's error stream */
};

/* Parsed per-command flags (the union of what the commands accept). */
typedef struct IoFlags {
    bool cflag, fflag, qflag, uflag, vflag, zflag, nflag;
    bool pflag;
    int pattern;
    const char *pat_off, *pat_len;    /* read -s / -l */
    const char *prealloc;             /* truncate -m */
    int optind;
} IoFlags;

typedef struct IoCmd IoCmd;
typedef int (*IoCmdFunc)(LbIoCmds *io, const IoCmd *cmd, int argc,
                         char **argv, IoFlags *fl, GString *out);
struct IoCmd {
    const char *name;
    const char *alias;
    IoCmdFunc func;
    const char *opts;             /* getopt-style option letters */
    /* qemu-io's argmin/argmax: words after the name, options included,
     * checked first ("bad argument count"); -1 = unbounded. */
    int min_args, max_args;
    /* The words left after the options; else the usage line. */
    int pos_min, pos_max;
    bool writes;
    const char *args;
    const char *oneline;
};

/* Output lines (iocmds-dump.c). */
void lb_iocmds_cvtstr(double value, GString *out);
/* The two lines qemu-io prints after a request (one line with -C). */
void lb_iocmds_report(GString *out, const char *op, gint64 usec,
                      uint64_t off, uint64_t count, bool cflag);
/* qemu-io's -v dump: 16 bytes a line, alphanumerics shown, rest '.'. */
void lb_iocmds_hexdump(GString *out, const guint8 *buf, uint64_t off,
                       size_t len);
bool lb_iocmds_pattern_ok(const guint8 *buf, size_t len, int pattern);

/* Parse "off len [len..]" into the offset and the total (iocmds.c). */
bool lb_iocmds_parse_range(char **argv, int argc, uint64_t *off,
                           uint64_t *total, GString *out);

/* Asynchronous requests (iocmds-aio.c). */
void lb_iocmds_aio_worker(gpointer data, gpointer user_data);
int lb_iocmds_cmd_aio(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                      IoFlags *fl, GString *out);
int lb_iocmds_cmd_aio_flush(LbIoCmds *io, const IoCmd *cmd, int argc,
                            char **argv, IoFlags *fl, GString *out);
/* Move completed aio output to @out (may be NULL); with @wait, first wait
 * for every request.  Returns false if a request failed since the last
 * waiting collect. */
bool lb_iocmds_collect(LbIoCmds *io, bool wait, GString *out);

#endif /* LB_UI_IOCMDS_PRIV_H */
