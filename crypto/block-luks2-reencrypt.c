/*
 * block-luks2-reencrypt.c: LUKS2 reencryption in place, offline: init,
 * hotzones, finish, and recovery of a crashed hotzone, with cryptsetup
 * 2.6's on-disk states (shared/LUKS2-REENCRYPT.md "One hotzone",
 * "Recovery after a crash"), so either tool can resume the other.
 *
 * Modes and directions handled: encrypt (linear -> crypt), re-key
 * (crypt -> crypt) and decrypt (crypt -> linear), forward or backward,
 * without data shift (segments keep their data offset); resilience
 * checksum, journal and none.  Datashift is refused clearly.
 *
 * Position: forward, logical bytes [0, pos) are new and [pos, size) old;
 * backward, [0, pos) are old and [pos, size) new.  One hotzone:
 *
 *   read old bytes -> checksums/journal to the area -> commit hot segments
 *   -> rewrite the hotzone, fdatasync -> commit post segments
 *
 * (resilience none: no commits and no syncs per hotzone; the header is
 * committed at the end or when stopped).
 *
 * Size: past 1,000 lines.  The split when it next grows (datashift, the
 * online job): init, key creation and the entry point move to
 * block-luks2-reencrypt-init.c; segments, hotzones, recovery and finish
 * stay here, sharing the Reenc state through block-luks2-reencrypt-priv.h.
 */
#include "config.h"
#include "block-luks2-reencrypt-priv.h"

#include <string.h>

#define REENC_DEFAULT_HOTZONE (64u * 1024 * 1024)
#define REENC_NONE_HOTZONE (20u * 1024 * 1024)
#define REENC_MAX_HOTZONE (1024u * 1024 * 1024)
#define REENC_KEYSLOTS_SIZE 16744448u /* cryptsetup's detached default */
#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))

typedef struct Reenc {
    LbLuks *luks; /* header engine; its LbLuks2State holds the header */
    LbLuksIO data;
    const LbReencOpts *o;
    LbSecret *vk_old, *vk_new; /* NULL on a linear side */
    LbBlockCipher *c_old, *c_new;
    LbLuks2Segment prev, fin; /* copies of the backup segments */
    int ks;                   /* reencrypt keyslot */
    int d_old, d_new;         /* digests, -1 on a linear side */
    bool backward;
    uint64_t size; /* logical bytes */
    uint64_t pos;
} Reenc;

static LbLuks2Hdr *cur_hdr(Reenc *r)
{
    return ((LbLuks2State *)r->luks->fmt)->hdr;
}

static void reenc_clear(Reenc *r)
{
    lb_block_cipher_free(r->c_old);
    lb_block_cipher_free(r->c_new);
    lb_secret_free(r->vk_old);
    lb_secret_free(r->vk_new);
    g_free(r->prev.encryption);
    g_strfreev(r->prev.flags);
    g_free(r->fin.encryption);
    g_strfreev(r->fin.flags);
    lb_luks_free(r->luks);
    memset(r, 0, sizeof(*r));
}

static bool fail(GError **errp, int code, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool fail(GError **errp, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, LB_LUKS_ERROR, code, msg);
    return false;
}

static bool area_is_shift(const LbLuks2Keyslot *k)
{
    return g_str_has_prefix(k->re.area_type, "datashift");
}

/* ---- data device --------------------------------------------------------- */

static bool data_read(Reenc *r, uint64_t off, void *buf, size_t len,
                      GError **errp)
{
    return r->data.read(r->data.opaque, off, buf, len, errp);
}

static bool data_write(Reenc *r, uint64_t off, const void *buf, size_t len,
                       GError **errp)
{
    return r->data.write(r->data.opaque, off, buf, len, errp);
}

static bool data_sync(Reenc *r, GError **errp)
{
    return !r->data.flush || r->data.flush(r->data.opaque, errp);
}

/* ---- segments ------------------------------------------------------------ */

static void seg_copy(LbLuks2Segment *dst, const LbLuks2Segment *src)
{
    *dst = *src;
    dst->encryption = g_strdup(src->encryption);
    dst->flags = NULL;
}

static char **one_flag(const char *flag)
{
    return flag ? g_strdupv((char *[]){(char *)flag, NULL}) : NULL;
}

/*
 * Segment for logical [start, start+len) (len 0 = dynamic) of the volume
 * as @desc (a backup segment) describes it.
 */
static void seg_at(LbLuks2Segment *out, const LbLuks2Segment *desc,
                   uint64_t start, uint64_t len, const char *flag)
{
    seg_copy(out, desc);
    out->offset = desc->offset + start;
    out->iv_tweak = desc->linear ? 0 : desc->iv_tweak + start / 512;
    out->dynamic = len == 0;
    out->size = len;
    out->flags = one_flag(flag);
    out->used = true;
}

static void segs_clear(LbLuks2Meta *m)
{
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        g_free(m->segments[i].encryption);
        g_strfreev(m->segments[i].flags);
        memset(&m->segments[i], 0, sizeof(m->segments[i]));
    }
    for (unsigned i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        m->digests[i].segments = 0;
    }
}

/* Append a segment bound to the digests @d1, @d2 (-1 = none). */
static void seg_add(LbLuks2Meta *m, unsigned *n, const LbLuks2Segment *desc,
                    uint64_t start, uint64_t len, const char *flag, int d1,
                    int d2)
{
    seg_at(&m->segments[*n], desc, start, len, flag);
    if (d1 >= 0) {
        m->digests[d1].segments |= 1u << *n;
    }
    if (d2 >= 0) {
        m->digests[d2].segments |= 1u << *n;
    }
    (*n)++;
}

/*
 * Rebuild the segments of @m for position @pos with a hotzone [hs, hs+hl)
 * (hl 0: no hotzone, the "post" state).  Forward: new [0,pos) hot old;
 * backward: old [0,pos) hot new.  The backups follow.
 */
