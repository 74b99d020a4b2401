/*
 * crypto/cipher-aesni.c: the AES-NI back end of LbBlockCipher for AES in
 * ECB, CBC and XTS, used when the CPU has the AES instructions (and
 * SSE4.1); every other cipher, chain and CPU stays on cipher-nettle.c.
 * XTS runs sixteen blocks at a time with VAES when the CPU has it; with
 * AVX-512 too, XTS, ECB and CBC decryption run 32, and CBC encryption up
 * to 32 sectors side by side (cipher-vaes.c).  LB_CIPHER_IMPL in the
 * environment when a cipher is created picks a path for tests and
 * measurements: "nettle" keeps nettle, "aesni" AES-NI without VAES,
 * "vaes256" VAES without AVX-512; unset, the fastest the CPU allows.
 *
 * Key schedules (FIPS-197 key expansion, SubWord by aeskeygenassist; the
 * decryption round keys are the Equivalent Inverse Cipher's, through
 * aesimc) are our own, inside the LbBlockCipher, that is inside its
 * locked, no-dump LbSecret.  The data path loads round keys from there
 * into registers and never copies the schedule; whatever the compiler
 * spills (tweaks, data blocks, at -O0 round keys too) is cleared by
 * lb_stack_wipe() after every call.  Setup also checks the result
 * against nettle on a test run and stays on nettle if it ever differs.
 *
 * On the AES-NI (128-bit) path, throughput comes from keeping eight
 * independent blocks in flight:
 *  - XTS (IEEE 1619): the first tweaks of up to eight sectors are
 *    encrypted together with the tweak key (plain64 IVs without a call),
 *    then each sector runs eight blocks per iteration; the eight tweaks
 *    advance as eight independent chains, each multiplied by x^8 in
 *    GF(2^128) (x^128 = x^7 + x^2 + x + 1) per iteration;
 *  - CBC decryption: eight blocks of a sector at a time;
 *  - CBC encryption is serial inside a sector, so up to eight sectors
 *    are chained side by side, one block of each per round sequence;
 *  - ECB: eight blocks at a time.
 * Functions using the instructions carry a target attribute, so the build
 * needs no global -maes; cpuid decides at run time.
 */
#include "config.h"
#include "crypto/cipher-priv.h"

#include <string.h>

#include <glib.h>

#include "lb/secret.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

#define LB_AESNI __attribute__((target("aes,sse4.1")))
/* Bytes of stack below the entry point cleared after each call: the
 * deepest frame (-O0 keeps every __m128i local there) is under 1 KiB. */
#define LB_AESNI_WIPE 2048
/* Blocks in flight. */
#define LB_LANES 8
/* Sectors CBC-encrypted side by side with 512-bit VAES, and their bytes. */
#define LB_CBC_WIDE 32
#define LB_CBC_SPAN (32 * 1024)

static bool lb_aesni_cpu(void)
{
    static int cached = -1;
    unsigned a, b, c, d;

    if (cached < 0) {
        cached =
            __get_cpuid(1, &a, &b, &c, &d) && (c & bit_AES) && (c & bit_SSE4_1);
    }
    return cached;
}

/* ---- key schedule ------------------------------------------------------ */

/* SubWord of one little-endian word: aeskeygenassist's dword 0 is
 * SubWord(dword 1) (no rotation, rcon 0). */
static LB_AESNI guint32 lb_aes_subword(guint32 w)
{
    __m128i x = _mm_set1_epi32((int)w);

    return (guint32)_mm_cvtsi128_si32(_mm_aeskeygenassist_si128(x, 0));
}

static LB_AESNI void lb_aesni_expand(LbAesniKey *k, const guint8 *key,
                                     size_t keylen)
{
    unsigned nk = keylen / 4;
    unsigned nr = nk + 6;
    unsigned total = 4 * (nr + 1);
    guint32 rcon = 1;
    const __m128i *enc = (const __m128i *)k->enc;
    __m128i *dec = (__m128i *)k->dec;

    /* Words are the key bytes in order, read as little-endian (x86). */
    memcpy(k->enc, key, keylen);
    for (unsigned i = nk; i < total; i++) {
        guint32 t = k->enc[i - 1];

        if (i % nk == 0) {
            /* RotWord moves byte 0 to the top: rotate right by 8. */
            t = lb_aes_subword((t >> 8) | (t << 24)) ^ rcon;
            rcon = ((rcon << 1) ^ ((rcon >> 7) * 0x1b)) & 0xff;
        } else if (nk > 6 && i % nk == 4) {
            t = lb_aes_subword(t);
        }
        k->enc[i] = k->enc[i - nk] ^ t;
    }
    /* Equivalent Inverse Cipher: reversed, InvMixColumns on the middle. */
    _mm_store_si128(dec, _mm_load_si128(enc + nr));
    for (unsigned r = 1; r < nr; r++) {
        _mm_store_si128(dec + r,
                        _mm_aesimc_si128(_mm_load_si128(enc + nr - r)));
    }
    _mm_store_si128(dec + nr, _mm_load_si128(enc));
    k->rounds = nr;
}

