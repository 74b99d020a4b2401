/*
 * block-luks2.c: the LUKS2 format of the LUKS engine: open, unlock,
 * information, and the LbLuksFormatOps table (LUKS-FORMAT.md §3.5, §3.6,
 * §3.10).
 *
 * Unlocking tries the keyslots listed in the digest that covers segment 0,
 * "prefer" (priority 2) slots first, then normal ones; "ignore" slots
 * (priority 0) are only tried by lb_luks_find_key().  For each slot: derive
 * the area key (PBKDF2 or Argon2), read ceil(key_size*4000/512) sectors at
 * the area offset, decrypt them with the area cipher (IV 0 at the area
 * start), AF-merge with af.hash and 4000 stripes (the stored stripes value
 * is ignored, as cryptsetup does), and compare PBKDF2 of the candidate with
 * the digest in constant time.
 */
#include "config.h"
#include "block-luks2-priv.h"

#include <string.h>

#define LB_LUKS2_AF_STRIPES 4000u

bool lb_luks2_derive(const LbLuks2Keyslot *ks, const LbSecret *pass,
                     guint8 *out, GError **errp)
{
    const guint8 *p = lb_secret_cdata(pass);
    size_t plen = lb_secret_len(pass);

    switch (ks->kdf) {
    case LB_LUKS2_KDF_PBKDF2:
        return lb_pbkdf2(ks->kdf_hash, p, plen, ks->salt, ks->salt_len,
                         ks->iterations, out, ks->area_key_size, errp);
    case LB_LUKS2_KDF_ARGON2I:
    case LB_LUKS2_KDF_ARGON2ID:
        return lb_argon2(ks->kdf == LB_LUKS2_KDF_ARGON2I ? LB_ARGON2I
                                                         : LB_ARGON2ID,
                         p, plen, ks->salt, ks->salt_len, ks->time, ks->memory,
                         ks->cpus, out, ks->area_key_size, errp);
    }
    g_assert_not_reached();
}

int lb_luks2_segment_digest(const LbLuks2Meta *meta)
{
    for (int i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        if (meta->digests[i].used && (meta->digests[i].segments & 1u)) {
            return i;
        }
    }
    return -1;
}

/* Split "aes-xts-plain64" at the first '-' (lengths checked at decode). */
static void split_spec(const char *spec, char *name, char *mode)
{
    const char *dash = strchr(spec, '-');

    memset(name, 0, LB_LUKS1_NAME_LEN);
    memset(mode, 0, LB_LUKS1_NAME_LEN);
    memcpy(name, spec, dash - spec);
    g_strlcpy(mode, dash + 1, LB_LUKS1_NAME_LEN);
}

static bool verify_digest(const LbLuks2Digest *d, const LbSecret *key,
                          bool *match, GError **errp)
{
    guint8 out[LB_HASH_MAX_DIGEST];

    if (!lb_pbkdf2(d->hash, lb_secret_cdata(key), lb_secret_len(key), d->salt,
                   d->salt_len, d->iterations, out, d->digest_len, errp)) {
        return false;
    }
    *match = lb_memeq_consttime(out, d->digest, d->digest_len);
    lb_memzero(out, sizeof(out));
    return true;
}

int lb_luks2_keyslot_unlock(LbLuks *luks, const LbLuks2Hdr *hdr, int id,
                            const LbSecret *pass, LbSecret **vk, GError **errp)
{
    return lb_luks2_keyslot_unlock_digest(
        luks, hdr, id, lb_luks2_segment_digest(&hdr->meta), pass, vk, errp);
}

