/*
 * crypto-reencrypt.c: offline LUKS2 reencryption of image files (see
 * include/lb/reencrypt.h): opens the data file and the header file as
 * "file" nodes and hands the engine header and data callbacks on them.
 */
#include "config.h"
#include "lb/reencrypt.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "crypto-priv.h"
#include "lb/block.h"
#include "lb/object.h"
#include "lb/opts.h"

static LbNode *open_rw(const char *path, GError **errp)
{
    g_autoptr(LbOpts) o = lb_opts_new();

    lb_opts_set_str(o, "driver", "file");
    lb_opts_set_str(o, "filename", path);
    return lb_node_open(o, LB_OPEN_RDWR, errp);
}

bool lb_luks_reencrypt_files(const char *device, const char *header,
                             const char *key_secret,
                             const char *new_key_secret,
                             const LbReencOpts *o, bool *stopped,
                             GError **errp)
{
    g_autoptr(LbSecret) pass = lb_secret_lookup(key_secret, errp);
    g_autoptr(LbSecret) new_pass = NULL;
    LbLuksIO hio, dio;

    if (!pass) {
        return false;
    }
    if (new_key_secret && !(new_pass = lb_secret_lookup(new_key_secret, errp))) {
        return false;
    }
    if (header && o->mode == LB_REENC_ENCRYPT && access(header, F_OK) != 0) {
        /* A header unlocks the volume: as sensitive as a key file. */
        int fd = open(header, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                        "cannot create '%s': %s", header, g_strerror(errno));
            return false;
        }
        close(fd);
    }
    g_autoptr(LbNode) data = open_rw(device, errp);
    if (!data) {
        return false;
    }
    g_autoptr(LbNode) hdr = header ? open_rw(header, errp) : NULL;
    if (header && !hdr) {
        return false;
    }
    lb_luks_node_io(data, &dio);
    lb_luks_node_io(hdr ? hdr : data, &hio);
    if (!hdr) {
        hio.truncate = NULL; /* never resize the data device */
    }
    dio.truncate = NULL;
    return lb_luks2_reencrypt(&hio, &dio, pass, new_pass, o, stopped, errp);
}
