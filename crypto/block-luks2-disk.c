/*
 * block-luks2-disk.c: LUKS2 binary headers and their two copies
 * (LUKS-FORMAT.md §3.1-§3.3, §4.1).
 *
 * Each copy is a 4096-byte big-endian binary header followed by the JSON
 * area; the checksum covers both with the csum field zeroed.  Reading
 * validates both copies (primary at 0; secondary at the primary's
 * hdr_size, or probed at 16 KiB..4 MiB when the primary binary header is
 * unreadable) and the copy with the higher seqid wins (the primary on a
 * tie).  A damaged or stale copy is only reported here; the next header
 * write rewrites both copies, which repairs it.
 *
 * Writing bumps seqid, encodes the metadata, decodes and validates that
 * encoding again (a header that does not validate is never written) and
 * writes each copy JSON area first and binary header last, primary before
 * secondary, with a flush after each copy, so that a crash leaves at least
 * one valid copy behind.
 */
#include "config.h"
#include "block-luks2-priv.h"

#include <string.h>

static const uint64_t probe_offsets[] = {
    16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304,
};

bool lb_luks2_hdr_size_valid(uint64_t size)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(probe_offsets); i++) {
        if (size == probe_offsets[i]) {
            return true;
        }
    }
    return false;
}

bool lb_luks2_has_secondary(LbLuks *luks)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(probe_offsets); i++) {
        guint8 b[8];
        if (lb_luks_io_read(luks, probe_offsets[i], b, sizeof(b), NULL) &&
            memcmp(b, lb_luks2_magic2, LB_LUKS_MAGIC_LEN) == 0 && b[6] == 0 &&
            b[7] == 2) {
            return true;
        }
    }
    return false;
}

LbLuks2Hdr *lb_luks2_hdr_new(void)
{
    return g_new0(LbLuks2Hdr, 1);
}

void lb_luks2_meta_clear(LbLuks2Meta *meta)
{
    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        g_free(meta->keyslots[i].area_encryption);
    }
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        g_free(meta->segments[i].encryption);
        g_strfreev(meta->segments[i].flags);
    }
    g_clear_pointer(&meta->tokens, json_node_unref);
    g_strfreev(meta->config_flags);
    g_strfreev(meta->requirements);
    memset(meta, 0, sizeof(*meta));
}

void lb_luks2_hdr_free(LbLuks2Hdr *hdr)
{
    if (!hdr) {
        return;
    }
    lb_luks2_meta_clear(&hdr->meta);
    g_free(hdr);
}

LbLuks2Hdr *lb_luks2_hdr_dup(const LbLuks2Hdr *hdr)
{
    LbLuks2Hdr *c = g_memdup2(hdr, sizeof(*hdr));
    LbLuks2Meta *m = &c->meta;

    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        m->keyslots[i].area_encryption =
            g_strdup(m->keyslots[i].area_encryption);
    }
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        m->segments[i].encryption = g_strdup(m->segments[i].encryption);
        m->segments[i].flags = g_strdupv(m->segments[i].flags);
    }
    m->tokens = m->tokens ? json_node_copy(m->tokens) : NULL;
    m->config_flags = g_strdupv(m->config_flags);
    m->requirements = g_strdupv(m->requirements);
    return c;
}

/* NUL-terminated within @len bytes, copied to @out (truncated to len-1). */
static void copy_field(char *out, const char *in, size_t len)
{
    memcpy(out, in, len);
    out[len - 1] = '\0';
}

/* Outcome of reading one copy. */
typedef struct LbLuks2Copy {
    LbLuks2Hdr *hdr; /* NULL when the copy is unusable */
    GError *err;
    bool bin_sane; /* magic, version, sizes and offset are right */
    bool csum_ok;  /* checksum matched (JSON may still be refused) */
    uint64_t hdr_size;
    uint64_t seqid;
} LbLuks2Copy;

static void copy_clear(LbLuks2Copy *c)
{
    lb_luks2_hdr_free(c->hdr);
    g_clear_error(&c->err);
    memset(c, 0, sizeof(*c));
}

static bool read_bin(LbLuks *luks, uint64_t off, LbLuks2HdrDisk *d,
                     LbLuks2Copy *c, GError **errp)
{
    bool primary = off == 0;

    if (!lb_luks_io_read(luks, off, d, sizeof(*d), errp)) {
        return false;
    }
    if (memcmp(d->magic, primary ? lb_luks_magic : lb_luks2_magic2,
               LB_LUKS_MAGIC_LEN) != 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT, "bad magic");
        return false;
    }
    c->hdr_size = GUINT64_FROM_BE(d->hdr_size);
    c->seqid = GUINT64_FROM_BE(d->seqid);
    if (GUINT16_FROM_BE(d->version) != 2) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "bad version %u", GUINT16_FROM_BE(d->version));
        return false;
    }
    if (!lb_luks2_hdr_size_valid(c->hdr_size)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "unsupported LUKS2 header size %" G_GUINT64_FORMAT,
                    c->hdr_size);
        return false;
    }
    if (GUINT64_FROM_BE(d->hdr_offset) != off ||
        (!primary && c->hdr_size != off)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "header offset mismatch");
        return false;
    }
    c->bin_sane = true;
    return true;
}