static void segs_build(Reenc *r, LbLuks2Meta *m, uint64_t hs, uint64_t hl)
{
    unsigned n = 0;
    bool hot_linear = r->fin.linear;
    int hd1 = r->d_new, hd2 = hot_linear ? -1 : r->d_old;

    if (r->fin.linear) {
        hd1 = -1;
    }
    if (r->prev.linear) {
        hd2 = -1;
    }
    segs_clear(m);
    if (!r->backward) {
        uint64_t done = hl ? hs : r->pos;
        if (done) {
            seg_add(m, &n, &r->fin, 0, done, NULL, r->d_new, -1);
        }
        if (hl) {
            seg_add(m, &n, &r->fin, hs, hl, "in-reencryption", hd1, hd2);
        }
        uint64_t rest = done + hl;
        if (rest < r->size || n == 0) {
            seg_add(m, &n, &r->prev, rest, 0, NULL, r->d_old, -1);
        }
    } else {
        uint64_t old_end = hl ? hs : r->pos;
        if (old_end) {
            /* Dynamic until the first hotzone, as cryptsetup writes it. */
            seg_add(m, &n, &r->prev, 0, old_end >= r->size ? 0 : old_end,
                    NULL, r->d_old, -1);
        }
        if (hl) {
            seg_add(m, &n, &r->fin, hs, hl, "in-reencryption", hd1, hd2);
        }
        uint64_t nstart = old_end + hl;
        if (nstart < r->size || n == 0) {
            seg_add(m, &n, &r->fin, nstart, 0, NULL, r->d_new, -1);
        }
    }
    seg_add(m, &n, &r->prev, 0, 0, "backup-previous", r->d_old, -1);
    seg_add(m, &n, &r->fin, 0, 0, "backup-final", r->d_new, -1);
    /* The backups are dynamic copies of the descriptors. */
    m->segments[n - 2].offset = r->prev.offset;
    m->segments[n - 1].offset = r->fin.offset;
}

/* Commit @hdr (a modified copy of the current header) and adopt it. */
static bool commit(Reenc *r, LbLuks2Hdr *hdr, GError **errp)
{
    LbLuks2State *st = r->luks->fmt;

    if (!lb_luks2_hdr_write(r->luks, hdr, errp)) {
        return false;
    }
    lb_luks2_hdr_free(st->hdr);
    st->hdr = hdr;
    st->copy_state = 0;
    return true;
}

static bool commit_segments(Reenc *r, uint64_t hs, uint64_t hl, GError **errp)
{
    LbLuks2Hdr *hdr = lb_luks2_hdr_dup(cur_hdr(r));

    segs_build(r, &hdr->meta, hs, hl);
    if (!commit(r, hdr, errp)) {
        lb_luks2_hdr_free(hdr);
        return false;
    }
    return true;
}

/* ---- ciphers -------------------------------------------------------------- */

static LbBlockCipher *seg_cipher(const LbLuks2Segment *s, const LbSecret *vk,
                                 GError **errp)
{
    const char *dash = strchr(s->encryption, '-');
    g_autofree char *name = g_strndup(s->encryption, dash - s->encryption);

    return lb_block_cipher_new(name, dash + 1, lb_secret_cdata(vk),
                               lb_secret_len(vk), errp);
}

/* Turn old bytes of logical [start, start+len) into new ones, in place,
 * with the cipher contexts @co and @cn (one pair per thread). */
static bool transform_with(Reenc *r, LbBlockCipher *co, LbBlockCipher *cn,
                           uint64_t start, guint8 *buf, size_t len,
                           GError **errp)
{
    int ret = 0;

    if (!r->prev.linear) {
        ret = lb_block_cipher_decrypt(co, r->prev.iv_tweak + start / 512,
                                      r->prev.sector_size, buf, buf, len);
    }
    if (ret == 0 && !r->fin.linear) {
        ret = lb_block_cipher_encrypt(cn, r->fin.iv_tweak + start / 512,
                                      r->fin.sector_size, buf, buf, len);
    }
    if (ret < 0) {
        return fail(errp, LB_LUKS_ERROR_FAILED, "cannot reencrypt: %s",
                    g_strerror(-ret));
    }
    return true;
}

static bool transform(Reenc *r, uint64_t start, guint8 *buf, size_t len,
                      GError **errp)
{
    return transform_with(r, r->c_old, r->c_new, start, buf, len, errp);
}

/* ---- keys ------------------------------------------------------------------ */

/* Unlock digest @di with @pass through any keyslot bound to it. */
static int unlock_digest(Reenc *r, int di, const LbSecret *pass,
                         LbSecret **vk, GError **errp)
{
    LbLuks2Hdr *hdr = cur_hdr(r);

    for (int id = 0; id < LB_LUKS2_MAX_KEYSLOTS; id++) {
        if (!hdr->meta.keyslots[id].used || hdr->meta.keyslots[id].re.used ||
            !(hdr->meta.digests[di].keyslots & (1u << id))) {
            continue;
        }
        int ret = lb_luks2_keyslot_unlock_digest(r->luks, hdr, id, di, pass,
                                                 vk, errp);
        if (ret != 0) {
            return ret < 0 ? -1 : id;
        }
    }
    return -2;
}

static bool bad_pass(GError **errp)
{
    return fail(errp, LB_LUKS_ERROR_BAD_PASSPHRASE,
                LB_LUKS_BAD_PASSPHRASE_MSG);
}

/* ---- the metadata digest ---------------------------------------------------- */

static bool meta_digest_verify(Reenc *r, GError **errp)
{
    return lb_luks2_reenc_digest_verify(&cur_hdr(r)->meta, r->vk_old,
                                        r->vk_new, errp);
}

