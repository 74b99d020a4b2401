/*
 * crypto/cipher-nettle.c: the nettle back end of LbBlockCipher.
 *
 * Serves every cipher/chain pair: aes, serpent, twofish, cast5 and
 * camellia in ECB, CBC, XTS, CTR, CFB, OFB and LRW, with every key schedule
 * inside the LbBlockCipher, that is in locked memory (cipher.c says why not
 * gnutls).
 * AES-XTS keys whose two halves are equal are accepted, as the kernel and
 * cryptsetup do.  Multi-sector paths keep the AES-NI pipeline busy: CBC
 * encryption runs several sectors side by side, XTS one block-function
 * call per run of sectors.
 *
 * The chain modes wrap nettle's block functions: cbc_encrypt/cbc_decrypt,
 * ctr_crypt, and an XTS written here for whole data units (below), once per
 * sector with the ivgen output as IV, tweak or initial counter.  All of them
 * accept in == out.  dm-crypt's ctr mode is the kernel's ctr(cipher): the
 * whole block is a big-endian counter starting at the IV, which is exactly
 * nettle's ctr_crypt.  cfb and ofb are the kernel's full-block cfb(cipher)
 * and ofb(cipher) (gone from Linux 6.7, but cryptsetup 2.6 still formats
 * them): nettle's cfb_encrypt/cfb_decrypt, and an OFB keystream here.
 */
#include "config.h"
#include "crypto/cipher-priv.h"

#include <errno.h>
#include <string.h>

#include <nettle/cbc.h>
#include <nettle/cfb.h>
#include <nettle/ctr.h>
#include <nettle/memxor.h>

#include <glib.h>

/* Largest XTS data unit: the largest sector size. */
#define LB_XTS_MAX_UNIT 4096
/* Bytes per block-function call in the multi-sector XTS path. */
#define LB_XTS_CHUNK 8192

/* dm-crypt cipher names and the key sizes nettle implements for them. */
static const struct {
    const char *name;
    const struct nettle_cipher *alg;
} lb_nettle_ciphers[] = {
    {"aes", &nettle_aes128},
    {"aes", &nettle_aes192},
    {"aes", &nettle_aes256},
    {"serpent", &nettle_serpent128},
    {"serpent", &nettle_serpent192},
    {"serpent", &nettle_serpent256},
    {"twofish", &nettle_twofish128},
    {"twofish", &nettle_twofish192},
    {"twofish", &nettle_twofish256},
    {"cast5", &nettle_cast128},
    /* Not in QEMU, but dm-crypt and cryptsetup accept it. */
    {"camellia", &nettle_camellia128},
    {"camellia", &nettle_camellia192},
    {"camellia", &nettle_camellia256},
};

const struct nettle_cipher *lb_cipher_nettle_alg(const char *cipher,
                                                 size_t keylen)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(lb_nettle_ciphers); i++) {
        const struct nettle_cipher *alg = lb_nettle_ciphers[i].alg;

        if (!g_ascii_strcasecmp(cipher, lb_nettle_ciphers[i].name) &&
            alg->key_size == keylen) {
            g_assert(alg->context_size <= sizeof(LbNettleCtx));
            g_assert(alg->block_size <= LB_CIPHER_MAX_BLOCK);
            return alg;
        }
    }
    return NULL;
}

void lb_nettle_block_setkey(LbNettleBlock *b, const struct nettle_cipher *alg,
                            const guint8 *key)
{
    b->alg = alg;
    alg->set_encrypt_key(&b->enc, key);
    alg->set_decrypt_key(&b->dec, key);
}

/* ---- chain modes over one sector --------------------------------------- */

static int lb_nettle_ecb_encrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    c->data.alg->encrypt(&c->data.enc, len, out, in);
    return 0;
}

static int lb_nettle_ecb_decrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    c->data.alg->decrypt(&c->data.dec, len, out, in);
    return 0;
}

/* nettle's cbc_*, cfb_* and ctr_crypt share one signature: run one on a
 * copy of the IV (they advance it) with the encryption or decryption key. */
