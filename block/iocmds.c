/*
 * block/iocmds.c: the qemu-io command language on a block node.
 *
 * One interpreter serves luksblk-io (-c 'write -P 0xab 0 1M', the
 * interactive "qemu-io> " prompt) and the storage daemon's
 * human-monitor-command "qemu-io".  Commands, options and output lines are
 * those of QEMU's qemu-io, so scripts and expected-output files written for
 * it work unchanged:
 *
 *   read [-Cqv] [-P pat [-s off] [-l len]] off len   readv/writev off len..
 *   write [-fqCuz] [-P pat] off len                  aio_read/aio_write
 *   aio_flush  flush  length  info  discard  truncate  sleep  help
 *
 * aio_read/aio_write really run asynchronously on a GThreadPool; their
 * output is collected when they complete and handed out with the next
 * command (or by aio_flush / lb_iocmds_drain, which wait for them all).
 * Unlike qemu-io, a failed or mismatching aio request makes the next
 * aio_flush (and the drain) report failure, so a script's exit status
 * shows it.  Requests need not be aligned to the node's sector size:
 * block/io.c widens them (read-modify-write for writes), as QEMU's block
 * layer does.
 */
#include "config.h"
#include "lb/iocmds.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/opts.h"

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
};

/* ---- output helpers ---------------------------------------------------- */

static void io_cvtstr(double value, GString *out)
{
    static const char *const units[] = {
        "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    };
    unsigned i = 0;

    while (i + 1 < G_N_ELEMENTS(units) && value >= 1024.0) {
        value /= 1024.0;
        i++;
    }
    if (value == (double)(uint64_t)value) {
        g_string_append_printf(out, "%" PRIu64 " %s", (uint64_t)value,
                               units[i]);
    } else if (i == 0) {
        g_string_append_printf(out, "%f %s", value, units[i]);
    } else {
        g_string_append_printf(out, "%.3f %s", value, units[i]);
    }
}

static void io_timestr(gint64 usec, GString *out)
{
    double sec = usec / 1e6;

    if (usec >= G_USEC_PER_SEC) {
        unsigned s = (unsigned)sec;
        g_string_append_printf(out, "%u:%02u:%05.2f", s / 3600,
                               (s / 60) % 60, sec - (s / 60) * 60);
    } else {
        g_string_append_printf(out, "%05.2f sec", sec);
    }
}

/* The two lines qemu-io prints after a request (or one line with -C). */
static void io_report(GString *out, const char *op, gint64 usec,
                      uint64_t off, uint64_t count, bool cflag)
{
    double sec = usec > 0 ? usec / 1e6 : 1e-9;

    if (cflag) {
        g_string_append_printf(out, "%" PRIu64 ",1,", count);
        unsigned s = (unsigned)sec;
        g_string_append_printf(out, "%u:%02u:%05.2f,%.3f,%.3f\n", s / 3600,
                               (s / 60) % 60, sec - (s / 60) * 60,
                               count / sec, 1 / sec);
        return;
    }
    g_string_append_printf(out, "%s %" PRIu64 "/%" PRIu64
                           " bytes at offset %" PRIu64 "\n",
                           op, count, count, off);
    io_cvtstr((double)count, out);
    g_string_append(out, ", 1 ops; ");
    io_timestr(usec, out);
    g_string_append(out, " (");
    io_cvtstr(count / sec, out);
    g_string_append_printf(out, "/sec and %.4f ops/sec)\n", 1 / sec);
}

/* qemu-io's -v dump: 16 bytes a line, alphanumerics shown, rest as '.'. */
static void io_dump(GString *out, const guint8 *buf, uint64_t off, size_t len)
{
    for (size_t i = 0; i < len; i += 16) {
        size_t n = MIN(16, len - i);
        g_string_append_printf(out, "%08" PRIx64 ":  ", off + i);
        for (size_t j = 0; j < n; j++) {
            g_string_append_printf(out, "%02x ", buf[i + j]);
        }
        g_string_append_c(out, ' ');
        for (size_t j = 0; j < n; j++) {
            g_string_append_c(out, g_ascii_isalnum(buf[i + j]) ?
                              (char)buf[i + j] : '.');
        }
        g_string_append_c(out, '\n');
    }
}

static bool io_pattern_ok(const guint8 *buf, size_t len, int pattern)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != pattern) {
            return false;
        }
    }
    return true;
}

