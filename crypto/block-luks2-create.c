/*
 * block-luks2-create.c: LUKS2 creation and keyslot add/remove
 * (LUKS-FORMAT.md §3.5, §3.6, §3.9, §7).
 *
 * Layout as cryptsetup 2.6 makes it: 16 KiB metadata copies, a keyslots
 * area of 16 MiB - 2*hdr_size, data at 16 MiB when attached and at 0 when
 * detached (the header file is then sized to exactly 2*hdr_size +
 * keyslots_size).  Keyslot areas are allocated first-fit from the start
 * of the keyslots area, each round_up(key_size*4000, 4096) bytes.
 *
 * Write order (crash safety): key material first, flush, then both header
 * copies (block-luks2-disk.c).  Removing a keyslot wipes its area with
 * random bytes before the header stops pointing at it.
 */
#include "config.h"
#include "block-luks2-priv.h"

#include <string.h>
#include <unistd.h>

#define LB_LUKS2_DEFAULT_MEMORY_KIB (1024u * 1024)
#define LB_LUKS2_DIGEST_MS 125u
#define LB_LUKS2_WIPE_CHUNK (1024u * 1024)
#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))

/* Parameters for a new keyslot's KDF. */
typedef struct LbLuks2KdfParams {
    LbLuks2KdfType kdf;
    LbHashAlg hash;
    uint64_t iter_ms;
    uint32_t iterations; /* forced pbkdf2 iterations, 0 = benchmark */
    uint32_t time;       /* forced argon2 time, 0 = calibrate */
    uint32_t max_memory_kib;
    uint32_t parallel;
} LbLuks2KdfParams;

static uint32_t default_memory_kib(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    uint64_t half = pages > 0 && psize > 0
                        ? (uint64_t)pages * (uint64_t)psize / 1024 / 2
                        : LB_LUKS2_DEFAULT_MEMORY_KIB;
    return (uint32_t)MIN((uint64_t)LB_LUKS2_DEFAULT_MEMORY_KIB, half);
}

static bool write_random(LbLuks *luks, uint64_t off, uint64_t len,
                         GError **errp)
{
    g_autofree guint8 *buf = g_malloc(MIN(len, LB_LUKS2_WIPE_CHUNK));

    while (len > 0) {
        size_t n = MIN(len, LB_LUKS2_WIPE_CHUNK);
        if (!lb_random_bytes(buf, n, errp) ||
            !lb_luks_io_write(luks, off, buf, n, errp)) {
            return false;
        }
        off += n;
        len -= n;
    }
    return true;
}

/* First-fit allocation of @size bytes in the keyslots area. */
static bool alloc_area(const LbLuks2Hdr *hdr, uint64_t size, uint64_t *out,
                       GError **errp)
{
    uint64_t start = 2 * hdr->hdr_size, end = start + hdr->meta.keyslots_size;
    uint64_t cand = start;
    bool moved = true;

    while (moved) {
        moved = false;
        for (unsigned i = 0; i < LB_LUKS2_MAX_KEYSLOTS; i++) {
            const LbLuks2Keyslot *ks = &hdr->meta.keyslots[i];
            if (ks->used && ks->area_offset < cand + size &&
                cand < ks->area_offset + ks->area_size) {
                cand = ROUND_UP(ks->area_offset + ks->area_size, 4096);
                moved = true;
            }
        }
    }
    if (cand + size > end) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    "no space for a new keyslot in the keyslots area");
        return false;
    }
    *out = cand;
    return true;
}