static bool meta_digest_make(Reenc *r, LbLuks2Meta *m, GError **errp)
{
    int di = -1;

    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS && di < 0; i++) {
        di = m->digests[i].used ? -1 : i;
    }
    if (di < 0) {
        return fail(errp, LB_LUKS_ERROR_NO_SLOT, "no free LUKS2 digest");
    }
    g_autoptr(LbSecret) in = lb_luks2_reenc_digest_input(m, r->vk_old,
                                                         r->vk_new);
    LbLuks2Digest *d = &m->digests[di];
    uint64_t ms = r->o->iter_time_ms ? MIN(r->o->iter_time_ms, 125) : 125;
    if (!lb_luks2_digest_make(d, in, ms, 0, errp)) {
        return false;
    }
    d->keyslots = 1u << r->ks;
    return true;
}

/* ---- state from the header ---------------------------------------------------- */

/* Whether regular segment @i holds new data (by type, then by digest). */
static bool seg_is_new(Reenc *r, const LbLuks2Meta *m, int i)
{
    const LbLuks2Segment *s = &m->segments[i];

    if (s->linear) {
        return r->fin.linear;
    }
    if (r->prev.linear) {
        return true;
    }
    if (r->fin.linear) {
        return false;
    }
    return r->d_new >= 0 && (m->digests[r->d_new].segments & (1u << i)) &&
           !(r->d_old >= 0 && (m->digests[r->d_old].segments & (1u << i)));
}

/* Logical size: the data device minus the data offset, whole sectors. */
static bool compute_size(Reenc *r, GError **errp)
{
    int64_t len = r->data.length(r->data.opaque, errp);
    unsigned align = MAX(r->prev.sector_size, r->fin.sector_size);

    if (len < 0) {
        return false;
    }
    if ((uint64_t)len <= r->fin.offset) {
        return fail(errp, LB_LUKS_ERROR_INVALID,
                    "the data device (%" G_GINT64_FORMAT " bytes) is smaller "
                    "than the data offset", len);
    }
    r->size = ((uint64_t)len - r->fin.offset) / align * align;
    return true;
}

/*
 * Read the reencryption state from the header: backups, digests,
 * direction, size and position; hot_start and hot_len: the
 * in-reencryption segment (length 0 = none).
 */
static bool load_state(Reenc *r, uint64_t *hot_start, uint64_t *hot_len,
                       GError **errp)
{
    LbLuks2Meta *m = &cur_hdr(r)->meta;
    int prev = lb_luks2_seg_find(m, "backup-previous");
    int fin = lb_luks2_seg_find(m, "backup-final");
    const LbLuks2Keyslot *k;

    r->ks = lb_luks2_reenc_keyslot(m);
    g_assert(r->ks >= 0 && prev >= 0 && fin >= 0); /* checked at decode */
    k = &m->keyslots[r->ks];
    if (area_is_shift(k)) {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "reencryption with data shift (%s) is not supported",
                    k->re.area_type);
    }
    if (lb_luks2_seg_find(m, "backup-moved-segment") >= 0) {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "reencryption with a moved segment is not supported");
    }
    seg_copy(&r->prev, &m->segments[prev]);
    seg_copy(&r->fin, &m->segments[fin]);
    if (r->prev.offset != r->fin.offset) {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "reencryption that moves data is not supported");
    }
    r->d_old = r->prev.linear ? -1 : lb_luks2_seg_digest(m, prev);
    r->d_new = r->fin.linear ? -1 : lb_luks2_seg_digest(m, fin);
    if ((!r->prev.linear && r->d_old < 0) ||
        (!r->fin.linear && r->d_new < 0)) {
        return fail(errp, LB_LUKS_ERROR_CORRUPT,
                    "LUKS2 metadata: a backup segment has no digest");
    }
    r->backward = g_str_equal(k->re.direction, "backward");
    if (!compute_size(r, errp)) {
        return false;
    }

    *hot_len = 0;
    r->pos = r->backward ? r->size : 0;
    bool in_old_prefix = true;
    for (int i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        const LbLuks2Segment *s = &m->segments[i];
        if (!s->used || lb_luks2_seg_has_flag(s, "backup-previous") ||
            lb_luks2_seg_has_flag(s, "backup-final")) {
            continue;
        }
        uint64_t start = s->offset - r->fin.offset;
        uint64_t len = s->dynamic ? r->size - MIN(start, r->size) : s->size;
        if (s->offset < r->fin.offset || start > r->size ||
            len > r->size - start) {
            return fail(errp, LB_LUKS_ERROR_CORRUPT,
                        "LUKS2 reencryption segment %d is outside the data "
                        "device (payload smaller than the segments?)", i);
        }
        if (lb_luks2_seg_has_flag(s, "in-reencryption")) {
            *hot_start = start;
            *hot_len = len;
            in_old_prefix = false;
            continue;
        }
        bool is_new = seg_is_new(r, m, i);
        if (!r->backward && is_new) {
            r->pos = MAX(r->pos, start + len);
        }
        if (r->backward && is_new && in_old_prefix) {
            r->pos = MIN(r->pos, start);
            in_old_prefix = false;
        }
    }
    if (*hot_len) {
        r->pos = r->backward ? *hot_start + *hot_len : *hot_start;
    }
    return true;
}

/* ---- hotzones ----------------------------------------------------------------- */

static const LbLuks2Keyslot *re_slot(Reenc *r)
{
    return &cur_hdr(r)->meta.keyslots[r->ks];
}

static uint64_t hotzone_max(Reenc *r)
{
    const LbLuks2Keyslot *k = re_slot(r);
    unsigned align = MAX(MAX(r->prev.sector_size, r->fin.sector_size), 4096u);
    uint64_t hz;

    if (g_str_equal(k->re.area_type, "checksum")) {
        hz = k->area_size / lb_hash_digest_len(k->re.hash) *
             k->re.sector_size;
        hz = MIN(hz, r->o->hotzone_size ? r->o->hotzone_size
                                        : REENC_DEFAULT_HOTZONE);
    } else if (g_str_equal(k->re.area_type, "journal")) {
        hz = MIN(k->area_size, r->o->hotzone_size ? r->o->hotzone_size
                                                  : k->area_size);
    } else {
        hz = r->o->hotzone_size ? r->o->hotzone_size : REENC_NONE_HOTZONE;
    }
    hz = MIN(hz, REENC_MAX_HOTZONE);
    if (g_str_equal(k->re.area_type, "checksum")) {
        align = MAX(align, k->re.sector_size);
    }
    hz = hz / align * align;
    return MAX(hz, align);
}