typedef void LbNettleModeFunc(const void *ctx, nettle_cipher_func *f,
                              size_t block_size, uint8_t *iv, size_t length,
                              uint8_t *dst, const uint8_t *src);

static int lb_nettle_mode_run(LbBlockCipher *c, LbNettleModeFunc *mode,
                              bool dec_key, const guint8 *iv, const guint8 *in,
                              guint8 *out, size_t len)
{
    guint8 reg[LB_CIPHER_MAX_BLOCK];

    memcpy(reg, iv, c->block_size);
    mode(dec_key ? (const void *)&c->data.dec : &c->data.enc,
         dec_key ? c->data.alg->decrypt : c->data.alg->encrypt, c->block_size,
         reg, len, out, in);
    return 0;
}

static int lb_nettle_cbc_encrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_mode_run(c, cbc_encrypt, false, iv, in, out, len);
}

static int lb_nettle_cbc_decrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_mode_run(c, cbc_decrypt, true, iv, in, out, len);
}

/*
 * XTS (IEEE 1619) over one data unit.  nettle's xts_encrypt_message()
 * calls the block function once per 16-byte block; instead compute all the
 * tweaks T_j = E_K2(iv) * x^j of the unit first, then run the block cipher
 * once over the whole unit (P ^ T), which lets nettle use its multi-block
 * code (AES-NI pipelining, serpent's two-block path).  Data units are
 * whole sectors, always a multiple of 16 bytes, so no ciphertext stealing.
 */
/* The tweaks of one data unit from its first tweak @t0 = E_K2(iv). */
static void lb_xts_tweaks(const guint8 *t0, guint8 *tw, size_t len)
{
    guint64 lo;
    guint64 hi;

    memcpy(&lo, t0, 8);
    memcpy(&hi, t0 + 8, 8);
    lo = GUINT64_FROM_LE(lo);
    hi = GUINT64_FROM_LE(hi);
    for (size_t off = 0; off < len; off += 16) {
        guint64 le_lo = GUINT64_TO_LE(lo);
        guint64 le_hi = GUINT64_TO_LE(hi);
        guint64 carry = hi >> 63;

        memcpy(tw + off, &le_lo, 8);
        memcpy(tw + off + 8, &le_hi, 8);
        /* T * x in GF(2^128), little-endian, x^128 = x^7 + x^2 + x + 1. */
        hi = (hi << 1) | (lo >> 63);
        lo = (lo << 1) ^ (carry * 0x87);
    }
}

/* out = f(in ^ tw) ^ tw over @len bytes (in == out allowed). */
static void lb_xts_apply(nettle_cipher_func *f, const void *ctx,
                         const guint8 *tw, const guint8 *in, guint8 *out,
                         size_t len)
{
    if (in == out) {
        memxor(out, tw, len);
    } else {
        memxor3(out, in, tw, len);
    }
    f(ctx, len, out, out);
    memxor(out, tw, len);
}

static int lb_nettle_xts_run(LbBlockCipher *c, nettle_cipher_func *f,
                             const void *ctx, const guint8 *iv,
                             const guint8 *in, guint8 *out, size_t len)
{
    guint8 tw[LB_XTS_MAX_UNIT];
    guint8 t0[16];

    g_assert(len <= sizeof(tw) && len % 16 == 0);
    c->tweak.alg->encrypt(&c->tweak.enc, 16, t0, iv);
    lb_xts_tweaks(t0, tw, len);
    lb_xts_apply(f, ctx, tw, in, out, len);
    return 0;
}

static int lb_nettle_xts_encrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_xts_run(c, c->data.alg->encrypt, &c->data.enc, iv, in, out,
                             len);
}

static int lb_nettle_xts_decrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_xts_run(c, c->data.alg->decrypt, &c->data.dec, iv, in, out,
                             len);
}

static int lb_nettle_ctr_crypt(LbBlockCipher *c, const guint8 *iv,
                               const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_mode_run(c, ctr_crypt, false, iv, in, out, len);
}

