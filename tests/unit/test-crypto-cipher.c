/*
 * tests/unit/test-crypto-cipher.c: LbBlockCipher (dm-crypt sector ciphers).
 *
 *  - known answers: IEEE 1619 XTS-AES vectors 1, 4 and 10 (first 32 bytes
 *    from the standard) and AES in every chain mode and IV generator; the
 *    full ciphertexts were derived independently with the openssl command
 *    line by gen-cipher-vectors.py (first 32 bytes + sha256 of the whole);
 *  - round trips for every cipher x key size x chain x ivgen x sector size,
 *    in place and out of place, and IV stepping across units;
 *  - spec, key size and length validation.
 * The AES-NI and VAES paths are compared with nettle in
 * test-crypto-cipher-aesni.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "lb/crypto.h"

typedef struct {
    const char *name;
    const char *cipher;
    const char *mode;
    const char *key; /* hex */
    uint64_t sector;
    unsigned sector_size;
    size_t len;
    bool zero_pt;          /* plaintext zeros, else byte i = i & 0xff */
    const char *ct_head;   /* first 32 ciphertext bytes, hex */
    const char *ct_sha256; /* sha256 of the whole ciphertext, hex */
} KatCase;

static const KatCase kat_cases[] = {
    {"ieee1619-v1", "aes", "xts-plain64",
     "0000000000000000000000000000000000000000000000000000000000000000", 0x0,
     512, 512, true,
     "917cf69ebd68b2ec9b9fe9a3eadda692cd43d2f59598ed858c02c2652fbf922e",
     "eed5ec199dfc7d09e90bd0f5b97569515294cd084107d2d5c2596ab43e6c1aaf"},
    {"ieee1619-v4", "aes", "xts-plain64",
     "2718281828459045235360287471352631415926535897932384626433832795", 0x0,
     512, 512, false,
     "27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c",
     "ebee4d64dd2395bb2d6a2d37a0a48ecb2bf4913cfc99d27c2214f2f4144715ea"},
    {"ieee1619-v10", "aes", "xts-plain64",
     "2718281828459045235360287471352662497757247093699959574966967627"
     "3141592653589793238462643383279502884197169399375105820974944592",
     0xff, 512, 512, false,
     "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b",
     "e97e974fa393af794f7a4684395814cf820de60a01eaec677d87b452e316b364"},
    {"xts256-4k", "aes", "xts-plain64",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
     0x3e8, 4096, 8192, false,
     "e56b35de243547237ddf8b0861dd6a3ea564613c68db4b5f487ced69e373f345",
     "5c33092f7ca606d63883bada084ed2f0a1f1df26e8225037d4f882bc2671a8af"},
    {"xts128-be", "aes", "xts-plain64be",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     0x10203, 512, 1024, false,
     "6f9997b5aa17e4c9055e87f370090c22456ba326c9fb0d8f37dd6f5ffb136d4f",
     "17a6d873eb5b4190c6a0761e6dfeee19d3f32e409a150ace41a5a5788331c07b"},
    {"xts128-benbi", "aes", "xts-benbi",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0x3,
     1024, 2048, false,
     "e7ef341bd360fb1d117001fb94d68b13535eaacf5ce00204971001679fe456e3",
     "44eaf84a2f50c7255c474b2c78a6bc237f9f7d726a663373673386bada80ddf5"},
    {"xts256-essiv", "aes", "xts-essiv:sha256",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
     0x9, 4096, 4096, false,
     "aa792b3801e4f184d17f09991327ec977cf4050713dc72573a74379fac1eebfd",
     "2bdd3f5fd54dc5e045e099060e97c63efaaa637b9aed0462e4f952e2fab31eed"},
    {"cbc128-essiv", "aes", "cbc-essiv:sha256",
     "000102030405060708090a0b0c0d0e0f", 0x5, 512, 1024, false,
     "33f8447dbf9412be02c63f77ecb81d3e2ae704305be44a51136eb5a093eda055",
     "e0bab41bdd3ccc265287a388c97d20c307cbe2f26e0c0d100fab503c9a4067fe"},
    {"cbc256-plain64", "aes", "cbc-plain64",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     0x200000001, 512, 1024, false,
     "1f08db4efd053f17a235fe26a5fe084cce8efe798ef62dc42b64e89e055d3cc9",
     "62b01fd24c3ee753d1318cbbba8594aaf137cc45cf1a001a86ffd369a31e7fbb"},
    {"cbc192-plain", "aes", "cbc-plain",
     "000102030405060708090a0b0c0d0e0f1011121314151617", 0x100000003, 512, 1024,
     false, "52bb6542a01f7f8a56dbf99abd2783a94aa4ef20a5e740982439226b94811370",
     "c537099544c51c4507c3378db1c3702fd9732ce544813467d36494d795c7d2d9"},
    {"cbc256-null", "aes", "cbc-null",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0x8,
     2048, 4096, false,
     "5a6e045708fb7196f02e553d02c3a692c77147ebd5121de8d0fae7762423b6bf",
     "d9987d4df75d4443e63793a24414375a81c44be2b60956e88e4d71c3c296c7c0"},
    {"xts192", "aes", "xts-plain64",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f",
     0x1, 512, 1024, false,
     "093942a358bc16a669265ef0fa64d25467ba0edcc5141a7db56cab67d2ed7ccf",
     "5ff8c0b23247df199029a377b0ca1a0465345d4f5c6878411fdf6c9f2903d403"},
    {"ecb256", "aes", "ecb",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0x0,
     512, 1024, false,
     "5a6e045708fb7196f02e553d02c3a692e9c3ef8ab23453e6f0749cd636e7a88e",
     "c3491512c716bd9e3863a2d6c9ef1cd090ed88037c3cbcef9df61d29d48ee5fc"},
    {"ctr128-plain64", "aes", "ctr-plain64", "000102030405060708090a0b0c0d0e0f",
     0x4d, 512, 1024, false,
     "f75e3f74546b4724b6a07b4e11335cd87e2a2a19fddd66239922b1817c3ce5b5",
     "288e1252ef00878c5c34e575f2b6b87598ad5a509421ad4ff309a23ab984637e"},
    {"camellia256-xts", "camellia", "xts-plain64",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
     0x5, 512, 1024, false,
     "b275164be0e8a18c21b127e9058f385eed1355b3c31460f26c4485544abcb60c",
     "86e8f8545761b0eadaf4752313104792120cfe10081a5d1fb45ecc97a3eb09d6"},
    {"camellia128-cbc", "camellia", "cbc-plain64",
     "000102030405060708090a0b0c0d0e0f", 0x6, 512, 1024, false,
     "30fdf6dafe83252ff5651b10837a1b9ea9f84c622a632a81456e4d65fa8db721",
     "85eb69e7fc881c6ad6d6b78dc857730e29a0bb8e2de27e3da593e9426603f2bc"},
};

