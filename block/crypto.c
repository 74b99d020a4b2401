/*
 * crypto.c: the "luks" format driver (QEMU's block/crypto.c counterpart).
 *
 *   luks node ──file──>   payload: ciphertext from payload-offset on
 *             └─header──> LUKS header (optional; else the file child)
 *
 * Every header read/write goes through the engine's LbLuksIO callbacks on
 * the header node (or the file node for an attached header), so a
 * detached header's payload file never sees a header byte.  Data path, on
 * scatter lists (iovecs) all the way: reads land in the caller's buffers
 * and are decrypted in place, unless the caller flagged them shared
 * (LB_REQ_SHARED_BUF: guest memory), which then only ever receive
 * plaintext copied from a private bounce buffer; writes are encrypted into
 * a pooled 1 MiB bounce buffer (never into the caller's buffer, and no
 * allocation per request once the pool is warm).  Runs of 256 KiB or more
 * split their cipher work across a shared thread pool so that both cores
 * encrypt.  io.c guarantees that offset and length are whole sectors; the
 * iovec entries may split sectors anywhere.
 */
#include "config.h"
#include "crypto-priv.h"
#include "lb/luks-reencrypt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include "lb/object.h"

#define BOUNCE_SIZE (1024u * 1024u)
#define BOUNCE_KEEP 16
#define PARALLEL_MIN (256u * 1024u)
#define MAX_PARTS 4
#define MAX_SECTOR 4096u

typedef struct LuksState {
    LbLuks *luks;
    LbNode *file;
    LbNode *header; /* NULL: header at the start of file */
    uint64_t payload_offset;
    uint64_t payload_size; /* LUKS2 fixed segment size, 0 = dynamic */
    unsigned sector;
    GMutex pool_lock;
    guint8 *pool[BOUNCE_KEEP];
    unsigned pool_n;
    bool pool_init;
} LuksState;

/* ---- engine header I/O on a node ---------------------------------------- */

static bool node_io_read(void *opaque, uint64_t off, void *buf, size_t len,
                         GError **errp)
{
    struct iovec iov = {buf, len};
    int r = lb_io_child(opaque, LB_REQ_READ, off, len, &iov, 1, 0);
    if (r == 0) {
        return true;
    }
    /* The engine prefixes "cannot read LUKS header"; say what failed. */
    int64_t size = lb_node_length(opaque);
    if (size >= 0 && (off > (uint64_t)size || len > (uint64_t)size - off)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "the header is %" G_GINT64_FORMAT " bytes, too short for "
                    "%zu bytes at offset %" G_GUINT64_FORMAT,
                    size, len, off);
        return false;
    }
    return lb_block_errno_to_error(
        r, errp, "read of %zu bytes at offset %" G_GUINT64_FORMAT, len, off);
}

static bool node_io_write(void *opaque, uint64_t off, const void *buf,
                          size_t len, GError **errp)
{
    LbNode *node = opaque;
    int64_t size = lb_node_length(node);

    /* Writing past the end grows a header file, as a file would. */
    if (size >= 0 && off + len > (uint64_t)size &&
        !lb_node_truncate(node, off + len, LB_PREALLOC_OFF, errp)) {
        return false;
    }
    struct iovec iov = {(void *)buf, len};
    int r = lb_io_child(node, LB_REQ_WRITE, off, len, &iov, 1, 0);
    return r == 0 ||
           lb_block_errno_to_error(r, errp, "cannot write LUKS header");
}

static int64_t node_io_length(void *opaque, GError **errp)
{
    int64_t r = lb_node_length(opaque);
    if (r < 0) {
        lb_block_errno_to_error((int)r, errp, "cannot get header size");
        return -1;
    }
    return r;
}

static bool node_io_truncate(void *opaque, uint64_t size, GError **errp)
{
    return lb_node_truncate(opaque, size, LB_PREALLOC_OFF, errp);
}

static bool node_io_flush(void *opaque, GError **errp)
{
    int r = lb_io_child(opaque, LB_REQ_FLUSH, 0, 0, NULL, 0, 0);
    return r == 0 ||
           lb_block_errno_to_error(r, errp, "cannot flush LUKS header");
}

