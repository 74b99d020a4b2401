/*
 * tests/unit/test-util-secret.c: LbSecret allocation, copies, wiping
 * helpers and constant-time comparison.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "lb/secret.h"

static void test_secret_new(void)
{
    static const size_t sizes[] = {0, 1, 31, 4096, 4097, 300000};

    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autoptr(LbSecret) s = lb_secret_new(sizes[i]);
        guint8 *p = lb_secret_data(s);

        g_assert_nonnull(p);
        g_assert_cmpuint(lb_secret_len(s), ==, sizes[i]);
        g_assert_true(lb_secret_cdata(s) == p);
        /* Zero-filled, writable, and aligned for structs. */
        for (size_t j = 0; j < sizes[i]; j++) {
            g_assert_cmpuint(p[j], ==, 0);
        }
        memset(p, 0xa5, sizes[i]);
        g_assert_cmpuint((uintptr_t)p % 16, ==, 0);
    }
    lb_secret_free(NULL);
}

static void test_secret_copy(void)
{
    static const char pw[] = "correct horse battery staple";
    g_autoptr(LbSecret) a = lb_secret_new_from(pw, strlen(pw));
    g_autoptr(LbSecret) b = lb_secret_dup(a);
    g_autoptr(LbSecret) e = lb_secret_new_from(NULL, 0);

    g_assert_cmpmem(lb_secret_cdata(a), lb_secret_len(a), pw, strlen(pw));
    g_assert_cmpmem(lb_secret_cdata(b), lb_secret_len(b), pw, strlen(pw));
    g_assert_true(lb_secret_data(a) != lb_secret_data(b));
    lb_secret_data(b)[0] = 'C';
    g_assert_cmpuint(lb_secret_data(a)[0], ==, 'c');
    g_assert_cmpuint(lb_secret_len(e), ==, 0);
}

static void test_memzero(void)
{
    guint8 buf[100];

    memset(buf, 0xff, sizeof(buf));
    lb_memzero(buf + 10, 80);
    g_assert_cmpuint(buf[9], ==, 0xff);
    g_assert_cmpuint(buf[90], ==, 0xff);
    for (int i = 10; i < 90; i++) {
        g_assert_cmpuint(buf[i], ==, 0);
    }
    lb_memzero(NULL, 0);
}

static void test_memeq(void)
{
    guint8 a[33];
    guint8 b[33];

    memset(a, 7, sizeof(a));
    memset(b, 7, sizeof(b));
    g_assert_true(lb_memeq_consttime(a, b, sizeof(a)));
    g_assert_true(lb_memeq_consttime(a, b, 0));
    b[32] = 8;
    g_assert_false(lb_memeq_consttime(a, b, sizeof(a)));
    g_assert_true(lb_memeq_consttime(a, b, 32));
    b[0] = 0;
    g_assert_false(lb_memeq_consttime(a, b, 32));
}

/* VmLck of this process in KiB, or -1. */
static long vm_locked_kib(void)
{
    g_autofree char *status = NULL;
    const char *p;

    if (!g_file_get_contents("/proc/self/status", &status, NULL, NULL) ||
        !(p = strstr(status, "VmLck:"))) {
        return -1;
    }
    return strtol(p + 6, NULL, 10);
}

/* The VmFlags line of the mapping containing @addr in /proc/self/smaps. */
static char *smaps_flags(const void *addr)
{
    g_autofree char *smaps = NULL;
    g_auto(GStrv) lines = NULL;
    bool inside = false;

    if (!g_file_get_contents("/proc/self/smaps", &smaps, NULL, NULL)) {
        return NULL;
    }
    lines = g_strsplit(smaps, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        unsigned long lo;
        unsigned long hi;

        if (sscanf(lines[i], "%lx-%lx ", &lo, &hi) == 2 &&
            strchr(lines[i], '-') < strchr(lines[i], ' ')) {
            inside = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (inside && g_str_has_prefix(lines[i], "VmFlags:")) {
            return g_strdup(lines[i]);
        }
    }
    return NULL;
}

/* Secrets are locked in RAM and kept out of core dumps, then released. */
static void test_secret_locked(void)
{
    long before = vm_locked_kib();
    long during;
    LbSecret *s;
    g_autofree char *flags = NULL;

    if (before < 0) {
        g_test_skip("no /proc/self/status VmLck");
        return;
    }
    s = lb_secret_new(256 * 1024);
    during = vm_locked_kib();
    flags = smaps_flags(lb_secret_data(s) + 4096);
    lb_secret_free(s);
    if (during < before + 256) {
        g_test_skip("mlock not permitted here (RLIMIT_MEMLOCK)");
        return;
    }
    g_assert_cmpint(vm_locked_kib(), <, during);
    g_assert_nonnull(flags);
    g_assert_nonnull(strstr(flags, " dd"));
    g_assert_nonnull(strstr(flags, " lo"));
}

/*
 * lb_stack_wipe(len) clears the len bytes just below the caller's frame,
 * where a callee's locals were: a callee leaves a pattern, a wipe of a
 * small len must remove it (it once cleared the far end of its 16 KiB
 * buffer instead, leaving all of it).  Reads dead stack on purpose, so
 * not under ASan.
 */
static uintptr_t residue_at;

static G_GNUC_NO_INLINE void leave_residue(void)
{
    volatile guint8 buf[600];

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = 0xab;
    }
    residue_at = (uintptr_t)buf;
}

static G_GNUC_NO_INLINE size_t count_residue(void)
{
    const volatile guint8 *p = (const volatile guint8 *)residue_at;
    size_t n = 0;

    for (size_t i = 0; i < 600; i++) {
        n += p[i] == 0xab;
    }
    return n;
}

static void test_stack_wipe(void)
{
#if defined(__SANITIZE_ADDRESS__)
    g_test_skip("reads dead stack frames");
#else
    leave_residue();
    g_assert_cmpuint(count_residue(), >, 0);
    leave_residue();
    lb_stack_wipe(2048);
    /* All of it but what sits level with lb_stack_wipe()'s own return
     * address and alignment padding (clang -O2 leaves 8 bytes). */
    g_assert_cmpuint(count_residue(), <=, 16);
#endif
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/secret/new", test_secret_new);
    g_test_add_func("/util/secret/copy", test_secret_copy);
    g_test_add_func("/util/secret/locked", test_secret_locked);
    g_test_add_func("/util/secret/memzero", test_memzero);
    g_test_add_func("/util/secret/memeq", test_memeq);
    g_test_add_func("/util/secret/stack-wipe", test_stack_wipe);
    return g_test_run();
}
