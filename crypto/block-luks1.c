/*
 * block-luks1.c: the LUKS1 phdr (LUKS-FORMAT.md §1, §5.2, §5.5).
 *
 * Reads the 592-byte phdr through the engine's I/O callbacks, validates it
 * in stages (the union of what cryptsetup 2.6 rejects, §1.7, and what
 * QEMU's luks driver checks, §5.2, except where QEMU is stricter than
 * cryptsetup about layouts cryptsetup itself writes), unlocks it with
 * block-luks1-keyslot.c, and describes it with QEMU's info fields.  The
 * on-disk struct (big-endian) is decoded into a host-order twin,
 * LbLuks1Hdr, which the rest of the format works on.
 */
#include "config.h"
#include "block-luks1-priv.h"

#include <inttypes.h>
#include <string.h>

#include "lb/secret.h"

/* ---- encoding ------------------------------------------------------------ */

static void luks1_decode(const LbLuks1HdrDisk *d, LbLuks1Hdr *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->cipher_name, d->cipher_name, LB_LUKS1_NAME_LEN);
    memcpy(h->cipher_mode, d->cipher_mode, LB_LUKS1_NAME_LEN);
    memcpy(h->hash_spec, d->hash_spec, LB_LUKS1_NAME_LEN);
    h->payload_offset = GUINT32_FROM_BE(d->payload_offset);
    h->key_bytes = GUINT32_FROM_BE(d->key_bytes);
    memcpy(h->mk_digest, d->mk_digest, LB_LUKS1_DIGEST_LEN);
    memcpy(h->mk_digest_salt, d->mk_digest_salt, LB_LUKS_SALT_LEN);
    h->mk_digest_iterations = GUINT32_FROM_BE(d->mk_digest_iterations);
    memcpy(h->uuid, d->uuid, LB_LUKS_UUID_LEN); /* h->uuid stays NUL-ended */
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1SlotDisk *ds = &d->slots[i];
        LbLuks1Slot *s = &h->slots[i];
        s->active = GUINT32_FROM_BE(ds->active);
        s->iterations = GUINT32_FROM_BE(ds->iterations);
        memcpy(s->salt, ds->salt, LB_LUKS_SALT_LEN);
        s->key_offset = GUINT32_FROM_BE(ds->key_offset);
        s->stripes = GUINT32_FROM_BE(ds->stripes);
    }
}

void lb_luks1_encode(const LbLuks1Hdr *h, LbLuks1HdrDisk *d)
{
    memset(d, 0, sizeof(*d));
    memcpy(d->magic, lb_luks_magic, LB_LUKS_MAGIC_LEN);
    d->version = GUINT16_TO_BE(1);
    memcpy(d->cipher_name, h->cipher_name, LB_LUKS1_NAME_LEN);
    memcpy(d->cipher_mode, h->cipher_mode, LB_LUKS1_NAME_LEN);
    memcpy(d->hash_spec, h->hash_spec, LB_LUKS1_NAME_LEN);
    d->payload_offset = GUINT32_TO_BE(h->payload_offset);
    d->key_bytes = GUINT32_TO_BE(h->key_bytes);
    memcpy(d->mk_digest, h->mk_digest, LB_LUKS1_DIGEST_LEN);
    memcpy(d->mk_digest_salt, h->mk_digest_salt, LB_LUKS_SALT_LEN);
    d->mk_digest_iterations = GUINT32_TO_BE(h->mk_digest_iterations);
    memcpy(d->uuid, h->uuid, LB_LUKS_UUID_LEN);
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1Slot *s = &h->slots[i];
        LbLuks1SlotDisk *ds = &d->slots[i];
        ds->active = GUINT32_TO_BE(s->active);
        ds->iterations = GUINT32_TO_BE(s->iterations);
        memcpy(ds->salt, s->salt, LB_LUKS_SALT_LEN);
        ds->key_offset = GUINT32_TO_BE(s->key_offset);
        ds->stripes = GUINT32_TO_BE(s->stripes);
    }
}