/* CFB runs the block cipher forwards in both directions. */
static int lb_nettle_cfb_encrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_mode_run(c, cfb_encrypt, false, iv, in, out, len);
}

static int lb_nettle_cfb_decrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_mode_run(c, cfb_decrypt, false, iv, in, out, len);
}

/* OFB: keystream block i = E^(i+1)(IV); its own inverse. */
static int lb_nettle_ofb_crypt(LbBlockCipher *c, const guint8 *iv,
                               const guint8 *in, guint8 *out, size_t len)
{
    const size_t bs = c->block_size;
    guint8 ks[LB_CIPHER_MAX_BLOCK];

    memcpy(ks, iv, bs);
    for (size_t off = 0; off < len; off += bs) {
        c->data.alg->encrypt(&c->data.enc, bs, ks, ks);
        memxor3(out + off, in + off, ks, MIN(bs, len - off));
    }
    lb_memzero(ks, sizeof(ks));
    return 0;
}

/*
 * CBC encryption is serial within a sector, so one chain keeps the AES
 * pipeline mostly idle (about 1 GB/s with AES-NI).  Sectors are
 * independent chains, though: encrypt up to LB_CBC_LANES sectors side by
 * side, one block of each per block-function call, which lets the
 * cipher's multi-block code overlap them (about 3x faster here).  The
 * output is exactly that of encrypting each sector on its own.
 */
static void lb_xor_block(guint8 *dst, const guint8 *a, const guint8 *b,
                         size_t bs)
{
    for (size_t i = 0; i < bs; i += 8) {
        guint64 x;
        guint64 y;

        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        x ^= y;
        memcpy(dst + i, &x, 8);
    }
}

static void lb_cbc_encrypt_lanes(LbBlockCipher *c,
                                 guint8 ivs[][LB_CIPHER_MAX_BLOCK],
                                 unsigned lanes, const guint8 *in, guint8 *out,
                                 size_t unit)
{
    const size_t bs = c->block_size;
    guint8 tmp[LB_CBC_LANES * LB_CIPHER_MAX_BLOCK];

    for (size_t off = 0; off < unit; off += bs) {
        for (unsigned g = 0; g < lanes; g++) {
            const guint8 *prev = off ? out + g * unit + off - bs : ivs[g];

            lb_xor_block(tmp + g * bs, in + g * unit + off, prev, bs);
        }
        c->data.alg->encrypt(&c->data.enc, lanes * bs, tmp, tmp);
        for (unsigned g = 0; g < lanes; g++) {
            memcpy(out + g * unit + off, tmp + g * bs, bs);
        }
    }
}

int lb_cipher_cbc_encrypt_multi(LbBlockCipher *c, uint64_t iv_sector,
                                unsigned sector_size, const guint8 *in,
                                guint8 *out, size_t len)
{
    guint8 ivs[LB_CBC_LANES][LB_CIPHER_MAX_BLOCK];
    uint64_t step = sector_size / 512;
    size_t units = len / sector_size;

    g_assert(c->chain == LB_CHAIN_CBC && c->data.alg);
    for (size_t u = 0; u < units;) {
        unsigned lanes = MIN(LB_CBC_LANES, units - u);
        size_t off = u * sector_size;

        for (unsigned g = 0; g < lanes; g++) {
            lb_ivgen_compute(&c->ivgen, iv_sector + (u + g) * step,
                             sector_size, ivs[g]);
        }
        if (lanes == 1) {
            int ret = c->encrypt(c, ivs[0], in + off, out + off, sector_size);

            if (ret < 0) {
                return ret;
            }
        } else {
            lb_cbc_encrypt_lanes(c, ivs, lanes, in + off, out + off,
                                 sector_size);
        }
        u += lanes;
    }
    return 0;
}