/* ---- argument parsing -------------------------------------------------- */

static bool io_parse_num(const char *s, uint64_t *out, GString *err)
{
    g_autoptr(GError) local = NULL;

    if (s[0] == '-' || !lb_parse_size(s, out, &local)) {
        g_string_append_printf(err, "Parsing error: non-numeric argument, "
                               "or extraneous/unrecognized suffix -- %s\n", s);
        return false;
    }
    return true;
}

static bool io_parse_pattern(const char *s, int *out, GString *err)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 0);
    if (errno || end == s || *end || v < 0 || v > 255) {
        g_string_append_printf(err, "%s is not a valid pattern byte\n", s);
        return false;
    }
    *out = (int)v;
    return true;
}

/* Parsed per-command flags (the union of what the commands accept). */
typedef struct IoFlags {
    bool cflag, fflag, qflag, uflag, vflag, zflag, nflag;
    bool pflag;
    int pattern;
    const char *pat_off, *pat_len;    /* read -s / -l */
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
    int min_args, max_args;       /* positional; -1 = unbounded */
    bool writes;
    const char *args;
    const char *oneline;
};

static void io_usage(const IoCmd *cmd, GString *out)
{
    g_string_append_printf(out, "%s %s -- %s\n", cmd->name, cmd->args,
                           cmd->oneline);
}

/*
 * A small re-entrant getopt: "-qv", "-P 0xab", "-P0xab"; stops at "--" or
 * the first argument that does not start with '-'.
 */
static bool io_getopt(const IoCmd *cmd, int argc, char **argv, IoFlags *fl,
                      GString *out, GString *err)
{
    int i = 1;

    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            break;
        }
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        for (const char *p = a + 1; *p; p++) {
            const char *o = strchr(cmd->opts, *p);
            const char *val = NULL;
            if (!o || *p == ':') {
                g_string_append_printf(err, "%s: invalid option -- '%c'\n",
                                       cmd->name, *p);
                io_usage(cmd, out);
                return false;
            }
            if (o[1] == ':') {
                if (p[1]) {
                    val = p + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                } else {
                    g_string_append_printf(err, "%s: option requires an "
                                           "argument -- '%c'\n", cmd->name,
                                           *p);
                    io_usage(cmd, out);
                    return false;
                }
            }
            switch (*p) {
            case 'C': fl->cflag = true; break;
            case 'f': fl->fflag = true; break;
            case 'q': fl->qflag = true; break;
            case 'u': fl->uflag = true; break;
            case 'v': fl->vflag = true; break;
            case 'z': fl->zflag = true; break;
            case 'n': fl->nflag = true; break;
            case 'p': case 'r': case 'i': break;   /* accepted, ignored */
            case 'P':
                fl->pflag = true;
                if (!io_parse_pattern(val, &fl->pattern, out)) {
                    return false;
                }
                break;
            case 's': fl->pat_off = val; break;
            case 'l': fl->pat_len = val; break;
            default:
                g_assert_not_reached();
            }
            if (val) {
                break;
            }
        }
    }
    fl->optind = i;
    return true;
}

/* Parse "off len [len..]" into the offset and the total length. */
static bool io_parse_range(char **argv, int argc, uint64_t *off,
                           uint64_t *total, GString *out)
{
    *total = 0;
    if (!io_parse_num(argv[0], off, out)) {
        return false;
    }
    for (int i = 1; i < argc; i++) {
        uint64_t len;
        if (!io_parse_num(argv[i], &len, out)) {
            return false;
        }
        *total += len;
        if (len > IO_MAX_REQUEST || *total > IO_MAX_REQUEST) {
            g_string_append_printf(out, "length cannot exceed %llu, given "
                                   "%s\n", IO_MAX_REQUEST, argv[i]);
            return false;
        }
    }
    return true;
}

/* ---- synchronous commands ---------------------------------------------- */

/*
 * read and write are declared with "at least 2 arguments" (that is what
 * qemu-io reports for too few) but take exactly two: more is a usage error.
 */
static int io_fixed_args(const IoCmd *cmd, int argc, GString *out)
{
    if ((!strcmp(cmd->name, "read") || !strcmp(cmd->name, "write")) &&
        argc != 2) {
        io_usage(cmd, out);
        return -EINVAL;
    }
    return 0;
}

