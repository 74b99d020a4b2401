/*
 * block-luks1-keyslot.c: LUKS1 keyslots and header creation
 * (LUKS-FORMAT.md §1.3, §1.5, §1.6, §5.3, §5.4, §7).
 *
 * Unlocks keyslots (PBKDF2, sector-decrypt the key material with IV sector
 * 0 at its start, AF-merge, check the volume key digest in constant time),
 * creates new headers in QEMU's layout, and adds or removes keyslots.
 * Every update writes key material and flushes it before the header that
 * points at it is written, so a crash leaves the old or the new keyslot
 * set usable.  Key material and derived keys live only in LbSecrets.
 */
#include "config.h"
#include "block-luks1-priv.h"

#include <inttypes.h>
#include <string.h>

#include "lb/secret.h"

/* ---- keyslot unlock (§1.5) --------------------------------------------- */

/* 1: @key matches the volume key digest, 0: it does not, -1: error. */
static int luks1_digest_check(const LbLuks1Hdr *h, const LbSecret *key,
                              GError **errp)
{
    guint8 digest[LB_LUKS1_DIGEST_LEN];

    if (!lb_pbkdf2(h->hash, lb_secret_cdata(key), lb_secret_len(key),
                   h->mk_digest_salt, LB_LUKS_SALT_LEN, h->mk_digest_iterations,
                   digest, sizeof(digest), errp)) {
        return -1;
    }
    bool ok = lb_memeq_consttime(digest, h->mk_digest, sizeof(digest));
    lb_memzero(digest, sizeof(digest));
    return ok ? 1 : 0;
}

/* Try @pass on slot @i: 1 with the volume key in *@key, 0 no match, -1
 * on error. */
static int luks1_slot_try(LbLuks *luks, const LbLuks1Hdr *h, unsigned i,
                          const LbSecret *pass, LbSecret **key, GError **errp)
{
    const LbLuks1Slot *s = &h->slots[i];
    size_t kb = h->key_bytes;
    size_t len = h->af_sectors * LB_LUKS_SECTOR;

    if (s->iterations == 0) {
        return 0; /* cryptsetup: such a slot can never be opened */
    }
    g_autoptr(LbSecret) dk = lb_secret_new(kb);
    if (!lb_pbkdf2(h->hash, lb_secret_cdata(pass), lb_secret_len(pass), s->salt,
                   LB_LUKS_SALT_LEN, s->iterations, lb_secret_data(dk), kb,
                   errp)) {
        return -1;
    }
    g_autoptr(LbSecret) split = lb_secret_new(len);
    if (!lb_luks_io_read(luks, (uint64_t)s->key_offset * LB_LUKS_SECTOR,
                         lb_secret_data(split), len, errp)) {
        g_prefix_error(errp, "cannot read keyslot %u: ", i);
        return -1;
    }
    if (!lb_luks_crypt_area(h->cipher_name, h->cipher_mode, lb_secret_cdata(dk),
                            kb, false, lb_secret_data(split), len, errp)) {
        return -1;
    }
    g_autoptr(LbSecret) cand = lb_secret_new(kb);
    if (!lb_afsplit_decode(h->hash, kb, s->stripes, lb_secret_cdata(split),
                           lb_secret_data(cand), errp)) {
        return -1;
    }
    int r = luks1_digest_check(h, cand, errp);
    if (r > 0) {
        *key = g_steal_pointer(&cand);
    }
    return r;
}

/* The active slot that @pass opens (volume key in *@key), -1 none, -2 on
 * error. */
int lb_luks1_search(LbLuks *luks, const LbLuks1Hdr *h, const LbSecret *pass,
                    LbSecret **key, GError **errp)
{
    if (h->mk_digest_iterations == 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "LUKS1 volume key digest has zero iterations; no "
                    "keyslot can be verified");
        return -2;
    }
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        if (h->slots[i].active != LB_LUKS1_SLOT_ACTIVE) {
            continue;
        }
        g_autoptr(LbSecret) k = NULL;
        int r = luks1_slot_try(luks, h, i, pass, &k, errp);
        if (r < 0) {
            return -2;
        }
        if (r > 0) {
            *key = g_steal_pointer(&k);
            return (int)i;
        }
    }
    return -1;
}

/* ---- writing ------------------------------------------------------------- */

static bool luks1_write_hdr(LbLuks *luks, const LbLuks1Hdr *h, GError **errp)
{
    LbLuks1HdrDisk d;

    lb_luks1_encode(h, &d);
    if (!lb_luks_io_write(luks, 0, &d, sizeof(d), errp) ||
        !lb_luks_io_flush(luks, errp)) {
        g_prefix_error(errp, "cannot write LUKS1 header: ");
        return false;
    }
    return true;
}