static void read_copy(LbLuks *luks, uint64_t off, LbLuks2Copy *c)
{
    LbLuks2HdrDisk d;
    LbHashAlg alg;
    guint8 csum[LB_HASH_MAX_DIGEST];
    GError **errp = &c->err;

    if (!read_bin(luks, off, &d, c, errp)) {
        return;
    }
    char alg_name[LB_LUKS2_CSUM_ALG_LEN];
    copy_field(alg_name, d.checksum_alg, sizeof(alg_name));
    if (!lb_hash_from_name(alg_name, &alg, NULL) || !lb_hash_supported(alg)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "checksum algorithm '%s' is not supported", alg_name);
        return;
    }
    size_t area_len = c->hdr_size - LB_LUKS2_BIN_SIZE;
    g_autofree char *area = g_malloc(area_len);
    if (!lb_luks_io_read(luks, off + LB_LUKS2_BIN_SIZE, area, area_len, errp)) {
        return;
    }
    guint8 stored[LB_LUKS2_CSUM_LEN];
    memcpy(stored, d.csum, sizeof(stored));
    memset(d.csum, 0, sizeof(d.csum));
    if (!lb_hash_bytes2(alg, &d, sizeof(d), area, area_len, csum, errp)) {
        return;
    }
    if (memcmp(csum, stored, lb_hash_digest_len(alg)) != 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "checksum mismatch");
        return;
    }
    c->csum_ok = true;

    size_t text_len = strnlen(area, area_len);
    if (text_len == area_len) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "JSON area is not NUL-terminated");
        return;
    }
    for (size_t i = text_len; i < area_len; i++) {
        if (area[i] != '\0') {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "garbage after the JSON metadata");
            return;
        }
    }
    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_new();
    if (!lb_luks2_json_decode(area, text_len, c->hdr_size, &hdr->meta, errp)) {
        return;
    }
    hdr->hdr_size = c->hdr_size;
    hdr->seqid = c->seqid;
    copy_field(hdr->label, d.label, sizeof(hdr->label));
    copy_field(hdr->subsystem, d.subsystem, sizeof(hdr->subsystem));
    copy_field(hdr->uuid, d.uuid, sizeof(hdr->uuid));
    g_strlcpy(hdr->checksum_alg, lb_hash_name(alg), sizeof(hdr->checksum_alg));
    c->hdr = g_steal_pointer(&hdr);
}

/* A copy that counts in the seqid race: usable, or checksummed but refused
 * as unsupported (then it must not be silently replaced by an older one). */
static bool copy_counts(const LbLuks2Copy *c)
{
    return c->hdr || (c->csum_ok && g_error_matches(c->err, LB_LUKS_ERROR,
                                                    LB_LUKS_ERROR_UNSUPPORTED));
}

LbLuks2Hdr *lb_luks2_hdr_read(LbLuks *luks, unsigned *state, char **warning,
                              GError **errp)
{
    LbLuks2Copy p = {0}, s = {0};
    LbLuks2Hdr *ret = NULL;

    read_copy(luks, 0, &p);
    if (p.bin_sane) {
        read_copy(luks, p.hdr_size, &s);
    }
    /* Primary binary header unusable: look for the secondary at every
     * allowed header size (§4.1). */
    for (unsigned i = 0; !copy_counts(&p) && !copy_counts(&s) &&
                         i < G_N_ELEMENTS(probe_offsets);
         i++) {
        if (p.bin_sane && probe_offsets[i] == p.hdr_size) {
            continue;
        }
        LbLuks2Copy t = {0};
        read_copy(luks, probe_offsets[i], &t);
        if (copy_counts(&t)) {
            copy_clear(&s);
            s = t;
        } else {
            copy_clear(&t);
        }
    }
    if (!s.bin_sane && !s.err) {
        g_set_error(&s.err, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT, "not found");
    }

    *state = 0;
    bool pc = copy_counts(&p), sc = copy_counts(&s);
    LbLuks2Copy *win = NULL;
    if (pc && sc) {
        win = s.seqid > p.seqid ? &s : &p;
        if (s.seqid != p.seqid) {
            *state |= LB_LUKS2_COPY_STALE;
        }
    } else if (pc) {
        win = &p;
        *state |= LB_LUKS2_COPY_SECONDARY_BAD;
    } else if (sc) {
        win = &s;
        *state |= LB_LUKS2_COPY_PRIMARY_BAD;
    }

    if (!win) {
        int code =
            g_error_matches(p.err, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED) ||
                    g_error_matches(s.err, LB_LUKS_ERROR,
                                    LB_LUKS_ERROR_UNSUPPORTED)
                ? LB_LUKS_ERROR_UNSUPPORTED
                : LB_LUKS_ERROR_CORRUPT;
        if (p.err && p.err->domain != LB_LUKS_ERROR) {
            code = LB_LUKS_ERROR_FAILED;
        }
        g_set_error(errp, LB_LUKS_ERROR, code,
                    "no valid LUKS2 header copy (primary: %s; secondary: %s)",
                    p.err ? p.err->message : "?", s.err ? s.err->message : "?");
    } else if (!win->hdr) {
        g_propagate_error(errp, g_steal_pointer(&win->err));
    } else {
        ret = g_steal_pointer(&win->hdr);
        if (*state & LB_LUKS2_COPY_PRIMARY_BAD) {
            *warning = g_strdup_printf(
                "LUKS2 primary header is damaged (%s); using the "
                "secondary copy",
                p.err ? p.err->message : "?");
        } else if (*state & LB_LUKS2_COPY_SECONDARY_BAD) {
            *warning = g_strdup_printf(
                "LUKS2 secondary header is damaged (%s); using the "
                "primary copy",
                s.err ? s.err->message : "?");
        } else if (*state & LB_LUKS2_COPY_STALE) {
            *warning =
                g_strdup_printf("LUKS2 header copies differ in seqid "
                                "(%" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT
                                "); using the newer",
                                p.seqid, s.seqid);
        }
    }
    copy_clear(&p);
    copy_clear(&s);
    return ret;
}

