/*
 * crypto/cipher-vaes.c: one XTS data unit with the VAES instructions, for
 * cipher-aesni.c on CPUs that have them (with AVX2).
 *
 * A 256-bit VAES instruction runs one AES round on two blocks, and such
 * CPUs issue as many 256-bit rounds per cycle as 128-bit ones, so eight
 * ymm registers keep sixteen blocks in flight: twice the AES-NI path.
 * Register i holds the tweaks of blocks 2i and 2i+1 of each 256-byte
 * step; every step multiplies each 128-bit half by x^16, so the eight
 * registers advance independently.  The round keys are read from the
 * LbAesniKey in the cipher's locked memory and broadcast to both halves
 * of a register; the caller (lb_cipher_aesni_run) wipes the stack.
 *
 * With AVX-512 (F and BW) and VPCLMULQDQ the same runs on zmm registers:
 * four blocks per instruction, 32 per step (one 512-byte sector), and 32
 * vector registers so that the eight tweak registers are not spilled. The
 * first tweaks come from T by independent multiplications by x^k (k =
 * 0..31, one per block) instead of a chain, and each step multiplies by
 * x^32 (a byte shift and one carry-less multiplication). ECB and CBC
 * decryption (whose blocks are independent too) use the same 32-block round
 * sequence; CBC encryption runs up to 32 sectors side by side.
 */
#include "config.h"
#include "crypto/cipher-priv.h"

#include <glib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

#define LB_VAES __attribute__((target("vaes,avx2,aes,sse4.1")))
#define LB_YMM_LANES 8

/*
 * Feature detection by cpuid (not __builtin_cpu_supports, whose feature
 * names differ between compilers): leaf 1 for AES-NI and OSXSAVE, leaf 7
 * for AVX2, AVX-512F/BW, VAES and VPCLMULQDQ, and XGETBV for the OS
 * saving the ymm (XCR0 bits 1-2) and zmm (bits 5-7) state.
 */
enum {
    LB_X86_VAES = 1,    /* VAES, AVX2, AES-NI, ymm state */
    LB_X86_VAES512 = 2, /* ... and AVX-512F/BW, VPCLMULQDQ, zmm state */
};

static unsigned lb_x86_probe(void)
{
    unsigned a, b, c, d, c1, xcr0_lo, xcr0_hi;
    unsigned out = 0;

    if (!__get_cpuid(1, &a, &b, &c1, &d) || !(c1 & bit_AES) ||
        !(c1 & bit_OSXSAVE) || __get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) == 0x6 && (b & bit_AVX2) && (c & bit_VAES)) {
        out |= LB_X86_VAES;
        if ((xcr0_lo & 0xe0) == 0xe0 && (b & bit_AVX512F) &&
            (b & bit_AVX512BW) && (c & bit_VPCLMULQDQ)) {
            out |= LB_X86_VAES512;
        }
    }
    return out;
}

static unsigned lb_x86_features(void)
{
    static int cached = -1;

    if (cached < 0) {
        cached = (int)lb_x86_probe();
    }
    return (unsigned)cached;
}

bool lb_cipher_vaes512_available(void)
{
    return lb_x86_features() & LB_X86_VAES512;
}

bool lb_cipher_vaes_available(void)
{
    return lb_x86_features() & LB_X86_VAES;
}

/* Both halves times x (IEEE 1619 little-endian order): each 64-bit word
 * shifts left, the low word's top bit carries into the high word, the high
 * word's top bit folds back as 0x87. */
static inline LB_VAES __m256i lb_ymm_mulx(__m256i t)
{
    const __m256i poly = _mm256_set_epi32(0, 1, 0, 0x87, 0, 1, 0, 0x87);
    __m256i top = _mm256_shuffle_epi32(_mm256_srai_epi32(t, 31), 0x13);

    return _mm256_xor_si256(_mm256_add_epi64(t, t),
                            _mm256_and_si256(top, poly));
}

/* Both halves times x^16: a two-byte shift of each 128-bit half, the 16
 * bits c shifted out folded back as c * (x^7 + x^2 + x + 1). */
static inline LB_VAES __m256i lb_ymm_mulx16(__m256i t)
{
    __m256i c = _mm256_bsrli_epi128(t, 14);
    __m256i fold = _mm256_xor_si256(
        _mm256_xor_si256(c, _mm256_slli_epi64(c, 1)),
        _mm256_xor_si256(_mm256_slli_epi64(c, 2), _mm256_slli_epi64(c, 7)));

    return _mm256_xor_si256(_mm256_bslli_epi128(t, 2), fold);
}

static inline LB_VAES __m256i lb_ymm_key(const guint32 *rk, unsigned r)
{
    return _mm256_broadcastsi128_si256(
        _mm_load_si128((const __m128i *)(rk + 4 * r)));
}

