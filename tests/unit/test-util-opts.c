/*
 * test-util-opts.c: keyval and json: option parsing (util/opts.c):
 * escapes, nesting, implied keys, typed getters, unknown-key detection
 * and error messages, checked against QEMU's keyval rules.
 */
#include "config.h"
#include "lb/opts.h"

#include <string.h>

typedef struct KeyvalCase {
    const char *input;
    const char *implied;
    const char *json;  /* expected lb_opts_to_json, NULL = error */
    const char *error; /* substring of the expected message */
} KeyvalCase;

static const KeyvalCase keyval_cases[] = {
    {"", NULL, "{}", NULL},
    {"a=1", NULL, "{\"a\":\"1\"}", NULL},
    {"a=1,b=2,", NULL, "{\"a\":\"1\",\"b\":\"2\"}", NULL},
    {"a=x,,y,b=z", NULL, "{\"a\":\"x,y\",\"b\":\"z\"}", NULL},
    {"a=,,,,", NULL, "{\"a\":\",,\"}", NULL},
    {"a=", NULL, "{\"a\":\"\"}", NULL},
    {"a=b=c", NULL, "{\"a\":\"b=c\"}", NULL},
    {"a.b.c=1,a.b.d=2,a.e=3", NULL,
     "{\"a\":{\"b\":{\"c\":\"1\",\"d\":\"2\"},\"e\":\"3\"}}", NULL},
    {"driver=luks,file.filename=p.img,header.filename=h.img,key-secret=s0",
     NULL,
     "{\"driver\":\"luks\",\"file\":{\"filename\":\"p.img\"},"
     "\"header\":{\"filename\":\"h.img\"},\"key-secret\":\"s0\"}",
     NULL},
    {"a=1,a=2", NULL, "{\"a\":\"2\"}", NULL},
    {"secret,id=s0,data=abc", "qom-type",
     "{\"qom-type\":\"secret\",\"id\":\"s0\",\"data\":\"abc\"}", NULL},
    {"x,,y,id=s0", "qom-type", "{\"qom-type\":\"x,y\",\"id\":\"s0\"}", NULL},
    {"id=s0,secret", "qom-type", NULL, "Expected '=' after parameter 'secret'"},
    {"secret", NULL, NULL, "Expected '=' after parameter 'secret'"},
    {"a.=1", NULL, NULL, "Invalid parameter 'a.'"},
    {".a=1", NULL, NULL, "Invalid parameter '.a'"},
    {"a..b=1", NULL, NULL, "Invalid parameter 'a..b'"},
    {"=1", NULL, NULL, "Invalid parameter ''"},
    {"a b=1", NULL, NULL, "Invalid parameter 'a b'"},
    {"a=1,a.b=2", NULL, NULL, "Parameters 'a.*' used inconsistently"},
    {"a.b=2,a=1", NULL, NULL, "Parameters 'a.*' used inconsistently"},
    {"a.b.c=1,a.b=2", NULL, NULL, "Parameters 'a.b.*' used inconsistently"},
};

static void test_keyval(gconstpointer data)
{
    const KeyvalCase *c = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(c->input, c->implied, &err);

    if (!c->json) {
        g_assert_null(o);
        g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE);
        g_assert_nonnull(strstr(err->message, c->error));
        return;
    }
    g_assert_no_error(err);
    g_autofree char *json = lb_opts_to_json(o);
    g_assert_cmpstr(json, ==, c->json);
}

static void test_json(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_filename(
        "json:{\"driver\":\"luks\",\"file\":{\"filename\":\"p.img\"},"
        "\"header.filename\":\"h.img\",\"n\":5,\"b\":true,\"l\":[1,\"x\"]}",
        &err);
    g_assert_no_error(err);
    g_assert_cmpstr(lb_opts_get_str(o, "driver"), ==, "luks");
    g_assert_true(lb_opts_is_child(o, "file"));
    g_assert_true(lb_opts_is_child(o, "header"));
    g_assert_cmpstr(lb_opts_get_str(lb_opts_get_child(o, "header"), "filename"),
                    ==, "h.img");
    g_assert_cmpstr(lb_opts_get_str(o, "file.filename"), ==, "p.img");
    uint64_t n;
    g_assert_true(lb_opts_get_uint(o, "n", 0, &n, &err));
    g_assert_cmpuint(n, ==, 5);
    bool b;
    g_assert_true(lb_opts_get_bool(o, "b", false, &b, &err));
    g_assert_true(b);
    /* A JSON number is not a string. */
    const char *s;
    g_assert_false(lb_opts_get_string(o, "n", &s, &err));
    g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE);
    g_clear_error(&err);
    g_autofree char *json = lb_opts_to_json(o);
    g_assert_nonnull(strstr(json, "\"l\":[1,\"x\"]"));

    g_autoptr(LbOpts) plain = lb_opts_parse_filename("a,b.img", &err);
    g_assert_cmpstr(lb_opts_get_str(plain, "filename"), ==, "a,b.img");

    g_assert_null(lb_opts_parse_filename("json:{\"a\":", &err));
    g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE);
    g_clear_error(&err);
    g_assert_null(lb_opts_parse_json("[1]", &err));
    g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_PARSE);
    g_clear_error(&err);

    g_autoptr(LbOpts) any =
        lb_opts_parse_any(" {\"id\":\"x\"}", "qom-type", &err);
    g_assert_cmpstr(lb_opts_get_str(any, "id"), ==, "x");
}