int lb_cipher_xts_multi(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                        unsigned sector_size, const guint8 *in, guint8 *out,
                        size_t len)
{
    guint8 tw[LB_XTS_CHUNK];
    guint8 t0[LB_XTS_CHUNK / 512][16];
    nettle_cipher_func *f = enc ? c->data.alg->encrypt : c->data.alg->decrypt;
    const void *ctx = enc ? (const void *)&c->data.enc : &c->data.dec;
    size_t per = MAX(LB_XTS_CHUNK / sector_size, 1);
    uint64_t step = sector_size / 512;

    g_assert(c->chain == LB_CHAIN_XTS && c->data.alg);
    g_assert(sector_size <= LB_XTS_CHUNK && len % sector_size == 0);
    for (size_t off = 0; off < len;) {
        size_t n = MIN(per, (len - off) / sector_size);
        size_t bytes = n * sector_size;

        for (size_t u = 0; u < n; u++) {
            lb_ivgen_compute(&c->ivgen, iv_sector + u * step, sector_size,
                             t0[u]);
        }
        /* All first tweaks in one call: the cipher's multi-block path. */
        c->tweak.alg->encrypt(&c->tweak.enc, n * 16, t0[0], t0[0]);
        for (size_t u = 0; u < n; u++) {
            lb_xts_tweaks(t0[u], tw + u * sector_size, sector_size);
        }
        lb_xts_apply(f, ctx, tw, in + off, out + off, bytes);
        off += bytes;
        iv_sector += n * step;
    }
    return 0;
}

/*
 * LRW (Liskov-Rivest-Wagner, the IEEE P1619 draft's LRW-AES; Linux
 * crypto/lrw.c, which dm-crypt's "lrw-<ivgen>" uses): the key is the
 * block cipher key followed by a 16-byte K2.  Block j of a sector whose IV
 * is I (a 128-bit big-endian number) uses the tweak T_j = K2 * (I + j) in
 * GF(2^128) with the big-endian bit order of the kernel's gf128mul "bbe"
 * (bit i of the number is the coefficient of x^i, x^128 = x^7 + x^2 + x +
 * 1), and C = E(P ^ T_j) ^ T_j.  As in the kernel, T_{j+1} = T_j ^
 * K2 * (I_j ^ (I_j + 1)), from a table of K2 * (2^(i+1) - 1).
 */
static void lb_gf_load(const guint8 *p, guint64 *hi, guint64 *lo)
{
    memcpy(hi, p, 8);
    memcpy(lo, p + 8, 8);
    *hi = GUINT64_FROM_BE(*hi);
    *lo = GUINT64_FROM_BE(*lo);
}

static void lb_gf_store(guint8 *p, guint64 hi, guint64 lo)
{
    hi = GUINT64_TO_BE(hi);
    lo = GUINT64_TO_BE(lo);
    memcpy(p, &hi, 8);
    memcpy(p + 8, &lo, 8);
}

/* r = a * b in GF(2^128), "bbe" order. */
static void lb_gf_mul_bbe(const guint8 *a, const guint8 *b, guint8 *r)
{
    guint64 ah, al, bh, bl, rh = 0, rl = 0;

    lb_gf_load(a, &ah, &al);
    lb_gf_load(b, &bh, &bl);
    for (int i = 127; i >= 0; i--) {
        guint64 carry = rh >> 63;
        guint64 bit = i >= 64 ? (bh >> (i - 64)) & 1 : (bl >> i) & 1;

        rh = (rh << 1) | (rl >> 63);
        rl = (rl << 1) ^ (carry * 0x87);
        rh ^= ah & (0 - bit);
        rl ^= al & (0 - bit);
    }
    lb_gf_store(r, rh, rl);
}

static void lb_lrw_setkey(LbBlockCipher *c, const guint8 *k2)
{
    guint8 ones[16] = {0};

    memcpy(c->lrw_k2, k2, 16);
    for (unsigned i = 0; i < 128; i++) {
        ones[15 - i / 8] |= 1u << (i % 8);
        lb_gf_mul_bbe(k2, ones, c->lrw_mulinc[i]);
    }
}

