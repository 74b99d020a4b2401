/*
 * object.h: user-creatable objects (--object / object-add) (crypto layer).
 *
 * Types: "secret" (data|file, format raw|base64, keyid+iv: data encrypted
 * with AES-256-CBC under another secret, as libvirt sends passphrases),
 * "tls-creds-x509" (dir, endpoint, verify-peer), "tls-creds-psk" (dir,
 * endpoint, username), "authz-simple" (identity) and "authz-list" (policy,
 * rules).  Objects live in one process-wide registry keyed by id.
 */
#ifndef LB_OBJECT_H
#define LB_OBJECT_H

#include <stdbool.h>
#include <glib.h>
#include "lb/opts.h"
#include "lb/secret.h"

#define LB_OBJECT_ERROR (lb_object_error_quark())
GQuark lb_object_error_quark(void);
typedef enum {
    LB_OBJECT_ERROR_FAILED,
    LB_OBJECT_ERROR_NOT_FOUND,
    LB_OBJECT_ERROR_EXISTS,
    LB_OBJECT_ERROR_INVALID,
    LB_OBJECT_ERROR_IN_USE,
} LbObjectError;

/**
 * lb_object_add: create an object from @props, which holds "qom-type",
 * "id" and the type's properties (QMP object-add's arguments).
 */
bool lb_object_add(LbOpts *props, GError **errp);
/** lb_object_add_keyval: the --object form "secret,id=s0,data=abc". */
bool lb_object_add_keyval(const char *str, GError **errp);
bool lb_object_del(const char *id, GError **errp);
/**
 * lb_id_wellformed: whether @id is a valid object or export id (QEMU's
 * id_wellformed: a letter, then letters, digits, '-', '.' and '_').
 */
bool lb_id_wellformed(const char *id);
/** Whether an object with @id exists. */
bool lb_object_exists(const char *id);
/** The qom-type of @id, or NULL. */
const char *lb_object_type(const char *id);
/** lb_object_list: ids of all objects (transfer container). */
GList *lb_object_list(void);
/** lb_objects_clear: delete every object (shutdown). */
void lb_objects_clear(void);

/**
 * lb_secret_lookup: the decoded bytes of secret @id (transfer full): base64
 * decoded and/or AES-256-CBC decrypted with its keyid secret and iv.
 */
LbSecret *lb_secret_lookup(const char *id, GError **errp);

/* TLS credentials (crypto/tlscreds.c). */
typedef struct LbTlsCreds LbTlsCreds;
/** (transfer none) the credentials object @id; error if absent or not TLS. */
LbTlsCreds *lb_tls_creds_lookup(const char *id, GError **errp);
/**
 * lb_tls_creds_get: like lb_tls_creds_lookup, but (transfer full): the
 * credentials stay valid after an object-del until lb_tls_creds_unref.
 * For TLS sessions, which use them for their whole life.
 */
LbTlsCreds *lb_tls_creds_get(const char *id, GError **errp);
LbTlsCreds *lb_tls_creds_ref(LbTlsCreds *creds);
/** lb_tls_creds_unref: accepts NULL. */
void lb_tls_creds_unref(LbTlsCreds *creds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbTlsCreds, lb_tls_creds_unref)
/** Whether the creds are for the server endpoint (default "client"). */
bool lb_tls_creds_is_server(LbTlsCreds *creds);
/** Opaque backend handle (gnutls_certificate_credentials_t or psk). */
void *lb_tls_creds_backend(LbTlsCreds *creds, bool *is_psk);
bool lb_tls_creds_verify_peer(LbTlsCreds *creds);
/**
 * lb_tls_creds_is_anon: whether these are "tls-creds-anon" credentials
 * (then lb_tls_creds_backend returns gnutls anon credentials, *is_psk
 * false).
 */
bool lb_tls_creds_is_anon(LbTlsCreds *creds);

/*
 * Authorization objects (crypto/authz.c): "authz-simple" (identity) and
 * "authz-list" (policy, rules of match/policy/format).
 */
/**
 * lb_authz_is_allowed: whether the authz object @id allows @identity (an
 * x509 distinguished name or a PSK username).  Returns false and sets
 * @errp when it is denied or when @id is no authorization object.
 */
bool lb_authz_is_allowed(const char *id, const char *identity, GError **errp);

/* Object type implementations register through these (internal). */
typedef struct LbObjectClass {
    const char *type;
    /* Build the object's private data from @props; NULL + errp on error. */
    void *(*create)(const char *id, LbOpts *props, GError **errp);
    void (*destroy)(void *obj);
} LbObjectClass;
extern const LbObjectClass lb_secret_class;
extern const LbObjectClass lb_tls_creds_x509_class;
extern const LbObjectClass lb_tls_creds_psk_class;
extern const LbObjectClass lb_tls_creds_anon_class;
extern const LbObjectClass lb_authz_simple_class;
extern const LbObjectClass lb_authz_list_class;
/** The private data of object @id if it has class @cls (transfer none). */
void *lb_object_get(const char *id, const LbObjectClass *cls, GError **errp);
/**
 * lb_object_call: call @fn on the private data of object @id under the
 * registry lock (so that object-del cannot free it meanwhile) if it has
 * class @cls.  Returns @fn's result (0 or 1), or -1 if there is no such
 * object.  @fn must not call back into the registry.
 */
int lb_object_call(const char *id, const LbObjectClass *cls,
                   bool (*fn)(void *priv, void *data), void *data);

#endif /* LB_OBJECT_H */
