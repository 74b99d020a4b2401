/*
 * block-luks2-priv.h: LUKS2 internals shared by crypto/block-luks2*.c.
 *
 * The LUKS2 format (LUKS-FORMAT.md §3, §4) is split the cryptsetup way:
 *   block-luks2-disk.c    binary headers, checksums, two copies, seqid
 *   block-luks2-json.c    JSON metadata: strict decode/validate into the
 *                         typed structs below
 *   block-luks2-json-encode.c  cryptsetup-exact JSON encoding
 *   block-luks2.c         open, unlock, info, the LbLuksFormatOps table
 *   block-luks2-create.c  format, keyslot add/remove, area allocation
 *
 * On-disk struct (big-endian) LbLuks2HdrDisk; its in-memory twin is
 * LbLuks2Hdr, host order, holding the decoded JSON in LbLuks2Meta.
 */
#ifndef LB_CRYPTO_BLOCK_LUKS2_PRIV_H
#define LB_CRYPTO_BLOCK_LUKS2_PRIV_H

#include "block-luks-priv.h"

#include <json-glib/json-glib.h>

#define LB_LUKS2_BIN_SIZE 4096u
#define LB_LUKS2_LABEL_LEN 48
#define LB_LUKS2_CSUM_ALG_LEN 32
#define LB_LUKS2_HDR_SALT_LEN 64
#define LB_LUKS2_CSUM_LEN 64
#define LB_LUKS2_MAX_KEYSLOTS 32
#define LB_LUKS2_MAX_SEGMENTS 32
#define LB_LUKS2_MAX_DIGESTS 8
#define LB_LUKS2_MAX_TOKENS 32
#define LB_LUKS2_SALT_MAX 64
#define LB_LUKS2_DEFAULT_HDR_SIZE 16384u
#define LB_LUKS2_MIN_HDR_SIZE 16384u
#define LB_LUKS2_MAX_HDR_SIZE (4u * 1024 * 1024)
#define LB_LUKS2_MAX_KEYSLOTS_SIZE (128u * 1024 * 1024)
#define LB_LUKS2_DEFAULT_LAYOUT (16u * 1024 * 1024) /* 2*hdr + keyslots */
#define LB_LUKS2_ALIGN (1024u * 1024)               /* attached data */

/* ---- binary header (LUKS-FORMAT.md §3.2) ------------------------------ */

typedef struct __attribute__((packed)) LbLuks2HdrDisk {
    guint8 magic[LB_LUKS_MAGIC_LEN];
    uint16_t version;
    uint64_t hdr_size;
    uint64_t seqid;
    char label[LB_LUKS2_LABEL_LEN];
    char checksum_alg[LB_LUKS2_CSUM_ALG_LEN];
    guint8 salt[LB_LUKS2_HDR_SALT_LEN];
    char uuid[LB_LUKS_UUID_LEN];
    char subsystem[LB_LUKS2_LABEL_LEN];
    uint64_t hdr_offset;
    guint8 pad1[184];
    guint8 csum[LB_LUKS2_CSUM_LEN];
    guint8 pad2[3584];
} LbLuks2HdrDisk;
G_STATIC_ASSERT(sizeof(LbLuks2HdrDisk) == LB_LUKS2_BIN_SIZE);
G_STATIC_ASSERT(offsetof(LbLuks2HdrDisk, hdr_offset) == 256);
G_STATIC_ASSERT(offsetof(LbLuks2HdrDisk, csum) == 448);

/* ---- JSON metadata, typed (LUKS-FORMAT.md §3.4-§3.8) ------------------ */

typedef enum {
    LB_LUKS2_KDF_PBKDF2,
    LB_LUKS2_KDF_ARGON2I,
    LB_LUKS2_KDF_ARGON2ID,
} LbLuks2KdfType;

typedef struct LbLuks2Keyslot {
    bool used;
    uint32_t key_size; /* volume key bytes */
    LbHashAlg af_hash;
    int64_t af_stripes;   /* as stored (any JSON integer, as cryptsetup
                             accepts); 4000 is always used */
    uint64_t area_offset; /* bytes on the header device */
    uint64_t area_size;
    char *area_encryption;  /* "aes-xts-plain64" */
    uint32_t area_key_size; /* KDF output bytes */
    LbLuks2KdfType kdf;
    LbHashAlg kdf_hash;          /* pbkdf2 */
    uint32_t iterations;         /* pbkdf2 */
    uint32_t time, memory, cpus; /* argon2 */
    guint8 salt[LB_LUKS2_SALT_MAX];
    size_t salt_len;
    int priority; /* 0 ignore, 1 normal (absent), 2 prefer */
    /* Type "reencrypt" (block-luks2-reencrypt.c): area_offset/area_size
     * above hold its area, key_size is 1, the luks2 fields are unused. */
    struct {
        bool used;
        char mode[16];      /* "encrypt", "reencrypt", "decrypt" */
        char direction[16]; /* "forward", "backward" */
        char area_type[24]; /* none journal checksum datashift... */
        LbHashAlg hash;     /* checksum */
        uint32_t sector_size;
        uint64_t shift_size; /* datashift */
    } re;
} LbLuks2Keyslot;

