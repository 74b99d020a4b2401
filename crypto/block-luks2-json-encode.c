/*
 * block-luks2-json-encode.c: LUKS2 JSON metadata encoded exactly as
 * cryptsetup 2.6 writes it (LUKS-FORMAT.md §3.4-§3.9).
 *
 * The compact form json-c produces ("plain": no blanks, '/' not escaped),
 * top-level order keyslots, tokens, segments, digests, config, and the
 * member order of §3.5-§3.8; 64-bit quantities as decimal strings, small
 * ones as integers, blobs as padded base64.  "priority" is written only
 * when it is not the default, as cryptsetup does.
 */
#include "config.h"
#include "block-luks2-priv.h"

static void add_str(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, v);
}

static void add_u64str(JsonBuilder *b, const char *name, uint64_t v)
{
    char buf[24];
    g_snprintf(buf, sizeof(buf), "%" G_GUINT64_FORMAT, v);
    add_str(b, name, buf);
}

static void add_int(JsonBuilder *b, const char *name, int64_t v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

static void add_b64(JsonBuilder *b, const char *name, const guint8 *d,
                    size_t len)
{
    g_autofree char *s = g_base64_encode(d, len);
    add_str(b, name, s);
}

static void add_strv(JsonBuilder *b, const char *name, char **v)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (; v && *v; v++) {
        json_builder_add_string_value(b, *v);
    }
    json_builder_end_array(b);
}

static void add_ids(JsonBuilder *b, const char *name, guint32 mask)
{
    char buf[4];
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (unsigned i = 0; i < 32; i++) {
        if (mask & (1u << i)) {
            g_snprintf(buf, sizeof(buf), "%u", i);
            json_builder_add_string_value(b, buf);
        }
    }
    json_builder_end_array(b);
}

static void begin_id(JsonBuilder *b, unsigned id)
{
    char buf[4];
    g_snprintf(buf, sizeof(buf), "%u", id);
    json_builder_set_member_name(b, buf);
    json_builder_begin_object(b);
}

static void encode_keyslot(JsonBuilder *b, const LbLuks2Keyslot *ks)
{
    static const char *const kdf_names[] = {
        [LB_LUKS2_KDF_PBKDF2] = "pbkdf2",
        [LB_LUKS2_KDF_ARGON2I] = "argon2i",
        [LB_LUKS2_KDF_ARGON2ID] = "argon2id",
    };

    if (ks->re.used) {
        lb_luks2_reenc_encode_keyslot(b, ks);
        return;
    }
    add_str(b, "type", "luks2");
    add_int(b, "key_size", ks->key_size);
    json_builder_set_member_name(b, "af");
    json_builder_begin_object(b);
    add_str(b, "type", "luks1");
    add_int(b, "stripes", ks->af_stripes);
    add_str(b, "hash", lb_hash_name(ks->af_hash));
    json_builder_end_object(b);
    json_builder_set_member_name(b, "area");
    json_builder_begin_object(b);
    add_str(b, "type", "raw");
    add_u64str(b, "offset", ks->area_offset);
    add_u64str(b, "size", ks->area_size);
    add_str(b, "encryption", ks->area_encryption);
    add_int(b, "key_size", ks->area_key_size);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "kdf");
    json_builder_begin_object(b);
    add_str(b, "type", kdf_names[ks->kdf]);
    if (ks->kdf == LB_LUKS2_KDF_PBKDF2) {
        add_str(b, "hash", lb_hash_name(ks->kdf_hash));
        add_int(b, "iterations", ks->iterations);
    } else {
        add_int(b, "time", ks->time);
        add_int(b, "memory", ks->memory);
        add_int(b, "cpus", ks->cpus);
    }
    add_b64(b, "salt", ks->salt, ks->salt_len);
    json_builder_end_object(b);
    if (ks->priority != 1) {
        add_int(b, "priority", ks->priority);
    }
}

static void encode_segment(JsonBuilder *b, const LbLuks2Segment *s)
{
    /* "linear" segments (reencryption) have no cipher fields. */
    add_str(b, "type", s->linear ? "linear" : "crypt");
    add_u64str(b, "offset", s->offset);
    if (s->dynamic) {
        add_str(b, "size", "dynamic");
    } else {
        add_u64str(b, "size", s->size);
    }
    if (!s->linear) {
        add_u64str(b, "iv_tweak", s->iv_tweak);
        add_str(b, "encryption", s->encryption);
        add_int(b, "sector_size", s->sector_size);
    }
    if (s->flags) {
        add_strv(b, "flags", s->flags);
    }
}

static void encode_digest(JsonBuilder *b, const LbLuks2Digest *d)
{
    add_str(b, "type", "pbkdf2");
    add_ids(b, "keyslots", d->keyslots);
    add_ids(b, "segments", d->segments);
    add_str(b, "hash", lb_hash_name(d->hash));
    add_int(b, "iterations", d->iterations);
    add_b64(b, "salt", d->salt, d->salt_len);
    add_b64(b, "digest", d->digest, d->digest_len);
}

char *lb_luks2_json_encode(const LbLuks2Meta *meta)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "keyslots");
    json_builder_begin_object(b);
    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (meta->keyslots[i].used) {
            begin_id(b, i);
            encode_keyslot(b, &meta->keyslots[i]);
            json_builder_end_object(b);
        }
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "tokens");
    if (meta->tokens) {
        json_builder_add_value(b, json_node_copy(meta->tokens));
    } else {
        json_builder_begin_object(b);
        json_builder_end_object(b);
    }
    json_builder_set_member_name(b, "segments");
    json_builder_begin_object(b);
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        if (meta->segments[i].used) {
            begin_id(b, i);
            encode_segment(b, &meta->segments[i]);
            json_builder_end_object(b);
        }
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "digests");
    json_builder_begin_object(b);
    for (unsigned i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (meta->digests[i].used) {
            begin_id(b, i);
            encode_digest(b, &meta->digests[i]);
            json_builder_end_object(b);
        }
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "config");
    json_builder_begin_object(b);
    add_u64str(b, "json_size", meta->json_size);
    add_u64str(b, "keyslots_size", meta->keyslots_size);
    if (meta->config_flags) {
        add_strv(b, "flags", meta->config_flags);
    }
    if (meta->requirements) {
        json_builder_set_member_name(b, "requirements");
        json_builder_begin_object(b);
        add_strv(b, "mandatory", meta->requirements);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);

    g_autoptr(JsonNode) root = json_builder_get_root(b);
    return json_to_string(root, FALSE);
}

char *lb_luks2_id_list(guint32 mask)
{
    GString *s = g_string_new(NULL);
    for (unsigned i = 0; i < 32; i++) {
        if (mask & (1u << i)) {
            g_string_append_printf(s, "%s%u", s->len ? "," : "", i);
        }
    }
    return g_string_free(s, FALSE);
}