/* Fill keyslot @ks for a @key_bytes volume key of segment @seg. */
static bool keyslot_setup(LbLuks2Keyslot *ks, const LbLuks2Segment *seg,
                          size_t key_bytes, const LbLuks2KdfParams *p,
                          GError **errp)
{
    memset(ks, 0, sizeof(*ks));
    ks->key_size = key_bytes;
    ks->af_hash = p->hash;
    ks->af_stripes = LB_LUKS_STRIPES;
    ks->area_size = ROUND_UP((uint64_t)key_bytes * LB_LUKS_STRIPES, 4096);
    /* cryptsetup falls back to aes-xts-plain64 when the segment cipher
     * cannot protect key material (§3.5). */
    if (g_str_has_prefix(seg->encryption, "cipher_null")) {
        ks->area_encryption = g_strdup("aes-xts-plain64");
        ks->area_key_size = 64;
    } else {
        ks->area_encryption = g_strdup(seg->encryption);
        ks->area_key_size = key_bytes;
    }
    ks->kdf = p->kdf;
    ks->priority = 1;
    ks->salt_len = LB_LUKS_SALT_LEN;
    if (!lb_random_bytes(ks->salt, ks->salt_len, errp)) {
        return false;
    }
    if (p->kdf == LB_LUKS2_KDF_PBKDF2) {
        ks->kdf_hash = p->hash;
        uint64_t it = p->iterations;
        if (!it) {
            it = lb_pbkdf2_count_iters(p->hash, ks->area_key_size, p->iter_ms,
                                       errp);
            if (!it) {
                return false;
            }
        }
        ks->iterations =
            (uint32_t)CLAMP(it, LB_LUKS_MIN_ITERATIONS, G_MAXUINT32);
        return true;
    }
    LbArgon2Type t = p->kdf == LB_LUKS2_KDF_ARGON2I ? LB_ARGON2I : LB_ARGON2ID;
    ks->cpus = p->parallel;
    if (p->time) {
        ks->time = p->time;
        ks->memory = MAX(p->max_memory_kib, 8 * p->parallel);
        return true;
    }
    return lb_argon2_calibrate(t, p->iter_ms, p->max_memory_kib, p->parallel,
                               ks->area_key_size, &ks->time, &ks->memory, errp);
}

/* Derive, AF-split @vk, encrypt and write the key material of @ks. */
static bool keyslot_store(LbLuks *luks, const LbLuks2Keyslot *ks,
                          const LbSecret *pass, const LbSecret *vk,
                          GError **errp)
{
    size_t af_len = lb_luks_af_sectors(ks->key_size) * LB_LUKS_SECTOR;
    g_autoptr(LbSecret) dk = lb_secret_new(ks->area_key_size);
    g_autoptr(LbSecret) material = lb_secret_new(af_len);
    const char *dash = strchr(ks->area_encryption, '-');
    g_autofree char *name =
        g_strndup(ks->area_encryption, dash - ks->area_encryption);

    return lb_luks2_derive(ks, pass, lb_secret_data(dk), errp) &&
           lb_afsplit_encode(ks->af_hash, ks->key_size, LB_LUKS_STRIPES,
                             lb_secret_cdata(vk), lb_secret_data(material),
                             errp) &&
           lb_luks_crypt_area(name, dash + 1, lb_secret_cdata(dk),
                              ks->area_key_size, true, lb_secret_data(material),
                              af_len, errp) &&
           lb_luks_io_write(luks, ks->area_offset, lb_secret_cdata(material),
                            af_len, errp) &&
           lb_luks_io_flush(luks, errp);
}

static bool digest_setup(LbLuks2Digest *d, LbHashAlg hash, const LbSecret *vk,
                         const LbLuksCreateOpts *opts, GError **errp)
{
    uint64_t ms =
        opts->iter_time_ms ? opts->iter_time_ms : LB_LUKS_DEFAULT_ITER_TIME_MS;
    uint64_t it = LB_LUKS_MIN_ITERATIONS;

    d->used = true;
    d->hash = hash;
    d->digest_len = lb_hash_digest_len(hash);
    d->salt_len = LB_LUKS_SALT_LEN;
    d->keyslots = 1u;
    d->segments = 1u;
    /* cryptsetup: 125 ms, 1000 with forced iterations.  A shorter
     * iter-time also shortens the digest (the keyslot KDF is what
     * protects the passphrase). */
    if (!opts->iterations) {
        it = lb_pbkdf2_count_iters(hash, d->digest_len,
                                   MIN(ms, LB_LUKS2_DIGEST_MS), errp);
        if (!it) {
            return false;
        }
    }
    d->iterations = (uint32_t)CLAMP(it, LB_LUKS_MIN_ITERATIONS, G_MAXUINT32);
    return lb_random_bytes(d->salt, d->salt_len, errp) &&
           lb_pbkdf2(hash, lb_secret_cdata(vk), lb_secret_len(vk), d->salt,
                     d->salt_len, d->iterations, d->digest, d->digest_len,
                     errp);
}

