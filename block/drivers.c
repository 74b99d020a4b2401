/*
 * drivers.c: the registry of block drivers: one explicit list, no
 * constructor magic.
 */
#include "config.h"
#include "lb/block.h"

static const LbBlockDriver *const drivers[] = {
    &lb_driver_file,
    &lb_driver_raw,
    &lb_driver_luks,
    &lb_driver_snapshot,
};

const LbBlockDriver *lb_block_driver_find(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(drivers); i++) {
        if (g_str_equal(drivers[i]->name, name)) {
            return drivers[i];
        }
    }
    return NULL;
}
