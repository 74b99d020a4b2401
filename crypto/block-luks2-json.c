/*
 * block-luks2-json.c: LUKS2 JSON metadata decoded strictly, as
 * cryptsetup 2.6 validates it (LUKS-FORMAT.md §3.4-§3.8, §4.2).
 *
 * Decoding turns the JSON area into the typed structs of
 * block-luks2-priv.h and applies the structural checks cryptsetup applies
 * (strict string/integer typing, references between objects, keyslot
 * areas inside the keyslots area, every crypt segment covered by a digest,
 * config json_size).  Valid metadata that this engine cannot use safely
 * (integrity segments, several segments as during reencryption, keyslot
 * types other than luks2, unknown KDFs or digest types) is refused with
 * LB_LUKS_ERROR_UNSUPPORTED instead of being misread.
 *
 * Tokens are kept as a JSON subtree and written back unchanged by the
 * encoder (block-luks2-json-encode.c).
 */
#include "config.h"
#include "block-luks2-priv.h"

#include <stdarg.h>
#include <string.h>

/* ---- small typed accessors --------------------------------------------- */

static void G_GNUC_PRINTF(3, 4)
    set_err(GError **errp, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, LB_LUKS_ERROR, code, "LUKS2 metadata: %s", msg);
}

#define CORRUPT(errp, ...) set_err(errp, LB_LUKS_ERROR_CORRUPT, __VA_ARGS__)
#define UNSUPP(errp, ...) set_err(errp, LB_LUKS_ERROR_UNSUPPORTED, __VA_ARGS__)

static JsonNode *member(JsonObject *o, const char *name, const char *ctx,
                        GError **errp)
{
    JsonNode *n = json_object_get_member(o, name);
    if (!n) {
        CORRUPT(errp, "%s: missing \"%s\"", ctx, name);
    }
    return n;
}

static JsonObject *get_obj(JsonObject *o, const char *name, const char *ctx,
                           GError **errp)
{
    JsonNode *n = member(o, name, ctx, errp);
    if (!n) {
        return NULL;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        CORRUPT(errp, "%s: \"%s\" is not an object", ctx, name);
        return NULL;
    }
    return json_node_get_object(n);
}

static JsonArray *get_array(JsonObject *o, const char *name, const char *ctx,
                            GError **errp)
{
    JsonNode *n = member(o, name, ctx, errp);
    if (!n) {
        return NULL;
    }
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        CORRUPT(errp, "%s: \"%s\" is not an array", ctx, name);
        return NULL;
    }
    return json_node_get_array(n);
}