static guint8 *from_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    guint8 *out = g_malloc(n ? n : 1);

    for (size_t i = 0; i < n; i++) {
        out[i] = g_ascii_xdigit_value(hex[2 * i]) << 4 |
                 g_ascii_xdigit_value(hex[2 * i + 1]);
    }
    *len = n;
    return out;
}

static char *to_hex(const guint8 *p, size_t n)
{
    char *s = g_malloc(2 * n + 1);

    for (size_t i = 0; i < n; i++) {
        g_snprintf(s + 2 * i, 3, "%02x", p[i]);
    }
    s[2 * n] = 0;
    return s;
}

static void test_cipher_kat(gconstpointer data)
{
    const KatCase *tc = data;
    size_t keylen;
    g_autofree guint8 *key = from_hex(tc->key, &keylen);
    g_autofree guint8 *pt = g_malloc(tc->len);
    g_autofree guint8 *ct = g_malloc(tc->len);
    g_autofree char *head = NULL;
    g_autofree char *sum = NULL;
    g_autoptr(LbBlockCipher) c = NULL;
    g_autoptr(GError) err = NULL;
    guint8 digest[32];

    for (size_t i = 0; i < tc->len; i++) {
        pt[i] = tc->zero_pt ? 0 : i & 0xff;
    }
    c = lb_block_cipher_new(tc->cipher, tc->mode, key, keylen, &err);
    g_assert_no_error(err);
    g_assert_nonnull(c);
    g_assert_cmpint(lb_block_cipher_encrypt(c, tc->sector, tc->sector_size, pt,
                                            ct, tc->len),
                    ==, 0);
    head = to_hex(ct, 32);
    g_assert_cmpstr(head, ==, tc->ct_head);
    g_assert_true(lb_hash_bytes(LB_HASH_SHA256, ct, tc->len, digest, NULL));
    sum = to_hex(digest, sizeof(digest));
    g_assert_cmpstr(sum, ==, tc->ct_sha256);

    /* Decrypt in place. */
    g_assert_cmpint(lb_block_cipher_decrypt(c, tc->sector, tc->sector_size, ct,
                                            ct, tc->len),
                    ==, 0);
    g_assert_cmpmem(ct, tc->len, pt, tc->len);
}

