/*
 * crypto/ivgen-priv.h: dm-crypt IV generators (LUKS-FORMAT.md section 2.2).
 * Internal to the crypto layer; exposed to unit tests so they can check
 * the IV bytes for given sector numbers.
 */
#ifndef LB_CRYPTO_IVGEN_PRIV_H
#define LB_CRYPTO_IVGEN_PRIV_H

#include <nettle/aes.h>
#include <nettle/camellia.h>
#include <nettle/cast128.h>
#include <nettle/nettle-meta.h>
#include <nettle/serpent.h>
#include <nettle/twofish.h>

#include "lb/crypto.h"

/* A keyed nettle block cipher, both directions (contexts are key material). */
typedef union LbNettleCtx {
    struct aes128_ctx aes128;
    struct aes192_ctx aes192;
    struct aes256_ctx aes256;
    struct serpent_ctx serpent;
    struct twofish_ctx twofish;
    struct cast128_ctx cast128;
    struct camellia128_ctx camellia128;
    struct camellia256_ctx camellia256;
} LbNettleCtx;

typedef struct LbNettleBlock {
    const struct nettle_cipher *alg;
    LbNettleCtx enc;
    LbNettleCtx dec;
} LbNettleBlock;

typedef enum {
    LB_IVGEN_NONE, /* ECB: no IV */
    LB_IVGEN_PLAIN,
    LB_IVGEN_PLAIN64,
    LB_IVGEN_PLAIN64BE,
    LB_IVGEN_ESSIV,
    LB_IVGEN_BENBI,
    LB_IVGEN_NULL,
    LB_IVGEN_EBOIV,
} LbIvgenAlg;

typedef struct LbIvgen {
    LbIvgenAlg alg;
    unsigned iv_len;      /* = cipher block size */
    unsigned benbi_shift; /* 9 - log2(block size) */
    LbNettleBlock essiv;  /* ESSIV: cipher keyed with H(volume key);
                           * EBOIV: cipher keyed with the volume key */
} LbIvgen;

/**
 * lb_ivgen_init: set up @g for ivgen spec @spec ("plain64", "essiv:sha256",
 * ...; NULL or "" means no IV, for ECB) of data cipher @cipher whose block
 * size is @block_size, with the whole volume key @key.  @g should live in
 * locked memory (ESSIV keeps a key schedule).
 * Returns: false with @errp set for an unknown generator or hash, or an
 * ESSIV digest size the cipher does not take as a key.
 */
bool lb_ivgen_init(LbIvgen *g, const char *spec, const char *cipher,
                   unsigned block_size, const guint8 *key, size_t keylen,
                   GError **errp);
/**
 * lb_ivgen_compute: write the @g->iv_len IV bytes for @sector (in 512-byte
 * units) of a volume with @sector_size-byte sectors to @iv.  Only EBOIV
 * uses @sector_size (its byte offset is @sector * @sector_size, as dm-crypt
 * computes it without iv_large_sectors).
 */
void lb_ivgen_compute(const LbIvgen *g, uint64_t sector, unsigned sector_size,
                      guint8 *iv);

#endif /* LB_CRYPTO_IVGEN_PRIV_H */
