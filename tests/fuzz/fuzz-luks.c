/*
 * fuzz-luks.c: fuzz harnesses of the LUKS engine's header parsers.
 *
 * The input is a header device held in memory behind LbLuksIO callbacks;
 * writes are refused, so a harness also proves that opening never writes.
 * An input that opens is described (lb_luks_get_info) and, when its key
 * derivation is cheap enough to run thousands of times a second, opened
 * again with the passphrase "fuzz" (the one the seed corpus uses) and one
 * sector is decrypted.  LUKS2 checksums are recomputed first, or almost no
 * mutated input would get past them.
 */
#include "config.h"
#include "fuzz-targets.h"

#include <string.h>
#include <glib.h>

#include "lb/crypto.h"
#include "lb/luks.h"
#include "lb/secret.h"
#include "crypto/block-luks2-priv.h"

#define FUZZ_PASSPHRASE "fuzz"
/* Largest key derivation cost a harness runs (per keyslot). */
#define FUZZ_MAX_PBKDF2_ITERS 2000u
#define FUZZ_MAX_ARGON2_TIME 4u
#define FUZZ_MAX_ARGON2_MEMORY 256u
#define FUZZ_MAX_ARGON2_PARALLEL 2u

/*
 * The device looks this big: past the input it reads as zeros, so seeds
 * can stop after keyslot 0 while the layout checks still see a device
 * that holds the whole header area.
 */
#define FUZZ_DEV_SIZE (256u * 1024 * 1024)

typedef struct FuzzDev {
    const guint8 *data;
    size_t len;
} FuzzDev;

static bool fuzz_read(void *opaque, uint64_t off, void *buf, size_t len,
                      GError **errp)
{
    FuzzDev *d = opaque;

    if (off > FUZZ_DEV_SIZE || len > FUZZ_DEV_SIZE - off) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "short read at %" G_GUINT64_FORMAT, off);
        return false;
    }
    size_t have = off < d->len ? MIN(len, d->len - off) : 0;
    if (have) {
        memcpy(buf, d->data + off, have);
    }
    memset((guint8 *)buf + have, 0, len - have);
    return true;
}

static bool fuzz_write(void *opaque, uint64_t off, const void *buf, size_t len,
                       GError **errp)
{
    /* Opening read-only must never write: make it a crash. */
    g_error("fuzz: header write at %" G_GUINT64_FORMAT " while opening", off);
    return false;
}

static int64_t fuzz_length(void *opaque, GError **errp)
{
    return MAX(((FuzzDev *)opaque)->len, FUZZ_DEV_SIZE);
}

static LbLuksIO fuzz_io(FuzzDev *d)
{
    return (LbLuksIO) {
        .read = fuzz_read, .write = fuzz_write, .length = fuzz_length,
        .opaque = d,
    };
}

/* Whether unlocking every active keyslot of @info is cheap. */
static bool cheap_kdf(const LbLuksInfo *info)
{
    if (info->master_key_iters > FUZZ_MAX_PBKDF2_ITERS) {
        return false;
    }
    for (unsigned i = 0; i < info->n_digests; i++) {
        if (info->digests[i].iterations > FUZZ_MAX_PBKDF2_ITERS) {
            return false;
        }
    }
    for (unsigned i = 0; i < info->n_slots; i++) {
        const LbLuksSlotInfo *s = &info->slots[i];
        if (!s->active) {
            continue;
        }
        if (s->iters > FUZZ_MAX_PBKDF2_ITERS ||
            s->time_cost > FUZZ_MAX_ARGON2_TIME ||
            s->memory_kib > FUZZ_MAX_ARGON2_MEMORY ||
            s->parallel > FUZZ_MAX_ARGON2_PARALLEL) {
            return false;
        }
    }
    return true;
}

/* Open @dev without keys, describe it, and if cheap, unlock and decrypt. */
static void open_device(FuzzDev *dev)
{
    LbLuksIO io = fuzz_io(dev);
    unsigned flags = LB_LUKS_OPEN_READ_ONLY | LB_LUKS_OPEN_DETACHED;
    g_autoptr(GError) err = NULL;
    /* As an attached header (payload after it), then as a detached one. */
    lb_luks_free(lb_luks_open(
        &io, NULL, LB_LUKS_OPEN_READ_ONLY | LB_LUKS_OPEN_NO_KEYS, &err));
    g_clear_error(&err);
    g_autoptr(LbLuks) hdr =
        lb_luks_open(&io, NULL, flags | LB_LUKS_OPEN_NO_KEYS, &err);

    if (!hdr) {
        g_assert(err && err->message);
        return;
    }
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(hdr);
    g_assert(info);
    g_assert(lb_luks_header_size(hdr) > 0);
    if (!cheap_kdf(info)) {
        return;
    }

    g_autoptr(LbSecret) pass =
        lb_secret_new_from(FUZZ_PASSPHRASE, strlen(FUZZ_PASSPHRASE));
    g_autoptr(LbLuks) luks = lb_luks_open(&io, pass, flags, &err);
    if (!luks) {
        g_assert(err && err->message);
        return;
    }
    unsigned ss = lb_luks_sector_size(luks);
    g_assert(ss >= 512 && ss <= 4096);
    g_autofree guint8 *sector = g_malloc0(ss);
    g_assert_cmpint(lb_luks_decrypt(luks, 0, sector, sector, ss), ==, 0);
    g_assert_cmpint(lb_luks_encrypt(luks, ss, sector, sector, ss), ==, 0);
    g_assert_cmpint(lb_luks_find_key(luks, pass, NULL), >=, 0);
}