/*
 * Block-level known answers for the nettle ciphers, through ECB (every
 * block of a 512-byte sector repeats the vector): Serpent NESSIE set 1
 * vector 0 and the Linux kernel's serpent vectors (which prove nettle and
 * dm-crypt agree on Serpent's byte order), the Twofish paper's first
 * vector, RFC 2144's CAST5-128 vector and RFC 3713's Camellia-128 one.
 */
typedef struct {
    const char *cipher;
    const char *key;
    const char *pt;
    const char *ct;
} BlockCase;

static const BlockCase block_cases[] = {
    {"serpent", "80000000000000000000000000000000",
     "00000000000000000000000000000000", "264e5481eff42a4606abda06c0bfda3d"},
    {"serpent", "000102030405060708090a0b0c0d0e0f",
     "000102030405060708090a0b0c0d0e0f", "4c7d8a328072a22c823e4a1f3acda16d"},
    {"serpent",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "000102030405060708090a0b0c0d0e0f", "de269ff833e432b85b2e88d2701ce75c"},
    {"twofish", "00000000000000000000000000000000",
     "00000000000000000000000000000000", "9f589f5cf6122c32b6bfec2f2ae8c35a"},
    {"cast5", "0123456712345678234567893456789a", "0123456789abcdef",
     "238b4fe5847e44b2"},
    {"aes", "000102030405060708090a0b0c0d0e0f",
     "00112233445566778899aabbccddeeff", "69c4e0d86a7b0430d8cdb78070b4c55a"},
    {"camellia", "0123456789abcdeffedcba9876543210",
     "0123456789abcdeffedcba9876543210", "67673138549669730857065648eabe43"},
};

static void test_cipher_block_kat(gconstpointer data)
{
    const BlockCase *tc = data;
    size_t keylen;
    size_t blk;
    size_t ctlen;
    g_autofree guint8 *key = from_hex(tc->key, &keylen);
    g_autofree guint8 *pt = from_hex(tc->pt, &blk);
    g_autofree guint8 *ct = from_hex(tc->ct, &ctlen);
    guint8 buf[512];
    g_autoptr(LbBlockCipher) c = NULL;
    g_autoptr(GError) err = NULL;

    c = lb_block_cipher_new(tc->cipher, "ecb", key, keylen, &err);
    g_assert_no_error(err);
    for (size_t off = 0; off < sizeof(buf); off += blk) {
        memcpy(buf + off, pt, blk);
    }
    g_assert_cmpint(lb_block_cipher_encrypt(c, 0, 512, buf, buf, 512), ==, 0);
    for (size_t off = 0; off < sizeof(buf); off += blk) {
        g_assert_cmpmem(buf + off, blk, ct, ctlen);
    }
    g_assert_cmpint(lb_block_cipher_decrypt(c, 0, 512, buf, buf, 512), ==, 0);
    for (size_t off = 0; off < sizeof(buf); off += blk) {
        g_assert_cmpmem(buf + off, blk, pt, blk);
    }
}

