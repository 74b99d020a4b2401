/*
 * test-crypto-block-luks2.c: unit tests of the LUKS2 engine
 * (crypto/block-luks2*.c, crypto/argon2.c) on an in-memory header device.
 *
 * Round trips (argon2id, argon2i, pbkdf2; sector sizes 512..4096;
 * attached/detached; labels), keyslot add/remove, the two header copies
 * (damaged primary or secondary, stale copy, both damaged), strict JSON
 * validation cases rewritten with valid checksums, digest and key material
 * corruption, and the libargon2 reference vectors.  Every failing open
 * must leave the device byte-identical and issue no write.
 */
#include "config.h"

#include <string.h>

#include "crypto/block-luks2-priv.h"
#include "lb/crypto.h"
#include "lb/luks.h"
#include "lb/secret.h"

/* ---- in-memory header device --------------------------------------------- */

typedef struct MemDev {
    GByteArray *buf;
    unsigned writes;
} MemDev;

static bool mem_read(void *o, uint64_t off, void *buf, size_t len,
                     GError **errp)
{
    MemDev *d = o;
    if (off > d->buf->len || len > d->buf->len - off) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "short read");
        return false;
    }
    memcpy(buf, d->buf->data + off, len);
    return true;
}

static void mem_resize(MemDev *d, uint64_t size)
{
    guint old = d->buf->len;
    g_byte_array_set_size(d->buf, size);
    if (size > old) {
        memset(d->buf->data + old, 0, size - old);
    }
}

static bool mem_write(void *o, uint64_t off, const void *buf, size_t len,
                      GError **errp)
{
    MemDev *d = o;
    d->writes++;
    if (off + len > d->buf->len) {
        mem_resize(d, off + len);
    }
    memcpy(d->buf->data + off, buf, len);
    return true;
}

static int64_t mem_length(void *o, GError **errp)
{
    return ((MemDev *)o)->buf->len;
}

static bool mem_truncate(void *o, uint64_t size, GError **errp)
{
    mem_resize(o, size);
    return true;
}

static bool mem_flush(void *o, GError **errp)
{
    return true;
}

static LbLuksIO mem_io(MemDev *d)
{
    LbLuksIO io = {.read = mem_read,
                   .write = mem_write,
                   .length = mem_length,
                   .truncate = mem_truncate,
                   .flush = mem_flush,
                   .opaque = d};
    return io;
}

static MemDev *mem_new(void)
{
    MemDev *d = g_new0(MemDev, 1);
    d->buf = g_byte_array_new();
    return d;
}

