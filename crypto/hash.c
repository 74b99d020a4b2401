/*
 * crypto/hash.c: the hash algorithms LUKS headers may name.
 *
 * Every hash goes through nettle's generic `struct nettle_hash` table, which
 * gives one code path for digests, HMAC (crypto/pbkdf.c) and the AF
 * splitter's diffusion (crypto/afsplit.c).  nettle picks SHA-NI / assembly
 * at run time, so this is as fast as going through gnutls.  Whirlpool is a
 * valid cryptsetup hash-spec that neither gnutls nor nettle implements; it
 * comes from crypto/whirlpool.c in the same nettle_hash form, as BLAKE2b-512
 * and BLAKE2s-256 (nettle 3.8 has no BLAKE2) from crypto/blake2.c.
 *
 * This file also defines the crypto error domain.
 */
#include "config.h"
#include "lb/crypto.h"
#include "crypto/hash-priv.h"

#include <string.h>
#include <strings.h>

#include <glib.h>

#include "lb/secret.h"

/* clang-format off */
G_DEFINE_QUARK(lb-crypto-error-quark, lb_crypto_error)
/* clang-format on */

typedef struct LbHashInfo {
    const char *name;  /* canonical cryptsetup spelling */
    const char *alias; /* other accepted spelling, or NULL */
    size_t digest_len;
    const struct nettle_hash *impl; /* NULL: not available here */
} LbHashInfo;

static const LbHashInfo lb_hash_table[LB_HASH__MAX] = {
    [LB_HASH_MD5] = {"md5", NULL, 16, &nettle_md5},
    [LB_HASH_SHA1] = {"sha1", NULL, 20, &nettle_sha1},
    [LB_HASH_SHA224] = {"sha224", NULL, 28, &nettle_sha224},
    [LB_HASH_SHA256] = {"sha256", NULL, 32, &nettle_sha256},
    [LB_HASH_SHA384] = {"sha384", NULL, 48, &nettle_sha384},
    [LB_HASH_SHA512] = {"sha512", NULL, 64, &nettle_sha512},
    [LB_HASH_RIPEMD160] = {"ripemd160", "rmd160", 20, &nettle_ripemd160},
    [LB_HASH_SHA3_256] = {"sha3-256", "sha3_256", 32, &nettle_sha3_256},
    [LB_HASH_SHA3_512] = {"sha3-512", "sha3_512", 64, &nettle_sha3_512},
    [LB_HASH_WHIRLPOOL] = {"whirlpool", NULL, 64, &lb_nettle_whirlpool},
    [LB_HASH_SM3] = {"sm3", NULL, 32, &nettle_sm3},
    [LB_HASH_SHA3_224] = {"sha3-224", "sha3_224", 28, &nettle_sha3_224},
    [LB_HASH_SHA3_384] = {"sha3-384", "sha3_384", 48, &nettle_sha3_384},
    [LB_HASH_BLAKE2B_512] = {"blake2b-512", NULL, 64, &lb_nettle_blake2b_512},
    [LB_HASH_BLAKE2S_256] = {"blake2s-256", NULL, 32, &lb_nettle_blake2s_256},
};

bool lb_hash_from_name(const char *name, LbHashAlg *out, GError **errp)
{
    for (unsigned i = 0; name && i < LB_HASH__MAX; i++) {
        const LbHashInfo *h = &lb_hash_table[i];

        if (!g_ascii_strcasecmp(name, h->name) ||
            (h->alias && !g_ascii_strcasecmp(name, h->alias))) {
            *out = i;
            return true;
        }
    }
    g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                "unknown hash algorithm '%s'", name ? name : "(null)");
    return false;
}

const char *lb_hash_name(LbHashAlg alg)
{
    g_assert((unsigned)alg < LB_HASH__MAX);
    return lb_hash_table[alg].name;
}

size_t lb_hash_digest_len(LbHashAlg alg)
{
    g_assert((unsigned)alg < LB_HASH__MAX);
    return lb_hash_table[alg].digest_len;
}

bool lb_hash_supported(LbHashAlg alg)
{
    return (unsigned)alg < LB_HASH__MAX && lb_hash_table[alg].impl != NULL;
}

const struct nettle_hash *lb_hash_impl(LbHashAlg alg, GError **errp)
{
    if (!lb_hash_supported(alg)) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "hash algorithm '%s' is not supported by this build",
                    (unsigned)alg < LB_HASH__MAX ? lb_hash_table[alg].name
                                                 : "?");
        return NULL;
    }
    g_assert(lb_hash_table[alg].impl->context_size <= sizeof(LbHashCtx));
    g_assert(lb_hash_table[alg].impl->digest_size ==
             lb_hash_table[alg].digest_len);
    return lb_hash_table[alg].impl;
}

bool lb_hash_bytes(LbHashAlg alg, const void *data, size_t len, guint8 *out,
                   GError **errp)
{
    return lb_hash_bytes2(alg, data, len, NULL, 0, out, errp);
}

bool lb_hash_bytes2(LbHashAlg alg, const void *a, size_t alen, const void *b,
                    size_t blen, guint8 *out, GError **errp)
{
    const struct nettle_hash *h = lb_hash_impl(alg, errp);
    LbHashCtx ctx;

    if (!h) {
        return false;
    }
    h->init(&ctx);
    if (alen) {
        h->update(&ctx, alen, a);
    }
    if (blen) {
        h->update(&ctx, blen, b);
    }
    h->digest(&ctx, h->digest_size, out);
    /* The input is often key material; the state may retain some of it,
     * and so may the compression function's stack frame. */
    lb_memzero(&ctx, sizeof(ctx));
    lb_stack_wipe(LB_STACK_WIPE_BYTES);
    return true;
}
