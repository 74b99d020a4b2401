/*
 * ui/iocmds-aio.c: qemu-io's aio_read, aio_write and aio_flush.
 *
 * Each request runs on the interpreter's GThreadPool, so several are in
 * flight on the node at once, as with qemu-io's AIO.  A finished request
 * appends its output lines to a shared buffer that the next command (or
 * aio_flush / lb_iocmds_drain) hands out, in completion order.  Unlike
 * qemu-io, a failed or mismatching request makes the next aio_flush fail,
 * so a script's exit status shows it.
 */
#include "config.h"
#include "iocmds-priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <glib.h>

#include "lb/block.h"

typedef struct IoAio {
    bool write;
    IoFlags fl;
    uint64_t off, len;
    gint64 t0;
} IoAio;

void lb_iocmds_aio_worker(gpointer data, gpointer user_data)
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
            !lb_iocmds_pattern_ok(buf, req->len, req->fl.pattern)) {
            g_string_append_printf(out, "Pattern verification failed at "
                                   "offset %" PRIu64 ", %" PRIu64 " bytes\n",
                                   req->off, req->len);
            failed = true;
        }
        if (!req->fl.qflag) {
            if (!req->write && req->fl.vflag) {
                lb_iocmds_hexdump(out, buf, req->off, req->len);
            }
            lb_iocmds_report(out, req->write ? "wrote" : "read", t, req->off,
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

int lb_iocmds_cmd_aio(LbIoCmds *io, const IoCmd *cmd, int argc, char **argv,
                      IoFlags *fl, GString *out)
{
    IoAio *req;
    uint64_t off, len;

    if (fl->zflag && fl->pflag) {
        g_string_append(out, "Only one of -z, -P, and -s can be specified at "
                        "the same time\n");
        return -EINVAL;
    }
    if (!lb_iocmds_parse_range(argv, argc, &off, &len, out)) {
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
bool lb_iocmds_collect(LbIoCmds *io, bool wait, GString *out)
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

int lb_iocmds_cmd_aio_flush(LbIoCmds *io, const IoCmd *cmd, int argc,
                            char **argv, IoFlags *fl, GString *out)
{
    return lb_iocmds_collect(io, true, out) ? 0 : -EIO;
}

