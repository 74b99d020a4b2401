/*
 * tests/unit/test-crypto-hash.c: hash name parsing and known-answer digests
 * for every hash LUKS headers may name (expected values: FIPS 180/202,
 * RFC 1321/ripemd160/GB/T 32905/ISO 10118-3 "abc" vectors, cross-checked
 * with python3 hashlib or the openssl command line).
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "lb/crypto.h"

typedef struct {
    const char *name;
    const char *abc;   /* digest of "abc" */
    const char *a1000; /* digest of 1000 x 'a' */
} HashCase;

static const HashCase hash_cases[] = {
    {"md5", "900150983cd24fb0d6963f7d28e17f72",
     "cabe45dcc9ae5b66ba86600cca6b8ba8"},
    {"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d",
     "291e9a6c66994949b57ba5e650361e98fc36b1ba"},
    {"sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
     "4e8f0ce90b64661a2b5e84be6d93a7d9b76871062f1814433d04a03d"},
    {"sha256",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"},
    {"sha384",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
     "8086072ba1e7cc2358baeca134c825a7",
     "f54480689c6b0b11d0303285d9a81b21a93bca6ba5a1b4472765dca4da45ee32"
     "8082d469c650cd3b61b16d3266ab8ced"},
    {"sha512",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "67ba5535a46e3f86dbfbed8cbbaf0125c76ed549ff8b0b9e03e0c88cf90fa634"
     "fa7b12b47d77b694de488ace8d9a65967dc96df599727d3292a8d9d447709c97"},
    {"ripemd160", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
     "aa69deee9a8922e92f8105e007f76110f381e9cf"},
    {"sha3-256",
     "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
     "8f3934e6f7a15698fe0f396b95d8c4440929a8fa6eae140171c068b4549fbf81"},
    {"sha3-512",
     "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
     "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0",
     "ac7e95cc95aa7f24aaa95e040ca0c79b39cd9cc84a10abb84ddd8dd5e4b45cf9"
     "6543aaa70d0ef99fbf8d2769639981ee1fd0b0276f4756b9d504d0b7de19b700"},
    {"sm3", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
     "f4bedca973227d45c5b822551d2e762d4cfb0e9af70b241452545727b5fb046f"},
    /* BLAKE2 (crypto/blake2.c): "abc" from RFC 7693 appendices A/B, 1000 x
     * 'a' from Python hashlib. */
    {"blake2b-512",
     "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
     "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
     "d6a69459fe93fc6b9537ed4336e5099e0dcca3e97290a412500ed7a0daffb03d"
     "80cf3650a20e0591f748e10c3c534945ee83d5f2c9722f1a68d98b8c01af23fd"},
    {"blake2s-256",
     "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
     "a4691c2bf852334ece63c024234338fc6c150bdf04fa3f6e0e4c5209b326438d"},
    /* SHA3-224/384 (cryptsetup takes them as LUKS hashes): Python hashlib. */
    {"sha3-224", "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf",
     "2461344b84416db8fe01c2a4966fea019590c231dd5724c1bfc26745"},
    {"sha3-384",
     "ec01498288516fc926459f58e2c6ad8df9b473cb0fc08c2596da7cf0e49be4b2"
     "98d88cea927ac7f539f1edf228376d25",
     "ccf4495ff20b4b33a1cc1917f9f0fe0fcb5e3d08e542cf4d4a90dd950b748e7e"
     "1cc07d2f3b36d62dd240724417cdd81b"},
    /* Whirlpool (crypto/whirlpool.c): ISO/IEC 10118-3 "abc" vector; 1000 x
     * 'a' from `openssl dgst -whirlpool -provider legacy`. */
    {"whirlpool",
     "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c"
     "7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5",
     "fe24b173807796fdac15ebcaf5769f661695601ffeb64490ec0eecd30bd5b2c3"
     "773b36d4edaf3175378b8df114e9496c833ef13606e7ab3d455681e98ecc818f"},
};

static char *to_hex(const guint8 *p, size_t n)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(s, "%02x", p[i]);
    }
    return g_string_free(s, FALSE);
}