typedef struct LbLuks2Segment {
    bool used;
    uint64_t offset; /* bytes on the data device */
    uint64_t size;   /* bytes; 0 with dynamic */
    bool dynamic;
    uint64_t iv_tweak;
    char *encryption;
    uint32_t sector_size;
    char **flags; /* NULL or a NULL-terminated list */
    bool linear;  /* type "linear" (reencryption): no encryption */
} LbLuks2Segment;

typedef struct LbLuks2Digest {
    bool used;
    LbHashAlg hash;
    uint32_t iterations;
    guint8 salt[LB_LUKS2_SALT_MAX];
    size_t salt_len;
    guint8 digest[LB_HASH_MAX_DIGEST];
    size_t digest_len;
    guint32 keyslots; /* bit i = keyslot "i" */
    guint32 segments; /* bit i = segment "i" */
} LbLuks2Digest;

typedef struct LbLuks2Meta {
    LbLuks2Keyslot keyslots[LB_LUKS2_MAX_KEYSLOTS];
    LbLuks2Segment segments[LB_LUKS2_MAX_SEGMENTS];
    LbLuks2Digest digests[LB_LUKS2_MAX_DIGESTS];
    JsonNode *tokens; /* the "tokens" object, kept verbatim */
    uint64_t json_size;
    uint64_t keyslots_size;
    char **config_flags; /* NULL or NULL-terminated */
    char **requirements; /* mandatory requirements, NULL if none */
} LbLuks2Meta;

/* One header copy as understood in memory. */
typedef struct LbLuks2Hdr {
    uint64_t hdr_size;
    uint64_t seqid;
    char label[LB_LUKS2_LABEL_LEN];
    char subsystem[LB_LUKS2_LABEL_LEN];
    char uuid[LB_LUKS_UUID_LEN];
    char checksum_alg[LB_LUKS2_CSUM_ALG_LEN];
    LbLuks2Meta meta;
} LbLuks2Hdr;

LbLuks2Hdr *lb_luks2_hdr_new(void);
void lb_luks2_hdr_free(LbLuks2Hdr *hdr);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbLuks2Hdr, lb_luks2_hdr_free)
/** lb_luks2_hdr_dup: (transfer full) a deep copy. */
LbLuks2Hdr *lb_luks2_hdr_dup(const LbLuks2Hdr *hdr);
void lb_luks2_meta_clear(LbLuks2Meta *meta);

/** Whether @size is one of the allowed LUKS2 metadata sizes. */
bool lb_luks2_hdr_size_valid(uint64_t size);

/* ---- block-luks2-json.c, block-luks2-json-encode.c ------------------ */

/**
 * lb_luks2_json_decode: parse and strictly validate the JSON area text
 * @text (@len bytes, no NUL inside) of a header whose binary part says
 * @hdr_size, into @meta (which must be zeroed).  Errors are
 * LB_LUKS_ERROR_CORRUPT, or LB_LUKS_ERROR_UNSUPPORTED for valid metadata
 * this engine cannot handle (integrity, reencryption, unknown kdf...).
 */
bool lb_luks2_json_decode(const char *text, size_t len, uint64_t hdr_size,
                          LbLuks2Meta *meta, GError **errp);
/** lb_luks2_json_encode: (transfer full) cryptsetup-style compact JSON. */
char *lb_luks2_json_encode(const LbLuks2Meta *meta);
/** lb_luks2_id_list: "0,1" for a bitmask (info output). */
char *lb_luks2_id_list(guint32 mask);

/* ---- block-luks2-disk.c ------------------------------------------------ */

/* Result of reading both copies. */
typedef enum {
    LB_LUKS2_COPY_PRIMARY_BAD = 1 << 0,
    LB_LUKS2_COPY_SECONDARY_BAD = 1 << 1,
    LB_LUKS2_COPY_STALE = 1 << 2, /* valid copies with different seqid */
} LbLuks2CopyState;

/**
 * lb_luks2_hdr_read: read both copies, validate them, and return the
 * newer valid one.  @state tells which copy is damaged or stale (the next
 * lb_luks2_hdr_write() rewrites both).
 * Returns: (transfer full) the header, or NULL with @errp set.
 * @warning is set (transfer full) to a message for the user when a copy
 * is damaged or stale, else left as is; the caller reports it only if
 * the open then succeeds.
 */
LbLuks2Hdr *lb_luks2_hdr_read(LbLuks *luks, unsigned *state, char **warning,
                              GError **errp);
/**
 * lb_luks2_hdr_write: bump seqid and write both copies (primary, then
 * secondary), then flush.  The encoded metadata is decoded and validated
 * again first; a header that does not validate is never written.
 */
bool lb_luks2_hdr_write(LbLuks *luks, LbLuks2Hdr *hdr, GError **errp);

/* ---- block-luks2.c ------------------------------------------------------ */

typedef struct LbLuks2State {
    LbLuks2Hdr *hdr;
    unsigned copy_state; /* LbLuks2CopyState at open */
} LbLuks2State;

