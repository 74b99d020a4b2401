/*
 * test-util-opts-secret.c: secret option values kept out of json-glib and
 * argv (util/opts-secret.c): JSON redaction and its round trip through
 * lb_opts_parse_json with every JSON escape, lb_opts_redact, and the
 * in-place scrubbing of command-line arguments.  Also lb_stack_wipe.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "lb/opts.h"
#include "lb/secret.h"

typedef struct {
    const char *json;   /* JSON object text */
    const char *data;   /* expected value of "data" (or props.data) */
    const char *secret; /* raw text that must not survive redaction */
} JsonCase;

static const JsonCase json_cases[] = {
    {"{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"hunter2\"}", "hunter2",
     "hunter2"},
    {"{\"data\" : \"a\\\"b\\\\c\\/d\\n\\t\",\"id\":\"s\"}", "a\"b\\c/d\n\t",
     "a\\\"b"},
    {"{\"data\":\"caf\\u00e9 \\ud83d\\ude00 \xc3\xa9,x\"}",
     "caf\xc3\xa9 \xf0\x9f\x98\x80 \xc3\xa9,x", "caf"},
    {"{\"d\\u0061ta\":\"escaped-key\"}", "escaped-key", "escaped-key"},
    {"{\"props\":{\"data\":\"nested-pass\",\"format\":\"raw\"}}", "nested-pass",
     "nested-pass"},
    {"{\"data\":\"\"}", "", NULL},
    {"{\"id\":\"data\",\"data\":\"after-a-value-named-data\"}",
     "after-a-value-named-data", "after-a-value"},
};

static const char *get_data(LbOpts *o)
{
    LbOpts *props = lb_opts_get_child(o, "props");

    return lb_opts_get_str(props ? props : o, "data");
}

static void test_json_roundtrip(gconstpointer p)
{
    const JsonCase *tc = p;
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) secrets =
        g_ptr_array_new_with_free_func((GDestroyNotify)lb_secret_free);
    g_autofree char *clean = lb_opts_json_redact(tc->json, -1, secrets);

    /* The redacted text holds a marker instead of the value. */
    g_assert_cmpuint(secrets->len, ==, 1);
    if (tc->secret) {
        g_assert_null(strstr(clean, tc->secret));
    }
    g_assert_nonnull(strstr(clean, "\\u0001lb-secret:0"));
    g_assert_cmpstr((const char *)lb_secret_cdata(secrets->pdata[0]), ==,
                    tc->data);

    /* lb_opts_parse_json redacts and puts the value back. */
    g_autoptr(LbOpts) o = lb_opts_parse_json(tc->json, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(get_data(o), ==, tc->data);

    /* lb_opts_redact takes it out of a tree. */
    lb_opts_redact(o);
    g_assert_cmpstr(get_data(o), ==, "redacted");
}

static void test_json_untouched(void)
{
    static const char *texts[] = {
        "{\"data\":42}",
        "{\"data\":{\"x\":\"y\"}}",
        "{\"x\":[\"data\",\"v\"]}",
        "{\"data\":\"unterminated",
        "{\"data\":\"bad \\q escape\"}",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_autoptr(GPtrArray) secrets =
            g_ptr_array_new_with_free_func((GDestroyNotify)lb_secret_free);
        g_autofree char *clean = lb_opts_json_redact(texts[i], -1, secrets);

        g_assert_cmpstr(clean, ==, texts[i]);
        g_assert_cmpuint(secrets->len, ==, 0);
    }
}

static const struct {
    const char *arg;
    const char *want;
} scrub_cases[] = {
    {"secret,id=s0,data=abc", "secret,id=s0,data=***"},
    {"secret,id=s0,data=a,,b,,c,format=raw",
     "secret,id=s0,data=*******,format=raw"},
    {"data=x,id=s", "data=*,id=s"},
    {"qom-type=secret,props.data=pw,id=s",
     "qom-type=secret,props.data=**,id=s"},
    {"secret,id=data,file=/p", "secret,id=data,file=/p"},
    {"secret,id=s,metadata=keep", "secret,id=s,metadata=keep"},
    {"{\"qom-type\":\"secret\",\"data\":\"p\\\"w\"}",
     "{\"qom-type\":\"secret\",\"data\":\"****\"}"},
    {"json:{\"data\": \"pw\"}", "json:{\"data\": \"**\"}"},
    {"", ""},
};

static void test_scrub(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(scrub_cases); i++) {
        g_autofree char *arg = g_strdup(scrub_cases[i].arg);

        lb_opts_scrub_arg(arg);
        g_assert_cmpstr(arg, ==, scrub_cases[i].want);
    }
}

/* Leaves a pattern in a stack frame below the caller's. */
static G_GNUC_NO_INLINE void leave_on_stack(uintptr_t *where)
{
    volatile guint8 buf[256];

    for (unsigned i = 0; i < sizeof(buf); i++) {
        buf[i] = 0xa5;
    }
    *where = (uintptr_t)buf;
}

static void test_stack_wipe(void)
{
    uintptr_t addr = 0;
    unsigned left = 0;

#if defined(__SANITIZE_ADDRESS__)
    g_test_skip("ASan moves stack frames");
    return;
#endif
    leave_on_stack(&addr);
    lb_stack_wipe(LB_STACK_WIPE_BYTES);
    /* Reading a dead frame is what an attacker with a core dump does. */
    const volatile guint8 *where = (const volatile guint8 *)addr;
    for (unsigned i = 0; i < 256; i++) {
        left += where[i] == 0xa5;
    }
    g_assert_cmpuint(left, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(json_cases); i++) {
        g_autofree char *path = g_strdup_printf("/util/opts-secret/json/%u", i);
        g_test_add_data_func(path, &json_cases[i], test_json_roundtrip);
    }
    g_test_add_func("/util/opts-secret/json-untouched", test_json_untouched);
    g_test_add_func("/util/opts-secret/scrub", test_scrub);
    g_test_add_func("/util/opts-secret/stack-wipe", test_stack_wipe);
    return g_test_run();
}