int lb_luks2_keyslot_unlock_digest(LbLuks *luks, const LbLuks2Hdr *hdr,
                                   int id, int di, const LbSecret *pass,
                                   LbSecret **vk, GError **errp)
{
    const LbLuks2Keyslot *ks = &hdr->meta.keyslots[id];
    char name[LB_LUKS1_NAME_LEN], mode[LB_LUKS1_NAME_LEN];
    bool match = false;

    g_assert(ks->used);
    if (ks->re.used || di < 0 || !(hdr->meta.digests[di].keyslots & (1u << id))) {
        return 0;
    }
    size_t af_len = lb_luks_af_sectors(ks->key_size) * LB_LUKS_SECTOR;
    g_autoptr(LbSecret) dk = lb_secret_new(ks->area_key_size);
    g_autoptr(LbSecret) material = lb_secret_new(af_len);
    g_autoptr(LbSecret) cand = lb_secret_new(ks->key_size);

    split_spec(ks->area_encryption, name, mode);
    if (!lb_luks2_derive(ks, pass, lb_secret_data(dk), errp) ||
        !lb_luks_io_read(luks, ks->area_offset, lb_secret_data(material),
                         af_len, errp) ||
        !lb_luks_crypt_area(name, mode, lb_secret_cdata(dk), ks->area_key_size,
                            false, lb_secret_data(material), af_len, errp) ||
        !lb_afsplit_decode(ks->af_hash, ks->key_size, LB_LUKS2_AF_STRIPES,
                           lb_secret_cdata(material), lb_secret_data(cand),
                           errp) ||
        !verify_digest(&hdr->meta.digests[di], cand, &match, errp)) {
        g_prefix_error(errp, "keyslot %d: ", id);
        return -1;
    }
    if (!match) {
        return 0;
    }
    *vk = g_steal_pointer(&cand);
    return 1;
}

/*
 * Try keyslots in cryptsetup's order; with @all also "ignore" slots.
 * Returns the slot id, -1 no match, -2 error (only when no slot matched
 * and at least one failed for another reason than the passphrase).
 */
static int luks2_unlock(LbLuks *luks, const LbLuks2Hdr *hdr,
                        const LbSecret *pass, bool all, LbSecret **vk,
                        GError **errp)
{
    static const int order[] = {2, 1, 0};
    g_autoptr(GError) first_err = NULL;

    for (unsigned o = 0; o < G_N_ELEMENTS(order); o++) {
        if (order[o] == 0 && !all) {
            break;
        }
        for (int id = 0; id < LB_LUKS2_MAX_KEYSLOTS; id++) {
            const LbLuks2Keyslot *ks = &hdr->meta.keyslots[id];
            g_autoptr(GError) err = NULL;
            if (!ks->used || ks->priority != order[o]) {
                continue;
            }
            int r = lb_luks2_keyslot_unlock(luks, hdr, id, pass, vk, &err);
            if (r > 0) {
                return id;
            }
            if (r < 0 && !first_err) {
                first_err = g_steal_pointer(&err);
            }
        }
    }
    if (first_err) {
        g_propagate_error(errp, g_steal_pointer(&first_err));
        return -2;
    }
    return -1;
}

bool lb_luks2_set_common(LbLuks *luks, const LbLuks2Hdr *hdr, GError **errp)
{
    const LbLuks2Segment *seg = &hdr->meta.segments[0];

    g_assert(seg->used);
    /* Mid-reencryption the first segment may be plaintext: describe the
     * volume by its first encrypted segment (a backup one at worst). */
    for (unsigned i = 0; seg->linear && i < LB_LUKS2_MAX_SEGMENTS; i++) {
        if (hdr->meta.segments[i].used && !hdr->meta.segments[i].linear) {
            seg = &hdr->meta.segments[i];
        }
    }
    if (seg->linear) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS2 header has no encrypted segment");
        return false;
    }
    luks->version = 2;
    split_spec(seg->encryption, luks->cipher_name, luks->cipher_mode);
    luks->payload_offset = seg->offset;
    luks->payload_size = seg->dynamic ? 0 : seg->size;
    luks->iv_tweak = seg->iv_tweak;
    luks->sector_size = seg->sector_size;
    luks->header_size = 2 * hdr->hdr_size + hdr->meta.keyslots_size;
    return true;
}

