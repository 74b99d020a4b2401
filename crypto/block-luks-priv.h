/*
 * block-luks-priv.h: internals shared by the LUKS engine's files.
 *
 * crypto/block-luks.c owns the format-independent part of LbLuks (probe,
 * dispatch, the pool of cipher contexts for the data path, option naming).
 * Each on-disk format implements LbLuksFormatOps:
 *   crypto/block-luks1.c   LUKS1 (on-disk structs below)
 *   crypto/block-luks2*.c  LUKS2 (binary header, JSON, keyslots, creation)
 * A format's open/create fill in the common fields of LbLuks (version,
 * cipher spec, payload offset/size, sector size, volume key) and keep
 * their own state in luks->fmt.
 */
#ifndef LB_CRYPTO_BLOCK_LUKS_PRIV_H
#define LB_CRYPTO_BLOCK_LUKS_PRIV_H

#include "lb/luks.h"
#include "lb/crypto.h"

#define LB_LUKS_MAGIC_LEN 6
extern const guint8 lb_luks_magic[LB_LUKS_MAGIC_LEN];   /* "LUKS\xba\xbe" */
extern const guint8 lb_luks2_magic2[LB_LUKS_MAGIC_LEN]; /* "SKUL\xba\xbe" */

#define LB_LUKS_SECTOR 512u
#define LB_LUKS_STRIPES 4000u
#define LB_LUKS_SALT_LEN 32u
#define LB_LUKS_UUID_LEN 40u
#define LB_LUKS_DEFAULT_ITER_TIME_MS 2000u
#define LB_LUKS_MIN_ITERATIONS 1000u

/* ---- LUKS1 on-disk structures (big-endian; see LUKS-FORMAT.md §1) ----- */

#define LB_LUKS1_NUM_SLOTS 8
#define LB_LUKS1_SLOT_ACTIVE 0x00AC71F3u
#define LB_LUKS1_SLOT_DISABLED 0x0000DEADu
#define LB_LUKS1_DIGEST_LEN 20
#define LB_LUKS1_NAME_LEN 32

typedef struct __attribute__((packed)) LbLuks1SlotDisk {
    uint32_t active;
    uint32_t iterations;
    guint8 salt[LB_LUKS_SALT_LEN];
    uint32_t key_offset;         /* 512-byte sectors on the header device */
    uint32_t stripes;
} LbLuks1SlotDisk;
G_STATIC_ASSERT(sizeof(LbLuks1SlotDisk) == 48);

typedef struct __attribute__((packed)) LbLuks1HdrDisk {
    guint8 magic[LB_LUKS_MAGIC_LEN];
    uint16_t version;
    char cipher_name[LB_LUKS1_NAME_LEN];
    char cipher_mode[LB_LUKS1_NAME_LEN];
    char hash_spec[LB_LUKS1_NAME_LEN];
    uint32_t payload_offset;     /* 512-byte sectors on the data device */
    uint32_t key_bytes;
    guint8 mk_digest[LB_LUKS1_DIGEST_LEN];
    guint8 mk_digest_salt[LB_LUKS_SALT_LEN];
    uint32_t mk_digest_iterations;
    char uuid[LB_LUKS_UUID_LEN];
    LbLuks1SlotDisk slots[LB_LUKS1_NUM_SLOTS];
} LbLuks1HdrDisk;
G_STATIC_ASSERT(sizeof(LbLuks1HdrDisk) == 592);

/* ---- format dispatch --------------------------------------------------- */

typedef struct LbLuksFormatOps {
    const char *name;
    /* Read + validate the header; unless NO_KEYS, unlock with @pass and
     * set luks->master_key / luks->unlocked_slot. */
    bool (*open)(LbLuks *luks, const LbSecret *pass, unsigned flags,
                 GError **errp);
    /* Write a new header; set luks->master_key. */
    bool (*create)(LbLuks *luks, const LbLuksCreateOpts *opts,
                   const LbSecret *pass, GError **errp);
    void (*fill_info)(LbLuks *luks, LbLuksInfo *info);
    int (*add_key)(LbLuks *luks, const LbSecret *pass, int slot,
                   uint64_t iter_time_ms, GError **errp);
    bool (*remove_key)(LbLuks *luks, int slot, GError **errp);
    /* -1 no match, -2 error */
    int (*find_key)(LbLuks *luks, const LbSecret *pass, GError **errp);
    unsigned (*n_active_slots)(LbLuks *luks);
    void (*free_fmt)(void *fmt);
} LbLuksFormatOps;

extern const LbLuksFormatOps lb_luks1_ops;
extern const LbLuksFormatOps lb_luks2_ops;

