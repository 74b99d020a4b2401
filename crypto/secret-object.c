/*
 * secret-object.c: the "secret" object class (QEMU's QCryptoSecret).
 *
 * Properties: data=STRING or file=PATH (exactly one), format=raw|base64,
 * and optionally keyid=ID + iv=BASE64.  Loading follows QEMU's
 * crypto/secret_common.c:
 *   - without keyid: format=base64 decodes the input;
 *   - with keyid: the input is AES-256-CBC ciphertext (base64 encoded when
 *     format=base64, which is what libvirt sends) under the 32-byte value
 *     of secret @keyid with the 16-byte @iv; the PKCS#7 padding is removed
 *     and the plaintext is the secret (no second decoding).
 * The bytes live in an LbSecret; lookups hand out copies.
 */
#include "config.h"
#include "lb/object.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <nettle/aes.h>
#include <nettle/cbc.h>
#include <nettle/nettle-meta.h>

#define SECRET_FILE_MAX (64 * 1024 * 1024)

typedef struct SecretObj {
    LbSecret *value;
} SecretObj;

static bool secret_error(GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);

static bool secret_error(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID, msg);
    return false;
}

/* Strict base64 as QEMU's qbase64_decode(): only the alphabet, '=' padding,
 * a length that is a multiple of 4. */
static LbSecret *base64_decode(const char *in, size_t len, GError **errp)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;

    while (i < len && in[i] && strchr(alphabet, in[i])) {
        i++;
    }
    size_t pad = 0;
    while (i + pad < len && in[i + pad] == '=' && pad < 2) {
        pad++;
    }
    if (i + pad != len || len % 4) {
        /* QEMU's wording where it fails too (a character outside the
         * alphabet); misplaced padding or a bad length only here. */
        secret_error(errp, strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                                      "klmnopqrstuvwxyz0123456789+/=") < len
                               ? "Base64 data contains invalid characters"
                               : "Base64 data is not valid");
        return NULL;
    }
    LbSecret *out = lb_secret_new(len / 4 * 3);
    gint state = 0;
    guint save = 0;
    size_t n =
        g_base64_decode_step(in, len, lb_secret_data(out), &state, &save);
    LbSecret *trimmed = lb_secret_new_from(lb_secret_data(out), n);
    lb_secret_free(out);
    lb_memzero(&save, sizeof(save)); /* up to 3 decoded bytes */
    return trimmed;
}

/* Read @file straight into locked memory with read(2): no stdio buffer
 * and no reallocated heap copy of the passphrase is left behind, for
 * pipes (/dev/fd/N) as for regular files.  Messages as g_file_get_contents
 * words them, which QEMU quotes. */
static LbSecret *read_file(const char *file, GError **errp)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        secret_error(errp,
                     "Unable to read %s: Failed to open file \u201c%s\u201d: "
                     "%s",
                     file, file, g_strerror(errno));
        return NULL;
    }
    g_autoptr(LbSecret) buf = lb_secret_new(4096);
    size_t len = 0;
    for (;;) {
        if (len == lb_secret_len(buf)) {
            if (len > SECRET_FILE_MAX) {
                close(fd);
                secret_error(errp, "secret file %s is too large", file);
                return NULL;
            }
            LbSecret *bigger = lb_secret_new(MIN(len * 2, SECRET_FILE_MAX + 1));
            memcpy(lb_secret_data(bigger), lb_secret_cdata(buf), len);
            lb_secret_free(g_steal_pointer(&buf));
            buf = bigger;
        }
        ssize_t n =
            read(fd, lb_secret_data(buf) + len, lb_secret_len(buf) - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int err = errno;
            close(fd);
            secret_error(errp,
                         "Unable to read %s: Error reading file "
                         "\u201c%s\u201d: %s",
                         file, file, g_strerror(err));
            return NULL;
        }
        if (n == 0) {
            break;
        }
        len += n;
    }
    close(fd);
    return lb_secret_new_from(lb_secret_cdata(buf), len);
}

static LbSecret *load_input(const char *data, const char *file, GError **errp)
{
    if (data && file) {
        secret_error(errp, "'data' and 'file' are mutually exclusive");
        return NULL;
    }
    if (data) {
        return lb_secret_new_from(data, strlen(data));
    }
    if (!file) {
        secret_error(errp, "Either 'file' or 'data' must be provided");
        return NULL;
    }
    return read_file(file, errp);
}