static bool parse_kdf(const char *name, LbLuks2KdfType *out, GError **errp)
{
    if (!name || g_str_equal(name, "argon2id")) {
        *out = LB_LUKS2_KDF_ARGON2ID;
    } else if (g_str_equal(name, "argon2i")) {
        *out = LB_LUKS2_KDF_ARGON2I;
    } else if (g_str_equal(name, "pbkdf2")) {
        *out = LB_LUKS2_KDF_PBKDF2;
    } else {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "unknown pbkdf '%s' (argon2id, argon2i or pbkdf2)", name);
        return false;
    }
    return true;
}

/* Metadata size, keyslots area and data offset (§3.9 table and rules). */
static bool plan_layout(const LbLuksCreateOpts *o, LbLuks2Hdr *hdr,
                        LbLuks2Segment *seg, GError **errp)
{
    uint64_t hs = o->hdr_size ? o->hdr_size : LB_LUKS2_DEFAULT_HDR_SIZE;
    uint64_t ks = o->keyslots_size;

    if (!lb_luks2_hdr_size_valid(hs)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid LUKS2 metadata size %" G_GUINT64_FORMAT
                    " (16 KiB, 32 KiB, ... 4 MiB)",
                    hs);
        return false;
    }
    seg->offset = 0;
    if (!o->detached && o->payload_offset) {
        seg->offset = o->payload_offset;
        if (seg->offset <= 2 * hs || seg->offset % seg->sector_size) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                        "invalid payload offset %" G_GUINT64_FORMAT,
                        seg->offset);
            return false;
        }
        if (!ks) {
            ks = MIN((seg->offset - 2 * hs) / 4096 * 4096,
                     (uint64_t)LB_LUKS2_MAX_KEYSLOTS_SIZE);
        }
    } else if (!ks) {
        ks = LB_LUKS2_DEFAULT_LAYOUT - 2 * hs;
    }
    if (!o->detached && !o->payload_offset) {
        seg->offset = ROUND_UP(2 * hs + ks, (uint64_t)LB_LUKS2_ALIGN);
    }
    if (ks == 0 || ks % 4096 || ks > LB_LUKS2_MAX_KEYSLOTS_SIZE ||
        (seg->offset && seg->offset < 2 * hs + ks)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid keyslots area size %" G_GUINT64_FORMAT, ks);
        return false;
    }
    hdr->hdr_size = hs;
    hdr->meta.json_size = hs - LB_LUKS2_BIN_SIZE;
    hdr->meta.keyslots_size = ks;
    return true;
}

static bool set_text(char *dst, size_t size, const char *src, const char *what,
                     GError **errp)
{
    if (src && strlen(src) >= size) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "%s is longer than %zu characters", what, size - 1);
        return false;
    }
    g_strlcpy(dst, src ? src : "", size);
    return true;
}

static bool fill_header(const LbLuksCreateOpts *opts, LbLuks2Hdr *hdr,
                        GError **errp)
{
    if (!set_text(hdr->label, sizeof(hdr->label), opts->label, "label", errp) ||
        !set_text(hdr->subsystem, sizeof(hdr->subsystem), opts->subsystem,
                  "subsystem", errp)) {
        return false;
    }
    if (opts->uuid) {
        if (!g_uuid_string_is_valid(opts->uuid)) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                        "invalid uuid '%s'", opts->uuid);
            return false;
        }
        g_autofree char *u = g_ascii_strdown(opts->uuid, -1);
        g_strlcpy(hdr->uuid, u, sizeof(hdr->uuid));
    } else {
        lb_luks_uuid_generate(hdr->uuid);
    }
    g_strlcpy(hdr->checksum_alg, "sha256", sizeof(hdr->checksum_alg));
    return true;
}