static int io_cmd_read(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                       IoFlags *fl, GString *out)
{
    uint64_t off, len, poff = 0, plen;
    int ret;

    if (io_fixed_args(cmd, argc, out) < 0) {
        return -EINVAL;
    }
    if (!io_parse_range(argv, argc, &off, &len, out)) {
        return -EINVAL;
    }
    plen = len;
    if ((fl->pat_off || fl->pat_len) && !fl->pflag) {
        g_string_append(out, "-s and -l are only valid with -P\n");
        return -EINVAL;
    }
    if ((fl->pat_off && !io_parse_num(fl->pat_off, &poff, out)) ||
        (fl->pat_len && !io_parse_num(fl->pat_len, &plen, out))) {
        return -EINVAL;
    }
    if (!fl->pat_len && poff <= len) {
        plen = len - poff;
    }
    if (poff > len || plen > len - poff) {
        g_string_append_printf(out, "pattern verification range exceeds end "
                               "of read data\n");
        return -EINVAL;
    }

    g_autofree guint8 *buf = g_malloc(MAX(len, 1));
    gint64 t0 = g_get_monotonic_time();
    ret = lb_node_pread(io->node, off, buf, len);
    gint64 t = g_get_monotonic_time() - t0;
    if (ret < 0) {
        g_string_append_printf(out, "%s failed: %s\n", cmd->name,
                               g_strerror(-ret));
        return ret;
    }
    if (fl->pflag && !io_pattern_ok(buf + poff, plen, fl->pattern)) {
        g_string_append_printf(out, "Pattern verification failed at offset "
                               "%" PRIu64 ", %" PRIu64 " bytes\n",
                               off + poff, plen);
        ret = -EINVAL;
    }
    if (fl->qflag) {
        return ret;
    }
    if (fl->vflag) {
        io_dump(out, buf, off, len);
    }
    io_report(out, "read", t, off, len, fl->cflag);
    return ret;
}

static int io_cmd_write(LbIoCmds *io, const IoCmd *cmd, int argc,
                        char **argv, IoFlags *fl, GString *out)
{
    uint64_t off, len;
    unsigned flags = fl->fflag ? LB_WRITE_FUA : 0;
    int ret;

    /* write -s FILE: the write buffer is FILE's contents, repeated. */
    const char *src = !strcmp(cmd->name, "write") ? fl->pat_off : NULL;
    g_autofree char *src_data = NULL;
    gsize src_len = 0;

    if (fl->zflag + fl->pflag + !!src > 1) {
        g_string_append(out, "Only one of -z, -P, and -s can be specified at "
                        "the same time\n");
        return -EINVAL;
    }
    if (io_fixed_args(cmd, argc, out) < 0) {
        return -EINVAL;
    }
    if (src) {
        g_autoptr(GError) err = NULL;
        if (!g_file_get_contents(src, &src_data, &src_len, &err) ||
            src_len == 0) {
            g_string_append_printf(out, "Failed to open pattern file: %s\n",
                                   err ? err->message : "file is empty");
            return -EINVAL;
        }
    }
    if (fl->uflag && !fl->zflag) {
        g_string_append(out, "-u requires -z to be specified\n");
        return -EINVAL;
    }
    if (!io_parse_range(argv, argc, &off, &len, out)) {
        return -EINVAL;
    }
    gint64 t0 = g_get_monotonic_time();
    if (fl->zflag) {
        ret = lb_node_pwrite_zeroes(io->node, off, len,
                               flags | (fl->uflag ? LB_WRITE_MAY_UNMAP : 0));
    } else {
        g_autofree guint8 *buf = g_malloc(MAX(len, 1));
        if (src_data) {
            for (uint64_t i = 0; i < len; i += src_len) {
                memcpy(buf + i, src_data, MIN(src_len, len - i));
            }
        } else {
            memset(buf, fl->pflag ? fl->pattern : 0xcd, len);
        }
        ret = lb_node_pwrite(io->node, off, buf, len, flags);
    }
    gint64 t = g_get_monotonic_time() - t0;
    if (ret < 0) {
        g_string_append_printf(out, "%s failed: %s\n", cmd->name,
                               g_strerror(-ret));
        return ret;
    }
    if (!fl->qflag) {
        io_report(out, "wrote", t, off, len, fl->cflag);
    }
    return 0;
}