/* ---- round trips over the whole matrix ------------------------------- */

typedef struct {
    char *cipher;
    char *mode;
    size_t keylen;
} RtCase;

static const unsigned sector_sizes[] = {512, 1024, 2048, 4096};

static void test_cipher_roundtrip(gconstpointer data)
{
    const RtCase *tc = data;
    const size_t len = 3 * 4096;
    g_autofree guint8 *key = g_malloc(tc->keylen);
    g_autofree guint8 *pt = g_malloc(len);
    g_autofree guint8 *ct = g_malloc(len);
    g_autofree guint8 *ct2 = g_malloc(len);
    g_autofree guint8 *buf = g_malloc(len);
    g_autofree guint8 *ct0 = g_malloc(len);
    g_autoptr(LbBlockCipher) c = NULL;
    g_autoptr(GError) err = NULL;

    g_assert_true(lb_random_bytes(key, tc->keylen, NULL));
    g_assert_true(lb_random_bytes(pt, len, NULL));
    c = lb_block_cipher_new(tc->cipher, tc->mode, key, tc->keylen, &err);
    g_assert_no_error(err);

    for (unsigned s = 0; s < G_N_ELEMENTS(sector_sizes); s++) {
        unsigned ss = sector_sizes[s];
        uint64_t sector = 0x1234567ull * (s + 1);

        /* Out of place, then in place: same result. */
        g_assert_cmpint(lb_block_cipher_encrypt(c, sector, ss, pt, ct, len), ==,
                        0);
        g_assert_true(memcmp(ct, pt, len) != 0);
        memcpy(buf, pt, len);
        g_assert_cmpint(lb_block_cipher_encrypt(c, sector, ss, buf, buf, len),
                        ==, 0);
        g_assert_cmpmem(buf, len, ct, len);
        memcpy(ct0, ct, len);

        /* Unit by unit, the IV sector advances by ss / 512 per unit. */
        for (size_t off = 0; off < len; off += ss) {
            g_assert_cmpint(lb_block_cipher_encrypt(c, sector + off / 512, ss,
                                                    pt + off, ct2 + off, ss),
                            ==, 0);
        }
        g_assert_cmpmem(ct2, len, ct, len);

        /* Decrypt out of place and in place. */
        g_assert_cmpint(lb_block_cipher_decrypt(c, sector, ss, ct, buf, len),
                        ==, 0);
        g_assert_cmpmem(buf, len, pt, len);
        g_assert_cmpint(lb_block_cipher_decrypt(c, sector, ss, ct, ct, len), ==,
                        0);
        g_assert_cmpmem(ct, len, pt, len);

        /* Another sector number changes the ciphertext, unless no IV. */
        g_assert_cmpint(
            lb_block_cipher_encrypt(c, sector + 1, ss, pt, ct2, len), ==, 0);
        if (g_str_has_prefix(tc->mode, "ecb") ||
            g_str_has_suffix(tc->mode, "-null")) {
            g_assert_cmpmem(ct2, len, ct0, len);
        } else {
            g_assert_true(memcmp(ct2, ct0, len) != 0);
            g_assert_cmpint(
                lb_block_cipher_decrypt(c, sector, ss, ct2, buf, len), ==, 0);
            g_assert_true(memcmp(buf, pt, len) != 0);
        }
    }
}

/*
 * LRW-AES as the kernel's lrw(aes) (the IEEE P1619 draft vectors in the
 * kernel's crypto/testmgr.h form): key || K2, a one-block message with the
 * 128-bit big-endian tweak index 1, 2 and 2^33.  plain64be puts the sector number
 * in the last IV bytes, so sector 1 and 2 give exactly those indexes; the
 * rest of the 512-byte sector continues with indexes 2, 3, ... and must
 * round-trip.
 */