/* PBKDF2 iterations for about @ms milliseconds, at least 1000. */
static bool luks1_iterations(LbHashAlg hash, size_t outlen, uint64_t ms,
                             uint32_t *out, GError **errp)
{
    uint64_t n = lb_pbkdf2_count_iters(hash, outlen, MAX(ms, 1), errp);

    if (n == 0) {
        return false;
    }
    *out = (uint32_t)CLAMP(n, LB_LUKS_MIN_ITERATIONS, G_MAXUINT32);
    return true;
}

/*
 * Store @vk in slot @s (offset already set) under @pass: new salt, derive,
 * AF-split, encrypt, write the material and flush.  Only fills @s; the
 * caller writes the header afterwards.
 */
static bool luks1_slot_store(LbLuks *luks, const LbLuks1Hdr *h, LbLuks1Slot *s,
                             const LbSecret *pass, const LbSecret *vk,
                             uint32_t iterations, GError **errp)
{
    size_t kb = h->key_bytes;
    size_t len = h->af_sectors * LB_LUKS_SECTOR;

    if (!lb_random_bytes(s->salt, LB_LUKS_SALT_LEN, errp)) {
        return false;
    }
    s->iterations = iterations;
    s->stripes = LB_LUKS_STRIPES;
    g_autoptr(LbSecret) dk = lb_secret_new(kb);
    if (!lb_pbkdf2(h->hash, lb_secret_cdata(pass), lb_secret_len(pass), s->salt,
                   LB_LUKS_SALT_LEN, iterations, lb_secret_data(dk), kb,
                   errp)) {
        return false;
    }
    /* lb_secret_new zero-fills, so the tail past kb*stripes is zero pad. */
    g_autoptr(LbSecret) split = lb_secret_new(len);
    if (!lb_afsplit_encode(h->hash, kb, LB_LUKS_STRIPES, lb_secret_cdata(vk),
                           lb_secret_data(split), errp) ||
        !lb_luks_crypt_area(h->cipher_name, h->cipher_mode, lb_secret_cdata(dk),
                            kb, true, lb_secret_data(split), len, errp)) {
        return false;
    }
    if (!lb_luks_io_write(luks, (uint64_t)s->key_offset * LB_LUKS_SECTOR,
                          lb_secret_cdata(split), len, errp) ||
        !lb_luks_io_flush(luks, errp)) {
        g_prefix_error(errp, "cannot write key material: ");
        return false;
    }
    return true;
}

/* Overwrite [@off, @off+@len) with zeros (@random false) or random bytes. */
static bool luks1_fill(LbLuks *luks, uint64_t off, uint64_t len, bool random,
                       GError **errp)
{
    size_t chunk = (size_t)MIN(len, 1024 * 1024);
    g_autofree guint8 *buf = g_malloc0(MAX(chunk, 1));

    while (len > 0) {
        size_t n = (size_t)MIN(len, chunk);
        if (random && !lb_random_bytes(buf, n, errp)) {
            return false;
        }
        if (!lb_luks_io_write(luks, off, buf, n, errp)) {
            return false;
        }
        off += n;
        len -= n;
    }
    return true;
}

