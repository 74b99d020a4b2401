/*
 * crypto/afsplit.c: the LUKS anti-forensic information splitter ("luks1"
 * AF type), LUKS-FORMAT.md section 1.5 (cryptsetup lib/luks1/af.c,
 * TKS1 paper by C. Fruhwirth).
 *
 * diffuse(buf): cut the K-byte buffer into floor(K/D) blocks of the digest
 * size D and a final partial block; block j becomes H(be32(j) || block j),
 * truncated for the partial block.  Blocks are independent, so diffusion
 * works in place.
 *
 * split: d = 0; for each of the first n-1 stripes: stripe = random,
 * d = diffuse(d ^ stripe); last stripe = key ^ d.  merge replays the loop
 * over stored stripes.  The running value d is key material and lives in
 * an LbSecret.
 */
#include "config.h"
#include "lb/crypto.h"
#include "crypto/hash-priv.h"

#include <string.h>

#include <nettle/memxor.h>

#include <glib.h>

#include "lb/secret.h"

static void lb_af_diffuse(const struct nettle_hash *h, guint8 *buf, size_t len,
                          LbHashCtx *ctx)
{
    size_t dlen = h->digest_size;
    guint8 digest[LB_HASH_MAX_DIGEST];
    guint32 j = 0;

    for (size_t off = 0; off < len; off += dlen, j++) {
        size_t n = MIN(dlen, len - off);
        guint8 be[4] = {j >> 24, j >> 16, j >> 8, j};

        h->init(ctx);
        h->update(ctx, sizeof(be), be);
        h->update(ctx, n, buf + off);
        h->digest(ctx, dlen, digest);
        memcpy(buf + off, digest, n);
    }
    lb_memzero(digest, sizeof(digest));
}

static bool lb_af_check(LbHashAlg alg, size_t keylen, uint32_t stripes,
                        const struct nettle_hash **h, GError **errp)
{
    *h = lb_hash_impl(alg, errp);
    if (!*h) {
        return false;
    }
    if (keylen == 0 || stripes == 0 || keylen > G_MAXSIZE / stripes) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID,
                    "invalid AF geometry: %zu-byte key, %u stripes", keylen,
                    stripes);
        return false;
    }
    return true;
}

/*
 * Run the diffusion chain over the first @stripes - 1 stripes of @mat
 * into @d (keylen bytes, zeroed by the caller).
 */
static void lb_af_chain(const struct nettle_hash *h, size_t keylen,
                        uint32_t stripes, const guint8 *mat, guint8 *d,
                        LbHashCtx *ctx)
{
    for (uint32_t i = 0; i + 1 < stripes; i++) {
        memxor(d, mat + (size_t)i * keylen, keylen);
        lb_af_diffuse(h, d, keylen, ctx);
    }
}

bool lb_afsplit_encode(LbHashAlg alg, size_t keylen, uint32_t stripes,
                       const guint8 *key, guint8 *out, GError **errp)
{
    const struct nettle_hash *h;
    g_autoptr(LbSecret) work = NULL;
    guint8 *d;
    LbHashCtx *ctx;

    if (!lb_af_check(alg, keylen, stripes, &h, errp)) {
        return false;
    }
    if (!lb_random_bytes(out, keylen * (stripes - 1), errp)) {
        return false;
    }
    work = lb_secret_new(sizeof(LbHashCtx) + keylen);
    ctx = (LbHashCtx *)lb_secret_data(work);
    d = lb_secret_data(work) + sizeof(LbHashCtx);
    lb_af_chain(h, keylen, stripes, out, d, ctx);
    memxor3(out + (size_t)(stripes - 1) * keylen, d, key, keylen);
    lb_stack_wipe(LB_STACK_WIPE_BYTES); /* hash compression locals */
    return true;
}

bool lb_afsplit_decode(LbHashAlg alg, size_t keylen, uint32_t stripes,
                       const guint8 *in, guint8 *key, GError **errp)
{
    const struct nettle_hash *h;
    g_autoptr(LbSecret) work = NULL;
    guint8 *d;
    LbHashCtx *ctx;

    if (!lb_af_check(alg, keylen, stripes, &h, errp)) {
        return false;
    }
    work = lb_secret_new(sizeof(LbHashCtx) + keylen);
    ctx = (LbHashCtx *)lb_secret_data(work);
    d = lb_secret_data(work) + sizeof(LbHashCtx);
    lb_af_chain(h, keylen, stripes, in, d, ctx);
    memxor3(key, d, in + (size_t)(stripes - 1) * keylen, keylen);
    lb_stack_wipe(LB_STACK_WIPE_BYTES); /* hash compression locals */
    return true;
}
