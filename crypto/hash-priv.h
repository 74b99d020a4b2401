/*
 * crypto/hash-priv.h: nettle hash tables shared by hash.c, pbkdf.c and
 * afsplit.c (private to the crypto layer; keeps nettle out of lb/crypto.h).
 */
#ifndef LB_CRYPTO_HASH_PRIV_H
#define LB_CRYPTO_HASH_PRIV_H

#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/ripemd160.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>
#include <nettle/sm3.h>

#include "lb/crypto.h"
#include "crypto/blake2-priv.h"
#include "crypto/whirlpool-priv.h"

/* Large enough for the state of any hash in the table (asserted). */
typedef union LbHashCtx {
    struct md5_ctx md5;
    struct sha1_ctx sha1;
    struct sha256_ctx sha256;
    struct sha512_ctx sha512;
    struct ripemd160_ctx ripemd160;
    struct sha3_224_ctx sha3_224;
    struct sha3_256_ctx sha3_256;
    struct sha3_384_ctx sha3_384;
    struct sha3_512_ctx sha3_512;
    struct sm3_ctx sm3;
    LbWhirlpoolCtx whirlpool;
    LbBlake2bCtx blake2b;
    LbBlake2sCtx blake2s;
    guint64 align;
} LbHashCtx;

/**
 * lb_hash_impl: the nettle implementation of @alg.
 * Returns: (transfer none) the table entry, or NULL with @errp set when the
 * hash is not available.
 */
const struct nettle_hash *lb_hash_impl(LbHashAlg alg, GError **errp);

#endif /* LB_CRYPTO_HASH_PRIV_H */
