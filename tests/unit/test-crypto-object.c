/*
 * test-crypto-object.c: the object registry and the "secret" class:
 * data/file, raw/base64, and the keyid+iv form (AES-256-CBC with PKCS#7
 * padding, as libvirt produces it; the expected ciphertext is computed
 * here with gnutls), plus the registry's errors.
 */
#include "config.h"
#include "lb/object.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

static void assert_secret(const char *id, const void *want, size_t len)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) s = lb_secret_lookup(id, &err);

    g_assert_no_error(err);
    g_assert_cmpmem(lb_secret_cdata(s), lb_secret_len(s), want, len);
}

typedef struct SimpleCase {
    const char *props;
    const char *value; /* NULL: creation fails */
} SimpleCase;

static const SimpleCase simple_cases[] = {
    {"secret,id=s0,data=abc123", "abc123"},
    {"secret,id=s0,data=a,,b", "a,b"},
    {"secret,id=s0,data=YWJjMTIz,format=base64", "abc123"},
    {"secret,id=s0,data=YWJjMTIz,format=raw", "YWJjMTIz"},
    {"secret,id=s0,data=", ""},
    {"secret,id=s0,data=YWJj!TIz,format=base64", NULL},
    {"secret,id=s0,data=YWJ,format=base64", NULL},
    {"secret,id=s0,data=x,format=hex", NULL},
    {"secret,id=s0", NULL},
    {"secret,id=s0,data=x,file=/dev/null", NULL},
    {"secret,id=s0,data=x,bogus=1", NULL},
    {"secret,id=0s,data=x", NULL},
    {"secret,data=x", NULL},
    {"nosuchtype,id=s0", NULL},
    {"secret,id=s0,file=/nonexistent/secret", NULL},
};

static void test_simple(gconstpointer data)
{
    const SimpleCase *c = data;
    g_autoptr(GError) err = NULL;

    bool ok = lb_object_add_keyval(c->props, &err);
    if (!c->value) {
        g_assert_false(ok);
        g_assert_nonnull(err);
        g_assert_false(lb_object_exists("s0"));
        return;
    }
    g_assert_no_error(err);
    g_assert_cmpstr(lb_object_type("s0"), ==, "secret");
    assert_secret("s0", c->value, strlen(c->value));
    g_assert_true(lb_object_del("s0", &err));
    g_assert_false(lb_object_exists("s0"));
}

static void test_file(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("lb-secret-XXXXXX", &path, &err);
    /* QEMU uses the file's bytes verbatim, trailing newline included. */
    g_assert_cmpint(write(fd, "pass\n", 5), ==, 5);
    close(fd);
    g_autofree char *props = g_strdup_printf("secret,id=f0,file=%s", path);
    g_assert_true(lb_object_add_keyval(props, &err));
    assert_secret("f0", "pass\n", 5);
    g_autofree char *json = g_strdup_printf(
        "{\"qom-type\":\"secret\",\"id\":\"f1\",\"file\":\"%s\"}", path);
    g_assert_true(lb_object_add_keyval(json, &err));
    assert_secret("f1", "pass\n", 5);
    g_unlink(path);
    lb_objects_clear();
    g_assert_null(lb_object_list());
}

/* AES-256-CBC + PKCS#7, base64 encoded: what libvirt puts in data=. */
static char *encrypt_b64(const guint8 key[32], const guint8 iv[16],
                         const char *plain)
{
    size_t len = strlen(plain), pad = 16 - len % 16;
    g_autofree guint8 *buf = g_malloc(len + pad);
    gnutls_cipher_hd_t h;
    gnutls_datum_t k = {(guint8 *)key, 32}, v = {(guint8 *)iv, 16};

    memcpy(buf, plain, len);
    memset(buf + len, (int)pad, pad);
    g_assert_cmpint(gnutls_cipher_init(&h, GNUTLS_CIPHER_AES_256_CBC, &k, &v),
                    ==, 0);
    g_assert_cmpint(gnutls_cipher_encrypt(h, buf, len + pad), ==, 0);
    gnutls_cipher_deinit(h);
    return g_base64_encode(buf, len + pad);
}

