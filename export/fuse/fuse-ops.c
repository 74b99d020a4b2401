/*
 * fuse-ops.c: FUSE low-level request handlers of the FUSE export.
 *
 * The filesystem has exactly one inode, the root (FUSE_ROOT_ID), and it is
 * a regular file: the export is mounted over a regular file, so the mount
 * point itself is the exported image.  Semantics follow QEMU's FUSE export
 * (block/export/fuse.c) so scripts written for qemu-storage-daemon work:
 *
 *  - size is the node's length; reads at or past EOF are short;
 *  - writes past EOF grow the node when "growable", else are cut short;
 *  - truncate (setattr size) resizes writable exports;
 *  - chmod may narrow access, widen it only as far as the mount allows;
 *  - fsync and flush (every close) flush the node;
 *  - fallocate: allocate (growing at EOF), punch hole, zero range.
 *
 * Departures from QEMU 10.0, each for a reason:
 *  - files are opened with FOPEN_DIRECT_IO and FOPEN_PARALLEL_DIRECT_WRITES,
 *    so that concurrent writers are not serialised by the kernel's inode
 *    lock, nothing is cached twice (the guest's cache and this one), and
 *    other exports of the same node (NBD) see the same bytes at once;
 *  - a write that starts at or past EOF of a non-growable export fails with
 *    ENOSPC, as on a block device, instead of succeeding with 0 bytes;
 *  - timestamp changes (touch) and suid/sgid clearing are accepted and
 *    ignored (there are no such bits), not refused.
 *
 * Data path rules: no allocation per request (read replies come from the
 * worker's buffer, write data straight from the request buffer), no lock
 * except for size changes.  Requests need not be sector-aligned: the block
 * layer does read-modify-write of partial sectors.
 */
#include "config.h"
#include "fuse-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <linux/falloc.h>
#include <linux/fuse.h>
#include <glib.h>

#include "lb/block.h"

static inline LbFuseExport *req_export(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static void lb_fuse_init(void *userdata, struct fuse_conn_info *conn)
{
    /* Must equal the max_read mount option given in fuse.c. */
    conn->max_read = LB_FUSE_MAX_IO;
    conn->max_write = LB_FUSE_MAX_IO;
    /* Room for a few large asynchronous direct I/O pieces at once. */
    conn->max_background = 64;
    conn->congestion_threshold = 48;
}

/* Fill @st for the one inode; returns 0 or -errno. */
static int export_stat(LbFuseExport *exp, struct stat *st)
{
    int64_t len = lb_node_length(exp->node);

    if (len < 0) {
        return (int)len;
    }
    int64_t allocated = lb_node_allocated_size(exp->node);
    time_t now = time(NULL);

    memset(st, 0, sizeof(*st));
    st->st_ino = FUSE_ROOT_ID;
    st->st_nlink = 1;
    g_mutex_lock(&exp->attr_lock);
    st->st_mode = exp->st_mode;
    st->st_uid = exp->st_uid;
    st->st_gid = exp->st_gid;
    g_mutex_unlock(&exp->attr_lock);
    st->st_size = len;
    st->st_blksize = MAX(exp->align, 512);
    st->st_blocks = ((allocated > 0 ? allocated : len) + 511) / 512;
    st->st_atime = st->st_mtime = st->st_ctime = now;
    return 0;
}

static void reply_attr(fuse_req_t req, LbFuseExport *exp)
{
    struct stat st;
    int ret = export_stat(exp, &st);

    if (ret < 0) {
        fuse_reply_err(req, -ret);
        return;
    }
    fuse_reply_attr(req, &st, 1.0);
}

/* The root is a file, so there is nothing to look up in it. */
static void lb_fuse_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, ENOENT);
}

static void lb_fuse_getattr(fuse_req_t req, fuse_ino_t ino,
                            struct fuse_file_info *fi)
{
    reply_attr(req, req_export(req));
}

/*
 * Resize the node to @size bytes (rounded up to the node's alignment);
 * runs in a FUSE worker (I/O context), serialised with amend and every
 * other resize by the node's update lock.  With @grow_only, never shrink: growing writes race with each other and
 * only the largest end may win.
 */