void lb_luks_node_io(LbNode *node, LbLuksIO *io)
{
    *io = (LbLuksIO){
        .read = node_io_read,
        .write = node_io_write,
        .length = node_io_length,
        .truncate = node_io_truncate,
        .flush = node_io_flush,
        .opaque = node,
    };
}

/* ---- bounce buffers ------------------------------------------------------ */

static guint8 *bounce_get(LuksState *s)
{
    guint8 *buf = NULL;

    g_mutex_lock(&s->pool_lock);
    if (s->pool_n > 0) {
        buf = s->pool[--s->pool_n];
    }
    g_mutex_unlock(&s->pool_lock);
    if (!buf && posix_memalign((void **)&buf, 4096, BOUNCE_SIZE) != 0) {
        return NULL;
    }
    return buf;
}

static void bounce_put(LuksState *s, guint8 *buf)
{
    g_mutex_lock(&s->pool_lock);
    if (s->pool_n < BOUNCE_KEEP) {
        s->pool[s->pool_n++] = buf;
        buf = NULL;
    }
    g_mutex_unlock(&s->pool_lock);
    free(buf);
}

/* ---- cipher work, split across threads for large requests --------------- */

typedef struct CryptDone {
    GMutex lock;
    GCond cond;
    int pending;
    int ret;
} CryptDone;

typedef struct CryptPart {
    LbLuks *luks;
    bool encrypt;
    uint64_t off;
    const guint8 *in;
    guint8 *out;
    size_t len;
    CryptDone *done;
} CryptPart;

static int crypt_part(const CryptPart *p)
{
    return p->encrypt ? lb_luks_encrypt(p->luks, p->off, p->in, p->out, p->len)
                      : lb_luks_decrypt(p->luks, p->off, p->in, p->out, p->len);
}

static void crypt_worker(gpointer data, gpointer user)
{
    CryptPart *p = data;
    int r = crypt_part(p);

    g_mutex_lock(&p->done->lock);
    if (r < 0 && p->done->ret == 0) {
        p->done->ret = r;
    }
    p->done->pending--;
    g_cond_signal(&p->done->cond);
    g_mutex_unlock(&p->done->lock);
}

static GThreadPool *crypt_pool(unsigned *nparts)
{
    static gsize once;
    static GThreadPool *pool;
    static unsigned parts;

    if (g_once_init_enter(&once)) {
        parts = CLAMP(g_get_num_processors(), 1, MAX_PARTS);
        if (parts > 1) {
            pool = g_thread_pool_new(crypt_worker, NULL, (gint)parts - 1, FALSE,
                                     NULL);
        }
        g_once_init_leave(&once, 1);
    }
    *nparts = pool ? parts : 1;
    return pool;
}

static int run_crypt(LuksState *s, bool encrypt, uint64_t off, const guint8 *in,
                     guint8 *out, size_t len)
{
    unsigned nparts;
    GThreadPool *pool = len >= PARALLEL_MIN ? crypt_pool(&nparts) : NULL;
    CryptPart first = {s->luks, encrypt, off, in, out, len, NULL};

    if (!pool) {
        return crypt_part(&first);
    }
    CryptDone done = {.pending = 0, .ret = 0};
    CryptPart parts[MAX_PARTS];
    size_t sectors = len / s->sector;
    size_t per = (sectors + nparts - 1) / nparts * s->sector;

    g_mutex_init(&done.lock);
    g_cond_init(&done.cond);
    first.len = MIN(per, len);
    for (unsigned i = 1; i < nparts && i * per < len; i++) {
        size_t start = i * per;
        parts[i] = (CryptPart){s->luks,    encrypt,     off + start,
                               in + start, out + start, MIN(per, len - start),
                               &done};
        g_mutex_lock(&done.lock);
        done.pending++;
        g_mutex_unlock(&done.lock);
        g_thread_pool_push(pool, &parts[i], NULL);
    }
    int r = crypt_part(&first);
    g_mutex_lock(&done.lock);
    while (done.pending > 0) {
        g_cond_wait(&done.cond, &done.lock);
    }
    g_mutex_unlock(&done.lock);
    g_mutex_clear(&done.lock);
    g_cond_clear(&done.cond);
    return r < 0 ? r : done.ret;
}