static void test_keyid(void)
{
    g_autoptr(GError) err = NULL;
    guint8 key[32], iv[16];

    for (int i = 0; i < 32; i++) {
        key[i] = (guint8)(i * 7 + 1);
    }
    for (int i = 0; i < 16; i++) {
        iv[i] = (guint8)(0xf0 - i);
    }
    g_autofree char *key_b64 = g_base64_encode(key, 32);
    g_autofree char *iv_b64 = g_base64_encode(iv, 16);
    g_autofree char *mk =
        g_strdup_printf("secret,id=master,format=base64,data=%s", key_b64);
    g_assert_true(lb_object_add_keyval(mk, &err));
    g_assert_no_error(err);

    static const char *const plains[] = {
        "abc123",
        "exactly16bytes!!",
        "",
        "a somewhat longer passphrase x",
    };
    for (guint i = 0; i < G_N_ELEMENTS(plains); i++) {
        g_autofree char *ct = encrypt_b64(key, iv, plains[i]);
        g_autofree char *props = g_strdup_printf(
            "secret,id=k%u,keyid=master,iv=%s,format=base64,data=%s", i, iv_b64,
            ct);
        g_assert_true(lb_object_add_keyval(props, &err));
        g_assert_no_error(err);
        g_autofree char *id = g_strdup_printf("k%u", i);
        assert_secret(id, plains[i], strlen(plains[i]));
    }

    /* Failures: missing iv, short iv, unknown key, bad padding. */
    g_autofree char *ct = encrypt_b64(key, iv, "abc123");
    g_autofree char *no_iv =
        g_strdup_printf("secret,id=e0,keyid=master,format=base64,data=%s", ct);
    g_assert_false(lb_object_add_keyval(no_iv, &err));
    g_assert_cmpstr(err->message, ==, "IV is required to decrypt secret");
    g_clear_error(&err);
    g_autofree char *short_iv = g_strdup_printf(
        "secret,id=e0,keyid=master,iv=AAAA,format=base64,data=%s", ct);
    g_assert_false(lb_object_add_keyval(short_iv, &err));
    g_clear_error(&err);
    g_autofree char *no_key = g_strdup_printf(
        "secret,id=e0,keyid=ghost,iv=%s,format=base64,data=%s", iv_b64, ct);
    g_assert_false(lb_object_add_keyval(no_key, &err));
    g_assert_cmpstr(err->message, ==, "No secret with id 'ghost'");
    g_clear_error(&err);
    g_autofree char *wrong_key = g_strdup_printf(
        "secret,id=e0,keyid=k0,iv=%s,format=base64,data=%s", iv_b64, ct);
    g_assert_false(lb_object_add_keyval(wrong_key, &err));
    g_assert_cmpstr(err->message, ==, "Key should be 32 bytes in length");
    g_clear_error(&err);
    g_assert_false(lb_object_exists("e0"));
    lb_objects_clear();
}

static void test_registry(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(lb_object_add_keyval("secret,id=a,data=1", &err));
    g_assert_true(lb_object_add_keyval("secret,id=b,data=2", &err));
    g_assert_false(lb_object_add_keyval("secret,id=a,data=3", &err));
    g_assert_error(err, LB_OBJECT_ERROR, LB_OBJECT_ERROR_EXISTS);
    g_clear_error(&err);
    assert_secret("a", "1", 1);
    g_autoptr(GList) ids = lb_object_list();
    g_assert_cmpuint(g_list_length(ids), ==, 2);
    g_assert_cmpstr(ids->data, ==, "a");
    g_assert_false(lb_object_del("zz", &err));
    g_assert_error(err, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND);
    g_clear_error(&err);
    g_assert_null(lb_secret_lookup("zz", &err));
    g_assert_error(err, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND);
    g_clear_error(&err);

    /* QMP object-add arguments, flat and legacy "props" forms. */
    g_autoptr(LbOpts) flat = lb_opts_parse_json(
        "{\"qom-type\":\"secret\",\"id\":\"c\",\"data\":\"abc\"}", &err);
    g_assert_true(lb_object_add(flat, &err));
    assert_secret("c", "abc", 3);
    g_autoptr(LbOpts) legacy = lb_opts_parse_json(
        "{\"qom-type\":\"secret\",\"id\":\"d\",\"props\":{\"data\":\"x\"}}",
        &err);
    g_assert_true(lb_object_add(legacy, &err));
    g_assert_no_error(err);
    assert_secret("d", "x", 1);
    lb_objects_clear();
    g_assert_false(lb_object_exists("a"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(simple_cases); i++) {
        g_autofree char *path = g_strdup_printf("/crypto/object/secret/%u", i);
        g_test_add_data_func(path, &simple_cases[i], test_simple);
    }
    g_test_add_func("/crypto/object/file", test_file);
    g_test_add_func("/crypto/object/keyid", test_keyid);
    g_test_add_func("/crypto/object/registry", test_registry);
    return g_test_run();
}
