/*
 * crypto/random.c: key-grade random bytes.
 *
 * gnutls_rnd(GNUTLS_RND_KEY) is gnutls' strongest level (seeded from
 * getrandom(), reseeded on fork).  It is used for salts, volume keys and
 * the AF splitter's random stripes alike; the cost is negligible next to
 * the PBKDF.
 */
#include "config.h"
#include "lb/crypto.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <glib.h>

bool lb_random_bytes(void *buf, size_t len, GError **errp)
{
    int ret;

    if (len == 0) {
        return true;
    }
    ret = gnutls_rnd(GNUTLS_RND_KEY, buf, len);
    if (ret < 0) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_FAILED,
                    "cannot generate %zu random bytes: %s", len,
                    gnutls_strerror(ret));
        return false;
    }
    return true;
}
