/*
 * block-luks1-priv.h: LUKS1 internals shared by the format's two files.
 *
 *   crypto/block-luks1.c          phdr encoding, staged validation, open,
 *                                 info, the LbLuksFormatOps table
 *   crypto/block-luks1-keyslot.c  keyslot unlock (§1.5), key material
 *                                 writes, create, add/remove/find key
 *
 * LbLuks1Hdr is the host-order twin of LbLuks1HdrDisk (block-luks-priv.h);
 * an LbLuks opened or created as LUKS1 keeps one in luks->fmt.
 */
#ifndef LB_CRYPTO_BLOCK_LUKS1_PRIV_H
#define LB_CRYPTO_BLOCK_LUKS1_PRIV_H

#include "block-luks-priv.h"

#define LB_LUKS1_MAX_KEY_BYTES 256u
#define LB_LUKS1_SLOT_ALIGN 8u /* sectors: slots are 4 KiB aligned */
#define LB_LUKS1_FIRST_SLOT 8u /* sectors: first key material */
#define LB_LUKS1_ROUND_UP(n, a) (((n) + (a)-1) / (a) * (a))

typedef struct LbLuks1Slot {
    uint32_t active;
    uint32_t iterations;
    guint8 salt[LB_LUKS_SALT_LEN];
    uint32_t key_offset; /* sectors on the header device */
    uint32_t stripes;
} LbLuks1Slot;

typedef struct LbLuks1Hdr {
    char cipher_name[LB_LUKS1_NAME_LEN];
    char cipher_mode[LB_LUKS1_NAME_LEN];
    char hash_spec[LB_LUKS1_NAME_LEN];
    uint32_t payload_offset; /* sectors on the data device */
    uint32_t key_bytes;
    guint8 mk_digest[LB_LUKS1_DIGEST_LEN];
    guint8 mk_digest_salt[LB_LUKS_SALT_LEN];
    uint32_t mk_digest_iterations;
    char uuid[LB_LUKS_UUID_LEN + 1];
    LbLuks1Slot slots[LB_LUKS1_NUM_SLOTS];

    /* Derived at open/create. */
    LbHashAlg hash;
    uint64_t af_sectors; /* material length of each slot */
} LbLuks1Hdr;

/* block-luks1.c */
void lb_luks1_encode(const LbLuks1Hdr *h, LbLuks1HdrDisk *d);
/** A cipher context built from a dummy key proves the spec is usable;
 * otherwise an error with @code. */
bool lb_luks1_check_cipher(const char *name, const char *mode, size_t key_bytes,
                           LbLuksError code, GError **errp);
/** Fill the common LbLuks fields from @h. */
void lb_luks1_publish(LbLuks *luks, const LbLuks1Hdr *h);

/* block-luks1-keyslot.c */
/**
 * lb_luks1_search: the active slot that @pass opens, with the volume key
 * in *@key; -1 when none does, -2 on error (@errp set).
 */
int lb_luks1_search(LbLuks *luks, const LbLuks1Hdr *h, const LbSecret *pass,
                    LbSecret **key, GError **errp);
bool lb_luks1_create(LbLuks *luks, const LbLuksCreateOpts *opts,
                     const LbSecret *pass, GError **errp);
int lb_luks1_add_key(LbLuks *luks, const LbSecret *pass, int slot,
                     uint64_t iter_time_ms, GError **errp);
bool lb_luks1_remove_key(LbLuks *luks, int slot, GError **errp);
int lb_luks1_find_key(LbLuks *luks, const LbSecret *pass, GError **errp);

#endif /* LB_CRYPTO_BLOCK_LUKS1_PRIV_H */