/**
 * lb_luks2_keyslot_unlock: derive the key of keyslot @id from @pass and
 * recover the volume key into @vk (key_size bytes) if the digest matches.
 * Returns: 1 match, 0 wrong passphrase, -1 error (@errp set).
 */
int lb_luks2_keyslot_unlock(LbLuks *luks, const LbLuks2Hdr *hdr, int id,
                            const LbSecret *pass, LbSecret **vk, GError **errp);
/** lb_luks2_derive: run keyslot @ks's KDF on @pass into @out. */
bool lb_luks2_derive(const LbLuks2Keyslot *ks, const LbSecret *pass,
                     guint8 *out, GError **errp);
/** lb_luks2_segment_digest: index of the digest covering segment 0, or -1. */
int lb_luks2_segment_digest(const LbLuks2Meta *meta);
/** Fill luks's common fields from @hdr (cipher spec, offsets, sizes). */
bool lb_luks2_set_common(LbLuks *luks, const LbLuks2Hdr *hdr, GError **errp);

/* ---- block-luks2-create.c ---------------------------------------------- */

bool lb_luks2_create(LbLuks *luks, const LbLuksCreateOpts *opts,
                     const LbSecret *pass, GError **errp);
int lb_luks2_add_key(LbLuks *luks, const LbSecret *pass, int slot,
                     uint64_t iter_time_ms, GError **errp);
bool lb_luks2_remove_key(LbLuks *luks, int slot, GError **errp);
bool lb_luks2_set_segment_size(LbLuks *luks, uint64_t size, GError **errp);

/**
 * lb_luks2_digest_make: a new pbkdf2/sha256 digest of @vk in @d, bound to
 * nothing (the caller sets keyslots and segments).
 */
bool lb_luks2_digest_make(LbLuks2Digest *d, const LbSecret *vk,
                          uint64_t iter_time_ms, uint32_t iterations,
                          GError **errp);
/**
 * lb_luks2_keyslot_make: keyslot @slot of @hdr (in memory) for @vk with
 * @pass, KDF like @tmpl (NULL = argon2id), area cipher @encryption; its
 * key material is written and flushed, the header is not.
 */
bool lb_luks2_keyslot_make(LbLuks *luks, LbLuks2Hdr *hdr, int slot,
                           const LbLuks2Keyslot *tmpl, const char *encryption,
                           const LbSecret *pass, const LbSecret *vk,
                           uint64_t iter_time_ms, uint32_t iterations,
                           GError **errp);

/* ---- block-luks2-reencrypt*.c ------------------------------------------ */

/** lb_luks2_reenc_decode_keyslot: a keyslot of type "reencrypt". */
bool lb_luks2_reenc_decode_keyslot(JsonObject *o, const char *ctx,
                                   uint64_t hdr_size, uint64_t keyslots_size,
                                   LbLuks2Keyslot *ks, GError **errp);
/** lb_luks2_reenc_decode_linear: a segment of type "linear". */
bool lb_luks2_reenc_decode_linear(JsonObject *o, const char *ctx,
                                  LbLuks2Segment *s, GError **errp);
/** lb_luks2_reenc_encode_keyslot: cryptsetup's member order. */
void lb_luks2_reenc_encode_keyslot(JsonBuilder *b, const LbLuks2Keyslot *ks);
/**
 * lb_luks2_reenc_check_meta: the rules of a header with several segments
 * or a reencrypt keyslot (facts file "Segments during the operation").
 */
bool lb_luks2_reenc_check_meta(const LbLuks2Meta *meta, GError **errp);
/** Whether every mandatory requirement is a reencryption one we handle. */
bool lb_luks2_reenc_requirements_known(const LbLuks2Meta *meta);
/**
 * lb_luks2_reenc_map_new: the data path of a header mid-reencryption:
 * unlock the old and new keys with @pass (the first keyslot that opened
 * into *@slot), verify the metadata digest.  A crashed hotzone gives
 * LB_LUKS_ERROR_NEEDS_RECOVERY.
 */
LbLuks2ReencMap *lb_luks2_reenc_map_new(LbLuks *luks, const LbLuks2Hdr *hdr,
                                        const LbSecret *pass, int *slot,
                                        GError **errp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbLuks2ReencMap, lb_luks2_reenc_map_free)
/** A key of the map, for lb_luks_has_keys() (transfer none). */
const LbSecret *lb_luks2_reenc_map_key(const LbLuks2ReencMap *map);
/** Largest segment sector size of the map. */
unsigned lb_luks2_reenc_map_sector(const LbLuks2ReencMap *map);

/**
 * lb_luks2_keyslot_unlock_digest: as lb_luks2_keyslot_unlock(), against
 * digest @di instead of the one covering segment 0.
 */
int lb_luks2_keyslot_unlock_digest(LbLuks *luks, const LbLuks2Hdr *hdr,
                                   int id, int di, const LbSecret *pass,
                                   LbSecret **vk, GError **errp);

#endif /* LB_CRYPTO_BLOCK_LUKS2_PRIV_H */
