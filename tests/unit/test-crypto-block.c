/*
 * test-crypto-block.c: unit tests of the LUKS engine with LUKS1 headers.
 *
 * Every test drives lb_luks_* through an in-memory header device (MemDev,
 * luks-test-io.h) that records the highest offset read or written and the
 * order of writes and flushes, so the tests can prove that the engine stays
 * inside the header area and writes key material before the header that
 * points at it.  PBKDF2 is forced to 1000 iterations to keep the suite
 * fast.  Spec: LUKS-FORMAT.md §1, §5, §7.  Interop with cryptsetup and
 * QEMU is in test-crypto-block-peers.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "lb/crypto.h"
#include "lb/luks.h"
#include "lb/secret.h"
#include "crypto/block-luks-priv.h"

#include "luks-test-io.h"

/* ---- create/open round trip for each cipher spec ------------------------- */

typedef struct SpecCase {
    const char *alg, *mode, *ivgen, *ivhash, *hash;
    const char *want_name, *want_mode; /* on-disk strings */
    unsigned key_bytes;
} SpecCase;

static GPtrArray *spec_cases;

static void add_spec(const char *alg, const char *mode, const char *ivgen,
                     const char *ivhash, const char *hash)
{
    SpecCase *c = g_new0(SpecCase, 1);
    const char *dash = strrchr(alg, '-');
    unsigned bits = atoi(dash + 1);

    c->alg = alg;
    c->mode = mode;
    c->ivgen = ivgen;
    c->ivhash = ivhash;
    c->hash = hash;
    c->want_name = g_strndup(alg, dash - alg);
    if (!ivgen) {
        c->want_mode = g_strdup(mode);
    } else if (ivhash) {
        c->want_mode = g_strdup_printf("%s-%s:%s", mode, ivgen, ivhash);
    } else {
        c->want_mode = g_strdup_printf("%s-%s", mode, ivgen);
    }
    c->key_bytes = bits / 8 * (g_str_equal(mode, "xts") ? 2 : 1);
    g_ptr_array_add(spec_cases, c);
}

static void build_spec_cases(void)
{
    static const char *aes[] = {"aes-128", "aes-192", "aes-256"};
    static const char *chains[] = {"xts", "cbc"};
    static const struct {
        const char *iv, *hash;
    } ivgens[] = {
        {"plain", NULL},     {"plain64", NULL}, {"plain64be", NULL},
        {"essiv", "sha256"}, {"benbi", NULL},   {"null", NULL},
    };
    static const char *hashes[] = {
        "sha1",      "sha224",    "sha256",   "sha384",   "sha512",
        "ripemd160", "whirlpool", "sha3-224", "sha3-256", "sha3-384",
        "sha3-512",  "sm3",       "blake2b-512", "blake2s-256",
    };
    static const char *others[] = {
        "serpent-128", "serpent-256", "twofish-128", "twofish-256", "cast5-128",
    };

    spec_cases = g_ptr_array_new();
    for (unsigned a = 0; a < G_N_ELEMENTS(aes); a++) {
        for (unsigned c = 0; c < G_N_ELEMENTS(chains); c++) {
            for (unsigned i = 0; i < G_N_ELEMENTS(ivgens); i++) {
                add_spec(aes[a], chains[c], ivgens[i].iv, ivgens[i].hash,
                         "sha256");
            }
        }
        add_spec(aes[a], "ecb", NULL, NULL, "sha256");
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(others); i++) {
        add_spec(others[i], "cbc", "plain64", NULL, "sha256");
        add_spec(others[i], "cbc", "plain", NULL, "sha1");
    }
    add_spec("serpent-256", "xts", "plain64", NULL, "sha512");
    add_spec("twofish-256", "xts", "plain64", NULL, "sha256");
    /* CTR and Camellia, which cryptsetup also formats (see
     * tests/interop/test-cryptsetup-luks1-specs.sh). */
    static const char *ctr_ivs[] = {"plain", "plain64", "plain64be",
                                    "benbi", "null"};
    for (unsigned i = 0; i < G_N_ELEMENTS(ctr_ivs); i++) {
        add_spec("aes-128", "ctr", ctr_ivs[i], NULL, "sha1");
        add_spec("aes-256", "ctr", ctr_ivs[i], NULL, "sha256");
    }
    add_spec("aes-192", "ctr", "essiv", "sha256", "sha256");
    static const char *camellia[] = {"camellia-128", "camellia-192",
                                     "camellia-256"};
    for (unsigned a = 0; a < G_N_ELEMENTS(camellia); a++) {
        add_spec(camellia[a], "cbc", "plain64", NULL, "sha256");
        add_spec(camellia[a], "cbc", "essiv", "sha256", "sha256");
        add_spec(camellia[a], "ctr", "plain64", NULL, "sha256");
        add_spec(camellia[a], "ecb", NULL, NULL, "sha256");
    }
    add_spec("camellia-256", "xts", "plain64", NULL, "sha256");
    /* ESSIV with other hashes whose digest is an AES key. */
    static const char *essiv_hashes[] = {"md5", "sha3-256", "sm3"};
    for (unsigned i = 0; i < G_N_ELEMENTS(essiv_hashes); i++) {
        add_spec("aes-256", "cbc", "essiv", essiv_hashes[i], "sha256");
    }
    add_spec("aes-256", "xts", "essiv", "sha3-256", "sha256");
    add_spec("aes-128", "cbc", "eboiv", NULL, "sha256");
    add_spec("aes-256", "cbc", "eboiv", NULL, "sha512");
    add_spec("camellia-256", "cbc", "eboiv", NULL, "sha256");
    /* Full-block CFB and OFB (the kernel's cfb()/ofb() templates). */
    add_spec("aes-256", "cfb", "plain64", NULL, "sha256");
    add_spec("aes-128", "ofb", "essiv", "sha256", "sha1");
    add_spec("camellia-192", "cfb", "essiv", "sha256", "sha256");
    add_spec("camellia-256", "ofb", "plain", NULL, "sha256");
    add_spec("cast5-128", "ofb", "plain64", NULL, "sha256");
    add_spec("serpent-256", "cfb", "benbi", NULL, "sha256");
    for (unsigned h = 0; h < G_N_ELEMENTS(hashes); h++) {
        if (g_str_equal(hashes[h], "sha256")) {
            continue; /* already covered above */
        }
        add_spec("aes-256", "xts", "plain64", NULL, hashes[h]);
        add_spec("aes-128", "cbc", "essiv", "sha256", hashes[h]);
    }
}