/* ---- block functions: 1 and LB_LANES blocks ---------------------------- */

/* Encrypt (@enc) or decrypt one block. */
static inline LB_AESNI __m128i lb_aes_crypt1(const LbAesniKey *k, bool enc,
                                             __m128i b)
{
    const __m128i *rk = (const __m128i *)(enc ? k->enc : k->dec);

    b = _mm_xor_si128(b, _mm_load_si128(rk));
    for (unsigned r = 1; r < k->rounds; r++) {
        __m128i key = _mm_load_si128(rk + r);

        b = enc ? _mm_aesenc_si128(b, key) : _mm_aesdec_si128(b, key);
    }
    return enc ? _mm_aesenclast_si128(b, _mm_load_si128(rk + k->rounds))
               : _mm_aesdeclast_si128(b, _mm_load_si128(rk + k->rounds));
}

/* Encrypt (@enc) or decrypt LB_LANES blocks, one round of each in turn. */
static inline LB_AESNI void lb_aes_crypt8(const LbAesniKey *k, bool enc,
                                          __m128i *b)
{
    const __m128i *rk = (const __m128i *)(enc ? k->enc : k->dec);
    __m128i key = _mm_load_si128(rk);

#pragma GCC unroll 8
    for (int i = 0; i < LB_LANES; i++) {
        b[i] = _mm_xor_si128(b[i], key);
    }
    for (unsigned r = 1; r < k->rounds; r++) {
        key = _mm_load_si128(rk + r);
        if (enc) {
#pragma GCC unroll 8
            for (int i = 0; i < LB_LANES; i++) {
                b[i] = _mm_aesenc_si128(b[i], key);
            }
        } else {
#pragma GCC unroll 8
            for (int i = 0; i < LB_LANES; i++) {
                b[i] = _mm_aesdec_si128(b[i], key);
            }
        }
    }
    key = _mm_load_si128(rk + k->rounds);
#pragma GCC unroll 8
    for (int i = 0; i < LB_LANES; i++) {
        b[i] = enc ? _mm_aesenclast_si128(b[i], key)
                   : _mm_aesdeclast_si128(b[i], key);
    }
}

