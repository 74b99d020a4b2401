/*
 * block-luks1.c: the LUKS1 on-disk format (LUKS-FORMAT.md §1, §2, §5, §7).
 *
 * Reads the 592-byte phdr through the engine's I/O callbacks, validates it
 * in stages (the union of what cryptsetup 2.6 rejects, §1.7, and what
 * QEMU's luks driver checks, §5.2, except where QEMU is stricter than
 * cryptsetup about layouts cryptsetup itself writes), unlocks keyslots
 * (§1.5), creates new headers in QEMU's layout (§5.3, §5.4, §7) and adds
 * or removes keyslots.  Every update writes key material and flushes it
 * before the header that points at it is written.
 *
 * The on-disk struct (big-endian) is decoded into a host-order twin,
 * Luks1Hdr, which is what the rest of this file works on.
 */
#include "config.h"
#include "block-luks-priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lb/secret.h"

#define LUKS1_MAX_KEY_BYTES 256u
#define LUKS1_SLOT_ALIGN 8u           /* sectors: slots are 4 KiB aligned */
#define LUKS1_FIRST_SLOT 8u           /* sectors: first key material */
#define LUKS1_ROUND_UP(n, a) (((n) + (a) - 1) / (a) * (a))

typedef struct Luks1Slot {
    uint32_t active;
    uint32_t iterations;
    guint8 salt[LB_LUKS_SALT_LEN];
    uint32_t key_offset;              /* sectors on the header device */
    uint32_t stripes;
} Luks1Slot;

typedef struct Luks1Hdr {
    char cipher_name[LB_LUKS1_NAME_LEN];
    char cipher_mode[LB_LUKS1_NAME_LEN];
    char hash_spec[LB_LUKS1_NAME_LEN];
    uint32_t payload_offset;          /* sectors on the data device */
    uint32_t key_bytes;
    guint8 mk_digest[LB_LUKS1_DIGEST_LEN];
    guint8 mk_digest_salt[LB_LUKS_SALT_LEN];
    uint32_t mk_digest_iterations;
    char uuid[LB_LUKS_UUID_LEN + 1];
    Luks1Slot slots[LB_LUKS1_NUM_SLOTS];

    /* Derived at open/create. */
    LbHashAlg hash;
    uint64_t af_sectors;              /* material length of each slot */
} Luks1Hdr;

/* ---- encoding ------------------------------------------------------------ */

static void luks1_decode(const LbLuks1HdrDisk *d, Luks1Hdr *h)
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
    memcpy(h->uuid, d->uuid, LB_LUKS_UUID_LEN);   /* h->uuid stays NUL-ended */
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const LbLuks1SlotDisk *ds = &d->slots[i];
        Luks1Slot *s = &h->slots[i];
        s->active = GUINT32_FROM_BE(ds->active);
        s->iterations = GUINT32_FROM_BE(ds->iterations);
        memcpy(s->salt, ds->salt, LB_LUKS_SALT_LEN);
        s->key_offset = GUINT32_FROM_BE(ds->key_offset);
        s->stripes = GUINT32_FROM_BE(ds->stripes);
    }
}

static void luks1_encode(const Luks1Hdr *h, LbLuks1HdrDisk *d)
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
        const Luks1Slot *s = &h->slots[i];
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
        { offsetof(LbLuks1HdrDisk, cipher_name), "cipher name" },
        { offsetof(LbLuks1HdrDisk, cipher_mode), "cipher mode" },
        { offsetof(LbLuks1HdrDisk, hash_spec), "hash spec" },
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
static bool luks1_check_cipher(const char *name, const char *mode,
                               size_t key_bytes, LbLuksError code,
                               GError **errp)
{
    guint8 key[LUKS1_MAX_KEY_BYTES];
    g_autoptr(GError) err = NULL;

    for (size_t i = 0; i < key_bytes; i++) {
        key[i] = (guint8)(i * 37 + 1);   /* XTS halves must differ */
    }
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new(name, mode, key, key_bytes, &err);
    if (!c) {
        g_set_error(errp, LB_LUKS_ERROR, code,
                    "unsupported cipher %s-%s with a %zu-bit key: %s",
                    name, mode, key_bytes * 8, err->message);
        return false;
    }
    return true;
}