static void test_spec_roundtrip(gconstpointer data)
{
    const SpecCase *c = data;
    LbLuksCreateOpts opts = {
        .cipher_alg = c->alg,
        .cipher_mode = c->mode,
        .ivgen_alg = c->ivgen,
        .ivgen_hash_alg = c->ivhash,
        .hash_alg = c->hash,
        .iterations = 1000,
    };
    guint8 key[512];

    for (unsigned i = 0; i < c->key_bytes; i++) {
        key[i] = i * 7 + 3;
    }
    /* Every spec listed is one the engine must support: no skipping. */
    g_autoptr(GError) perr = NULL;
    g_autoptr(LbBlockCipher) probe = lb_block_cipher_new(
        c->want_name, c->want_mode, key, c->key_bytes, &perr);
    g_assert_no_error(perr);
    g_assert_nonnull(probe);

    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) w = create_on(m, &opts, "secret pass");
    g_assert_cmpuint(lb_luks_version(w), ==, 1);
    g_assert_cmpstr((const char *)m->buf->data + 8, ==, c->want_name);
    g_assert_cmpstr((const char *)m->buf->data + 40, ==, c->want_mode);
    g_assert_cmpstr((const char *)m->buf->data + 72, ==, c->hash);
    g_assert_cmpuint(be32_at(m, 108), ==, c->key_bytes);
    g_assert_cmpuint(be32_at(m, 164), ==, 1000);
    g_assert_cmpuint(be32_at(m, SLOT_OFF(0) + 4), ==, 1000);

    assert_opens(m, "secret pass", w->master_key, 0);

    /* Data written by one engine reads back through a fresh one, and
     * matches the sector cipher keyed with the volume key directly. */
    enum { LEN = 4096, OFF = 3 * 512 };
    g_autofree guint8 *plain = g_malloc(LEN);
    g_autofree guint8 *ct = g_malloc(LEN);
    g_autofree guint8 *ref = g_malloc(LEN);
    for (unsigned i = 0; i < LEN; i++) {
        plain[i] = (guint8)(i * 31 + 5);
    }
    g_assert_cmpint(lb_luks_encrypt(w, OFF, plain, ct, LEN), ==, 0);
    g_assert_true(memcmp(ct, plain, LEN) != 0);
    g_autoptr(LbBlockCipher) bc =
        lb_block_cipher_new(c->want_name, c->want_mode,
                            lb_secret_cdata(w->master_key), c->key_bytes, NULL);
    g_assert_nonnull(bc);
    g_assert_cmpint(
        lb_block_cipher_encrypt(bc, OFF / 512, 512, plain, ref, LEN), ==, 0);
    g_assert_cmpmem(ct, LEN, ref, LEN);

    g_autoptr(LbSecret) p = pass_new("secret pass");
    LbLuksIO io = mem_io(m);
    g_autoptr(LbLuks) r = lb_luks_open(&io, p, 0, NULL);
    g_assert_nonnull(r);
    g_assert_cmpint(lb_luks_decrypt(r, OFF, ct, ct, LEN), ==, 0);
    g_assert_cmpmem(ct, LEN, plain, LEN);

    g_autoptr(LbLuksInfo) info = lb_luks_get_info(r);
    g_assert_cmpstr(info->cipher_alg, ==, c->alg);
    g_assert_cmpstr(info->cipher_mode, ==, c->mode);
    g_assert_cmpstr(info->ivgen_alg, ==, c->ivgen);
    g_assert_cmpstr(info->ivgen_hash_alg, ==, c->ivhash);
    g_assert_cmpstr(info->hash_alg, ==, c->hash);
    g_assert_cmpuint(info->key_bytes, ==, c->key_bytes);
}

