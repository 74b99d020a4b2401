/*
 * crypto/cipher-priv.h: internals of LbBlockCipher shared by cipher.c (spec
 * parsing, sector loop), cipher-nettle.c (the chain modes over nettle's
 * block ciphers) and ivgen.c (ESSIV's single-block cipher).
 * Private to the crypto layer: it pulls in nettle types.
 */
#ifndef LB_CRYPTO_CIPHER_PRIV_H
#define LB_CRYPTO_CIPHER_PRIV_H

#include <nettle/aes.h>
#include <nettle/camellia.h>
#include <nettle/cast128.h>
#include <nettle/nettle-meta.h>
#include <nettle/serpent.h>
#include <nettle/twofish.h>

#include "lb/crypto.h"
#include "lb/secret.h"
#include "crypto/ivgen-priv.h"

typedef enum {
    LB_CHAIN_ECB,
    LB_CHAIN_CBC,
    LB_CHAIN_XTS,
    LB_CHAIN_CTR,
    LB_CHAIN_CFB,
    LB_CHAIN_OFB,
    LB_CHAIN_LRW,
} LbChainMode;

/* Largest IV / cipher block handled (16; cast5 has 8). */
#define LB_CIPHER_MAX_BLOCK 16
/* Sectors CBC-encrypted side by side (see cipher-nettle.c). */
#define LB_CBC_LANES 8

/**
 * lb_cipher_nettle_alg: the nettle block cipher for dm-crypt name @cipher
 * ("aes", "serpent", "twofish", "cast5", "camellia") with a single
 * @keylen-byte key.
 * Returns: (transfer none) the table entry, or NULL when the name or the
 * key size is not supported.
 */
const struct nettle_cipher *lb_cipher_nettle_alg(const char *cipher,
                                                 size_t keylen);

/**
 * lb_nettle_block_setkey: key both directions of @b with @alg and @key
 * (alg->key_size bytes).  @b should live in locked memory.
 */
void lb_nettle_block_setkey(LbNettleBlock *b, const struct nettle_cipher *alg,
                            const guint8 *key);

/* An AES key schedule for the AES-NI back end (cipher-aesni.c): round keys
 * 0..rounds as little-endian words, encryption and Equivalent Inverse
 * Cipher decryption.  Key material: lives inside the LbBlockCipher. */
typedef struct LbAesniKey {
    guint32 enc[4 * 15] __attribute__((aligned(16)));
    guint32 dec[4 * 15] __attribute__((aligned(16)));
    unsigned rounds; /* 10, 12 or 14 */
} LbAesniKey;

/* One sector/unit: @iv is the ivgen output (unused for ECB), len > 0. */
typedef int (*LbCipherUnitFunc)(LbBlockCipher *c, const guint8 *iv,
                                const guint8 *in, guint8 *out, size_t len);

struct LbBlockCipher {
    LbSecret *mem; /* this struct lives inside it */
    LbChainMode chain;
    unsigned block_size;
    bool null_cipher; /* cipher_null: identity */
    LbIvgen ivgen;
    LbCipherUnitFunc encrypt;
    LbCipherUnitFunc decrypt;
    LbNettleBlock data;  /* nettle: data key (also for CBC lanes) */
    LbNettleBlock tweak; /* nettle XTS: tweak key */
    bool aesni;          /* AES ECB/CBC/XTS runs on cipher-aesni.c */
    bool vaes;           /* ... XTS with 256-bit VAES (cipher-vaes.c) */
    bool vaes512;        /* ... XTS, ECB, CBC with 512-bit VAES */
    LbAesniKey ni_data;  /* AES-NI: data key */
    LbAesniKey ni_tweak; /* AES-NI XTS: tweak key */
    /* LRW: K2 (the last 16 key bytes) and K2 * (2^(i+1) - 1) for i =
     * 0..127 (Linux crypto/lrw.c "mulinc"), GF(2^128) big-endian. */
    guint8 lrw_k2[16];
    guint8 lrw_mulinc[128][16];
};

/**
 * lb_cipher_nettle_setup: set up @c with nettle for @cipher in @c->chain.
 * Returns: false with @errp set when the key size is not supported.
 */
bool lb_cipher_nettle_setup(LbBlockCipher *c, const char *cipher,
                            const guint8 *key, size_t keylen, GError **errp);

/**
 * lb_cipher_cbc_encrypt_multi: CBC-encrypt @len bytes (whole sectors) of
 * @in to @out (same buffer or disjoint), several sectors at a time through
 * @c->data.  Same result as the sector-by-sector loop.  Returns: 0 or
 * -errno.
 */
