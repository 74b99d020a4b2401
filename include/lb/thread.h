/*
 * thread.h: the named thread contexts of luksblk, and checks for them.
 *
 *   main loop   the thread that runs the GLib main loop (the daemon) or
 *               main() (the tools): graph changes, QMP, export add/del
 *   job         a block job's worker thread (block/job.c)
 *   I/O worker  export connection threads, FUSE workers, driver pools
 *
 * Every public block-layer function says which contexts may call it and
 * asserts it with LB_ASSERT_MAIN_LOOP() or LB_ASSERT_CONTEXT().  The main
 * loop is the thread that called lb_thread_main_loop_claim(), or, if none
 * did, the first thread to ask.  Asserts stay live in release builds.
 */
#ifndef LB_THREAD_H
#define LB_THREAD_H

#include <stdbool.h>
#include <glib.h>

typedef enum {
    LB_CTX_MAIN = 1 << 0,   /* main loop */
    LB_CTX_JOB = 1 << 1,    /* job thread */
    LB_CTX_IO = 1 << 2,     /* I/O worker (any other thread) */
    LB_CTX_ANY = LB_CTX_MAIN | LB_CTX_JOB | LB_CTX_IO,
} LbThreadContext;

/** lb_thread_main_loop_claim: make the calling thread the main loop. */
void lb_thread_main_loop_claim(void);
/** lb_thread_set_context: declare the calling thread a job or I/O thread. */
void lb_thread_set_context(LbThreadContext ctx);
/** lb_thread_context: the calling thread's context (one LB_CTX_ bit). */
LbThreadContext lb_thread_context(void);
/** lb_in_main_loop: whether the calling thread is the main loop. */
bool lb_in_main_loop(void);
/** The context's name ("main loop", "job", "I/O worker") for messages. */
const char *lb_thread_context_name(LbThreadContext ctx);

/* Abort with the context's name when called from the wrong thread. */
#define LB_ASSERT_CONTEXT(mask)                                                \
    do {                                                                       \
        if (G_UNLIKELY(!(lb_thread_context() & (mask)))) {                     \
            g_error("%s called from a %s thread", G_STRFUNC,                   \
                    lb_thread_context_name(lb_thread_context()));              \
        }                                                                      \
    } while (0)
#define LB_ASSERT_MAIN_LOOP() LB_ASSERT_CONTEXT(LB_CTX_MAIN)

#endif /* LB_THREAD_H */
