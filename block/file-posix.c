/*
 * file-posix.c: the "file" protocol driver: a regular file (or block
 * device) accessed with pread(2)/pwrite(2), which are thread-safe on one
 * descriptor, so requests from many threads run in parallel.
 *
 * cache.direct=on opens with O_DIRECT; requests whose offset, length or
 * buffer are not 4 KiB aligned then go through a second, buffered
 * descriptor instead of a bounce buffer.  Locking mirrors QEMU's
 * file-posix.c so that luksblk and QEMU exclude each other: open file
 * description (OFD) locks on byte 100 + perm ("I use perm") and byte
 * 200 + perm ("I do not share perm"), perm 0 = consistent read and
 * 1 = write.  A reader holds 100 and 201; a writer holds 100, 101 and 201.
 * force-share (LB_OPEN_NO_LOCK) takes no locks.
 *
 * The length is read once at open and kept in the state (as QEMU keeps
 * total_sectors): every request checks its range against it, and an
 * fstat() per request cost about a tenth of a 4 KiB NBD read.  Resizes
 * go through file_truncate(), which re-reads it; a resize by another
 * process is not seen until then, as in QEMU.
 */
#include "config.h"
#include "block-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#define DIRECT_ALIGN 4096u
#define LOCK_USE 100
#define LOCK_UNSHARE 200
#define PERM_READ 0
#define PERM_WRITE 1
#define FILE_IOV_BATCH 64 /* iovec entries per preadv/pwritev */

typedef struct FileState {
    int fd;
    int fd_buffered; /* O_DIRECT mode: for unaligned requests, else -1 */
    bool direct;
    char *filename;
    int64_t length; /* cached st_size / device size; atomic access */
} FileState;

static bool lock_byte(int fd, int byte, short type)
{
    struct flock fl = {
        .l_type = type,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };
    return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

/* Whether another description holds any lock on @byte. */
static bool byte_locked_by_other(int fd, int byte)
{
    struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
    };
    return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

static int64_t fd_length(int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0) {
        return -errno;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t size;
        return ioctl(fd, BLKGETSIZE64, &size) < 0 ? -errno : (int64_t)size;
    }
    return st.st_size;
}

/* Re-read the length after a resize; keeps the old one if that fails. */
static int64_t file_refresh_length(FileState *s)
{
    int64_t len = fd_length(s->fd);

    if (len >= 0) {
        __atomic_store_n(&s->length, len, __ATOMIC_RELAXED);
    }
    return len;
}

static bool file_lock(FileState *s, bool write, GError **errp)
{
    int fd = s->fd;

    if (!lock_byte(fd, LOCK_USE + PERM_READ, F_RDLCK) ||
        (write && !lock_byte(fd, LOCK_USE + PERM_WRITE, F_RDLCK)) ||
        !lock_byte(fd, LOCK_UNSHARE + PERM_WRITE, F_RDLCK)) {
        /* Someone holds an exclusive lock on one of the bytes. */
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Failed to get \"%s\" lock\nIs another process using "
                    "the image [%s]?",
                    write ? "write" : "consistent read", s->filename);
        return false;
    }
    if (write && byte_locked_by_other(fd, LOCK_UNSHARE + PERM_WRITE)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Failed to get \"write\" lock\nIs another process using "
                    "the image [%s]?",
                    s->filename);
        return false;
    }
    /* After that one, as QEMU checks (so the same error wins). */
    if (byte_locked_by_other(fd, LOCK_USE + PERM_WRITE)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Failed to get shared \"write\" lock\nIs another process "
                    "using the image [%s]?",
                    s->filename);
        return false;
    }
    return true;
}

/*
 * aio=: how QEMU issues the requests.  "threads" is what this driver does.
 * "native" (Linux AIO) is accepted where QEMU accepts it, with
 * cache.direct=on, and runs the same way: each request is a pread/pwrite
 * on the O_DIRECT descriptor from the thread that issues it (exports
 * issue from many threads), which has the semantics of native AIO.
 * "io_uring" is refused as by a QEMU built without liburing.
 */
static bool file_check_aio(const char *aio, bool direct, GError **errp)
{
    if (!aio || g_str_equal(aio, "threads")) {
        return true;
    }
    if (g_str_equal(aio, "native")) {
        if (!direct) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "aio=native was specified, but it requires "
                        "cache.direct=on, which was not specified.");
            return false;
        }
        return true;
    }
    g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                "Parameter 'aio' does not accept value '%s'", aio);
    return false;
}