/* ---- validation (staged: each stage gives one clear error) -------------- */

static bool luks1_check_strings(const LbLuks1HdrDisk *d, GError **errp)
{
    static const struct {
        size_t off;
        const char *what;
    } fields[] = {
        {offsetof(LbLuks1HdrDisk, cipher_name), "cipher name"},
        {offsetof(LbLuks1HdrDisk, cipher_mode), "cipher mode"},
        {offsetof(LbLuks1HdrDisk, hash_spec), "hash spec"},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(fields); i++) {
        const char *s = (const char *)d + fields[i].off;
        if (!memchr(s, '\0', LB_LUKS1_NAME_LEN)) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS1 %s is not NUL-terminated", fields[i].what);
            return false;
        }
        if (s[0] == '\0') {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS1 %s is empty", fields[i].what);
            return false;
        }
    }
    return true;
}

/* A cipher context built from a dummy key proves the spec is usable. */
bool lb_luks1_check_cipher(const char *name, const char *mode, size_t key_bytes,
                           LbLuksError code, GError **errp)
{
    guint8 key[LB_LUKS1_MAX_KEY_BYTES];
    g_autoptr(GError) err = NULL;

    for (size_t i = 0; i < key_bytes; i++) {
        key[i] = (guint8)(i * 37 + 1); /* XTS halves must differ */
    }
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new(name, mode, key, key_bytes, &err);
    if (!c) {
        g_set_error(errp, LB_LUKS_ERROR, code,
                    "unsupported cipher %s-%s with a %zu-bit key: %s", name,
                    mode, key_bytes * 8, err->message);
        return false;
    }
    return true;
}

static bool luks1_check_algs(LbLuks1Hdr *h, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!lb_hash_from_name(h->hash_spec, &h->hash, &err) ||
        !lb_hash_supported(h->hash)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "unsupported LUKS1 hash '%s'", h->hash_spec);
        return false;
    }
    /* The volume key digest is 20 bytes of PBKDF2 output (cryptsetup
     * refuses shorter hashes such as md5). */
    if (lb_hash_digest_len(h->hash) < LB_LUKS1_DIGEST_LEN) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS1 hash %s is shorter than the %u-byte key digest",
                    h->hash_spec, LB_LUKS1_DIGEST_LEN);
        return false;
    }
    if (h->key_bytes == 0 || h->key_bytes > LB_LUKS1_MAX_KEY_BYTES) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "invalid LUKS1 key size %u bytes", h->key_bytes);
        return false;
    }
    h->af_sectors = lb_luks_af_sectors(h->key_bytes);
    return lb_luks1_check_cipher(h->cipher_name, h->cipher_mode, h->key_bytes,
                                 LB_LUKS_ERROR_UNSUPPORTED, errp);
}

static int luks1_cmp_offset(gconstpointer a, gconstpointer b, gpointer data)
{
    const LbLuks1Hdr *h = data;
    uint32_t x = h->slots[*(const unsigned *)a].key_offset;
    uint32_t y = h->slots[*(const unsigned *)b].key_offset;
    return x < y ? -1 : x > y;
}