static const char *node_str(JsonNode *n)
{
    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

static const char *get_str(JsonObject *o, const char *name, const char *ctx,
                           GError **errp)
{
    JsonNode *n = member(o, name, ctx, errp);
    if (!n) {
        return NULL;
    }
    const char *s = node_str(n);
    if (!s) {
        CORRUPT(errp, "%s: \"%s\" is not a string", ctx, name);
    }
    return s;
}

/* A decimal string without sign, blanks or leading zeros. */
static bool parse_u64(const char *s, uint64_t *out)
{
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

/* 64-bit quantities are decimal strings in LUKS2 (§3.4). */
static bool get_u64str(JsonObject *o, const char *name, const char *ctx,
                       uint64_t *out, GError **errp)
{
    const char *s = get_str(o, name, ctx, errp);
    if (!s) {
        return false;
    }
    if (!parse_u64(s, out)) {
        CORRUPT(errp, "%s: \"%s\" is not a decimal number", ctx, name);
        return false;
    }
    return true;
}

/* Small quantities are JSON integers (§3.4). */
static bool get_int(JsonObject *o, const char *name, const char *ctx,
                    int64_t min, int64_t max, int64_t *out, GError **errp)
{
    JsonNode *n = member(o, name, ctx, errp);
    if (!n) {
        return false;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_INT64) {
        CORRUPT(errp, "%s: \"%s\" is not an integer", ctx, name);
        return false;
    }
    *out = json_node_get_int(n);
    if (*out < min || *out > max) {
        CORRUPT(errp, "%s: \"%s\" = %" G_GINT64_FORMAT " is out of range", ctx,
                name, *out);
        return false;
    }
    return true;
}

static bool get_u32(JsonObject *o, const char *name, const char *ctx,
                    uint32_t min, uint32_t max, uint32_t *out, GError **errp)
{
    int64_t v;
    if (!get_int(o, name, ctx, min, max, &v, errp)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Standard base64 with padding, decoded into at most @max bytes. */
static bool get_b64(JsonObject *o, const char *name, const char *ctx,
                    size_t min, size_t max, guint8 *out, size_t *outlen,
                    GError **errp)
{
    const char *s = get_str(o, name, ctx, errp);
    size_t n = s ? strlen(s) : 0;
    gsize dlen = 0;

    if (!s) {
        return false;
    }
    bool ok = n > 0 && n % 4 == 0 && n / 4 * 3 <= max + 2;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = g_ascii_isalnum(c) || c == '+' || c == '/' ||
             (c == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '='));
    }
    if (!ok) {
        CORRUPT(errp, "%s: \"%s\" is not valid base64", ctx, name);
        return false;
    }
    g_autofree guchar *d = g_base64_decode(s, &dlen);
    if (dlen < min || dlen > max) {
        CORRUPT(errp, "%s: \"%s\" has a bad length (%zu bytes)", ctx, name,
                (size_t)dlen);
        return false;
    }
    memcpy(out, d, dlen);
    *outlen = dlen;
    return true;
}

static bool get_hash(JsonObject *o, const char *name, const char *ctx,
                     LbHashAlg *out, GError **errp)
{
    const char *s = get_str(o, name, ctx, errp);
    if (!s) {
        return false;
    }
    if (!lb_hash_from_name(s, out, NULL) || !lb_hash_supported(*out)) {
        UNSUPP(errp, "%s: hash \"%s\" is not supported", ctx, s);
        return false;
    }
    return true;
}

/* An object key or array element naming keyslot/segment/digest @limit. */
static bool parse_id(const char *s, unsigned limit, unsigned *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v >= limit) {
        return false;
    }
    *out = (unsigned)v;
    return true;
}

/* Optional array of strings (flags, requirements) into a GStrv. */
static bool get_strv(JsonObject *o, const char *name, const char *ctx,
                     char ***out, GError **errp)
{
    if (!json_object_has_member(o, name)) {
        return true;
    }
    JsonArray *a = get_array(o, name, ctx, errp);
    if (!a) {
        return false;
    }
    unsigned n = json_array_get_length(a);
    g_auto(GStrv) v = g_new0(char *, n + 1);
    for (unsigned i = 0; i < n; i++) {
        const char *s = node_str(json_array_get_element(a, i));
        if (!s) {
            CORRUPT(errp, "%s: \"%s\" must hold strings", ctx, name);
            return false;
        }
        v[i] = g_strdup(s);
    }
    *out = n ? g_steal_pointer(&v) : NULL;
    return true;
}

/* An array of id strings into a bitmask; each id must be in @present. */
static bool get_id_mask(JsonObject *o, const char *name, const char *ctx,
                        guint32 present, guint32 *out, GError **errp)
{
    JsonArray *a = get_array(o, name, ctx, errp);
    if (!a) {
        return false;
    }
    *out = 0;
    for (unsigned i = 0; i < json_array_get_length(a); i++) {
        const char *s = node_str(json_array_get_element(a, i));
        unsigned id;
        if (!s || !parse_id(s, 32, &id) || !(present & (1u << id))) {
            CORRUPT(errp, "%s: \"%s\" names a missing object", ctx, name);
            return false;
        }
        *out |= 1u << id;
    }
    return true;
}

static bool check_spec(const char *spec, const char *ctx, GError **errp)
{
    const char *dash = strchr(spec, '-');
    if (!dash || dash == spec || dash[1] == '\0' ||
        (size_t)(dash - spec) >= LB_LUKS1_NAME_LEN ||
        strlen(dash + 1) >= LB_LUKS1_NAME_LEN) {
        UNSUPP(errp, "%s: encryption \"%s\" is not supported", ctx, spec);
        return false;
    }
    return true;
}

/* ---- sections ----------------------------------------------------------- */

static bool decode_config(JsonObject *cfg, uint64_t hdr_size, LbLuks2Meta *meta,
                          GError **errp)
{
    const char *ctx = "config";

    if (!get_u64str(cfg, "json_size", ctx, &meta->json_size, errp) ||
        !get_u64str(cfg, "keyslots_size", ctx, &meta->keyslots_size, errp)) {
        return false;
    }
    if (meta->json_size != hdr_size - LB_LUKS2_BIN_SIZE) {
        CORRUPT(errp,
                "config json_size %" G_GUINT64_FORMAT " does not match "
                "the header size %" G_GUINT64_FORMAT,
                meta->json_size, hdr_size);
        return false;
    }
    if (meta->keyslots_size % 4096 ||
        meta->keyslots_size > LB_LUKS2_MAX_KEYSLOTS_SIZE) {
        CORRUPT(errp, "bad keyslots_size %" G_GUINT64_FORMAT,
                meta->keyslots_size);
        return false;
    }
    if (!get_strv(cfg, "flags", ctx, &meta->config_flags, errp)) {
        return false;
    }
    if (json_object_has_member(cfg, "requirements")) {
        JsonObject *req = get_obj(cfg, "requirements", ctx, errp);
        if (!req || !get_strv(req, "mandatory", "config requirements",
                              &meta->requirements, errp)) {
            return false;
        }
    }
    return true;
}

static bool decode_segment(JsonObject *o, const char *ctx, LbLuks2Segment *s,
                           GError **errp)
{
    const char *type = get_str(o, "type", ctx, errp);
    const char *size, *enc;
    int64_t ss;

    if (!type) {
        return false;
    }
    if (g_str_equal(type, "linear")) {
        return lb_luks2_reenc_decode_linear(o, ctx, s, errp);
    }
    if (!g_str_equal(type, "crypt")) {
        UNSUPP(errp, "%s: segment type \"%s\" is not supported", ctx, type);
        return false;
    }
    if (json_object_has_member(o, "integrity")) {
        UNSUPP(errp, "%s: integrity-protected segments are not supported", ctx);
        return false;
    }
    if (!get_u64str(o, "offset", ctx, &s->offset, errp) ||
        !(size = get_str(o, "size", ctx, errp)) ||
        !get_u64str(o, "iv_tweak", ctx, &s->iv_tweak, errp) ||
        !(enc = get_str(o, "encryption", ctx, errp)) ||
        !get_int(o, "sector_size", ctx, 1, G_MAXINT32, &ss, errp) ||
        !get_strv(o, "flags", ctx, &s->flags, errp)) {
        return false;
    }
    if (ss % 512) {
        CORRUPT(errp, "%s: bad sector_size %" G_GINT64_FORMAT, ctx, ss);
        return false;
    }
    if (ss > 4096 || (ss & (ss - 1))) {
        UNSUPP(errp, "%s: sector_size %" G_GINT64_FORMAT " is not supported",
               ctx, ss);
        return false;
    }
    s->sector_size = (uint32_t)ss;
    if (s->offset % 512) {
        CORRUPT(errp, "%s: offset is not a multiple of 512", ctx);
        return false;
    }
    if (g_str_equal(size, "dynamic")) {
        s->dynamic = true;
    } else if (!parse_u64(size, &s->size) || s->size == 0 ||
               s->size % s->sector_size) {
        CORRUPT(errp, "%s: bad size \"%s\"", ctx, size);
        return false;
    }
    if (!check_spec(enc, ctx, errp)) {
        return false;
    }
    s->encryption = g_strdup(enc);
    s->used = true;
    return true;
}

static bool decode_kdf(JsonObject *kdf, const char *ctx, LbLuks2Keyslot *ks,
                       GError **errp)
{
    const char *type = get_str(kdf, "type", ctx, errp);

    if (!type) {
        return false;
    }
    if (g_str_equal(type, "pbkdf2")) {
        ks->kdf = LB_LUKS2_KDF_PBKDF2;
        if (!get_hash(kdf, "hash", ctx, &ks->kdf_hash, errp) ||
            !get_u32(kdf, "iterations", ctx, 1, G_MAXUINT32, &ks->iterations,
                     errp)) {
            return false;
        }
    } else if (g_str_equal(type, "argon2i") || g_str_equal(type, "argon2id")) {
        ks->kdf = g_str_equal(type, "argon2i") ? LB_LUKS2_KDF_ARGON2I
                                               : LB_LUKS2_KDF_ARGON2ID;
        if (!get_u32(kdf, "time", ctx, 1, G_MAXUINT32, &ks->time, errp) ||
            !get_u32(kdf, "memory", ctx, 8, 4u * 1024 * 1024, &ks->memory,
                     errp) ||
            !get_u32(kdf, "cpus", ctx, 1, 1u << 24, &ks->cpus, errp)) {
            return false;
        }
        if (ks->memory < 8 * ks->cpus) {
            CORRUPT(errp, "%s: argon2 memory too small for %u threads", ctx,
                    ks->cpus);
            return false;
        }
    } else {
        UNSUPP(errp, "%s: kdf \"%s\" is not supported", ctx, type);
        return false;
    }
    return get_b64(kdf, "salt", ctx, ks->kdf == LB_LUKS2_KDF_PBKDF2 ? 1 : 8,
                   LB_LUKS2_SALT_MAX, ks->salt, &ks->salt_len, errp);
}

static bool decode_keyslot(JsonObject *o, const char *ctx, uint64_t hdr_size,
                           uint64_t keyslots_size, LbLuks2Keyslot *ks,
                           GError **errp)
{
    const char *type = get_str(o, "type", ctx, errp);
    JsonObject *af, *area, *kdf;
    const char *s;

    if (!type) {
        return false;
    }
    if (g_str_equal(type, "reencrypt")) {
        return lb_luks2_reenc_decode_keyslot(o, ctx, hdr_size, keyslots_size,
                                             ks, errp);
    }
    if (!g_str_equal(type, "luks2")) {
        UNSUPP(errp,
               "%s: keyslot type \"%s\" is not supported "
               "(reencryption in progress?)",
               ctx, type);
        return false;
    }
    if (!get_u32(o, "key_size", ctx, 1, 512, &ks->key_size, errp) ||
        !(af = get_obj(o, "af", ctx, errp)) ||
        !(area = get_obj(o, "area", ctx, errp)) ||
        !(kdf = get_obj(o, "kdf", ctx, errp))) {
        return false;
    }
    if (!(s = get_str(af, "type", ctx, errp))) {
        return false;
    }
    if (!g_str_equal(s, "luks1")) {
        UNSUPP(errp, "%s: af type \"%s\" is not supported", ctx, s);
        return false;
    }
    /* cryptsetup takes any integer here and always uses 4000 stripes. */
    if (!get_int(af, "stripes", ctx, G_MININT64, G_MAXINT64, &ks->af_stripes,
                 errp) ||
        !get_hash(af, "hash", ctx, &ks->af_hash, errp)) {
        return false;
    }
    if (!(s = get_str(area, "type", ctx, errp))) {
        return false;
    }
    if (!g_str_equal(s, "raw")) {
        UNSUPP(errp, "%s: area type \"%s\" is not supported", ctx, s);
        return false;
    }
    if (!get_u64str(area, "offset", ctx, &ks->area_offset, errp) ||
        !get_u64str(area, "size", ctx, &ks->area_size, errp) ||
        !(s = get_str(area, "encryption", ctx, errp)) ||
        !get_u32(area, "key_size", ctx, 1, 512, &ks->area_key_size, errp) ||
        !check_spec(s, ctx, errp)) {
        return false;
    }
    ks->area_encryption = g_strdup(s);
    uint64_t start = 2 * hdr_size, end = start + keyslots_size;
    if (ks->area_offset < start || ks->area_offset % 512 ||
        ks->area_size > end || ks->area_offset > end - ks->area_size) {
        CORRUPT(errp, "%s: key area is outside the keyslots area", ctx);
        return false;
    }
    if (ks->area_size < lb_luks_af_sectors(ks->key_size) * LB_LUKS_SECTOR) {
        CORRUPT(errp, "%s: key area is too small", ctx);
        return false;
    }
    if (!decode_kdf(kdf, ctx, ks, errp)) {
        return false;
    }
    ks->priority = 1;
    if (json_object_has_member(o, "priority")) {
        int64_t p;
        if (!get_int(o, "priority", ctx, 0, 2, &p, errp)) {
            return false;
        }
        ks->priority = (int)p;
    }
    ks->used = true;
    return true;
}

static bool decode_digest(JsonObject *o, const char *ctx,
                          const LbLuks2Meta *meta, LbLuks2Digest *d,
                          GError **errp)
{
    const char *type = get_str(o, "type", ctx, errp);
    guint32 ks_present = 0, seg_present = 0;

    if (!type) {
        return false;
    }
    if (!g_str_equal(type, "pbkdf2")) {
        UNSUPP(errp, "%s: digest type \"%s\" is not supported", ctx, type);
        return false;
    }
    for (unsigned i = 0; i < 32; i++) {
        ks_present |= meta->keyslots[i].used ? 1u << i : 0;
        seg_present |= meta->segments[i].used ? 1u << i : 0;
    }
    if (!get_id_mask(o, "keyslots", ctx, ks_present, &d->keyslots, errp) ||
        !get_id_mask(o, "segments", ctx, seg_present, &d->segments, errp) ||
        !get_hash(o, "hash", ctx, &d->hash, errp) ||
        !get_u32(o, "iterations", ctx, 1, G_MAXUINT32, &d->iterations, errp) ||
        !get_b64(o, "salt", ctx, 1, LB_LUKS2_SALT_MAX, d->salt, &d->salt_len,
                 errp) ||
        !get_b64(o, "digest", ctx, 20, LB_HASH_MAX_DIGEST, d->digest,
                 &d->digest_len, errp)) {
        return false;
    }
    if (d->digest_len != 20 && d->digest_len != lb_hash_digest_len(d->hash)) {
        CORRUPT(errp, "%s: digest length %zu does not fit %s", ctx,
                d->digest_len, lb_hash_name(d->hash));
        return false;
    }
    d->used = true;
    return true;
}

static bool decode_tokens(JsonNode *node, const LbLuks2Meta *meta,
                          GError **errp)
{
    JsonObject *tokens = json_node_get_object(node);
    g_autoptr(GList) names = json_object_get_members(tokens);
    guint32 ks_present = 0;

    for (unsigned i = 0; i < 32; i++) {
        ks_present |= meta->keyslots[i].used ? 1u << i : 0;
    }
    for (GList *l = names; l; l = l->next) {
        unsigned id;
        guint32 mask;
        g_autofree char *ctx = g_strdup_printf("token %s", (char *)l->data);
        JsonNode *t = json_object_get_member(tokens, l->data);
        if (!parse_id(l->data, LB_LUKS2_MAX_TOKENS, &id) ||
            !JSON_NODE_HOLDS_OBJECT(t)) {
            CORRUPT(errp, "bad token \"%s\"", (char *)l->data);
            return false;
        }
        JsonObject *to = json_node_get_object(t);
        if (!get_str(to, "type", ctx, errp) ||
            !get_id_mask(to, "keyslots", ctx, ks_present, &mask, errp)) {
            return false;
        }
    }
    return true;
}

/* Iterate over the members of section @name, checking ids below @limit. */
typedef bool (*LbLuks2SectionFn)(JsonObject *o, const char *ctx, unsigned id,
                                 LbLuks2Meta *meta, uint64_t hdr_size,
                                 GError **errp);

static bool each_member(JsonObject *sec, const char *what, unsigned limit,
                        LbLuks2SectionFn fn, LbLuks2Meta *meta,
                        uint64_t hdr_size, GError **errp)
{
    g_autoptr(GList) names = json_object_get_members(sec);

    for (GList *l = names; l; l = l->next) {
        unsigned id;
        JsonNode *n = json_object_get_member(sec, l->data);
        g_autofree char *ctx = g_strdup_printf("%s %s", what, (char *)l->data);
        if (!parse_id(l->data, limit, &id)) {
            CORRUPT(errp, "bad %s id \"%s\"", what, (char *)l->data);
            return false;
        }
        if (!JSON_NODE_HOLDS_OBJECT(n)) {
            CORRUPT(errp, "%s is not an object", ctx);
            return false;
        }
        if (!fn(json_node_get_object(n), ctx, id, meta, hdr_size, errp)) {
            return false;
        }
    }
    return true;
}

static bool seg_fn(JsonObject *o, const char *ctx, unsigned id,
                   LbLuks2Meta *meta, uint64_t hdr_size, GError **errp)
{
    return decode_segment(o, ctx, &meta->segments[id], errp);
}

static bool ks_fn(JsonObject *o, const char *ctx, unsigned id,
                  LbLuks2Meta *meta, uint64_t hdr_size, GError **errp)
{
    return decode_keyslot(o, ctx, hdr_size, meta->keyslots_size,
                          &meta->keyslots[id], errp);
}

static bool dig_fn(JsonObject *o, const char *ctx, unsigned id,
                   LbLuks2Meta *meta, uint64_t hdr_size, GError **errp)
{
    return decode_digest(o, ctx, meta, &meta->digests[id], errp);
}

static int cmp_area(const void *a, const void *b)
{
    const LbLuks2Keyslot *x = *(LbLuks2Keyslot *const *)a;
    const LbLuks2Keyslot *y = *(LbLuks2Keyslot *const *)b;
    return x->area_offset < y->area_offset ? -1
                                           : x->area_offset > y->area_offset;
}

/* Cross-object rules: area overlap, segment coverage, segment layout. */
static bool check_meta(const LbLuks2Meta *meta, uint64_t hdr_size,
                       GError **errp)
{
    const LbLuks2Keyslot *sorted[LB_LUKS2_MAX_KEYSLOTS];
    unsigned n = 0, nseg = 0;
    guint32 covered = 0;

    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (meta->keyslots[i].used) {
            sorted[n++] = &meta->keyslots[i];
        }
    }
    qsort(sorted, n, sizeof(sorted[0]), cmp_area);
    for (unsigned i = 1; i < n; i++) {
        if (sorted[i]->area_offset <
            sorted[i - 1]->area_offset + sorted[i - 1]->area_size) {
            CORRUPT(errp, "keyslot areas overlap");
            return false;
        }
    }
    for (unsigned i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        covered |= meta->digests[i].used ? meta->digests[i].segments : 0;
    }
    bool any_zero = false;
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        any_zero |= meta->segments[i].used && meta->segments[i].offset == 0;
    }
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        const LbLuks2Segment *s = &meta->segments[i];
        if (!s->used) {
            continue;
        }
        if (i != nseg++) {
            CORRUPT(errp, "segment ids are not contiguous");
            return false;
        }
        if (!s->linear && !(covered & (1u << i))) {
            CORRUPT(errp, "segment %u is not covered by any digest", i);
            return false;
        }
        /* As cryptsetup, only the lowest data offset is checked (during
         * reencryption of a detached header segments start anywhere). */
        if (s->offset && !any_zero &&
            s->offset < 2 * hdr_size + meta->keyslots_size) {
            CORRUPT(errp, "segment %u overlaps the keyslots area", i);
            return false;
        }
    }
    if (nseg == 0) {
        UNSUPP(errp, "no data segment");
        return false;
    }
    bool reenc = nseg > 1;
    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        reenc |= meta->keyslots[i].re.used;
    }
    if (reenc) {
        return lb_luks2_reenc_check_meta(meta, errp);
    }
    if (nseg > 1) {
        UNSUPP(errp,
               "%u data segments (reencryption in progress?) are not "
               "supported",
               nseg);
        return false;
    }
    return true;
}

