/*
 * crypto/blake2-priv.h: BLAKE2b-512 and BLAKE2s-256 (crypto/blake2.c) as
 * nettle-style hashes, private to the crypto layer.  nettle 3.8 has no
 * BLAKE2, but cryptsetup accepts both as LUKS hashes.
 */
#ifndef LB_CRYPTO_BLAKE2_PRIV_H
#define LB_CRYPTO_BLAKE2_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/nettle-meta.h>

#include <glib.h>

typedef struct LbBlake2bCtx {
    guint64 h[8];
    guint64 t[2];      /* bytes compressed so far */
    guint8 block[128]; /* pending message bytes */
    size_t index;      /* bytes used in block */
} LbBlake2bCtx;

typedef struct LbBlake2sCtx {
    guint32 h[8];
    guint32 t[2];
    guint8 block[64];
    size_t index;
} LbBlake2sCtx;

extern const struct nettle_hash lb_nettle_blake2b_512;
extern const struct nettle_hash lb_nettle_blake2s_256;

#endif /* LB_CRYPTO_BLAKE2_PRIV_H */