static void test_getters(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(
        "b1=on,b2=off,b3=yes,b4=maybe,u=0x10,i=-5,sz=1.5k,big=2G,bad=12x", NULL,
        &err);
    bool b;
    uint64_t u;
    int64_t i;

    g_assert_true(lb_opts_get_bool(o, "b1", false, &b, &err) && b);
    g_assert_true(lb_opts_get_bool(o, "b2", true, &b, &err) && !b);
    g_assert_true(lb_opts_get_bool(o, "b3", false, &b, &err) && b);
    g_assert_true(lb_opts_get_bool(o, "absent", true, &b, &err) && b);
    g_assert_false(lb_opts_get_bool(o, "b4", false, &b, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'b4' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_true(lb_opts_get_uint(o, "u", 0, &u, &err));
    g_assert_cmpuint(u, ==, 16);
    g_assert_true(lb_opts_get_int(o, "i", 0, &i, &err));
    g_assert_cmpint(i, ==, -5);
    g_assert_false(lb_opts_get_uint(o, "i", 0, &u, &err));
    g_clear_error(&err);
    g_assert_true(lb_opts_get_size(o, "sz", 0, &u, &err));
    g_assert_cmpuint(u, ==, 1536);
    g_assert_true(lb_opts_get_size(o, "big", 0, &u, &err));
    g_assert_cmpuint(u, ==, 2ull << 30);
    g_assert_false(lb_opts_get_size(o, "bad", 0, &u, &err));
    g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_TYPE);
    g_clear_error(&err);
    g_assert_true(lb_opts_check_unused(o, NULL, &err));
}

static void test_unused(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(
        "driver=file,cache.direct=on,cache.bogus=1,extra=2", NULL, &err);
    bool b;

    lb_opts_get_str(o, "driver");
    g_assert_true(lb_opts_get_bool(o, "cache.direct", false, &b, &err) && b);
    g_assert_false(lb_opts_check_unused(o, NULL, &err));
    g_assert_error(err, LB_OPTS_ERROR, LB_OPTS_ERROR_UNKNOWN);
    g_assert_cmpstr(err->message, ==, "Invalid parameter 'cache.bogus'");
    g_clear_error(&err);
    lb_opts_mark_used(o, "cache.bogus");
    g_assert_false(lb_opts_check_unused(o, "luks", &err));
    g_assert_cmpstr(err->message, ==, "luks: Invalid parameter 'extra'");
    g_clear_error(&err);
    lb_opts_mark_used(o, "extra");
    g_assert_true(lb_opts_check_unused(o, NULL, &err));

    /* A nested object read as a whole counts as used. */
    g_autoptr(LbOpts) p = lb_opts_parse_keyval("file.filename=x", NULL, &err);
    g_assert_nonnull(lb_opts_get_child(p, "file"));
    g_assert_true(lb_opts_check_unused(p, NULL, &err));
}

static void test_structure(void)
{
    g_autoptr(LbOpts) o = lb_opts_new();
    g_autoptr(LbOpts) c = lb_opts_new();

    lb_opts_set_str(o, "s", "v");
    lb_opts_set_int(o, "n", -3);
    lb_opts_set_bool(o, "b", true);
    lb_opts_set_str(c, "filename", "f");
    lb_opts_set_child(o, "file", c);
    g_autofree char *j1 = lb_opts_to_json(o);
    g_assert_cmpstr(j1, ==,
                    "{\"s\":\"v\",\"n\":-3,\"b\":true,"
                    "\"file\":{\"filename\":\"f\"}}");
    g_autoptr(LbOpts) d = lb_opts_dup(o);
    lb_opts_remove(d, "s");
    lb_opts_set_str(d, "n", "7");
    g_autofree char *j2 = lb_opts_to_json(d);
    g_assert_cmpstr(j2, ==,
                    "{\"n\":\"7\",\"b\":true,"
                    "\"file\":{\"filename\":\"f\"}}");
    g_autoptr(GList) keys = lb_opts_keys(o);
    g_assert_cmpuint(g_list_length(keys), ==, 4);
    g_assert_cmpstr(keys->data, ==, "s");
    g_assert_cmpstr(lb_opts_get_str(o, "n"), ==, "-3");
    g_assert_cmpstr(lb_opts_get_str(o, "b"), ==, "true");
    lb_opts_merge(o, d);
    g_assert_cmpstr(lb_opts_get_str(o, "n"), ==, "7");
}

/* Bytes that are not UTF-8 become U+FFFD ("\xef\xbf\xbd"), one a byte. */
typedef struct Utf8Case {
    const char *key, *value;     /* set with lb_opts_set_str */
    const char *json;            /* expected lb_opts_to_json */
} Utf8Case;

#define FFFD "\xef\xbf\xbd"
static const Utf8Case utf8_cases[] = {
    {"filename", "n\xff\xfe.img", "{\"filename\":\"n" FFFD FFFD ".img\"}"},
    {"a", "cut\xc3", "{\"a\":\"cut" FFFD "\"}"},
    {"a", "\xc3\xa9t\xc3\xa9", "{\"a\":\"\xc3\xa9t\xc3\xa9\"}"},
    {"a", "\x80x\xbf", "{\"a\":\"" FFFD "x" FFFD "\"}"},
    {"k\xff", "v", "{\"k" FFFD "\":\"v\"}"},
};

static void test_not_utf8(gconstpointer data)
{
    const Utf8Case *c = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_new();

    lb_opts_set_str(o, c->key, c->value);
    g_autofree char *json = lb_opts_to_json(o);
    g_assert_cmpstr(json, ==, c->json);
    g_assert_true(g_utf8_validate(json, -1, NULL));
    /* The text parses back, and prints the same again. */
    g_autoptr(LbOpts) back = lb_opts_parse_json(json, &err);
    g_assert_no_error(err);
    g_autofree char *json2 = lb_opts_to_json(back);
    g_assert_cmpstr(json2, ==, json);
    /* The value itself is kept as given. */
    g_assert_cmpstr(lb_opts_get_str(o, c->key), ==, c->value);
}

static void test_not_utf8_keyval(void)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(
        "driver=file,filename=\xff\xfe.img", NULL, &err);

    g_assert_no_error(err);
    g_assert_cmpstr(lb_opts_get_str(o, "filename"), ==, "\xff\xfe.img");
    g_autofree char *json = lb_opts_to_json(o);
    g_assert_cmpstr(json, ==,
                    "{\"driver\":\"file\",\"filename\":\"" FFFD FFFD
                    ".img\"}");
}

