/*
 * crypto/tlscreds.c: the "tls-creds-x509", "tls-creds-psk" and
 * "tls-creds-anon" objects.
 *
 * Properties follow QEMU's objects of the same names:
 *   common: dir (required), endpoint server|client (default client),
 *           verify-peer (default on), priority (gnutls priority string),
 *           loaded, sanity-check (accepted, ignored)
 *   x509:   dir holds ca-cert.pem (required), ca-crl.pem (optional),
 *           server-cert.pem + server-key.pem (server, required) or
 *           client-cert.pem + client-key.pem (client, optional),
 *           dh-params.pem (optional); passwordid is not supported
 *   psk:    dir holds keys.psk with "username:hexkey" lines; a server
 *           looks the client's username up there, a client sends
 *           @username (default "qemu") with its key from that file
 *   anon:   encryption without authentication (anonymous Diffie-Hellman,
 *           TLS 1.2); dir is optional and may hold dh-params.pem
 *
 * The gnutls credentials are built once at creation; lb_tls_creds_backend
 * hands them to the TLS user (the NBD server) with the kind (x509/psk).
 */
#include "config.h"
#include "lb/object.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib.h>
#include <gnutls/gnutls.h>

#include "lb/secret.h"

#define TLS_PSK_FILE_MAX (64 * 1024)

struct LbTlsCreds {
    gint ref;                         /* the object's + each TLS user's */
    bool server;
    bool verify_peer;
    bool is_psk;
    bool is_anon;
    char *dir;
    char *username;                   /* psk client */
    gnutls_certificate_credentials_t x509;
    gnutls_psk_server_credentials_t psk_server;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_anon_server_credentials_t anon_server;
    gnutls_anon_client_credentials_t anon_client;
    gnutls_dh_params_t dh;
};

static void tls_creds_free(LbTlsCreds *c)
{
    if (!c) {
        return;
    }
    if (c->x509) {
        gnutls_certificate_free_credentials(c->x509);
    }
    if (c->psk_server) {
        gnutls_psk_free_server_credentials(c->psk_server);
    }
    if (c->psk_client) {
        gnutls_psk_free_client_credentials(c->psk_client);
    }
    if (c->anon_server) {
        gnutls_anon_free_server_credentials(c->anon_server);
    }
    if (c->anon_client) {
        gnutls_anon_free_client_credentials(c->anon_client);
    }
    if (c->dh) {
        gnutls_dh_params_deinit(c->dh);
    }
    g_free(c->dir);
    g_free(c->username);
    g_free(c);
}

static bool tls_fail(GError **errp, const char *what, const char *path,
                     int gerr)
{
    g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                "%s '%s': %s", what, path, gnutls_strerror(gerr));
    return false;
}

/*
 * Common properties; fills @c->dir, endpoint and verify-peer.  @need_dir:
 * whether "dir" is required (not for anon credentials).
 */
static LbTlsCreds *tls_creds_common(LbOpts *props, bool need_dir,
                                    GError **errp)
{
    const char *dir = NULL, *endpoint = NULL, *priority = NULL;
    bool verify, loaded, sanity;

    if (!lb_opts_get_string(props, "dir", &dir, errp) ||
        !lb_opts_get_string(props, "endpoint", &endpoint, errp) ||
        !lb_opts_get_string(props, "priority", &priority, errp) ||
        !lb_opts_get_bool(props, "verify-peer", true, &verify, errp) ||
        !lb_opts_get_bool(props, "loaded", true, &loaded, errp) ||
        !lb_opts_get_bool(props, "sanity-check", true, &sanity, errp)) {
        return NULL;
    }
    if (!dir && need_dir) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'dir' is missing");
        return NULL;
    }
    if (endpoint && strcmp(endpoint, "server") != 0 &&
        strcmp(endpoint, "client") != 0) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Invalid parameter 'endpoint': '%s' (server or client)",
                    endpoint);
        return NULL;
    }
    if (priority) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'priority' is not supported");
        return NULL;
    }
    LbTlsCreds *c = g_new0(LbTlsCreds, 1);
    c->ref = 1;
    c->dir = g_strdup(dir);
    c->server = endpoint && strcmp(endpoint, "server") == 0;
    c->verify_peer = verify;
    return c;
}

static char *tls_path(LbTlsCreds *c, const char *name)
{
    return c->dir ? g_build_filename(c->dir, name, NULL) : NULL;
}

