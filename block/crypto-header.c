/*
 * crypto-header.c: header backup, restore, detach and attach (see
 * include/lb/header-ops.h for what each does).
 *
 * The images are opened as "file" nodes, so the file driver's locks keep
 * us off an image a running daemon has open.  Headers are always parsed
 * by the engine (no-keys, read-only open) before their bytes are copied:
 * a damaged or foreign header is refused before anything is written.
 * Write order for detach: the new header file is written and synced and
 * re-read before the header in the image is wiped, so a crash leaves at
 * least one usable copy.
 */
#include "config.h"
#include "lb/header-ops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "crypto-priv.h"
#include "lb/block.h"
#include "lb/opts.h"

/* A header's identity and extent, read without a passphrase. */
typedef struct HdrDesc {
    char *uuid;
    uint64_t size;             /* bytes of header + keyslot areas */
    uint64_t payload_offset;   /* bytes */
    unsigned version;
} HdrDesc;

static void hdr_desc_clear(HdrDesc *d)
{
    g_free(d->uuid);
    memset(d, 0, sizeof(*d));
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(HdrDesc, hdr_desc_clear)

static LbNode *open_file(const char *path, bool rw, GError **errp)
{
    g_autoptr(LbOpts) o = lb_opts_new();

    lb_opts_set_str(o, "driver", "file");
    lb_opts_set_str(o, "filename", path);
    return lb_node_open(o, rw ? LB_OPEN_RDWR : 0, errp);
}

static bool describe(LbNode *n, HdrDesc *d, GError **errp)
{
    LbLuksIO io;

    lb_luks_node_io(n, &io);
    g_autoptr(LbLuks) l = lb_luks_open(
        &io, NULL, LB_LUKS_OPEN_NO_KEYS | LB_LUKS_OPEN_READ_ONLY, errp);
    if (!l) {
        return false;
    }
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l);
    d->uuid = g_strdup(info->uuid);
    d->size = lb_luks_header_size(l);
    d->payload_offset = lb_luks_payload_offset(l);
    d->version = lb_luks_version(l);
    return true;
}

static bool need_confirm(bool confirmed, const char *what, GError **errp)
{
    if (!confirmed) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "refusing to overwrite %s without confirmation", what);
        return false;
    }
    return true;
}

/* Copy [0, len) of @src to @dst in 1 MiB pieces, then flush @dst. */
static bool copy_area(LbNode *src, LbNode *dst, uint64_t len, GError **errp)
{
    const size_t chunk = 1024 * 1024;
    g_autofree guint8 *buf = g_malloc(chunk);
    int64_t have = lb_node_length(dst);

    /* Node writes stay inside the node, so a new file is sized first. */
    if (have >= 0 && (uint64_t)have < len &&
        !lb_node_truncate(dst, len, LB_PREALLOC_OFF, errp)) {
        return false;
    }
    for (uint64_t off = 0; off < len; off += chunk) {
        size_t n = MIN(chunk, len - off);
        int r = lb_node_pread(src, off, buf, n);
        if (r == 0) {
            r = lb_node_pwrite(dst, off, buf, n, 0);
        }
        if (r < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                        "cannot copy the header: %s", g_strerror(-r));
            return false;
        }
    }
    int r = lb_node_flush(dst);
    if (r < 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "cannot sync the header: %s", g_strerror(-r));
        return false;
    }
    return true;
}

/*
 * Create (or, when confirmed, truncate) @path with mode 0600 — a header
 * is what unlocks the volume, so it is as sensitive as a key file — and
 * open it as a node.
 */
static LbNode *create_target(const char *path, bool confirmed, GError **errp)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (confirmed ? O_TRUNC : O_EXCL);
    int fd = open(path, flags, 0600);

    if (fd < 0) {
        if (errno == EEXIST) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS,
                        "'%s' already exists; refusing to overwrite it "
                        "without confirmation", path);
        } else {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                        "cannot create '%s': %s", path, g_strerror(errno));
        }
        return NULL;
    }
    close(fd);
    return open_file(path, true, errp);
}

/* Whether [0, len) of @n is all zero. */
static bool area_is_zero(LbNode *n, uint64_t len, bool *zero, GError **errp)
{
    const size_t chunk = 1024 * 1024;
    g_autofree guint8 *buf = g_malloc(chunk);
    int64_t have = lb_node_length(n);

    *zero = true;
    len = MIN(len, have < 0 ? 0 : (uint64_t)have);
    for (uint64_t off = 0; off < len && *zero; off += chunk) {
        size_t k = MIN(chunk, len - off);
        int r = lb_node_pread(n, off, buf, k);
        if (r < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                        "cannot read: %s", g_strerror(-r));
            return false;
        }
        for (size_t i = 0; i < k; i++) {
            if (buf[i]) {
                *zero = false;
                break;
            }
        }
    }
    return true;
}