static void test_lrw_kat(void)
{
    static const struct {
        const char *key, *ct;
        uint64_t sector;
    } v[] = {
        {"4562ac25f828176d4c268414b5680185258e2a05e73e9d03ee5a830ccc094c87",
         "f1b273cd65a3df5fe95d489254634eb8", 1},
        {"59704714f557478cd779e80f548879440d48f0b7b15a53ea1caa6b29c2cafbaf",
         "00c82bae95bbcde5274f0769b260e136", 2},
        {"d82a9134b26a565030fe69e2377f9847cdf90b160c648fb6b00d0d1bae85871f",
         "76322183ed8ff182f9596203690e5e01", (uint64_t)2 << 32},
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(v); i++) {
        size_t keylen;
        g_autofree guint8 *key = from_hex(v[i].key, &keylen);
        g_autoptr(GError) err = NULL;
        guint8 pt[512], ct[512], back[512];

        for (unsigned j = 0; j < sizeof(pt); j++) {
            pt[j] = j < 16 ? "0123456789ABCDEF"[j] : (guint8)(j * 7);
        }
        g_assert_true(lb_cipher_key_bytes_valid("aes", "lrw", keylen));
        g_autoptr(LbBlockCipher) c =
            lb_block_cipher_new("aes", "lrw-plain64be", key, keylen, &err);
        g_assert_no_error(err);
        g_assert_cmpint(lb_block_cipher_encrypt(c, v[i].sector, 512, pt, ct,
                                                sizeof(ct)), ==, 0);
        g_autofree char *head = to_hex(ct, 16);
        g_assert_cmpstr(head, ==, v[i].ct);
        g_assert_cmpint(lb_block_cipher_decrypt(c, v[i].sector, 512, ct, back,
                                                sizeof(ct)), ==, 0);
        g_assert_cmpmem(back, sizeof(back), pt, sizeof(pt));
    }
    g_assert_false(lb_cipher_key_bytes_valid("aes", "lrw", 16));
    g_assert_true(lb_cipher_key_bytes_valid("aes", "lrw", 48));
}

/*
 * ESSIV with the kernel's truncated Whirlpool names: essiv:wp256 keys the
 * IV cipher with the first 32 bytes of Whirlpool(volume key) (AES-256),
 * wp384 with the first 48 (no AES key: refused), wp512 with all 64.
 */
static void test_essiv_wp(void)
{
    guint8 key[32], wp[64], iv[16] = {7}, ivenc[16], pt[512] = {0}, a[512],
                             b[512];
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < sizeof(key); i++) {
        key[i] = (guint8)(i * 13 + 5);
    }
    g_assert_true(lb_hash_bytes(LB_HASH_WHIRLPOOL, key, sizeof(key), wp, NULL));
    /* CBC over a zero sector: the first ciphertext block is E_k(IV). */
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new("aes", "cbc-essiv:wp256", key, sizeof(key), &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_block_cipher_encrypt(c, 7, 512, pt, a, 512), ==, 0);
    /* The IV itself: AES-256 keyed with wp[0..32) over le64(7). */
    g_autoptr(LbBlockCipher) e =
        lb_block_cipher_new("aes", "ecb", wp, 32, &err);
    g_assert_no_error(err);
    memcpy(b, iv, 16);
    memset(b + 16, 0, sizeof(b) - 16);
    g_assert_cmpint(lb_block_cipher_encrypt(e, 0, 512, b, b, 512), ==, 0);
    memcpy(ivenc, b, 16);
    g_autoptr(LbBlockCipher) k = lb_block_cipher_new("aes", "ecb", key,
                                                     sizeof(key), &err);
    g_assert_no_error(err);
    memcpy(b, ivenc, 16); /* E_key(0 ^ IV) is CBC's first block */
    g_assert_cmpint(lb_block_cipher_encrypt(k, 0, 512, b, b, 512), ==, 0);
    g_assert_cmpmem(a, 16, b, 16);
    g_autoptr(LbBlockCipher) c512 =
        lb_block_cipher_new("aes", "cbc-essiv:wp512", key, sizeof(key), &err);
    g_assert_null(c512); /* a 64-byte key is no AES key */
    g_clear_error(&err);
    g_autoptr(LbBlockCipher) c384 =
        lb_block_cipher_new("aes", "cbc-essiv:wp384", key, sizeof(key), &err);
    g_assert_null(c384);
    g_assert_nonnull(strstr(err->message, "48 bytes"));
}