static int export_resize(LbFuseExport *exp, uint64_t size, bool grow_only,
                         LbPrealloc prealloc)
{
    g_autoptr(GError) err = NULL;
    int ret = 0;

    size = (size + exp->align - 1) & ~(uint64_t)(exp->align - 1);
    g_mutex_lock(&exp->resize_lock);
    /* The node's exclusive update (as amend holds it): the size read and
     * the resize are one step against every other resize of the node. */
    lb_node_update_begin(exp->node);
    int64_t len = lb_node_length(exp->node);
    if (len < 0) {
        ret = (int)len;
    } else if (!(grow_only && size <= (uint64_t)len) && size != (uint64_t)len &&
               !lb_node_truncate(exp->node, size, prealloc, &err)) {
        ret = g_error_matches(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM)
                  ? -EACCES
                  : -EIO;
        g_debug("FUSE export '%s': resize to %" G_GUINT64_FORMAT ": %s",
                exp->id, size, err->message);
    }
    lb_node_update_end(exp->node);
    g_mutex_unlock(&exp->resize_lock);
    return ret;
}

/* Refuse attribute changes the export cannot honour; 0 or an errno. */
static int setattr_check(LbFuseExport *exp, const struct stat *st, int to_set)
{
    int supported = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE |
                    FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
                    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
                    FUSE_SET_ATTR_CTIME | FUSE_SET_ATTR_KILL_SUID |
                    FUSE_SET_ATTR_KILL_SGID;

    if (exp->allow_other) {
        supported |= FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
    }
    if (to_set & ~supported) {
        return ENOTSUP;
    }
    if (to_set & FUSE_SET_ATTR_MODE) {
        /* Without allow_other nobody else can reach the file anyway. */
        if (!exp->allow_other && (st->st_mode & (S_IRWXG | S_IRWXO))) {
            return EPERM;
        }
        if (!exp->writable && (st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))) {
            return EROFS;
        }
    }
    if ((to_set & FUSE_SET_ATTR_SIZE) && !exp->writable) {
        return EACCES;
    }
    return 0;
}

static void lb_fuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st,
                            int to_set, struct fuse_file_info *fi)
{
    LbFuseExport *exp = req_export(req);
    int err = setattr_check(exp, st, to_set);

    if (err) {
        fuse_reply_err(req, err);
        return;
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
        int ret = export_resize(exp, st->st_size, false, LB_PREALLOC_OFF);
        if (ret < 0) {
            fuse_reply_err(req, -ret);
            return;
        }
    }
    g_mutex_lock(&exp->attr_lock);
    if (to_set & FUSE_SET_ATTR_MODE) {
        exp->st_mode = S_IFREG | (st->st_mode & 07777);
    }
    if (to_set & FUSE_SET_ATTR_UID) {
        exp->st_uid = st->st_uid;
    }
    if (to_set & FUSE_SET_ATTR_GID) {
        exp->st_gid = st->st_gid;
    }
    g_mutex_unlock(&exp->attr_lock);
    reply_attr(req, exp);
}

/*
 * libfuse 3.14's fuse_file_info has no bit for FOPEN_PARALLEL_DIRECT_WRITES
 * (kernel 6.2+; older kernels ignore unknown open flags), so the reply is
 * built from the kernel ABI's struct fuse_open_out directly.
 */
static void lb_fuse_open(fuse_req_t req, fuse_ino_t ino,
                         struct fuse_file_info *fi)
{
    struct fuse_open_out out = {
        .fh = 0,
        .open_flags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES,
    };

    fuse_reply_buf(req, (const char *)&out, sizeof(out));
}

static void lb_fuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                         struct fuse_file_info *fi)
{
    LbFuseExport *exp = req_export(req);
    LbFuseWorker *w = lb_fuse_current_worker();
    int64_t len = lb_node_length(exp->node);

    if (len < 0) {
        fuse_reply_err(req, (int)-len);
        return;
    }
    if (off < 0 || size > LB_FUSE_MAX_IO) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (off >= len) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    size = MIN(size, (uint64_t)(len - off));

    int ret = lb_node_pread(exp->node, off, w->rbuf, size);
    if (ret < 0) {
        fuse_reply_err(req, -ret);
        return;
    }
    fuse_reply_buf(req, (const char *)w->rbuf, size);
}

