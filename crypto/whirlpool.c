/*
 * crypto/whirlpool.c: the Whirlpool hash (P. Barreto, V. Rijmen, "The
 * WHIRLPOOL Hashing Function", 2003 revision; ISO/IEC 10118-3), written
 * from the specification because neither gnutls nor nettle provides it and
 * cryptsetup accepts "whirlpool" as a LUKS hash-spec.
 *
 * It is exposed as a `struct nettle_hash` so HMAC, PBKDF2 and the AF
 * splitter use it like any nettle hash.
 *
 * Structure: Miyaguchi-Preneel over the 512-bit block cipher W.  The state
 * is an 8x8 byte matrix; message byte 8i+j is row i, column j.  A round is
 * sigma[k] . theta . pi . gamma:
 *   gamma  S-box on every byte; the S-box is built from the 4-bit mini-boxes
 *          E, E^-1 and R exactly as the paper's figure describes;
 *   pi     column j rotated down by j rows;
 *   theta  each row times the circulant matrix cir(1,1,4,1,8,5,2,9) over
 *          GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1;
 *   sigma  XOR with the round key.
 * The key schedule runs the same round with constants c^r (row 0 =
 * S[8(r-1) .. 8(r-1)+7]).  gamma, pi and theta are folded into eight
 * 256-entry tables computed once at first use.  Padding: a 1 bit, zeros,
 * and the message length in bits as a 256-bit big-endian number.
 */
#include "config.h"
#include "crypto/whirlpool-priv.h"

#include <string.h>

#include <glib.h>

#define WP_ROUNDS 10

static guint64 wp_table[8][256];
static guint64 wp_rc[WP_ROUNDS + 1];

static guint8 wp_gf_mul(guint8 a, guint8 b)
{
    guint8 r = 0;

    while (b) {
        if (b & 1) {
            r ^= a;
        }
        a = (a << 1) ^ ((a & 0x80) ? 0x1d : 0);
        b >>= 1;
    }
    return r;
}

static void wp_build_tables(void)
{
    static const guint8 e[16] = {0x1, 0xb, 0x9, 0xc, 0xd, 0x6, 0xf, 0x3,
                                 0xe, 0x8, 0x7, 0x4, 0xa, 0x2, 0x5, 0x0};
    static const guint8 r[16] = {0x7, 0xc, 0xb, 0xd, 0xe, 0x4, 0x9, 0xf,
                                 0x6, 0x3, 0x8, 0xa, 0x2, 0x5, 0x1, 0x0};
    static const guint8 c0[8] = {1, 1, 4, 1, 8, 5, 2, 9};
    guint8 einv[16];
    guint8 sbox[256];

    for (unsigned i = 0; i < 16; i++) {
        einv[e[i]] = i;
    }
    for (unsigned u = 0; u < 256; u++) {
        guint8 a = e[u >> 4];
        guint8 b = einv[u & 15];
        guint8 t = r[a ^ b];

        sbox[u] = e[a ^ t] << 4 | einv[b ^ t];
    }
    /*
     * Row k of the circulant matrix is c0 rotated right by k, so input
     * column k contributes S[x] * c0[(j - k) mod 8] to output column j.
     */
    for (unsigned k = 0; k < 8; k++) {
        for (unsigned x = 0; x < 256; x++) {
            guint64 v = 0;

            for (unsigned j = 0; j < 8; j++) {
                v = v << 8 | wp_gf_mul(sbox[x], c0[(j + 8 - k) % 8]);
            }
            wp_table[k][x] = v;
        }
    }
    for (unsigned rd = 1; rd <= WP_ROUNDS; rd++) {
        guint64 v = 0;

        for (unsigned j = 0; j < 8; j++) {
            v = v << 8 | sbox[8 * (rd - 1) + j];
        }
        wp_rc[rd] = v;
    }
}

static void wp_tables_once(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        wp_build_tables();
        g_once_init_leave(&done, 1);
    }
}

/* out = theta(pi(gamma(in))): row i takes byte k of row (i - k) mod 8. */
static inline void wp_round(const guint64 in[8], guint64 out[8])
{
#pragma GCC unroll 8
    for (unsigned i = 0; i < 8; i++) {
        guint64 v = 0;

#pragma GCC unroll 8
        for (unsigned k = 0; k < 8; k++) {
            guint8 x = in[(i + 8 - k) % 8] >> (56 - 8 * k);

            v ^= wp_table[k][x];
        }
        out[i] = v;
    }
}

