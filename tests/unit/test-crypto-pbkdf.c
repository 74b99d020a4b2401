/*
 * tests/unit/test-crypto-pbkdf.c: PBKDF2-HMAC known answers (RFC 6070 for
 * sha1; the other hashes computed with python3 hashlib.pbkdf2_hmac) and the
 * iteration-count benchmark.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include <glib.h>

#include "lb/crypto.h"

typedef struct {
    const char *hash;
    const char *pass;
    size_t passlen;
    const char *salt;
    size_t saltlen;
    uint64_t iters;
    const char *expect; /* hex, length = output length */
} PbkdfCase;

#define S(x) x, sizeof(x) - 1

static const PbkdfCase pbkdf_cases[] = {
    /* RFC 6070 */
    {"sha1", S("password"), S("salt"), 1,
     "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
    {"sha1", S("password"), S("salt"), 2,
     "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
    {"sha1", S("password"), S("salt"), 4096,
     "4b007901b765489abead49d926f721d065a429c1"},
    {"sha1", S("passwordPASSWORDpassword"),
     S("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 4096,
     "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038"},
    {"sha1", S("pass\0word"), S("sa\0lt"), 4096,
     "56fa6aa75548099dcc37d7f03425e0c3"},
    {"sha1", S("password"), S(""), 1,
     "8754c32c64b0f524fc50c00f788135de2d2dd767"},
    /* hashlib */
    {"sha256", S("password"), S("salt"), 1,
     "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
    {"sha256", S("password"), S("salt"), 4096,
     "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
    {"sha256", S("passwordPASSWORDpassword"),
     S("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 4096,
     "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1"
     "c635518c7dac47e9"},
    {"sha512", S("password"), S("salt"), 2,
     "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
     "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e"},
    {"sha512", S(""), S("salt"), 1000,
     "f930bd1aa48d2e83b0202406030ed64b16161c4e252b08d19b54531e72b17dc3"
     "80eba9a8bbc1bcfe1dac08388b2c5c6a054ec4db01e1d9ba382c4aa1f1dc0575"
     "3c3a0f6872f3"},
    {"ripemd160", S("password"), S("salt"), 1000,
     "b5c5682c46fdb315930cfc54e82d0987e6ef938fee9320191bfbac2700de4ed4"
     "518152edc1ea7755"},
    {"sha3-256", S("password"), S("salt"), 100,
     "3662b9455cde6979b1d5d866df806e1fe15954073e07c7c2acf2c80205074e46"},
    {"sm3", S("password"), S("salt"), 1000,
     "e8b635a41dfe5aaab7cf828cff6f3608e22cac59ba16edd70e000b293d00bc91"},
    {"md5", S("password"), S("salt"), 10, "d77d26f3ce166f9dc607a5de3a00718c"},
    {"sha224", S("password"), S("salt"), 10,
     "ae79fcd9e9144f7294b020432b6946b9f290bd544b61885ca8093775"},
    /* openssl kdf -provider legacy ... -kdfopt digest:whirlpool PBKDF2 */
    {"whirlpool", S("password"), S("salt"), 1000,
     "5ad7361484c7dde6b23e573c4b61d1fd16023fd6c0170d0b26d70f7ac8c683f0"
     "6e767804750357b4"},
};

/* Long passphrases (hashed first by HMAC): 200 x 'p' and 129 x 'x'. */
static void test_pbkdf2_long_pass(void)
{
    static const char *sha3_512 =
        "9ada8f9d5f3be889c18bb66f6ee84fcf4341c3a7b23476ce5fa3e3239ba99933"
        "80e75d756ac6f0d28c2cc747e946599573f35d7418e792a5914532f20ed83ad7";
    static const char *sha384 =
        "da6c5d3d8b2d7e91ffce141608e0199df63b9110a6735dbb3e7e23a42b359f9e"
        "d23de45dc8f03e5d7b69d34113f906e2";
    char pass[200];
    guint8 out[64];
    g_autofree char *hex1 = NULL;
    g_autofree char *hex2 = NULL;

    memset(pass, 'p', 200);
    g_assert_true(lb_pbkdf2(LB_HASH_SHA3_512, pass, 200, (const guint8 *)"salt",
                            4, 10, out, 64, NULL));
    hex1 = g_malloc0(129);
    for (int i = 0; i < 64; i++) {
        g_snprintf(hex1 + 2 * i, 3, "%02x", out[i]);
    }
    g_assert_cmpstr(hex1, ==, sha3_512);

    memset(pass, 'x', 129);
    g_assert_true(lb_pbkdf2(LB_HASH_SHA384, pass, 129, (const guint8 *)"salt",
                            4, 10, out, 48, NULL));
    hex2 = g_malloc0(97);
    for (int i = 0; i < 48; i++) {
        g_snprintf(hex2 + 2 * i, 3, "%02x", out[i]);
    }
    g_assert_cmpstr(hex2, ==, sha384);
}

static void test_pbkdf2_kat(gconstpointer data)
{
    const PbkdfCase *tc = data;
    size_t outlen = strlen(tc->expect) / 2;
    g_autofree guint8 *out = g_malloc0(outlen);
    g_autofree char *hex = g_malloc0(outlen * 2 + 1);
    g_autoptr(GError) err = NULL;
    LbHashAlg alg;

    g_assert_true(lb_hash_from_name(tc->hash, &alg, NULL));
    if (!lb_hash_supported(alg)) {
        g_test_skip("hash not supported");
        return;
    }
    g_assert_true(lb_pbkdf2(alg, tc->pass, tc->passlen,
                            (const guint8 *)tc->salt, tc->saltlen, tc->iters,
                            out, outlen, &err));
    g_assert_no_error(err);
    for (size_t i = 0; i < outlen; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", out[i]);
    }
    g_assert_cmpstr(hex, ==, tc->expect);
}

static void test_pbkdf2_invalid(void)
{
    g_autoptr(GError) err = NULL;
    guint8 out[32];

    g_assert_false(lb_pbkdf2(LB_HASH_SHA256, "p", 1, (const guint8 *)"s", 1, 0,
                             out, 32, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(lb_pbkdf2(LB_HASH_SHA256, "p", 1, (const guint8 *)"s", 1,
                             1ull << 40, out, 32, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
    g_clear_error(&err);
    g_assert_false(lb_pbkdf2(LB_HASH_SHA256, "p", 1, (const guint8 *)"s", 1, 1,
                             out, 0, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
}

static gint64 thread_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * G_GINT64_CONSTANT(1000000) + ts.tv_nsec / 1000;
}

static void test_pbkdf2_count_iters(void)
{
    g_autoptr(GError) err = NULL;
    uint64_t it10 = lb_pbkdf2_count_iters(LB_HASH_SHA256, 32, 10, &err);
    uint64_t it40 = lb_pbkdf2_count_iters(LB_HASH_SHA256, 32, 40, &err);
    uint64_t it40x2 = lb_pbkdf2_count_iters(LB_HASH_SHA256, 64, 40, &err);
    gint64 t0;
    gint64 us;
    guint8 out[32];

    g_assert_no_error(err);
    /* Any machine does well over 100 sha256 iterations per ms. */
    g_assert_cmpuint(it10, >=, 1000);
    g_assert_cmpuint(it40, >, it10 * 2);
    /* Two output blocks cost twice as much per iteration. */
    g_assert_cmpuint(it40x2, >=, it40 / 2 - it40 / 8);
    g_assert_cmpuint(it40x2, <=, it40 / 2 + it40 / 8);

    /* The count really takes about the asked (CPU) time; loose bounds. */
    t0 = thread_cpu_us();
    g_assert_true(lb_pbkdf2(LB_HASH_SHA256, "pw", 2, (const guint8 *)"salt", 4,
                            it40, out, sizeof(out), NULL));
    us = thread_cpu_us() - t0;
    g_assert_cmpint(us, >=, 40000 / 4);
    g_assert_cmpint(us, <=, 40000 * 10);

    g_assert_cmpuint(lb_pbkdf2_count_iters(LB_HASH_SHA1, 20, 1, &err), >=, 1);
    g_assert_no_error(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(pbkdf_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/pbkdf2/kat/%s-%u", pbkdf_cases[i].hash, i);
        g_test_add_data_func(path, &pbkdf_cases[i], test_pbkdf2_kat);
    }
    g_test_add_func("/crypto/pbkdf2/long-pass", test_pbkdf2_long_pass);
    g_test_add_func("/crypto/pbkdf2/invalid", test_pbkdf2_invalid);
    g_test_add_func("/crypto/pbkdf2/count-iters", test_pbkdf2_count_iters);
    return g_test_run();
}
