/*
 * block-luks.c: the LUKS engine's format-independent part.
 *
 * Probes the header version and dispatches to the LUKS1 or LUKS2 format
 * (block-luks-priv.h), owns the volume key once unlocked, and runs the data
 * path: payload sectors are encrypted with a pool of cipher contexts so
 * many threads can encrypt at once without sharing cipher state (the QEMU
 * QCryptoBlock model), and without a lock held during the cipher work.
 */
#include "config.h"
#include "block-luks-priv.h"
#include "block-luks2-priv.h"

#include <errno.h>
#include <string.h>

G_DEFINE_QUARK(lb-luks-error-quark, lb_luks_error)

const guint8 lb_luks_magic[LB_LUKS_MAGIC_LEN] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
const guint8 lb_luks2_magic2[LB_LUKS_MAGIC_LEN] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };

int lb_luks_probe(const guint8 *buf, size_t len)
{
    if (len < 8 || memcmp(buf, lb_luks_magic, LB_LUKS_MAGIC_LEN) != 0) {
        return 0;
    }
    unsigned v = (unsigned)buf[6] << 8 | buf[7];
    return v == 1 || v == 2 ? (int)v : 0;
}

bool lb_luks_io_read(LbLuks *luks, uint64_t off, void *buf, size_t len,
                     GError **errp)
{
    return luks->io.read(luks->io.opaque, off, buf, len, errp);
}

bool lb_luks_io_write(LbLuks *luks, uint64_t off, const void *buf,
                      size_t len, GError **errp)
{
    if (luks->flags & LB_LUKS_OPEN_READ_ONLY) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED,
                    "header is read-only");
        return false;
    }
    return luks->io.write(luks->io.opaque, off, buf, len, errp);
}

bool lb_luks_io_flush(LbLuks *luks, GError **errp)
{
    return luks->io.flush ? luks->io.flush(luks->io.opaque, errp) : true;
}

static LbLuks *luks_alloc(const LbLuksIO *io, unsigned flags)
{
    LbLuks *luks = g_new0(LbLuks, 1);
    luks->io = *io;
    luks->flags = flags;
    luks->unlocked_slot = -1;
    luks->sector_size = LB_LUKS_SECTOR;
    g_mutex_init(&luks->pool_lock);
    g_mutex_init(&luks->update_lock);
    g_rw_lock_init(&luks->hdr_lock);
    return luks;
}

LbLuks *lb_luks_open(const LbLuksIO *io, const LbSecret *passphrase,
                     unsigned flags, GError **errp)
{
    g_autoptr(LbLuks) luks = luks_alloc(io, flags);
    guint8 probe[8];

    g_assert((flags & LB_LUKS_OPEN_NO_KEYS) || passphrase);
    if (!lb_luks_io_read(luks, 0, probe, sizeof(probe), errp)) {
        g_prefix_error(errp, "cannot read LUKS header: ");
        return NULL;
    }
    unsigned version = memcmp(probe, lb_luks_magic, LB_LUKS_MAGIC_LEN) == 0
                           ? (unsigned)probe[6] << 8 | probe[7] : 0;
    /* A damaged LUKS2 primary header: the secondary copy still opens. */
    if (version != 1 && version != 2 && lb_luks2_has_secondary(luks)) {
        version = 2;
    }
    if (version == 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NOT_LUKS,
                    "volume is not in LUKS format");
        return NULL;
    }
    switch (version) {
    case 1:
        luks->ops = &lb_luks1_ops;
        break;
    case 2:
        luks->ops = &lb_luks2_ops;
        break;
    default:
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS version %u is not supported", version);
        return NULL;
    }
    if (!luks->ops->open(luks, passphrase, flags, errp)) {
        return NULL;
    }
    return g_steal_pointer(&luks);
}

LbLuks *lb_luks_create(const LbLuksIO *io, const LbLuksCreateOpts *opts,
                       const LbSecret *passphrase, GError **errp)
{
    g_autoptr(LbLuks) luks = luks_alloc(io, 0);
    unsigned version = opts->version ? opts->version : 1;

    if (version == 1) {
        luks->ops = &lb_luks1_ops;
    } else if (version == 2) {
        luks->ops = &lb_luks2_ops;
    } else {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "unsupported LUKS version %u", version);
        return NULL;
    }
    if (!luks->ops->create(luks, opts, passphrase, errp)) {
        return NULL;
    }
    return g_steal_pointer(&luks);
}