static bool luks1_create_hdr(const LbLuksCreateOpts *opts, LbLuks1Hdr *h,
                             GError **errp)
{
    const char *hash = opts->hash_alg ? opts->hash_alg : "sha256";
    size_t kb = 0;

    if (!lb_luks_spec_from_opts(opts, h->cipher_name, h->cipher_mode, &kb,
                                errp)) {
        return false;
    }
    if (!lb_hash_from_name(hash, &h->hash, NULL) ||
        !lb_hash_supported(h->hash) ||
        lb_hash_digest_len(h->hash) < LB_LUKS1_DIGEST_LEN) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "hash %s is not supported for LUKS1", hash);
        return false;
    }
    g_strlcpy(h->hash_spec, lb_hash_name(h->hash), LB_LUKS1_NAME_LEN);
    if (kb == 0 || kb > LB_LUKS1_MAX_KEY_BYTES) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid key size %zu bytes", kb);
        return false;
    }
    h->key_bytes = (uint32_t)kb;
    h->af_sectors = lb_luks_af_sectors(kb);
    if (!lb_luks1_check_cipher(h->cipher_name, h->cipher_mode, kb,
                               LB_LUKS_ERROR_INVALID, errp)) {
        return false;
    }
    if (opts->uuid) {
        if (!g_uuid_string_is_valid(opts->uuid)) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                        "invalid UUID '%s'", opts->uuid);
            return false;
        }
        g_autofree char *lower = g_ascii_strdown(opts->uuid, -1);
        g_strlcpy(h->uuid, lower, sizeof(h->uuid));
    } else {
        lb_luks_uuid_generate(h->uuid);
    }

    /* Layout (§1.3, §5.3): slot i at 8 + i * round_up(af, 8) sectors. */
    uint64_t stride = LB_LUKS1_ROUND_UP(h->af_sectors, LB_LUKS1_SLOT_ALIGN);
    uint64_t layout_end = LB_LUKS1_FIRST_SLOT + LB_LUKS1_NUM_SLOTS * stride;
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        h->slots[i].active = LB_LUKS1_SLOT_DISABLED;
        h->slots[i].key_offset = (uint32_t)(LB_LUKS1_FIRST_SLOT + i * stride);
        h->slots[i].stripes = LB_LUKS_STRIPES;
    }
    if (opts->detached) {
        h->payload_offset = 0;
    } else if (opts->payload_offset) {
        if (opts->payload_offset % LB_LUKS_SECTOR ||
            opts->payload_offset / LB_LUKS_SECTOR < layout_end ||
            opts->payload_offset / LB_LUKS_SECTOR > G_MAXUINT32) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                        "payload offset %" PRIu64 " must be a multiple of "
                        "512 and at least %" PRIu64 " (the header size)",
                        opts->payload_offset, layout_end * LB_LUKS_SECTOR);
            return false;
        }
        h->payload_offset = (uint32_t)(opts->payload_offset / LB_LUKS_SECTOR);
    } else {
        h->payload_offset = (uint32_t)layout_end; /* QEMU: no alignment */
    }
    return true;
}

bool lb_luks1_create(LbLuks *luks, const LbLuksCreateOpts *opts,
                     const LbSecret *pass, GError **errp)
{
    g_autofree LbLuks1Hdr *h = g_new0(LbLuks1Hdr, 1);
    uint64_t iter_ms =
        opts->iter_time_ms ? opts->iter_time_ms : LB_LUKS_DEFAULT_ITER_TIME_MS;
    uint32_t slot_iters = opts->iterations;

    if (!luks1_create_hdr(opts, h, errp)) {
        return false;
    }
    if (opts->iterations && opts->iterations < LB_LUKS_MIN_ITERATIONS) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "iterations must be at least %u", LB_LUKS_MIN_ITERATIONS);
        return false;
    }
    /* QEMU: the digest gets 1/8 of the slot's time (cryptsetup 125 ms);
     * with forced iterations cryptsetup gives the digest the minimum. */
    h->mk_digest_iterations = LB_LUKS_MIN_ITERATIONS;
    if (!opts->iterations &&
        (!luks1_iterations(h->hash, h->key_bytes, iter_ms, &slot_iters, errp) ||
         !luks1_iterations(h->hash, LB_LUKS1_DIGEST_LEN, iter_ms / 8,
                           &h->mk_digest_iterations, errp))) {
        return false;
    }

    g_autoptr(LbSecret) vk = lb_secret_new(h->key_bytes);
    if (!lb_random_bytes(lb_secret_data(vk), h->key_bytes, errp) ||
        !lb_random_bytes(h->mk_digest_salt, LB_LUKS_SALT_LEN, errp) ||
        !lb_pbkdf2(h->hash, lb_secret_cdata(vk), h->key_bytes,
                   h->mk_digest_salt, LB_LUKS_SALT_LEN, h->mk_digest_iterations,
                   h->mk_digest, LB_LUKS1_DIGEST_LEN, errp)) {
        return false;
    }

    /* Detached: the header file is exactly the key material area (QEMU);
     * attached: zero everything before the payload (cryptsetup). */
    uint64_t stride = LB_LUKS1_ROUND_UP(h->af_sectors, LB_LUKS1_SLOT_ALIGN);
    uint64_t layout_end =
        (LB_LUKS1_FIRST_SLOT + LB_LUKS1_NUM_SLOTS * stride) * LB_LUKS_SECTOR;
    uint64_t area = opts->detached
                        ? layout_end
                        : (uint64_t)h->payload_offset * LB_LUKS_SECTOR;
    if (opts->detached && luks->io.truncate &&
        !luks->io.truncate(luks->io.opaque, layout_end, errp)) {
        g_prefix_error(errp, "cannot size the LUKS header file: ");
        return false;
    }
    if (!luks1_fill(luks, 0, area, false, errp)) {
        g_prefix_error(errp, "cannot initialize the LUKS header area: ");
        return false;
    }
    for (unsigned i = 1; i < LB_LUKS1_NUM_SLOTS; i++) {
        if (!luks1_fill(luks, (uint64_t)h->slots[i].key_offset * LB_LUKS_SECTOR,
                        h->af_sectors * LB_LUKS_SECTOR, true, errp)) {
            g_prefix_error(errp, "cannot initialize keyslot %u: ", i);
            return false;
        }
    }
    if (!luks1_slot_store(luks, h, &h->slots[0], pass, vk, slot_iters, errp)) {
        return false;
    }
    h->slots[0].active = LB_LUKS1_SLOT_ACTIVE;
    if (!luks1_write_hdr(luks, h, errp)) {
        return false;
    }
    lb_luks1_publish(luks, h);
    luks->master_key = g_steal_pointer(&vk);
    luks->unlocked_slot = 0;
    luks->fmt = g_steal_pointer(&h);
    return true;
}

