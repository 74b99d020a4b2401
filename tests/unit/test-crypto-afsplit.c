/*
 * tests/unit/test-crypto-afsplit.c: the LUKS anti-forensic splitter.
 * Fixed vectors: merge of a deterministic stripe buffer, expected keys
 * computed by an independent python3 implementation (hashlib, openssl for
 * whirlpool) of
 * LUKS-FORMAT.md section 1.5.  Round trips: split then merge for several
 * hashes, key sizes (full and partial digest blocks) and stripe counts.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "lb/crypto.h"

typedef struct {
    LbHashAlg hash;
    size_t keylen;
    uint32_t stripes;
    const char *expect; /* merged key, hex; NULL: round trip only */
} AfCase;

static const AfCase af_cases[] = {
    {LB_HASH_SHA256, 64, 4,
     "6d481a989c71f2c4a24b01f4a1fb7875641bc0e66f53b02d4c0c7603944ad9d3"
     "96897f50681a15569f3ac48394ddc0f26ffb0bca67397abac2381b6f91f00cf3"},
    {LB_HASH_SHA1, 32, 3,
     "9beb24899cf6e6de5d5ce56a6935d6b52c7578a5b75e39aa7911ed9619476ba3"},
    {LB_HASH_SHA512, 32, 5,
     "3715416f651c277d7cba33d8eb358aa533f6c60ac2338fdf160064778c3889ca"},
    {LB_HASH_SHA256, 16, 4000, "e45bd9d69af5bac3c58a39f07fa65ac1"},
    {LB_HASH_RIPEMD160, 48, 7,
     "5816368dd4e250d701ccb5c66261a6045a6b0703de65693026c456646fc60dc5"
     "adafd811bd2a9e9e2d9f0c54e8418c73"},
    {LB_HASH_SHA1, 64, 4000,
     "5dbd0e3755f35b188dc08def0b81185d601aa4f95e171c38e16928c13646a034"
     "a9b6d505f8c76acb8fc99e6518027e6f88fd3f2995526acf779cfb7e15e4fa3b"},
    /* Whirlpool: diffusion computed with `openssl dgst -whirlpool`. */
    {LB_HASH_WHIRLPOOL, 64, 4,
     "d41e934e554f310f7db92206d2eac756975d7f2a716d9f87e4f73ffe3f98c31c"
     "6799098d5ced396a5f9d4ee2536a5856c9dad67c83c8df921256698b52f2a2e7"},
    {LB_HASH_WHIRLPOOL, 32, 4000, NULL},
    {LB_HASH_SHA256, 32, 4000, NULL},
    {LB_HASH_SHA512, 64, 4000, NULL},
    {LB_HASH_SHA3_256, 24, 100, NULL},
    {LB_HASH_SM3, 64, 4000, NULL},
    {LB_HASH_SHA384, 16, 1, NULL},
    {LB_HASH_SHA224, 40, 2, NULL},
};

static void fill_material(guint8 *mat, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        mat[i] = ((i * 131 + 17) ^ (i >> 8)) & 0xff;
    }
}

static void test_af_merge_kat(gconstpointer data)
{
    const AfCase *tc = data;
    size_t len = tc->keylen * tc->stripes;
    g_autofree guint8 *mat = g_malloc(len);
    guint8 key[64];
    char hex[129] = "";

    fill_material(mat, len);
    g_assert_true(
        lb_afsplit_decode(tc->hash, tc->keylen, tc->stripes, mat, key, NULL));
    for (size_t i = 0; i < tc->keylen; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", key[i]);
    }
    g_assert_cmpstr(hex, ==, tc->expect);
}

static void test_af_roundtrip(gconstpointer data)
{
    const AfCase *tc = data;
    size_t len = tc->keylen * tc->stripes;
    g_autofree guint8 *mat = g_malloc(len);
    g_autofree guint8 *mat2 = g_malloc(len);
    g_autoptr(GError) err = NULL;
    guint8 key[64];
    guint8 out[64];

    if (!lb_hash_supported(tc->hash)) {
        g_test_skip("hash not supported");
        return;
    }
    g_assert_true(lb_random_bytes(key, tc->keylen, NULL));
    g_assert_true(
        lb_afsplit_encode(tc->hash, tc->keylen, tc->stripes, key, mat, &err));
    g_assert_no_error(err);
    g_assert_true(
        lb_afsplit_decode(tc->hash, tc->keylen, tc->stripes, mat, out, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(out, tc->keylen, key, tc->keylen);

    /* Random stripes: splitting twice gives different material. */
    g_assert_true(
        lb_afsplit_encode(tc->hash, tc->keylen, tc->stripes, key, mat2, NULL));
    if (tc->stripes > 1) {
        g_assert_true(memcmp(mat, mat2, len) != 0);
    }

    /* One flipped bit in any stripe destroys the key. */
    mat[len / 2] ^= 0x01;
    g_assert_true(
        lb_afsplit_decode(tc->hash, tc->keylen, tc->stripes, mat, out, NULL));
    g_assert_true(memcmp(out, key, tc->keylen) != 0);
}

static void test_af_invalid(void)
{
    g_autoptr(GError) err = NULL;
    guint8 key[32] = {0};
    guint8 mat[64];

    g_assert_false(lb_afsplit_encode(LB_HASH_SHA256, 32, 0, key, mat, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(lb_afsplit_decode(LB_HASH_SHA256, 0, 2, mat, key, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(lb_afsplit_decode(LB_HASH__MAX, 32, 2, mat, key, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(af_cases); i++) {
        const AfCase *tc = &af_cases[i];
        g_autofree char *rt =
            g_strdup_printf("/crypto/afsplit/roundtrip/%s-%zu-%u",
                            lb_hash_name(tc->hash), tc->keylen, tc->stripes);

        g_test_add_data_func(rt, tc, test_af_roundtrip);
        if (tc->expect) {
            g_autofree char *kat = g_strdup_printf(
                "/crypto/afsplit/merge/%s-%zu-%u", lb_hash_name(tc->hash),
                tc->keylen, tc->stripes);
            g_test_add_data_func(kat, tc, test_af_merge_kat);
        }
    }
    g_test_add_func("/crypto/afsplit/invalid", test_af_invalid);
    return g_test_run();
}