bool lb_luks_header_backup(const char *image, const char *backup,
                           bool confirmed, GError **errp)
{
    g_auto(HdrDesc) d = { 0 };
    g_autoptr(LbNode) src = open_file(image, false, errp);

    if (!src || !describe(src, &d, errp)) {
        g_prefix_error(errp, "%s: ", image);
        return false;
    }
    g_autoptr(LbNode) dst = create_target(backup, confirmed, errp);
    return dst && copy_area(src, dst, d.size, errp);
}

bool lb_luks_header_restore(const char *image, const char *backup,
                            bool confirmed, bool force, GError **errp)
{
    g_auto(HdrDesc) b = { 0 };
    g_auto(HdrDesc) cur = { 0 };
    g_autoptr(LbNode) src = open_file(backup, false, errp);

    if (!src || !describe(src, &b, errp)) {
        g_prefix_error(errp, "backup %s: ", backup);
        return false;
    }
    g_autoptr(LbNode) dst = open_file(image, true, errp);
    if (!dst) {
        return false;
    }
    g_autoptr(GError) cur_err = NULL;
    if (describe(dst, &cur, &cur_err)) {
        if (g_strcmp0(cur.uuid, b.uuid) != 0 && !force) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "%s holds the header of another volume (UUID %s, "
                        "backup UUID %s); use force to replace it",
                        image, cur.uuid, b.uuid);
            return false;
        }
    }
    /* A backup of an attached header must not reach into the payload. */
    if (b.payload_offset && b.size > b.payload_offset) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "backup header (%" G_GUINT64_FORMAT " bytes) overlaps "
                    "its payload offset %" G_GUINT64_FORMAT,
                    b.size, b.payload_offset);
        return false;
    }
    if (!need_confirm(confirmed, "the LUKS header", errp)) {
        g_prefix_error(errp, "%s: ", image);
        return false;
    }
    return copy_area(src, dst, b.size, errp);
}

bool lb_luks_header_detach(const char *image, const char *header,
                           bool confirmed, GError **errp)
{
    g_auto(HdrDesc) d = { 0 };
    g_auto(HdrDesc) check = { 0 };
    g_autoptr(LbNode) img = open_file(image, true, errp);

    if (!img || !describe(img, &d, errp)) {
        g_prefix_error(errp, "%s: ", image);
        return false;
    }
    if (d.payload_offset == 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "%s: payload offset is 0; the header is not attached "
                    "in front of a payload", image);
        return false;
    }
    if (!need_confirm(confirmed, "the header in the image", errp)) {
        g_prefix_error(errp, "%s: ", image);
        return false;
    }
    /* Never over an existing file, confirmed or not: it may be the only
     * copy of another volume's header. */
    g_autoptr(GError) cerr = NULL;
    g_autoptr(LbNode) hdr = create_target(header, false, &cerr);
    if (!hdr && g_error_matches(cerr, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'%s' already exists; header-detach writes only to a "
                    "new file", header);
        return false;
    }
    if (!hdr) {
        g_propagate_error(errp, g_steal_pointer(&cerr));
        return false;
    }
    if (!copy_area(img, hdr, d.size, errp)) {
        return false;
    }
    /* Only wipe the original once the copy reads back as the same header. */
    if (!describe(hdr, &check, errp)) {
        g_prefix_error(errp, "the copied header does not verify: ");
        return false;
    }
    if (g_strcmp0(check.uuid, d.uuid) != 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "the copied header does not verify (UUID %s, not %s)",
                    check.uuid, d.uuid);
        return false;
    }
    int r = lb_node_pwrite_zeroes(img, 0, d.size, 0);
    if (r == 0) {
        r = lb_node_flush(img);
    }
    if (r < 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "cannot wipe the header of %s: %s", image, g_strerror(-r));
        return false;
    }
    return true;
}

bool lb_luks_header_attach(const char *image, const char *header,
                           bool confirmed, bool force, GError **errp)
{
    g_auto(HdrDesc) h = { 0 };
    g_auto(HdrDesc) cur = { 0 };
    g_autoptr(LbNode) src = open_file(header, false, errp);
    bool zero;

    if (!src || !describe(src, &h, errp)) {
        g_prefix_error(errp, "%s: ", header);
        return false;
    }
    if (h.payload_offset < h.size) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "no room for the header in front of the payload: the "
                    "header needs %" G_GUINT64_FORMAT " bytes, the payload "
                    "starts at %" G_GUINT64_FORMAT,
                    h.size, h.payload_offset);
        return false;
    }
    g_autoptr(LbNode) img = open_file(image, true, errp);
    if (!img) {
        return false;
    }
    g_autoptr(GError) cur_err = NULL;
    if (describe(img, &cur, &cur_err) && g_strcmp0(cur.uuid, h.uuid) != 0 &&
        !force) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "%s already holds the header of another volume (UUID %s); "
                    "use force to replace it", image, cur.uuid);
        return false;
    }
    if (!area_is_zero(img, h.size, &zero, errp)) {
        return false;
    }
    if (!zero && !need_confirm(confirmed, "the start of the image", errp)) {
        g_prefix_error(errp, "%s: ", image);
        return false;
    }
    return copy_area(src, img, h.size, errp);
}