static bool luks1_slot_arg(const LbLuks1Hdr *h, int slot, uint32_t want,
                           GError **errp)
{
    if (slot < 0 || slot >= LB_LUKS1_NUM_SLOTS) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    "keyslot %d does not exist (LUKS1 has slots 0-%d)", slot,
                    LB_LUKS1_NUM_SLOTS - 1);
        return false;
    }
    if (h->slots[slot].active != want) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    want == LB_LUKS1_SLOT_ACTIVE ? "keyslot %d is not active"
                                                 : "keyslot %d is not free",
                    slot);
        return false;
    }
    return true;
}

int lb_luks1_add_key(LbLuks *luks, const LbSecret *pass, int slot,
                     uint64_t iter_time_ms, GError **errp)
{
    LbLuks1Hdr *h = luks->fmt;
    uint32_t iters = 0;

    if (slot < 0) {
        for (int i = 0; i < LB_LUKS1_NUM_SLOTS && slot < 0; i++) {
            if (h->slots[i].active == LB_LUKS1_SLOT_DISABLED) {
                slot = i;
            }
        }
        if (slot < 0) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                        "all LUKS1 keyslots are in use");
            return -1;
        }
    } else if (!luks1_slot_arg(h, slot, LB_LUKS1_SLOT_DISABLED, errp)) {
        return -1;
    }
    if (!luks1_iterations(h->hash, h->key_bytes,
                          iter_time_ms ? iter_time_ms
                                       : LB_LUKS_DEFAULT_ITER_TIME_MS,
                          &iters, errp)) {
        return -1;
    }
    LbLuks1Slot old = h->slots[slot];
    LbLuks1Slot s = old;
    if (!luks1_slot_store(luks, h, &s, pass, luks->master_key, iters, errp)) {
        return -1;
    }
    s.active = LB_LUKS1_SLOT_ACTIVE;
    /* Readers (info) see the header before or after, never during. */
    g_rw_lock_writer_lock(&luks->hdr_lock);
    h->slots[slot] = s;
    bool ok = luks1_write_hdr(luks, h, errp);
    if (!ok) {
        h->slots[slot] = old;
    }
    g_rw_lock_writer_unlock(&luks->hdr_lock);
    return ok ? slot : -1;
}

bool lb_luks1_remove_key(LbLuks *luks, int slot, GError **errp)
{
    LbLuks1Hdr *h = luks->fmt;

    if (!luks1_slot_arg(h, slot, LB_LUKS1_SLOT_ACTIVE, errp)) {
        return false;
    }
    /* Destroy the material first (QEMU's order): once it is random the
     * slot is useless even if the header update below never happens. */
    LbLuks1Slot *s = &h->slots[slot];
    if (!luks1_fill(luks, (uint64_t)s->key_offset * LB_LUKS_SECTOR,
                    h->af_sectors * LB_LUKS_SECTOR, true, errp) ||
        !lb_luks_io_flush(luks, errp)) {
        g_prefix_error(errp, "cannot wipe keyslot %d: ", slot);
        return false;
    }
    LbLuks1Slot old = *s;
    g_rw_lock_writer_lock(&luks->hdr_lock);
    s->active = LB_LUKS1_SLOT_DISABLED;
    s->iterations = 0;
    memset(s->salt, 0, LB_LUKS_SALT_LEN);
    bool ok = luks1_write_hdr(luks, h, errp);
    if (!ok) {
        *s = old;
    }
    g_rw_lock_writer_unlock(&luks->hdr_lock);
    return ok;
}

int lb_luks1_find_key(LbLuks *luks, const LbSecret *pass, GError **errp)
{
    g_autoptr(LbSecret) key = NULL;

    return lb_luks1_search(luks, luks->fmt, pass, &key, errp);
}