static bool luks1_check_slots(const LbLuks1Hdr *h, bool detached, GError **errp)
{
    unsigned order[LB_LUKS1_NUM_SLOTS];

    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1Slot *s = &h->slots[i];
        uint64_t end = (uint64_t)s->key_offset + h->af_sectors;

        order[i] = i;
        if (s->stripes != LB_LUKS_STRIPES) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: bad stripe count %u", i, s->stripes);
            return false;
        }
        /* cryptsetup only requires the material to start after the 592
         * header bytes: 1.0-era headers put slot 0 at sector 2. */
        if ((uint64_t)s->key_offset * LB_LUKS_SECTOR < sizeof(LbLuks1HdrDisk)) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: key material at sector %u overlaps "
                        "the header",
                        i, s->key_offset);
            return false;
        }
        /* payload-offset 0 is the detached layout (data at sector 0 of
         * another device); QEMU also skips this check when detached. */
        if (h->payload_offset != 0 && !detached && end > h->payload_offset) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: key material (sectors %u-%" PRIu64
                        ") overlaps the payload at sector %u",
                        i, s->key_offset, end - 1, h->payload_offset);
            return false;
        }
    }
    g_qsort_with_data(order, LB_LUKS1_NUM_SLOTS, sizeof(order[0]),
                      luks1_cmp_offset, (gpointer)h);
    for (unsigned i = 1; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1Slot *prev = &h->slots[order[i - 1]];
        const LbLuks1Slot *next = &h->slots[order[i]];
        if ((uint64_t)next->key_offset <
            (uint64_t)prev->key_offset + h->af_sectors) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslots %u and %u overlap", order[i - 1], order[i]);
            return false;
        }
    }
    return true;
}

/* End of the last slot's key material in sectors (cryptsetup's "keyslots
 * end", not rounded). */
static uint64_t luks1_keyslots_end(const LbLuks1Hdr *h)
{
    uint64_t end = 0;

    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        end = MAX(end, (uint64_t)h->slots[i].key_offset + h->af_sectors);
    }
    return end;
}

static bool luks1_check_device(LbLuks *luks, const LbLuks1Hdr *h, GError **errp)
{
    uint64_t need = luks1_keyslots_end(h) * LB_LUKS_SECTOR;

    if (!luks->io.length) {
        return true;
    }
    int64_t len = luks->io.length(luks->io.opaque, errp);
    if (len < 0) {
        g_prefix_error(errp, "cannot get the LUKS header device size: ");
        return false;
    }
    if ((uint64_t)len < need) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "LUKS header device is too small (%" PRId64 " bytes, "
                    "keyslots end at %" PRIu64 ")",
                    len, need);
        return false;
    }
    return true;
}

/* ---- common fields ------------------------------------------------------- */

void lb_luks1_publish(LbLuks *luks, const LbLuks1Hdr *h)
{
    luks->version = 1;
    memcpy(luks->cipher_name, h->cipher_name, LB_LUKS1_NAME_LEN);
    memcpy(luks->cipher_mode, h->cipher_mode, LB_LUKS1_NAME_LEN);
    luks->payload_offset = (uint64_t)h->payload_offset * LB_LUKS_SECTOR;
    luks->payload_size = 0;
    luks->iv_tweak = 0;
    luks->sector_size = LB_LUKS_SECTOR;
    /* The layout end: the last slot's material rounded up to 4 KiB, which
     * is also the size of the detached header files cryptsetup and QEMU
     * write (2068480 bytes for a 64-byte key). */
    uint64_t end = luks1_keyslots_end(h);
    uint64_t rounded = LB_LUKS1_ROUND_UP(end, LB_LUKS1_SLOT_ALIGN);
    /* ...except when the payload starts in that rounding gap, as in the
     * unaligned layout of cryptsetup 1.0 (slot 0 at sector 2, payload
     * right after the last slot): the header then ends at the payload. */
    if (h->payload_offset >= end && h->payload_offset < rounded) {
        rounded = h->payload_offset;
    }
    luks->header_size = rounded * LB_LUKS_SECTOR;
}

/* ---- LbLuksFormatOps ----------------------------------------------------- */

