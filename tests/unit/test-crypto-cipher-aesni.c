/*
 * tests/unit/test-crypto-cipher-aesni.c: the AES-NI and VAES back ends
 * (crypto/cipher-aesni.c, cipher-vaes.c) against the nettle one
 * (crypto/cipher-nettle.c).
 *
 * LB_CIPHER_IMPL in the environment when a cipher is created picks its
 * path: "nettle" keeps nettle even on an AES-NI CPU, "aesni" uses AES-NI
 * without VAES, "vaes256" VAES without AVX-512 (AES-NI for ECB and CBC),
 * unset the fastest (512-bit VAES when the CPU has it); which one a
 * cipher got is asserted through cipher-priv.h.  For every AES key
 * size in ECB, CBC (several IV generators) and XTS (256-, 384- and
 * 512-bit keys, also with equal halves): random keys and data, every
 * sector size 512..4096, runs of 1..17 sectors, zero, random and
 * 32-bit-wrapping IV sectors, in place and out of place, buffers at every
 * misalignment 0..15 mod 16: each fast path must give nettle's ciphertext
 * and decrypt nettle's.  On a CPU without AES-NI every side is nettle and
 * the comparisons still run.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "crypto/cipher-priv.h"
#include "lb/crypto.h"

typedef struct {
    const char *mode;
    size_t keylen;
} AesniCase;

static const AesniCase aesni_cases[] = {
    {"ecb", 16},
    {"ecb", 24},
    {"ecb", 32},
    {"cbc-plain64", 16},
    {"cbc-plain64", 24},
    {"cbc-plain64", 32},
    {"cbc-essiv:sha256", 32},
    {"cbc-plain", 24},
    {"cbc-benbi", 16},
    {"cbc-eboiv", 32},
    {"xts-plain64", 32},
    {"xts-plain64", 48},
    {"xts-plain64", 64},
    {"xts-plain64be", 64},
    {"xts-essiv:sha256", 32},
    {"xts-benbi", 48},
};

/* IV sectors: zero, random, and where plain (32-bit) wraps. */
static uint64_t pick_sector(unsigned round)
{
    switch (round % 4) {
    case 0:
        return 0;
    case 1:
        return 0xffffffffULL - g_test_rand_int_range(0, 64);
    default:
        return g_test_rand_int() | (uint64_t)g_test_rand_int() << 24;
    }
}

/* The paths compared with nettle. */
static const char *const fast_impls[] = {NULL, "vaes256", "aesni"};

static LbBlockCipher *new_cipher(const char *mode, const guint8 *key,
                                 size_t keylen, const char *impl)
{
    bool ni = g_strcmp0(impl, "nettle") && lb_cipher_aesni_available();
    LbBlockCipher *c;

    if (impl) {
        g_setenv("LB_CIPHER_IMPL", impl, TRUE);
    }
    c = lb_block_cipher_new("aes", mode, key, keylen, NULL);
    g_unsetenv("LB_CIPHER_IMPL");
    g_assert_nonnull(c);
    g_assert_true(c->aesni == ni);
    g_assert_true(c->vaes == (ni && g_strcmp0(impl, "aesni") &&
                              lb_cipher_vaes_available()));
    g_assert_true(c->vaes512 ==
                  (c->vaes && !impl && lb_cipher_vaes512_available()));
    return c;
}

static void fill_random(guint8 *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = g_test_rand_int();
    }
}

