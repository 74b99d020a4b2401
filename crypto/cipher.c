/*
 * crypto/cipher.c: LbBlockCipher, a dm-crypt style sector cipher.
 *
 * Parses the dm-crypt spec (LUKS-FORMAT.md section 2.1)
 *     <cipher> + <chain>[-<ivgen>[:<ivopts>]]
 * sets up the nettle back end (cipher-nettle.c) and, for AES in ECB, CBC
 * and XTS on a CPU with AES-NI, cipher-aesni.c, and runs the per-sector
 * loop: unit i of @sector_size bytes is
 * encrypted as one XTS data unit / CBC chain / CTR stream with the IV of
 * 512-byte sector @iv_sector + i * (@sector_size / 512).
 *
 * The LbBlockCipher itself, with its nettle key schedules and the ESSIV
 * key, lives inside an LbSecret: locked, excluded from core dumps and
 * wiped on free.  That is why there is no gnutls back end although
 * gnutls' AES-NI XTS is faster: a gnutls cipher handle keeps its key
 * schedule (which starts with the raw key halves) in plain heap memory
 * we can neither lock nor exclude from a core dump; cipher-aesni.c gives
 * AES the speed back with its round keys in here.
 */
#include "config.h"
#include "lb/crypto.h"
#include "crypto/cipher-priv.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#include "lb/secret.h"

static const struct {
    const char *name;
    LbChainMode chain;
} lb_chain_names[] = {
    {"ecb", LB_CHAIN_ECB},
    {"cbc", LB_CHAIN_CBC},
    {"xts", LB_CHAIN_XTS},
    {"ctr", LB_CHAIN_CTR},
    {"cfb", LB_CHAIN_CFB},
    {"ofb", LB_CHAIN_OFB},
    {"lrw", LB_CHAIN_LRW},
};

static bool lb_chain_from_name(const char *name, size_t len, LbChainMode *out)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(lb_chain_names); i++) {
        if (strlen(lb_chain_names[i].name) == len &&
            !g_ascii_strncasecmp(name, lb_chain_names[i].name, len)) {
            *out = lb_chain_names[i].chain;
            return true;
        }
    }
    return false;
}

static bool lb_is_null_cipher(const char *cipher)
{
    return !g_ascii_strcasecmp(cipher, "cipher_null");
}

bool lb_cipher_key_bytes_valid(const char *cipher, const char *chain,
                               size_t keylen)
{
    LbChainMode mode;
    const struct nettle_cipher *alg;

    if (!cipher || !chain || !lb_chain_from_name(chain, strlen(chain), &mode)) {
        return false;
    }
    if (lb_is_null_cipher(cipher)) {
        /* The kernel's cipher_null ignores its key; only ECB makes sense. */
        return mode == LB_CHAIN_ECB;
    }
    if (mode == LB_CHAIN_XTS) {
        if (keylen % 2) {
            return false;
        }
        alg = lb_cipher_nettle_alg(cipher, keylen / 2);
        return alg && alg->block_size == 16;
    }
    if (mode == LB_CHAIN_LRW) {
        alg = keylen > 16 ? lb_cipher_nettle_alg(cipher, keylen - 16) : NULL;
        return alg && alg->block_size == 16;
    }
    return lb_cipher_nettle_alg(cipher, keylen) != NULL;
}

static bool lb_parse_mode(const char *mode, LbChainMode *chain,
                          const char **ivspec, GError **errp)
{
    const char *dash = strchr(mode, '-');
    size_t chainlen = dash ? (size_t)(dash - mode) : strlen(mode);

    *ivspec = dash ? dash + 1 : NULL;
    /* Old dm-crypt compatibility: "plain" alone means cbc-plain. */
    if (!strcmp(mode, "plain")) {
        *chain = LB_CHAIN_CBC;
        *ivspec = "plain";
        return true;
    }
    if (!lb_chain_from_name(mode, chainlen, chain)) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "unsupported cipher mode '%s'", mode);
        return false;
    }
    if (*chain == LB_CHAIN_ECB) {
        if (*ivspec && (*ivspec)[0]) {
            g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                        "cipher mode ecb takes no IV generator ('%s')", mode);
            return false;
        }
        *ivspec = NULL;
    } else if (!*ivspec || !(*ivspec)[0]) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "cipher mode '%s' needs an IV generator", mode);
        return false;
    }
    return true;
}