/* Optional Diffie-Hellman parameters (modern gnutls does without). */
static bool tls_load_dh(LbTlsCreds *c, GError **errp)
{
    g_autofree char *path = tls_path(c, "dh-params.pem");
    g_autofree char *pem = NULL;
    gsize len = 0;

    if (!path || !g_file_test(path, G_FILE_TEST_EXISTS)) {
        if (c->anon_server) {
            /* Anonymous DH needs parameters: gnutls' well-known ones. */
            gnutls_anon_set_server_known_dh_params(c->anon_server,
                                                   GNUTLS_SEC_PARAM_MEDIUM);
        }
        return true;
    }
    if (!g_file_get_contents(path, &pem, &len, errp)) {
        return false;
    }
    gnutls_datum_t d = { .data = (unsigned char *)pem, .size = len };
    int r = gnutls_dh_params_init(&c->dh);
    if (r >= 0) {
        r = gnutls_dh_params_import_pkcs3(c->dh, &d, GNUTLS_X509_FMT_PEM);
    }
    if (r < 0) {
        return tls_fail(errp, "Cannot load DH parameters from", path, r);
    }
    if (c->x509) {
        gnutls_certificate_set_dh_params(c->x509, c->dh);
    } else if (c->psk_server) {
        gnutls_psk_set_server_dh_params(c->psk_server, c->dh);
    } else if (c->anon_server) {
        gnutls_anon_set_server_dh_params(c->anon_server, c->dh);
    }
    return true;
}

static void *tls_x509_create(const char *id, LbOpts *props, GError **errp)
{
    lb_opts_mark_used(props, "passwordid");
    if (lb_opts_has(props, "passwordid")) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'passwordid' is not supported");
        return NULL;
    }
    g_autoptr(LbTlsCreds) c = tls_creds_common(props, true, errp);
    if (!c) {
        return NULL;
    }
    g_autofree char *ca = tls_path(c, "ca-cert.pem");
    g_autofree char *crl = tls_path(c, "ca-crl.pem");
    g_autofree char *cert = tls_path(c, c->server ? "server-cert.pem"
                                                  : "client-cert.pem");
    g_autofree char *key = tls_path(c, c->server ? "server-key.pem"
                                                 : "client-key.pem");
    int r = gnutls_certificate_allocate_credentials(&c->x509);
    if (r < 0) {
        tls_fail(errp, "Cannot allocate credentials for", id, r);
        return NULL;
    }
    r = gnutls_certificate_set_x509_trust_file(c->x509, ca,
                                               GNUTLS_X509_FMT_PEM);
    if (r <= 0) {
        /* 0 certificates is no CA at all (an empty or non-PEM file). */
        tls_fail(errp, "Cannot load CA certificate", ca,
                 r < 0 ? r : GNUTLS_E_NO_CERTIFICATE_FOUND);
        return NULL;
    }
    if (g_file_test(crl, G_FILE_TEST_EXISTS)) {
        r = gnutls_certificate_set_x509_crl_file(c->x509, crl,
                                                 GNUTLS_X509_FMT_PEM);
        if (r < 0) {
            tls_fail(errp, "Cannot load CA revocation list", crl, r);
            return NULL;
        }
    }
    /* A client certificate is optional; a server's is not. */
    bool have_cert = g_file_test(cert, G_FILE_TEST_EXISTS) &&
                     g_file_test(key, G_FILE_TEST_EXISTS);
    if (c->server || have_cert) {
        r = gnutls_certificate_set_x509_key_file(c->x509, cert, key,
                                                 GNUTLS_X509_FMT_PEM);
        if (r < 0) {
            tls_fail(errp, "Cannot load certificate", cert, r);
            return NULL;
        }
    }
    if (!tls_load_dh(c, errp)) {
        return NULL;
    }
    return g_steal_pointer(&c);
}

/* Find @user's hex key in keys.psk (transfer full, locked memory). */
static LbSecret *tls_psk_read_key(const char *path, const char *user,
                                  GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > TLS_PSK_FILE_MAX) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Cannot read PSK file '%s': %s", path,
                    fd < 0 ? g_strerror(errno) : "too large");
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    g_autoptr(LbSecret) file = lb_secret_new(st.st_size + 1);
    char *text = (char *)lb_secret_data(file);
    ssize_t n = read(fd, text, st.st_size);
    close(fd);
    if (n != st.st_size) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Cannot read PSK file '%s'", path);
        return NULL;
    }
    size_t ulen = strlen(user);
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        size_t llen = end ? (size_t)(end - line) : strlen(line);
        if (llen > ulen && strncmp(line, user, ulen) == 0 &&
            line[ulen] == ':') {
            size_t klen = llen - ulen - 1;
            while (klen > 0 && line[ulen + klen] == '\r') {
                klen--;
            }
            return lb_secret_new_from(line + ulen + 1, klen);
        }
        line = end ? end + 1 : NULL;
    }
    g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                "Username %s not found in PSK file '%s'", user, path);
    return NULL;
}