/* One half of a hotzone for a thread: checksums of the old bytes into
 * @sums (when not NULL), then the old bytes turned into new ones. */
typedef struct Half {
    Reenc *r;
    LbBlockCipher *co, *cn;
    uint64_t start;
    guint8 *buf;
    size_t len;
    guint8 *sums;
    GError *err;
    bool ok;
} Half;

static gpointer half_run(gpointer opaque)
{
    Half *h = opaque;
    const LbLuks2Keyslot *k = re_slot(h->r);

    h->ok = true;
    if (h->sums) {
        size_t hl = lb_hash_digest_len(k->re.hash), bs = k->re.sector_size;
        for (size_t i = 0; h->ok && i * bs < h->len; i++) {
            h->ok = lb_hash_bytes(k->re.hash, h->buf + i * bs,
                                  MIN(bs, h->len - i * bs), h->sums + i * hl,
                                  &h->err);
        }
    }
    h->ok = h->ok && transform_with(h->r, h->co, h->cn, h->start, h->buf,
                                    h->len, &h->err);
    return NULL;
}

/*
 * Checksums of the old bytes of the hotzone into @sums (NULL: none), and
 * the hotzone reencrypted in @buf, on both cores when it is large: the
 * second half runs on a helper thread with its own cipher contexts.
 */
static bool hash_and_transform(Reenc *r, uint64_t hs, guint8 *buf,
                               size_t hl, guint8 *sums, GError **errp)
{
    const LbLuks2Keyslot *k = re_slot(r);
    size_t unit = MAX(MAX(r->prev.sector_size, r->fin.sector_size), 4096u);
    Half a = {.r = r, .co = r->c_old, .cn = r->c_new, .start = hs,
              .buf = buf, .len = hl, .sums = sums};
    Half b = a;
    g_autoptr(LbBlockCipher) co = NULL, cn = NULL;

    if (sums) {
        unit = MAX(unit, k->re.sector_size);
    }
    size_t half = hl / 2 / unit * unit;
    if (g_get_num_processors() < 2 || half < 4 * 1024 * 1024 ||
        (!r->prev.linear && !(co = seg_cipher(&r->prev, r->vk_old, NULL))) ||
        (!r->fin.linear && !(cn = seg_cipher(&r->fin, r->vk_new, NULL)))) {
        half_run(&a);
    } else {
        a.len = half;
        b.co = co;
        b.cn = cn;
        b.start = hs + half;
        b.buf = buf + half;
        b.len = hl - half;
        b.sums = sums ? sums + half / k->re.sector_size *
                                   lb_hash_digest_len(k->re.hash)
                      : NULL;
        GThread *t = g_thread_new("lb-reencrypt", half_run, &b);
        half_run(&a);
        g_thread_join(t);
        if (!b.ok) {
            g_clear_error(&a.err);
            g_propagate_error(errp, b.err);
            return false;
        }
    }
    if (!a.ok) {
        g_propagate_error(errp, a.err);
        return false;
    }
    return true;
}

/*
 * Bytes of the reencryption area that can hold data: the checksums of the
 * whole volume at most (whoever chose the hotzones), or the whole journal.
 */
static uint64_t area_used(Reenc *r)
{
    const LbLuks2Keyslot *k = re_slot(r);

    if (g_str_equal(k->re.area_type, "checksum")) {
        uint64_t bs = k->re.sector_size;
        return ROUND_UP((r->size + bs - 1) / bs *
                            lb_hash_digest_len(k->re.hash),
                        4096);
    }
    return g_str_equal(k->re.area_type, "journal") ? k->area_size : 0;
}

/* Finish: one segment as backup-final said, old keyslots and metadata
 * gone; then the freed areas are wiped. */
static bool finish(Reenc *r, GError **errp)
{
    LbLuks2Hdr *hdr = lb_luks2_hdr_dup(cur_hdr(r));
    LbLuks2Meta *m = &hdr->meta;
    guint32 gone = 1u << r->ks;
    unsigned n = 0;

    segs_clear(m);
    seg_add(m, &n, &r->fin, 0, 0, NULL, r->d_new, -1);
    if (r->d_old >= 0 && r->d_old != r->d_new) {
        gone |= m->digests[r->d_old].keyslots;
        memset(&m->digests[r->d_old], 0, sizeof(m->digests[0]));
    }
    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (m->digests[i].used && (m->digests[i].keyslots & (1u << r->ks))) {
            memset(&m->digests[i], 0, sizeof(m->digests[0]));
        }
    }
    LbLuks2Keyslot wipe[LB_LUKS2_MAX_KEYSLOTS];
    unsigned nw = 0;
    for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (gone & (1u << i) && m->keyslots[i].used) {
            wipe[nw] = m->keyslots[i];
            /* Of the reencryption area only what a hotzone can have used
             * (checksums, or the journal of one hotzone) holds data. */
            if (i == r->ks) {
                wipe[nw].area_size = MIN(wipe[nw].area_size, area_used(r));
            }
            nw++;
            g_free(m->keyslots[i].area_encryption);
            memset(&m->keyslots[i], 0, sizeof(m->keyslots[i]));
            for (int d = 0; d < LB_LUKS2_MAX_DIGESTS; d++) {
                m->digests[d].keyslots &= ~(1u << i);
            }
        }
    }
    g_clear_pointer(&m->requirements, g_strfreev);
    if (!commit(r, hdr, errp)) {
        lb_luks2_hdr_free(hdr);
        return false;
    }
    /* The areas are no longer referenced: wipe them (old key material,
     * checksums or plaintext journal). */
    g_autofree guint8 *rnd = NULL;
    for (unsigned i = 0; i < nw; i++) {
        if (!wipe[i].area_size) {
            continue;
        }
        rnd = g_realloc(rnd, wipe[i].area_size);
        if (!lb_random_bytes(rnd, wipe[i].area_size, errp) ||
            !lb_luks_io_write(r->luks, wipe[i].area_offset, rnd,
                              wipe[i].area_size, errp)) {
            g_prefix_error(errp, "reencryption finished, but wiping the old "
                                 "key material failed: ");
            return false;
        }
    }
    return lb_luks_io_flush(r->luks, errp);
}

