/*
 * crypto.h: cryptographic primitives used by the LUKS engine (crypto layer).
 *
 * Hashes, PBKDF2 with calibration, Argon2 (LUKS2), random bytes, the LUKS
 * anti-forensic splitter, and LbBlockCipher: a dm-crypt style sector cipher
 * ("aes" + "xts-plain64", "cbc-essiv:sha256", "ecb", ...) that encrypts
 * whole sectors with the IV generator applied.  AES goes through gnutls'
 * fast paths; nettle provides serpent, twofish, cast5 and the rest.
 *
 * Nothing here knows about block nodes.  All functions are thread-safe
 * except that one LbBlockCipher must be used by one thread at a time.
 */
#ifndef LB_CRYPTO_H
#define LB_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define LB_CRYPTO_ERROR (lb_crypto_error_quark())
GQuark lb_crypto_error_quark(void);
typedef enum {
    LB_CRYPTO_ERROR_FAILED,        /* backend failure */
    LB_CRYPTO_ERROR_UNSUPPORTED,   /* unknown/unsupported algorithm or size */
    LB_CRYPTO_ERROR_INVALID,       /* bad argument (length, alignment) */
} LbCryptoError;

/* ---- hashes ---------------------------------------------------------- */

typedef enum {
    LB_HASH_MD5,
    LB_HASH_SHA1,
    LB_HASH_SHA224,
    LB_HASH_SHA256,
    LB_HASH_SHA384,
    LB_HASH_SHA512,
    LB_HASH_RIPEMD160,
    LB_HASH_SHA3_256,
    LB_HASH_SHA3_512,
    LB_HASH_WHIRLPOOL,
    LB_HASH_SM3,
    LB_HASH_SHA3_224,
    LB_HASH_SHA3_384,
    LB_HASH_BLAKE2B_512,
    LB_HASH_BLAKE2S_256,
    LB_HASH__MAX,
} LbHashAlg;

#define LB_HASH_MAX_DIGEST 64

/** lb_hash_from_name: parse a LUKS hash-spec name (case-insensitive). */
bool lb_hash_from_name(const char *name, LbHashAlg *out, GError **errp);
/** lb_hash_name: canonical lower-case name ("sha256"). */
const char *lb_hash_name(LbHashAlg alg);
size_t lb_hash_digest_len(LbHashAlg alg);
/** lb_hash_supported: whether a backend implements @alg here. */
bool lb_hash_supported(LbHashAlg alg);
/** lb_hash_bytes: digest of @len bytes into @out (digest_len bytes). */
bool lb_hash_bytes(LbHashAlg alg, const void *data, size_t len,
                   guint8 *out, GError **errp);
/** lb_hash_bytes2: digest of @a ‖ @b (avoids a concatenation copy). */
bool lb_hash_bytes2(LbHashAlg alg, const void *a, size_t alen,
                    const void *b, size_t blen, guint8 *out, GError **errp);

/* ---- random ---------------------------------------------------------- */

/** lb_random_bytes: cryptographically strong random bytes (key grade). */
bool lb_random_bytes(void *buf, size_t len, GError **errp);

/* ---- PBKDF2 ---------------------------------------------------------- */

bool lb_pbkdf2(LbHashAlg alg, const void *pass, size_t passlen,
               const guint8 *salt, size_t saltlen, uint64_t iterations,
               guint8 *out, size_t outlen, GError **errp);
/**
 * lb_pbkdf2_count_iters: iterations of PBKDF2-@alg that take about @ms
 * milliseconds for an output of @outlen bytes (as cryptsetup's benchmark).
 * Returns: the count (at least 1), or 0 with @errp set.
 */
uint64_t lb_pbkdf2_count_iters(LbHashAlg alg, size_t outlen, uint64_t ms,
                               GError **errp);

/* ---- Argon2 (LUKS2 keyslots) ------------------------------------------ */

typedef enum {
    LB_ARGON2I,
    LB_ARGON2ID,
} LbArgon2Type;

bool lb_argon2(LbArgon2Type type, const void *pass, size_t passlen,
               const guint8 *salt, size_t saltlen, uint32_t time_cost,
               uint32_t memory_kib, uint32_t parallel, guint8 *out,
               size_t outlen, GError **errp);
/**
 * lb_argon2_calibrate: pick time cost (>= 4) and memory (<= @max_memory_kib)
 * so one derivation takes about @ms milliseconds, as cryptsetup does.
 */
bool lb_argon2_calibrate(LbArgon2Type type, uint64_t ms,
                         uint32_t max_memory_kib, uint32_t parallel,
                         size_t outlen, uint32_t *time_cost,
                         uint32_t *memory_kib, GError **errp);

/* ---- anti-forensic splitter (LUKS "luks1" AF) ------------------------- */

/**
 * lb_afsplit_encode: split @key (@keylen bytes) into @stripes stripes
 * written to @out (@keylen * @stripes bytes), diffusing with @alg.
 */
bool lb_afsplit_encode(LbHashAlg alg, size_t keylen, uint32_t stripes,
                       const guint8 *key, guint8 *out, GError **errp);
/** lb_afsplit_decode: merge @stripes stripes from @in into @key. */
bool lb_afsplit_decode(LbHashAlg alg, size_t keylen, uint32_t stripes,
                       const guint8 *in, guint8 *key, GError **errp);

/* ---- sector ciphers (dm-crypt semantics) ------------------------------ */

typedef struct LbBlockCipher LbBlockCipher;

/**
 * lb_block_cipher_new: a sector cipher for dm-crypt spec @cipher-@mode,
 * e.g. ("aes", "xts-plain64"), ("aes", "cbc-essiv:sha256"), ("aes", "ecb"),
 * ("serpent", "cbc-plain"), ("twofish", "xts-benbi"), ("cast5", "cbc-plain64").
 * @key is the whole volume key (both halves for XTS; the ESSIV salt is
 * derived from all of it).
 * Returns: (transfer full) a cipher, or NULL with @errp set for an unknown
 * cipher, mode, ivgen or a key size the cipher does not take.
 */
LbBlockCipher *lb_block_cipher_new(const char *cipher, const char *mode,
                                   const guint8 *key, size_t keylen,
                                   GError **errp);
void lb_block_cipher_free(LbBlockCipher *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbBlockCipher, lb_block_cipher_free)

/**
 * lb_block_cipher_encrypt / _decrypt: process @len bytes (a multiple of
 * @sector_size, which is a power of two 512..4096) from @in to @out (they
 * may be the same buffer).  Unit i (@sector_size bytes each) is one XTS data
 * unit / CBC chain with IV sector number @iv_sector + i * (@sector_size/512):
 * IVs always count 512-byte units, as LUKS1 and LUKS2 both require.
 * Returns: 0 or -errno (-EINVAL on a bad length).  Data path: no allocation.
 */
int lb_block_cipher_encrypt(LbBlockCipher *c, uint64_t iv_sector,
                            unsigned sector_size, const guint8 *in,
                            guint8 *out, size_t len);
int lb_block_cipher_decrypt(LbBlockCipher *c, uint64_t iv_sector,
                            unsigned sector_size, const guint8 *in,
                            guint8 *out, size_t len);

/**
 * lb_cipher_key_bytes_valid: whether @cipher in chain mode @chain ("xts",
 * "cbc", "ecb", "ctr") takes a @keylen-byte key (XTS: double key).
 */
bool lb_cipher_key_bytes_valid(const char *cipher, const char *chain,
                               size_t keylen);

#endif /* LB_CRYPTO_H */
