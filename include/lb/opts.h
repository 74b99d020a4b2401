/*
 * opts.h: option trees for nodes and objects (util layer).
 *
 * One representation for QEMU's three ways to spell options:
 *   keyval     "driver=luks,file.filename=p.img,header.filename=h.img"
 *   json:      'json:{"driver":"luks","file":{"filename":"p.img"}}'
 *   QMP        the "arguments" object of blockdev-add / object-add
 * An LbOpts is a JSON-like object (keys -> string, integer, bool, null,
 * nested LbOpts or list).  Keyval values are strings; the typed getters
 * accept both typed JSON values and their keyval string forms, as QEMU's
 * visitors do.  Getters mark keys as used so lb_opts_check_unused() can
 * reject unknown parameters.
 */
#ifndef LB_OPTS_H
#define LB_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define LB_OPTS_ERROR (lb_opts_error_quark())
GQuark lb_opts_error_quark(void);
typedef enum {
    LB_OPTS_ERROR_PARSE,      /* syntax */
    LB_OPTS_ERROR_TYPE,       /* wrong value type */
    LB_OPTS_ERROR_MISSING,    /* required key absent */
    LB_OPTS_ERROR_UNKNOWN,    /* unknown key */
} LbOptsError;

typedef struct LbOpts LbOpts;

LbOpts *lb_opts_new(void);
LbOpts *lb_opts_ref(LbOpts *o);
void lb_opts_unref(LbOpts *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbOpts, lb_opts_unref)

/**
 * lb_opts_parse_keyval: parse "a=1,b.c=2" (",," escapes a comma).  If the
 * first element has no '=', it is the value of @implied_key (e.g.
 * "secret,id=s0" with implied key "qom-type").  Dotted keys nest.
 */
LbOpts *lb_opts_parse_keyval(const char *str, const char *implied_key,
                             GError **errp);
/** lb_opts_parse_json: parse a JSON object text. */
LbOpts *lb_opts_parse_json(const char *json, GError **errp);
/**
 * lb_opts_parse_filename: "json:{...}" parses the JSON; anything else
 * becomes {"filename": @str}.
 */
LbOpts *lb_opts_parse_filename(const char *str, GError **errp);
/** lb_opts_parse_any: JSON if @str starts with '{', else keyval. */
LbOpts *lb_opts_parse_any(const char *str, const char *implied_key,
                          GError **errp);

bool lb_opts_has(LbOpts *o, const char *key);
/** The string value, or NULL if absent or not a string/number/bool. */
const char *lb_opts_get_str(LbOpts *o, const char *key);
/** Typed getters: absent -> @def (or NULL) and true; wrong type -> error. */
bool lb_opts_get_string(LbOpts *o, const char *key, const char **out,
                        GError **errp);
bool lb_opts_get_bool(LbOpts *o, const char *key, bool def, bool *out,
                      GError **errp);
bool lb_opts_get_uint(LbOpts *o, const char *key, uint64_t def,
                      uint64_t *out, GError **errp);
bool lb_opts_get_int(LbOpts *o, const char *key, int64_t def, int64_t *out,
                     GError **errp);
/** Like get_uint but also accepts size suffixes k, M, G, T (1024-based). */
bool lb_opts_get_size(LbOpts *o, const char *key, uint64_t def,
                      uint64_t *out, GError **errp);
/** Nested object, or NULL if absent or not an object (transfer none). */
LbOpts *lb_opts_get_child(LbOpts *o, const char *key);
/** Whether @key holds a nested object (vs. a string reference). */
bool lb_opts_is_child(LbOpts *o, const char *key);

void lb_opts_set_str(LbOpts *o, const char *key, const char *value);
void lb_opts_set_int(LbOpts *o, const char *key, int64_t value);
void lb_opts_set_bool(LbOpts *o, const char *key, bool value);
void lb_opts_set_child(LbOpts *o, const char *key, LbOpts *child);
void lb_opts_remove(LbOpts *o, const char *key);
/** lb_opts_merge: copy every key of @src into @dst (overwriting). */
void lb_opts_merge(LbOpts *dst, LbOpts *src);
LbOpts *lb_opts_dup(LbOpts *o);
/** Keys in insertion order (transfer container). */
GList *lb_opts_keys(LbOpts *o);

/** Mark @key used without reading it. */
void lb_opts_mark_used(LbOpts *o, const char *key);
/**
 * lb_opts_check_unused: fail with "Invalid parameter 'KEY'" (prefixed by
 * @what when not NULL) if any key was never read.
 */
bool lb_opts_check_unused(LbOpts *o, const char *what, GError **errp);
/**
 * lb_opts_check_unexpected: like lb_opts_check_unused but with the message
 * of QEMU's QAPI visitors, "Parameter 'KEY' is unexpected", for options
 * that QEMU reads through QAPI (--nbd-server, --export, --object).
 */
bool lb_opts_check_unexpected(LbOpts *o, GError **errp);

/**
 * lb_opts_to_json: compact JSON text (transfer full).  A byte of a key or
 * value that is not part of valid UTF-8 becomes U+FFFD, as in QEMU's JSON
 * output, so the text always parses.
 */
char *lb_opts_to_json(LbOpts *o);

/*
 * Secret option values: the string value of any key named "data" (a
 * secret object's passphrase) is kept out of memory we cannot wipe.
 */
/**
 * lb_opts_json_redact: a copy of JSON text @json (@len bytes, or -1 for
 * NUL-terminated) in which each "data" member's string value is replaced
 * by a marker; the decoded values are appended to @secrets (LbSecret,
 * NUL-terminated).  Parse the copy, then call lb_opts_unredact().  The
 * caller still wipes @json.  Returns: (transfer full) the redacted text.
 */
char *lb_opts_json_redact(const char *json, gssize len, GPtrArray *secrets);
/** lb_opts_unredact: put the values in @secrets back in place of their
 * markers in @o (recursively). */
void lb_opts_unredact(LbOpts *o, GPtrArray *secrets);
/** lb_opts_redact: replace (and wipe) every secret value in @o. */
void lb_opts_redact(LbOpts *o);
/** lb_opts_scrub_arg: overwrite in place the secret values in @arg, a
 * keyval, JSON or json: command-line argument (with '*'). */
void lb_opts_scrub_arg(char *arg);

/** lb_parse_size: "1M", "512", "1.5G" -> bytes (QEMU's qemu_strtosz). */
bool lb_parse_size(const char *str, uint64_t *out, GError **errp);

#endif /* LB_OPTS_H */