static bool complete(Reenc *r)
{
    return r->backward ? r->pos == 0 : r->pos >= r->size;
}

/* One hotzone of at most @max bytes at the current position. */
static bool step(Reenc *r, guint8 *buf, uint64_t max, GError **errp)
{
    bool none = g_str_equal(re_slot(r)->re.area_type, "none");
    uint64_t hs, hl;

    if (r->backward) {
        hl = MIN(max, r->pos);
        hs = r->pos - hl;
    } else {
        hs = r->pos;
        hl = MIN(max, r->size - r->pos);
    }
    if (!data_read(r, r->fin.offset + hs, buf, hl, errp)) {
        return false;
    }
    /* Protect the old bytes: their checksums, or a copy in the journal
     * (written before the buffer is reencrypted). */
    const LbLuks2Keyslot *k = re_slot(r);
    bool checksum = g_str_equal(k->re.area_type, "checksum");
    size_t nsums = checksum ? (hl + k->re.sector_size - 1) /
                                  k->re.sector_size *
                                  lb_hash_digest_len(k->re.hash)
                            : 0;
    g_autofree guint8 *sums = checksum ? g_malloc(nsums) : NULL;
    if (g_str_equal(k->re.area_type, "journal") &&
        !lb_luks_io_write(r->luks, k->area_offset, buf, hl, errp)) {
        return false;
    }
    if (!hash_and_transform(r, hs, buf, hl, sums, errp) ||
        (checksum &&
         !lb_luks_io_write(r->luks, k->area_offset, sums, nsums, errp))) {
        return false;
    }
    /* The hot segments commit flushes the area with the header. */
    if (!none && !commit_segments(r, hs, hl, errp)) {
        return false;
    }
    if (!data_write(r, r->fin.offset + hs, buf, hl, errp) ||
        (!none && !data_sync(r, errp))) {
        return false;
    }
    r->pos = r->backward ? hs : hs + hl;
    if (!none && !complete(r) && !commit_segments(r, 0, 0, errp)) {
        return false;
    }
    return true;
}

/* ---- recovery --------------------------------------------------------------------- */

static bool recover(Reenc *r, uint64_t hs, uint64_t hl, GError **errp)
{
    const LbLuks2Keyslot *k = re_slot(r);
    g_autofree guint8 *buf = g_try_malloc(hl);

    if (!buf) {
        return fail(errp, LB_LUKS_ERROR_FAILED, "out of memory");
    }
    if (g_str_equal(k->re.area_type, "journal")) {
        if (hl > k->area_size) {
            return fail(errp, LB_LUKS_ERROR_CORRUPT,
                        "hotzone is larger than the journal");
        }
        if (!lb_luks_io_read(r->luks, k->area_offset, buf, hl, errp) ||
            !transform(r, hs, buf, hl, errp)) {
            return false;
        }
    } else if (g_str_equal(k->re.area_type, "checksum")) {
        size_t hlen = lb_hash_digest_len(k->re.hash), bs = k->re.sector_size;
        size_t nb = (hl + bs - 1) / bs;
        if (nb * hlen > k->area_size) {
            return fail(errp, LB_LUKS_ERROR_CORRUPT,
                        "hotzone is larger than the checksum area covers");
        }
        g_autofree guint8 *sums = g_malloc(nb * hlen);
        guint8 h[LB_HASH_MAX_DIGEST];
        if (!data_read(r, r->fin.offset + hs, buf, hl, errp) ||
            !lb_luks_io_read(r->luks, k->area_offset, sums, nb * hlen, errp)) {
            return false;
        }
        for (size_t i = 0; i < nb; i++) {
            size_t n = MIN(bs, hl - i * bs);
            if (!lb_hash_bytes(k->re.hash, buf + i * bs, n, h, errp)) {
                return false;
            }
            /* Still the old bytes: convert; otherwise already new. */
            if (memcmp(h, sums + i * hlen, hlen) == 0 &&
                !transform(r, hs + i * bs, buf + i * bs, n, errp)) {
                return false;
            }
        }
    } else {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "a hotzone with resilience '%s' cannot be recovered",
                    k->re.area_type);
    }
    if (!data_write(r, r->fin.offset + hs, buf, hl, errp) ||
        !data_sync(r, errp)) {
        return false;
    }
    r->pos = r->backward ? hs : hs + hl;
    return complete(r) ? finish(r, errp) : commit_segments(r, 0, 0, errp);
}

/* ---- init ---------------------------------------------------------------------- */

