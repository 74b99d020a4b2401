/*
 * util/secret.c: locked, wiped memory for key material.
 *
 * An LbSecret is one allocation holding a small header followed by the
 * secret bytes.  The block is page aligned so that mlock() and
 * madvise(MADV_DONTDUMP) cover exactly the pages we own and never touch a
 * neighbour's memory: two secrets never share a page, so unlocking one can
 * not unlock the other (mlock does not nest).  Locking is best effort: with
 * a small RLIMIT_MEMLOCK the secret still works, it may just be swapped.
 * Freeing wipes the whole block with explicit_bzero() before unlocking.
 * lb_stack_wipe() clears what library routines leave on the stack.
 */
#include "config.h"
#include "lb/secret.h"

#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include <glib.h>

struct LbSecret {
    size_t len;   /* secret bytes after the header */
    size_t alloc; /* bytes in the whole mapping-sized block */
    bool locked;  /* mlock() succeeded */
    /* Aligned so callers may keep structs (hash or cipher state) here. */
    guint8 data[] __attribute__((aligned(16)));
};

static size_t secret_page_size(void)
{
    static size_t page;

    if (!page) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
    }
    return page;
}

LbSecret *lb_secret_new(size_t len)
{
    size_t page = secret_page_size();
    size_t need;
    size_t alloc;
    void *mem = NULL;
    LbSecret *s;

    if (!g_size_checked_add(&need, sizeof(LbSecret), len) ||
        !g_size_checked_add(&alloc, need, page - 1)) {
        g_error("lb_secret_new: size %zu overflows", len);
    }
    alloc &= ~(page - 1);
    if (posix_memalign(&mem, page, alloc) != 0) {
        g_error("lb_secret_new: out of memory allocating %zu bytes", alloc);
    }
    memset(mem, 0, alloc);
    s = mem;
    s->len = len;
    s->alloc = alloc;
    s->locked = mlock(mem, alloc) == 0;
#ifdef MADV_DONTDUMP
    (void)madvise(mem, alloc, MADV_DONTDUMP);
#endif
    return s;
}

LbSecret *lb_secret_new_from(const void *data, size_t len)
{
    LbSecret *s = lb_secret_new(len);

    if (len) {
        memcpy(s->data, data, len);
    }
    return s;
}

LbSecret *lb_secret_dup(const LbSecret *s)
{
    g_assert(s);
    return lb_secret_new_from(s->data, s->len);
}

guint8 *lb_secret_data(LbSecret *s)
{
    g_assert(s);
    return s->data;
}

const guint8 *lb_secret_cdata(const LbSecret *s)
{
    g_assert(s);
    return s->data;
}

size_t lb_secret_len(const LbSecret *s)
{
    g_assert(s);
    return s->len;
}

void lb_secret_free(LbSecret *s)
{
    size_t alloc;
    bool locked;

    if (!s) {
        return;
    }
    alloc = s->alloc;
    locked = s->locked;
    lb_memzero(s, alloc);
#ifdef MADV_DODUMP
    (void)madvise(s, alloc, MADV_DODUMP);
#endif
    if (locked) {
        (void)munlock(s, alloc);
    }
    free(s);
}

void lb_memzero(void *p, size_t len)
{
    if (!p || !len) {
        return;
    }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 25)
    explicit_bzero(p, len);
#else
    {
        volatile guint8 *v = p;

        while (len--) {
            *v++ = 0;
        }
    }
#endif
}

#define LB_STACK_WIPE_MAX LB_STACK_WIPE_BYTES

/* Not inlined: its frame must sit below the caller's, where the callees'
 * frames were.  The stack grows down, so the @len bytes nearest the
 * caller are the top of buf.  explicit_bzero keeps the stores. */
G_GNUC_NO_INLINE void lb_stack_wipe(size_t len)
{
    guint8 buf[LB_STACK_WIPE_MAX];
    size_t n = MIN(len, sizeof(buf));

    lb_memzero(buf + sizeof(buf) - n, n);
}

bool lb_memeq_consttime(const void *a, const void *b, size_t len)
{
    const volatile guint8 *x = a;
    const volatile guint8 *y = b;
    guint8 diff = 0;

    for (size_t i = 0; i < len; i++) {
        diff |= x[i] ^ y[i];
    }
    return diff == 0;
}
