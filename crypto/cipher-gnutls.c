/*
 * crypto/cipher-gnutls.c: the gnutls back end of LbBlockCipher (AES only).
 *
 * gnutls runs AES-XTS and AES-CBC through its AES-NI/VAES assembly and
 * processes a whole sector per call, several times faster than nettle's
 * one-block-at-a-time XTS.  One gnutls_cipher_hd_t is created per
 * LbBlockCipher and reused: each sector is gnutls_cipher_set_iv() followed
 * by gnutls_cipher_encrypt2()/decrypt2() straight from @in to @out, with no
 * allocation and no copy.
 *
 * Fallbacks to nettle (the caller handles them when setup returns false):
 * AES-192-XTS (gnutls has only 128 and 256), and any key gnutls refuses at
 * init time: in FIPS mode that includes XTS keys with equal halves, which
 * dm-crypt accepts.
 */
#include "config.h"
#include "crypto/cipher-priv.h"

#include <errno.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <glib.h>

static gnutls_cipher_algorithm_t lb_gnutls_alg(LbChainMode chain, size_t keylen)
{
    if (chain == LB_CHAIN_XTS) {
        switch (keylen) {
        case 32:
            return GNUTLS_CIPHER_AES_128_XTS;
        case 64:
            return GNUTLS_CIPHER_AES_256_XTS;
        }
    } else if (chain == LB_CHAIN_CBC) {
        switch (keylen) {
        case 16:
            return GNUTLS_CIPHER_AES_128_CBC;
        case 24:
            return GNUTLS_CIPHER_AES_192_CBC;
        case 32:
            return GNUTLS_CIPHER_AES_256_CBC;
        }
    }
    return GNUTLS_CIPHER_UNKNOWN;
}

static int lb_gnutls_encrypt(LbBlockCipher *c, const guint8 *iv,
                             const guint8 *in, guint8 *out, size_t len)
{
    gnutls_cipher_hd_t h = c->gnutls;

    gnutls_cipher_set_iv(h, (void *)iv, c->block_size);
    if (gnutls_cipher_encrypt2(h, in, len, out, len) < 0) {
        return -EIO;
    }
    return 0;
}

static int lb_gnutls_decrypt(LbBlockCipher *c, const guint8 *iv,
                             const guint8 *in, guint8 *out, size_t len)
{
    gnutls_cipher_hd_t h = c->gnutls;

    gnutls_cipher_set_iv(h, (void *)iv, c->block_size);
    if (gnutls_cipher_decrypt2(h, in, len, out, len) < 0) {
        return -EIO;
    }
    return 0;
}

bool lb_cipher_gnutls_setup(LbBlockCipher *c, const char *cipher,
                            const guint8 *key, size_t keylen)
{
    gnutls_cipher_algorithm_t alg;
    gnutls_cipher_hd_t h = NULL;
    guint8 zero_iv[16] = {0};
    gnutls_datum_t k = {(unsigned char *)key, (unsigned)keylen};
    gnutls_datum_t iv = {zero_iv, sizeof(zero_iv)};

    if (g_ascii_strcasecmp(cipher, "aes") != 0) {
        return false;
    }
    alg = lb_gnutls_alg(c->chain, keylen);
    if (alg == GNUTLS_CIPHER_UNKNOWN) {
        return false;
    }
    /* FIPS mode refuses XTS keys with equal halves: nettle takes over. */
    if (gnutls_cipher_init(&h, alg, &k, &iv) < 0) {
        return false;
    }
    c->gnutls = h;
    c->block_size = 16;
    c->encrypt = lb_gnutls_encrypt;
    c->decrypt = lb_gnutls_decrypt;
    return true;
}

void lb_cipher_gnutls_free(LbBlockCipher *c)
{
    if (c->gnutls) {
        gnutls_cipher_deinit(c->gnutls);
        c->gnutls = NULL;
    }
}