LB_VAES void lb_cipher_vaes_xts_unit(const LbAesniKey *k, bool enc,
                                     const guint8 *t0, const guint8 *in,
                                     guint8 *out, size_t len)
{
    const guint32 *rk = enc ? k->enc : k->dec;
    unsigned rounds = k->rounds;
    __m128i t = _mm_loadu_si128((const __m128i *)t0);
    __m256i tw[LB_YMM_LANES];
    /* (T, T * x), then each next pair two steps on. */
    __m256i pair = _mm256_set_m128i(
        _mm256_castsi256_si128(lb_ymm_mulx(_mm256_castsi128_si256(t))), t);

    g_assert(len % (32 * LB_YMM_LANES) == 0);
#pragma GCC unroll 8
    for (int i = 0; i < LB_YMM_LANES; i++) {
        tw[i] = pair;
        pair = lb_ymm_mulx(lb_ymm_mulx(pair));
    }
    for (size_t off = 0; off < len; off += 32 * LB_YMM_LANES) {
        __m256i b[LB_YMM_LANES];
        __m256i key = lb_ymm_key(rk, 0);

#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            if (off) {
                tw[i] = lb_ymm_mulx16(tw[i]);
            }
            b[i] = _mm256_xor_si256(
                _mm256_loadu_si256((const __m256i *)(in + off + 32 * i)),
                _mm256_xor_si256(tw[i], key));
        }
        for (unsigned r = 1; r < rounds; r++) {
            key = lb_ymm_key(rk, r);
            if (enc) {
#pragma GCC unroll 8
                for (int i = 0; i < LB_YMM_LANES; i++) {
                    b[i] = _mm256_aesenc_epi128(b[i], key);
                }
            } else {
#pragma GCC unroll 8
                for (int i = 0; i < LB_YMM_LANES; i++) {
                    b[i] = _mm256_aesdec_epi128(b[i], key);
                }
            }
        }
        key = lb_ymm_key(rk, rounds);
#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            b[i] = enc ? _mm256_aesenclast_epi128(b[i], key)
                       : _mm256_aesdeclast_epi128(b[i], key);
            _mm256_storeu_si256((__m256i *)(out + off + 32 * i),
                                _mm256_xor_si256(b[i], tw[i]));
        }
    }
    _mm256_zeroupper();
}

/* ---- 512-bit registers ------------------------------------------------ */

#define LB_VAES512                                                             \
    __attribute__((target("vaes,vpclmulqdq,avx512f,avx512bw,avx2,aes")))

/*
 * Each 128-bit tweak times x^k, k given per 64-bit word (the same in both
 * words of a tweak, 0 <= k <= 32): both words shift left by k, the top k
 * bits of the low word move into the high word, and the top k bits c of
 * the high word fold back as the carry-less product c * 0x87.
 */
static inline LB_VAES512 __m512i lb_zmm_mulxk(__m512i t, __m512i k)
{
    const __m512i poly = _mm512_set1_epi64(0x87);
    __m512i out =
        _mm512_srlv_epi64(t, _mm512_sub_epi64(_mm512_set1_epi64(64), k));

    return _mm512_xor_si512(
        _mm512_xor_si512(_mm512_sllv_epi64(t, k), _mm512_bslli_epi128(out, 8)),
        _mm512_clmulepi64_epi128(out, poly, 0x01));
}

/* Each tweak times x^32 (one step): a four-byte shift, the 32 bits c
 * shifted out folded back as the carry-less product c * 0x87. */
static inline LB_VAES512 __m512i lb_zmm_mulx32(__m512i t)
{
    const __m512i poly = _mm512_set1_epi64(0x87);
    __m512i c = _mm512_bsrli_epi128(t, 12);

    return _mm512_xor_si512(_mm512_bslli_epi128(t, 4),
                            _mm512_clmulepi64_epi128(c, poly, 0x00));
}

static inline LB_VAES512 __m512i lb_zmm_key(const guint32 *rk, unsigned r)
{
    return _mm512_broadcast_i32x4(
        _mm_load_si128((const __m128i *)(rk + 4 * r)));
}

/* Encrypt (@enc) or decrypt the blocks of the @regs registers @b (at
 * most 8; a constant where inlined), one round of all in turn. */