static bool luks1_check_algs(Luks1Hdr *h, GError **errp)
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
    if (h->key_bytes == 0 || h->key_bytes > LUKS1_MAX_KEY_BYTES) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                    "invalid LUKS1 key size %u bytes", h->key_bytes);
        return false;
    }
    h->af_sectors = lb_luks_af_sectors(h->key_bytes);
    return luks1_check_cipher(h->cipher_name, h->cipher_mode, h->key_bytes,
                              LB_LUKS_ERROR_UNSUPPORTED, errp);
}

static int luks1_cmp_offset(gconstpointer a, gconstpointer b, gpointer data)
{
    const Luks1Hdr *h = data;
    uint32_t x = h->slots[*(const unsigned *)a].key_offset;
    uint32_t y = h->slots[*(const unsigned *)b].key_offset;
    return x < y ? -1 : x > y;
}

static bool luks1_check_slots(const Luks1Hdr *h, bool detached,
                              GError **errp)
{
    unsigned order[LB_LUKS1_NUM_SLOTS];

    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const Luks1Slot *s = &h->slots[i];
        uint64_t end = (uint64_t)s->key_offset + h->af_sectors;

        order[i] = i;
        if (s->stripes != LB_LUKS_STRIPES) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: bad stripe count %u", i, s->stripes);
            return false;
        }
        if (s->key_offset < LUKS1_FIRST_SLOT) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: key material at sector %u overlaps "
                        "the header", i, s->key_offset);
            return false;
        }
        /* payload-offset 0 is the detached layout (data at sector 0 of
         * another device); QEMU also skips this check when detached. */
        if (h->payload_offset != 0 && !detached &&
            end > h->payload_offset) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslot %u: key material (sectors %u-%" PRIu64
                        ") overlaps the payload at sector %u", i,
                        s->key_offset, end - 1, h->payload_offset);
            return false;
        }
    }
    g_qsort_with_data(order, LB_LUKS1_NUM_SLOTS, sizeof(order[0]),
                      luks1_cmp_offset, (gpointer)h);
    for (unsigned i = 1; i < LB_LUKS1_NUM_SLOTS; i++) {
        const Luks1Slot *prev = &h->slots[order[i - 1]];
        const Luks1Slot *next = &h->slots[order[i]];
        if ((uint64_t)next->key_offset <
            (uint64_t)prev->key_offset + h->af_sectors) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "keyslots %u and %u overlap", order[i - 1],
                        order[i]);
            return false;
        }
    }
    return true;
}

/* End of the last slot's key material in sectors (cryptsetup's "keyslots
 * end", not rounded). */
static uint64_t luks1_keyslots_end(const Luks1Hdr *h)
{
    uint64_t end = 0;

    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        end = MAX(end, (uint64_t)h->slots[i].key_offset + h->af_sectors);
    }
    return end;
}

static bool luks1_check_device(LbLuks *luks, const Luks1Hdr *h,
                               GError **errp)
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
                    "keyslots end at %" PRIu64 ")", len, need);
        return false;
    }
    return true;
}

/* ---- keyslot unlock (§1.5) --------------------------------------------- */

/* 1: @key matches the volume key digest, 0: it does not, -1: error. */
static int luks1_digest_check(const Luks1Hdr *h, const LbSecret *key,
                              GError **errp)
{
    guint8 digest[LB_LUKS1_DIGEST_LEN];

    if (!lb_pbkdf2(h->hash, lb_secret_cdata(key), lb_secret_len(key),
                   h->mk_digest_salt, LB_LUKS_SALT_LEN,
                   h->mk_digest_iterations, digest, sizeof(digest), errp)) {
        return -1;
    }
    bool ok = lb_memeq_consttime(digest, h->mk_digest, sizeof(digest));
    lb_memzero(digest, sizeof(digest));
    return ok ? 1 : 0;
}