/* ---- data path ------------------------------------------------------------
 */

static int64_t luks_length(LbNode *bs)
{
    LuksState *s = lb_node_opaque(bs);
    /* luks_truncate may set it while requests run. */
    uint64_t size = __atomic_load_n(&s->payload_size, __ATOMIC_ACQUIRE);

    if (size) {
        return (int64_t)size;
    }
    int64_t len = lb_node_length(s->file);
    if (len < 0) {
        return len;
    }
    if ((uint64_t)len <= s->payload_offset) {
        return 0;
    }
    uint64_t avail = (uint64_t)len - s->payload_offset;
    return (int64_t)(avail - avail % s->sector);
}

typedef enum {
    CRYPT_DEC_INPLACE, /* decrypt the scatter list where it is */
    CRYPT_ENC_TO_FLAT, /* encrypt the scatter list into @flat */
} CryptMode;

/*
 * En/decrypt @len bytes (whole sectors, payload offset @off) of @iov from
 * its byte @pos.  Runs of whole sectors inside one iovec entry go to the
 * cipher directly; a sector that straddles entries is gathered into @flat
 * (encryption) or a sector on the stack (decryption) first.
 */
static int crypt_iov(LuksState *s, CryptMode mode, uint64_t off,
                     const struct iovec *iov, int niov, size_t pos,
                     size_t len, guint8 *flat)
{
    guint8 tmp[MAX_SECTOR] __attribute__((aligned(64)));
    size_t sec = s->sector, done = 0, eoff = pos;
    int i = 0;
    int r = 0;

    g_assert(sec <= sizeof(tmp) && len % sec == 0);
    while (i < niov && eoff >= iov[i].iov_len) {
        eoff -= iov[i].iov_len;
        i++;
    }
    while (done < len && r == 0) {
        guint8 *p = (guint8 *)iov[i].iov_base + eoff;
        size_t run = MIN(iov[i].iov_len - eoff, len - done);
        run -= run % sec;
        if (run > 0 && mode == CRYPT_DEC_INPLACE) {
            r = run_crypt(s, false, off + done, p, p, run);
        } else if (run > 0) {
            r = run_crypt(s, true, off + done, p, flat + done, run);
        } else if (mode == CRYPT_DEC_INPLACE) {
            run = sec;
            lb_iov_to_buf(iov, niov, pos + done, tmp, sec);
            r = run_crypt(s, false, off + done, tmp, tmp, sec);
            lb_iov_from_buf(iov, niov, pos + done, tmp, sec);
        } else {
            run = sec;
            lb_iov_to_buf(iov, niov, pos + done, flat + done, sec);
            r = run_crypt(s, true, off + done, flat + done, flat + done, sec);
        }
        done += run;
        eoff += run;
        while (i < niov && eoff >= iov[i].iov_len) {
            eoff -= iov[i].iov_len;
            i++;
        }
    }
    return r;
}

/*
 * Reads: the ciphertext lands in the caller's buffers and is decrypted
 * there, except for a buffer flagged shared (guest memory), which must
 * never hold ciphertext: there it is read and decrypted in a private
 * bounce buffer and only the plaintext is copied out.
 */
static int luks_preadv(LbNode *bs, uint64_t off, const struct iovec *iov,
                       int niov, size_t len, unsigned flags)
{
    LuksState *s = lb_node_opaque(bs);
    unsigned cflags = flags & ~LB_REQ_SHARED_BUF;

    if (!(flags & LB_REQ_SHARED_BUF)) {
        int r = lb_io_child(s->file, LB_REQ_READ, s->payload_offset + off,
                            len, iov, niov, cflags);
        return r < 0 ? r : crypt_iov(s, CRYPT_DEC_INPLACE, off, iov, niov, 0,
                                     len, NULL);
    }
    guint8 *bounce = bounce_get(s);
    int r = 0;

    if (!bounce) {
        return -ENOMEM;
    }
    for (size_t pos = 0; pos < len && r == 0;) {
        size_t n = MIN(len - pos, BOUNCE_SIZE);
        struct iovec biov = {bounce, n};
        r = lb_io_child(s->file, LB_REQ_READ, s->payload_offset + off + pos, n,
                        &biov, 1, cflags);
        if (r == 0) {
            r = run_crypt(s, false, off + pos, bounce, bounce, n);
        }
        if (r == 0) {
            lb_iov_from_buf(iov, niov, pos, bounce, n);
        }
        pos += n;
    }
    bounce_put(s, bounce);
    return r;
}