static int io_cmd_discard(LbIoCmds *io, const IoCmd *cmd, int argc,
                          char **argv, IoFlags *fl, GString *out)
{
    uint64_t off, len;

    if (!io_parse_range(argv, argc, &off, &len, out)) {
        return -EINVAL;
    }
    gint64 t0 = g_get_monotonic_time();
    int ret = lb_node_pdiscard(io->node, off, len);
    gint64 t = g_get_monotonic_time() - t0;
    if (ret < 0) {
        g_string_append_printf(out, "discard failed: %s\n", g_strerror(-ret));
        return ret;
    }
    if (!fl->qflag) {
        io_report(out, "discard", t, off, len, fl->cflag);
    }
    return 0;
}

static int io_cmd_flush(LbIoCmds *io, const IoCmd *cmd, int argc,
                        char **argv, IoFlags *fl, GString *out)
{
    int ret = lb_node_flush(io->node);
    if (ret < 0) {
        g_string_append_printf(out, "flush failed: %s\n", g_strerror(-ret));
    }
    return ret;
}

static int io_cmd_length(LbIoCmds *io, const IoCmd *cmd, int argc,
                         char **argv, IoFlags *fl, GString *out)
{
    int64_t len = lb_node_length(io->node);
    if (len < 0) {
        g_string_append_printf(out, "getlength: %s\n", g_strerror(-len));
        return (int)len;
    }
    io_cvtstr((double)len, out);
    g_string_append_c(out, '\n');
    return 0;
}

static int io_cmd_info(LbIoCmds *io, const IoCmd *cmd, int argc,
                       char **argv, IoFlags *fl, GString *out)
{
    g_autofree char *spec = lb_node_info_json(io->node);

    g_string_append_printf(out, "format name: %s\n",
                           lb_node_driver_name(io->node));
    g_string_append(out, "cluster size: 0 bytes\n");
    g_string_append(out, "vm state offset: 0 bytes\n");
    if (spec) {
        g_string_append(out, "Format specific information:\n");
        if (!lb_iocmds_dump_json(out, spec, 4, NULL)) {
            return -EIO;
        }
    }
    return 0;
}

static int io_cmd_truncate(LbIoCmds *io, const IoCmd *cmd, int argc,
                           char **argv, IoFlags *fl, GString *out)
{
    g_autoptr(GError) err = NULL;
    uint64_t size;

    if (!io_parse_num(argv[0], &size, out)) {
        return -EINVAL;
    }
    if (!lb_node_truncate(io->node, size, LB_PREALLOC_OFF, &err)) {
        g_string_append_printf(out, "truncate: %s\n", err->message);
        return -EIO;
    }
    return 0;
}

static int io_cmd_sleep(LbIoCmds *io, const IoCmd *cmd, int argc,
                        char **argv, IoFlags *fl, GString *out)
{
    uint64_t ms;

    if (!io_parse_num(argv[0], &ms, out)) {
        return -EINVAL;
    }
    g_usleep(ms * 1000);
    return 0;
}

static int io_cmd_help(LbIoCmds *io, const IoCmd *cmd, int argc,
                       char **argv, IoFlags *fl, GString *out);
static int io_cmd_aio(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                      IoFlags *fl, GString *out);
static int io_cmd_aio_flush(LbIoCmds *io, const IoCmd *cmd, int argc,
                            char **argv, IoFlags *fl, GString *out);

static const IoCmd io_cmds[] = {
    { "aio_flush", "af", io_cmd_aio_flush, "", 0, 0, false, "",
      "completes all outstanding aio requests" },
    { "aio_read", NULL, io_cmd_aio, "CiqrvP:", 2, -1, false,
      "[-Ciqrv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", NULL, io_cmd_aio, "CfiqruzP:", 2, -1, true,
      "[-Cfiqruz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes" },
    { "discard", "d", io_cmd_discard, "Cq", 2, 2, true, "[-Cq] off len",
      "discards a number of bytes at a specified offset" },
    { "flush", "f", io_cmd_flush, "", 0, 0, false, "",
      "flush all in-core file state to disk" },
    { "help", "?", io_cmd_help, "", 0, 1, false, "[command]",
      "help for one or all commands" },
    { "info", "i", io_cmd_info, "", 0, 0, false, "",
      "prints information about the current file" },
    { "length", "l", io_cmd_length, "", 0, 0, false, "",
      "gets the length of the current file" },
    { "read", "r", io_cmd_read, "abCpqrvP:s:l:", 2, -1, false,
      "[-abCqrv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset" },
    { "readv", NULL, io_cmd_read, "CqrvP:", 2, -1, false,
      "[-Cqrv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset" },
    { "sleep", NULL, io_cmd_sleep, "", 1, 1, false, "ms",
      "waits for the given value in milliseconds" },
    { "truncate", "t", io_cmd_truncate, "", 1, 1, true, "off",
      "truncates the current file at the given offset" },
    { "write", "w", io_cmd_write, "bCfnpqruzP:s:", 2, -1, true,
      "[-bcCfnqruz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset" },
    { "writev", NULL, io_cmd_write, "CfqrP:", 2, -1, true,
      "[-Cfqr] [-P pattern] off len [len..]",
      "writes a number of bytes at a specified offset" },
};