/* Try @pass on slot @i: 1 with the volume key in *@key, 0 no match, -1
 * on error. */
static int luks1_slot_try(LbLuks *luks, const Luks1Hdr *h, unsigned i,
                          const LbSecret *pass, LbSecret **key, GError **errp)
{
    const Luks1Slot *s = &h->slots[i];
    size_t kb = h->key_bytes;
    size_t len = h->af_sectors * LB_LUKS_SECTOR;

    if (s->iterations == 0) {
        return 0;     /* cryptsetup: such a slot can never be opened */
    }
    g_autoptr(LbSecret) dk = lb_secret_new(kb);
    if (!lb_pbkdf2(h->hash, lb_secret_cdata(pass), lb_secret_len(pass),
                   s->salt, LB_LUKS_SALT_LEN, s->iterations,
                   lb_secret_data(dk), kb, errp)) {
        return -1;
    }
    g_autoptr(LbSecret) split = lb_secret_new(len);
    if (!lb_luks_io_read(luks, (uint64_t)s->key_offset * LB_LUKS_SECTOR,
                         lb_secret_data(split), len, errp)) {
        g_prefix_error(errp, "cannot read keyslot %u: ", i);
        return -1;
    }
    if (!lb_luks_crypt_area(h->cipher_name, h->cipher_mode,
                            lb_secret_cdata(dk), kb, false,
                            lb_secret_data(split), len, errp)) {
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
static int luks1_search(LbLuks *luks, const Luks1Hdr *h, const LbSecret *pass,
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

static bool luks1_write_hdr(LbLuks *luks, const Luks1Hdr *h, GError **errp)
{
    LbLuks1HdrDisk d;

    luks1_encode(h, &d);
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
static bool luks1_slot_store(LbLuks *luks, const Luks1Hdr *h, Luks1Slot *s,
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
    if (!lb_pbkdf2(h->hash, lb_secret_cdata(pass), lb_secret_len(pass),
                   s->salt, LB_LUKS_SALT_LEN, iterations,
                   lb_secret_data(dk), kb, errp)) {
        return false;
    }
    /* lb_secret_new zero-fills, so the tail past kb*stripes is zero pad. */
    g_autoptr(LbSecret) split = lb_secret_new(len);
    if (!lb_afsplit_encode(h->hash, kb, LB_LUKS_STRIPES, lb_secret_cdata(vk),
                           lb_secret_data(split), errp) ||
        !lb_luks_crypt_area(h->cipher_name, h->cipher_mode,
                            lb_secret_cdata(dk), kb, true,
                            lb_secret_data(split), len, errp)) {
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

/* ---- common fields ------------------------------------------------------- */

static void luks1_publish(LbLuks *luks, const Luks1Hdr *h)
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
    luks->header_size =
        LUKS1_ROUND_UP(luks1_keyslots_end(h), LUKS1_SLOT_ALIGN) *
        LB_LUKS_SECTOR;
}

/* ---- LbLuksFormatOps ----------------------------------------------------- */

static bool luks1_open(LbLuks *luks, const LbSecret *pass, unsigned flags,
                       GError **errp)
{
    LbLuks1HdrDisk d;
    g_autofree Luks1Hdr *h = g_new0(Luks1Hdr, 1);

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
            g_debug("LUKS1 keyslot %u has invalid state 0x%08x; ignored",
                    i, a);
        }
    }
    luks1_publish(luks, h);

    if (!(flags & LB_LUKS_OPEN_NO_KEYS)) {
        LbSecret *key = NULL;
        int slot = luks1_search(luks, h, pass, &key, errp);
        if (slot == -2) {
            return false;
        }
        if (slot == -1) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE,
                        "invalid passphrase");
            return false;
        }
        luks->master_key = key;
        luks->unlocked_slot = slot;
    }
    luks->fmt = g_steal_pointer(&h);
    return true;
}

static bool luks1_create_hdr(const LbLuksCreateOpts *opts, Luks1Hdr *h,
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
    if (kb == 0 || kb > LUKS1_MAX_KEY_BYTES) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid key size %zu bytes", kb);
        return false;
    }
    h->key_bytes = (uint32_t)kb;
    h->af_sectors = lb_luks_af_sectors(kb);
    if (!luks1_check_cipher(h->cipher_name, h->cipher_mode, kb,
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
    uint64_t stride = LUKS1_ROUND_UP(h->af_sectors, LUKS1_SLOT_ALIGN);
    uint64_t layout_end = LUKS1_FIRST_SLOT + LB_LUKS1_NUM_SLOTS * stride;
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        h->slots[i].active = LB_LUKS1_SLOT_DISABLED;
        h->slots[i].key_offset = (uint32_t)(LUKS1_FIRST_SLOT + i * stride);
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
        h->payload_offset = (uint32_t)layout_end;   /* QEMU: no alignment */
    }
    return true;
}

static bool luks1_create(LbLuks *luks, const LbLuksCreateOpts *opts,
                         const LbSecret *pass, GError **errp)
{
    g_autofree Luks1Hdr *h = g_new0(Luks1Hdr, 1);
    uint64_t iter_ms = opts->iter_time_ms ? opts->iter_time_ms
                                          : LB_LUKS_DEFAULT_ITER_TIME_MS;
    uint32_t slot_iters = opts->iterations;

    if (!luks1_create_hdr(opts, h, errp)) {
        return false;
    }
    if (opts->iterations && opts->iterations < LB_LUKS_MIN_ITERATIONS) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "iterations must be at least %u", LB_LUKS_MIN_ITERATIONS);
        return false;
    }
    /* QEMU: the digest gets 1/8 of the slot's time (cryptsetup 125 ms). */
    h->mk_digest_iterations = opts->iterations;
    if (!opts->iterations &&
        (!luks1_iterations(h->hash, h->key_bytes, iter_ms, &slot_iters,
                           errp) ||
         !luks1_iterations(h->hash, LB_LUKS1_DIGEST_LEN, iter_ms / 8,
                           &h->mk_digest_iterations, errp))) {
        return false;
    }

    g_autoptr(LbSecret) vk = lb_secret_new(h->key_bytes);
    if (!lb_random_bytes(lb_secret_data(vk), h->key_bytes, errp) ||
        !lb_random_bytes(h->mk_digest_salt, LB_LUKS_SALT_LEN, errp) ||
        !lb_pbkdf2(h->hash, lb_secret_cdata(vk), h->key_bytes,
                   h->mk_digest_salt, LB_LUKS_SALT_LEN,
                   h->mk_digest_iterations, h->mk_digest,
                   LB_LUKS1_DIGEST_LEN, errp)) {
        return false;
    }

    /* Detached: the header file is exactly the key material area (QEMU);
     * attached: zero everything before the payload (cryptsetup). */
    uint64_t layout_end = (LUKS1_FIRST_SLOT + LB_LUKS1_NUM_SLOTS *
                           LUKS1_ROUND_UP(h->af_sectors, LUKS1_SLOT_ALIGN)) *
                          LB_LUKS_SECTOR;
    uint64_t area = opts->detached ? layout_end
                                   : (uint64_t)h->payload_offset *
                                     LB_LUKS_SECTOR;
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
        if (!luks1_fill(luks, (uint64_t)h->slots[i].key_offset *
                        LB_LUKS_SECTOR, h->af_sectors * LB_LUKS_SECTOR,
                        true, errp)) {
            g_prefix_error(errp, "cannot initialize keyslot %u: ", i);
            return false;
        }
    }
    if (!luks1_slot_store(luks, h, &h->slots[0], pass, vk, slot_iters,
                          errp)) {
        return false;
    }
    h->slots[0].active = LB_LUKS1_SLOT_ACTIVE;
    if (!luks1_write_hdr(luks, h, errp)) {
        return false;
    }
    luks1_publish(luks, h);
    luks->master_key = g_steal_pointer(&vk);
    luks->unlocked_slot = 0;
    luks->fmt = g_steal_pointer(&h);
    return true;
}

