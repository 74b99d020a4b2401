/*
 * luks.h: the LUKS engine (crypto layer): LUKS1 and LUKS2 headers.
 *
 * The engine never touches files or block nodes: every header read or write
 * goes through LbLuksIO callbacks, so a header can live in a different place
 * from the payload (a detached header), in memory (unit tests), or on a
 * block node (block/crypto.c).  Payload data is encrypted/decrypted by the
 * caller through lb_luks_encrypt()/lb_luks_decrypt(), which are thread-safe
 * (a pool of cipher contexts is kept inside the LbLuks).
 *
 *   caller ──io callbacks──> header bytes        (open, create, keyslots)
 *   caller ──lb_luks_encrypt/decrypt──> payload sectors (data path)
 */
#ifndef LB_LUKS_H
#define LB_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "lb/secret.h"

#define LB_LUKS_ERROR (lb_luks_error_quark())
GQuark lb_luks_error_quark(void);
typedef enum {
    LB_LUKS_ERROR_FAILED,         /* I/O or backend failure */
    LB_LUKS_ERROR_NOT_LUKS,       /* no LUKS magic */
    LB_LUKS_ERROR_CORRUPT,        /* header fails validation */
    LB_LUKS_ERROR_UNSUPPORTED,    /* valid but not supported here */
    LB_LUKS_ERROR_BAD_PASSPHRASE, /* no keyslot matches */
    LB_LUKS_ERROR_INVALID,        /* bad create/amend option */
    LB_LUKS_ERROR_NO_SLOT,        /* no free keyslot / slot not active */
    LB_LUKS_ERROR_NEEDS_RECOVERY, /* LUKS2 reencryption crashed in a
                                     hotzone: recover it first */
} LbLuksError;
/*
 * The message of LB_LUKS_ERROR_BAD_PASSPHRASE, QEMU's wording (scripts
 * written for QEMU grep for it); LUKS2 may add "; ..." details after it.
 */
#define LB_LUKS_BAD_PASSPHRASE_MSG "Invalid password, cannot unlock any keyslot"

/*
 * Header device access.  Offsets are bytes from the start of the header
 * device.  read must fill all of @len or fail (short header = error).
 */
typedef struct LbLuksIO {
    bool (*read)(void *opaque, uint64_t offset, void *buf, size_t len,
                 GError **errp);
    bool (*write)(void *opaque, uint64_t offset, const void *buf, size_t len,
                  GError **errp);
    /* Current size of the header device in bytes, or -1 with errp set. */
    int64_t (*length)(void *opaque, GError **errp);
    /* Optional: grow/shrink the header device (create); NULL = not possible. */
    bool (*truncate)(void *opaque, uint64_t size, GError **errp);
    /* Optional: make previous writes durable (ordering of header updates). */
    bool (*flush)(void *opaque, GError **errp);
    void *opaque;
} LbLuksIO;

typedef enum {
    /* Read and validate the header only; no passphrase, no data path. */
    LB_LUKS_OPEN_NO_KEYS = 1 << 0,
    /* The payload lives on another device than the header. */
    LB_LUKS_OPEN_DETACHED = 1 << 1,
    /* Header will not be written (no repair of a damaged LUKS2 copy). */
    LB_LUKS_OPEN_READ_ONLY = 1 << 2,
} LbLuksOpenFlags;

typedef struct LbLuks LbLuks;

/**
 * lb_luks_probe: whether the first bytes of a device look like LUKS.
 * Returns: 1 or 2 (the version), 0 if not LUKS.
 */
int lb_luks_probe(const guint8 *buf, size_t len);

/**
 * lb_luks_open: read and validate the header on @io; unless
 * LB_LUKS_OPEN_NO_KEYS, unlock a keyslot with @passphrase.
 * A wrong passphrase sets LB_LUKS_ERROR_BAD_PASSPHRASE and writes nothing.
 * Returns: (transfer full) the engine, or NULL with @errp set.
 */
LbLuks *lb_luks_open(const LbLuksIO *io, const LbSecret *passphrase,
                     unsigned flags, GError **errp);