static LbSecret *decrypt_input(const char *keyid, const char *iv_b64,
                               bool base64, LbSecret *input, GError **errp)
{
    g_autoptr(LbSecret) key = lb_secret_lookup(keyid, errp);
    if (!key) {
        return NULL;
    }
    if (lb_secret_len(key) != 32) {
        secret_error(errp, "Key should be 32 bytes in length");
        return NULL;
    }
    if (!iv_b64) {
        secret_error(errp, "IV is required to decrypt secret");
        return NULL;
    }
    g_autoptr(LbSecret) iv = base64_decode(iv_b64, strlen(iv_b64), errp);
    if (!iv) {
        return NULL;
    }
    if (lb_secret_len(iv) != 16) {
        secret_error(errp, "IV should be 16 bytes in length not %zu",
                     lb_secret_len(iv));
        return NULL;
    }
    g_autoptr(LbSecret) ct =
        base64 ? base64_decode((const char *)lb_secret_cdata(input),
                               lb_secret_len(input), errp)
               : lb_secret_dup(input);
    if (!ct) {
        return NULL;
    }
    size_t ctlen = lb_secret_len(ct);
    if (ctlen == 0 || ctlen % 16) {
        secret_error(errp,
                     "Encrypted secret length %zu is not a multiple "
                     "of the AES block size",
                     ctlen);
        return NULL;
    }
    /* Key schedule and plaintext stay in locked memory (no library
     * handle holding either); out of place, so no temporaries. */
    g_autoptr(LbSecret) aes = lb_secret_new(sizeof(struct aes256_ctx));
    g_autoptr(LbSecret) pt = lb_secret_new(ctlen);
    nettle_aes256.set_decrypt_key(lb_secret_data(aes), lb_secret_cdata(key));
    cbc_decrypt(lb_secret_data(aes), nettle_aes256.decrypt, 16,
                lb_secret_data(iv), ctlen, lb_secret_data(pt),
                lb_secret_cdata(ct));
    lb_stack_wipe(LB_STACK_WIPE_BYTES);
    guint8 padlen = lb_secret_data(pt)[ctlen - 1];
    if (padlen == 0 || padlen > 16 || padlen > ctlen) {
        secret_error(errp,
                     "Incorrect number of padding bytes (%d) found on "
                     "decrypted data",
                     padlen);
        return NULL;
    }
    return lb_secret_new_from(lb_secret_data(pt), ctlen - padlen);
}

static void *secret_create(const char *id, LbOpts *props, GError **errp)
{
    const char *data = NULL, *file = NULL, *format = NULL;
    const char *keyid = NULL, *iv = NULL;

    if (!lb_opts_get_string(props, "data", &data, errp) ||
        !lb_opts_get_string(props, "file", &file, errp) ||
        !lb_opts_get_string(props, "format", &format, errp) ||
        !lb_opts_get_string(props, "keyid", &keyid, errp) ||
        !lb_opts_get_string(props, "iv", &iv, errp)) {
        return NULL;
    }
    bool base64 = false;
    if (format && g_str_equal(format, "base64")) {
        base64 = true;
    } else if (format && !g_str_equal(format, "raw")) {
        secret_error(errp, "Parameter 'format' does not accept value '%s'",
                     format);
        return NULL;
    }
    g_autoptr(LbSecret) input = load_input(data, file, errp);
    if (!input) {
        return NULL;
    }
    LbSecret *value;
    if (keyid) {
        value = decrypt_input(keyid, iv, base64, input, errp);
    } else if (base64) {
        value = base64_decode((const char *)lb_secret_cdata(input),
                              lb_secret_len(input), errp);
    } else {
        value = g_steal_pointer(&input);
    }
    if (!value) {
        return NULL;
    }
    SecretObj *obj = g_new0(SecretObj, 1);
    obj->value = value;
    return obj;
}

static void secret_destroy(void *p)
{
    SecretObj *obj = p;
    lb_secret_free(obj->value);
    g_free(obj);
}

const LbObjectClass lb_secret_class = {
    .type = "secret",
    .create = secret_create,
    .destroy = secret_destroy,
};

LbSecret *lb_secret_lookup(const char *id, GError **errp)
{
    SecretObj *obj = lb_object_get(id, &lb_secret_class, errp);
    return obj ? lb_secret_dup(obj->value) : NULL;
}
