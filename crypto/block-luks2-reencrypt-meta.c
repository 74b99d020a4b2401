/*
 * block-luks2-reencrypt-meta.c: the LUKS2 reencryption metadata: the
 * "reencrypt" keyslot and "linear" segments in JSON, the rules of a
 * header mid-reencryption, and the reencryption metadata digest
 * (shared/LUKS2-REENCRYPT.md "The reencrypt keyslot", "Segments during
 * the operation", "The reencryption metadata digest"; cryptsetup 2.6.1
 * lib/luks2/luks2_reencrypt_digest.c).
 *
 * The JSON hooks are called by block-luks2-json.c and
 * block-luks2-json-encode.c; the engine that uses them is
 * block-luks2-reencrypt.c.
 */
#include "config.h"
#include "block-luks2-reencrypt-priv.h"

#include <string.h>

static void G_GNUC_PRINTF(3, 4)
    meta_err(GError **errp, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, LB_LUKS_ERROR, code, "LUKS2 metadata: %s", msg);
}

#define CORRUPT(errp, ...) meta_err(errp, LB_LUKS_ERROR_CORRUPT, __VA_ARGS__)

/* ---- JSON decoding ------------------------------------------------------ */

static const char *jstr(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

static bool jint(JsonObject *o, const char *name, int64_t *out)
{
    JsonNode *n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_INT64) {
        return false;
    }
    *out = json_node_get_int(n);
    return true;
}

/* A decimal string without sign, blanks or leading zeros. */
static bool ju64(JsonObject *o, const char *name, uint64_t *out)
{
    const char *s = jstr(o, name);
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > 20 || (n > 1 && s[0] == '0')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i])) {
            return false;
        }
    }
    return g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, out, NULL);
}

static bool copy_word(char *dst, size_t size, const char *s,
                      const char *const *allowed)
{
    for (; s && *allowed; allowed++) {
        if (g_str_equal(s, *allowed)) {
            g_strlcpy(dst, s, size);
            return true;
        }
    }
    return false;
}

static const char *const modes[] = {"encrypt", "reencrypt", "decrypt", NULL};
static const char *const directions[] = {"forward", "backward", NULL};
static const char *const area_types[] = {
    "none",     "journal",           "checksum",
    "datashift", "datashift-checksum", "datashift-journal", NULL};

static bool area_has_hash(const char *t)
{
    return g_str_equal(t, "checksum") || g_str_equal(t, "datashift-checksum");
}

static bool area_has_shift(const char *t)
{
    return g_str_has_prefix(t, "datashift");
}

bool lb_luks2_reenc_decode_keyslot(JsonObject *o, const char *ctx,
                                   uint64_t hdr_size, uint64_t keyslots_size,
                                   LbLuks2Keyslot *ks, GError **errp)
{
    JsonNode *an = json_object_get_member(o, "area");
    JsonObject *area = an && JSON_NODE_HOLDS_OBJECT(an)
                           ? json_node_get_object(an) : NULL;
    int64_t key_size = 0, prio = 0, ss = 0;

    if (!jint(o, "key_size", &key_size) || key_size != 1) {
        CORRUPT(errp, "%s: reencrypt keyslot key_size must be 1", ctx);
        return false;
    }
    if (!copy_word(ks->re.mode, sizeof(ks->re.mode), jstr(o, "mode"), modes)) {
        CORRUPT(errp, "%s: unknown reencryption mode \"%s\"", ctx,
                jstr(o, "mode") ? jstr(o, "mode") : "");
        return false;
    }
    if (!copy_word(ks->re.direction, sizeof(ks->re.direction),
                   jstr(o, "direction"), directions)) {
        CORRUPT(errp, "%s: unknown reencryption direction", ctx);
        return false;
    }
    if (json_object_has_member(o, "priority") &&
        (!jint(o, "priority", &prio) || prio < 0 || prio > 2)) {
        CORRUPT(errp, "%s: bad priority", ctx);
        return false;
    }
    if (!area) {
        CORRUPT(errp, "%s: missing \"area\"", ctx);
        return false;
    }
    if (!copy_word(ks->re.area_type, sizeof(ks->re.area_type),
                   jstr(area, "type"), area_types)) {
        CORRUPT(errp, "%s: unknown reencryption area type \"%s\"", ctx,
                jstr(area, "type") ? jstr(area, "type") : "");
        return false;
    }
    if (!ju64(area, "offset", &ks->area_offset) ||
        !ju64(area, "size", &ks->area_size)) {
        CORRUPT(errp, "%s: bad reencryption area offset or size", ctx);
        return false;
    }
    uint64_t start = 2 * hdr_size, end = start + keyslots_size;
    if (ks->area_offset < start || ks->area_offset % 512 ||
        ks->area_size > end || ks->area_offset > end - ks->area_size) {
        CORRUPT(errp, "%s: reencryption area is outside the keyslots area",
                ctx);
        return false;
    }
    if (area_has_hash(ks->re.area_type)) {
        const char *h = jstr(area, "hash");
        if (!h || !lb_hash_from_name(h, &ks->re.hash, NULL) ||
            !lb_hash_supported(ks->re.hash)) {
            CORRUPT(errp, "%s: bad checksum hash", ctx);
            return false;
        }
        if (!jint(area, "sector_size", &ss) || ss < 512 || ss > 65536 ||
            (ss & (ss - 1))) {
            CORRUPT(errp, "%s: bad checksum sector_size", ctx);
            return false;
        }
        ks->re.sector_size = (uint32_t)ss;
    }
    if (area_has_shift(ks->re.area_type) &&
        (!ju64(area, "shift_size", &ks->re.shift_size) ||
         ks->re.shift_size % 512)) {
        CORRUPT(errp, "%s: bad shift_size", ctx);
        return false;
    }
    ks->key_size = 1;
    ks->priority = (int)prio;
    ks->re.used = true;
    ks->used = true;
    return true;
}

