/*
 * luks-reencrypt.h: LUKS2 reencryption in place (crypto layer): encrypt a
 * plaintext device under a new detached header, re-key (new volume key,
 * optionally new cipher or sector size) and decrypt, with the on-disk
 * metadata of cryptsetup 2.6 (shared/LUKS2-REENCRYPT.md), so that either
 * tool can finish what the other started or crashed in.
 *
 * As the rest of the engine it never touches files: the header and the
 * data device are reached through LbLuksIO callbacks (the same callbacks
 * for both when the header is attached).
 *
 *   init     one header commit: reencrypt keyslot, metadata digest,
 *            backup segments, requirement; data untouched
 *   hotzone  protect (checksum/journal area) -> commit hot segments ->
 *            rewrite the hotzone, sync -> commit post segments
 *   finish   one commit: final segment, old keyslots and requirement gone
 *   recover  a header with an in-reencryption segment (a crash) is
 *            repaired from the checksums or the journal first
 */
#ifndef LB_LUKS_REENCRYPT_H
#define LB_LUKS_REENCRYPT_H

#include <signal.h>
#include "lb/luks.h"

typedef enum {
    LB_REENC_REENCRYPT, /* re-key */
    LB_REENC_ENCRYPT,
    LB_REENC_DECRYPT,
} LbReencMode;

typedef enum {
    LB_REENC_RUN,         /* init if needed, then run to the end */
    LB_REENC_INIT_ONLY,   /* init and stop */
    LB_REENC_RESUME_ONLY, /* refuse to init; recover, then run */
    LB_REENC_REPAIR,      /* recover a crashed hotzone only */
} LbReencStage;

typedef struct LbReencOpts {
    LbReencMode mode;
    LbReencStage stage;
    const char *cipher;      /* new dm-crypt spec; NULL = keep / aes-xts-plain64 */
    unsigned key_bits;       /* new volume key bits; 0 = keep / 512 */
    unsigned sector_size;    /* new segment sector size; 0 = keep / 512 */
    const char *resilience;  /* checksum (default), journal, none */
    const char *hash;        /* checksum hash, NULL = sha256 */
    uint64_t hotzone_size;   /* 0 = default */
    uint64_t iter_time_ms;   /* keyslot and digest PBKDF time, 0 = 2000 */
    const char *pbkdf;       /* for a new header: argon2id, argon2i, pbkdf2 */
    unsigned block_size;     /* data device block size (checksum unit), 0 = 4096 */
    volatile sig_atomic_t *stop; /* set asynchronously: stop cleanly */
    /* Optional progress callback, called after each hotzone. */
    void (*progress)(void *opaque, uint64_t done, uint64_t total);
    void (*warn)(void *opaque, const char *msg);
    void *opaque;
} LbReencOpts;

typedef enum {
    LB_REENC_STATUS_NONE,  /* no reencryption in the header */
    LB_REENC_STATUS_CLEAN, /* can be resumed */
    LB_REENC_STATUS_CRASH, /* needs recovery first */
} LbReencStatus;

/**
 * lb_luks2_reencrypt: run the operation @o describes on the header at
 * @hdr_io and the data at @data_io.  With LB_REENC_ENCRYPT and a header
 * device without a LUKS header, the header is created first (detached,
 * LUKS2, keyslot 0 holding @pass).  A header already in reencryption is
 * resumed whatever @o->mode says.  @new_pass (NULL = @pass) is the
 * passphrase of the new keyslot of a re-key.  Errors leave the header
 * and data as they were (before init), or in a resumable state.
 * Returns: false with @errp set on failure; true also when stopped by
 * @o->stop (*@stopped set then).
 */
bool lb_luks2_reencrypt(const LbLuksIO *hdr_io, const LbLuksIO *data_io,
                        const LbSecret *pass, const LbSecret *new_pass,
                        const LbReencOpts *o, bool *stopped, GError **errp);

/** Whether @err (may be NULL) says a crashed hotzone needs recovery. */
static inline bool lb_luks_reencrypt_recover_needed(const GError *err)
{
    return err && g_error_matches(err, LB_LUKS_ERROR,
                                  LB_LUKS_ERROR_NEEDS_RECOVERY);
}

/** lb_luks2_reencrypt_status: the reencryption state of an open header. */
LbReencStatus lb_luks2_reencrypt_status(LbLuks *luks);

#endif /* LB_LUKS_REENCRYPT_H */