void lb_luks_free(LbLuks *luks)
{
    if (!luks) {
        return;
    }
    for (unsigned i = 0; i < luks->pool_n; i++) {
        lb_block_cipher_free(luks->pool[i]);
    }
    if (luks->fmt && luks->ops && luks->ops->free_fmt) {
        luks->ops->free_fmt(luks->fmt);
    }
    lb_luks2_reenc_map_free(luks->reenc);
    lb_secret_free(luks->master_key);
    g_mutex_clear(&luks->pool_lock);
    g_mutex_clear(&luks->update_lock);
    g_rw_lock_clear(&luks->hdr_lock);
    g_free(luks);
}

unsigned lb_luks_version(const LbLuks *luks) { return luks->version; }
uint64_t lb_luks_payload_offset(const LbLuks *luks) { return luks->payload_offset; }
uint64_t lb_luks_payload_size(const LbLuks *luks)
{
    /* A resize may record a new size while the data path reads it. */
    return __atomic_load_n(&luks->payload_size, __ATOMIC_ACQUIRE);
}
unsigned lb_luks_sector_size(const LbLuks *luks) { return luks->sector_size; }
uint64_t lb_luks_header_size(const LbLuks *luks) { return luks->header_size; }
bool lb_luks_has_keys(const LbLuks *luks) { return luks->master_key != NULL; }
int lb_luks_unlocked_slot(const LbLuks *luks) { return luks->unlocked_slot; }

/* ---- data path --------------------------------------------------------- */

static LbBlockCipher *pool_get(LbLuks *luks)
{
    LbBlockCipher *c = NULL;

    g_mutex_lock(&luks->pool_lock);
    if (luks->pool_n > 0) {
        c = luks->pool[--luks->pool_n];
    }
    g_mutex_unlock(&luks->pool_lock);
    if (!c) {
        /* The spec was validated at open/create, so this only fails on
         * allocation failure inside the backend. */
        c = lb_block_cipher_new(luks->cipher_name, luks->cipher_mode,
                                lb_secret_cdata(luks->master_key),
                                lb_secret_len(luks->master_key), NULL);
    }
    return c;
}

static void pool_put(LbLuks *luks, LbBlockCipher *c)
{
    g_mutex_lock(&luks->pool_lock);
    if (luks->pool_n < LB_LUKS_POOL_MAX) {
        luks->pool[luks->pool_n++] = c;
        c = NULL;
    }
    g_mutex_unlock(&luks->pool_lock);
    lb_block_cipher_free(c);
}

static int luks_crypt(LbLuks *luks, bool encrypt, uint64_t offset,
                      const void *in, void *out, size_t len)
{
    if (!luks->master_key) {
        return -EPERM;
    }
    if (offset % luks->sector_size || len % luks->sector_size) {
        return -EINVAL;
    }
    if (luks->reenc) {
        return lb_luks2_reenc_map_crypt(luks->reenc, encrypt, offset, in, out,
                                        len);
    }
    LbBlockCipher *c = pool_get(luks);
    if (!c) {
        return -ENOMEM;
    }
    uint64_t iv = offset / LB_LUKS_SECTOR + luks->iv_tweak;
    int r = encrypt
        ? lb_block_cipher_encrypt(c, iv, luks->sector_size, in, out, len)
        : lb_block_cipher_decrypt(c, iv, luks->sector_size, in, out, len);
    pool_put(luks, c);
    return r;
}

int lb_luks_encrypt(LbLuks *luks, uint64_t offset, const void *in, void *out,
                    size_t len)
{
    return luks_crypt(luks, true, offset, in, out, len);
}

int lb_luks_decrypt(LbLuks *luks, uint64_t offset, const void *in, void *out,
                    size_t len)
{
    return luks_crypt(luks, false, offset, in, out, len);
}