static int luks_pwritev(LbNode *bs, uint64_t off, const struct iovec *iov,
                        int niov, size_t len, unsigned flags)
{
    LuksState *s = lb_node_opaque(bs);
    unsigned cflags = flags & ~LB_REQ_SHARED_BUF; /* the bounce is ours */
    guint8 *bounce = bounce_get(s);
    int r = 0;

    if (!bounce) {
        return -ENOMEM;
    }
    for (size_t pos = 0; pos < len && r == 0;) {
        size_t n = MIN(len - pos, BOUNCE_SIZE);
        struct iovec biov = {bounce, n};
        r = crypt_iov(s, CRYPT_ENC_TO_FLAT, off + pos, iov, niov, pos, n,
                      bounce);
        if (r == 0) {
            r = lb_io_child(s->file, LB_REQ_WRITE,
                            s->payload_offset + off + pos, n, &biov, 1,
                            cflags);
        }
        pos += n;
    }
    bounce_put(s, bounce);
    return r;
}

static int luks_flush(LbNode *bs)
{
    LuksState *s = lb_node_opaque(bs);
    int r = lb_io_child(s->file, LB_REQ_FLUSH, 0, 0, NULL, 0, 0);

    if (r == 0 && s->header) {
        r = lb_io_child(s->header, LB_REQ_FLUSH, 0, 0, NULL, 0, 0);
    }
    return r;
}

/* ---- open / close -----------------------------------------------------------
 */

/* Recover a crashed LUKS2 reencryption hotzone (LB_REENC_REPAIR). */
static bool luks_reencrypt_recover(LuksState *s, const LbLuksIO *hio,
                                   const LbSecret *pass, GError **errp)
{
    LbReencOpts o = {.stage = LB_REENC_REPAIR};
    LbLuksIO dio;
    bool stopped;

    lb_luks_node_io(s->file, &dio);
    dio.truncate = NULL;
    if (!lb_luks2_reencrypt(hio, &dio, pass, NULL, &o, &stopped, errp)) {
        g_prefix_error(errp, "cannot recover the interrupted reencryption: ");
        return false;
    }
    return true;
}

