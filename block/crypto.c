/* block/crypto.c: the luks driver (being written; table only for now). */
#include "config.h"
#include "block-priv.h"

const LbBlockDriver lb_driver_luks = {
    .name = "luks",
};