bool lb_luks2_create(LbLuks *luks, const LbLuksCreateOpts *opts,
                     const LbSecret *pass, GError **errp)
{
    char name[LB_LUKS1_NAME_LEN], mode[LB_LUKS1_NAME_LEN];
    size_t key_bytes;
    LbHashAlg hash;
    LbLuks2KdfParams kp = {0};
    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_new();
    LbLuks2Segment *seg = &hdr->meta.segments[0];
    LbLuks2Keyslot *ks = &hdr->meta.keyslots[0];
    const char *hash_name = opts->hash_alg ? opts->hash_alg : "sha256";

    if (!lb_luks_spec_from_opts(opts, name, mode, &key_bytes, errp)) {
        return false;
    }
    if (!lb_hash_from_name(hash_name, &hash, NULL) ||
        !lb_hash_supported(hash) || lb_hash_digest_len(hash) < 20) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "hash '%s' is not supported", hash_name);
        return false;
    }
    seg->sector_size = opts->sector_size ? opts->sector_size : 512;
    if (seg->sector_size < 512 || seg->sector_size > 4096 ||
        (seg->sector_size & (seg->sector_size - 1))) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid sector size %u (512, 1024, 2048 or 4096)",
                    seg->sector_size);
        return false;
    }
    if (!plan_layout(opts, hdr, seg, errp) || !fill_header(opts, hdr, errp) ||
        !parse_kdf(opts->pbkdf, &kp.kdf, errp)) {
        return false;
    }
    seg->used = true;
    seg->dynamic = true;
    seg->encryption = g_strdup_printf("%s-%s", name, mode);
    kp.hash = hash;
    kp.iter_ms =
        opts->iter_time_ms ? opts->iter_time_ms : LB_LUKS_DEFAULT_ITER_TIME_MS;
    kp.iterations = opts->iterations;
    kp.time = opts->pbkdf_time;
    kp.max_memory_kib =
        opts->pbkdf_memory_kib ? opts->pbkdf_memory_kib : default_memory_kib();
    kp.parallel = opts->pbkdf_parallel
                      ? opts->pbkdf_parallel
                      : MIN(4u, (unsigned)g_get_num_processors());

    g_autoptr(LbSecret) vk = lb_secret_new(key_bytes);
    if (!lb_random_bytes(lb_secret_data(vk), key_bytes, errp) ||
        !digest_setup(&hdr->meta.digests[0], hash, vk, opts, errp) ||
        !keyslot_setup(ks, seg, key_bytes, &kp, errp) ||
        !alloc_area(hdr, ks->area_size, &ks->area_offset, errp)) {
        return false;
    }
    ks->used = true;

    uint64_t end = 2 * hdr->hdr_size + hdr->meta.keyslots_size;
    if (opts->detached && luks->io.truncate &&
        !luks->io.truncate(luks->io.opaque, end, errp)) {
        return false;
    }
    if (!write_random(luks, 2 * hdr->hdr_size, hdr->meta.keyslots_size, errp) ||
        !keyslot_store(luks, ks, pass, vk, errp) ||
        !lb_luks2_hdr_write(luks, hdr, errp)) {
        g_prefix_error(errp, "cannot create LUKS2 header: ");
        return false;
    }

    LbLuks2State *st = g_new0(LbLuks2State, 1);
    luks->fmt = st;
    st->hdr = g_steal_pointer(&hdr);
    luks->master_key = g_steal_pointer(&vk);
    luks->unlocked_slot = 0;
    return lb_luks2_set_common(luks, st->hdr, errp);
}

/* ---- keyslot management ---------------------------------------------- */

static bool check_writable(LbLuks *luks, const LbLuks2Hdr *hdr, GError **errp)
{
    if (luks->flags & LB_LUKS_OPEN_READ_ONLY) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED,
                    "header is read-only");
        return false;
    }
    if (hdr->meta.requirements) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS2 header has unmet requirements; refusing to "
                    "modify it");
        return false;
    }
    return true;
}