/* ---- layouts (LUKS-FORMAT.md §1.3, §5.3, §5.4) --------------------------- */

typedef struct LayoutCase {
    const char *name, *alg, *mode;
    bool detached;
    uint64_t opt_payload;   /* bytes, 0 = default */
    uint64_t want_payload;  /* bytes */
    uint64_t want_hdr_size; /* bytes */
    uint64_t want_dev_size; /* header device length after create */
    uint32_t want_slots[8]; /* sectors */
} LayoutCase;

static const LayoutCase layout_cases[] = {
    {"xts512-attached",
     "aes-256",
     "xts",
     false,
     0,
     4040 * 512ull,
     2068480,
     2068480,
     {8, 512, 1016, 1520, 2024, 2528, 3032, 3536}},
    {"xts512-detached",
     "aes-256",
     "xts",
     true,
     0,
     0,
     2068480,
     2068480,
     {8, 512, 1016, 1520, 2024, 2528, 3032, 3536}},
    {"xts512-offset",
     "aes-256",
     "xts",
     false,
     4096 * 512ull,
     4096 * 512ull,
     2068480,
     4096 * 512ull,
     {8, 512, 1016, 1520, 2024, 2528, 3032, 3536}},
    {"xts512-detached-offset-ignored",
     "aes-256",
     "xts",
     true,
     4096 * 512ull,
     0,
     2068480,
     2068480,
     {8, 512, 1016, 1520, 2024, 2528, 3032, 3536}},
    {"xts256-detached",
     "aes-128",
     "xts",
     true,
     0,
     0,
     1052672,
     1052672,
     {8, 264, 520, 776, 1032, 1288, 1544, 1800}},
    {"cbc128-attached",
     "aes-128",
     "cbc",
     false,
     0,
     1032 * 512ull,
     528384,
     528384,
     {8, 136, 264, 392, 520, 648, 776, 904}},
    {"cbc128-detached",
     "aes-128",
     "cbc",
     true,
     0,
     0,
     528384,
     528384,
     {8, 136, 264, 392, 520, 648, 776, 904}},
    {"cbc192-detached",
     "aes-192",
     "cbc",
     true,
     0,
     0,
     790528,
     790528,
     {8, 200, 392, 584, 776, 968, 1160, 1352}},
};

static void test_layout(gconstpointer data)
{
    const LayoutCase *c = data;
    LbLuksCreateOpts opts = {
        .cipher_alg = c->alg,
        .cipher_mode = c->mode,
        .iterations = 1000,
        .detached = c->detached,
        .payload_offset = c->opt_payload,
    };
    /* A detached header file that was longer is cut to size (QEMU). */
    g_autoptr(MemDev) m = mem_new(c->detached ? 3 << 20 : 0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");

    g_assert_cmpuint(lb_luks_payload_offset(l), ==, c->want_payload);
    g_assert_cmpuint(lb_luks_header_size(l), ==, c->want_hdr_size);
    g_assert_cmpuint(lb_luks_sector_size(l), ==, 512);
    g_assert_cmpuint(m->buf->len, ==, c->want_dev_size);
    g_assert_cmpuint(m->max_write_end, <=, c->want_dev_size);
    g_assert_cmpuint(be32_at(m, 104) * 512ull, ==, c->want_payload);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpuint(be32_at(m, SLOT_OFF(i) + 40), ==, c->want_slots[i]);
        g_assert_cmpuint(be32_at(m, SLOT_OFF(i) + 44), ==, 4000);
        g_assert_cmphex(be32_at(m, SLOT_OFF(i)), ==,
                        i == 0 ? 0x00AC71F3 : 0x0000DEAD);
        if (i > 0) {
            static const guint8 zero[36];
            g_assert_cmpmem(m->buf->data + SLOT_OFF(i) + 4, 36, zero, 36);
        }
    }
    /* [592, 4096) is zero (§1.1); the uuid is canonical lower case. */
    for (unsigned i = 592; i < 4096; i++) {
        g_assert_cmpuint(m->buf->data[i], ==, 0);
    }
    char uuid[41] = {0};
    memcpy(uuid, m->buf->data + 168, 40);
    g_assert_true(g_uuid_string_is_valid(uuid));
    g_autofree char *lower = g_ascii_strdown(uuid, -1);
    g_assert_cmpstr(uuid, ==, lower);

    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l);
    g_assert_cmpuint(info->payload_offset, ==, c->want_payload);
    g_assert_cmpint(info->detached_header, ==, c->want_payload == 0);
    g_assert_cmpuint(info->master_key_iters, ==, 1000);
    g_assert_cmpstr(info->uuid, ==, uuid);
    g_assert_cmpuint(info->n_slots, ==, 8);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpint(info->slots[i].active, ==, i == 0);
        g_assert_cmpuint(info->slots[i].key_offset, ==,
                         c->want_slots[i] * 512ull);
        g_assert_cmpuint(info->slots[i].iters, ==, i == 0 ? 1000 : 0);
        g_assert_cmpstr(info->slots[i].kdf, ==, "pbkdf2");
    }
    assert_opens(m, "pw", l->master_key, 0);
}