static void add_roundtrips(void)
{
    static const struct {
        const char *cipher;
        size_t keys[3];
    } ciphers[] = {
        {"aes", {16, 24, 32}},      {"serpent", {16, 24, 32}},
        {"twofish", {16, 24, 32}},  {"cast5", {16}},
        {"camellia", {16, 24, 32}},
    };
    static const char *chains[] = {"ecb", "cbc", "xts", "ctr"};
    static const char *ivgens[] = {
        "plain", "plain64", "plain64be", "essiv:sha256", "benbi", "null",
    };

    for (unsigned ci = 0; ci < G_N_ELEMENTS(ciphers); ci++) {
        for (unsigned k = 0; k < 3 && ciphers[ci].keys[k]; k++) {
            for (unsigned ch = 0; ch < G_N_ELEMENTS(chains); ch++) {
                size_t keylen = ciphers[ci].keys[k];
                bool ecb = !strcmp(chains[ch], "ecb");

                if (!strcmp(chains[ch], "xts")) {
                    keylen *= 2;
                }
                if (!lb_cipher_key_bytes_valid(ciphers[ci].cipher, chains[ch],
                                               keylen)) {
                    g_assert_cmpstr(ciphers[ci].cipher, ==, "cast5");
                    continue;
                }
                for (unsigned iv = 0; iv < (ecb ? 1 : G_N_ELEMENTS(ivgens));
                     iv++) {
                    RtCase *tc = g_new0(RtCase, 1);
                    g_autofree char *path = NULL;

                    if (!strcmp(ciphers[ci].cipher, "cast5") &&
                        !strcmp(ivgens[iv], "essiv:sha256")) {
                        g_free(tc);
                        continue;
                    }
                    tc->cipher = g_strdup(ciphers[ci].cipher);
                    tc->mode =
                        ecb ? g_strdup("ecb")
                            : g_strdup_printf("%s-%s", chains[ch], ivgens[iv]);
                    tc->keylen = keylen;
                    path = g_strdup_printf("/crypto/cipher/roundtrip/%s-%s-%zu",
                                           tc->cipher, tc->mode, keylen * 8);
                    g_test_add_data_func_full(path, tc, test_cipher_roundtrip,
                                              NULL);
                }
            }
        }
    }
}

/* ---- validation ------------------------------------------------------- */

typedef struct {
    const char *cipher;
    const char *chain;
    size_t keylen;
    bool valid;
} KeyCase;

static const KeyCase key_cases[] = {
    {"aes", "xts", 32, true},         {"aes", "xts", 48, true},
    {"aes", "xts", 64, true},         {"aes", "xts", 16, false},
    {"aes", "xts", 65, false},        {"aes", "xts", 128, false},
    {"aes", "cbc", 16, true},         {"aes", "cbc", 24, true},
    {"aes", "cbc", 32, true},         {"aes", "cbc", 64, false},
    {"aes", "ecb", 20, false},        {"aes", "ctr", 32, true},
    {"AES", "cbc", 32, true},         {"serpent", "xts", 64, true},
    {"serpent", "cbc", 24, true},     {"serpent", "cbc", 8, false},
    {"twofish", "xts", 32, true},     {"twofish", "ecb", 33, false},
    {"cast5", "cbc", 16, true},       {"cast5", "xts", 32, false},
    {"cast5", "cbc", 32, false},      {"blowfish", "cbc", 16, false},
    {"aes", "gcm", 16, false},        {"cipher_null", "ecb", 0, true},
    {"cipher_null", "cbc", 0, false}, {"camellia", "xts", 64, true},
    {"camellia", "cbc", 20, false},
};