static bool file_open(LbNode *bs, LbOpts *opts, unsigned flags, GError **errp)
{
    FileState *s = lb_node_opaque(bs);
    const char *filename = NULL, *locking = NULL, *aio = NULL;
    bool write = (flags & LB_OPEN_RDWR) != 0;

    s->fd = s->fd_buffered = -1;
    if (!lb_opts_get_string(opts, "filename", &filename, errp) ||
        !lb_opts_get_string(opts, "locking", &locking, errp) ||
        !lb_opts_get_string(opts, "aio", &aio, errp)) {
        return false;
    }
    if (!filename) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'filename' is required");
        return false;
    }
    if (!file_check_aio(aio, (flags & LB_OPEN_NOCACHE) != 0, errp)) {
        return false;
    }
    if (locking &&
        !g_strv_contains((const char *const[]){"auto", "on", "off", NULL},
                         locking)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'locking' does not accept value '%s'", locking);
        return false;
    }
    s->filename = g_strdup(filename);
    s->direct = (flags & LB_OPEN_NOCACHE) != 0;
    int oflags = O_CLOEXEC | (s->direct ? O_DIRECT : 0);
    s->fd = open(filename, oflags | (write ? O_RDWR : O_RDONLY));
    if (s->fd < 0 && write && (flags & LB_OPEN_AUTO_RO) &&
        (errno == EACCES || errno == EROFS || errno == EPERM)) {
        /* auto-read-only: fall back to read-only, as QEMU does. */
        write = false;
        lb_node_set_read_only(bs);
        s->fd = open(filename, oflags | O_RDONLY);
    }
    if (s->fd < 0) {
        int e = errno;
        g_set_error(errp, LB_BLOCK_ERROR,
                    e == ENOENT                 ? LB_BLOCK_ERROR_NOT_FOUND
                    : e == EACCES || e == EROFS ? LB_BLOCK_ERROR_PERM
                                                : LB_BLOCK_ERROR_FAILED,
                    "Could not open '%s': %s", filename, g_strerror(e));
        return false;
    }
    struct stat st = {0};
    if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* read() would fail later with EISDIR; QEMU refuses at open. */
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'file' driver requires '%s' to be a regular file",
                    filename);
        return false;
    }
    if (s->direct) {
        s->fd_buffered =
            open(filename, O_CLOEXEC | (write ? O_RDWR : O_RDONLY));
        if (s->fd_buffered < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                        "Could not open '%s': %s", filename, g_strerror(errno));
            return false;
        }
    }
    bool want_lock =
        !(flags & LB_OPEN_NO_LOCK) && !(locking && g_str_equal(locking, "off"));
    if (want_lock && !file_lock(s, write, errp)) {
        return false;
    }
    int64_t len = file_refresh_length(s);
    if (len < 0) {
        return lb_block_errno_to_error((int)len, errp, "Could not stat '%s'",
                                       filename);
    }
    lb_node_set_filename(bs, filename);
    LbBlockLimits lim = {
        .request_alignment = 1, /* O_DIRECT: unaligned ones go buffered */
        .opt_transfer = s->direct ? DIRECT_ALIGN : 0,
        .discard_granularity = st.st_blksize > 0 ? (uint32_t)st.st_blksize : 0,
    };
    lb_node_set_limits(bs, &lim);
    return true;
}

static void file_close(LbNode *bs)
{
    FileState *s = lb_node_opaque(bs);

    if (s->fd >= 0) {
        close(s->fd); /* releases the OFD locks */
    }
    if (s->fd_buffered >= 0) {
        close(s->fd_buffered);
    }
    g_free(s->filename);
}

/* O_DIRECT needs offset, length and every buffer aligned. */
static int pick_fd(FileState *s, uint64_t off, const struct iovec *iov,
                   int niov, size_t len)
{
    if (!s->direct) {
        return s->fd;
    }
    uintptr_t bits = (uintptr_t)off | len;
    for (int i = 0; i < niov; i++) {
        bits |= (uintptr_t)iov[i].iov_base | iov[i].iov_len;
    }
    return bits % DIRECT_ALIGN ? s->fd_buffered : s->fd;
}