typedef struct SizeCase {
    const char *in;
    uint64_t out;
    bool ok;
} SizeCase;

static const SizeCase size_cases[] = {
    {"0", 0, true},           {"512", 512, true},    {"1k", 1024, true},
    {"1K", 1024, true},       {"1M", 1048576, true}, {"1.5G", 3ull << 29, true},
    {"2T", 2ull << 40, true}, {"16E", 0, false},     {"1.5", 0, false},
    {"-1", 0, false},         {"", 0, false},        {"12Q", 0, false},
    {"1kk", 0, false},        {"4096B", 4096, true},
};

static void test_size(gconstpointer data)
{
    const SizeCase *c = data;
    g_autoptr(GError) err = NULL;
    uint64_t v = 0;

    g_assert_cmpint(lb_parse_size(c->in, &v, &err), ==, c->ok);
    if (c->ok) {
        g_assert_cmpuint(v, ==, c->out);
    } else {
        g_assert_nonnull(err);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(keyval_cases); i++) {
        g_autofree char *path = g_strdup_printf("/util/opts/keyval/%u", i);
        g_test_add_data_func(path, &keyval_cases[i], test_keyval);
    }
    for (guint i = 0; i < G_N_ELEMENTS(size_cases); i++) {
        g_autofree char *path = g_strdup_printf("/util/opts/size/%u", i);
        g_test_add_data_func(path, &size_cases[i], test_size);
    }
    for (guint i = 0; i < G_N_ELEMENTS(utf8_cases); i++) {
        g_autofree char *path = g_strdup_printf("/util/opts/not-utf8/%u", i);
        g_test_add_data_func(path, &utf8_cases[i], test_not_utf8);
    }
    g_test_add_func("/util/opts/not-utf8/keyval", test_not_utf8_keyval);
    g_test_add_func("/util/opts/json", test_json);
    g_test_add_func("/util/opts/getters", test_getters);
    g_test_add_func("/util/opts/unused", test_unused);
    g_test_add_func("/util/opts/structure", test_structure);
    return g_test_run();
}