bool lb_luks2_reenc_decode_linear(JsonObject *o, const char *ctx,
                                  LbLuks2Segment *s, GError **errp)
{
    const char *size = jstr(o, "size");
    JsonNode *fl = json_object_get_member(o, "flags");

    if (!ju64(o, "offset", &s->offset) || s->offset % 512 || !size) {
        CORRUPT(errp, "%s: bad linear segment", ctx);
        return false;
    }
    if (g_str_equal(size, "dynamic")) {
        s->dynamic = true;
    } else if (!ju64(o, "size", &s->size) || s->size == 0 ||
               s->size % 512) {
        CORRUPT(errp, "%s: bad size \"%s\"", ctx, size);
        return false;
    }
    if (fl) {
        if (!JSON_NODE_HOLDS_ARRAY(fl)) {
            CORRUPT(errp, "%s: \"flags\" is not an array", ctx);
            return false;
        }
        JsonArray *a = json_node_get_array(fl);
        unsigned n = json_array_get_length(a);
        g_auto(GStrv) v = g_new0(char *, n + 1);
        for (unsigned i = 0; i < n; i++) {
            JsonNode *e = json_array_get_element(a, i);
            if (!JSON_NODE_HOLDS_VALUE(e) ||
                json_node_get_value_type(e) != G_TYPE_STRING) {
                CORRUPT(errp, "%s: \"flags\" must hold strings", ctx);
                return false;
            }
            v[i] = g_strdup(json_node_get_string(e));
        }
        s->flags = n ? g_steal_pointer(&v) : NULL;
    }
    s->linear = true;
    s->sector_size = 512;
    s->used = true;
    return true;
}

/* ---- JSON encoding (cryptsetup's member order) --------------------------- */

static void b_str(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, v);
}

static void b_u64(JsonBuilder *b, const char *name, uint64_t v)
{
    char buf[24];
    g_snprintf(buf, sizeof(buf), "%" G_GUINT64_FORMAT, v);
    b_str(b, name, buf);
}

static void b_int(JsonBuilder *b, const char *name, int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

void lb_luks2_reenc_encode_keyslot(JsonBuilder *b, const LbLuks2Keyslot *ks)
{
    json_builder_set_member_name(b, "area");
    json_builder_begin_object(b);
    b_u64(b, "offset", ks->area_offset);
    b_u64(b, "size", ks->area_size);
    b_str(b, "type", ks->re.area_type);
    if (area_has_hash(ks->re.area_type)) {
        b_str(b, "hash", lb_hash_name(ks->re.hash));
        b_int(b, "sector_size", ks->re.sector_size);
    }
    if (area_has_shift(ks->re.area_type)) {
        b_u64(b, "shift_size", ks->re.shift_size);
    }
    json_builder_end_object(b);
    b_str(b, "type", "reencrypt");
    b_int(b, "key_size", 1);
    b_str(b, "mode", ks->re.mode);
    b_str(b, "direction", ks->re.direction);
    b_int(b, "priority", ks->priority);
}

/* ---- rules of a header mid-reencryption ---------------------------------- */

bool lb_luks2_seg_has_flag(const LbLuks2Segment *s, const char *flag)
{
    for (char **f = s->flags; f && *f; f++) {
        if (g_str_equal(*f, flag)) {
            return true;
        }
    }
    return false;
}

static bool seg_is_backup(const LbLuks2Segment *s)
{
    for (char **f = s->flags; f && *f; f++) {
        if (g_str_has_prefix(*f, "backup-")) {
            return true;
        }
    }
    return false;
}

int lb_luks2_reenc_keyslot(const LbLuks2Meta *meta)
{
    for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (meta->keyslots[i].used && meta->keyslots[i].re.used) {
            return i;
        }
    }
    return -1;
}