static bool luks_open(LbNode *bs, LbOpts *opts, unsigned flags, GError **errp)
{
    LuksState *s = lb_node_opaque(bs);
    const char *key_secret = NULL;
    bool no_keys = (flags & LB_OPEN_NO_KEYS) != 0;
    g_autoptr(GError) local = NULL;
    g_autoptr(LbSecret) pass = NULL;
    LbLuksIO io;

    g_mutex_init(&s->pool_lock);
    s->pool_init = true;
    if (!lb_opts_get_string(opts, "key-secret", &key_secret, errp)) {
        return false;
    }
    s->file = lb_node_open_child(bs, opts, "file", true, flags, errp);
    if (!s->file) {
        return false;
    }
    s->header = lb_node_open_child(bs, opts, "header", false, flags, &local);
    if (local) {
        g_propagate_error(errp, g_steal_pointer(&local));
        return false;
    }
    /* The header is the luks node's metadata: nobody else may write or
     * resize it (the payload of a detached header is plain data). */
    if (s->header
            ? !lb_node_child_set_role(bs, "header", LB_CHILD_METADATA, errp)
            : !lb_node_child_set_role(bs, "file",
                                      LB_CHILD_DATA | LB_CHILD_METADATA,
                                      errp)) {
        return false;
    }
    if (!no_keys) {
        if (!key_secret) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Parameter 'key-secret' is required for cipher");
            return false;
        }
        pass = lb_secret_lookup(key_secret, errp);
        if (!pass) {
            return false;
        }
    }
    lb_luks_node_io(s->header ? s->header : s->file, &io);
    unsigned lflags = (no_keys ? LB_LUKS_OPEN_NO_KEYS : 0) |
                      (s->header ? LB_LUKS_OPEN_DETACHED : 0) |
                      (lb_node_is_writable(bs) ? 0 : LB_LUKS_OPEN_READ_ONLY);
    s->luks = lb_luks_open(&io, pass, lflags, &local);
    if (!s->luks && lb_luks_reencrypt_recover_needed(local) &&
        lb_node_is_writable(bs)) {
        /* A reencryption crashed in a hotzone: recover it (as cryptsetup
         * repair does) before any request can read it as clean. */
        g_clear_error(&local);
        if (!luks_reencrypt_recover(s, &io, pass, errp)) {
            return false;
        }
        s->luks = lb_luks_open(&io, pass, lflags, &local);
    }
    if (!s->luks) {
        g_propagate_error(errp, g_steal_pointer(&local));
        return false;
    }
    if (no_keys) {
        lb_node_set_read_only(bs); /* no volume key: no data path */
    }
    s->payload_offset = lb_luks_payload_offset(s->luks);
    /* Without a header child the payload shares the header's device; a
     * payload offset inside the header (0 for a detached header) would
     * let data writes destroy the key material.  QEMU refuses it too. */
    if (!s->header && !no_keys &&
        s->payload_offset < lb_luks_header_size(s->luks)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "LUKS payload is overlapping with the header (payload "
                    "offset %" PRIu64 "): open a detached header with "
                    "header= and the payload as file=",
                    s->payload_offset);
        return false;
    }
    s->payload_size = lb_luks_payload_size(s->luks);
    s->sector = lb_luks_sector_size(s->luks);
    LbBlockLimits lim = *lb_node_limits(s->file);
    lim.request_alignment = s->sector;
    lim.opt_transfer = MAX(lim.opt_transfer, s->sector);
    lim.discard_granularity = 0; /* no discard through the cipher */
    lim.zeroes_alignment = s->sector;
    lb_node_set_limits(bs, &lim);

    int64_t flen = lb_node_length(s->file);
    if (flen < 0) {
        return lb_block_errno_to_error((int)flen, errp,
                                       "cannot get payload size");
    }
    if (!no_keys && (uint64_t)flen < s->payload_offset + s->payload_size) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "payload file '%s' is too small: %" PRId64 " bytes, "
                    "but the LUKS header puts the payload at offset "
                    "%" PRIu64 "%s",
                    lb_node_filename(s->file), flen, s->payload_offset,
                    s->payload_size ? " with a fixed size" : "");
        return false;
    }
    return true;
}

static void luks_close(LbNode *bs)
{
    LuksState *s = lb_node_opaque(bs);

    lb_luks_free(g_steal_pointer(&s->luks));
    if (s->pool_init) {
        for (unsigned i = 0; i < s->pool_n; i++) {
            free(s->pool[i]);
        }
        s->pool_n = 0;
        g_mutex_clear(&s->pool_lock);
    }
}

LbLuks *lb_luks_drv_engine(LbNode *bs)
{
    g_assert(bs->drv == &lb_driver_luks);
    return ((LuksState *)lb_node_opaque(bs))->luks;
}

static bool luks_truncate(LbNode *bs, uint64_t size, LbPrealloc prealloc,
                          GError **errp)
{
    LuksState *s = lb_node_opaque(bs);

    if (size % s->sector) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "The new size must be a multiple of %u", s->sector);
        return false;
    }
    if (s->payload_size) {
        /* A LUKS2 segment of fixed size: the header records the size.
         * Grow the payload file first (when it is short), then the header;
         * a shrink only rewrites the header and leaves the file alone. */
        int64_t flen = lb_node_length(s->file);
        if (flen >= 0 && (uint64_t)flen < s->payload_offset + size &&
            !lb_node_truncate(s->file, s->payload_offset + size, prealloc,
                              errp)) {
            return false;
        }
        if (!lb_luks_set_payload_size(s->luks, size, errp)) {
            return false;
        }
        /* The data path reads it without the update lock held here. */
        __atomic_store_n(&s->payload_size, size, __ATOMIC_RELEASE);
        return true;
    }
    return lb_node_truncate(s->file, s->payload_offset + size, prealloc, errp);
}