static inline LB_VAES512 void lb_zmm_crypt(const LbAesniKey *k, bool enc,
                                           __m512i *b, int regs)
{
    const guint32 *rk = enc ? k->enc : k->dec;
    __m512i key = lb_zmm_key(rk, 0);

#pragma GCC unroll 8
    for (int i = 0; i < regs; i++) {
        b[i] = _mm512_xor_si512(b[i], key);
    }
    for (unsigned r = 1; r < k->rounds; r++) {
        key = lb_zmm_key(rk, r);
        if (enc) {
#pragma GCC unroll 8
            for (int i = 0; i < regs; i++) {
                b[i] = _mm512_aesenc_epi128(b[i], key);
            }
        } else {
#pragma GCC unroll 8
            for (int i = 0; i < regs; i++) {
                b[i] = _mm512_aesdec_epi128(b[i], key);
            }
        }
    }
    key = lb_zmm_key(rk, k->rounds);
#pragma GCC unroll 8
    for (int i = 0; i < regs; i++) {
        b[i] = enc ? _mm512_aesenclast_epi128(b[i], key)
                   : _mm512_aesdeclast_epi128(b[i], key);
    }
}

static LB_VAES512 void lb_vaes512_xts_unit(const LbAesniKey *k, bool enc,
                                           const guint8 *t0, const guint8 *in,
                                           guint8 *out, size_t len)
{
    __m512i t = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)t0));
    /* Block j of a step (register j / 4, lane j % 4) uses T * x^j. */
    __m512i lane_k = _mm512_set_epi64(3, 3, 2, 2, 1, 1, 0, 0);
    __m512i tw[LB_YMM_LANES];

#pragma GCC unroll 8
    for (int i = 0; i < LB_YMM_LANES; i++) {
        tw[i] =
            lb_zmm_mulxk(t, _mm512_add_epi64(lane_k, _mm512_set1_epi64(4 * i)));
    }
    for (size_t off = 0; off < len; off += 64 * LB_YMM_LANES) {
        __m512i b[LB_YMM_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            if (off) {
                tw[i] = lb_zmm_mulx32(tw[i]);
            }
            b[i] =
                _mm512_xor_si512(_mm512_loadu_si512(in + off + 64 * i), tw[i]);
        }
        lb_zmm_crypt(k, enc, b, LB_YMM_LANES);
#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            _mm512_storeu_si512(out + off + 64 * i,
                                _mm512_xor_si512(b[i], tw[i]));
        }
    }
    _mm256_zeroupper();
}

void lb_cipher_vaes512_xts_unit(const LbAesniKey *k, bool enc, const guint8 *t0,
                                const guint8 *in, guint8 *out, size_t len)
{
    g_assert(len % (64 * LB_YMM_LANES) == 0);
    lb_vaes512_xts_unit(k, enc, t0, in, out, len);
}

LB_VAES512 void lb_cipher_vaes512_ecb(const LbAesniKey *k, bool enc,
                                      const guint8 *in, guint8 *out, size_t len)
{
    g_assert(len % (64 * LB_YMM_LANES) == 0);
    for (size_t off = 0; off < len; off += 64 * LB_YMM_LANES) {
        __m512i b[LB_YMM_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            b[i] = _mm512_loadu_si512(in + off + 64 * i);
        }
        lb_zmm_crypt(k, enc, b, LB_YMM_LANES);
#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            _mm512_storeu_si512(out + off + 64 * i, b[i]);
        }
    }
    _mm256_zeroupper();
}

/*
 * CBC decryption, 32 blocks a step: plaintext j = D(C_j) ^ C_(j-1).  The
 * previous blocks of register i are its own first three and the last one
 * of register i - 1 (valignq); across steps the last ciphertext register
 * is kept, so in == out works (every load of a step comes before its
 * stores).
 */
LB_VAES512 void lb_cipher_vaes512_cbc_dec_unit(const LbAesniKey *k,
                                               const guint8 *iv,
                                               const guint8 *in, guint8 *out,
                                               size_t len)
{
    /* Only the top block (lane 3) of @prev is used. */
    __m512i prev = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)iv));

    g_assert(len % (64 * LB_YMM_LANES) == 0);
    for (size_t off = 0; off < len; off += 64 * LB_YMM_LANES) {
        __m512i ct[LB_YMM_LANES];
        __m512i b[LB_YMM_LANES];

#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            ct[i] = _mm512_loadu_si512(in + off + 64 * i);
            b[i] = ct[i];
        }
        lb_zmm_crypt(k, false, b, LB_YMM_LANES);
#pragma GCC unroll 8
        for (int i = 0; i < LB_YMM_LANES; i++) {
            __m512i chain = _mm512_alignr_epi64(ct[i], i ? ct[i - 1] : prev, 6);

            _mm512_storeu_si512(out + off + 64 * i,
                                _mm512_xor_si512(b[i], chain));
        }
        prev = ct[LB_YMM_LANES - 1];
    }
    _mm256_zeroupper();
}