bool lb_luks_crypt_area(const char *cipher_name, const char *cipher_mode,
                        const guint8 *key, size_t keylen, bool encrypt,
                        guint8 *buf, size_t len, GError **errp)
{
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new(cipher_name, cipher_mode, key, keylen, errp);
    if (!c) {
        return false;
    }
    int r = encrypt
        ? lb_block_cipher_encrypt(c, 0, LB_LUKS_SECTOR, buf, buf, len)
        : lb_block_cipher_decrypt(c, 0, LB_LUKS_SECTOR, buf, buf, len);
    if (r < 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED,
                    "cannot %s key material: %s",
                    encrypt ? "encrypt" : "decrypt", g_strerror(-r));
        return false;
    }
    return true;
}

/* ---- keyslots ----------------------------------------------------------- */

static bool need_keys(LbLuks *luks, GError **errp)
{
    if (!luks->master_key) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "volume was opened without a key");
        return false;
    }
    return true;
}

/*
 * Header changes run one at a time (update_lock, see block-luks-priv.h);
 * the formats take hdr_lock for writing around their swap.
 */
int lb_luks_add_key(LbLuks *luks, const LbSecret *passphrase, int slot,
                    uint64_t iter_time_ms, GError **errp)
{
    if (!need_keys(luks, errp)) {
        return -1;
    }
    g_mutex_lock(&luks->update_lock);
    int r = luks->ops->add_key(luks, passphrase, slot, iter_time_ms, errp);
    g_mutex_unlock(&luks->update_lock);
    return r;
}

bool lb_luks_remove_key(LbLuks *luks, int slot, GError **errp)
{
    g_mutex_lock(&luks->update_lock);
    bool ok = luks->ops->remove_key(luks, slot, errp);
    g_mutex_unlock(&luks->update_lock);
    return ok;
}

bool lb_luks_set_payload_size(LbLuks *luks, uint64_t size, GError **errp)
{
    if (luks->version != 2 || lb_luks_payload_size(luks) == 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "this LUKS header records no payload size");
        return false;
    }
    g_mutex_lock(&luks->update_lock);
    bool ok = lb_luks2_set_segment_size(luks, size, errp);
    g_mutex_unlock(&luks->update_lock);
    return ok;
}

/* Readers: the KDF runs under the read lock, so a change that finishes
 * meanwhile waits for it only at its swap. */
int lb_luks_find_key(LbLuks *luks, const LbSecret *passphrase, GError **errp)
{
    g_rw_lock_reader_lock(&luks->hdr_lock);
    int r = luks->ops->find_key(luks, passphrase, errp);
    g_rw_lock_reader_unlock(&luks->hdr_lock);
    return r;
}

unsigned lb_luks_n_active_slots(LbLuks *luks)
{
    g_rw_lock_reader_lock(&luks->hdr_lock);
    unsigned n = luks->ops->n_active_slots(luks);
    g_rw_lock_reader_unlock(&luks->hdr_lock);
    return n;
}

/* ---- information -------------------------------------------------------- */

LbLuksInfo *lb_luks_get_info(LbLuks *luks)
{
    LbLuksInfo *info = g_new0(LbLuksInfo, 1);

    g_rw_lock_reader_lock(&luks->hdr_lock);
    info->version = luks->version;
    info->payload_offset = luks->payload_offset;
    info->detached_header = luks->payload_offset == 0;
    info->sector_size = luks->sector_size;
    info->cipher_spec = g_strdup_printf("%s-%s", luks->cipher_name,
                                        luks->cipher_mode);
    luks->ops->fill_info(luks, info);
    g_rw_lock_reader_unlock(&luks->hdr_lock);
    return info;
}