static void wp_compress(LbWhirlpoolCtx *ctx, const guint8 *block)
{
    guint64 m[8];
    guint64 k[8];
    guint64 s[8];
    guint64 t[8];

    for (unsigned i = 0; i < 8; i++) {
        guint64 v = 0;

        for (unsigned j = 0; j < 8; j++) {
            v = v << 8 | block[8 * i + j];
        }
        m[i] = v;
        k[i] = ctx->h[i];
        s[i] = v ^ k[i];
    }
    for (unsigned rd = 1; rd <= WP_ROUNDS; rd++) {
        wp_round(k, t);
        t[0] ^= wp_rc[rd];
        memcpy(k, t, sizeof(k));
        wp_round(s, t);
        for (unsigned i = 0; i < 8; i++) {
            s[i] = t[i] ^ k[i];
        }
    }
    for (unsigned i = 0; i < 8; i++) {
        ctx->h[i] ^= s[i] ^ m[i];
    }
}

void lb_whirlpool_init(LbWhirlpoolCtx *ctx)
{
    wp_tables_once();
    memset(ctx, 0, sizeof(*ctx));
}

void lb_whirlpool_update(LbWhirlpoolCtx *ctx, size_t len, const guint8 *data)
{
    ctx->count += len;
    if (ctx->index) {
        size_t n = MIN(len, sizeof(ctx->block) - ctx->index);

        memcpy(ctx->block + ctx->index, data, n);
        ctx->index += n;
        data += n;
        len -= n;
        if (ctx->index < sizeof(ctx->block)) {
            return;
        }
        wp_compress(ctx, ctx->block);
        ctx->index = 0;
    }
    for (; len >= sizeof(ctx->block); len -= 64, data += 64) {
        wp_compress(ctx, data);
    }
    memcpy(ctx->block, data, len);
    ctx->index = len;
}

void lb_whirlpool_digest(LbWhirlpoolCtx *ctx, size_t len, guint8 *out)
{
    guint64 bits_lo = (guint64)ctx->count << 3;
    guint64 bits_hi = (guint64)ctx->count >> 61;
    guint8 full[LB_WHIRLPOOL_DIGEST_SIZE];

    g_assert(len <= LB_WHIRLPOOL_DIGEST_SIZE);
    ctx->block[ctx->index++] = 0x80;
    if (ctx->index > 32) {
        memset(ctx->block + ctx->index, 0, 64 - ctx->index);
        wp_compress(ctx, ctx->block);
        ctx->index = 0;
    }
    memset(ctx->block + ctx->index, 0, 64 - ctx->index);
    for (unsigned i = 0; i < 8; i++) {
        ctx->block[48 + i] = bits_hi >> (56 - 8 * i);
        ctx->block[56 + i] = bits_lo >> (56 - 8 * i);
    }
    wp_compress(ctx, ctx->block);
    for (unsigned i = 0; i < 8; i++) {
        for (unsigned j = 0; j < 8; j++) {
            full[8 * i + j] = ctx->h[i] >> (56 - 8 * j);
        }
    }
    memcpy(out, full, len);
    memset(full, 0, sizeof(full));
    lb_whirlpool_init(ctx);
}

static void wp_nettle_init(void *ctx)
{
    lb_whirlpool_init(ctx);
}

static void wp_nettle_update(void *ctx, size_t len, const uint8_t *data)
{
    lb_whirlpool_update(ctx, len, data);
}

static void wp_nettle_digest(void *ctx, size_t len, uint8_t *out)
{
    lb_whirlpool_digest(ctx, len, out);
}

const struct nettle_hash lb_nettle_whirlpool = {
    .name = "whirlpool",
    .context_size = sizeof(LbWhirlpoolCtx),
    .digest_size = LB_WHIRLPOOL_DIGEST_SIZE,
    .block_size = 64,
    .init = wp_nettle_init,
    .update = wp_nettle_update,
    .digest = wp_nettle_digest,
};