/* The largest free gap of the keyslots area, 4096-aligned. */
static bool largest_gap(const LbLuks2Hdr *hdr, uint64_t *off, uint64_t *len,
                        GError **errp)
{
    uint64_t start = 2 * hdr->hdr_size, end = start + hdr->meta.keyslots_size;

    *len = 0;
    /* Candidate gaps start at the area start or at the end of a keyslot. */
    for (int c = -1; c < LB_LUKS2_MAX_KEYSLOTS; c++) {
        const LbLuks2Keyslot *ck = c >= 0 ? &hdr->meta.keyslots[c] : NULL;
        if (ck && !ck->used) {
            continue;
        }
        uint64_t gs = ck ? (ck->area_offset + ck->area_size + 4095) / 4096 *
                               4096
                         : start;
        uint64_t ge = end;
        bool inside = false;
        for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
            const LbLuks2Keyslot *k = &hdr->meta.keyslots[i];
            if (!k->used) {
                continue;
            }
            if (k->area_offset <= gs && gs < k->area_offset + k->area_size) {
                inside = true;
            } else if (k->area_offset > gs) {
                ge = MIN(ge, k->area_offset);
            }
        }
        if (!inside && ge > gs && ge - gs > *len) {
            *off = gs;
            *len = ge - gs;
        }
    }
    if (*len < 4096) {
        return fail(errp, LB_LUKS_ERROR_NO_SLOT,
                    "no room for the reencryption area in the keyslots "
                    "area");
    }
    return true;
}

static int free_keyslot(const LbLuks2Meta *m)
{
    for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (!m->keyslots[i].used) {
            return i;
        }
    }
    return -1;
}

static int free_digest(const LbLuks2Meta *m)
{
    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (!m->digests[i].used) {
            return i;
        }
    }
    return -1;
}

/* Key bytes for @spec: explicit @bits, else @fallback, else 512/256. */
static bool new_key_bytes(const char *spec, unsigned bits, size_t fallback,
                          size_t *out, GError **errp)
{
    const char *dash = strchr(spec, '-');
    if (!dash) {
        return fail(errp, LB_LUKS_ERROR_INVALID, "invalid cipher '%s'", spec);
    }
    g_autofree char *name = g_strndup(spec, dash - spec);
    g_autofree char *chain = g_strdup(dash + 1);
    char *d2 = strchr(chain, '-');
    if (d2) {
        *d2 = '\0';
    }
    *out = bits ? bits / 8
                : fallback ? fallback : g_str_equal(chain, "xts") ? 64 : 32;
    if (bits % 8 || !lb_cipher_key_bytes_valid(name, chain, *out)) {
        return fail(errp, LB_LUKS_ERROR_INVALID,
                    "cipher %s with a %zu-bit key is not supported", spec,
                    *out * 8);
    }
    return true;
}

static bool init(Reenc *r, const LbSecret *pass, const LbSecret *new_pass,
                 LbSecret *created_vk, GError **errp)
{
    const LbReencOpts *o = r->o;
    LbLuks2Hdr *hdr = lb_luks2_hdr_dup(cur_hdr(r));
    g_autoptr(LbLuks2Hdr) guard = hdr;
    LbLuks2Meta *m = &hdr->meta;
    int d0 = lb_luks2_segment_digest(m);
    int unlocked = -1;

    for (int i = 1; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        if (m->segments[i].used) {
            return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                        "LUKS2 header has several segments");
        }
    }
    if (d0 < 0 || m->segments[0].linear) {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS2 header has no encrypted segment");
    }
    if (created_vk) {
        r->vk_new = lb_secret_dup(created_vk);
        unlocked = 0;
    } else {
        LbSecret *vk = NULL;
        unlocked = unlock_digest(r, d0, pass, &vk, errp);
        if (unlocked == -1) {
            return false;
        }
        if (unlocked < 0) {
            return bad_pass(errp);
        }
        r->vk_old = vk;
    }

    const LbLuks2Segment *s0 = &m->segments[0];
    const char *res = o->resilience ? o->resilience : "checksum";
    if (!g_str_equal(res, "checksum") && !g_str_equal(res, "journal") &&
        !g_str_equal(res, "none")) {
        return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                    "resilience '%s' is not supported here (checksum, "
                    "journal, none; datashift needs --reduce-device-size)",
                    res);
    }
    switch (o->mode) {
    case LB_REENC_ENCRYPT:
        seg_copy(&r->fin, s0);
        r->prev = (LbLuks2Segment){.used = true, .linear = true,
                                   .offset = s0->offset, .dynamic = true,
                                   .sector_size = 512};
        r->d_old = -1;
        r->d_new = d0;
        break;
    case LB_REENC_DECRYPT:
        if (s0->offset != 0) {
            return fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
                        "decrypting a volume with an attached header needs a "
                        "data shift, which is not supported yet");
        }
        seg_copy(&r->prev, s0);
        r->fin = (LbLuks2Segment){.used = true, .linear = true,
                                  .offset = s0->offset, .dynamic = true,
                                  .sector_size = 512};
        r->d_old = d0;
        r->d_new = -1;
        r->backward = true;
        break;
    case LB_REENC_REENCRYPT: {
        size_t kb;
        seg_copy(&r->prev, s0);
        seg_copy(&r->fin, s0);
        if (o->cipher) {
            g_free(r->fin.encryption);
            r->fin.encryption = g_strdup(o->cipher);
        }
        if (o->sector_size) {
            r->fin.sector_size = o->sector_size;
        }
        if (!new_key_bytes(r->fin.encryption, o->key_bits,
                           o->cipher ? 0 : lb_secret_len(r->vk_old), &kb,
                           errp)) {
            return false;
        }
        r->vk_new = lb_secret_new(kb);
        g_autoptr(LbBlockCipher) check = NULL;
        if (!lb_random_bytes(lb_secret_data(r->vk_new), kb, errp) ||
            !(check = seg_cipher(&r->fin, r->vk_new, errp))) {
            return false;
        }
        r->d_old = d0;
        r->d_new = free_digest(m);
        int slot = free_keyslot(m);
        if (r->d_new < 0 || slot < 0) {
            return fail(errp, LB_LUKS_ERROR_NO_SLOT,
                        "no free keyslot or digest for the new volume key");
        }
        if (!lb_luks2_digest_make(&m->digests[r->d_new], r->vk_new,
                                  o->iter_time_ms, 0, errp) ||
            !lb_luks2_keyslot_make(r->luks, hdr, slot,
                                   &m->keyslots[unlocked], r->fin.encryption,
                                   new_pass ? new_pass : pass, r->vk_new,
                                   o->iter_time_ms, 0, errp)) {
            return false;
        }
        m->digests[r->d_new].keyslots = 1u << slot;
        break;
    }
    }
    if (r->fin.sector_size < 512 || r->fin.sector_size > 4096 ||
        (r->fin.sector_size & (r->fin.sector_size - 1))) {
        return fail(errp, LB_LUKS_ERROR_INVALID, "invalid sector size %u",
                    r->fin.sector_size);
    }
    if (!compute_size(r, errp)) {
        return false;
    }
    if (r->size % r->fin.sector_size || r->size % r->prev.sector_size) {
        return fail(errp, LB_LUKS_ERROR_INVALID,
                    "the data size is not a multiple of the sector size");
    }
    r->pos = r->backward ? r->size : 0;

    /* The reencrypt keyslot in the largest free gap. */
    r->ks = free_keyslot(m);
    if (r->ks < 0) {
        return fail(errp, LB_LUKS_ERROR_NO_SLOT, "all keyslots are in use");
    }
    LbLuks2Keyslot *k = &m->keyslots[r->ks];
    memset(k, 0, sizeof(*k));
    if (!largest_gap(hdr, &k->area_offset, &k->area_size, errp)) {
        return false;
    }
    k->used = k->re.used = true;
    k->key_size = 1;
    k->priority = 0;
    g_strlcpy(k->re.mode,
              o->mode == LB_REENC_ENCRYPT   ? "encrypt"
              : o->mode == LB_REENC_DECRYPT ? "decrypt"
                                            : "reencrypt",
              sizeof(k->re.mode));
    g_strlcpy(k->re.direction, r->backward ? "backward" : "forward",
              sizeof(k->re.direction));
    g_strlcpy(k->re.area_type, res, sizeof(k->re.area_type));
    if (g_str_equal(res, "checksum")) {
        if (!lb_hash_from_name(o->hash ? o->hash : "sha256", &k->re.hash,
                               errp)) {
            return false;
        }
        unsigned bs = o->block_size ? o->block_size : 4096;
        k->re.sector_size =
            MAX(bs, MAX(r->prev.sector_size, r->fin.sector_size));
    }
    segs_build(r, m, 0, 0);
    g_strfreev(m->requirements);
    m->requirements = g_strdupv((char *[]){"online-reencrypt-v2", NULL});
    if (!meta_digest_make(r, m, errp)) {
        return false;
    }
    guard = NULL;
    if (!commit(r, hdr, errp)) {
        lb_luks2_hdr_free(hdr);
        return false;
    }
    return true;
}