void lb_luks_info_free(LbLuksInfo *info)
{
    if (!info) {
        return;
    }
    for (unsigned i = 0; i < info->n_slots; i++) {
        g_free(info->slots[i].kdf);
        g_free(info->slots[i].kdf_hash);
        g_free(info->slots[i].af_hash);
        g_free(info->slots[i].encryption);
    }
    for (unsigned i = 0; i < info->n_segments; i++) {
        g_free(info->segments[i].type);
        g_free(info->segments[i].encryption);
    }
    for (unsigned i = 0; i < info->n_digests; i++) {
        g_free(info->digests[i].type);
        g_free(info->digests[i].hash);
        g_free(info->digests[i].keyslots);
        g_free(info->digests[i].segments);
    }
    g_free(info->slots);
    g_free(info->segments);
    g_free(info->digests);
    g_free(info->cipher_alg);
    g_free(info->cipher_mode);
    g_free(info->ivgen_alg);
    g_free(info->ivgen_hash_alg);
    g_free(info->hash_alg);
    g_free(info->cipher_spec);
    g_free(info->uuid);
    g_free(info->label);
    g_free(info->subsystem);
    g_free(info->flags);
    g_free(info->requirements);
    g_free(info->header_warning);
    g_free(info);
}

/* ---- option naming ------------------------------------------------------ */

bool lb_luks_spec_from_opts(const LbLuksCreateOpts *opts, char *cipher_name,
                            char *cipher_mode, size_t *key_bytes,
                            GError **errp)
{
    const char *alg = opts->cipher_alg ? opts->cipher_alg : "aes-256";
    const char *chain = opts->cipher_mode ? opts->cipher_mode : "xts";
    const char *ivgen = opts->ivgen_alg ? opts->ivgen_alg : "plain64";
    const char *dash = strrchr(alg, '-');
    guint64 bits = 0;

    if (!dash || dash == alg || (size_t)(dash - alg) >= LB_LUKS1_NAME_LEN ||
        !g_ascii_string_to_unsigned(dash + 1, 10, 64, 512, &bits, NULL) ||
        bits % 8) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "invalid cipher-alg '%s' (expected e.g. aes-256)", alg);
        return false;
    }
    memset(cipher_name, 0, LB_LUKS1_NAME_LEN);
    memcpy(cipher_name, alg, dash - alg);
    *key_bytes = bits / 8 * (g_str_equal(chain, "xts") ? 2 : 1);
    if (!lb_cipher_key_bytes_valid(cipher_name, chain, *key_bytes)) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "cipher %s in mode %s is not supported", alg, chain);
        return false;
    }

    g_autofree char *mode = NULL;
    if (g_str_equal(chain, "ecb") && !opts->ivgen_alg) {
        mode = g_strdup("ecb");        /* cryptsetup's form: no IV part */
    } else if (g_str_equal(ivgen, "essiv")) {
        mode = g_strdup_printf("%s-essiv:%s", chain,
                               opts->ivgen_hash_alg ? opts->ivgen_hash_alg
                                                    : "sha256");
    } else {
        mode = g_strdup_printf("%s-%s", chain, ivgen);
    }
    if (strlen(mode) >= LB_LUKS1_NAME_LEN) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID,
                    "cipher mode '%s' is too long", mode);
        return false;
    }
    memset(cipher_mode, 0, LB_LUKS1_NAME_LEN);
    strcpy(cipher_mode, mode);
    return true;
}

void lb_luks_spec_to_info(const char *cipher_name, const char *cipher_mode,
                          size_t key_bytes, LbLuksInfo *info)
{
    g_auto(GStrv) parts = g_strsplit(cipher_mode, "-", 2);
    const char *chain = parts[0] ? parts[0] : "";
    size_t bits = key_bytes * 8 / (g_str_equal(chain, "xts") ? 2 : 1);

    info->key_bytes = key_bytes;
    info->cipher_alg = g_strdup_printf("%s-%zu", cipher_name, bits);
    info->cipher_mode = g_strdup(chain);
    if (parts[0] && parts[1]) {
        char *colon = strchr(parts[1], ':');
        if (colon) {
            info->ivgen_hash_alg = g_strdup(colon + 1);
            *colon = '\0';
        }
        info->ivgen_alg = g_strdup(parts[1]);
    }
}

void lb_luks_uuid_generate(char out[37])
{
    guint8 u[16];

    if (!lb_random_bytes(u, sizeof(u), NULL)) {
        g_error("random generator failed");
    }
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    g_snprintf(out, 37,
               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
               "%02x%02x%02x%02x%02x%02x",
               u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
               u[10], u[11], u[12], u[13], u[14], u[15]);
}