static void test_hash_kat(gconstpointer data)
{
    const HashCase *tc = data;
    g_autoptr(GError) err = NULL;
    guint8 out[LB_HASH_MAX_DIGEST];
    g_autofree char *hex1 = NULL;
    g_autofree char *hex2 = NULL;
    g_autofree char *hex3 = NULL;
    char a1000[1000];
    LbHashAlg alg;

    g_assert_true(lb_hash_from_name(tc->name, &alg, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(lb_hash_name(alg), ==, tc->name);
    g_assert_cmpuint(lb_hash_digest_len(alg) * 2, ==, strlen(tc->abc));
    if (!lb_hash_supported(alg)) {
        g_test_skip("hash not supported by the backend");
        return;
    }
    g_assert_true(lb_hash_bytes(alg, "abc", 3, out, &err));
    hex1 = to_hex(out, lb_hash_digest_len(alg));
    g_assert_cmpstr(hex1, ==, tc->abc);

    memset(a1000, 'a', sizeof(a1000));
    g_assert_true(lb_hash_bytes(alg, a1000, sizeof(a1000), out, &err));
    hex2 = to_hex(out, lb_hash_digest_len(alg));
    g_assert_cmpstr(hex2, ==, tc->a1000);

    /* Two-part input gives the digest of the concatenation. */
    g_assert_true(lb_hash_bytes2(alg, a1000, 333, a1000 + 333, 667, out, &err));
    hex3 = to_hex(out, lb_hash_digest_len(alg));
    g_assert_cmpstr(hex3, ==, tc->a1000);
    g_assert_no_error(err);
}

static void test_hash_names(void)
{
    g_autoptr(GError) err = NULL;
    LbHashAlg alg;

    g_assert_true(lb_hash_from_name("SHA256", &alg, NULL));
    g_assert_cmpint(alg, ==, LB_HASH_SHA256);
    g_assert_true(lb_hash_from_name("Sha3-512", &alg, NULL));
    g_assert_cmpint(alg, ==, LB_HASH_SHA3_512);
    g_assert_true(lb_hash_from_name("rmd160", &alg, NULL));
    g_assert_cmpint(alg, ==, LB_HASH_RIPEMD160);
    g_assert_true(lb_hash_from_name("whirlpool", &alg, NULL));
    g_assert_cmpuint(lb_hash_digest_len(alg), ==, 64);
    g_assert_false(lb_hash_from_name("stribog512", &alg, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED);
    g_clear_error(&err);
    g_assert_false(lb_hash_from_name("", &alg, &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED);
    for (unsigned i = 0; i < LB_HASH__MAX; i++) {
        g_assert_true(lb_hash_from_name(lb_hash_name(i), &alg, NULL));
        g_assert_cmpint(alg, ==, i);
        g_assert_cmpuint(lb_hash_digest_len(i), <=, LB_HASH_MAX_DIGEST);
    }
}

static void test_hash_unsupported(void)
{
    g_autoptr(GError) err = NULL;
    guint8 out[LB_HASH_MAX_DIGEST];

    for (unsigned i = 0; i < LB_HASH__MAX; i++) {
        if (lb_hash_supported(i)) {
            continue;
        }
        g_assert_false(lb_hash_bytes(i, "x", 1, out, &err));
        g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED);
        g_clear_error(&err);
    }
    g_assert_true(lb_hash_supported(LB_HASH_SHA256));
    g_assert_true(lb_hash_supported(LB_HASH_SHA1));
    g_assert_true(lb_hash_supported(LB_HASH_SHA512));
    g_assert_true(lb_hash_supported(LB_HASH_WHIRLPOOL));
}

/* Whirlpool's own buffering: every split of a message gives one digest. */
static void test_whirlpool_splits(void)
{
    guint8 msg[300];
    guint8 ref[64];

    for (unsigned i = 0; i < sizeof(msg); i++) {
        msg[i] = i * 7 + 1;
    }
    g_assert_true(
        lb_hash_bytes(LB_HASH_WHIRLPOOL, msg, sizeof(msg), ref, NULL));
    for (size_t cut = 0; cut <= sizeof(msg); cut += 13) {
        guint8 out[64];

        g_assert_true(lb_hash_bytes2(LB_HASH_WHIRLPOOL, msg, cut, msg + cut,
                                     sizeof(msg) - cut, out, NULL));
        g_assert_cmpmem(out, 64, ref, 64);
    }
}

static void test_random(void)
{
    guint8 a[64] = {0};
    guint8 b[64] = {0};
    static const guint8 zero[64];

    g_assert_true(lb_random_bytes(a, sizeof(a), NULL));
    g_assert_true(lb_random_bytes(b, sizeof(b), NULL));
    g_assert_true(lb_random_bytes(b, 0, NULL));
    g_assert_true(memcmp(a, b, sizeof(a)) != 0);
    g_assert_true(memcmp(a, zero, sizeof(a)) != 0);
}

/* BLAKE2 at the block boundaries: empty input, exactly one block (the
 * last block is compressed only at digest time). */
static void test_blake2_edges(void)
{
    static const struct {
        LbHashAlg alg;
        size_t len;
        const char *hex;
    } cases[] = {
        {LB_HASH_BLAKE2B_512, 0,
         "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
         "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"},
        {LB_HASH_BLAKE2B_512, 128,
         "fc6c71f688f43ea7d60817478808f3cac753e61571865c95adbc2d9122c943a7"
         "6b92c2cb1047ef3fe7bf6e436ec1d0a99a9e5b216780bf7fed9d7ca91d3a8f3b"},
        {LB_HASH_BLAKE2S_256, 0,
         "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"},
        {LB_HASH_BLAKE2S_256, 64,
         "651d2f5f20952eacaea2fba2f2af2bcd633e511ea2d2e4c9ae2ac0d9ffb7b252"},
    };
    char a[128];
    guint8 out[LB_HASH_MAX_DIGEST];

    memset(a, 'a', sizeof(a));
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_true(lb_hash_bytes(cases[i].alg, a, cases[i].len, out, NULL));
        g_autofree char *hex = to_hex(out, lb_hash_digest_len(cases[i].alg));
        g_assert_cmpstr(hex, ==, cases[i].hex);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(hash_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/hash/kat/%s", hash_cases[i].name);
        g_test_add_data_func(path, &hash_cases[i], test_hash_kat);
    }
    g_test_add_func("/crypto/hash/names", test_hash_names);
    g_test_add_func("/crypto/hash/unsupported", test_hash_unsupported);
    g_test_add_func("/crypto/hash/whirlpool-splits", test_whirlpool_splits);
    g_test_add_func("/crypto/hash/blake2-edges", test_blake2_edges);
    g_test_add_func("/crypto/random/bytes", test_random);
    return g_test_run();
}