int lb_luks2_add_key(LbLuks *luks, const LbSecret *pass, int slot,
                     uint64_t iter_time_ms, GError **errp)
{
    LbLuks2State *st = luks->fmt;
    int di = lb_luks2_segment_digest(&st->hdr->meta);
    const LbLuks2Keyslot *tmpl = NULL;

    if (!check_writable(luks, st->hdr, errp)) {
        return -1;
    }
    if (slot < 0) {
        for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS && slot < 0; i++) {
            slot = st->hdr->meta.keyslots[i].used ? -1 : i;
        }
        if (slot < 0) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                        "all keyslots are in use");
            return -1;
        }
    } else if (slot >= LB_LUKS2_MAX_KEYSLOTS) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "keyslot %d is out of range (0-%d)", slot,
                    LB_LUKS2_MAX_KEYSLOTS - 1);
        return -1;
    } else if (st->hdr->meta.keyslots[slot].used) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    "keyslot %d is already in use", slot);
        return -1;
    }
    g_assert(di >= 0);

    /* New slots follow the KDF of the slot that unlocked the volume. */
    if (luks->unlocked_slot >= 0 &&
        st->hdr->meta.keyslots[luks->unlocked_slot].used) {
        tmpl = &st->hdr->meta.keyslots[luks->unlocked_slot];
    }
    for (int i = 0; i < LB_LUKS2_MAX_KEYSLOTS && !tmpl; i++) {
        tmpl =
            st->hdr->meta.keyslots[i].used ? &st->hdr->meta.keyslots[i] : NULL;
    }
    LbLuks2KdfParams kp = {
        .kdf = tmpl ? tmpl->kdf : LB_LUKS2_KDF_ARGON2ID,
        .hash = tmpl ? tmpl->af_hash : LB_HASH_SHA256,
        .iter_ms = iter_time_ms ? iter_time_ms : LB_LUKS_DEFAULT_ITER_TIME_MS,
        .max_memory_kib = tmpl && tmpl->kdf != LB_LUKS2_KDF_PBKDF2
                              ? tmpl->memory
                              : default_memory_kib(),
        .parallel = tmpl && tmpl->kdf != LB_LUKS2_KDF_PBKDF2
                        ? tmpl->cpus
                        : MIN(4u, (unsigned)g_get_num_processors()),
    };

    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_dup(st->hdr);
    LbLuks2Keyslot *ks = &hdr->meta.keyslots[slot];
    if (!keyslot_setup(ks, &hdr->meta.segments[0],
                       lb_secret_len(luks->master_key), &kp, errp) ||
        !alloc_area(hdr, ks->area_size, &ks->area_offset, errp)) {
        return -1;
    }
    ks->used = true;
    hdr->meta.digests[di].keyslots |= 1u << slot;
    if (!keyslot_store(luks, ks, pass, luks->master_key, errp) ||
        !lb_luks2_hdr_write(luks, hdr, errp)) {
        g_prefix_error(errp, "cannot add LUKS2 keyslot %d: ", slot);
        return -1;
    }
    g_rw_lock_writer_lock(&luks->hdr_lock);
    lb_luks2_hdr_free(st->hdr);
    st->hdr = g_steal_pointer(&hdr);
    st->copy_state = 0; /* both copies were just rewritten */
    g_rw_lock_writer_unlock(&luks->hdr_lock);
    return slot;
}

/* Drop keyslot @id from every token's "keyslots" list. */
static void tokens_unassign(JsonNode *tokens, unsigned id)
{
    char name[4];
    JsonObject *to = tokens ? json_node_get_object(tokens) : NULL;
    g_autoptr(GList) members = to ? json_object_get_members(to) : NULL;

    g_snprintf(name, sizeof(name), "%u", id);
    for (GList *l = members; l; l = l->next) {
        JsonObject *t = json_object_get_object_member(to, l->data);
        JsonArray *a = t ? json_object_get_array_member(t, "keyslots") : NULL;
        for (int i = a ? (int)json_array_get_length(a) - 1 : -1; i >= 0; i--) {
            if (g_strcmp0(json_array_get_string_element(a, i), name) == 0) {
                json_array_remove_element(a, i);
            }
        }
    }
}