/* The tweaks of one sector (@len bytes) whose IV is @iv. */
static void lb_lrw_tweaks(const LbBlockCipher *c, const guint8 *iv,
                          guint8 *tw, size_t len)
{
    guint64 ih, il;

    lb_gf_load(iv, &ih, &il);
    lb_gf_mul_bbe(iv, c->lrw_k2, tw);
    for (size_t off = 16; off < len; off += 16) {
        /* Trailing one bits of I: I ^ (I + 1) = 2^(n+1) - 1. */
        unsigned n = 127;
        if (il != G_MAXUINT64) {
            n = (unsigned)__builtin_ctzll(~il);
        } else if (ih != G_MAXUINT64) {
            n = 64 + (unsigned)__builtin_ctzll(~ih);
        }
        memxor3(tw + off, tw + off - 16, c->lrw_mulinc[n], 16);
        il++;
        ih += il == 0;
    }
}

static int lb_nettle_lrw_run(LbBlockCipher *c, nettle_cipher_func *f,
                             const void *ctx, const guint8 *iv,
                             const guint8 *in, guint8 *out, size_t len)
{
    guint8 tw[LB_XTS_MAX_UNIT];

    g_assert(len <= sizeof(tw) && len % 16 == 0);
    lb_lrw_tweaks(c, iv, tw, len);
    lb_xts_apply(f, ctx, tw, in, out, len);
    lb_memzero(tw, sizeof(tw));
    return 0;
}

static int lb_nettle_lrw_encrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_lrw_run(c, c->data.alg->encrypt, &c->data.enc, iv, in, out,
                             len);
}

static int lb_nettle_lrw_decrypt(LbBlockCipher *c, const guint8 *iv,
                                 const guint8 *in, guint8 *out, size_t len)
{
    return lb_nettle_lrw_run(c, c->data.alg->decrypt, &c->data.dec, iv, in, out,
                             len);
}

bool lb_cipher_nettle_setup(LbBlockCipher *c, const char *cipher,
                            const guint8 *key, size_t keylen, GError **errp)
{
    size_t single = c->chain == LB_CHAIN_XTS ? keylen / 2 : keylen;
    const struct nettle_cipher *alg = NULL;

    if (c->chain == LB_CHAIN_LRW) {
        single = keylen > 16 ? keylen - 16 : 0;
    }
    if ((c->chain != LB_CHAIN_XTS || keylen % 2 == 0) && single) {
        alg = lb_cipher_nettle_alg(cipher, single);
    }
    if (!alg || ((c->chain == LB_CHAIN_XTS || c->chain == LB_CHAIN_LRW) &&
                 alg->block_size != 16)) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "cipher %s does not support a %zu-bit key in this mode",
                    cipher, keylen * 8);
        return false;
    }
    c->block_size = alg->block_size;
    lb_nettle_block_setkey(&c->data, alg, key);
    switch (c->chain) {
    case LB_CHAIN_ECB:
        c->encrypt = lb_nettle_ecb_encrypt;
        c->decrypt = lb_nettle_ecb_decrypt;
        break;
    case LB_CHAIN_CBC:
        c->encrypt = lb_nettle_cbc_encrypt;
        c->decrypt = lb_nettle_cbc_decrypt;
        break;
    case LB_CHAIN_XTS:
        lb_nettle_block_setkey(&c->tweak, alg, key + single);
        c->encrypt = lb_nettle_xts_encrypt;
        c->decrypt = lb_nettle_xts_decrypt;
        break;
    case LB_CHAIN_CTR:
        c->encrypt = lb_nettle_ctr_crypt;
        c->decrypt = lb_nettle_ctr_crypt;
        break;
    case LB_CHAIN_CFB:
        c->encrypt = lb_nettle_cfb_encrypt;
        c->decrypt = lb_nettle_cfb_decrypt;
        break;
    case LB_CHAIN_OFB:
        c->encrypt = lb_nettle_ofb_crypt;
        c->decrypt = lb_nettle_ofb_crypt;
        break;    case LB_CHAIN_LRW:
        lb_lrw_setkey(c, key + single);
        c->encrypt = lb_nettle_lrw_encrypt;
        c->decrypt = lb_nettle_lrw_decrypt;
        break;
    }
    return true;
}