/* ---- entry ------------------------------------------------------------------------ */

/* dm-crypt spec + key bits -> QEMU-style create options. */
static bool spec_to_create(const char *spec, unsigned bits,
                           LbLuksCreateOpts *c, char **alg, char **chain,
                           char **ivgen, char **ivhash, GError **errp)
{
    g_auto(GStrv) p = g_strsplit(spec, "-", 3);
    size_t kb;

    if (!p[0] || !p[1] || !new_key_bytes(spec, bits, 0, &kb, errp)) {
        return p[0] && p[1] ? false
                            : fail(errp, LB_LUKS_ERROR_INVALID,
                                   "invalid cipher '%s'", spec);
    }
    *alg = g_strdup_printf("%s-%zu", p[0],
                           kb * 8 / (g_str_equal(p[1], "xts") ? 2 : 1));
    *chain = g_strdup(p[1]);
    if (p[2]) {
        char *colon = strchr(p[2], ':');
        if (colon) {
            *ivhash = g_strdup(colon + 1);
            *colon = '\0';
        }
        *ivgen = g_strdup(p[2]);
    }
    c->cipher_alg = *alg;
    c->cipher_mode = *chain;
    c->ivgen_alg = *ivgen;
    c->ivgen_hash_alg = *ivhash;
    return true;
}

static bool create_header(const LbLuksIO *io, const LbReencOpts *o,
                          const LbSecret *pass, LbSecret **vk, GError **errp)
{
    LbLuksCreateOpts c = {
        .version = 2,
        .detached = true,
        .sector_size = o->sector_size,
        .pbkdf = o->pbkdf,
        .iter_time_ms = o->iter_time_ms,
        .keyslots_size = REENC_KEYSLOTS_SIZE,
    };
    g_autofree char *alg = NULL, *chain = NULL, *ivgen = NULL, *ivh = NULL;

    if (!spec_to_create(o->cipher ? o->cipher : "aes-xts-plain64",
                        o->key_bits, &c, &alg, &chain, &ivgen, &ivh, errp)) {
        return false;
    }
    g_autoptr(LbLuks) l = lb_luks_create(io, &c, pass, errp);
    if (!l) {
        return false;
    }
    *vk = lb_secret_dup(l->master_key);
    return true;
}

static bool unlock_resume(Reenc *r, const LbSecret *pass,
                          const LbSecret *new_pass, GError **errp)
{
    const LbSecret *cands[] = {pass, new_pass};
    LbSecret **want[] = {&r->vk_old, &r->vk_new};
    int dig[] = {r->d_old, r->d_new};

    for (unsigned w = 0; w < 2; w++) {
        for (unsigned c = 0; dig[w] >= 0 && !*want[w] && c < 2; c++) {
            if (cands[c] &&
                unlock_digest(r, dig[w], cands[c], want[w], errp) == -1) {
                return false;
            }
        }
        if (dig[w] >= 0 && !*want[w]) {
            return bad_pass(errp);
        }
    }
    return true;
}

