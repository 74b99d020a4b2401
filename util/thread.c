/*
 * thread.c: which named context (main loop, job, I/O worker) the calling
 * thread runs in; see include/lb/thread.h.  The main loop is one thread
 * per process, kept in an atomic pointer; the others mark themselves in a
 * thread-local variable when they start.
 */
#include "config.h"
#include "lb/thread.h"

static gpointer main_thread;           /* GThread * of the main loop */
static __thread unsigned thread_ctx;   /* 0 = not declared */

void lb_thread_main_loop_claim(void)
{
    g_atomic_pointer_set(&main_thread, g_thread_self());
}

void lb_thread_set_context(LbThreadContext ctx)
{
    g_assert(ctx == LB_CTX_JOB || ctx == LB_CTX_IO);
    thread_ctx = ctx;
}

bool lb_in_main_loop(void)
{
    GThread *self = g_thread_self();

    /* No claim yet (a tool, a unit test): the first thread to ask is it,
     * unless it declared itself a job or I/O thread. */
    if (!thread_ctx) {
        g_atomic_pointer_compare_and_exchange(&main_thread, NULL, self);
    }
    return g_atomic_pointer_get(&main_thread) == self;
}

LbThreadContext lb_thread_context(void)
{
    if (lb_in_main_loop()) {
        return LB_CTX_MAIN;
    }
    return thread_ctx ? (LbThreadContext)thread_ctx : LB_CTX_IO;
}

const char *lb_thread_context_name(LbThreadContext ctx)
{
    switch (ctx) {
    case LB_CTX_MAIN:
        return "main loop";
    case LB_CTX_JOB:
        return "job";
    default:
        return "I/O worker";
    }
}