int lb_fuzz_luks1(const uint8_t *data, size_t size)
{
    FuzzDev dev = { data, size };

    open_device(&dev);
    return 0;
}

/* Recompute the checksum of the LUKS2 copy at @off of @buf, if sane. */
static void fix_csum(guint8 *buf, size_t len, uint64_t off)
{
    LbLuks2HdrDisk d;
    LbHashAlg alg;
    char alg_name[LB_LUKS2_CSUM_ALG_LEN];
    guint8 csum[LB_HASH_MAX_DIGEST];

    if (off > len || len - off < sizeof(d)) {
        return;
    }
    memcpy(&d, buf + off, sizeof(d));
    uint64_t hdr_size = GUINT64_FROM_BE(d.hdr_size);
    if (!lb_luks2_hdr_size_valid(hdr_size) || hdr_size > len - off) {
        return;
    }
    memcpy(alg_name, d.checksum_alg, sizeof(alg_name));
    alg_name[sizeof(alg_name) - 1] = '\0';
    if (!lb_hash_from_name(alg_name, &alg, NULL) || !lb_hash_supported(alg)) {
        return;
    }
    memset(d.csum, 0, sizeof(d.csum));
    if (!lb_hash_bytes2(alg, &d, sizeof(d), buf + off + sizeof(d),
                        hdr_size - sizeof(d), csum, NULL)) {
        return;
    }
    memcpy(buf + off + offsetof(LbLuks2HdrDisk, csum), csum,
           lb_hash_digest_len(alg));
}

static void open_luks2_copy(guint8 *buf, size_t len)
{
    FuzzDev dev = { buf, len };

    fix_csum(buf, len, 0);
    if (len >= sizeof(LbLuks2HdrDisk)) {
        uint64_t hdr_size =
            GUINT64_FROM_BE(((LbLuks2HdrDisk *)buf)->hdr_size);
        if (lb_luks2_hdr_size_valid(hdr_size)) {
            fix_csum(buf, len, hdr_size);
        }
    }
    open_device(&dev);
}

int lb_fuzz_luks2(const uint8_t *data, size_t size)
{
    g_autofree guint8 *buf = g_memdup2(data, size);

    open_luks2_copy(buf, size);
    return 0;
}

/* Decode @text; what decodes must encode to text that decodes the same. */
static void json_round_trip(const char *text, size_t len)
{
    g_autoptr(LbLuks2Hdr) h1 = lb_luks2_hdr_new();
    g_autoptr(GError) err = NULL;

    if (!lb_luks2_json_decode(text, len, LB_LUKS2_DEFAULT_HDR_SIZE, &h1->meta,
                              &err)) {
        g_assert(err && err->message);
        return;
    }
    g_autofree char *enc1 = lb_luks2_json_encode(&h1->meta);
    g_autoptr(LbLuks2Hdr) h2 = lb_luks2_hdr_new();
    if (!lb_luks2_json_decode(enc1, strlen(enc1), LB_LUKS2_DEFAULT_HDR_SIZE,
                              &h2->meta, &err)) {
        g_error("fuzz: re-encoded LUKS2 JSON does not decode: %s\n%s",
                err->message, enc1);
    }
    g_autofree char *enc2 = lb_luks2_json_encode(&h2->meta);
    if (strcmp(enc1, enc2) != 0) {
        g_error("fuzz: LUKS2 JSON encoding is not stable:\n%s\n%s", enc1,
                enc2);
    }
}

int lb_fuzz_luks2_json(const uint8_t *data, size_t size)
{
    const size_t hdr = LB_LUKS2_DEFAULT_HDR_SIZE;
    const size_t area = hdr - LB_LUKS2_BIN_SIZE;

    if (size >= area || memchr(data, '\0', size)) {
        return 0;    /* the JSON area is NUL-terminated text */
    }
    json_round_trip((const char *)data, size);

    /* The same text in both copies of a 16 KiB header, no keyslot areas. */
    g_autofree guint8 *buf = g_malloc0(2 * hdr);
    for (unsigned copy = 0; copy < 2; copy++) {
        LbLuks2HdrDisk *d = (LbLuks2HdrDisk *)(buf + copy * hdr);
        memcpy(d->magic, copy ? lb_luks2_magic2 : lb_luks_magic,
               LB_LUKS_MAGIC_LEN);
        d->version = GUINT16_TO_BE(2);
        d->hdr_size = GUINT64_TO_BE(hdr);
        d->seqid = GUINT64_TO_BE(1);
        strcpy(d->checksum_alg, "sha256");
        strcpy(d->uuid, "6b1a5bd4-8f6c-4d4e-9b8a-6d3f4c2b1a00");
        d->hdr_offset = GUINT64_TO_BE(copy * hdr);
        memcpy(buf + copy * hdr + LB_LUKS2_BIN_SIZE, data, size);
    }
    open_luks2_copy(buf, 2 * hdr);
    return 0;
}