typedef struct LbLuksCreateOpts {
    unsigned version;            /* 1 (default when 0) or 2 */
    /* QEMU option names/values; NULL = default */
    const char *cipher_alg;      /* "aes-256" (default), "aes-128", "serpent-256", "twofish-128", "cast5-128" ... */
    const char *cipher_mode;     /* "xts" (default), "cbc", "ecb", "ctr" */
    const char *ivgen_alg;       /* "plain64" (default), "plain", "essiv", "plain64be", "benbi", "null" */
    const char *ivgen_hash_alg;  /* essiv hash, default "sha256" */
    const char *hash_alg;        /* header hash, default "sha256" */
    uint64_t iter_time_ms;       /* PBKDF time per keyslot; 0 = 2000 */
    uint32_t iterations;         /* force PBKDF2 iterations (>= 1000), 0 = calibrate */
    bool detached;               /* payload offset 0, header file sized to the key material */
    uint64_t payload_offset;     /* bytes; 0 = layout default (ignored when detached) */
    /* LUKS2 only */
    unsigned sector_size;        /* 512..4096, 0 = 512 */
    const char *pbkdf;           /* "argon2id" (default), "argon2i", "pbkdf2" */
    uint32_t pbkdf_memory_kib;   /* 0 = 1048576 capped by RAM/2 */
    uint32_t pbkdf_parallel;     /* 0 = min(4, cpus) */
    uint32_t pbkdf_time;         /* force argon2 time cost, 0 = calibrate */
    const char *label;
    const char *subsystem;
    const char *uuid;            /* NULL = random */
    uint64_t hdr_size;           /* metadata size, 0 = 16 KiB */
    uint64_t keyslots_size;      /* 0 = default */
} LbLuksCreateOpts;

/**
 * lb_luks_create: format a new header on @io with keyslot 0 holding
 * @passphrase and a random volume key.  Writes and sizes only the header
 * area (for a detached header: exactly the header file; the payload is
 * never touched).  The returned engine is open with keys.
 */
LbLuks *lb_luks_create(const LbLuksIO *io, const LbLuksCreateOpts *opts,
                       const LbSecret *passphrase, GError **errp);

void lb_luks_free(LbLuks *luks);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbLuks, lb_luks_free)

unsigned lb_luks_version(const LbLuks *luks);
/** Byte offset of the payload on the data device (0 = detached layout). */
uint64_t lb_luks_payload_offset(const LbLuks *luks);
/** Fixed payload size in bytes (LUKS2 fixed segment), 0 = to end of device. */
uint64_t lb_luks_payload_size(const LbLuks *luks);
/** Encryption unit in bytes: 512 (LUKS1) or the LUKS2 segment sector_size. */
unsigned lb_luks_sector_size(const LbLuks *luks);
/** Bytes of the header device the header occupies (layout end). */
uint64_t lb_luks_header_size(const LbLuks *luks);
bool lb_luks_has_keys(const LbLuks *luks);
/** Index of the keyslot that unlocked the volume, or -1 (no keys). */
int lb_luks_unlocked_slot(const LbLuks *luks);

/**
 * lb_luks_encrypt / lb_luks_decrypt: @offset is the byte offset within the
 * payload (0 = first payload byte) and, with @len, a multiple of
 * lb_luks_sector_size().  Thread-safe; @in and @out may be equal.
 * Returns: 0 or -errno (-EINVAL misaligned, -EPERM opened without keys).
 */
int lb_luks_encrypt(LbLuks *luks, uint64_t offset, const void *in, void *out,
                    size_t len);
int lb_luks_decrypt(LbLuks *luks, uint64_t offset, const void *in, void *out,
                    size_t len);

/* ---- information ------------------------------------------------------ */

typedef struct LbLuksSlotInfo {
    int id;                  /* slot number (LUKS2: keyslot id) */
    bool active;
    uint64_t key_offset;     /* bytes on the header device */
    uint64_t area_size;      /* bytes of the key material area */
    uint32_t stripes;        /* 4000 when active */
    char *kdf;               /* "pbkdf2", "argon2i", "argon2id" */
    char *kdf_hash;          /* pbkdf2 hash */
    uint32_t iters;          /* pbkdf2 iterations (0 when inactive) */
    uint32_t time_cost, memory_kib, parallel;   /* argon2 */
    int priority;            /* LUKS2: 0 ignore, 1 normal, 2 prefer */
    char *encryption;        /* LUKS2 area cipher spec */
    uint32_t key_bytes;      /* LUKS2 keyslot key_size */
    char *af_hash;           /* LUKS2 af.hash (NULL for LUKS1) */
} LbLuksSlotInfo;