/*
 * CBC encryption is serial inside a sector, so sectors go side by side:
 * sector g of a group is 128-bit lane g % 4 of register g / 4, and each
 * step encrypts block j of every sector (4 registers for up to 16
 * sectors, 8 for up to 32: enough chains to cover the AES latency).
 * Lanes past @n encrypt zeros that are dropped.
 */
static inline LB_VAES512 __m512i lb_zmm_insert(__m512i v, __m128i x,
                                               unsigned lane)
{
    switch (lane) {
    case 0:
        return _mm512_inserti32x4(v, x, 0);
    case 1:
        return _mm512_inserti32x4(v, x, 1);
    case 2:
        return _mm512_inserti32x4(v, x, 2);
    default:
        return _mm512_inserti32x4(v, x, 3);
    }
}

static inline LB_VAES512 __m128i lb_zmm_extract(__m512i v, unsigned lane)
{
    switch (lane) {
    case 0:
        return _mm512_extracti32x4_epi32(v, 0);
    case 1:
        return _mm512_extracti32x4_epi32(v, 1);
    case 2:
        return _mm512_extracti32x4_epi32(v, 2);
    default:
        return _mm512_extracti32x4_epi32(v, 3);
    }
}

/* Block @off of each of the @n sectors (@unit bytes apart), as lanes. */
static inline LB_VAES512 __m512i lb_zmm_gather(const guint8 *p, int r,
                                               unsigned n, size_t unit)
{
    __m512i v = _mm512_setzero_si512();

#pragma GCC unroll 4
    for (unsigned l = 0; l < 4; l++) {
        if (4 * r + l < n) {
            v = lb_zmm_insert(
                v, _mm_loadu_si128((const __m128i *)(p + (4 * r + l) * unit)),
                l);
        }
    }
    return v;
}

static inline LB_VAES512 void lb_zmm_cbc_enc(const LbAesniKey *k, __m512i *b,
                                             int regs, unsigned n,
                                             const guint8 *in, guint8 *out,
                                             size_t unit)
{
    for (size_t off = 0; off < unit; off += 16) {
#pragma GCC unroll 8
        for (int r = 0; r < regs; r++) {
            b[r] = _mm512_xor_si512(b[r], lb_zmm_gather(in + off, r, n, unit));
        }
        lb_zmm_crypt(k, true, b, regs);
#pragma GCC unroll 8
        for (int r = 0; r < regs; r++) {
#pragma GCC unroll 4
            for (unsigned l = 0; l < 4; l++) {
                if (4 * r + l < n) {
                    _mm_storeu_si128(
                        (__m128i *)(out + (4 * r + l) * unit + off),
                        lb_zmm_extract(b[r], l));
                }
            }
        }
    }
}

LB_VAES512 void lb_cipher_vaes512_cbc_enc_group(const LbAesniKey *k,
                                                const guint8 (*ivs)[16],
                                                unsigned n, const guint8 *in,
                                                guint8 *out, size_t unit)
{
    __m512i b[LB_YMM_LANES];

    g_assert(n >= 1 && n <= 4 * LB_YMM_LANES);
#pragma GCC unroll 8
    for (int r = 0; r < LB_YMM_LANES; r++) {
        b[r] = lb_zmm_gather(ivs[0], r, n, 16);
    }
    if (n > 16) {
        lb_zmm_cbc_enc(k, b, LB_YMM_LANES, n, in, out, unit);
    } else {
        lb_zmm_cbc_enc(k, b, LB_YMM_LANES / 2, n, in, out, unit);
    }
    _mm256_zeroupper();
}

#else /* not x86 */

bool lb_cipher_vaes512_available(void)
{
    return false;
}

void lb_cipher_vaes512_ecb(const LbAesniKey *k, bool enc, const guint8 *in,
                           guint8 *out, size_t len)
{
    g_assert_not_reached();
}

void lb_cipher_vaes512_cbc_dec_unit(const LbAesniKey *k, const guint8 *iv,
                                    const guint8 *in, guint8 *out, size_t len)
{
    g_assert_not_reached();
}

void lb_cipher_vaes512_cbc_enc_group(const LbAesniKey *k,
                                     const guint8 (*ivs)[16], unsigned n,
                                     const guint8 *in, guint8 *out, size_t unit)
{
    g_assert_not_reached();
}

void lb_cipher_vaes512_xts_unit(const LbAesniKey *k, bool enc, const guint8 *t0,
                                const guint8 *in, guint8 *out, size_t len)
{
    g_assert_not_reached();
}

bool lb_cipher_vaes_available(void)
{
    return false;
}

void lb_cipher_vaes_xts_unit(const LbAesniKey *k, bool enc, const guint8 *t0,
                             const guint8 *in, guint8 *out, size_t len)
{
    g_assert_not_reached();
}

#endif