static void lb_fuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                          size_t size, off_t off, struct fuse_file_info *fi)
{
    LbFuseExport *exp = req_export(req);
    unsigned flags = exp->writethrough ? LB_WRITE_FUA : 0;
    int ret;

    if (!exp->writable) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (off < 0 || size > LB_FUSE_MAX_IO) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    int64_t len = lb_node_length(exp->node);
    if (len < 0) {
        fuse_reply_err(req, (int)-len);
        return;
    }
    if ((uint64_t)off + size > (uint64_t)len) {
        if (exp->growable) {
            ret = export_resize(exp, off + size, true, LB_PREALLOC_OFF);
            if (ret < 0) {
                fuse_reply_err(req, -ret);
                return;
            }
        } else if (off >= len) {
            fuse_reply_err(req, ENOSPC);
            return;
        } else {
            size = len - off;
        }
    }
    /* Partial sectors are the block layer's business (io.c does RMW). */
    ret = lb_node_pwrite(exp->node, off, buf, size, flags);
    if (ret < 0) {
        fuse_reply_err(req, -ret);
        return;
    }
    fuse_reply_write(req, size);
}

/* Zero [off, off + len) in chunks; punch=true may deallocate. */
static int zero_range(LbFuseExport *exp, uint64_t off, uint64_t len, bool punch)
{
    unsigned flags = punch ? LB_WRITE_MAY_UNMAP : 0;

    while (len > 0) {
        uint64_t n = MIN(len, LB_FUSE_ZERO_CHUNK);
        int ret = lb_node_pwrite_zeroes(exp->node, off, n, flags);
        if (ret < 0) {
            return ret == -ENOTSUP ? -EOPNOTSUPP : ret;
        }
        off += n;
        len -= n;
    }
    return 0;
}

static int do_fallocate(LbFuseExport *exp, int mode, uint64_t off, uint64_t len)
{
    bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
    int64_t size = lb_node_length(exp->node);

    if (size < 0) {
        return (int)size;
    }
    if (keep_size && off + len > (uint64_t)size) {
        len = off < (uint64_t)size ? size - off : 0;
    }
    switch (mode & ~FALLOC_FL_KEEP_SIZE) {
    case 0:
        /* Space inside the node is always allocated; only EOF can move. */
        if (keep_size || off + len <= (uint64_t)size) {
            return 0;
        }
        return export_resize(exp, off + len, true, LB_PREALLOC_FALLOC);
    case FALLOC_FL_PUNCH_HOLE:
        /* The hole must read as zeroes, which a plain discard of an
         * encrypted payload would not give. */
        return keep_size ? zero_range(exp, off, len, true) : -EINVAL;
    case FALLOC_FL_ZERO_RANGE:
        if (!keep_size && off + len > (uint64_t)size) {
            int ret = export_resize(exp, off + len, true, LB_PREALLOC_OFF);
            if (ret < 0) {
                return ret;
            }
        }
        return zero_range(exp, off, len, false);
    default:
        return -EOPNOTSUPP;
    }
}

static void lb_fuse_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
                              off_t off, off_t len, struct fuse_file_info *fi)
{
    LbFuseExport *exp = req_export(req);

    if (!exp->writable) {
        fuse_reply_err(req, EACCES);
        return;
    }
    if (off < 0 || len <= 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    fuse_reply_err(req, -do_fallocate(exp, mode, off, len));
}

static void lb_fuse_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
                          struct fuse_file_info *fi)
{
    fuse_reply_err(req, -lb_node_flush(req_export(req)->node));
}

/* Sent on every close(): the last chance to report write-back errors. */
static void lb_fuse_flush(fuse_req_t req, fuse_ino_t ino,
                          struct fuse_file_info *fi)
{
    LbFuseExport *exp = req_export(req);

    fuse_reply_err(req, exp->writable ? -lb_node_flush(exp->node) : 0);
}

static void lb_fuse_statfs(fuse_req_t req, fuse_ino_t ino)
{
    LbFuseExport *exp = req_export(req);
    int64_t len = lb_node_length(exp->node);
    unsigned bsize = MAX(exp->align, 512);
    struct statvfs st = {
        .f_bsize = bsize,
        .f_frsize = bsize,
        .f_blocks = len > 0 ? (uint64_t)len / bsize : 0,
        .f_files = 1,
        .f_namemax = 255,
    };

    fuse_reply_statfs(req, &st);
}

const struct fuse_lowlevel_ops lb_fuse_ops = {
    .init = lb_fuse_init,
    .lookup = lb_fuse_lookup,
    .getattr = lb_fuse_getattr,
    .setattr = lb_fuse_setattr,
    .open = lb_fuse_open,
    .read = lb_fuse_read,
    .write = lb_fuse_write,
    .flush = lb_fuse_flush,
    .fsync = lb_fuse_fsync,
    .fallocate = lb_fuse_fallocate,
    .statfs = lb_fuse_statfs,
};
