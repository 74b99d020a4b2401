/*
 * crypto/ivgen.c: dm-crypt IV generators, LUKS-FORMAT.md section 2.2
 * (Linux drivers/md/dm-crypt.c semantics, as cryptsetup and QEMU use them).
 *
 *   plain      le32(sector) then zeros
 *   plain64    le64(sector) then zeros
 *   plain64be  zeros then be64(sector) in the last 8 bytes
 *   essiv:H    E_salt(le64(sector) then zeros), salt = H(whole volume key),
 *              E = the data cipher's block function keyed with the salt, so
 *              the key size is the digest size (sha256 -> AES-256 even for
 *              AES-128 data; XTS hashes both key halves); H may also be
 *              the kernel's wp256/wp384/wp512 (Whirlpool cut to 32/48/64
 *              bytes)
 *   benbi      zeros then be64((sector << (9 - log2(block))) + 1), i.e. the
 *              1-based count of cipher blocks (a "narrow block" counter)
 *   null       all zeros
 *   eboiv      E_key(le64(sector * sector size) then zeros): the data cipher
 *              keyed with the volume key encrypts the byte offset (dm-crypt
 *              encrypts a zero block in CBC with that IV; BitLocker's IV);
 *              CBC only (lb_block_cipher_new checks)
 *
 * The sector number always counts 512-byte units (see lb/crypto.h).
 */
#include "config.h"
#include "crypto/ivgen-priv.h"

#include <string.h>

#include <glib.h>

#include "lb/secret.h"
#include "crypto/cipher-priv.h"

static const struct {
    const char *name;
    LbIvgenAlg alg;
} lb_ivgen_names[] = {
    {"plain", LB_IVGEN_PLAIN},         {"plain64", LB_IVGEN_PLAIN64},
    {"plain64be", LB_IVGEN_PLAIN64BE}, {"essiv", LB_IVGEN_ESSIV},
    {"benbi", LB_IVGEN_BENBI},         {"null", LB_IVGEN_NULL},
    {"eboiv", LB_IVGEN_EBOIV},
};

static const struct {
    const char *name;
    size_t len;
} lb_wp_names[] = {{"wp256", 32}, {"wp384", 48}, {"wp512", 64}};

static bool lb_ivgen_essiv_init(LbIvgen *g, const char *hash_name,
                                const char *cipher, const guint8 *key,
                                size_t keylen, GError **errp)
{
    g_autoptr(LbSecret) salt = lb_secret_new(LB_HASH_MAX_DIGEST);
    const struct nettle_cipher *alg;
    LbHashAlg hash;
    size_t dlen;

    if (!hash_name || !*hash_name) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "essiv needs a hash (e.g. essiv:sha256)");
        return false;
    }
    /* The kernel's truncated Whirlpool names (crypto/wp512.c): wp256 and
     * wp384 are the first 32 / 48 bytes of the Whirlpool digest. */
    dlen = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(lb_wp_names); i++) {
        if (!g_ascii_strcasecmp(hash_name, lb_wp_names[i].name)) {
            hash_name = "whirlpool";
            dlen = lb_wp_names[i].len;
        }
    }
    if (!lb_hash_from_name(hash_name, &hash, errp) ||
        !lb_hash_bytes(hash, key, keylen, lb_secret_data(salt), errp)) {
        g_prefix_error(errp, "essiv: ");
        return false;
    }
    dlen = dlen ? dlen : lb_hash_digest_len(hash);
    alg = lb_cipher_nettle_alg(cipher, dlen);
    if (!alg || alg->block_size != g->iv_len) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "essiv: %s digest (%zu bytes) is not a valid %s key",
                    lb_hash_name(hash), dlen, cipher);
        return false;
    }
    lb_nettle_block_setkey(&g->essiv, alg, lb_secret_cdata(salt));
    return true;
}

static bool lb_ivgen_eboiv_init(LbIvgen *g, const char *cipher,
                                const guint8 *key, size_t keylen,
                                GError **errp)
{
    const struct nettle_cipher *alg = lb_cipher_nettle_alg(cipher, keylen);

    if (!alg || alg->block_size != g->iv_len) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "eboiv: %s does not take a %zu-bit key", cipher,
                    keylen * 8);
        return false;
    }
    lb_nettle_block_setkey(&g->essiv, alg, key);
    return true;
}

bool lb_ivgen_init(LbIvgen *g, const char *spec, const char *cipher,
                   unsigned block_size, const guint8 *key, size_t keylen,
                   GError **errp)
{
    const char *colon;
    size_t namelen;

    memset(g, 0, sizeof(*g));
    g_assert(block_size >= 8 && block_size <= LB_CIPHER_MAX_BLOCK &&
             (block_size & (block_size - 1)) == 0);
    g->iv_len = block_size;
    g->benbi_shift = 9 - g_bit_nth_lsf(block_size, -1);
    if (!spec || !*spec) {
        g->alg = LB_IVGEN_NONE;
        return true;
    }
    colon = strchr(spec, ':');
    namelen = colon ? (size_t)(colon - spec) : strlen(spec);
    for (unsigned i = 0; i < G_N_ELEMENTS(lb_ivgen_names); i++) {
        if (strlen(lb_ivgen_names[i].name) != namelen ||
            strncmp(spec, lb_ivgen_names[i].name, namelen)) {
            continue;
        }
        g->alg = lb_ivgen_names[i].alg;
        if (g->alg == LB_IVGEN_ESSIV) {
            return lb_ivgen_essiv_init(g, colon ? colon + 1 : NULL, cipher, key,
                                       keylen, errp);
        }
        if (colon) {
            g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                        "IV generator '%.*s' takes no options", (int)namelen,
                        spec);
            return false;
        }
        if (g->alg == LB_IVGEN_EBOIV) {
            return lb_ivgen_eboiv_init(g, cipher, key, keylen, errp);
        }
        return true;
    }
    g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                "unsupported IV generator '%s'", spec);
    return false;
}

static void lb_put_le64(guint8 *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = v >> (8 * i);
    }
}

static void lb_put_be64(guint8 *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[7 - i] = v >> (8 * i);
    }
}

void lb_ivgen_compute(const LbIvgen *g, uint64_t sector, unsigned sector_size,
                      guint8 *iv)
{
    unsigned n = g->iv_len;

    memset(iv, 0, n);
    switch (g->alg) {
    case LB_IVGEN_NONE:
    case LB_IVGEN_NULL:
        break;
    case LB_IVGEN_PLAIN:
        lb_put_le64(iv, sector & 0xffffffffu);
        break;
    case LB_IVGEN_PLAIN64:
        lb_put_le64(iv, sector);
        break;
    case LB_IVGEN_PLAIN64BE:
        lb_put_be64(iv + n - 8, sector);
        break;
    case LB_IVGEN_BENBI:
        lb_put_be64(iv + n - 8, (sector << g->benbi_shift) + 1);
        break;
    case LB_IVGEN_ESSIV:
        lb_put_le64(iv, sector);
        g->essiv.alg->encrypt(&g->essiv.enc, n, iv, iv);
        break;
    case LB_IVGEN_EBOIV:
        lb_put_le64(iv, sector * sector_size);
        g->essiv.alg->encrypt(&g->essiv.enc, n, iv, iv);
        break;
    }
}
