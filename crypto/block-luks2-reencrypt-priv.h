/*
 * block-luks2-reencrypt-priv.h: shared by block-luks2-reencrypt*.c (the
 * metadata helpers and the engine).
 */
#ifndef LB_CRYPTO_BLOCK_LUKS2_REENCRYPT_PRIV_H
#define LB_CRYPTO_BLOCK_LUKS2_REENCRYPT_PRIV_H

#include "block-luks2-priv.h"
#include "lb/luks-reencrypt.h"

/** Whether segment @s carries @flag. */
bool lb_luks2_seg_has_flag(const LbLuks2Segment *s, const char *flag);
/** Index of the first segment with @flag, or -1. */
int lb_luks2_seg_find(const LbLuks2Meta *meta, const char *flag);
/** The digest covering segment @id, or -1. */
int lb_luks2_seg_digest(const LbLuks2Meta *meta, int id);
/** The reencrypt keyslot, or -1. */
int lb_luks2_reenc_keyslot(const LbLuks2Meta *meta);
/**
 * lb_luks2_reenc_digest_input: (transfer full) the byte string the
 * reencryption metadata digest covers, in locked memory.
 */
LbSecret *lb_luks2_reenc_digest_input(const LbLuks2Meta *meta,
                                      const LbSecret *vk_old,
                                      const LbSecret *vk_new);

/** lb_luks2_reenc_digest_verify: check the reencryption metadata digest. */
bool lb_luks2_reenc_digest_verify(const LbLuks2Meta *meta,
                                  const LbSecret *vk_old,
                                  const LbSecret *vk_new, GError **errp);

#endif /* LB_CRYPTO_BLOCK_LUKS2_REENCRYPT_PRIV_H */