/*
 * Transfer @len bytes between @iov and the file at @off, resuming after
 * short transfers.  A read that meets the end of the file fails with
 * -EIO: the file shrank under us (the node's length is the one cached at
 * open or resize), and zeroes would pass for data (a luks node would
 * return their "decryption" as success).
 */
static int file_rw(FileState *s, bool write, uint64_t off,
                   const struct iovec *iov, int niov, size_t len)
{
    int fd = pick_fd(s, off, iov, niov, len);
    struct iovec v[FILE_IOV_BATCH];
    size_t pos = 0;

    while (pos < len) {
        ssize_t n;
        if (niov == 1) {
            guint8 *p = (guint8 *)iov[0].iov_base + pos;
            n = write ? pwrite(fd, p, len - pos, (off_t)(off + pos))
                      : pread(fd, p, len - pos, (off_t)(off + pos));
        } else {
            int nv = lb_iov_slice(v, FILE_IOV_BATCH, iov, niov, pos, len - pos);
            if (nv < 0) {
                nv = FILE_IOV_BATCH; /* the first ones, then the rest */
            }
            n = write ? pwritev(fd, v, nv, (off_t)(off + pos))
                      : preadv(fd, v, nv, (off_t)(off + pos));
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -EIO;
        }
        pos += (size_t)n;
    }
    return 0;
}

static int file_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                       int niov, size_t len, unsigned flags)
{
    return file_rw(lb_node_opaque(bs), false, off, iov, niov, len);
}

static int file_flush(LbNode *bs)
{
    FileState *s = lb_node_opaque(bs);
    return fdatasync(s->fd) < 0 ? -errno : 0;
}

static int file_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                        int niov, size_t len, unsigned flags)
{
    int r = file_rw(lb_node_opaque(bs), true, off, iov, niov, len);
    return r == 0 && (flags & LB_WRITE_FUA) ? file_flush(bs) : r;
}

static int file_pwrite_zeroes(LbNode *bs, uint64_t off, uint64_t len,
                              unsigned flags)
{
    FileState *s = lb_node_opaque(bs);

    if ((flags & LB_WRITE_MAY_UNMAP) &&
        fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) == 0) {
        goto done;
    }
    if (fallocate(s->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) != 0) {
        return lb_io_write_zeroes_fallback(bs, off, len, flags);
    }
done:
    return (flags & LB_WRITE_FUA) ? file_flush(bs) : 0;
}

static int file_pdiscard(LbNode *bs, uint64_t off, uint64_t len)
{
    FileState *s = lb_node_opaque(bs);

    if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) != 0 &&
        errno != EOPNOTSUPP && errno != ENOSYS) {
        return -errno;
    }
    return 0;
}

static int64_t file_length(LbNode *bs)
{
    FileState *s = lb_node_opaque(bs);
    return __atomic_load_n(&s->length, __ATOMIC_RELAXED);
}

/*
 * Allocation from SEEK_DATA/SEEK_HOLE: a hole reads as zeroes.  Without
 * support for them (EINVAL), everything is data, which is always true.
 */
static int file_block_status(LbNode *bs, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    FileState *s = lb_node_opaque(bs);
    off_t data = lseek(s->fd, (off_t)off, SEEK_DATA);

    if (data < 0) {
        /* ENXIO: no data from @off to the end of the file. */
        *pnum = len;
        return errno == ENXIO ? LB_BLOCK_HOLE | LB_BLOCK_ZERO : LB_BLOCK_DATA;
    }
    if ((uint64_t)data > off) {
        *pnum = MIN(len, (uint64_t)data - off);
        return LB_BLOCK_HOLE | LB_BLOCK_ZERO;
    }
    off_t hole = lseek(s->fd, (off_t)off, SEEK_HOLE);
    *pnum = hole > (off_t)off ? MIN(len, (uint64_t)hole - off) : len;
    return LB_BLOCK_DATA;
}

static int64_t file_allocated_size(LbNode *bs)
{
    FileState *s = lb_node_opaque(bs);
    struct stat st;

    return fstat(s->fd, &st) < 0 ? -errno : (int64_t)st.st_blocks * 512;
}

