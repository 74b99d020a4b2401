/*
 * tests/unit/test-crypto-ivgen.c: IV bytes of every dm-crypt IV generator
 * for given sector numbers (internal API, crypto/ivgen-priv.h).  The ESSIV
 * values were computed independently with `openssl enc -aes-256-ecb` /
 * `-aes-128-ecb` keyed with the sha256 / md5 of the volume key.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "lb/crypto.h"
#include "crypto/ivgen-priv.h"

typedef struct {
    const char *spec;
    const char *cipher;
    unsigned block;
    size_t keylen; /* key = 00 01 02 ... */
    uint64_t sector;
    const char *iv;       /* hex */
    unsigned sector_size; /* 0 = 512 */
} IvCase;

static const IvCase iv_cases[] = {
    {"plain", "aes", 16, 32, 0, "00000000000000000000000000000000"},
    {"plain", "aes", 16, 32, 0x0102030405ull,
     "05040302000000000000000000000000"},
    {"plain64", "aes", 16, 32, 0x0102030405ull,
     "05040302010000000000000000000000"},
    {"plain64", "aes", 16, 32, 0xfedcba9876543210ull,
     "1032547698badcfe0000000000000000"},
    {"plain64be", "aes", 16, 32, 0x0102030405ull,
     "00000000000000000000000102030405"},
    {"plain64be", "aes", 16, 32, 0xfedcba9876543210ull,
     "0000000000000000fedcba9876543210"},
    {"benbi", "aes", 16, 32, 0, "00000000000000000000000000000001"},
    {"benbi", "aes", 16, 32, 1, "00000000000000000000000000000021"},
    {"benbi", "aes", 16, 32, 0x1000, "00000000000000000000000000020001"},
    {"benbi", "cast5", 8, 16, 1, "0000000000000041"},
    {"null", "aes", 16, 32, 12345, "00000000000000000000000000000000"},
    {"plain64", "cast5", 8, 16, 0x0102030405ull, "0504030201000000"},
    {"plain64be", "cast5", 8, 16, 0x0102030405ull, "0000000102030405"},
    {"essiv:sha256", "aes", 16, 32, 0, "a73d5fb0e4041090ca6dc1b820cdaf51"},
    {"essiv:sha256", "aes", 16, 32, 1, "59a0803f448bdf6d3d3de63feaccd58a"},
    {"essiv:sha256", "aes", 16, 32, 0x123456789abcdef0ull,
     "3b8192d47520808c39777d53a70ced2b"},
    {"essiv:md5", "aes", 16, 32, 0, "85f8ca91a9e16289ca96ca487f8adb94"},
    {"essiv:md5", "aes", 16, 32, 1, "ad15a8550bc2f871bdede0888d21b679"},
    {"essiv:MD5", "aes", 16, 32, 0x123456789abcdef0ull,
     "28bf7dee7e080d9e63520d1522109668"},
    /* XTS: the hash covers both key halves (64 bytes). */
    {"essiv:sha256", "aes", 16, 64, 7, "e58dd5d3564b883a231d9b0c3db7f1ef"},
    {"", "aes", 16, 32, 7, "00000000000000000000000000000000"},
    /* EBOIV: AES keyed with the volume key encrypts le64(sector * sector
     * size); values from `openssl enc -aes-256-ecb` / `-aes-128-ecb`. */
    {"eboiv", "aes", 16, 32, 0, "f29000b62a499fd0a9f39a6add2e7780"},
    {"eboiv", "aes", 16, 32, 5, "1be9d39ddc74cea12f4dcfd46da621eb"},
    {"eboiv", "aes", 16, 32, 0x0102030405ull,
     "79e633ba667c6663b1eb94f09141fed0"},
    {"eboiv", "aes", 16, 32, 8, "ca09024ac6aae3c0eb73418633b81875", 4096},
    {"eboiv", "aes", 16, 16, 5, "cc9192b083c1a876a6ca07e0cb8a9fd2"},
};

static void test_ivgen(gconstpointer data)
{
    const IvCase *tc = data;
    guint8 key[64];
    guint8 iv[16];
    char hex[33] = "";
    LbIvgen g;
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < sizeof(key); i++) {
        key[i] = i;
    }
    g_assert_true(lb_ivgen_init(&g, tc->spec, tc->cipher, tc->block, key,
                                tc->keylen, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(g.iv_len, ==, tc->block);
    memset(iv, 0xee, sizeof(iv));
    lb_ivgen_compute(&g, tc->sector, tc->sector_size ? tc->sector_size : 512,
                     iv);
    for (unsigned i = 0; i < tc->block; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", iv[i]);
    }
    g_assert_cmpstr(hex, ==, tc->iv);
    if (tc->block < sizeof(iv)) {
        g_assert_cmpuint(iv[tc->block], ==, 0xee);
    }
}

typedef struct {
    const char *spec;
    const char *cipher;
    unsigned block;
    int code;
} IvBadCase;

static const IvBadCase iv_bad[] = {
    {"lmk", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"essiv", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"essiv:", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"essiv:nohash", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    /* sha1 digests (20 bytes) and sha512 (64) are no AES key. */
    {"essiv:sha1", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"essiv:sha512", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    /* cast5 takes 16-byte keys only. */
    {"essiv:sha256", "cast5", 8, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"plain64:x", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"plain6", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    {"eboiv:sha256", "aes", 16, LB_CRYPTO_ERROR_UNSUPPORTED},
    /* The 32-byte test key is no cast5 key. */
    {"eboiv", "cast5", 8, LB_CRYPTO_ERROR_UNSUPPORTED},
};

static void test_ivgen_bad(gconstpointer data)
{
    const IvBadCase *tc = data;
    guint8 key[32] = {0};
    LbIvgen g;
    g_autoptr(GError) err = NULL;

    g_assert_false(lb_ivgen_init(&g, tc->spec, tc->cipher, tc->block, key,
                                 sizeof(key), &err));
    g_assert_error(err, LB_CRYPTO_ERROR, tc->code);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(iv_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/ivgen/%s/%s-%u",
                            iv_cases[i].spec[0] ? iv_cases[i].spec : "none",
                            iv_cases[i].cipher, i);
        g_test_add_data_func(path, &iv_cases[i], test_ivgen);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(iv_bad); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/ivgen/bad/%s-%u", iv_bad[i].spec, i);
        g_test_add_data_func(path, &iv_bad[i], test_ivgen_bad);
    }
    return g_test_run();
}
