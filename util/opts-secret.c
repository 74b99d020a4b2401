/*
 * opts-secret.c: keep secret option values (a secret object's "data")
 * out of memory we cannot wipe.
 *
 * json-glib copies every string it parses into buffers it frees without
 * wiping (scanner tokens, GString growth).  So JSON text is redacted
 * before json-glib sees it: lb_opts_json_redact() decodes each string
 * value of a member named "data" into an LbSecret and puts a marker
 * ("\u0001lb-secret:N") in its place; lb_opts_unredact() puts the secret
 * back into the LbOpts built from the parsed text.  LbOpts strings are
 * wiped when freed (opts.c).  lb_opts_redact() replaces secret values in
 * a tree that is only validated, and lb_opts_scrub_arg() overwrites a
 * secret value in a command-line argument in place, so it no longer shows
 * in /proc/PID/cmdline or the process's stack.
 */
#include "config.h"
#include "lb/opts.h"
#include "opts-priv.h"

#include <string.h>

#include "lb/secret.h"

#define SECRET_KEY "data"
#define MARKER "\001lb-secret:"

/* Length of the JSON string literal starting at @s[0] == '"' (quotes
 * included), or 0 when it does not end before @end. */
static size_t json_string_len(const char *s, const char *end)
{
    const char *p = s + 1;

    while (p < end && *p != '"') {
        p += *p == '\\' ? 2 : 1;
    }
    return p < end ? (size_t)(p - s) + 1 : 0;
}

static int hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* Decode the body of a JSON string literal (@lit without its quotes,
 * @len bytes) into @out (at least @len bytes).  Returns the decoded
 * length, or -1 on a bad escape. */
static gssize json_unescape(const char *lit, size_t len, guint8 *out)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        if (lit[i] != '\\') {
            out[o++] = lit[i];
            continue;
        }
        if (++i >= len) {
            return -1;
        }
        const char *esc = strchr("\"\\/bfnrt", lit[i]);
        if (esc && lit[i]) {
            out[o++] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
            continue;
        }
        if (lit[i] != 'u' || i + 4 >= len || hex4(lit + i + 1) < 0) {
            return -1;
        }
        gunichar c = hex4(lit + i + 1);
        i += 4;
        if (c >= 0xd800 && c < 0xdc00 && i + 6 < len && lit[i + 1] == '\\' &&
            lit[i + 2] == 'u') {
            int lo = hex4(lit + i + 3);
            if (lo >= 0xdc00 && lo < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
        }
        /* A \uXXXX escape never takes fewer bytes than its UTF-8 form. */
        o += g_unichar_to_utf8(c, (char *)out + o);
    }
    return o;
}

/* Is the literal @lit (quotes included) the key "data"? */
static bool is_secret_key(const char *lit, size_t len)
{
    char buf[sizeof(SECRET_KEY) + 8];

    if (len - 2 > sizeof(buf)) {
        return false;
    }
    gssize n = json_unescape(lit + 1, len - 2, (guint8 *)buf);
    return n == (gssize)strlen(SECRET_KEY) && !memcmp(buf, SECRET_KEY, n);
}

/* Skip JSON whitespace. */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && strchr(" \t\r\n", *p) && *p) {
        p++;
    }
    return p;
}

char *lb_opts_json_redact(const char *json, gssize len, GPtrArray *secrets)
{
    const char *p = json;
    const char *end = json + (len < 0 ? strlen(json) : (size_t)len);
    GString *out = g_string_sized_new(end - p + 1);

    while (p < end) {
        size_t n = *p == '"' ? json_string_len(p, end) : 0;

        if (!n) {
            g_string_append_c(out, *p++);
            continue;
        }
        g_string_append_len(out, p, n);
        const char *colon = skip_ws(p + n, end);
        if (colon < end && *colon == ':' && is_secret_key(p, n)) {
            const char *v = skip_ws(colon + 1, end);
            size_t vn = v < end && *v == '"' ? json_string_len(v, end) : 0;
            g_autoptr(LbSecret) tmp = lb_secret_new(vn + 1);
            gssize dn =
                vn ? json_unescape(v + 1, vn - 2, lb_secret_data(tmp)) : -1;
            if (dn >= 0) {
                /* NUL-terminated: the value goes back as a C string. */
                LbSecret *s = lb_secret_new(dn + 1);
                memcpy(lb_secret_data(s), lb_secret_data(tmp), dn);
                g_string_append_len(out, p + n, colon + 1 - (p + n));
                g_string_append_printf(out, "\"\\u0001lb-secret:%u\"",
                                       secrets->len);
                g_ptr_array_add(secrets, s);
                p = v + vn;
                continue;
            }
        }
        p += n;
    }
    return g_string_free(out, FALSE);
}