/* Grow or shrink @fd to @size; new space is allocated per @prealloc. */
static bool fd_truncate(int fd, const char *filename, uint64_t size,
                        LbPrealloc prealloc, GError **errp)
{
    int64_t old = fd_length(fd);

    if (old < 0) {
        return lb_block_errno_to_error((int)old, errp, "Could not stat '%s'",
                                       filename);
    }
    if (ftruncate(fd, (off_t)size) < 0) {
        return lb_block_errno_to_error(-errno, errp,
                                       "Could not resize file '%s'", filename);
    }
    if (size <= (uint64_t)old || prealloc == LB_PREALLOC_OFF) {
        return true;
    }
    if (prealloc == LB_PREALLOC_FALLOC) {
        int r = posix_fallocate(fd, old, (off_t)(size - old));
        if (r != 0) {
            return lb_block_errno_to_error(
                -r, errp, "Could not preallocate new data for '%s'", filename);
        }
        return true;
    }
    /* full: write zeroes so every block is really allocated. */
    const size_t chunk = 1024 * 1024;
    g_autofree guint8 *zeros = g_malloc0(chunk);
    for (uint64_t off = old; off < size;) {
        size_t n = MIN(chunk, size - off);
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return lb_block_errno_to_error(
                -errno, errp, "Could not write zeros for preallocation of '%s'",
                filename);
        }
        off += w;
    }
    if (fdatasync(fd) < 0) {
        return lb_block_errno_to_error(-errno, errp, "Could not flush '%s'",
                                       filename);
    }
    return true;
}

static bool file_truncate(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                          GError **errp)
{
    FileState *s = lb_node_opaque(bs);
    bool ok = fd_truncate(s->fd, s->filename, size, prealloc, errp);

    /* Even a failed preallocation may have changed the size. */
    file_refresh_length(s);
    return ok;
}

/* Create or empty @filename and size it, as QEMU's raw_co_create does. */
static bool file_create_file(const char *filename, uint64_t size,
                             LbPrealloc prealloc, GError **errp)
{
    int fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        return lb_block_errno_to_error(-errno, errp, "Could not create '%s'",
                                       filename);
    }
    bool ok = fd_truncate(fd, filename, 0, LB_PREALLOC_OFF, errp) &&
              fd_truncate(fd, filename, size, prealloc, errp);
    close(fd);
    return ok;
}

static bool file_create(const char *filename, uint64_t size, LbOpts *opts,
                        GError **errp)
{
    LbPrealloc prealloc = LB_PREALLOC_OFF;
    const char *p = NULL;

    if (opts) {
        if (!lb_opts_get_string(opts, "preallocation", &p, errp) ||
            (p && !lb_parse_prealloc(p, &prealloc, errp))) {
            return false;
        }
        lb_opts_mark_used(opts, "nocow");
        if (!lb_opts_check_unused(opts, NULL, errp)) {
            return false;
        }
    }
    return file_create_file(filename, size, prealloc, errp);
}

/* blockdev-create driver=file: {filename, size, preallocation} */
static bool file_create_nodes(LbOpts *opts, GError **errp)
{
    const char *filename = NULL;
    uint64_t size = 0;

    if (!lb_opts_get_string(opts, "filename", &filename, errp) ||
        !lb_opts_get_size(opts, "size", 0, &size, errp)) {
        return false;
    }
    if (!filename || !lb_opts_has(opts, "size")) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter '%s' is missing",
                    filename ? "size" : "filename");
        return false;
    }
    lb_opts_mark_used(opts, "driver");
    g_autoptr(LbOpts) rest = lb_opts_dup(opts);
    lb_opts_remove(rest, "driver");
    lb_opts_remove(rest, "filename");
    lb_opts_remove(rest, "size");
    return file_create(filename, size, rest, errp);
}

const LbBlockDriver lb_driver_file = {
    .name = "file",
    .state_size = sizeof(FileState),
    /* control plane */
    .open = file_open,
    .close = file_close,
    .truncate = file_truncate,
    .create = file_create,
    .create_nodes = file_create_nodes,
    .allocated_size = file_allocated_size,
    /* data path */
    .length = file_length,
    .preadv = file_preadv,
    .pwritev = file_pwritev,
    .pwrite_zeroes = file_pwrite_zeroes,
    .pdiscard = file_pdiscard,
    .flush = file_flush,
    .block_status = file_block_status,
};