/* ---- info -------------------------------------------------------------------
 */

static void add_id_list(JsonBuilder *b, const char *name, const char *csv)
{
    g_auto(GStrv) ids = g_strsplit(csv ? csv : "", ",", -1);

    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; ids[i]; i++) {
        if (*ids[i]) {
            json_builder_add_int_value(b, g_ascii_strtoll(ids[i], NULL, 10));
        }
    }
    json_builder_end_array(b);
}

#define MEMBER_STR(b, k, v)                                                    \
    do {                                                                       \
        json_builder_set_member_name(b, k);                                    \
        json_builder_add_string_value(b, v);                                   \
    } while (0)
#define MEMBER_INT(b, k, v)                                                    \
    do {                                                                       \
        json_builder_set_member_name(b, k);                                    \
        json_builder_add_int_value(b, (gint64)(v));                            \
    } while (0)

static bool slot_is_argon2(const LbLuksSlotInfo *k)
{
    return k->kdf && g_str_has_prefix(k->kdf, "argon2");
}

/*
 * A LUKS2 keyslot's KDF as cryptsetup luksDump lists it: argon2i/argon2id
 * with time cost, memory (KiB) and parallel threads, pbkdf2 with its hash
 * and (unless @iterations is false) iterations.
 */
static void add_kdf_info(JsonBuilder *b, const LbLuksSlotInfo *k,
                         bool iterations)
{
    MEMBER_STR(b, "kdf", k->kdf ? k->kdf : "pbkdf2");
    if (slot_is_argon2(k)) {
        MEMBER_INT(b, "time-cost", k->time_cost);
        MEMBER_INT(b, "memory", k->memory_kib);
        MEMBER_INT(b, "parallel", k->parallel);
    } else {
        MEMBER_STR(b, "kdf-hash", k->kdf_hash ? k->kdf_hash : "sha256");
        if (iterations) {
            MEMBER_INT(b, "iterations", k->iters);
        }
    }
}