static inline LB_AESNI __m128i lb_load(const guint8 *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

static inline LB_AESNI void lb_store(guint8 *p, __m128i v)
{
    _mm_storeu_si128((__m128i *)p, v);
}

/* ---- ECB --------------------------------------------------------------- */

static LB_AESNI void lb_aesni_ecb(const LbAesniKey *k, bool enc,
                                  const guint8 *in, guint8 *out, size_t len)
{
    size_t off = 0;

    for (; off + 16 * LB_LANES <= len; off += 16 * LB_LANES) {
        __m128i b[LB_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_LANES; i++) {
            b[i] = lb_load(in + off + 16 * i);
        }
        lb_aes_crypt8(k, enc, b);
#pragma GCC unroll 8
        for (int i = 0; i < LB_LANES; i++) {
            lb_store(out + off + 16 * i, b[i]);
        }
    }
    for (; off < len; off += 16) {
        __m128i b = lb_load(in + off);

        lb_store(out + off, lb_aes_crypt1(k, enc, b));
    }
}

/* ---- XTS --------------------------------------------------------------- */

/* T * x in GF(2^128), little-endian bit order (IEEE 1619 section 5.2):
 * each 64-bit half shifts left by one; the bit leaving the low half enters
 * the high one, the bit leaving the high half folds back as 0x87. */
static inline LB_AESNI __m128i lb_xts_mulx(__m128i t)
{
    const __m128i poly = _mm_set_epi32(0, 1, 0, 0x87);
    /* Sign of dwords 3 and 1 (the halves' top bits) to dwords 0 and 2. */
    __m128i top = _mm_shuffle_epi32(_mm_srai_epi32(t, 31), 0x13);

    return _mm_xor_si128(_mm_add_epi64(t, t), _mm_and_si128(top, poly));
}

/* T * x^8: the value shifted left by one byte; the byte c shifted out is
 * c * x^128 = c * (x^7 + x^2 + x + 1), folded back into the low bits. */
static inline LB_AESNI __m128i lb_xts_mulx8(__m128i t)
{
    __m128i c = _mm_srli_si128(t, 15);
    __m128i fold = _mm_xor_si128(
        _mm_xor_si128(c, _mm_slli_epi64(c, 1)),
        _mm_xor_si128(_mm_slli_epi64(c, 2), _mm_slli_epi64(c, 7)));

    return _mm_xor_si128(_mm_slli_si128(t, 1), fold);
}

/* One data unit (a multiple of 16 bytes) with first tweak @t: lane i of
 * iteration j uses T * x^(8j + i), each lane stepping by x^8 on its own. */
static LB_AESNI void lb_xts_unit(const LbAesniKey *k, bool enc, __m128i t,
                                 const guint8 *in, guint8 *out, size_t len)
{
    __m128i tw[LB_LANES];
    size_t off = 0;

#pragma GCC unroll 8
    for (int i = 0; i < LB_LANES; i++) {
        tw[i] = t;
        t = lb_xts_mulx(t);
    }
    for (; off + 16 * LB_LANES <= len; off += 16 * LB_LANES) {
        __m128i b[LB_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_LANES; i++) {
            if (off) {
                tw[i] = lb_xts_mulx8(tw[i]);
            }
            b[i] = _mm_xor_si128(lb_load(in + off + 16 * i), tw[i]);
        }
        lb_aes_crypt8(k, enc, b);
#pragma GCC unroll 8
        for (int i = 0; i < LB_LANES; i++) {
            lb_store(out + off + 16 * i, _mm_xor_si128(b[i], tw[i]));
        }
    }
    /* A tail of fewer than eight blocks (never for whole sectors). */
    t = off ? lb_xts_mulx8(tw[0]) : tw[0];
    for (; off < len; off += 16) {
        __m128i b = _mm_xor_si128(lb_load(in + off), t);

        b = lb_aes_crypt1(k, enc, b);
        lb_store(out + off, _mm_xor_si128(b, t));
        t = lb_xts_mulx(t);
    }
}

static LB_AESNI void lb_aesni_xts(LbBlockCipher *c, bool enc,
                                  uint64_t iv_sector, unsigned sector_size,
                                  const guint8 *in, guint8 *out, size_t len)
{
    uint64_t step = sector_size / 512;
    size_t units = len / sector_size;
    guint8 ivs[LB_LANES][16];

    for (size_t u = 0; u < units; u += LB_LANES) {
        unsigned n = MIN(LB_LANES, units - u);
        __m128i t[LB_LANES];

        /* First tweaks E_K2(IV) of up to eight sectors together. */
        for (unsigned g = 0; g < LB_LANES; g++) {
            uint64_t sector = iv_sector + (u + g) * step;

            if (c->ivgen.alg == LB_IVGEN_PLAIN64) {
                /* The common case without a call: little-endian sector. */
                t[g] = _mm_cvtsi64_si128((long long)sector);
            } else if (g < n) {
                lb_ivgen_compute(&c->ivgen, sector, sector_size, ivs[g]);
                t[g] = lb_load(ivs[g]);
            } else {
                t[g] = _mm_setzero_si128();
            }
        }
        lb_aes_crypt8(&c->ni_tweak, true, t);
        for (unsigned g = 0; g < n; g++) {
            size_t off = (u + g) * sector_size;

            if (c->vaes512) {
                lb_store(ivs[g], t[g]);
                lb_cipher_vaes512_xts_unit(&c->ni_data, enc, ivs[g], in + off,
                                           out + off, sector_size);
            } else if (c->vaes) {
                lb_store(ivs[g], t[g]);
                lb_cipher_vaes_xts_unit(&c->ni_data, enc, ivs[g], in + off,
                                        out + off, sector_size);
            } else {
                lb_xts_unit(&c->ni_data, enc, t[g], in + off, out + off,
                            sector_size);
            }
        }
    }
}

/* ---- CBC --------------------------------------------------------------- */

/* Decryption: blocks are independent given the ciphertext. */
static LB_AESNI void lb_cbc_dec_unit(const LbAesniKey *k, const guint8 *iv,
                                     const guint8 *in, guint8 *out, size_t len)
{
    __m128i prev = lb_load(iv);
    size_t off = 0;

    for (; off + 16 * LB_LANES <= len; off += 16 * LB_LANES) {
        __m128i ct[LB_LANES];
        __m128i b[LB_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_LANES; i++) {
            ct[i] = lb_load(in + off + 16 * i);
            b[i] = ct[i];
        }
        lb_aes_crypt8(k, false, b);
        lb_store(out + off, _mm_xor_si128(b[0], prev));
#pragma GCC unroll 8
        for (int i = 1; i < LB_LANES; i++) {
            lb_store(out + off + 16 * i, _mm_xor_si128(b[i], ct[i - 1]));
        }
        prev = ct[LB_LANES - 1];
    }
    for (; off < len; off += 16) {
        __m128i ct = lb_load(in + off);

        lb_store(out + off, _mm_xor_si128(lb_aes_crypt1(k, false, ct), prev));
        prev = ct;
    }
}

static LB_AESNI void lb_aesni_cbc_dec(LbBlockCipher *c, uint64_t iv_sector,
                                      unsigned sector_size, const guint8 *in,
                                      guint8 *out, size_t len)
{
    uint64_t step = sector_size / 512;
    guint8 iv[16];

    for (size_t off = 0; off < len; off += sector_size, iv_sector += step) {
        lb_ivgen_compute(&c->ivgen, iv_sector, sector_size, iv);
        if (c->vaes512) {
            lb_cipher_vaes512_cbc_dec_unit(&c->ni_data, iv, in + off, out + off,
                                           sector_size);
        } else {
            lb_cbc_dec_unit(&c->ni_data, iv, in + off, out + off, sector_size);
        }
    }
}

/* Encryption: up to eight sectors side by side (32 with 512-bit VAES),
 * each its own chain; the unused lanes of a short group encrypt zeros
 * that are dropped. */
static LB_AESNI void lb_aesni_cbc_enc(LbBlockCipher *c, uint64_t iv_sector,
                                      unsigned sector_size, const guint8 *in,
                                      guint8 *out, size_t len)
{
    uint64_t step = sector_size / 512;
    size_t units = len / sector_size;
    /* Block j of every sector of a group is read at once: more than about
     * eight lines at one 4 KiB offset thrash an L1 set, so fewer sectors
     * side by side as they grow (32 x 512, 32 x 1024, 16 x 2048 bytes). */
    size_t wide = MIN(LB_CBC_WIDE, LB_CBC_SPAN / sector_size);
    bool vaes = c->vaes512 && wide > LB_LANES;
    size_t per = vaes ? wide : LB_LANES;
    guint8 ivs[LB_CBC_WIDE][16];

    for (size_t u = 0; u < units; u += per) {
        unsigned n = MIN(per, units - u);
        const guint8 *src = in + u * sector_size;
        guint8 *dst = out + u * sector_size;
        __m128i b[LB_LANES];

        for (unsigned g = 0; g < n; g++) {
            lb_ivgen_compute(&c->ivgen, iv_sector + (u + g) * step, sector_size,
                             ivs[g]);
        }
        if (n > 1 && vaes) {
            lb_cipher_vaes512_cbc_enc_group(&c->ni_data, ivs, n, src, dst,
                                            sector_size);
            continue;
        }
        for (unsigned g = 0; g < LB_LANES; g++) {
            b[g] = g < n ? lb_load(ivs[g]) : _mm_setzero_si128();
        }
        if (n == 1) {
            for (size_t off = 0; off < sector_size; off += 16) {
                b[0] = lb_aes_crypt1(&c->ni_data, true,
                                     _mm_xor_si128(b[0], lb_load(src + off)));
                lb_store(dst + off, b[0]);
            }
            continue;
        }
        for (size_t off = 0; off < sector_size; off += 16) {
            for (unsigned g = 0; g < n; g++) {
                const guint8 *p = src + g * sector_size + off;

                b[g] = _mm_xor_si128(b[g], lb_load(p));
            }
            lb_aes_crypt8(&c->ni_data, true, b);
            for (unsigned g = 0; g < n; g++) {
                lb_store(dst + g * sector_size + off, b[g]);
            }
        }
    }
}

/* ---- entry points ------------------------------------------------------ */

bool lb_cipher_aesni_available(void)
{
    return lb_aesni_cpu();
}

int lb_cipher_aesni_run(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                        unsigned sector_size, const guint8 *in, guint8 *out,
                        size_t len)
{
    g_assert(c->aesni && len % sector_size == 0);
    switch (c->chain) {
    case LB_CHAIN_ECB:
        if (c->vaes512) {
            size_t wide = len - len % 512;

            lb_cipher_vaes512_ecb(&c->ni_data, enc, in, out, wide);
            in += wide;
            out += wide;
            len -= wide;
        }
        lb_aesni_ecb(&c->ni_data, enc, in, out, len);
        break;
    case LB_CHAIN_XTS:
        lb_aesni_xts(c, enc, iv_sector, sector_size, in, out, len);
        break;
    case LB_CHAIN_CBC:
        if (enc) {
            lb_aesni_cbc_enc(c, iv_sector, sector_size, in, out, len);
        } else {
            lb_aesni_cbc_dec(c, iv_sector, sector_size, in, out, len);
        }
        break;
    default:
        g_assert_not_reached();
    }
    lb_stack_wipe(LB_AESNI_WIPE);
    return 0;
}

/* Whether this back end and nettle's sector loop agree on @c's keys, over
 * nine 512-byte sectors (a full group of eight and one more). */
static bool lb_aesni_self_check(LbBlockCipher *c)
{
    enum { UNITS = LB_LANES + 1 };
    const uint64_t sector = 0x0123456789abcdefULL;
    g_autofree guint8 *in = g_malloc(3 * UNITS * 512);
    guint8 *ref = in + UNITS * 512;
    guint8 *got = ref + UNITS * 512;
    guint8 iv[LB_CIPHER_MAX_BLOCK];
    bool ok = true;

    for (size_t i = 0; i < UNITS * 512; i++) {
        in[i] = (guint8)(i * 7 + 1);
    }
    for (int enc = 0; enc < 2 && ok; enc++) {
        LbCipherUnitFunc fn = enc ? c->encrypt : c->decrypt;

        for (unsigned u = 0; u < UNITS; u++) {
            lb_ivgen_compute(&c->ivgen, sector + u, 512, iv);
            if (fn(c, iv, in + u * 512, ref + u * 512, 512) < 0) {
                return false;
            }
        }
        lb_cipher_aesni_run(c, enc, sector, 512, in, got, UNITS * 512);
        ok = !memcmp(ref, got, UNITS * 512);
    }
    return ok;
}

bool lb_cipher_aesni_setup(LbBlockCipher *c, const char *cipher,
                           const guint8 *key, size_t keylen)
{
    size_t single = c->chain == LB_CHAIN_XTS ? keylen / 2 : keylen;
    const char *impl = g_getenv("LB_CIPHER_IMPL");

    c->aesni = c->vaes = c->vaes512 = false;
    if (g_ascii_strcasecmp(cipher, "aes") ||
        (c->chain != LB_CHAIN_ECB && c->chain != LB_CHAIN_CBC &&
         c->chain != LB_CHAIN_XTS) ||
        (single != 16 && single != 24 && single != 32) ||
        (c->chain == LB_CHAIN_XTS && keylen != 2 * single) ||
        !g_strcmp0(impl, "nettle") || !lb_aesni_cpu()) {
        return false;
    }
    lb_aesni_expand(&c->ni_data, key, single);
    if (c->chain == LB_CHAIN_XTS) {
        lb_aesni_expand(&c->ni_tweak, key + single, single);
    }
    c->vaes = g_strcmp0(impl, "aesni") && lb_cipher_vaes_available();
    c->vaes512 =
        c->vaes && g_strcmp0(impl, "vaes256") && lb_cipher_vaes512_available();
    c->aesni = true;
    /* The widest path that agrees with nettle. */
    if (c->vaes512 && !lb_aesni_self_check(c)) {
        g_debug("512-bit VAES XTS disagrees with nettle");
        c->vaes512 = false;
    }
    if (c->vaes && !c->vaes512 && !lb_aesni_self_check(c)) {
        g_debug("VAES XTS disagrees with nettle");
        c->vaes = false;
    }
    if (!c->vaes && !lb_aesni_self_check(c)) {
        g_debug("AES-NI disagrees with nettle; using nettle");
        c->aesni = false;
    }
    return c->aesni;
}

#else /* not x86 */

bool lb_cipher_aesni_available(void)
{
    return false;
}

bool lb_cipher_aesni_setup(LbBlockCipher *c, const char *cipher,
                           const guint8 *key, size_t keylen)
{
    c->aesni = c->vaes = c->vaes512 = false;
    return false;
}

int lb_cipher_aesni_run(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                        unsigned sector_size, const guint8 *in, guint8 *out,
                        size_t len)
{
    g_assert_not_reached();
}

#endif