/* Write one copy: JSON area first, binary header (with checksum) last. */
static bool write_copy(LbLuks *luks, const LbLuks2Hdr *hdr, uint64_t seqid,
                       uint64_t off, const char *area, size_t area_len,
                       GError **errp)
{
    LbLuks2HdrDisk d;
    LbHashAlg alg;

    memset(&d, 0, sizeof(d));
    memcpy(d.magic, off == 0 ? lb_luks_magic : lb_luks2_magic2,
           LB_LUKS_MAGIC_LEN);
    d.version = GUINT16_TO_BE(2);
    d.hdr_size = GUINT64_TO_BE(hdr->hdr_size);
    d.seqid = GUINT64_TO_BE(seqid);
    g_strlcpy(d.label, hdr->label, sizeof(d.label));
    g_strlcpy(d.checksum_alg, hdr->checksum_alg, sizeof(d.checksum_alg));
    g_strlcpy(d.uuid, hdr->uuid, sizeof(d.uuid));
    g_strlcpy(d.subsystem, hdr->subsystem, sizeof(d.subsystem));
    d.hdr_offset = GUINT64_TO_BE(off);
    if (!lb_hash_from_name(hdr->checksum_alg, &alg, errp) ||
        !lb_random_bytes(d.salt, sizeof(d.salt), errp) ||
        !lb_hash_bytes2(alg, &d, sizeof(d), area, area_len, d.csum, errp)) {
        return false;
    }
    return lb_luks_io_write(luks, off + LB_LUKS2_BIN_SIZE, area, area_len,
                            errp) &&
           lb_luks_io_write(luks, off, &d, sizeof(d), errp) &&
           lb_luks_io_flush(luks, errp);
}

bool lb_luks2_hdr_write(LbLuks *luks, LbLuks2Hdr *hdr, GError **errp)
{
    size_t area_len = hdr->hdr_size - LB_LUKS2_BIN_SIZE;
    LbLuks2Meta check = {0};

    if (hdr->meta.requirements &&
        !lb_luks2_reenc_requirements_known(&hdr->meta)) {
        g_autofree char *req = g_strjoinv(", ", hdr->meta.requirements);
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "refusing to modify a LUKS2 header with unmet "
                    "requirements (%s)",
                    req);
        return false;
    }
    g_autofree char *json = lb_luks2_json_encode(&hdr->meta);
    size_t len = strlen(json);
    if (len >= area_len) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED,
                    "LUKS2 metadata (%zu bytes) does not fit the %zu-byte "
                    "JSON area",
                    len, area_len);
        return false;
    }
    bool ok = lb_luks2_json_decode(json, len, hdr->hdr_size, &check, errp);
    lb_luks2_meta_clear(&check);
    if (!ok) {
        g_prefix_error(errp, "refusing to write an invalid header: ");
        return false;
    }

    g_autofree char *area = g_malloc0(area_len);
    memcpy(area, json, len);
    uint64_t seqid = hdr->seqid + 1;
    if (!write_copy(luks, hdr, seqid, 0, area, area_len, errp) ||
        !write_copy(luks, hdr, seqid, hdr->hdr_size, area, area_len, errp)) {
        g_prefix_error(errp, "cannot write LUKS2 header: ");
        return false;
    }
    hdr->seqid = seqid;
    return true;
}
