/*
 * ui/iocmds.c: the qemu-io command language on a block node.
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
 * This file parses command lines and runs the synchronous commands;
 * aio_read/aio_write run asynchronously (ui/iocmds-aio.c) and the output
 * lines are formatted in ui/iocmds-dump.c.  Requests need not be aligned to the node's sector size:
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
#include "iocmds-priv.h"

/* ---- argument parsing -------------------------------------------------- */

static bool io_parse_num(const char *s, uint64_t *out, GString *err)
{
    g_autoptr(GError) local = NULL;
    char *end = NULL;

    /* qemu-io's cvtnum takes hex too ("0x10000"), without a suffix. */
    if (g_ascii_strncasecmp(s, "0x", 2) == 0 && g_ascii_isxdigit(s[2])) {
        errno = 0;
        *out = g_ascii_strtoull(s + 2, &end, 16);
        if (errno == 0 && *end == '\0') {
            return true;
        }
    }
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


static void io_usage(const IoCmd *cmd, GString *out)
{
    g_string_append_printf(out, "%s %s%s-- %s\n", cmd->name, cmd->args,
                           *cmd->args ? " " : "", cmd->oneline);
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
            case 'a': case 'p': case 'r': case 'i':
                break;                              /* accepted, ignored */
            case 'b':
                /* No VM state here: refuse rather than touch the disk. */
                g_string_append_printf(out, "%s: -%c (VM state) is not "
                                       "supported\n", cmd->name, *p);
                return false;
            case 'P':
                fl->pflag = true;
                if (!io_parse_pattern(val, &fl->pattern, out)) {
                    return false;
                }
                break;
            case 's': fl->pat_off = val; break;
            case 'l': fl->pat_len = val; break;
            case 'm': fl->prealloc = val; break;
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
bool lb_iocmds_parse_range(char **argv, int argc, uint64_t *off,
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

static int io_cmd_read(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                       IoFlags *fl, GString *out)
{
    uint64_t off, len, poff = 0, plen;
    int ret;

    if (!lb_iocmds_parse_range(argv, argc, &off, &len, out)) {
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
    if (fl->pflag && !lb_iocmds_pattern_ok(buf + poff, plen, fl->pattern)) {
        g_string_append_printf(out, "Pattern verification failed at offset "
                               "%" PRIu64 ", %" PRIu64 " bytes\n",
                               off + poff, plen);
        ret = -EINVAL;
    }
    if (fl->qflag) {
        return ret;
    }
    if (fl->vflag) {
        lb_iocmds_hexdump(out, buf, off, len);
    }
    lb_iocmds_report(out, "read", t, off, len, fl->cflag);
    return ret;
}

/*
 * The end of a request started at @t0: "NAME failed: ..." for an error,
 * else (unless -q) the "VERB N/N bytes at offset X" and timing lines.
 */
static int io_done(GString *out, const char *name, const char *verb, int ret,
                   gint64 t0, uint64_t off, uint64_t len, const IoFlags *fl)
{
    gint64 t = g_get_monotonic_time() - t0;

    if (ret < 0) {
        g_string_append_printf(out, "%s failed: %s\n", name, g_strerror(-ret));
        return ret;
    }
    if (!fl->qflag) {
        lb_iocmds_report(out, verb, t, off, len, fl->cflag);
    }
    return 0;
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
    if (!lb_iocmds_parse_range(argv, argc, &off, &len, out)) {
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
    return io_done(out, cmd->name, "wrote", ret, t0, off, len, fl);
}

static int io_cmd_discard(LbIoCmds *io, const IoCmd *cmd, int argc,
                          char **argv, IoFlags *fl, GString *out)
{
    uint64_t off, len;

    if (!lb_iocmds_parse_range(argv, argc, &off, &len, out)) {
        return -EINVAL;
    }
    gint64 t0 = g_get_monotonic_time();
    int ret = lb_node_pdiscard(io->node, off, len);
    return io_done(out, "discard", "discard", ret, t0, off, len, fl);
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
    lb_iocmds_cvtstr((double)len, out);
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
    LbPrealloc prealloc = LB_PREALLOC_OFF;
    uint64_t size;

    if (fl->prealloc && !lb_parse_prealloc(fl->prealloc, &prealloc, NULL)) {
        g_string_append_printf(io->err, "%sInvalid preallocation mode "
                               "'%s'\n", io->err_prefix, fl->prealloc);
        return -EINVAL;
    }
    if (!io_parse_num(argv[0], &size, out)) {
        return -EINVAL;
    }
    if (!lb_node_truncate(io->node, size, prealloc, &err)) {
        g_string_append_printf(io->err, "%s%s\n", io->err_prefix,
                               err->message);
        return -EIO;
    }
    return 0;
}

static int io_cmd_sleep(LbIoCmds *io, const IoCmd *cmd, int argc,
                        char **argv, IoFlags *fl, GString *out)
{
    char *end;
    gint64 ms = g_ascii_strtoll(argv[0], &end, 0);

    if (ms < 0 || *end || end == argv[0]) {
        g_string_append_printf(out, "%s is not a valid number\n", argv[0]);
        return -EINVAL;
    }
    g_usleep(ms * 1000);
    return 0;
}

static int io_cmd_help(LbIoCmds *io, const IoCmd *cmd, int argc,
                       char **argv, IoFlags *fl, GString *out);

/* name, alias, func, options, argmin, argmax, positional min/max, ... */
static const IoCmd io_cmds[] = {
    { "aio_flush", "af", lb_iocmds_cmd_aio_flush, "", 0, 0, 0, 0, false, "",
      "completes all outstanding aio requests" },
    { "aio_read", NULL, lb_iocmds_cmd_aio, "CiqrvP:", 2, -1, 2, -1, false,
      "[-Ciqrv] [-P pattern] off len [len..]",
      "asynchronously reads a number of bytes" },
    { "aio_write", NULL, lb_iocmds_cmd_aio, "CfiqruzP:", 2, -1, 2, -1, true,
      "[-Cfiqruz] [-P pattern] off len [len..]",
      "asynchronously writes a number of bytes" },
    { "discard", "d", io_cmd_discard, "Cq", 2, -1, 2, 2, true,
      "[-Cq] off len", "discards a number of bytes at a specified offset" },
    { "flush", "f", io_cmd_flush, "", 0, 0, 0, 0, false, "",
      "flush all in-core file state to disk" },
    { "help", "?", io_cmd_help, "", 0, 1, 0, 1, false, "[command]",
      "help for one or all commands" },
    { "info", "i", io_cmd_info, "", 0, 0, 0, 0, false, "",
      "prints information about the current file" },
    { "length", "l", io_cmd_length, "", 0, 0, 0, 0, false, "",
      "gets the length of the current file" },
    { "read", "r", io_cmd_read, "abCpqrvP:s:l:", 2, -1, 2, 2, false,
      "[-abCqrv] [-P pattern [-s off] [-l len]] off len",
      "reads a number of bytes at a specified offset" },
    { "readv", NULL, io_cmd_read, "CqrvP:", 2, -1, 2, -1, false,
      "[-Cqrv] [-P pattern] off len [len..]",
      "reads a number of bytes at a specified offset" },
    { "sleep", NULL, io_cmd_sleep, "", 1, 1, 1, 1, false, "ms",
      "waits for the given value in milliseconds" },
    /* qemu-io truncates to the first word and ignores the rest. */
    { "truncate", "t", io_cmd_truncate, "m:", 1, 3, 1, -1, true,
      "[-m prealloc_mode] off",
      "truncates the current file at the given offset" },
    { "write", "w", io_cmd_write, "bCfnpqruzP:s:", 2, -1, 2, 2, true,
      "[-bcCfnqruz] [-P pattern | -s source_file] off len",
      "writes a number of bytes at a specified offset" },
    { "writev", NULL, io_cmd_write, "CfqrP:", 2, -1, 2, -1, true,
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

/* ---- public interface -------------------------------------------------- */

LbIoCmds *lb_iocmds_new(LbNode *node)
{
    LbIoCmds *io = g_new0(LbIoCmds, 1);

    io->node = lb_node_ref(node);
    io->err_prefix = g_strdup("");
    g_mutex_init(&io->lock);
    g_cond_init(&io->idle);
    io->done = g_string_new(NULL);
    io->pool = g_thread_pool_new(lb_iocmds_aio_worker, io, IO_AIO_THREADS, FALSE,
                                 NULL);
    return io;
}

int lb_iocmds_run(LbIoCmds *io, const char *cmdline, bool quiet,
                  GString *out)
{
    return lb_iocmds_run_err(io, cmdline, quiet, out, NULL);
}

/*
 * qemu-io's breakline(): words are separated by spaces, and nothing else
 * is special; quotes and backslashes are part of the words, so a command
 * line means the same here as in qemu-io.
 */
static char **io_breakline(const char *cmdline, int *argc)
{
    g_auto(GStrv) words = g_strsplit(cmdline, " ", -1);
    GPtrArray *v = g_ptr_array_new();

    for (char **w = words; *w; w++) {
        if (**w) {
            g_ptr_array_add(v, g_strdup(*w));
        }
    }
    *argc = (int)v->len;
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, FALSE);
}

int lb_iocmds_run_err(LbIoCmds *io, const char *cmdline, bool quiet,
                      GString *out, GString *err)
{
    g_auto(GStrv) argv = NULL;
    IoFlags fl = { 0 };
    const IoCmd *cmd;
    int argc, nargs, ret;

    lb_iocmds_collect(io, false, out);
    if (!err) {
        err = out;            /* one stream for everything */
    }
    argv = io_breakline(cmdline, &argc);
    if (argc == 0) {
        return 0;
    }
    cmd = io_find(argv[0]);
    if (!cmd) {
        g_string_append_printf(err, "command \"%s\" not found\n", argv[0]);
        return 1;
    }
    /* qemu-io's order: the word count, permissions, then the options. */
    nargs = argc - 1;
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
        g_string_append_printf(err, "%sBlock node is read-only\n",
                               io->err_prefix);
        return 1;
    }
    /* Commands without options take every word as it is ("sleep -5"). */
    fl.optind = 1;
    if (*cmd->opts && !io_getopt(cmd, argc, argv, &fl, out, err)) {
        return 1;
    }
    fl.qflag |= quiet;
    nargs = argc - fl.optind;
    if (nargs < cmd->pos_min || (cmd->pos_max >= 0 && nargs > cmd->pos_max)) {
        io_usage(cmd, out);
        return 1;
    }
    io->err = err;
    ret = cmd->func(io, cmd, nargs, argv + fl.optind, &fl, out);
    io->err = NULL;
    lb_iocmds_collect(io, false, out);
    return ret < 0 ? 1 : 0;
}

int lb_iocmds_drain(LbIoCmds *io, GString *out)
{
    return lb_iocmds_collect(io, true, out) ? 0 : 1;
}

void lb_iocmds_free(LbIoCmds *io)
{
    if (!io) {
        return;
    }
    lb_iocmds_collect(io, true, NULL);
    g_thread_pool_free(io->pool, FALSE, TRUE);
    g_string_free(io->done, TRUE);
    g_cond_clear(&io->idle);
    g_mutex_clear(&io->lock);
    lb_node_unref(io->node);
    g_free(io->err_prefix);
    g_free(io);
}

void lb_iocmds_set_error_prefix(LbIoCmds *io, const char *prefix)
{
    g_free(io->err_prefix);
    io->err_prefix = g_strdup(prefix);
}