/**
 * lb_luks2_has_secondary: whether a LUKS2 secondary header ("SKUL" magic,
 * version 2) sits at one of the allowed header sizes, so a volume whose
 * primary header is destroyed can still be opened (LUKS-FORMAT.md §4.1).
 */
bool lb_luks2_has_secondary(LbLuks *luks);

#define LB_LUKS_POOL_MAX 16

/* crypto/block-luks2-reencrypt-map.c: data path mid-reencryption. */
typedef struct LbLuks2ReencMap LbLuks2ReencMap;
void lb_luks2_reenc_map_free(LbLuks2ReencMap *m);
int lb_luks2_reenc_map_crypt(LbLuks2ReencMap *map, bool encrypt,
                             uint64_t offset, const guint8 *in, guint8 *out,
                             size_t len);

struct LbLuks {
    LbLuksIO io;
    unsigned flags;                /* LbLuksOpenFlags */
    const LbLuksFormatOps *ops;
    void *fmt;                     /* format-private state */

    /* Filled by the format's open/create: */
    unsigned version;
    char cipher_name[LB_LUKS1_NAME_LEN];   /* "aes" */
    char cipher_mode[LB_LUKS1_NAME_LEN];   /* "xts-plain64" */
    uint64_t payload_offset;       /* bytes on the data device */
    uint64_t payload_size;         /* bytes, 0 = dynamic */
    uint64_t iv_tweak;             /* 512-byte units added to IV sectors */
    unsigned sector_size;          /* encryption unit */
    uint64_t header_size;          /* bytes occupied on the header device */
    LbSecret *master_key;          /* NULL when opened without keys */
    int unlocked_slot;

    /*
     * Header guard (issue 10).  update_lock serialises the header changes
     * (add/remove key, segment size) for their whole run, from the copy of
     * the header to the swap, so two changes never each write their own
     * copy and lose the other's.  hdr_lock lets readers (info, find_key,
     * n_active_slots) see the old or the new header, never a freed or
     * half-changed one: a change holds it for writing only while it swaps
     * or edits the in-memory header, not during the KDF.
     */
    GMutex update_lock;
    GRWLock hdr_lock;

    /* Set when the header is mid-reencryption: requests are split by
     * segment (crypto/block-luks2-reencrypt-map.c). */
    LbLuks2ReencMap *reenc;

    /* Data path: a pool of ready cipher contexts keyed with master_key. */
    GMutex pool_lock;
    LbBlockCipher *pool[LB_LUKS_POOL_MAX];
    unsigned pool_n;
};

/* Helpers for formats (crypto/block-luks.c). */

/** Read the header device, with a clear error on a short device. */
bool lb_luks_io_read(LbLuks *luks, uint64_t off, void *buf, size_t len,
                     GError **errp);
bool lb_luks_io_write(LbLuks *luks, uint64_t off, const void *buf,
                      size_t len, GError **errp);
bool lb_luks_io_flush(LbLuks *luks, GError **errp);

/**
 * lb_luks_spec_from_opts: turn QEMU-style create options into a dm-crypt
 * cipher name and mode ("aes", "xts-plain64") plus the volume key length.
 */
bool lb_luks_spec_from_opts(const LbLuksCreateOpts *opts, char *cipher_name,
                            char *cipher_mode, size_t *key_bytes,
                            GError **errp);
/**
 * lb_luks_spec_to_info: split a dm-crypt spec into QEMU's info names
 * (cipher-alg "aes-256", cipher-mode "xts", ivgen-alg, ivgen-hash-alg).
 */
void lb_luks_spec_to_info(const char *cipher_name, const char *cipher_mode,
                          size_t key_bytes, LbLuksInfo *info);

/**
 * lb_luks_crypt_area: encrypt/decrypt key material: @len bytes, 512-byte
 * sectors, IV sector 0 at the start (LUKS-FORMAT.md §1.5, §3.5).
 */
bool lb_luks_crypt_area(const char *cipher_name, const char *cipher_mode,
                        const guint8 *key, size_t keylen, bool encrypt,
                        guint8 *buf, size_t len, GError **errp);

/** Number of 512-byte sectors of AF material for a @key_bytes key. */
static inline uint64_t lb_luks_af_sectors(size_t key_bytes)
{
    return ((uint64_t)key_bytes * LB_LUKS_STRIPES + LB_LUKS_SECTOR - 1) /
           LB_LUKS_SECTOR;
}

/** Generate a random RFC 4122 v4 UUID in canonical lower-case text. */
void lb_luks_uuid_generate(char out[37]);

#endif /* LB_CRYPTO_BLOCK_LUKS_PRIV_H */