static bool run(Reenc *r, bool *stopped, GError **errp)
{
    bool none = g_str_equal(re_slot(r)->re.area_type, "none");
    uint64_t max = hotzone_max(r);
    g_autofree guint8 *buf = NULL;

    if (none && r->o->warn) {
        r->o->warn(r->o->opaque,
                   "resilience 'none': a crash or kill -9 during "
                   "reencryption loses data (SIGINT/SIGTERM stop safely)");
    }
    if (!complete(r) && !(buf = g_try_malloc(max))) {
        return fail(errp, LB_LUKS_ERROR_FAILED,
                    "cannot allocate a %" G_GUINT64_FORMAT "-byte hotzone",
                    max);
    }
    while (!complete(r)) {
        if (r->o->stop && *r->o->stop) {
            *stopped = true;
            return !none || commit_segments(r, 0, 0, errp);
        }
        if (!step(r, buf, max, errp)) {
            return false;
        }
        if (r->o->progress) {
            r->o->progress(r->o->opaque,
                           r->backward ? r->size - r->pos : r->pos, r->size);
        }
    }
    return finish(r, errp);
}

bool lb_luks2_reencrypt(const LbLuksIO *hdr_io, const LbLuksIO *data_io,
                        const LbSecret *pass, const LbSecret *new_pass,
                        const LbReencOpts *o, bool *stopped, GError **errp)
{
    Reenc r = {.data = *data_io, .o = o, .d_old = -1, .d_new = -1};
    g_autoptr(LbSecret) created_vk = NULL;
    guint8 probe[8] = {0};
    uint64_t hs = 0, hl = 0;
    bool ok = false;

    *stopped = false;
    if (!hdr_io->read(hdr_io->opaque, 0, probe, sizeof(probe), NULL) ||
        lb_luks_probe(probe, sizeof(probe)) == 0) {
        if (o->mode != LB_REENC_ENCRYPT || o->stage == LB_REENC_RESUME_ONLY ||
            o->stage == LB_REENC_REPAIR) {
            return fail(errp, LB_LUKS_ERROR_NOT_LUKS,
                        "volume is not in LUKS format");
        }
        /* Never format over something that is there already (the data
         * device given as --header by mistake). */
        int64_t hlen = hdr_io->length(hdr_io->opaque, errp);
        if (hlen < 0) {
            return false;
        }
        if (hlen > 0) {
            return fail(errp, LB_LUKS_ERROR_INVALID,
                        "the header file is not empty and holds no LUKS "
                        "header; refusing to overwrite it");
        }
        if (!create_header(hdr_io, o, pass, &created_vk, errp)) {
            return false;
        }
    }
    r.luks = lb_luks_open(hdr_io, NULL, LB_LUKS_OPEN_NO_KEYS, errp);
    if (!r.luks) {
        goto out;
    }
    if (lb_luks_version(r.luks) != 2) {
        fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
             "reencryption needs a LUKS2 header (convert it first: "
             "cryptsetup convert --type luks2)");
        goto out;
    }
    LbLuks2Meta *m = &cur_hdr(&r)->meta;
    if (!m->requirements) {
        if (o->stage == LB_REENC_REPAIR) {
            ok = true; /* nothing to recover, as cryptsetup */
            goto out;
        }
        if (o->stage == LB_REENC_RESUME_ONLY) {
            fail(errp, LB_LUKS_ERROR_INVALID,
                 "LUKS2 device is not in reencryption");
            goto out;
        }
        if (o->mode == LB_REENC_ENCRYPT && !created_vk) {
            fail(errp, LB_LUKS_ERROR_INVALID,
                 "the header already holds a LUKS volume; refusing to "
                 "encrypt its data again");
            goto out;
        }
        if (!init(&r, pass, new_pass, created_vk, errp)) {
            goto out;
        }
        if (o->stage == LB_REENC_INIT_ONLY) {
            ok = true;
            goto out;
        }
        r.c_old = r.prev.linear ? NULL : seg_cipher(&r.prev, r.vk_old, errp);
        r.c_new = r.fin.linear ? NULL : seg_cipher(&r.fin, r.vk_new, errp);
        if ((!r.prev.linear && !r.c_old) || (!r.fin.linear && !r.c_new)) {
            goto out;
        }
        ok = run(&r, stopped, errp);
        goto out;
    }
    if (!lb_luks2_reenc_requirements_known(m)) {
        g_autofree char *req = g_strjoinv(", ", m->requirements);
        fail(errp, LB_LUKS_ERROR_UNSUPPORTED,
             "LUKS2 header has unmet requirements (%s)", req);
        goto out;
    }
    if (o->stage == LB_REENC_INIT_ONLY) {
        fail(errp, LB_LUKS_ERROR_INVALID,
             "LUKS2 reencryption already initialized");
        goto out;
    }
    if (!load_state(&r, &hs, &hl, errp) ||
        !unlock_resume(&r, pass, new_pass, errp) ||
        !meta_digest_verify(&r, errp)) {
        goto out;
    }
    r.c_old = r.prev.linear ? NULL : seg_cipher(&r.prev, r.vk_old, errp);
    r.c_new = r.fin.linear ? NULL : seg_cipher(&r.fin, r.vk_new, errp);
    if ((!r.prev.linear && !r.c_old) || (!r.fin.linear && !r.c_new)) {
        goto out;
    }
    if (hl && !recover(&r, hs, hl, errp)) {
        goto out;
    }
    if (o->stage == LB_REENC_REPAIR) {
        ok = true;
        goto out;
    }
    /* A recovered last hotzone already finished the operation. */
    ok = hl && complete(&r) ? true : run(&r, stopped, errp);
out:
    reenc_clear(&r);
    return ok;
}

LbReencStatus lb_luks2_reencrypt_status(LbLuks *luks)
{
    if (lb_luks_version(luks) != 2) {
        return LB_REENC_STATUS_NONE;
    }
    const LbLuks2Meta *m = &((LbLuks2State *)luks->fmt)->hdr->meta;
    if (lb_luks2_reenc_keyslot(m) < 0) {
        return LB_REENC_STATUS_NONE;
    }
    return lb_luks2_seg_find(m, "in-reencryption") >= 0
               ? LB_REENC_STATUS_CRASH
               : LB_REENC_STATUS_CLEAN;
}