bool lb_luks2_json_decode(const char *text, size_t len, uint64_t hdr_size,
                          LbLuks2Meta *meta, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonObject *root, *cfg, *ks, *segs, *digs, *tok;

    /* json-c stops at the closing brace and cryptsetup then wants only
     * NULs: no leading or trailing blanks around the object (§3.4). */
    if (len < 2 || text[0] != '{' || text[len - 1] != '}') {
        CORRUPT(errp, "JSON area does not hold exactly one object");
        return false;
    }
    if (!json_parser_load_from_data(parser, text, (gssize)len, &err)) {
        CORRUPT(errp, "invalid JSON: %s", err->message);
        return false;
    }
    JsonNode *rn = json_parser_get_root(parser);
    if (!rn || !JSON_NODE_HOLDS_OBJECT(rn)) {
        CORRUPT(errp, "JSON root is not an object");
        return false;
    }
    root = json_node_get_object(rn);
    if (!(cfg = get_obj(root, "config", "header", errp)) ||
        !(ks = get_obj(root, "keyslots", "header", errp)) ||
        !(segs = get_obj(root, "segments", "header", errp)) ||
        !(digs = get_obj(root, "digests", "header", errp)) ||
        !(tok = get_obj(root, "tokens", "header", errp))) {
        return false;
    }
    if (!decode_config(cfg, hdr_size, meta, errp) ||
        !each_member(segs, "segment", LB_LUKS2_MAX_SEGMENTS, seg_fn, meta,
                     hdr_size, errp) ||
        !each_member(ks, "keyslot", LB_LUKS2_MAX_KEYSLOTS, ks_fn, meta,
                     hdr_size, errp) ||
        !each_member(digs, "digest", LB_LUKS2_MAX_DIGESTS, dig_fn, meta,
                     hdr_size, errp) ||
        !decode_tokens(json_object_get_member(root, "tokens"), meta, errp) ||
        !check_meta(meta, hdr_size, errp)) {
        return false;
    }
    meta->tokens = json_node_copy(json_object_get_member(root, "tokens"));
    return true;
}
