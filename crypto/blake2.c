/*
 * crypto/blake2.c: BLAKE2b-512 and BLAKE2s-256, unkeyed, written from
 * RFC 7693, in the `struct nettle_hash` form crypto/hash.c uses (so HMAC,
 * PBKDF2 and the AF splitter take them like any other hash).
 *
 * One generic round structure, instantiated twice: BLAKE2b on 64-bit words
 * (12 rounds, 128-byte blocks, rotations 32/24/16/63), BLAKE2s on 32-bit
 * words (10 rounds, 64-byte blocks, rotations 16/12/8/7).  The last block
 * is compressed only at digest time, with the final flag.
 */
#include "config.h"
#include "crypto/blake2-priv.h"

#include <string.h>

#include "lb/secret.h"

static const guint8 lb_blake2_sigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

/* The IVs are SHA-512's and SHA-256's initial hash values. */
static const guint64 lb_blake2b_iv[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
    0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
    0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};
static const guint32 lb_blake2s_iv[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/*
 * BLAKE2_DEFINE(NAME, WORD, BLOCK, ROUNDS, R1..R4, OUTLEN): the compress,
 * init, update and digest functions of one variant.
 */
#define ROTR(W, x, n) ((W)((x) >> (n)) | (W)((x) << (8 * sizeof(W) - (n))))

#define BLAKE2_DEFINE(NAME, Ctx, W, BLOCK, ROUNDS, R1, R2, R3, R4, OUTLEN)     \
    static void NAME##_g(W *v, int a, int b, int c, int d, W x, W y)           \
    {                                                                          \
        v[a] = v[a] + v[b] + x;                                                \
        v[d] = ROTR(W, v[d] ^ v[a], R1);                                       \
        v[c] = v[c] + v[d];                                                    \
        v[b] = ROTR(W, v[b] ^ v[c], R2);                                       \
        v[a] = v[a] + v[b] + y;                                                \
        v[d] = ROTR(W, v[d] ^ v[a], R3);                                       \
        v[c] = v[c] + v[d];                                                    \
        v[b] = ROTR(W, v[b] ^ v[c], R4);                                       \
    }                                                                          \
                                                                               \
    static void NAME##_compress(Ctx *ctx, bool last)                           \
    {                                                                          \
        W v[16], m[16];                                                        \
                                                                               \
        for (int i = 0; i < 16; i++) {                                         \
            W w = 0;                                                           \
            for (int j = sizeof(W) - 1; j >= 0; j--) {                         \
                w = (w << 8) | ctx->block[i * sizeof(W) + j];                  \
            }                                                                  \
            m[i] = w;                                                          \
        }                                                                      \
        for (int i = 0; i < 8; i++) {                                          \
            v[i] = ctx->h[i];                                                  \
            v[i + 8] = NAME##_iv[i];                                           \
        }                                                                      \
        v[12] ^= ctx->t[0];                                                    \
        v[13] ^= ctx->t[1];                                                    \
        if (last) {                                                            \
            v[14] = ~v[14];                                                    \
        }                                                                      \
        for (int r = 0; r < ROUNDS; r++) {                                     \
            const guint8 *s = lb_blake2_sigma[r % 10];                         \
            NAME##_g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);                        \
            NAME##_g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);                        \
            NAME##_g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);                       \
            NAME##_g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);                       \
            NAME##_g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);                       \
            NAME##_g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);                     \
            NAME##_g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);                      \
            NAME##_g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);                      \
        }                                                                      \
        for (int i = 0; i < 8; i++) {                                          \
            ctx->h[i] ^= v[i] ^ v[i + 8];                                      \
        }                                                                      \
        /* The message is often key material. */                               \
        lb_memzero(v, sizeof(v));                                              \
        lb_memzero(m, sizeof(m));                                              \
    }                                                                          \
                                                                               \
    static void NAME##_init(void *p)                                           \
    {                                                                          \
        Ctx *ctx = p;                                                          \
                                                                               \
        memset(ctx, 0, sizeof(*ctx));                                          \
        memcpy(ctx->h, NAME##_iv, sizeof(ctx->h));                             \
        ctx->h[0] ^= 0x01010000u ^ (OUTLEN); /* no key, fanout/depth 1 */      \
    }                                                                          \
                                                                               \
    static void NAME##_add_count(Ctx *ctx, size_t n)                           \
    {                                                                          \
        ctx->t[0] += (W)n;                                                     \
        if (ctx->t[0] < (W)n) {                                                \
            ctx->t[1]++;                                                       \
        }                                                                      \
    }                                                                          \
                                                                               \
    static void NAME##_update(void *p, size_t len, const uint8_t *data)        \
    {                                                                          \
        Ctx *ctx = p;                                                          \
                                                                               \
        while (len > 0) {                                                      \
            if (ctx->index == (BLOCK)) {                                       \
                NAME##_add_count(ctx, (BLOCK));                                \
                NAME##_compress(ctx, false);                                   \
                ctx->index = 0;                                                \
            }                                                                  \
            size_t n = MIN(len, (size_t)(BLOCK)-ctx->index);                   \
            memcpy(ctx->block + ctx->index, data, n);                          \
            ctx->index += n;                                                   \
            data += n;                                                         \
            len -= n;                                                          \
        }                                                                      \
    }                                                                          \
                                                                               \
    static void NAME##_digest(void *p, size_t len, uint8_t *out)               \
    {                                                                          \
        Ctx *ctx = p;                                                          \
        guint8 full[OUTLEN];                                                   \
                                                                               \
        NAME##_add_count(ctx, ctx->index);                                     \
        memset(ctx->block + ctx->index, 0, (BLOCK)-ctx->index);                \
        NAME##_compress(ctx, true);                                            \
        for (size_t i = 0; i < (OUTLEN); i++) {                                \
            full[i] =                                                          \
                (guint8)(ctx->h[i / sizeof(W)] >> (8 * (i % sizeof(W))));      \
        }                                                                      \
        memcpy(out, full, MIN(len, (size_t)(OUTLEN)));                         \
        lb_memzero(full, sizeof(full));                                        \
        NAME##_init(ctx);                                                      \
    }                                                                          \
                                                                               \
    const struct nettle_hash lb_nettle_##NAME = {                              \
        .name = #NAME,                                                         \
        .context_size = sizeof(Ctx),                                           \
        .digest_size = (OUTLEN),                                               \
        .block_size = (BLOCK),                                                 \
        .init = NAME##_init,                                                   \
        .update = NAME##_update,                                               \
        .digest = NAME##_digest,                                               \
    };

#define blake2b_512_iv lb_blake2b_iv
#define blake2s_256_iv lb_blake2s_iv

BLAKE2_DEFINE(blake2b_512, LbBlake2bCtx, guint64, 128, 12, 32, 24, 16, 63, 64)
BLAKE2_DEFINE(blake2s_256, LbBlake2sCtx, guint32, 64, 10, 16, 12, 8, 7, 32)