static void add_luks2_info(JsonBuilder *b, const LbLuksInfo *info)
{
    MEMBER_INT(b, "version", info->version);
    if (info->label && *info->label) {
        MEMBER_STR(b, "label", info->label);
    }
    if (info->subsystem && *info->subsystem) {
        MEMBER_STR(b, "subsystem", info->subsystem);
    }
    MEMBER_INT(b, "sector-size", info->sector_size);
    MEMBER_INT(b, "metadata-size", info->hdr_size);
    MEMBER_INT(b, "keyslots-size", info->keyslots_size);
    MEMBER_INT(b, "seqid", info->seqid);
    if (info->flags && *info->flags) {
        MEMBER_STR(b, "config-flags", info->flags);
    }
    if (info->requirements) {
        MEMBER_STR(b, "requirements", info->requirements);
    }
    if (info->header_warning) {
        MEMBER_STR(b, "header-warning", info->header_warning);
    }
    json_builder_set_member_name(b, "keyslots");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < info->n_slots; i++) {
        const LbLuksSlotInfo *k = &info->slots[i];
        if (!k->active) {
            continue;
        }
        json_builder_begin_object(b);
        MEMBER_INT(b, "id", k->id);
        MEMBER_INT(b, "key-size", k->key_bytes);
        MEMBER_INT(b, "priority", k->priority);
        if (k->encryption) {
            MEMBER_STR(b, "encryption", k->encryption);
        }
        MEMBER_INT(b, "area-offset", k->key_offset);
        MEMBER_INT(b, "area-size", k->area_size);
        add_kdf_info(b, k, true);
        if (k->af_hash) {
            MEMBER_STR(b, "af-hash", k->af_hash);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "segments");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < info->n_segments; i++) {
        const LbLuksSegmentInfo *sg = &info->segments[i];
        json_builder_begin_object(b);
        MEMBER_INT(b, "id", sg->id);
        MEMBER_STR(b, "type", sg->type ? sg->type : "crypt");
        MEMBER_INT(b, "offset", sg->offset);
        if (sg->size) {
            MEMBER_INT(b, "size", sg->size);
        } else {
            MEMBER_STR(b, "size", "dynamic");
        }
        MEMBER_INT(b, "iv-tweak", sg->iv_tweak);
        MEMBER_STR(b, "encryption", sg->encryption ? sg->encryption : "");
        MEMBER_INT(b, "sector-size", sg->sector_size);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "digests");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < info->n_digests; i++) {
        const LbLuksDigestInfo *d = &info->digests[i];
        json_builder_begin_object(b);
        MEMBER_INT(b, "id", d->id);
        MEMBER_STR(b, "type", d->type ? d->type : "pbkdf2");
        MEMBER_STR(b, "hash", d->hash ? d->hash : "");
        MEMBER_INT(b, "iterations", d->iterations);
        add_id_list(b, "keyslots", d->keyslots);
        add_id_list(b, "segments", d->segments);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static char *luks_info_json(LbNode *bs)
{
    LuksState *s = lb_node_opaque(bs);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(s->luks);
    g_autoptr(JsonBuilder) b = json_builder_new();

    /* QEMU's ImageInfoSpecific / QCryptoBlockInfoLUKS, member order kept. */
    json_builder_begin_object(b);
    MEMBER_STR(b, "type", "luks");
    json_builder_set_member_name(b, "data");
    json_builder_begin_object(b);
    MEMBER_STR(b, "cipher-alg", info->cipher_alg ? info->cipher_alg : "");
    MEMBER_STR(b, "cipher-mode", info->cipher_mode ? info->cipher_mode : "");
    if (info->ivgen_alg) {
        MEMBER_STR(b, "ivgen-alg", info->ivgen_alg);
    }
    if (info->ivgen_hash_alg) {
        MEMBER_STR(b, "ivgen-hash-alg", info->ivgen_hash_alg);
    }
    MEMBER_STR(b, "hash-alg", info->hash_alg ? info->hash_alg : "");
    json_builder_set_member_name(b, "detached-header");
    json_builder_add_boolean_value(b, info->detached_header);
    MEMBER_INT(b, "payload-offset", info->payload_offset);
    MEMBER_INT(b, "master-key-iters", info->master_key_iters);
    MEMBER_STR(b, "uuid", info->uuid ? info->uuid : "");
    json_builder_set_member_name(b, "slots");
    json_builder_begin_array(b);
    for (unsigned i = 0; i < info->n_slots; i++) {
        const LbLuksSlotInfo *k = &info->slots[i];
        if (info->version >= 2 && !k->active) {
            continue; /* LUKS2 lists only the keyslots that exist */
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "active");
        json_builder_add_boolean_value(b, k->active);
        if (k->active) {
            /* QEMU's (optional) iters are PBKDF2 iterations: an argon2
             * slot has none, and shows its own cost below instead. */
            if (!slot_is_argon2(k)) {
                MEMBER_INT(b, "iters", k->iters);
            }
            MEMBER_INT(b, "stripes", k->stripes);
        }
        MEMBER_INT(b, "key-offset", k->key_offset);
        if (info->version >= 2) {
            add_kdf_info(b, k, false);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    if (info->version >= 2) {
        add_luks2_info(b, info);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);

    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autoptr(JsonGenerator) gen = json_generator_new();
    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

const LbBlockDriver lb_driver_luks = {
    .name = "luks",
    .state_size = sizeof(LuksState),
    /* control plane */
    .open = luks_open,
    .close = luks_close,
    .truncate = luks_truncate,
    .create = lb_luks_drv_create,
    .create_nodes = lb_luks_drv_create_nodes,
    .amend = lb_luks_drv_amend,
    .info_json = luks_info_json,
    /* data path (write_zeroes/discard: io.c's fallbacks) */
    .length = luks_length,
    .preadv = luks_preadv,
    .pwritev = luks_pwritev,
    .flush = luks_flush,
};