static const IoCmd *io_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        if (strcmp(io_cmds[i].name, name) == 0 ||
            (io_cmds[i].alias && strcmp(io_cmds[i].alias, name) == 0)) {
            return &io_cmds[i];
        }
    }
    return NULL;
}

static int io_cmd_help(LbIoCmds *io, const IoCmd *cmd, int argc,
                       char **argv, IoFlags *fl, GString *out)
{
    if (argc == 1) {
        const IoCmd *c = io_find(argv[0]);
        if (!c) {
            g_string_append_printf(out, "command %s not found\n", argv[0]);
            return -EINVAL;
        }
        io_usage(c, out);
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(io_cmds); i++) {
        io_usage(&io_cmds[i], out);
    }
    g_string_append(out, "\nUse 'help commandname' for extended help.\n");
    return 0;
}

/* ---- asynchronous commands --------------------------------------------- */

typedef struct IoAio {
    bool write;
    IoFlags fl;
    uint64_t off, len;
    gint64 t0;
} IoAio;

static void io_aio_worker(gpointer data, gpointer user_data)
{
    g_autofree IoAio *req = data;
    LbIoCmds *io = user_data;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree guint8 *buf = g_malloc(MAX(req->len, 1));
    unsigned flags = req->fl.fflag ? LB_WRITE_FUA : 0;
    bool failed = false;
    int ret;

    if (req->write && req->fl.zflag) {
        ret = lb_node_pwrite_zeroes(io->node, req->off, req->len, flags |
                               (req->fl.uflag ? LB_WRITE_MAY_UNMAP : 0));
    } else if (req->write) {
        memset(buf, req->fl.pflag ? req->fl.pattern : 0xcd, req->len);
        ret = lb_node_pwrite(io->node, req->off, buf, req->len, flags);
    } else {
        ret = lb_node_pread(io->node, req->off, buf, req->len);
    }
    gint64 t = g_get_monotonic_time() - req->t0;

    if (ret < 0) {
        g_string_append_printf(out, "%s failed: %s\n",
                               req->write ? "aio_write" : "readv",
                               g_strerror(-ret));
        failed = true;
    } else {
        if (!req->write && req->fl.pflag &&
            !io_pattern_ok(buf, req->len, req->fl.pattern)) {
            g_string_append_printf(out, "Pattern verification failed at "
                                   "offset %" PRIu64 ", %" PRIu64 " bytes\n",
                                   req->off, req->len);
            failed = true;
        }
        if (!req->fl.qflag) {
            if (!req->write && req->fl.vflag) {
                io_dump(out, buf, req->off, req->len);
            }
            io_report(out, req->write ? "wrote" : "read", t, req->off,
                      req->len, req->fl.cflag);
        }
    }

    g_mutex_lock(&io->lock);
    g_string_append_len(io->done, out->str, out->len);
    io->aio_failed |= failed;
    if (--io->inflight == 0) {
        g_cond_broadcast(&io->idle);
    }
    g_mutex_unlock(&io->lock);
}

static int io_cmd_aio(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                      IoFlags *fl, GString *out)
{
    IoAio *req;
    uint64_t off, len;

    if (fl->zflag && fl->pflag) {
        g_string_append(out, "Only one of -z, -P, and -s can be specified at "
                        "the same time\n");
        return -EINVAL;
    }
    if (!io_parse_range(argv, argc, &off, &len, out)) {
        return -EINVAL;
    }
    req = g_new0(IoAio, 1);
    req->write = cmd->writes;
    req->fl = *fl;
    req->off = off;
    req->len = len;
    req->t0 = g_get_monotonic_time();

    g_mutex_lock(&io->lock);
    io->inflight++;
    g_mutex_unlock(&io->lock);
    g_thread_pool_push(io->pool, req, NULL);
    return 0;
}