static void luks1_fill_info(LbLuks *luks, LbLuksInfo *info)
{
    const Luks1Hdr *h = luks->fmt;

    lb_luks_spec_to_info(h->cipher_name, h->cipher_mode, h->key_bytes, info);
    info->hash_alg = g_ascii_strdown(h->hash_spec, -1);
    info->master_key_iters = h->mk_digest_iterations;
    info->uuid = g_strdup(h->uuid);
    info->n_slots = LB_LUKS1_NUM_SLOTS;
    info->slots = g_new0(LbLuksSlotInfo, LB_LUKS1_NUM_SLOTS);
    for (unsigned i = 0; i < LB_LUKS1_NUM_SLOTS; i++) {
        const Luks1Slot *s = &h->slots[i];
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

static bool luks1_slot_arg(const Luks1Hdr *h, int slot, uint32_t want,
                           GError **errp)
{
    if (slot < 0 || slot >= LB_LUKS1_NUM_SLOTS) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT,
                    "keyslot %d does not exist (LUKS1 has slots 0-%d)",
                    slot, LB_LUKS1_NUM_SLOTS - 1);
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

static int luks1_add_key(LbLuks *luks, const LbSecret *pass, int slot,
                         uint64_t iter_time_ms, GError **errp)
{
    Luks1Hdr *h = luks->fmt;
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
    Luks1Slot old = h->slots[slot];
    Luks1Slot s = old;
    if (!luks1_slot_store(luks, h, &s, pass, luks->master_key, iters, errp)) {
        return -1;
    }
    s.active = LB_LUKS1_SLOT_ACTIVE;
    h->slots[slot] = s;
    if (!luks1_write_hdr(luks, h, errp)) {
        h->slots[slot] = old;
        return -1;
    }
    return slot;
}

static bool luks1_remove_key(LbLuks *luks, int slot, GError **errp)
{
    Luks1Hdr *h = luks->fmt;

    if (!luks1_slot_arg(h, slot, LB_LUKS1_SLOT_ACTIVE, errp)) {
        return false;
    }
    /* Destroy the material first (QEMU's order): once it is random the
     * slot is useless even if the header update below never happens. */
    Luks1Slot *s = &h->slots[slot];
    if (!luks1_fill(luks, (uint64_t)s->key_offset * LB_LUKS_SECTOR,
                    h->af_sectors * LB_LUKS_SECTOR, true, errp) ||
        !lb_luks_io_flush(luks, errp)) {
        g_prefix_error(errp, "cannot wipe keyslot %d: ", slot);
        return false;
    }
    Luks1Slot old = *s;
    s->active = LB_LUKS1_SLOT_DISABLED;
    s->iterations = 0;
    memset(s->salt, 0, LB_LUKS_SALT_LEN);
    if (!luks1_write_hdr(luks, h, errp)) {
        *s = old;
        return false;
    }
    return true;
}

static int luks1_find_key(LbLuks *luks, const LbSecret *pass, GError **errp)
{
    g_autoptr(LbSecret) key = NULL;

    return luks1_search(luks, luks->fmt, pass, &key, errp);
}

static unsigned luks1_n_active_slots(LbLuks *luks)
{
    const Luks1Hdr *h = luks->fmt;
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
    .create = luks1_create,
    .fill_info = luks1_fill_info,
    .add_key = luks1_add_key,
    .remove_key = luks1_remove_key,
    .find_key = luks1_find_key,
    .n_active_slots = luks1_n_active_slots,
    .free_fmt = luks1_free_fmt,
};