static void test_key_bytes_valid(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(key_cases); i++) {
        const KeyCase *tc = &key_cases[i];

        g_test_message("%s-%s %zu", tc->cipher, tc->chain, tc->keylen);
        g_assert_cmpint(
            lb_cipher_key_bytes_valid(tc->cipher, tc->chain, tc->keylen), ==,
            tc->valid);
    }
}

typedef struct {
    const char *cipher;
    const char *mode;
    size_t keylen;
} BadSpec;

static const BadSpec bad_specs[] = {
    {"aes", "xts-plain64", 16},
    {"aes", "xts-plain64", 40},
    {"aes", "cbc", 32},
    {"aes", "cbc-", 32},
    {"aes", "ecb-plain64", 32},
    {"aes", "gcm-random", 32},
    {"aes", "xts-lmk", 64},
    {"aes", "cbc-essiv:sha1", 32},
    {"aes", "cbc-essiv", 32},
    {"des", "cbc-plain", 8},
    {"cast5", "xts-plain64", 32},
    {"cast5", "cbc-essiv:sha256", 16},
    {"cipher_null", "cbc-plain", 0},
    {"", "ecb", 16},
};

static void test_bad_specs(void)
{
    guint8 key[64] = {1};

    for (unsigned i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(LbBlockCipher) c = NULL;

        g_test_message("%s-%s %zu", bad_specs[i].cipher, bad_specs[i].mode,
                       bad_specs[i].keylen);
        c = lb_block_cipher_new(bad_specs[i].cipher, bad_specs[i].mode, key,
                                bad_specs[i].keylen, &err);
        g_assert_null(c);
        g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED);
    }
}

static void test_bad_lengths(void)
{
    guint8 key[64] = {1};
    g_autofree guint8 *buf = g_malloc0(8192);
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new("aes", "xts-plain64", key, 64, NULL);

    g_assert_nonnull(c);
    g_assert_cmpint(lb_block_cipher_encrypt(c, 0, 512, buf, buf, 100), ==,
                    -EINVAL);
    g_assert_cmpint(lb_block_cipher_encrypt(c, 0, 4096, buf, buf, 512), ==,
                    -EINVAL);
    g_assert_cmpint(lb_block_cipher_decrypt(c, 0, 256, buf, buf, 512), ==,
                    -EINVAL);
    g_assert_cmpint(lb_block_cipher_decrypt(c, 0, 8192, buf, buf, 8192), ==,
                    -EINVAL);
    g_assert_cmpint(lb_block_cipher_encrypt(c, 0, 1536, buf, buf, 1536), ==,
                    -EINVAL);
    g_assert_cmpint(lb_block_cipher_encrypt(c, 0, 512, buf, buf, 0), ==, 0);
}

static void test_null_cipher(void)
{
    guint8 in[1024];
    guint8 out[1024];
    g_autoptr(LbBlockCipher) c =
        lb_block_cipher_new("cipher_null", "ecb", NULL, 0, NULL);

    g_assert_nonnull(c);
    for (unsigned i = 0; i < sizeof(in); i++) {
        in[i] = i * 7;
    }
    g_assert_cmpint(lb_block_cipher_encrypt(c, 5, 512, in, out, 1024), ==, 0);
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    g_assert_cmpint(lb_block_cipher_decrypt(c, 5, 512, out, out, 1024), ==, 0);
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
}

/*
 * XTS keys with equal halves: gnutls refuses them in FIPS mode, the kernel
 * never does.  Whichever back end serves them must round-trip (and give
 * IEEE 1619 vector 1, whose halves are both zero, above).
 */
