/*
 * test-fuzz-regress.c: replay the fuzz seed corpus and every input that
 * once crashed a fuzz harness through the same harness functions, built
 * without libFuzzer (tests/fuzz/fuzz-targets.h).
 *
 * Inputs live in tests/fuzz/corpus/TARGET/ and tests/fuzz/regress/TARGET/;
 * each file becomes a test case /fuzz/DIR/TARGET/FILE.  A case passes when
 * the harness returns (under `make check-asan`, also without a sanitizer
 * report).
 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "../fuzz/fuzz-targets.h"

typedef struct Input {
    LbFuzzFunc fn;
    char *path;
} Input;

static void run_input(gconstpointer opaque)
{
    const Input *in = opaque;
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;

    g_assert_true(g_file_get_contents(in->path, &data, &len, &err));
    g_assert_no_error(err);
    g_assert_cmpint(in->fn((const uint8_t *)data, len), ==, 0);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Register one case per file under @kind/TARGET/; returns the count. */
static unsigned add_dir(const char *kind, GPtrArray *keep)
{
    unsigned n = 0;

    for (const LbFuzzTarget *t = lb_fuzz_targets; t->name; t++) {
        g_autofree char *dir =
            g_build_filename(LB_FUZZ_DIR, kind, t->name, NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        if (!d) {
            continue;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(d))) {
            g_ptr_array_add(names, g_strdup(name));
        }
        g_ptr_array_sort(names, cmp_names);
        for (guint i = 0; i < names->len; i++) {
            const char *file = g_ptr_array_index(names, i);
            Input *in = g_new0(Input, 1);
            in->fn = t->fn;
            in->path = g_build_filename(dir, file, NULL);
            g_ptr_array_add(keep, in);
            g_autofree char *path =
                g_strdup_printf("/fuzz/%s/%s/%s", kind, t->name, file);
            g_test_add_data_func(path, in, run_input);
            n++;
        }
    }
    return n;
}

static void input_free(gpointer p)
{
    Input *in = p;

    g_free(in->path);
    g_free(in);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(input_free);

    g_test_init(&argc, &argv, NULL);
    /* The seed corpus must exist: an empty run would prove nothing. */
    g_assert_cmpuint(add_dir("corpus", keep), >, 0);
    add_dir("regress", keep);
    return g_test_run();
}