typedef struct LbLuksSegmentInfo {
    int id;
    char *type;              /* "crypt" */
    uint64_t offset;         /* bytes on the data device */
    uint64_t size;           /* bytes, 0 = dynamic */
    uint64_t iv_tweak;
    char *encryption;
    unsigned sector_size;
} LbLuksSegmentInfo;

typedef struct LbLuksDigestInfo {
    int id;
    char *type;              /* "pbkdf2" */
    char *hash;
    uint32_t iterations;
    char *keyslots;          /* "0,1" */
    char *segments;          /* "0" */
} LbLuksDigestInfo;

typedef struct LbLuksInfo {
    unsigned version;
    char *cipher_alg;        /* QEMU name: "aes-256", "serpent-128", ... */
    char *cipher_mode;       /* "xts", "cbc", "ecb", "ctr" */
    char *ivgen_alg;         /* "plain64", "essiv", ... (NULL for ecb) */
    char *ivgen_hash_alg;    /* essiv only */
    char *hash_alg;          /* header hash (LUKS2: first digest's hash) */
    char *cipher_spec;       /* dm-crypt spec "aes-xts-plain64" */
    unsigned key_bytes;      /* volume key length */
    bool detached_header;    /* payload offset == 0 (QEMU's definition) */
    uint64_t payload_offset; /* bytes */
    uint64_t master_key_iters;
    char *uuid;
    unsigned n_slots;
    LbLuksSlotInfo *slots;
    /* LUKS2 */
    char *label;
    char *subsystem;
    uint64_t seqid;
    uint64_t hdr_size;
    uint64_t keyslots_size;
    unsigned sector_size;
    unsigned n_segments;
    LbLuksSegmentInfo *segments;
    unsigned n_digests;
    LbLuksDigestInfo *digests;
    char *flags;             /* config flags, comma separated, or NULL */
    char *requirements;      /* mandatory requirements (comma separated;
                                the header opens read-only) or NULL */
    char *header_warning;    /* a damaged or stale header copy, or NULL */
} LbLuksInfo;

/** lb_luks_get_info: (transfer full) a description of the header. */
LbLuksInfo *lb_luks_get_info(LbLuks *luks);
void lb_luks_info_free(LbLuksInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbLuksInfo, lb_luks_info_free)

/* ---- keyslot management (needs an engine opened with keys) ------------ */

/**
 * lb_luks_add_key: store @passphrase in keyslot @slot (-1 = first free),
 * with PBKDF time @iter_time_ms (0 = 2000).  Key material is written and
 * flushed before the header that points at it.
 * Returns: the slot used, or -1 with @errp set.
 */
int lb_luks_add_key(LbLuks *luks, const LbSecret *passphrase, int slot,
                    uint64_t iter_time_ms, GError **errp);
/** lb_luks_remove_key: disable @slot and wipe its key material. */
bool lb_luks_remove_key(LbLuks *luks, int slot, GError **errp);
/**
 * lb_luks_set_payload_size: record @size bytes (a multiple of the sector
 * size) as the size of a LUKS2 segment of fixed size, rewriting both header
 * copies.  Headers whose payload size is dynamic (LUKS1, most LUKS2)
 * record none: an error.
 */
bool lb_luks_set_payload_size(LbLuks *luks, uint64_t size, GError **errp);
/**
 * lb_luks_find_key: the active slot that @passphrase opens, or -1 (no
 * error set when none matches; errp only for I/O errors, then -2).
 */
int lb_luks_find_key(LbLuks *luks, const LbSecret *passphrase, GError **errp);
/** lb_luks_n_active_slots: number of active keyslots. */
unsigned lb_luks_n_active_slots(LbLuks *luks);

#endif /* LB_LUKS_H */