/* ---- passphrases and keyslots ------------------------------------------- */

static void test_wrong_passphrase(void)
{
    LbLuksCreateOpts opts = {.iterations = 1000};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "right");
    g_autoptr(GBytes) before = g_bytes_new(m->buf->data, m->buf->len);
    g_autoptr(LbSecret) p = pass_new("wrong");
    g_autoptr(GError) err = NULL;
    LbLuksIO io = mem_io(m);

    mem_reset_stats(m);
    g_autoptr(LbLuks) bad = lb_luks_open(&io, p, 0, &err);
    g_assert_null(bad);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_assert_cmpstr(err->message, ==,
                    "Invalid password, cannot unlock any keyslot");
    g_assert_cmpuint(m->n_writes, ==, 0);
    g_assert_cmpmem(m->buf->data, m->buf->len, g_bytes_get_data(before, NULL),
                    g_bytes_get_size(before));
    g_assert_cmpint(lb_luks_find_key(l, p, NULL), ==, -1);

    /* The empty passphrase is a passphrase like any other. */
    g_autoptr(LbSecret) empty = lb_secret_new(0);
    g_assert_cmpint(lb_luks_add_key(l, empty, -1, 1, NULL), ==, 1);
    assert_opens(m, "", l->master_key, 1);
}

static void test_keyslots(void)
{
    LbLuksCreateOpts opts = {.cipher_alg = "aes-128", .iterations = 1000};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pass0");
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p1 = pass_new("pass1");
    g_autoptr(LbSecret) p5 = pass_new("pass5");
    g_autoptr(LbSecret) p0 = pass_new("pass0");

    g_assert_cmpuint(lb_luks_n_active_slots(l), ==, 1);

    /* Key material is written and flushed before the header. */
    mem_reset_stats(m);
    g_assert_cmpint(lb_luks_add_key(l, p1, -1, 1, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpstr(m->log->str, ==, "W135168 F W0 F ");
    g_assert_cmpint(lb_luks_add_key(l, p5, 5, 1, &err), ==, 5);
    g_assert_no_error(err);
    g_assert_cmpint(lb_luks_add_key(l, p5, 5, 1, &err), ==, -1);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    g_assert_cmpint(lb_luks_add_key(l, p5, 8, 1, &err), ==, -1);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    g_assert_cmpuint(lb_luks_n_active_slots(l), ==, 3);
    g_assert_cmpuint(be32_at(m, SLOT_OFF(5) + 4), >=, 1000);

    g_assert_cmpint(lb_luks_find_key(l, p0, NULL), ==, 0);
    g_assert_cmpint(lb_luks_find_key(l, p1, NULL), ==, 1);
    g_assert_cmpint(lb_luks_find_key(l, p5, NULL), ==, 5);
    assert_opens(m, "pass0", l->master_key, 0);
    assert_opens(m, "pass1", l->master_key, 1);
    assert_opens(m, "pass5", l->master_key, 5);

    /* Remove: material wiped and flushed, then the header updated. */
    mem_reset_stats(m);
    g_assert_true(lb_luks_remove_key(l, 1, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(m->log->str, ==, "W135168 F W0 F ");
    g_assert_cmphex(be32_at(m, SLOT_OFF(1)), ==, 0xDEAD);
    g_assert_cmpuint(be32_at(m, SLOT_OFF(1) + 4), ==, 0);
    g_assert_cmpint(lb_luks_find_key(l, p1, NULL), ==, -1);
    g_assert_cmpuint(lb_luks_n_active_slots(l), ==, 2);

    LbLuksIO io = mem_io(m);
    g_autoptr(LbLuks) bad = lb_luks_open(&io, p1, 0, &err);
    g_assert_null(bad);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_clear_error(&err);

    g_assert_false(lb_luks_remove_key(l, 1, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    g_assert_false(lb_luks_remove_key(l, -1, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    g_assert_false(lb_luks_remove_key(l, 8, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);

    /* Fill every slot, then there is no free one. */
    for (int i = 0; i < 6; i++) {
        g_assert_cmpint(lb_luks_add_key(l, p1, -1, 1, &err), >=, 0);
        g_assert_no_error(err);
    }
    g_assert_cmpuint(lb_luks_n_active_slots(l), ==, 8);
    g_assert_cmpint(lb_luks_add_key(l, p1, -1, 1, &err), ==, -1);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    assert_opens(m, "pass5", l->master_key, 5);
}

/* Remove through an engine opened without keys, then read-only refusal. */
static void test_no_keys(void)
{
    LbLuksCreateOpts opts = {.iterations = 1000, .detached = true};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new("other");
    LbLuksIO io = mem_io(m);

    g_assert_cmpint(lb_luks_add_key(l, p, 3, 1, NULL), ==, 3);
    mem_reset_stats(m);
    g_autoptr(LbLuks) n = lb_luks_open(&io, NULL, LB_LUKS_OPEN_NO_KEYS, &err);
    g_assert_no_error(err);
    g_assert_false(lb_luks_has_keys(n));
    g_assert_cmpint(lb_luks_unlocked_slot(n), ==, -1);
    g_assert_cmpuint(m->max_read_end, <=, 592);
    guint8 buf[512] = {0};
    g_assert_cmpint(lb_luks_encrypt(n, 0, buf, buf, 512), ==, -EPERM);
    g_assert_cmpint(lb_luks_add_key(n, p, -1, 1, &err), ==, -1);
    g_assert_nonnull(err);
    g_clear_error(&err);

    g_autoptr(LbLuksInfo) info = lb_luks_get_info(n);
    g_assert_true(info->detached_header);
    g_assert_cmpstr(info->cipher_alg, ==, "aes-256");
    g_assert_cmpstr(info->cipher_mode, ==, "xts");
    g_assert_cmpstr(info->ivgen_alg, ==, "plain64");
    g_assert_null(info->ivgen_hash_alg);
    g_assert_cmpstr(info->hash_alg, ==, "sha256");
    g_assert_cmpint(info->slots[3].active, ==, true);
    g_assert_cmpint(lb_luks_find_key(n, p, NULL), ==, 3);

    g_autoptr(LbLuks) ro = lb_luks_open(
        &io, NULL, LB_LUKS_OPEN_NO_KEYS | LB_LUKS_OPEN_READ_ONLY, &err);
    g_assert_no_error(err);
    mem_reset_stats(m);
    g_assert_false(lb_luks_remove_key(ro, 3, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpuint(m->n_writes, ==, 0);

    g_assert_true(lb_luks_remove_key(n, 3, &err));
    g_assert_no_error(err);
    g_assert_cmpint(lb_luks_find_key(n, p, NULL), ==, -1);
}

/* The engine never reads or writes past the header area (the payload). */
static void test_stays_in_header(void)
{
    LbLuksCreateOpts opts = {.cipher_alg = "aes-128",
                             .cipher_mode = "cbc",
                             .ivgen_alg = "essiv",
                             .iterations = 1000};
    g_autoptr(MemDev) m = mem_new(4 << 20); /* header + payload */
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new("pw");
    g_autoptr(LbSecret) p2 = pass_new("pw2");
    LbLuksIO io = mem_io(m);

    memset(m->buf->data, 0xee, m->buf->len);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");
    uint64_t payload = lb_luks_payload_offset(l);
    g_assert_cmpuint(payload, ==, 528384);
    g_assert_cmpuint(m->max_write_end, <=, payload);
    g_assert_cmpuint(m->max_read_end, <=, payload);
    g_assert_cmpuint(m->buf->len, ==, 4 << 20); /* not truncated */
    g_assert_cmpuint(m->buf->data[payload], ==, 0xee);
    g_assert_cmpuint(m->buf->data[payload - 1], ==, 0);

    mem_reset_stats(m);
    g_autoptr(LbLuks) o = lb_luks_open(&io, p, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(lb_luks_add_key(o, p2, -1, 1, &err), ==, 1);
    g_assert_true(lb_luks_remove_key(o, 0, &err));
    g_assert_cmpint(lb_luks_find_key(o, p2, &err), ==, 1);
    g_assert_cmpint(lb_luks_find_key(o, p, &err), ==, -1);
    g_assert_no_error(err);
    g_assert_cmpuint(m->max_write_end, <=, lb_luks_header_size(o));
    g_assert_cmpuint(m->max_read_end, <=, lb_luks_header_size(o));
    g_assert_cmpuint(m->buf->data[payload], ==, 0xee);
}

/* ---- corrupt headers ------------------------------------------------------
 */

typedef struct CorruptCase {
    const char *name;
    void (*mutate)(MemDev *m);
    bool no_keys_ok; /* header still valid without keys */
    int code;        /* expected error, -1 = opens */
    int want_slot;   /* when it opens */
} CorruptCase;

static void mut_magic(MemDev *m)
{
    m->buf->data[0] = 'X';
}
static void mut_version(MemDev *m)
{
    m->buf->data[7] = 3;
}
static void mut_name(MemDev *m)
{
    memset(m->buf->data + 8, 'a', 32);
}
static void mut_mode(MemDev *m)
{
    memset(m->buf->data + 40, 'x', 32);
}
static void mut_hash_md5(MemDev *m)
{
    strcpy((char *)m->buf->data + 72, "md5");
}
static void mut_hash_bad(MemDev *m)
{
    strcpy((char *)m->buf->data + 72, "sha7");
}
static void mut_hash_upper(MemDev *m)
{
    strcpy((char *)m->buf->data + 72, "SHA256");
}
static void mut_cipher_bad(MemDev *m)
{
    strcpy((char *)m->buf->data + 8, "rot13");
}
static void mut_keybytes0(MemDev *m)
{
    put_be32(m, 108, 0);
}
static void mut_keybytes_huge(MemDev *m)
{
    put_be32(m, 108, 0x10000000);
}
static void mut_stripes(MemDev *m)
{
    put_be32(m, SLOT_OFF(3) + 44, 3999);
}
static void mut_stripes0(MemDev *m)
{
    put_be32(m, SLOT_OFF(7) + 44, 0);
}
static void mut_slot_in_hdr(MemDev *m)
{
    put_be32(m, SLOT_OFF(2) + 40, 1);
}
static void mut_overlap(MemDev *m)
{
    put_be32(m, SLOT_OFF(2) + 40, 900);
}
static void mut_slot_huge(MemDev *m)
{
    put_be32(m, SLOT_OFF(6) + 40, 0xfffffff0);
}
static void mut_payload_in_slots(MemDev *m)
{
    put_be32(m, 104, 4035);
}
static void mut_payload_exact(MemDev *m)
{
    put_be32(m, 104, 4036);
}
static void mut_payload_zero(MemDev *m)
{
    put_be32(m, 104, 0);
}
static void mut_truncate(MemDev *m)
{
    g_byte_array_set_size(m->buf, 4035 * 512);
}
static void mut_tiny(MemDev *m)
{
    g_byte_array_set_size(m->buf, 300);
}
static void mut_mk_iters0(MemDev *m)
{
    put_be32(m, 164, 0);
}
static void mut_digest(MemDev *m)
{
    m->buf->data[112] ^= 1;
}
static void mut_active_garbage(MemDev *m)
{
    put_be32(m, SLOT_OFF(0), 0x12345678);
}
static void mut_slot_iters0(MemDev *m)
{
    put_be32(m, SLOT_OFF(0) + 4, 0);
}
static void mut_material(MemDev *m)
{
    m->buf->data[8 * 512 + 100] ^= 0x80;
}

static const CorruptCase corrupt_cases[] = {
    {"bad-magic", mut_magic, false, LB_LUKS_ERROR_NOT_LUKS},
    {"bad-version", mut_version, false, LB_LUKS_ERROR_UNSUPPORTED},
    {"name-unterminated", mut_name, false, LB_LUKS_ERROR_CORRUPT},
    {"mode-unterminated", mut_mode, false, LB_LUKS_ERROR_CORRUPT},
    {"hash-md5", mut_hash_md5, false, LB_LUKS_ERROR_UNSUPPORTED},
    {"hash-unknown", mut_hash_bad, false, LB_LUKS_ERROR_UNSUPPORTED},
    {"hash-upper-case", mut_hash_upper, true, -1, 0},
    {"cipher-unknown", mut_cipher_bad, false, LB_LUKS_ERROR_UNSUPPORTED},
    {"key-bytes-0", mut_keybytes0, false, LB_LUKS_ERROR_CORRUPT},
    {"key-bytes-huge", mut_keybytes_huge, false, LB_LUKS_ERROR_CORRUPT},
    {"stripes", mut_stripes, false, LB_LUKS_ERROR_CORRUPT},
    {"stripes-0-disabled-slot", mut_stripes0, false, LB_LUKS_ERROR_CORRUPT},
    {"slot-in-header", mut_slot_in_hdr, false, LB_LUKS_ERROR_CORRUPT},
    {"slots-overlap", mut_overlap, false, LB_LUKS_ERROR_CORRUPT},
    {"slot-past-device", mut_slot_huge, false, LB_LUKS_ERROR_CORRUPT},
    {"payload-in-slots", mut_payload_in_slots, false, LB_LUKS_ERROR_CORRUPT},
    {"payload-exact-end", mut_payload_exact, true, -1, 0},
    {"payload-zero", mut_payload_zero, true, -1, 0},
    {"truncated", mut_truncate, false, LB_LUKS_ERROR_CORRUPT},
    {"tiny", mut_tiny, false, LB_LUKS_ERROR_CORRUPT},
    {"mk-iterations-0", mut_mk_iters0, true, LB_LUKS_ERROR_CORRUPT},
    {"mk-digest", mut_digest, true, LB_LUKS_ERROR_BAD_PASSPHRASE},
    {"active-garbage", mut_active_garbage, true, -1, 1},
    {"slot-iterations-0", mut_slot_iters0, true, -1, 1},
    {"material-flipped", mut_material, true, -1, 1},
};

static void test_corrupt(gconstpointer data)
{
    const CorruptCase *c = data;
    LbLuksCreateOpts opts = {.iterations = 1000};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new("pw");
    LbLuksIO io = mem_io(m);

    /* K=64 layout: slots end at 4036, payload 4040; slot 1 holds "pw" too
     * so a damaged slot 0 still leaves a way in. */
    {
        g_autoptr(LbLuks) l = create_on(m, &opts, "pw");
        g_assert_cmpint(lb_luks_add_key(l, p, 1, 1, NULL), ==, 1);
    }
    c->mutate(m);
    mem_reset_stats(m);

    g_autoptr(LbLuks) n = lb_luks_open(&io, NULL, LB_LUKS_OPEN_NO_KEYS, &err);
    if (c->no_keys_ok) {
        g_assert_no_error(err);
        g_assert_nonnull(n);
    } else {
        g_assert_null(n);
        g_assert_error(err, LB_LUKS_ERROR, c->code);
        g_test_message("%s: %s", c->name, err->message);
        g_clear_error(&err);
    }
    g_autoptr(LbLuks) l = lb_luks_open(&io, p, 0, &err);
    if (c->code < 0) {
        g_assert_no_error(err);
        g_assert_cmpint(lb_luks_unlocked_slot(l), ==, c->want_slot);
        g_assert_cmpuint(lb_luks_n_active_slots(l), <=, 2);
    } else {
        g_assert_null(l);
        g_assert_error(err, LB_LUKS_ERROR, c->code);
    }
    g_assert_cmpuint(m->n_writes, ==, 0);
}

/*
 * Every single-byte change of the phdr and every short device either opens
 * (with the right volume key) or fails with an LbLuksError; nothing is
 * ever written and nothing crashes (run under ASan in CI).
 */
static void test_every_byte(void)
{
    LbLuksCreateOpts opts = {.cipher_alg = "aes-128",
                             .cipher_mode = "cbc",
                             .ivgen_alg = "essiv",
                             .iterations = 1000};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");
    g_autoptr(LbSecret) p = pass_new("pw");
    g_autoptr(GBytes) good = g_bytes_new(m->buf->data, m->buf->len);
    LbLuksIO io = mem_io(m);
    unsigned opened = 0;

    for (size_t off = 0; off < sizeof(LbLuks1HdrDisk); off++) {
        g_autoptr(GError) err = NULL;
        /* A larger PBKDF2 iteration count is valid, just slow (up to 2^32
         * iterations, as in cryptsetup and QEMU): lower it instead. */
        bool iters =
            (off >= 164 && off < 168) ||
            (off >= 208 && (off - 208) % 48 >= 4 && (off - 208) % 48 < 8);
        if (iters && m->buf->data[off] == 0) {
            continue;
        }
        m->buf->data[off] ^= iters ? m->buf->data[off] : 0xff;
        mem_reset_stats(m);
        g_autoptr(LbLuks) o = lb_luks_open(&io, p, 0, &err);
        if (o) {
            g_assert_cmpmem(
                lb_secret_cdata(o->master_key), lb_secret_len(o->master_key),
                lb_secret_cdata(l->master_key), lb_secret_len(l->master_key));
            opened++;
        } else {
            g_assert_nonnull(err);
        }
        g_assert_cmpuint(m->n_writes, ==, 0);
        memcpy(m->buf->data, g_bytes_get_data(good, NULL),
               sizeof(LbLuks1HdrDisk));
    }
    /* Unused slots, the uuid and slot 0's stripes-free fields may change;
     * the magic, strings, key size, digest and slot 0 may not. */
    g_assert_cmpuint(opened, >, 0);
    g_assert_cmpuint(opened, <, sizeof(LbLuks1HdrDisk));

    for (size_t len = 0; len < g_bytes_get_size(good); len += 4099) {
        g_autoptr(GError) err = NULL;
        g_byte_array_set_size(m->buf, len);
        g_autoptr(LbLuks) o = lb_luks_open(&io, p, 0, &err);
        g_assert_null(o);
        g_assert_nonnull(err);
        g_byte_array_set_size(m->buf, g_bytes_get_size(good));
        memcpy(m->buf->data, g_bytes_get_data(good, NULL),
               g_bytes_get_size(good));
    }
}

/* A header flagged detached may hold a payload offset inside the slots
 * (QEMU skips that check when the payload is elsewhere). */
static void test_detached_flag(void)
{
    LbLuksCreateOpts opts = {.iterations = 1000};
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new("pw");
    LbLuksIO io = mem_io(m);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");

    put_be32(m, 104, 100);
    g_autoptr(LbLuks) a = lb_luks_open(&io, p, 0, &err);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT);
    g_clear_error(&err);
    g_autoptr(LbLuks) d = lb_luks_open(&io, p, LB_LUKS_OPEN_DETACHED, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(lb_luks_payload_offset(d), ==, 100 * 512);
}

/* Bad create options give LB_LUKS_ERROR_INVALID and write nothing. */
typedef struct BadOptsCase {
    const char *name;
    LbLuksCreateOpts opts;
} BadOptsCase;

static const BadOptsCase bad_opts_cases[] = {
    {"hash-md5", {.hash_alg = "md5", .iterations = 1000}},
    {"hash-unknown", {.hash_alg = "nohash", .iterations = 1000}},
    {"alg-unknown", {.cipher_alg = "rot-13", .iterations = 1000}},
    {"ivgen-unknown", {.ivgen_alg = "lmk2", .iterations = 1000}},
    {"iterations-low", {.iterations = 999}},
    {"payload-too-small", {.payload_offset = 4036 * 512, .iterations = 1000}},
    {"payload-unaligned",
     {.payload_offset = 4096 * 512 + 1, .iterations = 1000}},
    {"uuid-bad", {.uuid = "not-a-uuid", .iterations = 1000}},
};

static void test_bad_opts(gconstpointer data)
{
    const BadOptsCase *c = data;
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new("pw");
    LbLuksIO io = mem_io(m);

    g_autoptr(LbLuks) l = lb_luks_create(&io, &c->opts, p, &err);
    g_assert_null(l);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID);
    g_test_message("%s: %s", c->name, err->message);
    g_assert_cmpuint(m->n_writes, ==, 0);
}

static void test_uuid_and_calibration(void)
{
    LbLuksCreateOpts opts = {
        .uuid = "0A1B2C3D-0000-4000-8000-00000000ABCD",
        .iter_time_ms = 10,
        .hash_alg = "SHA1",
    };
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "pw");
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l);

    g_assert_cmpstr(info->uuid, ==, "0a1b2c3d-0000-4000-8000-00000000abcd");
    g_assert_cmpstr((const char *)m->buf->data + 72, ==, "sha1");
    g_assert_cmpuint(info->master_key_iters, >=, 1000);
    g_assert_cmpuint(info->slots[0].iters, >=, 1000);
    assert_opens(m, "pw", l->master_key, 0);

    /* Forced iterations go to the slot; the digest gets the minimum, as
     * with cryptsetup --pbkdf-force-iterations. */
    LbLuksCreateOpts forced = {.iterations = 5000};
    g_autoptr(MemDev) f = mem_new(0);
    g_autoptr(LbLuks) fl = create_on(f, &forced, "pw");
    g_assert_cmpuint(be32_at(f, SLOT_OFF(0) + 4), ==, 5000);
    g_assert_cmpuint(be32_at(f, 164), ==, 1000);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    build_spec_cases();
    for (unsigned i = 0; i < spec_cases->len; i++) {
        const SpecCase *c = spec_cases->pdata[i];
        g_autofree char *path = g_strdup_printf(
            "/crypto/block/luks1/spec/%s/%s/%s", c->hash, c->alg, c->want_mode);
        g_strdelimit(path, ":", '_');
        g_test_add_data_func(path, c, test_spec_roundtrip);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(layout_cases); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/block/luks1/layout/%s",
                                                layout_cases[i].name);
        g_test_add_data_func(path, &layout_cases[i], test_layout);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(corrupt_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/crypto/block/luks1/corrupt/%s", corrupt_cases[i].name);
        g_test_add_data_func(path, &corrupt_cases[i], test_corrupt);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_opts_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/crypto/block/luks1/bad-opts/%s", bad_opts_cases[i].name);
        g_test_add_data_func(path, &bad_opts_cases[i], test_bad_opts);
    }
    g_test_add_func("/crypto/block/luks1/wrong-passphrase",
                    test_wrong_passphrase);
    g_test_add_func("/crypto/block/luks1/keyslots", test_keyslots);
    g_test_add_func("/crypto/block/luks1/no-keys", test_no_keys);
    g_test_add_func("/crypto/block/luks1/stays-in-header",
                    test_stays_in_header);
    g_test_add_func("/crypto/block/luks1/detached-flag", test_detached_flag);
    g_test_add_func("/crypto/block/luks1/corrupt/every-byte", test_every_byte);
    g_test_add_func("/crypto/block/luks1/uuid-and-calibration",
                    test_uuid_and_calibration);
    return g_test_run();
}