static bool luks1_open(LbLuks *luks, const LbSecret *pass, unsigned flags,
                       GError **errp)
{
    LbLuks1HdrDisk d;
    g_autofree LbLuks1Hdr *h = g_new0(LbLuks1Hdr, 1);

    if (luks->io.length) {
        int64_t len = luks->io.length(luks->io.opaque, errp);
        if (len < 0) {
            g_prefix_error(errp, "cannot get the LUKS header device size: ");
            return false;
        }
        if ((uint64_t)len < sizeof(d)) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS1 header is truncated (%" PRId64 " bytes)", len);
            return false;
        }
    }
    if (!lb_luks_io_read(luks, 0, &d, sizeof(d), errp)) {
        g_prefix_error(errp, "cannot read LUKS1 header: ");
        return false;
    }
    if (memcmp(d.magic, lb_luks_magic, LB_LUKS_MAGIC_LEN) != 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NOT_LUKS,
                    "volume is not in LUKS format");
        return false;
    }
    if (GUINT16_FROM_BE(d.version) != 1) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS version %u is not LUKS1", GUINT16_FROM_BE(d.version));
        return false;
    }
    if (!luks1_check_strings(&d, errp)) {
        return false;
    }
    luks1_decode(&d, h);
    if (!luks1_check_algs(h, errp) ||
        !luks1_check_slots(h, flags & LB_LUKS_OPEN_DETACHED, errp) ||
        !luks1_check_device(luks, h, errp)) {
        return false;
    }
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        uint32_t a = h->slots[i].active;
        if (a != LB_LUKS1_SLOT_ACTIVE && a != LB_LUKS1_SLOT_DISABLED) {
            /* cryptsetup skips such a slot; QEMU refuses the header. */
            g_debug("LUKS1 keyslot %u has invalid state 0x%08x; ignored", i, a);
        }
    }
    lb_luks1_publish(luks, h);

    if (!(flags & LB_LUKS_OPEN_NO_KEYS)) {
        LbSecret *key = NULL;
        int slot = lb_luks1_search(luks, h, pass, &key, errp);
        if (slot == -2) {
            return false;
        }
        if (slot == -1) {
            g_set_error_literal(errp, LB_LUKS_ERROR,
                                LB_LUKS_ERROR_BAD_PASSPHRASE,
                                LB_LUKS_BAD_PASSPHRASE_MSG);
            return false;
        }
        luks->master_key = key;
        luks->unlocked_slot = slot;
    }
    luks->fmt = g_steal_pointer(&h);
    return true;
}

static void luks1_fill_info(LbLuks *luks, LbLuksInfo *info)
{
    const LbLuks1Hdr *h = luks->fmt;

    lb_luks_spec_to_info(h->cipher_name, h->cipher_mode, h->key_bytes, info);
    info->hash_alg = g_ascii_strdown(h->hash_spec, -1);
    info->master_key_iters = h->mk_digest_iterations;
    info->uuid = g_strdup(h->uuid);
    info->n_slots = LB_LUKS1_NUM_SLOTS;
    info->slots = g_new0(LbLuksSlotInfo, LB_LUKS1_NUM_SLOTS);
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1Slot *s = &h->slots[i];
        LbLuksSlotInfo *si = &info->slots[i];
        si->id = (int)i;
        si->active = s->active == LB_LUKS1_SLOT_ACTIVE;
        si->key_offset = (uint64_t)s->key_offset * LB_LUKS_SECTOR;
        si->area_size = h->af_sectors * LB_LUKS_SECTOR;
        si->stripes = s->stripes;
        si->iters = si->active ? s->iterations : 0;
        si->kdf = g_strdup("pbkdf2");
        si->kdf_hash = g_ascii_strdown(h->hash_spec, -1);
        si->priority = 1;
        si->key_bytes = h->key_bytes;
    }
}

static unsigned luks1_n_active_slots(LbLuks *luks)
{
    const LbLuks1Hdr *h = luks->fmt;
    unsigned n = 0;

    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        n += h->slots[i].active == LB_LUKS1_SLOT_ACTIVE;
    }
    return n;
}

static void luks1_free_fmt(void *fmt)
{
    g_free(fmt);
}

const LbLuksFormatOps lb_luks1_ops = {
    .name = "luks1",
    .open = luks1_open,
    .create = lb_luks1_create,
    .fill_info = luks1_fill_info,
    .add_key = lb_luks1_add_key,
    .remove_key = lb_luks1_remove_key,
    .find_key = lb_luks1_find_key,
    .n_active_slots = luks1_n_active_slots,
    .free_fmt = luks1_free_fmt,
};