static void test_xts_equal_halves(void)
{
    for (size_t keylen = 32; keylen <= 64; keylen += 16) {
        guint8 key[64];
        guint8 pt[1024];
        guint8 ct[1024];
        g_autoptr(LbBlockCipher) c = NULL;

        memset(key, 0x5a, sizeof(key));
        for (unsigned i = 0; i < sizeof(pt); i++) {
            pt[i] = i;
        }
        c = lb_block_cipher_new("aes", "xts-plain64", key, keylen, NULL);
        g_assert_nonnull(c);
        g_assert_cmpint(lb_block_cipher_encrypt(c, 3, 512, pt, ct, 1024), ==,
                        0);
        g_assert_true(memcmp(pt, ct, sizeof(pt)) != 0);
        g_assert_cmpint(lb_block_cipher_decrypt(c, 3, 512, ct, ct, 1024), ==,
                        0);
        g_assert_cmpmem(pt, sizeof(pt), ct, sizeof(ct));
    }
}

/*
 * CBC encryption runs several sectors side by side, and XTS a run of up to
 * 8 KiB of sectors per block-function call; for every request length
 * (1..17 sectors, so full and partial groups) each must equal the
 * sector-by-sector result, in place and out of place.
 */
static void test_multi_sector(void)
{
    static const struct {
        const char *cipher;
        const char *mode;
        size_t keylen;
    } cases[] = {
        {"aes", "cbc-essiv:sha256", 16},
        {"aes", "cbc-plain64", 32},
        {"serpent", "cbc-plain", 32},
        {"cast5", "cbc-benbi", 16},
        {"aes", "xts-plain64", 64},
        {"aes", "xts-plain64", 32},
        {"serpent", "xts-essiv:sha256", 64},
    };
    const size_t max = 17 * 4096;
    g_autofree guint8 *pt = g_malloc(max);
    g_autofree guint8 *ct = g_malloc(max);
    g_autofree guint8 *ref = g_malloc(max);

    g_assert_true(lb_random_bytes(pt, max, NULL));
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint8 key[64];
        g_autoptr(LbBlockCipher) c = NULL;

        g_assert_true(lb_random_bytes(key, sizeof(key), NULL));
        c = lb_block_cipher_new(cases[i].cipher, cases[i].mode, key,
                                cases[i].keylen, NULL);
        g_assert_nonnull(c);
        for (unsigned ss = 512; ss <= 4096; ss *= 2) {
            for (size_t n = 1; n <= 17; n++) {
                size_t len = n * ss;

                for (size_t u = 0; u < n; u++) {
                    g_assert_cmpint(
                        lb_block_cipher_encrypt(c, 99 + u * ss / 512, ss,
                                                pt + u * ss, ref + u * ss, ss),
                        ==, 0);
                }
                g_assert_cmpint(lb_block_cipher_encrypt(c, 99, ss, pt, ct, len),
                                ==, 0);
                g_assert_cmpmem(ct, len, ref, len);
                memcpy(ct, pt, len);
                g_assert_cmpint(lb_block_cipher_encrypt(c, 99, ss, ct, ct, len),
                                ==, 0);
                g_assert_cmpmem(ct, len, ref, len);
            }
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(kat_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/cipher/kat/%s", kat_cases[i].name);
        g_test_add_data_func(path, &kat_cases[i], test_cipher_kat);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(block_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/crypto/cipher/block-kat/%s-%u", block_cases[i].cipher, i);
        g_test_add_data_func(path, &block_cases[i], test_cipher_block_kat);
    }
    add_roundtrips();
    g_test_add_func("/crypto/cipher/key-bytes-valid", test_key_bytes_valid);
    g_test_add_func("/crypto/cipher/bad-specs", test_bad_specs);
    g_test_add_func("/crypto/cipher/bad-lengths", test_bad_lengths);
    g_test_add_func("/crypto/cipher/null", test_null_cipher);
    g_test_add_func("/crypto/cipher/multi-sector", test_multi_sector);
    g_test_add_func("/crypto/cipher/xts-equal-halves", test_xts_equal_halves);
    g_test_add_func("/crypto/cipher/lrw-kat", test_lrw_kat);
    g_test_add_func("/crypto/cipher/essiv-wp", test_essiv_wp);
    return g_test_run();
}