static void mem_free(MemDev *d)
{
    g_byte_array_unref(d->buf);
    g_free(d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MemDev, mem_free)

static LbSecret *pw(const char *s)
{
    return lb_secret_new_from(s, strlen(s));
}

/* Fast KDF settings (COMMON.md: tiny argon2, 1000 pbkdf2 iterations). */
static void fast_opts(LbLuksCreateOpts *o, const char *pbkdf)
{
    memset(o, 0, sizeof(*o));
    o->version = 2;
    o->pbkdf = pbkdf;
    o->iterations = 1000;
    o->pbkdf_time = 4;
    o->pbkdf_memory_kib = 32;
    o->pbkdf_parallel = 1;
    o->iter_time_ms = 10;
}

static LbLuks *make(MemDev *d, const char *pbkdf, const char *pass)
{
    LbLuksCreateOpts o;
    LbLuksIO io = mem_io(d);
    g_autoptr(LbSecret) p = pw(pass);
    g_autoptr(GError) err = NULL;

    fast_opts(&o, pbkdf);
    LbLuks *l = lb_luks_create(&io, &o, p, &err);
    g_assert_no_error(err);
    return l;
}

/* Open expecting failure with @code; the device must not change. */
static void open_fails(MemDev *d, const char *pass, unsigned flags, int code)
{
    LbLuksIO io = mem_io(d);
    g_autoptr(GByteArray) before = g_byte_array_new();
    g_autoptr(LbSecret) p = pass ? pw(pass) : NULL;
    g_autoptr(GError) err = NULL;
    unsigned writes = d->writes;

    g_byte_array_append(before, d->buf->data, d->buf->len);
    g_autoptr(LbLuks) l = lb_luks_open(&io, p, flags, &err);
    g_assert_null(l);
    g_assert_error(err, LB_LUKS_ERROR, code);
    if (code == LB_LUKS_ERROR_BAD_PASSPHRASE) {
        /* QEMU's wording, possibly followed by "; details". */
        g_assert_true(g_str_has_prefix(err->message,
                                       LB_LUKS_BAD_PASSPHRASE_MSG));
        g_assert_true(!err->message[strlen(LB_LUKS_BAD_PASSPHRASE_MSG)] ||
                      err->message[strlen(LB_LUKS_BAD_PASSPHRASE_MSG)] == ';');
    }
    g_assert_cmpuint(d->writes, ==, writes);
    g_assert_cmpmem(before->data, before->len, d->buf->data, d->buf->len);
}

static LbLuks *open_ok(MemDev *d, const char *pass, unsigned flags)
{
    LbLuksIO io = mem_io(d);
    g_autoptr(LbSecret) p = pass ? pw(pass) : NULL;
    g_autoptr(GError) err = NULL;

    LbLuks *l = lb_luks_open(&io, p, flags, &err);
    g_assert_no_error(err);
    g_assert_nonnull(l);
    return l;
}

/* ---- round trips ------------------------------------------------------ */

typedef struct RoundTrip {
    const char *name, *pbkdf;
    unsigned sector;
    bool detached;
    const char *label;
    uint64_t hdr_size;
    const char *cipher_alg, *cipher_mode, *ivgen;
} RoundTrip;

static const RoundTrip round_trips[] = {
    {"argon2id-512", "argon2id", 512, false, NULL, 0, NULL, NULL, NULL},
    {"argon2i-4096-detached", "argon2i", 4096, true, "MYLABEL", 0, NULL, NULL,
     NULL},
    {"pbkdf2-1024", "pbkdf2", 1024, false, NULL, 0, NULL, NULL, NULL},
    {"pbkdf2-2048-detached", "pbkdf2", 2048, true, "x", 0, NULL, NULL, NULL},
    {"argon2id-4096-64k", "argon2id", 4096, false, "big", 65536, NULL, NULL,
     NULL},
    {"pbkdf2-cbc-essiv", "pbkdf2", 512, false, NULL, 0, "aes-128", "cbc",
     "essiv"},
};

static void test_round_trip(gconstpointer data)
{
    const RoundTrip *c = data;
    g_autoptr(MemDev) d = mem_new();
    LbLuksIO io = mem_io(d);
    LbLuksCreateOpts o;
    g_autoptr(LbSecret) p = pw("secret pass");
    g_autoptr(GError) err = NULL;
    guint8 plain[8192], enc[8192], dec[8192];

    mem_resize(d, 32 << 20); /* detached: must be truncated */
    fast_opts(&o, c->pbkdf);
    o.sector_size = c->sector;
    o.detached = c->detached;
    o.label = c->label;
    o.hdr_size = c->hdr_size;
    o.cipher_alg = c->cipher_alg;
    o.cipher_mode = c->cipher_mode;
    o.ivgen_alg = c->ivgen;
    g_autoptr(LbLuks) l = lb_luks_create(&io, &o, p, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(lb_luks_version(l), ==, 2);
    g_assert_cmpuint(lb_luks_sector_size(l), ==, c->sector);
    g_assert_cmpuint(lb_luks_payload_offset(l), ==, c->detached ? 0 : 16 << 20);
    g_assert_cmpuint(lb_luks_header_size(l), ==, 16 << 20);
    g_assert_cmpuint(d->buf->len, ==, c->detached ? 16 << 20 : 32 << 20);

    for (unsigned i = 0; i < sizeof(plain); i++) {
        plain[i] = (guint8)(i * 7 + 3);
    }
    g_assert_cmpint(lb_luks_encrypt(l, 2 * 4096, plain, enc, sizeof(plain)), ==,
                    0);

    open_fails(d, "wrong pass", 0, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_autoptr(LbLuks) l2 = open_ok(d, "secret pass", LB_LUKS_OPEN_READ_ONLY);
    g_assert_cmpint(lb_luks_unlocked_slot(l2), ==, 0);
    g_assert_cmpmem(
        lb_secret_cdata(l->master_key), lb_secret_len(l->master_key),
        lb_secret_cdata(l2->master_key), lb_secret_len(l2->master_key));
    g_assert_cmpint(lb_luks_decrypt(l2, 2 * 4096, enc, dec, sizeof(dec)), ==,
                    0);
    g_assert_cmpmem(plain, sizeof(plain), dec, sizeof(dec));

    g_autoptr(LbLuks) l3 = open_ok(d, NULL, LB_LUKS_OPEN_NO_KEYS);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l3);
    g_assert_cmpuint(info->version, ==, 2);
    g_assert_cmpstr(info->label, ==, c->label);
    g_assert_cmpuint(info->sector_size, ==, c->sector);
    g_assert_cmpuint(info->seqid, ==, 1);
    g_assert_cmpuint(info->hdr_size, ==, c->hdr_size ? c->hdr_size : 16384);
    g_assert_cmpuint(info->keyslots_size + 2 * info->hdr_size, ==, 16 << 20);
    g_assert_cmpstr(info->cipher_alg, ==,
                    c->cipher_alg ? c->cipher_alg : "aes-256");
    g_assert_cmpstr(info->hash_alg, ==, "sha256");
    g_assert_cmpuint(info->master_key_iters, ==, 1000);
    g_assert_true(info->detached_header == c->detached);
    g_assert_cmpuint(info->n_slots, ==, 1);
    g_assert_cmpstr(info->slots[0].kdf, ==, c->pbkdf);
    g_assert_cmpuint(info->slots[0].key_offset, ==, 2 * info->hdr_size);
    g_assert_cmpuint(info->n_segments, ==, 1);
    g_assert_cmpuint(info->segments[0].offset, ==, c->detached ? 0 : 16 << 20);
    g_assert_cmpuint(info->n_digests, ==, 1);
    g_assert_cmpstr(info->digests[0].keyslots, ==, "0");
    g_assert_cmpstr(info->digests[0].segments, ==, "0");
    g_assert_true(g_uuid_string_is_valid(info->uuid));
}

/* The JSON we write is the compact cryptsetup form and re-encodes to
 * exactly the same bytes. */
static void test_json_canonical(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "argon2id", "pass");
    const char *text = (const char *)d->buf->data + 4096;
    LbLuks2Meta meta = {0};
    g_autoptr(GError) err = NULL;

    g_assert_true(g_str_has_prefix(
        text,
        "{\"keyslots\":{\"0\":{\"type\":\"luks2\",\"key_size\":64,\"af\":"
        "{\"type\":\"luks1\",\"stripes\":4000,\"hash\":\"sha256\"},\"area\":"
        "{\"type\":\"raw\",\"offset\":\"32768\",\"size\":\"258048\","
        "\"encryption\":\"aes-xts-plain64\",\"key_size\":64},\"kdf\":"
        "{\"type\":\"argon2id\",\"time\":4,\"memory\":32,\"cpus\":1,"
        "\"salt\":\""));
    g_assert_nonnull(strstr(
        text,
        "\"tokens\":{},\"segments\":{\"0\":{\"type\":\"crypt\",\"offset\":"
        "\"16777216\",\"size\":\"dynamic\",\"iv_tweak\":\"0\",\"encryption\":"
        "\"aes-xts-plain64\",\"sector_size\":512}},\"digests\":{\"0\":"
        "{\"type\":\"pbkdf2\",\"keyslots\":[\"0\"],\"segments\":[\"0\"],"
        "\"hash\":\"sha256\",\"iterations\":1000,\"salt\":\""));
    g_assert_true(g_str_has_suffix(text, "\"config\":{\"json_size\":\"12288\","
                                         "\"keyslots_size\":\"16744448\"}}"));
    g_assert_true(lb_luks2_json_decode(text, strlen(text), 16384, &meta, &err));
    g_assert_no_error(err);
    g_autofree char *again = lb_luks2_json_encode(&meta);
    g_assert_cmpstr(again, ==, text);
    lb_luks2_meta_clear(&meta);
    /* Both copies: magics, offsets and the same seqid. */
    g_assert_cmpmem(d->buf->data, 6, "LUKS\xba\xbe", 6);
    g_assert_cmpmem(d->buf->data + 16384, 6, "SKUL\xba\xbe", 6);
    g_assert_cmpint(d->buf->data[16384 + 256 + 6], ==, 0x40);
}

/* ---- keyslots ----------------------------------------------------------- */

static void test_keyslots(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "one");
    g_autoptr(LbSecret) two = pw("two"), three = pw("three"), one = pw("one");
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(lb_luks_add_key(l, two, -1, 10, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_cmpint(lb_luks_add_key(l, three, 5, 10, &err), ==, 5);
    g_assert_no_error(err);
    g_assert_cmpint(lb_luks_add_key(l, three, 5, 10, &err), ==, -1);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    g_assert_cmpuint(lb_luks_n_active_slots(l), ==, 3);
    {
        g_autoptr(LbLuks) o = open_ok(d, "three", 0);
        g_assert_cmpint(lb_luks_unlocked_slot(o), ==, 5);
        g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
        g_assert_cmpuint(info->seqid, ==, 3);
        g_assert_cmpstr(info->digests[0].keyslots, ==, "0,1,5");
        g_assert_cmpuint(info->slots[1].key_offset, ==, 32768 + 258048);
        g_assert_cmpuint(info->slots[2].key_offset, ==, 32768 + 2 * 258048);
        g_assert_cmpstr(info->slots[2].kdf, ==, "pbkdf2");
    }
    g_assert_true(lb_luks_remove_key(l, 0, &err));
    g_assert_no_error(err);
    g_assert_false(lb_luks_remove_key(l, 0, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_NO_SLOT);
    g_clear_error(&err);
    open_fails(d, "one", 0, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_assert_cmpint(lb_luks_find_key(l, two, &err), ==, 1);
    g_assert_cmpint(lb_luks_find_key(l, one, &err), ==, -1);
    g_assert_no_error(err);
    /* First fit: the freed area at the start is reused by the new slot 0. */
    g_assert_cmpint(lb_luks_add_key(l, one, -1, 10, &err), ==, 0);
    g_autoptr(LbLuks) o = open_ok(d, "one", 0);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
    g_assert_cmpuint(info->slots[0].key_offset, ==, 32768);
    g_assert_cmpuint(info->n_slots, ==, 3);
}

static void test_keyslot_argon2_add(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "argon2i", "one");
    g_autoptr(LbSecret) two = pw("two");
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(lb_luks_add_key(l, two, -1, 5, &err), ==, 1);
    g_assert_no_error(err);
    g_autoptr(LbLuks) o = open_ok(d, "two", 0);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
    g_assert_cmpstr(info->slots[1].kdf, ==, "argon2i");
    g_assert_cmpuint(info->slots[1].memory_kib, <=, 32);
    g_assert_cmpuint(info->slots[1].time_cost, >=, 4);
}

/* ---- header copies ------------------------------------------------------ */

typedef struct Damage {
    const char *name;
    uint64_t off; /* byte to change */
    guint8 xor ;
} Damage;

static const Damage damages[] = {
    {"primary-json", 4096 + 20, 0x01},
    {"secondary-json", 16384 + 4096 + 20, 0x01},
    {"primary-magic", 0, 0xff}, /* not even "LUKS" left */
    {"primary-version-3", 7, 0x01},
    {"primary-csum", 448, 0x10},
    {"secondary-hdr-offset", 16384 + 256 + 7, 0x01},
};

static void test_damaged_copy(gconstpointer data)
{
    const Damage *dm = data;
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    g_autoptr(LbSecret) two = pw("two");
    g_autoptr(GError) err = NULL;
    g_autoptr(GByteArray) good = g_byte_array_new();

    g_byte_array_append(good, d->buf->data, 32768);
    d->buf->data[dm->off] ^= dm->xor ;
    /* Read-only: usable, reported, nothing written. */
    {
        unsigned writes = d->writes;
        g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*header is damaged*");
        g_autoptr(LbLuks) o = open_ok(d, "pass", LB_LUKS_OPEN_READ_ONLY);
        g_test_assert_expected_messages();
        g_assert_cmpuint(d->writes, ==, writes);
        g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
        g_assert_nonnull(strstr(info->header_warning, "damaged"));
        g_assert_cmpint(lb_luks_add_key(o, two, -1, 10, &err), ==, -1);
        g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED);
        g_clear_error(&err);
        g_assert_cmpuint(d->writes, ==, writes);
    }
    /* Writable: the next header write repairs the damaged copy. */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*header is damaged*");
    g_autoptr(LbLuks) o = open_ok(d, "pass", 0);
    g_test_assert_expected_messages();
    g_assert_cmpint(lb_luks_add_key(o, two, -1, 10, &err), ==, 1);
    g_assert_no_error(err);
    unsigned state = 0;
    g_autofree char *warning = NULL;
    g_autoptr(LbLuks2Hdr) hdr = lb_luks2_hdr_read(o, &state, &warning, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(state, ==, 0);
    g_assert_null(warning);
    g_assert_cmpuint(hdr->seqid, ==, 2);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
    g_assert_null(info->header_warning);
    /* Repaired: both binary headers are whole again. */
    g_assert_cmpmem(d->buf->data, 8, good->data, 8);
    g_assert_cmpmem(d->buf->data + 16384, 8, good->data + 16384, 8);
    g_assert_cmpmem(d->buf->data + 16384 + 256, 8, good->data + 16384 + 256, 8);
}

static void test_stale_copy(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    g_autoptr(LbSecret) two = pw("two");
    g_autoptr(GError) err = NULL;
    guint8 old_primary[16384];

    memcpy(old_primary, d->buf->data, sizeof(old_primary));
    g_assert_cmpint(lb_luks_add_key(l, two, -1, 10, &err), ==, 1);
    memcpy(d->buf->data, old_primary, sizeof(old_primary));
    /* The secondary (seqid 2) is newer and wins; it knows keyslot 1. */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*differ in seqid*");
    g_autoptr(LbLuks) o = open_ok(d, "two", LB_LUKS_OPEN_READ_ONLY);
    g_test_assert_expected_messages();
    g_assert_cmpint(lb_luks_unlocked_slot(o), ==, 1);
}

/* Only a fixed-size segment records a payload size (the positive case is
 * in tests/interop/test-tools-resize.sh); dynamic ones and LUKS1 refuse
 * and write nothing. */
static void test_payload_size_dynamic(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    g_autoptr(GError) err = NULL;
    unsigned writes = d->writes;

    g_assert_cmpuint(lb_luks_payload_size(l), ==, 0);
    g_assert_false(lb_luks_set_payload_size(l, 1 << 20, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID);
    g_clear_error(&err);

    g_autoptr(MemDev) d1 = mem_new();
    LbLuksCreateOpts o = {.version = 1, .iterations = 1000};
    LbLuksIO io = mem_io(d1);
    g_autoptr(LbSecret) p = pw("pass");
    g_autoptr(LbLuks) l1 = lb_luks_create(&io, &o, p, &err);
    g_assert_no_error(err);
    unsigned writes1 = d1->writes;
    g_assert_false(lb_luks_set_payload_size(l1, 1 << 20, &err));
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_INVALID);
    g_assert_cmpuint(d->writes, ==, writes);
    g_assert_cmpuint(d1->writes, ==, writes1);
}

static void test_both_damaged(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");

    d->buf->data[4096 + 20] ^= 1;
    d->buf->data[16384 + 4096 + 20] ^= 1;
    open_fails(d, "pass", 0, LB_LUKS_ERROR_CORRUPT);
    open_fails(d, NULL, LB_LUKS_OPEN_NO_KEYS, LB_LUKS_ERROR_CORRUPT);
}

static void test_short_device(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");

    mem_resize(d, 1 << 20);
    open_fails(d, "pass", 0, LB_LUKS_ERROR_CORRUPT);
}

/* ---- JSON and material corruption --------------------------------------- */

/* Replace both copies' JSON text with @text and fix both checksums. */
static void set_json(MemDev *d, const char *text)
{
    for (uint64_t off = 0; off <= 16384; off += 16384) {
        guint8 *bin = d->buf->data + off;
        size_t area = 16384 - 4096;
        g_assert_cmpuint(strlen(text), <, area);
        memset(bin + 4096, 0, area);
        memcpy(bin + 4096, text, strlen(text));
        memset(bin + 448, 0, 64);
        g_assert_true(lb_hash_bytes2(LB_HASH_SHA256, bin, 4096, bin + 4096,
                                     area, bin + 448, NULL));
    }
}

typedef struct JsonCase {
    const char *name;
    const char *from, *to; /* first occurrence replaced */
    int code;              /* expected error, -1 = opens */
    bool ro_ok;            /* opens read-only */
} JsonCase;

static const JsonCase json_cases[] = {
    {"int-offset", "\"offset\":\"16777216\"", "\"offset\":16777216",
     LB_LUKS_ERROR_CORRUPT, false},
    {"string-key-size", "\"key_size\":64,\"af\"", "\"key_size\":\"64\",\"af\"",
     LB_LUKS_ERROR_CORRUPT, false},
    {"missing-iv-tweak", "\"iv_tweak\":\"0\",", "", LB_LUKS_ERROR_CORRUPT,
     false},
    {"area-outside", "\"offset\":\"32768\"", "\"offset\":\"16777216\"",
     LB_LUKS_ERROR_CORRUPT, false},
    {"segment-uncovered", "\"segments\":[\"0\"]", "\"segments\":[]",
     LB_LUKS_ERROR_CORRUPT, false},
    {"leading-space", "{\"keyslots\"", " {\"keyslots\"", LB_LUKS_ERROR_CORRUPT,
     false},
    {"trailing-space", "\"16744448\"}}", "\"16744448\"}} ",
     LB_LUKS_ERROR_CORRUPT, false},
    {"json-size", "\"json_size\":\"12288\"", "\"json_size\":\"12289\"",
     LB_LUKS_ERROR_CORRUPT, false},
    {"keyslots-size-unaligned", "\"keyslots_size\":\"16744448\"",
     "\"keyslots_size\":\"16744447\"", LB_LUKS_ERROR_CORRUPT, false},
    {"bad-base64", "\"salt\":\"", "\"salt\":\"*", LB_LUKS_ERROR_CORRUPT, false},
    {"missing-keyslot-ref", "\"keyslots\":[\"0\"]", "\"keyslots\":[\"7\"]",
     LB_LUKS_ERROR_CORRUPT, false},
    {"not-json", "\"tokens\":{}", "\"tokens\":{", LB_LUKS_ERROR_CORRUPT, false},
    {"integrity", "\"sector_size\":512}",
     "\"sector_size\":512,\"integrity\":{\"type\":\"hmac(sha256)\","
     "\"journal_encryption\":\"none\",\"journal_integrity\":\"none\"}}",
     LB_LUKS_ERROR_UNSUPPORTED, false},
    /* A luks2 keyslot body typed "reencrypt": key_size is not 1. */
    {"reencrypt-keyslot", "\"type\":\"luks2\"", "\"type\":\"reencrypt\"",
     LB_LUKS_ERROR_CORRUPT, false},
    {"unknown-kdf", "\"type\":\"pbkdf2\",\"hash\"",
     "\"type\":\"scrypt\",\"hash\"", LB_LUKS_ERROR_UNSUPPORTED, false},
    {"linear-segment", "\"type\":\"crypt\"", "\"type\":\"linear\"",
     LB_LUKS_ERROR_UNSUPPORTED, false},
    {"requirements", "\"keyslots_size\":\"16744448\"",
     "\"keyslots_size\":\"16744448\",\"requirements\":{\"mandatory\":"
     "[\"online-reencrypt-v2\"]}",
     LB_LUKS_ERROR_UNSUPPORTED, true},
    {"pretty-and-reordered", "{\"keyslots\"", "{\n  \"keyslots\"", -1, true},
    {"priority-prefer", "\"kdf\":{", "\"priority\":2,\"kdf\":{", -1, true},
    {"extra-flags", "\"keyslots_size\":\"16744448\"",
     "\"keyslots_size\":\"16744448\",\"flags\":[\"allow-discards\"]", -1, true},
};

static void test_json_case(gconstpointer data)
{
    const JsonCase *c = data;
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    const char *text = (const char *)d->buf->data + 4096;
    const char *at = strstr(text, c->from);

    g_assert_nonnull(at);
    g_autofree char *mod = g_strdup_printf("%.*s%s%s", (int)(at - text), text,
                                           c->to, at + strlen(c->from));
    set_json(d, mod);
    if (c->code < 0) {
        g_autoptr(LbLuks) o = open_ok(d, "pass", 0);
        return;
    }
    open_fails(d, "pass", 0, c->code);
    if (c->ro_ok) {
        unsigned writes = d->writes;
        g_autoptr(LbLuks) o = open_ok(d, "pass", LB_LUKS_OPEN_READ_ONLY);
        g_autoptr(LbLuks) o2 = open_ok(d, NULL, LB_LUKS_OPEN_NO_KEYS);
        g_autoptr(LbLuksInfo) info = lb_luks_get_info(o2);
        g_assert_cmpstr(info->requirements, ==, "online-reencrypt-v2");
        g_autoptr(GError) err = NULL;
        g_assert_false(lb_luks_remove_key(o2, 0, &err));
        g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED);
        g_assert_cmpuint(d->writes, ==, writes);
    } else {
        open_fails(d, NULL, LB_LUKS_OPEN_NO_KEYS | LB_LUKS_OPEN_READ_ONLY,
                   c->code);
    }
}

static void test_json_garbage_tail(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    g_autofree char *text = g_strdup((const char *)d->buf->data + 4096);

    /* set_json stops at the first NUL: write the tail by hand. */
    set_json(d, text);
    for (uint64_t off = 0; off <= 16384; off += 16384) {
        guint8 *bin = d->buf->data + off;
        bin[4096 + strlen(text) + 5] = 'x';
        memset(bin + 448, 0, 64);
        g_assert_true(lb_hash_bytes2(LB_HASH_SHA256, bin, 4096, bin + 4096,
                                     12288, bin + 448, NULL));
    }
    open_fails(d, "pass", 0, LB_LUKS_ERROR_CORRUPT);
}

/* Tokens are kept verbatim, follow keyslot removal, and are named in the
 * error when no passphrase matches. */
static void test_tokens(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    const char *text = (const char *)d->buf->data + 4096;
    const char *at = strstr(text, "\"tokens\":{}");
    static const char token[] =
        "\"tokens\":{\"0\":{\"type\":\"luks2-keyring\",\"keyslots\":[\"0\"],"
        "\"key_description\":\"my/key\"}}";
    g_autoptr(GError) err = NULL;

    g_assert_nonnull(at);
    g_autofree char *mod = g_strdup_printf("%.*s%s%s", (int)(at - text), text,
                                           token, at + strlen("\"tokens\":{}"));
    set_json(d, mod);
    {
        LbLuksIO io = mem_io(d);
        g_autoptr(LbSecret) bad = pw("bad");
        g_autoptr(LbLuks) o = lb_luks_open(&io, bad, 0, &err);
        g_assert_null(o);
        g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
        g_assert_cmpstr(err->message, ==, LB_LUKS_BAD_PASSPHRASE_MSG
                        "; the header's LUKS2 tokens are not supported");
        g_clear_error(&err);
    }
    g_autoptr(LbLuks) o = open_ok(d, "pass", 0);
    g_autoptr(LbSecret) two = pw("two");
    g_assert_cmpint(lb_luks_add_key(o, two, -1, 10, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(text, token));
    g_assert_true(lb_luks_remove_key(o, 0, &err));
    g_assert_no_error(err);
    g_assert_nonnull(strstr(text,
                            "\"tokens\":{\"0\":{\"type\":\"luks2-keyring\","
                            "\"keyslots\":[],\"key_description\":"
                            "\"my/key\"}}"));
    g_autoptr(LbLuks) o2 = open_ok(d, "two", 0);
}

static void test_digest_corrupt(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "pbkdf2", "pass");
    g_autofree char *text = g_strdup((const char *)d->buf->data + 4096);
    char *at = strstr(text, "\"digest\":\"");

    g_assert_nonnull(at);
    at += strlen("\"digest\":\"");
    *at = *at == 'A' ? 'B' : 'A';
    set_json(d, text);
    open_fails(d, "pass", 0, LB_LUKS_ERROR_BAD_PASSPHRASE);
}

static void test_area_corrupt(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "argon2id", "pass");

    d->buf->data[32768 + 1000] ^= 0x80;
    open_fails(d, "pass", 0, LB_LUKS_ERROR_BAD_PASSPHRASE);
}

/*
 * Mutation sweep: many single-byte changes of the JSON text (checksums
 * fixed so the JSON parser and validator see them) and of the binary
 * header.  Every open must either succeed or fail with a LUKS error; none
 * may crash or write.  Opens are NO_KEYS: a mutated KDF cost could
 * otherwise ask for gigabytes.
 */
static gboolean ignore_warnings(const gchar *domain, GLogLevelFlags level,
                                const gchar *message, gpointer data)
{
    return (level & G_LOG_LEVEL_MASK) != G_LOG_LEVEL_WARNING;
}

static void quiet_log(const gchar *domain, GLogLevelFlags level,
                      const gchar *message, gpointer data)
{
    (*(unsigned *)data)++;
}

static void test_mutations(void)
{
    g_autoptr(MemDev) d = mem_new();
    g_autoptr(LbLuks) l = make(d, "argon2id", "pass");
    g_autofree char *text = g_strdup((const char *)d->buf->data + 4096);
    g_autoptr(GByteArray) orig = g_byte_array_new();
    static const char alphabet[] = "{}[]\",:0123456789-aZ /+=\\";
    size_t len = strlen(text);
    unsigned opened = 0, refused = 0, warnings = 0;

    g_byte_array_append(orig, d->buf->data, 32768);
    g_test_log_set_fatal_handler(ignore_warnings, NULL);
    GLogFunc old = g_log_set_default_handler(quiet_log, &warnings);
    for (unsigned i = 0; i < 600; i++) {
        memcpy(d->buf->data, orig->data, orig->len);
        if (i % 3 == 2) {
            /* Binary header of one copy, no checksum fix. */
            unsigned off = g_test_rand_int_range(0, 512);
            d->buf->data[(i % 2) * 16384 + off] ^= 1u << (i % 8);
        } else {
            g_autofree char *mod = g_strdup(text);
            unsigned pos = g_test_rand_int_range(0, len);
            mod[pos] = alphabet[g_test_rand_int_range(0, sizeof(alphabet) - 1)];
            set_json(d, mod);
        }
        LbLuksIO io = mem_io(d);
        g_autoptr(GError) err = NULL;
        unsigned writes = d->writes;
        g_autoptr(LbLuks) o = lb_luks_open(
            &io, NULL, LB_LUKS_OPEN_NO_KEYS | LB_LUKS_OPEN_READ_ONLY, &err);
        if (o) {
            g_autoptr(LbLuksInfo) info = lb_luks_get_info(o);
            g_assert_cmpuint(info->version, ==, 2);
            opened++;
        } else {
            g_assert_true(err && err->domain == LB_LUKS_ERROR);
            refused++;
        }
        g_assert_cmpuint(d->writes, ==, writes);
    }
    g_log_set_default_handler(old, NULL);
    g_test_log_set_fatal_handler(NULL, NULL);
    g_test_message("mutations: %u opened, %u refused, %u warnings", opened,
                   refused, warnings);
    g_assert_cmpuint(refused, >, 0);
}

/* ---- argon2 ------------------------------------------------------------- */

typedef struct Argon2Kat {
    const char *name;
    LbArgon2Type type;
    uint32_t t, m, p;
    const char *hex;
} Argon2Kat;

/* Reference vectors of libargon2 (phc-winner-argon2 src/test.c, v0x13,
 * password "password", salt "somesalt", 32-byte output). */
static const Argon2Kat argon2_kats[] = {
    {"argon2i-m256-p1", LB_ARGON2I, 2, 256, 1,
     "89e9029f4637b295beb027056a7336c414fadd43f6b208645281cb214a56452f"},
    {"argon2i-m256-p2", LB_ARGON2I, 2, 256, 2,
     "4ff5ce2769a1d7f4c8a491df09d41a9fbe90e5eb02155a13e4c01e20cd4eab61"},
    {"argon2i-m65536", LB_ARGON2I, 2, 65536, 1,
     "c1628832147d9720c5bd1cfd61367078729f6dfb6f8fea9ff98158e0d7816ed0"},
    {"argon2id-m256-p1", LB_ARGON2ID, 2, 256, 1,
     "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe"},
    {"argon2id-m256-p2", LB_ARGON2ID, 2, 256, 2,
     "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037"},
    {"argon2id-m65536", LB_ARGON2ID, 2, 65536, 1,
     "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7"},
};

static void test_argon2_kat(gconstpointer data)
{
    const Argon2Kat *k = data;
    guint8 out[32];
    char hex[65];
    g_autoptr(GError) err = NULL;

    g_assert_true(lb_argon2(k->type, "password", 8, (const guint8 *)"somesalt",
                            8, k->t, k->m, k->p, out, sizeof(out), &err));
    g_assert_no_error(err);
    for (unsigned i = 0; i < 32; i++) {
        g_snprintf(hex + 2 * i, 3, "%02x", out[i]);
    }
    g_assert_cmpstr(hex, ==, k->hex);
}

static void test_argon2_calibrate(void)
{
    uint32_t t = 0, m = 0;
    g_autoptr(GError) err = NULL;
    guint8 out[8];

    g_assert_true(
        lb_argon2_calibrate(LB_ARGON2ID, 20, 64, 1, 64, &t, &m, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(t, >=, 4);
    g_assert_cmpuint(m, >=, 32);
    g_assert_cmpuint(m, <=, 64);
    g_assert_false(lb_argon2(LB_ARGON2ID, "x", 1, (const guint8 *)"short", 5, 4,
                             32, 1, out, sizeof(out), &err));
    g_assert_error(err, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(round_trips); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/luks2/round-trip/%s", round_trips[i].name);
        g_test_add_data_func(path, &round_trips[i], test_round_trip);
    }
    g_test_add_func("/crypto/luks2/json-canonical", test_json_canonical);
    g_test_add_func("/crypto/luks2/keyslots", test_keyslots);
    g_test_add_func("/crypto/luks2/keyslot-argon2-add",
                    test_keyslot_argon2_add);
    for (unsigned i = 0; i < G_N_ELEMENTS(damages); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/luks2/copies/%s", damages[i].name);
        g_test_add_data_func(path, &damages[i], test_damaged_copy);
    }
    g_test_add_func("/crypto/luks2/copies/stale", test_stale_copy);
    g_test_add_func("/crypto/luks2/copies/both-damaged", test_both_damaged);
    g_test_add_func("/crypto/luks2/payload-size-dynamic",
                    test_payload_size_dynamic);
    g_test_add_func("/crypto/luks2/short-device", test_short_device);
    for (unsigned i = 0; i < G_N_ELEMENTS(json_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/luks2/json/%s", json_cases[i].name);
        g_test_add_data_func(path, &json_cases[i], test_json_case);
    }
    g_test_add_func("/crypto/luks2/json/garbage-tail", test_json_garbage_tail);
    g_test_add_func("/crypto/luks2/digest-corrupt", test_digest_corrupt);
    g_test_add_func("/crypto/luks2/tokens", test_tokens);
    g_test_add_func("/crypto/luks2/area-corrupt", test_area_corrupt);
    g_test_add_func("/crypto/luks2/mutations", test_mutations);
    for (unsigned i = 0; i < G_N_ELEMENTS(argon2_kats); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/argon2/kat/%s", argon2_kats[i].name);
        g_test_add_data_func(path, &argon2_kats[i], test_argon2_kat);
    }
    g_test_add_func("/crypto/argon2/calibrate", test_argon2_calibrate);
    return g_test_run();
}
