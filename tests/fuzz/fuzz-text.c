/*
 * fuzz-text.c: fuzz harnesses of the text front ends: util/opts option
 * strings (keyval, json:, filenames, sizes) and the QMP input path
 * (stream splitter, JSON parse, request checks, argument validation).
 *
 * QMP commands are not executed except the harmless protocol queries:
 * the others would open files and sockets.  Their arguments still go
 * through the same validation the monitor runs before executing them.
 */
#include "config.h"
#include "fuzz-targets.h"

#include <string.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "lb/opts.h"
#include "qmp/dispatch.h"
#include "qmp/json-splitter.h"
#include "qmp/qmp-opts.h"

/* ---- util/opts ---------------------------------------------------------- */

/* Read every key of @o the ways the consumers do; recurse into children. */
static void opts_walk(LbOpts *o, unsigned depth)
{
    g_autoptr(GList) keys = lb_opts_keys(o);

    g_assert(depth < 4096);
    for (GList *l = keys; l; l = l->next) {
        const char *key = l->data;
        const char *s = NULL;
        bool b;
        uint64_t u;
        int64_t i;

        g_assert(lb_opts_has(o, key));
        (void)lb_opts_get_str(o, key);
        (void)lb_opts_get_string(o, key, &s, NULL);
        (void)lb_opts_get_bool(o, key, false, &b, NULL);
        (void)lb_opts_get_uint(o, key, 0, &u, NULL);
        (void)lb_opts_get_int(o, key, 0, &i, NULL);
        (void)lb_opts_get_size(o, key, 0, &u, NULL);
        LbOpts *child = lb_opts_get_child(o, key);
        g_assert(!child == !lb_opts_is_child(o, key));
        if (child) {
            opts_walk(child, depth + 1);
        }
    }
    g_assert(lb_opts_check_unused(o, NULL, NULL));
}

/* What parsed must print as JSON that parses back to the same JSON. */
static void opts_check(LbOpts *o)
{
    g_autofree char *json = lb_opts_to_json(o);
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) copy = lb_opts_dup(o);

    g_autoptr(LbOpts) back = lb_opts_parse_json(json, &err);
    if (!back) {
        g_error("fuzz: lb_opts_to_json output does not parse: %s\n%s",
                err->message, json);
    }
    g_autofree char *json2 = lb_opts_to_json(back);
    if (strcmp(json, json2) != 0) {
        g_error("fuzz: opts JSON round trip differs:\n%s\n%s", json, json2);
    }
    lb_opts_merge(copy, back);
    opts_walk(copy, 0);
}

int lb_fuzz_opts(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size)) {
        return 0;    /* command-line strings end at the first NUL */
    }
    /* Keyval values are bytes; lb_opts_to_json() repairs them to UTF-8. */
    g_autofree char *str = g_strndup((const char *)data, size);
    LbOpts *(*parsers[])(const char *, GError **) = {
        lb_opts_parse_json, lb_opts_parse_filename,
    };
    const char *implied[] = { NULL, "driver" };

    for (unsigned i = 0; i < G_N_ELEMENTS(implied); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(LbOpts) o = lb_opts_parse_keyval(str, implied[i], &err);
        g_assert(!o != !err);
        if (o) {
            opts_check(o);
        }
        g_clear_error(&err);
        g_autoptr(LbOpts) any = lb_opts_parse_any(str, implied[i], &err);
        g_assert(!any != !err);
        if (any) {
            opts_check(any);
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(parsers); i++) {
        g_autoptr(GError) err = NULL;
        g_autoptr(LbOpts) o = parsers[i](str, &err);
        g_assert(!o != !err);
        if (o) {
            opts_check(o);
        }
    }
    uint64_t n;
    g_autoptr(GError) err = NULL;
    if (!lb_parse_size(str, &n, &err)) {
        g_assert(err && err->message);
    }
    return 0;
}

/* ---- QMP ---------------------------------------------------------------- */

/* Commands executed for real: protocol-level, no side effects. */
static const char *const qmp_safe[] = {
    "qmp_capabilities", "query-version", "query-commands", NULL,
};

