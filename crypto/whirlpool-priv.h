/*
 * crypto/whirlpool-priv.h: the Whirlpool hash (crypto/whirlpool.c) as a
 * nettle-style hash, private to the crypto layer.
 */
#ifndef LB_CRYPTO_WHIRLPOOL_PRIV_H
#define LB_CRYPTO_WHIRLPOOL_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/nettle-meta.h>

#include <glib.h>

#define LB_WHIRLPOOL_DIGEST_SIZE 64

typedef struct LbWhirlpoolCtx {
    guint64 h[8];     /* chaining value, row i as big-endian u64 */
    guint8 block[64]; /* pending message bytes */
    size_t index;     /* bytes used in block */
    guint64 count;    /* message bytes so far (lengths < 2^64) */
} LbWhirlpoolCtx;

void lb_whirlpool_init(LbWhirlpoolCtx *ctx);
void lb_whirlpool_update(LbWhirlpoolCtx *ctx, size_t len, const guint8 *data);
/** lb_whirlpool_digest: write @len (<= 64) bytes and reset @ctx. */
void lb_whirlpool_digest(LbWhirlpoolCtx *ctx, size_t len, guint8 *out);

extern const struct nettle_hash lb_nettle_whirlpool;

#endif /* LB_CRYPTO_WHIRLPOOL_PRIV_H */
