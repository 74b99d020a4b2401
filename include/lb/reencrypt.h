/*
 * reencrypt.h: offline LUKS2 reencryption of image files (block layer):
 * encrypt in place under a detached header, re-key, decrypt, resume and
 * repair, the work of `luksblk-img reencrypt` (cryptsetup reencrypt with
 * --force-offline-reencrypt).  The engine is crypto/block-luks2-reencrypt.c.
 */
#ifndef LB_REENCRYPT_H
#define LB_REENCRYPT_H

#include <stdbool.h>
#include <glib.h>

#include "lb/luks-reencrypt.h"

/**
 * lb_luks_reencrypt_files: reencrypt the volume @device (a file) whose
 * header is @header (NULL = in @device).  The passphrases are secret
 * objects @key_secret and @new_key_secret (NULL = the same).  With
 * LB_REENC_ENCRYPT a missing @header file is created (mode 0600).
 * Both files are opened as "file" nodes, so their locks keep a running
 * daemon and this off each other.
 * Returns: false with @errp set; *@stopped when @o->stop ended it early.
 */
bool lb_luks_reencrypt_files(const char *device, const char *header,
                             const char *key_secret,
                             const char *new_key_secret,
                             const LbReencOpts *o, bool *stopped,
                             GError **errp);

#endif /* LB_REENCRYPT_H */