/* Move completed aio output to @out; with @wait, first wait for them all. */
static bool io_collect(LbIoCmds *io, bool wait, GString *out)
{
    bool failed;

    g_mutex_lock(&io->lock);
    while (wait && io->inflight) {
        g_cond_wait(&io->idle, &io->lock);
    }
    if (out) {
        g_string_append_len(out, io->done->str, io->done->len);
    }
    g_string_truncate(io->done, 0);
    failed = io->aio_failed;
    if (wait) {
        io->aio_failed = false;
    }
    g_mutex_unlock(&io->lock);
    return !failed;
}

static int io_cmd_aio_flush(LbIoCmds *io, const IoCmd *cmd, int argc,
                            char **argv, IoFlags *fl, GString *out)
{
    return io_collect(io, true, out) ? 0 : -EIO;
}

/* ---- public interface -------------------------------------------------- */

LbIoCmds *lb_iocmds_new(LbNode *node)
{
    LbIoCmds *io = g_new0(LbIoCmds, 1);

    io->node = lb_node_ref(node);
    g_mutex_init(&io->lock);
    g_cond_init(&io->idle);
    io->done = g_string_new(NULL);
    io->pool = g_thread_pool_new(io_aio_worker, io, IO_AIO_THREADS, FALSE,
                                 NULL);
    return io;
}

int lb_iocmds_run(LbIoCmds *io, const char *cmdline, bool quiet,
                  GString *out)
{
    return lb_iocmds_run_err(io, cmdline, quiet, out, NULL);
}

int lb_iocmds_run_err(LbIoCmds *io, const char *cmdline, bool quiet,
                      GString *out, GString *err)
{
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) perr = NULL;
    IoFlags fl = { 0 };
    const IoCmd *cmd;
    int argc, nargs, ret;

    io_collect(io, false, out);
    if (!err) {
        err = out;            /* one stream for everything */
    }
    if (!g_shell_parse_argv(cmdline, &argc, &argv, &perr)) {
        if (g_error_matches(perr, G_SHELL_ERROR,
                            G_SHELL_ERROR_EMPTY_STRING)) {
            return 0;
        }
        g_string_append_printf(err, "%s\n", perr->message);
        return 1;
    }
    cmd = io_find(argv[0]);
    if (!cmd) {
        g_string_append_printf(err, "command \"%s\" not found\n", argv[0]);
        return 1;
    }
    if (!io_getopt(cmd, argc, argv, &fl, out, err)) {
        return 1;
    }
    fl.qflag |= quiet;
    nargs = argc - fl.optind;
    if (nargs < cmd->min_args ||
        (cmd->max_args >= 0 && nargs > cmd->max_args)) {
        g_string_append_printf(err, "bad argument count %d to %s, expected ",
                               nargs, cmd->name);
        if (cmd->max_args < 0) {
            g_string_append_printf(err, "at least %d arguments\n",
                                   cmd->min_args);
        } else if (cmd->max_args == cmd->min_args) {
            g_string_append_printf(err, "%d arguments\n", cmd->min_args);
        } else {
            g_string_append_printf(err, "between %d and %d arguments\n",
                                   cmd->min_args, cmd->max_args);
        }
        return 1;
    }
    if (cmd->writes && !lb_node_is_writable(io->node)) {
        g_string_append(err, "Block node is read-only\n");
        return 1;
    }
    ret = cmd->func(io, cmd, nargs, argv + fl.optind, &fl, out);
    io_collect(io, false, out);
    return ret < 0 ? 1 : 0;
}

int lb_iocmds_drain(LbIoCmds *io, GString *out)
{
    return io_collect(io, true, out) ? 0 : 1;
}

void lb_iocmds_free(LbIoCmds *io)
{
    if (!io) {
        return;
    }
    io_collect(io, true, NULL);
    g_thread_pool_free(io->pool, FALSE, TRUE);
    g_string_free(io->done, TRUE);
    g_cond_clear(&io->idle);
    g_mutex_clear(&io->lock);
    lb_node_unref(io->node);
    g_free(io);
}