int lb_cipher_cbc_encrypt_multi(LbBlockCipher *c, uint64_t iv_sector,
                                unsigned sector_size, const guint8 *in,
                                guint8 *out, size_t len);

/**
 * lb_cipher_xts_multi: XTS-encrypt (@enc) or decrypt @len bytes (whole
 * sectors) of @in to @out, many sectors per block-function call: the first
 * tweaks of a run of sectors are computed in one call, then the data of
 * the whole run.  Same result as the sector-by-sector loop.  Returns: 0.
 */
int lb_cipher_xts_multi(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                        unsigned sector_size, const guint8 *in, guint8 *out,
                        size_t len);

/**
 * lb_cipher_aesni_setup: switch @c (nettle keys and IV generator set up)
 * to the AES-NI back end when @cipher is aes, the chain ECB, CBC or XTS,
 * the CPU has AES-NI and SSE4.1, and the back end agrees with nettle on a
 * test run; expands the key schedules of @key into @c.  XTS also uses
 * VAES (512-bit with AVX-512) when the CPU has it.  LB_CIPHER_IMPL in
 * the environment: "nettle" keeps nettle, "aesni" AES-NI without VAES,
 * "vaes256" VAES without AVX-512.
 * Returns: whether @c->aesni is now set.
 */
bool lb_cipher_aesni_setup(LbBlockCipher *c, const char *cipher,
                           const guint8 *key, size_t keylen);

/** lb_cipher_aesni_available: whether this CPU has AES-NI and SSE4.1. */
bool lb_cipher_aesni_available(void);

/**
 * lb_cipher_aesni_run: encrypt (@enc) or decrypt @len bytes (whole
 * @sector_size sectors, the first with IV sector @iv_sector) of @in to
 * @out (same buffer or disjoint) with AES-NI; @c->aesni must be set.
 * Wipes the stack it used.  Returns: 0.
 */
int lb_cipher_aesni_run(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                        unsigned sector_size, const guint8 *in, guint8 *out,
                        size_t len);

/** lb_cipher_vaes_available: whether this CPU has VAES and AVX2. */
bool lb_cipher_vaes_available(void);

/**
 * lb_cipher_vaes_xts_unit: XTS-encrypt (@enc) or decrypt one data unit of
 * @len bytes (a multiple of 256) with round keys @k, first tweak @t0,
 * sixteen blocks at a time with VAES (cipher-vaes.c).  Only when
 * lb_cipher_vaes_available(); the caller wipes the stack.
 */
void lb_cipher_vaes_xts_unit(const LbAesniKey *k, bool enc, const guint8 *t0,
                             const guint8 *in, guint8 *out, size_t len);

/** lb_cipher_vaes512_available: whether this CPU also has AVX-512F/BW
 * and VPCLMULQDQ. */
bool lb_cipher_vaes512_available(void);

/**
 * lb_cipher_vaes512_xts_unit: lb_cipher_vaes_xts_unit() on 512-bit
 * registers, 32 blocks at a time: @len is a multiple of 512.  Only when
 * lb_cipher_vaes512_available().
 */
void lb_cipher_vaes512_xts_unit(const LbAesniKey *k, bool enc,
                                const guint8 *t0, const guint8 *in,
                                guint8 *out, size_t len);

/**
 * lb_cipher_vaes512_ecb: ECB-encrypt (@enc) or decrypt @len bytes (a
 * multiple of 512) with 512-bit VAES.  Only when
 * lb_cipher_vaes512_available().
 */
void lb_cipher_vaes512_ecb(const LbAesniKey *k, bool enc, const guint8 *in,
                           guint8 *out, size_t len);

/**
 * lb_cipher_vaes512_cbc_dec_unit: CBC-decrypt one sector of @len bytes (a
 * multiple of 512) with IV @iv, with 512-bit VAES (in == out allowed).
 * Only when lb_cipher_vaes512_available().
 */
void lb_cipher_vaes512_cbc_dec_unit(const LbAesniKey *k, const guint8 *iv,
                                    const guint8 *in, guint8 *out, size_t len);

/**
 * lb_cipher_vaes512_cbc_enc_group: CBC-encrypt @n (1..32) consecutive
 * sectors of @unit bytes, sector g with IV @ivs[g], side by side with
 * 512-bit VAES (in == out allowed).  Only when
 * lb_cipher_vaes512_available().
 */
void lb_cipher_vaes512_cbc_enc_group(const LbAesniKey *k,
                                     const guint8 (*ivs)[16], unsigned n,
                                     const guint8 *in, guint8 *out,
                                     size_t unit);

#endif /* LB_CRYPTO_CIPHER_PRIV_H */