static void *tls_psk_create(const char *id, LbOpts *props, GError **errp)
{
    const char *user = NULL;

    if (!lb_opts_get_string(props, "username", &user, errp)) {
        return NULL;
    }
    g_autoptr(LbTlsCreds) c = tls_creds_common(props, true, errp);
    if (!c) {
        return NULL;
    }
    c->is_psk = true;
    g_autofree char *path = tls_path(c, "keys.psk");
    int r;
    if (c->server) {
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                        "Cannot find PSK file '%s'", path);
            return NULL;
        }
        r = gnutls_psk_allocate_server_credentials(&c->psk_server);
        if (r >= 0) {
            r = gnutls_psk_set_server_credentials_file(c->psk_server, path);
        }
        if (r < 0) {
            tls_fail(errp, "Cannot load PSK file", path, r);
            return NULL;
        }
    } else {
        c->username = g_strdup(user ? user : "qemu");
        g_autoptr(LbSecret) key = tls_psk_read_key(path, c->username, errp);
        if (!key) {
            return NULL;
        }
        gnutls_datum_t d = { .data = lb_secret_data(key),
                             .size = lb_secret_len(key) };
        r = gnutls_psk_allocate_client_credentials(&c->psk_client);
        if (r >= 0) {
            r = gnutls_psk_set_client_credentials(c->psk_client, c->username,
                                                  &d, GNUTLS_PSK_KEY_HEX);
        }
        if (r < 0) {
            tls_fail(errp, "Cannot use PSK from", path, r);
            return NULL;
        }
    }
    if (!tls_load_dh(c, errp)) {
        return NULL;
    }
    return g_steal_pointer(&c);
}

static void *tls_anon_create(const char *id, LbOpts *props, GError **errp)
{
    g_autoptr(LbTlsCreds) c = tls_creds_common(props, false, errp);
    if (!c) {
        return NULL;
    }
    c->is_anon = true;
    int r = c->server
                ? gnutls_anon_allocate_server_credentials(&c->anon_server)
                : gnutls_anon_allocate_client_credentials(&c->anon_client);
    if (r < 0) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Cannot allocate anonymous credentials: %s",
                    gnutls_strerror(r));
        return NULL;
    }
    if (!tls_load_dh(c, errp)) {
        return NULL;
    }
    return g_steal_pointer(&c);
}

LbTlsCreds *lb_tls_creds_ref(LbTlsCreds *creds)
{
    g_atomic_int_inc(&creds->ref);
    return creds;
}

void lb_tls_creds_unref(LbTlsCreds *creds)
{
    if (creds && g_atomic_int_dec_and_test(&creds->ref)) {
        tls_creds_free(creds);
    }
}

/* object-del drops the registry's reference; TLS sessions keep theirs. */
static void tls_destroy(void *obj)
{
    lb_tls_creds_unref(obj);
}

const LbObjectClass lb_tls_creds_x509_class = {
    .type = "tls-creds-x509",
    .create = tls_x509_create,
    .destroy = tls_destroy,
};

const LbObjectClass lb_tls_creds_psk_class = {
    .type = "tls-creds-psk",
    .create = tls_psk_create,
    .destroy = tls_destroy,
};

const LbObjectClass lb_tls_creds_anon_class = {
    .type = "tls-creds-anon",
    .create = tls_anon_create,
    .destroy = tls_destroy,
};

LbTlsCreds *lb_tls_creds_lookup(const char *id, GError **errp)
{
    LbTlsCreds *c = lb_object_get(id, &lb_tls_creds_x509_class, NULL);
    if (!c) {
        c = lb_object_get(id, &lb_tls_creds_psk_class, NULL);
    }
    if (!c) {
        c = lb_object_get(id, &lb_tls_creds_anon_class, NULL);
    }
    if (!c) {
        if (lb_object_exists(id)) {
            g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                        "Object with id '%s' is not TLS credentials", id);
        } else {
            g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND,
                        "No TLS credentials with id '%s'", id);
        }
    }
    return c;
}

static bool tls_ref_cb(void *priv, void *data)
{
    *(LbTlsCreds **)data = lb_tls_creds_ref(priv);
    return true;
}

LbTlsCreds *lb_tls_creds_get(const char *id, GError **errp)
{
    const LbObjectClass *classes[] = {
        &lb_tls_creds_x509_class,
        &lb_tls_creds_psk_class,
        &lb_tls_creds_anon_class,
    };
    LbTlsCreds *c = NULL;

    /* Looked up and referenced under the registry lock (no object-del
     * can free it in between). */
    for (guint i = 0; i < G_N_ELEMENTS(classes) && !c; i++) {
        lb_object_call(id, classes[i], tls_ref_cb, &c);
    }
    if (!c) {
        lb_tls_creds_lookup(id, errp);  /* for its error message */
    }
    return c;
}

bool lb_tls_creds_is_server(LbTlsCreds *creds)
{
    return creds->server;
}

bool lb_tls_creds_verify_peer(LbTlsCreds *creds)
{
    return creds->verify_peer;
}

bool lb_tls_creds_is_anon(LbTlsCreds *creds)
{
    return creds->is_anon;
}

void *lb_tls_creds_backend(LbTlsCreds *creds, bool *is_psk)
{
    *is_psk = creds->is_psk;
    if (creds->is_anon) {
        return creds->server ? (void *)creds->anon_server
                             : (void *)creds->anon_client;
    }
    if (creds->is_psk) {
        return creds->server ? (void *)creds->psk_server
                             : (void *)creds->psk_client;
    }
    return creds->x509;
}