static LbBlockCipher *block_cipher_new(const char *cipher, const char *mode,
                                       const guint8 *key, size_t keylen,
                                       GError **errp)
{
    g_autoptr(LbBlockCipher) c = NULL;
    LbSecret *mem;
    const char *ivspec;
    LbChainMode chain;

    g_assert(cipher && mode);
    if (!lb_parse_mode(mode, &chain, &ivspec, errp)) {
        return NULL;
    }
    mem = lb_secret_new(sizeof(LbBlockCipher));
    c = (LbBlockCipher *)lb_secret_data(mem);
    c->mem = mem;
    c->chain = chain;

    if (lb_is_null_cipher(cipher)) {
        if (chain != LB_CHAIN_ECB) {
            g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                        "cipher_null supports only ecb");
            return NULL;
        }
        c->null_cipher = true;
        c->block_size = 16;
    } else if (!lb_cipher_nettle_setup(c, cipher, key, keylen, errp)) {
        return NULL;
    }
    if (!lb_ivgen_init(&c->ivgen, ivspec, cipher, c->block_size, key, keylen,
                       errp)) {
        return NULL;
    }
    /* dm-crypt's EBOIV needs a chain whose block size is the IV size; for
     * XTS it would encrypt a tweaked block, which nothing here does. */
    if (c->ivgen.alg == LB_IVGEN_EBOIV && chain != LB_CHAIN_CBC) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_UNSUPPORTED,
                    "IV generator eboiv is supported only with cbc ('%s')",
                    mode);
        return NULL;
    }
    if (!c->null_cipher) {
        lb_cipher_aesni_setup(c, cipher, key, keylen);
    }
    return g_steal_pointer(&c);
}

LbBlockCipher *lb_block_cipher_new(const char *cipher, const char *mode,
                                   const guint8 *key, size_t keylen,
                                   GError **errp)
{
    LbBlockCipher *c = block_cipher_new(cipher, mode, key, keylen, errp);

    /* Key setup (serpent, twofish, ESSIV's hash) copies key words into
     * stack locals, on failure too. */
    lb_stack_wipe(LB_STACK_WIPE_BYTES);
    return c;
}

void lb_block_cipher_free(LbBlockCipher *c)
{
    if (!c) {
        return;
    }
    lb_secret_free(c->mem);
}

static int lb_block_cipher_run(LbBlockCipher *c, bool enc, uint64_t iv_sector,
                               unsigned sector_size, const guint8 *in,
                               guint8 *out, size_t len)
{
    LbCipherUnitFunc fn = enc ? c->encrypt : c->decrypt;
    uint64_t step = sector_size / 512;
    guint8 iv[LB_CIPHER_MAX_BLOCK];

    if (sector_size < 512 || sector_size > 4096 ||
        (sector_size & (sector_size - 1)) || len % sector_size) {
        return -EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    if (c->null_cipher) {
        if (in != out) {
            memmove(out, in, len);
        }
        return 0;
    }
    if (c->aesni) {
        return lb_cipher_aesni_run(c, enc, iv_sector, sector_size, in, out,
                                   len);
    }
    if (c->chain == LB_CHAIN_ECB) {
        /* No IV: the whole request is one run of independent blocks. */
        return fn(c, NULL, in, out, len);
    }
    if (c->chain == LB_CHAIN_XTS && c->data.alg) {
        return lb_cipher_xts_multi(c, enc, iv_sector, sector_size, in, out,
                                   len);
    }
    if (enc && c->chain == LB_CHAIN_CBC && c->data.alg && len > sector_size) {
        return lb_cipher_cbc_encrypt_multi(c, iv_sector, sector_size, in, out,
                                           len);
    }
    for (size_t off = 0; off < len; off += sector_size, iv_sector += step) {
        int ret;

        lb_ivgen_compute(&c->ivgen, iv_sector, sector_size, iv);
        ret = fn(c, iv, in + off, out + off, sector_size);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int lb_block_cipher_encrypt(LbBlockCipher *c, uint64_t iv_sector,
                            unsigned sector_size, const guint8 *in, guint8 *out,
                            size_t len)
{
    return lb_block_cipher_run(c, true, iv_sector, sector_size, in, out, len);
}

int lb_block_cipher_decrypt(LbBlockCipher *c, uint64_t iv_sector,
                            unsigned sector_size, const guint8 *in, guint8 *out,
                            size_t len)
{
    return lb_block_cipher_run(c, false, iv_sector, sector_size, in, out, len);
}