typedef struct QmpFuzz {
    bool negotiated;
    unsigned n_texts;
} QmpFuzz;

static void check_reply(JsonNode *reply)
{
    g_assert(reply && JSON_NODE_HOLDS_OBJECT(reply));
    JsonObject *o = json_node_get_object(reply);
    g_assert(json_object_has_member(o, "return") !=
             json_object_has_member(o, "error"));
    g_autofree char *text = lb_qmp_to_text(reply);
    g_assert(text && text[0] == '{');
}

static void qmp_request(QmpFuzz *q, JsonNode *root)
{
    /* Before negotiation only qmp_capabilities runs: always safe. */
    bool not_negotiated = false;
    g_autoptr(JsonNode) r0 = lb_qmp_dispatch(root, &not_negotiated);
    check_reply(r0);

    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        return;
    }
    JsonObject *req = json_node_get_object(root);
    JsonNode *exec = json_object_get_member(req, "execute");
    if (!exec || !JSON_NODE_HOLDS_VALUE(exec) ||
        json_node_get_value_type(exec) != G_TYPE_STRING) {
        return;
    }
    const char *name = json_node_get_string(exec);
    const LbQmpCommand *cmd = lb_qmp_find_command(name);
    if (g_strv_contains(qmp_safe, name)) {
        g_autoptr(JsonNode) r = lb_qmp_dispatch(root, &q->negotiated);
        check_reply(r);
        return;
    }
    JsonNode *args = json_object_get_member(req, "arguments");
    if (args && JSON_NODE_HOLDS_OBJECT(args)) {
        /* What blockdev-add and block-export-add hand to the layers. */
        g_autoptr(GError) err = NULL;
        g_autoptr(LbOpts) o = lb_qmp_opts_from_node(args, &err);
        g_assert(!o != !err);
        if (o) {
            g_autofree char *json = lb_opts_to_json(o);
            g_assert(json && json[0] == '{');
        }
    }
    if (cmd && cmd->args && args) {
        for (int keyval = 0; keyval < 2; keyval++) {
            g_autoptr(GError) err = NULL;
            if (!lb_qapi_validate_full(cmd->args, args, keyval, &err)) {
                g_assert(err && err->message);
            }
        }
    }
}

static void on_text(const char *text, size_t len, const char *error,
                    void *opaque)
{
    QmpFuzz *q = opaque;
    g_autoptr(JsonParser) parser = json_parser_new();

    q->n_texts++;
    if (error || !g_utf8_validate(text, len, NULL) ||
        !json_parser_load_from_data(parser, text, len, NULL)) {
        return;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root) {
        qmp_request(q, root);
    }
}

int lb_fuzz_qmp(const uint8_t *data, size_t size)
{
    QmpFuzz q = { 0 };
    LbJsonSplitter s;

    /* A small size limit reaches the overflow paths with small inputs. */
    lb_json_splitter_init(&s, 4096, on_text, &q);
    /* Feed in uneven pieces, as a socket delivers them. */
    for (size_t off = 0, step = 1; off < size; step = step * 3 % 97 + 1) {
        size_t n = MIN(step, size - off);
        lb_json_splitter_feed(&s, (const char *)data + off, n);
        off += n;
    }
    lb_json_splitter_destroy(&s);
    return 0;
}

/* ---- table --------------------------------------------------------------- */

const LbFuzzTarget lb_fuzz_targets[] = {
    { "luks1", lb_fuzz_luks1 },
    { "luks2", lb_fuzz_luks2 },
    { "luks2-json", lb_fuzz_luks2_json },
    { "opts", lb_fuzz_opts },
    { "qmp", lb_fuzz_qmp },
    { "nbd", lb_fuzz_nbd },
    { NULL, NULL },
};

LbFuzzFunc lb_fuzz_find(const char *name)
{
    for (const LbFuzzTarget *t = lb_fuzz_targets; t->name; t++) {
        if (!strcmp(t->name, name)) {
            return t->fn;
        }
    }
    return NULL;
}