static void test_aesni_vs_nettle(gconstpointer data)
{
    const AesniCase *tc = data;
    const size_t max = 17 * 4096 + 16;
    g_autofree guint8 *pt_buf = g_malloc(max);
    g_autofree guint8 *ni_buf = g_malloc(max);
    g_autofree guint8 *ne_buf = g_malloc(max);
    g_autofree guint8 *rt_buf = g_malloc(max);
    guint8 key[64];
    unsigned round = 0;

    for (unsigned k = 0; k < 3 * G_N_ELEMENTS(fast_impls); k++) {
        const char *impl = fast_impls[k % G_N_ELEMENTS(fast_impls)];
        g_autoptr(LbBlockCipher) ni = NULL;
        g_autoptr(LbBlockCipher) ne = NULL;

        fill_random(key, tc->keylen);
        if (k / G_N_ELEMENTS(fast_impls) == 2 &&
            g_str_has_prefix(tc->mode, "xts")) {
            /* Equal halves, which the kernel and cryptsetup accept. */
            memcpy(key + tc->keylen / 2, key, tc->keylen / 2);
        }
        ni = new_cipher(tc->mode, key, tc->keylen, impl);
        ne = new_cipher(tc->mode, key, tc->keylen, "nettle");
        for (unsigned ss = 512; ss <= 4096; ss *= 2) {
            for (size_t n = 1; n <= 17; n++, round++) {
                size_t len = n * ss;
                size_t mis = round % 16; /* buffer misalignment */
                bool in_place = round % 2;
                uint64_t sector = pick_sector(round);
                guint8 *pt = pt_buf + mis;
                guint8 *ct = ni_buf + (15 - mis);
                guint8 *ref = ne_buf + mis;
                guint8 *rt = rt_buf + (mis + 7) % 16;

                fill_random(pt, len);
                g_assert_cmpint(
                    lb_block_cipher_encrypt(ne, sector, ss, pt, ref, len), ==,
                    0);
                if (in_place) {
                    memcpy(ct, pt, len);
                }
                g_assert_cmpint(lb_block_cipher_encrypt(ni, sector, ss,
                                                        in_place ? ct : pt, ct,
                                                        len),
                                ==, 0);
                g_assert_cmpmem(ct, len, ref, len);
                /* Each decrypts the other's ciphertext. */
                g_assert_cmpint(
                    lb_block_cipher_decrypt(ni, sector, ss, ref, rt, len), ==,
                    0);
                g_assert_cmpmem(rt, len, pt, len);
                g_assert_cmpint(
                    lb_block_cipher_decrypt(ne, sector, ss, ct, ct, len), ==,
                    0);
                g_assert_cmpmem(ct, len, pt, len);
                if (in_place) {
                    g_assert_cmpint(
                        lb_block_cipher_decrypt(ni, sector, ss, ref, ref, len),
                        ==, 0);
                    g_assert_cmpmem(ref, len, pt, len);
                }
            }
        }
    }
}

/* The environment switch selects the path (new_cipher() asserts which one
 * each cipher got); other ciphers and chains never take AES-NI. */
static void test_aesni_selection(void)
{
    guint8 key[64] = {1, 2, 3};
    g_autoptr(LbBlockCipher) ctr = NULL;
    g_autoptr(LbBlockCipher) serpent = NULL;

    g_autoptr(LbBlockCipher) best = new_cipher("xts-plain64", key, 64, NULL);
    g_autoptr(LbBlockCipher) v256 =
        new_cipher("xts-plain64", key, 64, "vaes256");
    g_autoptr(LbBlockCipher) ni = new_cipher("xts-plain64", key, 64, "aesni");
    g_autoptr(LbBlockCipher) ne = new_cipher("xts-plain64", key, 64, "nettle");
    g_autoptr(LbBlockCipher) cbc = new_cipher("cbc-plain64", key, 32, NULL);

    ctr = lb_block_cipher_new("aes", "ctr-plain64", key, 16, NULL);
    serpent = lb_block_cipher_new("serpent", "xts-plain64", key, 64, NULL);
    g_assert_nonnull(ctr);
    g_assert_nonnull(serpent);
    g_assert_false(ctr->aesni);
    g_assert_false(serpent->aesni);
    if (!lb_cipher_aesni_available()) {
        g_test_message("no AES-NI on this CPU: nettle on both sides");
    } else if (!lb_cipher_vaes_available()) {
        g_test_message("no VAES on this CPU: XTS compared with AES-NI only");
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_unsetenv("LB_CIPHER_IMPL");
    for (unsigned i = 0; i < G_N_ELEMENTS(aesni_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/cipher-aesni/vs-nettle/%s-%zu",
                            aesni_cases[i].mode, aesni_cases[i].keylen * 8);
        g_test_add_data_func(path, &aesni_cases[i], test_aesni_vs_nettle);
    }
    g_test_add_func("/crypto/cipher-aesni/selection", test_aesni_selection);
    return g_test_run();
}