static bool luks2_open(LbLuks *luks, const LbSecret *pass, unsigned flags,
                       GError **errp)
{
    LbLuks2State *st = g_new0(LbLuks2State, 1);
    LbLuks2Hdr *hdr;
    /* Told only when the open succeeds: a failed one has its own error. */
    g_autofree char *warning = NULL;

    luks->fmt = st;
    st->hdr = hdr = lb_luks2_hdr_read(luks, &st->copy_state, &warning, errp);
    if (!hdr) {
        return false;
    }
    bool reenc = lb_luks2_reenc_requirements_known(&hdr->meta);
    if (hdr->meta.requirements && !reenc &&
        !(flags & (LB_LUKS_OPEN_READ_ONLY | LB_LUKS_OPEN_NO_KEYS))) {
        g_autofree char *req = g_strjoinv(", ", hdr->meta.requirements);
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS2 header has unmet requirements (%s); it can only "
                    "be opened read-only",
                    req);
        return false;
    }
    if (luks->io.length) {
        int64_t len = luks->io.length(luks->io.opaque, errp);
        if (len < 0) {
            return false;
        }
        if ((uint64_t)len < 2 * hdr->hdr_size + hdr->meta.keyslots_size) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS2 header device is too small (%" G_GINT64_FORMAT
                        " bytes, keyslots area ends at %" G_GUINT64_FORMAT ")",
                        len, 2 * hdr->hdr_size + hdr->meta.keyslots_size);
            return false;
        }
    }
    if (!lb_luks2_set_common(luks, hdr, errp)) {
        return false;
    }
    if (flags & LB_LUKS_OPEN_NO_KEYS) {
        if (warning) {
            g_warning("%s", warning);
        }
        return true;
    }

    if (reenc) {
        /* Mid-reencryption: each request goes to its segment's key. */
        int slot = -1;
        luks->reenc = lb_luks2_reenc_map_new(luks, hdr, pass, &slot, errp);
        if (!luks->reenc) {
            return false;
        }
        luks->master_key = lb_secret_dup(lb_luks2_reenc_map_key(luks->reenc));
        luks->unlocked_slot = slot;
        luks->payload_size = 0;
        luks->sector_size = lb_luks2_reenc_map_sector(luks->reenc);
        if (warning) {
            g_warning("%s", warning);
        }
        return true;
    }

    LbSecret *vk = NULL;
    int id = luks2_unlock(luks, hdr, pass, false, &vk, errp);
    if (id == -2) {
        return false;
    }
    if (id < 0) {
        JsonObject *tok =
            hdr->meta.tokens ? json_node_get_object(hdr->meta.tokens) : NULL;
        bool tokens = tok && json_object_get_size(tok) > 0;
        /* Tokens (TPM2, FIDO2, keyring...) are not used here: say so when
         * they may be the only way into some keyslot. */
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE,
                    LB_LUKS_BAD_PASSPHRASE_MSG "%s",
                    tokens ? "; the header's LUKS2 tokens are not supported"
                           : "");
        return false;
    }
    luks->master_key = vk;
    luks->unlocked_slot = id;

    /* Make sure the data path can run before reporting success. */
    g_autoptr(GError) err = NULL;
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new(luks->cipher_name, luks->cipher_mode,
                            lb_secret_cdata(vk), lb_secret_len(vk), &err);
    if (!c) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "cipher %s-%s is not supported: %s", luks->cipher_name,
                    luks->cipher_mode, err->message);
        return false;
    }
    if (warning) {
        g_warning("%s", warning);
    }
    return true;
}

static void luks2_free_fmt(void *fmt)
{
    LbLuks2State *st = fmt;
    lb_luks2_hdr_free(st->hdr);
    g_free(st);
}

static int luks2_find_key(LbLuks *luks, const LbSecret *pass, GError **errp)
{
    LbLuks2State *st = luks->fmt;
    g_autoptr(LbSecret) vk = NULL;
    return luks2_unlock(luks, st->hdr, pass, true, &vk, errp);
}

static unsigned luks2_n_active_slots(LbLuks *luks)
{
    LbLuks2State *st = luks->fmt;
    unsigned n = 0;
    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        n += st->hdr->meta.keyslots[i].used;
    }
    return n;
}

/* ---- information --------------------------------------------------------- */

static const char *kdf_name(LbLuks2KdfType kdf)
{
    return kdf == LB_LUKS2_KDF_PBKDF2    ? "pbkdf2"
           : kdf == LB_LUKS2_KDF_ARGON2I ? "argon2i"
                                         : "argon2id";
}

static void fill_slot(const LbLuks2Keyslot *ks, int id, LbLuksSlotInfo *si)
{
    si->id = id;
    si->active = true;
    si->key_offset = ks->area_offset;
    si->area_size = ks->area_size;
    si->stripes = LB_LUKS2_AF_STRIPES;
    si->af_hash = g_strdup(lb_hash_name(ks->af_hash));
    si->kdf = g_strdup(kdf_name(ks->kdf));
    if (ks->kdf == LB_LUKS2_KDF_PBKDF2) {
        si->kdf_hash = g_strdup(lb_hash_name(ks->kdf_hash));
        si->iters = ks->iterations;
    } else {
        si->time_cost = ks->time;
        si->memory_kib = ks->memory;
        si->parallel = ks->cpus;
    }
    si->priority = ks->priority;
    si->encryption = g_strdup(ks->area_encryption);
    si->key_bytes = ks->key_size;
}

