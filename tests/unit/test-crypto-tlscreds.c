/*
 * test-crypto-tlscreds.c: the tls-creds-x509 and tls-creds-psk objects
 * (crypto/tlscreds.c): property checks, the files each endpoint needs,
 * keys.psk parsing, and lookup by id.  Handshakes with real certificates
 * are covered by tests/interop/test-nbd-tls.sh.
 */
#include "config.h"
#include "lb/object.h"

#include <string.h>
#include <glib/gstdio.h>

/* keys.psk with two users; the hex keys are arbitrary test values. */
#define PSK_FILE "alice:00112233445566778899aabbccddeeff\n" \
                 "bob:ffeeddccbbaa99887766554433221100\r\n"

typedef struct CredsCase {
    const char *name;
    const char *files;      /* files to create in the dir: "a,b" */
    const char *props;      /* --object text, DIR replaced by the dir */
    const char *error;      /* substring of the error, NULL = success */
    bool server;            /* expected endpoint when created */
    bool verify;            /* expected verify-peer when created */
} CredsCase;

static const CredsCase cases[] = {
    {"psk-server", "keys.psk",
     "tls-creds-psk,id=t,endpoint=server,dir=DIR", NULL, true, true},
    {"psk-client-alice", "keys.psk",
     "tls-creds-psk,id=t,dir=DIR,username=alice", NULL, false, true},
    {"psk-client-crlf", "keys.psk",
     "tls-creds-psk,id=t,dir=DIR,username=bob,verify-peer=off", NULL,
     false, false},
    {"psk-client-unknown-user", "keys.psk",
     "tls-creds-psk,id=t,dir=DIR,username=carol", "Username carol not found"},
    {"psk-client-default-user", "keys.psk",
     "tls-creds-psk,id=t,dir=DIR", "Username qemu not found"},
    {"psk-server-no-file", "",
     "tls-creds-psk,id=t,endpoint=server,dir=DIR", "Cannot find PSK file"},
    {"psk-no-dir", "", "tls-creds-psk,id=t,endpoint=server",
     "Parameter 'dir' is missing"},
    {"bad-endpoint", "keys.psk",
     "tls-creds-psk,id=t,endpoint=both,dir=DIR", "endpoint"},
    {"priority", "keys.psk",
     "tls-creds-psk,id=t,endpoint=server,dir=DIR,priority=NORMAL",
     "priority"},
    {"x509-no-ca", "", "tls-creds-x509,id=t,endpoint=server,dir=DIR",
     "Cannot load CA certificate"},
    {"x509-garbage-ca", "ca-cert.pem",
     "tls-creds-x509,id=t,endpoint=client,dir=DIR",
     "Cannot load CA certificate"},
    {"x509-passwordid", "", "tls-creds-x509,id=t,dir=DIR,passwordid=s",
     "passwordid"},
};

static void write_file(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    const char *text = strcmp(name, "keys.psk") == 0 ? PSK_FILE : "garbage\n";
    g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void test_creds(gconstpointer data)
{
    const CredsCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("lb-tlscreds-XXXXXX", NULL);
    g_auto(GStrv) files = g_strsplit(c->files, ",", -1);

    g_assert_nonnull(dir);
    for (char **f = files; *f; f++) {
        if (**f) {
            write_file(dir, *f);
        }
    }
    g_auto(GStrv) parts = g_strsplit(c->props, "DIR", -1);
    g_autofree char *props = g_strjoinv(dir, parts);

    bool ok = lb_object_add_keyval(props, &err);
    if (c->error) {
        g_assert_false(ok);
        g_assert_nonnull(err);
        if (!strstr(err->message, c->error)) {
            g_error("'%s' not in '%s'", c->error, err->message);
        }
        g_assert_false(lb_object_exists("t"));
    } else {
        g_assert_no_error(err);
        g_assert_true(ok);
        LbTlsCreds *creds = lb_tls_creds_lookup("t", &err);
        g_assert_no_error(err);
        g_assert_nonnull(creds);
        g_assert_cmpint(lb_tls_creds_is_server(creds), ==, c->server);
        g_assert_cmpint(lb_tls_creds_verify_peer(creds), ==, c->verify);
        bool is_psk = false;
        g_assert_nonnull(lb_tls_creds_backend(creds, &is_psk));
        g_assert_true(is_psk == g_str_has_prefix(c->props, "tls-creds-psk"));
        g_assert_true(lb_object_del("t", &err));
        g_assert_no_error(err);
    }
    for (char **f = files; *f; f++) {
        if (**f) {
            g_autofree char *path = g_build_filename(dir, *f, NULL);
            g_unlink(path);
        }
    }
    g_rmdir(dir);
}

static void test_lookup(void)
{
    g_autoptr(GError) err = NULL;

    g_assert_null(lb_tls_creds_lookup("absent", &err));
    g_assert_error(err, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND);
    g_clear_error(&err);

    g_assert_true(lb_object_add_keyval("secret,id=s0,data=x", &err));
    g_assert_null(lb_tls_creds_lookup("s0", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "not TLS credentials"));
    g_clear_error(&err);
    g_assert_true(lb_object_del("s0", NULL));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/crypto/tlscreds/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_creds);
    }
    g_test_add_func("/crypto/tlscreds/lookup", test_lookup);
    return g_test_run();
}