bool lb_luks2_remove_key(LbLuks *luks, int slot, GError **errp)
{
    LbLuks2State *st = luks->fmt;

    if (!check_writable(luks, st->hdr, errp)) {
        return false;
    }
    if (slot < 0 || slot >= LB_LUKS2_MAX_KEYSLOTS ||
        !st->hdr->meta.keyslots[slot].used) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    "keyslot %d is not active", slot);
        return false;
    }
    const LbLuks2Keyslot *old = &st->hdr->meta.keyslots[slot];
    if (!write_random(luks, old->area_offset, old->area_size, errp) ||
        !lb_luks_io_flush(luks, errp)) {
        g_prefix_error(errp, "cannot wipe LUKS2 keyslot %d: ", slot);
        return false;
    }

    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_dup(st->hdr);
    g_free(hdr->meta.keyslots[slot].area_encryption);
    memset(&hdr->meta.keyslots[slot], 0, sizeof(hdr->meta.keyslots[slot]));
    for (unsigned i = 0; i < LB_LUKS2_MAX_DIGESTS; i++) {
        hdr->meta.digests[i].keyslots &= ~(1u << slot);
    }
    tokens_unassign(hdr->meta.tokens, slot);
    if (!lb_luks2_hdr_write(luks, hdr, errp)) {
        g_prefix_error(errp, "cannot remove LUKS2 keyslot %d: ", slot);
        return false;
    }
    g_rw_lock_writer_lock(&luks->hdr_lock);
    lb_luks2_hdr_free(st->hdr);
    st->hdr = g_steal_pointer(&hdr);
    st->copy_state = 0; /* both copies were just rewritten */
    if (luks->unlocked_slot == slot) {
        luks->unlocked_slot = -1;
    }
    g_rw_lock_writer_unlock(&luks->hdr_lock);
    return true;
}

/* A fixed-size segment records the payload size: resize rewrites it. */
bool lb_luks2_set_segment_size(LbLuks *luks, uint64_t size, GError **errp)
{
    LbLuks2State *st = luks->fmt;

    if (!check_writable(luks, st->hdr, errp)) {
        return false;
    }
    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_dup(st->hdr);
    LbLuks2Segment *seg = &hdr->meta.segments[0];
    if (seg->dynamic) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "the LUKS2 segment size is dynamic");
        return false;
    }
    if (size == 0 || size % seg->sector_size) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid LUKS2 segment size %" G_GUINT64_FORMAT, size);
        return false;
    }
    seg->size = size;
    if (!lb_luks2_hdr_write(luks, hdr, errp)) {
        g_prefix_error(errp, "cannot record the LUKS2 segment size: ");
        return false;
    }
    g_rw_lock_writer_lock(&luks->hdr_lock);
    lb_luks2_hdr_free(st->hdr);
    st->hdr = g_steal_pointer(&hdr);
    st->copy_state = 0; /* both copies were just rewritten */
    __atomic_store_n(&luks->payload_size, size, __ATOMIC_RELEASE);
    g_rw_lock_writer_unlock(&luks->hdr_lock);
    return true;
}

/* ---- for reencryption (block-luks2-reencrypt.c) ------------------------ */

bool lb_luks2_digest_make(LbLuks2Digest *d, const LbSecret *vk,
                          uint64_t iter_time_ms, uint32_t iterations,
                          GError **errp)
{
    LbLuksCreateOpts o = {.iter_time_ms = iter_time_ms,
                          .iterations = iterations};

    memset(d, 0, sizeof(*d));
    if (!digest_setup(d, LB_HASH_SHA256, vk, &o, errp)) {
        return false;
    }
    d->keyslots = d->segments = 0;
    return true;
}

bool lb_luks2_keyslot_make(LbLuks *luks, LbLuks2Hdr *hdr, int slot,
                           const LbLuks2Keyslot *tmpl, const char *encryption,
                           const LbSecret *pass, const LbSecret *vk,
                           uint64_t iter_time_ms, uint32_t iterations,
                           GError **errp)
{
    LbLuks2Segment seg = {.encryption = (char *)encryption};
    bool argon = tmpl && tmpl->kdf != LB_LUKS2_KDF_PBKDF2;
    LbLuks2KdfParams kp = {
        .kdf = tmpl ? tmpl->kdf : LB_LUKS2_KDF_ARGON2ID,
        .hash = tmpl ? tmpl->af_hash : LB_HASH_SHA256,
        .iter_ms = iter_time_ms ? iter_time_ms : LB_LUKS_DEFAULT_ITER_TIME_MS,
        .iterations = iterations,
        .max_memory_kib = argon ? tmpl->memory : default_memory_kib(),
        .parallel = argon ? tmpl->cpus
                          : MIN(4u, (unsigned)g_get_num_processors()),
    };
    LbLuks2Keyslot *ks = &hdr->meta.keyslots[slot];

    if (!keyslot_setup(ks, &seg, lb_secret_len(vk), &kp, errp) ||
        !alloc_area(hdr, ks->area_size, &ks->area_offset, errp)) {
        return false;
    }
    ks->used = true;
    return keyslot_store(luks, ks, pass, vk, errp);
}
