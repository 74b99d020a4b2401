/*
 * tests/tsan/glib-tsan.c: ThreadSanitizer annotations for the GLib
 * synchronisation luksblk uses; linked into every program of a TSan build
 * only (util/meson.build, `make check-tsan`).
 *
 * Why: GLib 2.74 (Debian 12) implements GMutex, GRecMutex and GCond with
 * raw futex system calls inside libglib, which is not built with TSan, and
 * GThreadPool / the main loop hand work between threads through those
 * mutexes.  TSan sees none of it, so every access ordered only by a GMutex,
 * a g_thread_pool_push() or a g_idle_add() looks like a data race.
 * Suppressing those would also hide our real races, so instead the calls
 * our code makes are wrapped here: each wrapper calls GLib's own function
 * (dlsym RTLD_NEXT; the program's definition pre-empts the library's for
 * calls from our code) and tells TSan about the ordering it implies:
 *   - g_mutex_/g_rec_mutex_ lock/trylock/unlock: acquire after locking,
 *     release before unlocking (on the mutex's address);
 *   - g_cond_wait/_wait_until: the mutex is released and reacquired;
 *   - g_thread_pool_push: release on the pushed item; the pool's function
 *     is replaced by a trampoline that acquires it before running;
 *   - g_idle_add/_full, g_timeout_add/_full: the same for the callback data;
 *   - g_once_init_enter/leave: the GOnce's value is released by leave and
 *     acquired by enter (the inline fast path of the g_once_init_enter
 *     macro is an atomic load in our code, which TSan sees).
 * Calls GLib makes internally bind inside libglib and stay invisible; the
 * suppressions in tests/tsan.supp cover what that leaves (each explained).
 * Thread context: any (these are the GLib functions themselves).
 */
#include <dlfcn.h>
#include <glib.h>
#include <stdlib.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

/* The link flag -Wl,--undefined=lb_tsan_glib_present pulls this file in. */
int lb_tsan_glib_present;

/* GLib's own definition of @name, looked up once (atomically: any thread). */
#define REAL(type, name, args)                                          \
    static type(*real_fn)args;                                          \
    type(*real)args = __atomic_load_n(&real_fn, __ATOMIC_ACQUIRE);      \
    if (!real) {                                                        \
        real = (type(*)args)dlsym(RTLD_NEXT, name);                     \
        if (!real) {                                                    \
            abort();                                                    \
        }                                                               \
        __atomic_store_n(&real_fn, real, __ATOMIC_RELEASE);             \
    }

void g_mutex_lock(GMutex *m)
{
    REAL(void, "g_mutex_lock", (GMutex *));
    real(m);
    __tsan_acquire(m);
}

gboolean g_mutex_trylock(GMutex *m)
{
    REAL(gboolean, "g_mutex_trylock", (GMutex *));
    gboolean ok = real(m);
    if (ok) {
        __tsan_acquire(m);
    }
    return ok;
}

void g_mutex_unlock(GMutex *m)
{
    REAL(void, "g_mutex_unlock", (GMutex *));
    __tsan_release(m);
    real(m);
}

void g_rec_mutex_lock(GRecMutex *m)
{
    REAL(void, "g_rec_mutex_lock", (GRecMutex *));
    real(m);
    __tsan_acquire(m);
}

gboolean g_rec_mutex_trylock(GRecMutex *m)
{
    REAL(gboolean, "g_rec_mutex_trylock", (GRecMutex *));
    gboolean ok = real(m);
    if (ok) {
        __tsan_acquire(m);
    }
    return ok;
}

void g_rec_mutex_unlock(GRecMutex *m)
{
    REAL(void, "g_rec_mutex_unlock", (GRecMutex *));
    __tsan_release(m);
    real(m);
}

void g_cond_wait(GCond *c, GMutex *m)
{
    REAL(void, "g_cond_wait", (GCond *, GMutex *));
    __tsan_release(m);
    real(c, m);
    __tsan_acquire(m);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    REAL(gboolean, "g_cond_wait_until", (GCond *, GMutex *, gint64));
    __tsan_release(m);
    gboolean r = real(c, m, end_time);
    __tsan_acquire(m);
    return r;
}

/* Parenthesised names: g_once_init_enter/leave are also macros. */
gboolean (g_once_init_enter)(volatile void *location)
{
    REAL(gboolean, "g_once_init_enter", (volatile void *));
    gboolean first = real(location);
    __tsan_acquire((void *)location);
    return first;
}

void (g_once_init_leave)(volatile void *location, gsize result)
{
    REAL(void, "g_once_init_leave", (volatile void *, gsize));
    __tsan_release((void *)location);
    real(location, result);
}

/* The function and data of a pool or a source, run by a trampoline. */
typedef struct TsanHop {
    GFunc func;
    GSourceFunc source;
    gpointer data;
    GDestroyNotify destroy;
} TsanHop;

static void pool_hop(gpointer item, gpointer user_data)
{
    TsanHop *h = user_data;
    __tsan_acquire(item);
    h->func(item, h->data);
}

GThreadPool *g_thread_pool_new(GFunc func, gpointer user_data, gint max_threads,
                               gboolean exclusive, GError **error)
{
    REAL(GThreadPool *, "g_thread_pool_new",
         (GFunc, gpointer, gint, gboolean, GError **));
    /* Kept for the pool's life: pools are few and live as long as a
     * server or a request; TSan builds do not check leaks. */
    TsanHop *h = g_new0(TsanHop, 1);
    h->func = func;
    h->data = user_data;
    return real(pool_hop, h, max_threads, exclusive, error);
}

gboolean g_thread_pool_push(GThreadPool *pool, gpointer data, GError **error)
{
    REAL(gboolean, "g_thread_pool_push", (GThreadPool *, gpointer, GError **));
    __tsan_release(data);
    return real(pool, data, error);
}

static gboolean source_hop(gpointer user_data)
{
    TsanHop *h = user_data;
    __tsan_acquire(h);
    return h->source(h->data);
}

static void source_hop_free(gpointer user_data)
{
    TsanHop *h = user_data;
    if (h->destroy) {
        h->destroy(h->data);
    }
    g_free(h);
}

static TsanHop *source_hop_new(GSourceFunc fn, gpointer data,
                               GDestroyNotify destroy)
{
    TsanHop *h = g_new0(TsanHop, 1);
    h->source = fn;
    h->data = data;
    h->destroy = destroy;
    __tsan_release(h);
    return h;
}

guint g_idle_add_full(gint priority, GSourceFunc fn, gpointer data,
                      GDestroyNotify destroy)
{
    REAL(guint, "g_idle_add_full",
         (gint, GSourceFunc, gpointer, GDestroyNotify));
    return real(priority, source_hop, source_hop_new(fn, data, destroy),
                source_hop_free);
}

guint g_idle_add(GSourceFunc fn, gpointer data)
{
    return g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, fn, data, NULL);
}

guint g_timeout_add_full(gint priority, guint interval, GSourceFunc fn,
                         gpointer data, GDestroyNotify destroy)
{
    REAL(guint, "g_timeout_add_full",
         (gint, guint, GSourceFunc, gpointer, GDestroyNotify));
    return real(priority, interval, source_hop,
                source_hop_new(fn, data, destroy), source_hop_free);
}

guint g_timeout_add(guint interval, GSourceFunc fn, gpointer data)
{
    return g_timeout_add_full(G_PRIORITY_DEFAULT, interval, fn, data, NULL);
}
