/*
 * crypto-priv.h: shared between the luks driver's files:
 *   block/crypto.c         open, close, data path, info
 *   block/crypto-create.c  img create, blockdev-create, amend
 */
#ifndef LB_BLOCK_CRYPTO_PRIV_H
#define LB_BLOCK_CRYPTO_PRIV_H

#include "block-priv.h"
#include "lb/luks.h"

/* Header I/O callbacks of the engine on a block node (opaque = LbNode *). */
void lb_luks_node_io(LbNode *node, LbLuksIO *io);

bool lb_luks_drv_create(const char *filename, uint64_t size, LbOpts *opts,
                        GError **errp);
bool lb_luks_drv_create_nodes(LbOpts *opts, GError **errp);
/* qemu-img measure -O luks: header + payload bytes (crypto-create.c). */
bool lb_luks_drv_measure(uint64_t size, LbOpts *opts, uint64_t *required,
                         GError **errp);
bool lb_luks_drv_amend(LbNode *bs, LbOpts *opts, bool force, GError **errp);
/* The engine of an open luks node (transfer none). */
LbLuks *lb_luks_drv_engine(LbNode *bs);

#endif /* LB_BLOCK_CRYPTO_PRIV_H */
