/*
 * create.c: image creation: qemu-img create (a file name, a size and -o
 * options) and blockdev-create (options that name existing nodes); and the
 * option values the image tools share (--preallocation, -t cache mode).
 */
#include "config.h"
#include "block-priv.h"
#include "crypto-priv.h"

#include <string.h>
#include "lb/thread.h"

bool lb_parse_prealloc(const char *s, LbPrealloc *out, GError **errp)
{
    static const char *const names[] = {"off", "falloc", "full"};

    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        if (g_str_equal(s, names[i])) {
            *out = (LbPrealloc)i;
            return true;
        }
    }
    g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                "Parameter 'preallocation' does not accept value '%s'", s);
    return false;
}

bool lb_parse_cache_mode(const char *mode, unsigned *flags, GError **errp)
{
    /* QEMU's bdrv_parse_cache_mode(); only O_DIRECT matters here. */
    static const struct {
        const char *name;
        bool direct;
    } modes[] = {
        { "none", true }, { "off", true }, { "directsync", true },
        { "writeback", false }, { "writethrough", false }, { "unsafe", false },
    };

    for (guint i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (g_str_equal(mode, modes[i].name)) {
            if (modes[i].direct) {
                *flags |= LB_OPEN_NOCACHE;
            }
            return true;
        }
    }
    g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                "Invalid cache option: %s", mode);
    return false;
}

bool lb_img_measure(const char *fmt, uint64_t size, LbOpts *opts,
                    uint64_t *required, GError **errp)
{
    g_autoptr(LbOpts) empty = NULL;

    if (!opts) {
        opts = empty = lb_opts_new();
    }
    if (g_str_equal(fmt, "luks")) {
        return lb_luks_drv_measure(size, opts, required, errp);
    }
    if (g_str_equal(fmt, "raw")) {
        *required = size;
        return lb_opts_check_unused(opts, NULL, errp);
    }
    g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                "Format driver '%s' does not support measure", fmt);
    return false;
}

bool lb_img_create(const char *fmt, const char *filename, uint64_t size,
                   LbOpts *opts, GError **errp)
{
    LB_ASSERT_MAIN_LOOP(); /* it opens nodes */
    const LbBlockDriver *drv = lb_block_driver_find(fmt);
    g_autoptr(LbOpts) empty = NULL;

    if (!opts) {
        opts = empty = lb_opts_new();
    }
    /* Create-only format (no driver opens it): block/qcow2-create.c. */
    if (!drv && g_str_equal(fmt, "qcow2")) {
        if (!lb_qcow2_create(filename, size, opts, errp)) {
            g_prefix_error(errp, "%s: ", filename);
            return false;
        }
        return true;
    }
    if (!drv) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND,
                    "Unknown file format '%s'", fmt);
        return false;
    }
    if (!drv->create) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                    "Format driver '%s' does not support image creation", fmt);
        return false;
    }
    if (!drv->create(filename, size, opts, errp)) {
        g_prefix_error(errp, "%s: ", filename);
        return false;
    }
    return true;
}

bool lb_blockdev_create(LbOpts *opts, GError **errp)
{
    LB_ASSERT_CONTEXT(LB_CTX_MAIN | LB_CTX_JOB);
    const char *driver = NULL;

    if (!lb_opts_get_string(opts, "driver", &driver, errp)) {
        return false;
    }
    if (!driver) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'driver' is missing");
        return false;
    }
    const LbBlockDriver *drv = lb_block_driver_find(driver);
    if (!drv || !drv->create_nodes) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Driver '%s' does not support blockdev-create", driver);
        return false;
    }
    return drv->create_nodes(opts, errp);
}