static void luks2_fill_info(LbLuks *luks, LbLuksInfo *info)
{
    LbLuks2State *st = luks->fmt;
    const LbLuks2Hdr *hdr = st->hdr;
    const LbLuks2Meta *m = &hdr->meta;
    int di = lb_luks2_segment_digest(m);
    unsigned key_bytes = luks->master_key ? lb_secret_len(luks->master_key) : 0;

    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS && !key_bytes; i++) {
        if (m->keyslots[i].used &&
            (di < 0 || (m->digests[di].keyslots & (1u << i)))) {
            key_bytes = m->keyslots[i].key_size;
        }
    }
    lb_luks_spec_to_info(luks->cipher_name, luks->cipher_mode, key_bytes, info);
    if (di >= 0) {
        info->hash_alg = g_strdup(lb_hash_name(m->digests[di].hash));
        info->master_key_iters = m->digests[di].iterations;
    }
    info->uuid = g_strdup(hdr->uuid);
    info->label = hdr->label[0] ? g_strdup(hdr->label) : NULL;
    info->subsystem = hdr->subsystem[0] ? g_strdup(hdr->subsystem) : NULL;
    info->seqid = hdr->seqid;
    info->hdr_size = hdr->hdr_size;
    info->keyslots_size = m->keyslots_size;
    info->sector_size = luks->sector_size;
    info->flags = m->config_flags ? g_strjoinv(",", m->config_flags) : NULL;
    info->requirements =
        m->requirements ? g_strjoinv(",", m->requirements) : NULL;
    if (st->copy_state & LB_LUKS2_COPY_PRIMARY_BAD) {
        info->header_warning =
            g_strdup("primary header copy is damaged; the next header change "
                     "rewrites it");
    } else if (st->copy_state & LB_LUKS2_COPY_SECONDARY_BAD) {
        info->header_warning =
            g_strdup("secondary header copy is damaged; the next header change "
                     "rewrites it");
    } else if (st->copy_state & LB_LUKS2_COPY_STALE) {
        info->header_warning =
            g_strdup("header copies differ in seqid; the next header change "
                     "rewrites the older one");
    }

    info->slots = g_new0(LbLuksSlotInfo, LB_LUKS2_MAX_KEYSLOTS);
    for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
        if (m->keyslots[i].used) {
            fill_slot(&m->keyslots[i], i, &info->slots[info->n_slots++]);
        }
    }
    info->segments = g_new0(LbLuksSegmentInfo, LB_LUKS2_MAX_SEGMENTS);
    for (unsigned i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        const LbLuks2Segment *s = &m->segments[i];
        if (s->used) {
            LbLuksSegmentInfo *si = &info->segments[info->n_segments++];
            si->id = i;
            si->type = g_strdup(s->linear ? "linear" : "crypt");
            si->offset = s->offset;
            si->size = s->dynamic ? 0 : s->size;
            si->iv_tweak = s->iv_tweak;
            si->encryption = g_strdup(s->encryption);
            si->sector_size = s->sector_size;
        }
    }
    info->digests = g_new0(LbLuksDigestInfo, LB_LUKS2_MAX_DIGESTS);
    for (unsigned i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        const LbLuks2Digest *d = &m->digests[i];
        if (d->used) {
            LbLuksDigestInfo *di2 = &info->digests[info->n_digests++];
            di2->id = i;
            di2->type = g_strdup("pbkdf2");
            di2->hash = g_strdup(lb_hash_name(d->hash));
            di2->iterations = d->iterations;
            di2->keyslots = lb_luks2_id_list(d->keyslots);
            di2->segments = lb_luks2_id_list(d->segments);
        }
    }
}

const LbLuksFormatOps lb_luks2_ops = {
    .name = "luks2",
    .open = luks2_open,
    .create = lb_luks2_create,
    .fill_info = luks2_fill_info,
    .add_key = lb_luks2_add_key,
    .remove_key = lb_luks2_remove_key,
    .find_key = luks2_find_key,
    .n_active_slots = luks2_n_active_slots,
    .free_fmt = luks2_free_fmt,
};