int lb_luks2_seg_find(const LbLuks2Meta *meta, const char *flag)
{
    for (int i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        if (meta->segments[i].used &&
            lb_luks2_seg_has_flag(&meta->segments[i], flag)) {
            return i;
        }
    }
    return -1;
}

static bool req_is_reenc(const char *r)
{
    return g_str_equal(r, "online-reencrypt-v2") ||
           g_str_equal(r, "online-reencrypt-v3");
}

bool lb_luks2_reenc_requirements_known(const LbLuks2Meta *meta)
{
    unsigned n = 0;

    for (char **r = meta->requirements; r && *r; r++, n++) {
        if (!req_is_reenc(*r)) {
            return false;
        }
    }
    return n == 1 && lb_luks2_reenc_keyslot(meta) >= 0;
}

bool lb_luks2_reenc_check_meta(const LbLuks2Meta *meta, GError **errp)
{
    int ks = -1;
    unsigned n_re = 0, n_hot = 0, n_regular = 0;
    bool backup_seen = false, have_req = false;
    uint64_t next = 0;

    for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (meta->keyslots[i].used && meta->keyslots[i].re.used) {
            ks = i;
            n_re++;
        }
    }
    for (char **r = meta->requirements; r && *r; r++) {
        have_req |= req_is_reenc(*r);
    }
    if (ks < 0) {
        meta_err(errp, LB_LUKS_ERROR_UNSUPPORTED,
                 "several data segments without a reencrypt keyslot are "
                 "not supported");
        return false;
    }
    if (n_re > 1 || !have_req) {
        CORRUPT(errp, "reencrypt keyslot without exactly one reencryption "
                      "requirement");
        return false;
    }
    for (int i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        const LbLuks2Segment *s = &meta->segments[i];
        if (!s->used) {
            continue;
        }
        if (seg_is_backup(s)) {
            backup_seen = true;
            continue;
        }
        if (backup_seen) {
            CORRUPT(errp, "segment %d follows a backup segment", i);
            return false;
        }
        if (n_regular > 0 && (s->offset < next)) {
            CORRUPT(errp, "segment %d overlaps the previous one", i);
            return false;
        }
        if (n_regular > 0 && next == G_MAXUINT64) {
            CORRUPT(errp, "only the last segment may be dynamic");
            return false;
        }
        n_hot += lb_luks2_seg_has_flag(s, "in-reencryption");
        next = s->dynamic ? G_MAXUINT64 : s->offset + s->size;
        n_regular++;
    }
    if (n_regular == 0 || n_hot > 1 ||
        lb_luks2_seg_find(meta, "backup-previous") < 0 ||
        lb_luks2_seg_find(meta, "backup-final") < 0) {
        CORRUPT(errp, "reencryption segments are incomplete");
        return false;
    }
    return true;
}

/* ---- the reencryption metadata digest ------------------------------------ */

static void put_str(GByteArray *a, const char *s)
{
    g_byte_array_append(a, (const guint8 *)s, strlen(s));
}

static void put_u64(GByteArray *a, uint64_t v)
{
    guint64 be = GUINT64_TO_BE(v);
    g_byte_array_append(a, (const guint8 *)&be, 8);
}

static void put_u32(GByteArray *a, uint32_t v)
{
    guint32 be = GUINT32_TO_BE(v);
    g_byte_array_append(a, (const guint8 *)&be, 4);
}

static void put_segment(GByteArray *a, const LbLuks2Segment *s)
{
    put_str(a, s->linear ? "linear" : "crypt");
    put_u64(a, s->offset);
    if (s->dynamic) {
        put_str(a, "dynamic");
    } else {
        put_u64(a, s->size);
    }
    if (!s->linear) {
        put_u64(a, s->iv_tweak);
        put_str(a, s->encryption);
        put_u32(a, s->sector_size);
    }
}