static void put_secret(LbOptsVal *v, GPtrArray *secrets)
{
    guint64 idx;
    const char *num;

    if (v->type != LB_OPTS_V_STR || !secrets->len ||
        !g_str_has_prefix(v->str, MARKER)) {
        return;
    }
    num = v->str + strlen(MARKER);
    if (!g_ascii_string_to_unsigned(num, 10, 0, secrets->len - 1, &idx, NULL)) {
        return;
    }
    LbSecret *s = secrets->pdata[idx];
    lb_memzero(v->str, strlen(v->str));
    g_free(v->str);
    v->str = g_strndup((const char *)lb_secret_cdata(s), lb_secret_len(s));
}

void lb_opts_unredact(LbOpts *o, GPtrArray *secrets)
{
    for (guint i = 0; i < o->entries->len; i++) {
        LbOptsEntry *e = o->entries->pdata[i];

        if (e->val->obj) {
            lb_opts_unredact(e->val->obj, secrets);
        } else if (g_str_equal(e->key, SECRET_KEY)) {
            put_secret(e->val, secrets);
        }
    }
}

void lb_opts_redact(LbOpts *o)
{
    for (guint i = 0; i < o->entries->len; i++) {
        LbOptsEntry *e = o->entries->pdata[i];

        if (e->val->obj) {
            lb_opts_redact(e->val->obj);
        } else if (e->val->type == LB_OPTS_V_STR &&
                   g_str_equal(e->key, SECRET_KEY)) {
            lb_memzero(e->val->str, strlen(e->val->str));
            g_free(e->val->str);
            e->val->str = g_strdup("redacted");
        }
    }
}

/* Keyval: overwrite the value of every "data" (or "*.data") key. */
static void scrub_keyval(char *arg)
{
    char *s = arg;

    while (*s) {
        size_t klen = strcspn(s, "=,");
        char *val = s[klen] == '=' ? s + klen + 1 : s;
        bool secret =
            s[klen] == '=' &&
            ((klen == strlen(SECRET_KEY) && !strncmp(s, SECRET_KEY, klen)) ||
             (klen > strlen(SECRET_KEY) &&
              !strncmp(s + klen - strlen(SECRET_KEY) - 1, "." SECRET_KEY,
                       strlen(SECRET_KEY) + 1)));
        char *p = val;

        while (*p && !(*p == ',' && p[1] != ',')) {
            p += *p == ',' ? 2 : 1;
        }
        if (secret) {
            memset(val, '*', p - val);
        }
        s = *p ? p + 1 : p;
    }
}

/* JSON: overwrite the body of every "data" member's string value. */
static void scrub_json(char *arg)
{
    char *p = arg;
    char *end = arg + strlen(arg);

    while (p < end) {
        size_t n = *p == '"' ? json_string_len(p, end) : 0;
        if (!n) {
            p++;
            continue;
        }
        const char *colon = skip_ws(p + n, end);
        if (colon < end && *colon == ':' && is_secret_key(p, n)) {
            char *v = (char *)skip_ws(colon + 1, end);
            size_t vn = v < end && *v == '"' ? json_string_len(v, end) : 0;
            if (vn) {
                memset(v + 1, '*', vn - 2);
                p = v + vn;
                continue;
            }
        }
        p += n;
    }
}

void lb_opts_scrub_arg(char *arg)
{
    const char *p = arg;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p == '{') {
        scrub_json(arg);
    } else if (g_str_has_prefix(arg, "json:")) {
        scrub_json(arg + 5);
    } else {
        scrub_keyval(arg);
    }
}