/* The digest covering segment @id, or -1. */
int lb_luks2_seg_digest(const LbLuks2Meta *meta, int id)
{
    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (meta->digests[i].used && (meta->digests[i].segments & (1u << id))) {
            return i;
        }
    }
    return -1;
}

LbSecret *lb_luks2_reenc_digest_input(const LbLuks2Meta *meta,
                                      const LbSecret *vk_old,
                                      const LbSecret *vk_new)
{
    int ks = lb_luks2_reenc_keyslot(meta);
    int prev = lb_luks2_seg_find(meta, "backup-previous");
    int fin = lb_luks2_seg_find(meta, "backup-final");
    int moved = lb_luks2_seg_find(meta, "backup-moved-segment");
    bool v3 = false;
    g_autoptr(GByteArray) a = g_byte_array_new();

    g_assert(ks >= 0 && prev >= 0 && fin >= 0);
    const LbLuks2Keyslot *k = &meta->keyslots[ks];
    for (char **r = meta->requirements; r && *r; r++) {
        v3 |= g_str_equal(*r, "online-reencrypt-v3");
    }
    int d_prev = lb_luks2_seg_digest(meta, prev);
    int d_fin = lb_luks2_seg_digest(meta, fin);
    g_byte_array_append(a, (const guint8 *)(v3 ? "v3" : "v2"), 2);
    size_t key_bytes = 0;
    if (d_prev >= 0 && vk_old) {
        key_bytes += lb_secret_len(vk_old);
    }
    if (d_fin >= 0 && d_fin != d_prev && vk_new) {
        key_bytes += lb_secret_len(vk_new);
    }
    put_str(a, k->re.mode);
    put_str(a, k->re.direction);
    put_str(a, k->re.area_type);
    put_u64(a, k->area_offset);
    put_u64(a, k->area_size);
    if (area_has_hash(k->re.area_type)) {
        put_str(a, lb_hash_name(k->re.hash));
        put_u32(a, k->re.sector_size);
    }
    if (area_has_shift(k->re.area_type)) {
        put_u64(a, k->re.shift_size);
    }
    put_segment(a, &meta->segments[prev]);
    put_segment(a, &meta->segments[fin]);
    if (moved >= 0) {
        put_segment(a, &meta->segments[moved]);
    }

    /* Layout: "v2", old key, new key, then the fields above; the keys go
     * straight into locked memory. */
    LbSecret *out = lb_secret_new(a->len + key_bytes);
    guint8 *p = lb_secret_data(out);
    memcpy(p, a->data, 2);
    p += 2;
    if (d_prev >= 0 && vk_old) {
        memcpy(p, lb_secret_cdata(vk_old), lb_secret_len(vk_old));
        p += lb_secret_len(vk_old);
    }
    if (d_fin >= 0 && d_fin != d_prev && vk_new) {
        memcpy(p, lb_secret_cdata(vk_new), lb_secret_len(vk_new));
        p += lb_secret_len(vk_new);
    }
    memcpy(p, a->data + 2, a->len - 2);
    return out;
}

bool lb_luks2_reenc_digest_verify(const LbLuks2Meta *meta,
                                  const LbSecret *vk_old,
                                  const LbSecret *vk_new, GError **errp)
{
    int ks = lb_luks2_reenc_keyslot(meta);
    int di = -1;
    guint8 out[LB_HASH_MAX_DIGEST];

    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (meta->digests[i].used && (meta->digests[i].keyslots & (1u << ks))) {
            di = i;
        }
    }
    if (di < 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "Reencryption metadata is invalid (no digest)");
        return false;
    }
    const LbLuks2Digest *d = &meta->digests[di];
    g_autoptr(LbSecret) in = lb_luks2_reenc_digest_input(meta, vk_old, vk_new);
    if (!lb_pbkdf2(d->hash, lb_secret_cdata(in), lb_secret_len(in), d->salt,
                   d->salt_len, d->iterations, out, d->digest_len, errp)) {
        return false;
    }
    bool ok = lb_memeq_consttime(out, d->digest, d->digest_len);
    lb_memzero(out, sizeof(out));
    if (!ok) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "Reencryption metadata is invalid (the reencryption "
                    "digest does not verify)");
    }
    return ok;
}
