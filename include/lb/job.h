/*
 * job.h: block jobs (block/job.c): background work on nodes, run in a job
 * thread, driven from the main loop.
 *
 *   created -> running <-> paused
 *                 |-> waiting -> pending -> concluded -> null (dismiss)
 *                 \-> aborting ---------------/     (error or cancel)
 *
 * The main loop creates a job with the references to the nodes it works
 * on (taken before the thread starts, so blockdev-del cannot free them),
 * starts, pauses, resumes, cancels and dismisses it, and sees every
 * status change as a JOB_STATUS_CHANGE event.  The job thread reports
 * progress in bytes and calls lb_job_checkpoint() between chunks: there
 * it waits while paused or while one of its nodes is drained, sleeps to
 * keep to the speed limit, and learns that it was cancelled.
 */
#ifndef LB_JOB_H
#define LB_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct LbNode LbNode;
typedef struct LbJob LbJob;

typedef enum {
    LB_JOB_STATUS_CREATED,
    LB_JOB_STATUS_RUNNING,
    LB_JOB_STATUS_PAUSED,
    LB_JOB_STATUS_WAITING,
    LB_JOB_STATUS_PENDING,
    LB_JOB_STATUS_ABORTING,
    LB_JOB_STATUS_CONCLUDED,
    LB_JOB_STATUS_NULL,
} LbJobStatus;

/* Runs in the job thread; @opaque is the job's private data. */
typedef bool (*LbJobRun)(LbJob *job, void *opaque, GError **errp);

/** QEMU's JobStatus name of @status ("created", "running", ...). */
const char *lb_job_status_name(LbJobStatus status);

/* ---- main loop ---------------------------------------------------------- */

/**
 * lb_job_create: register job @id of @type ("create", "amend") that will
 * run @run(@opaque); @free_fn releases @opaque when the job goes (also
 * on failure here: "Job ID '%s' already in use").  Main loop.
 * Returns: (transfer none) the job, owned by the registry until dismissed.
 */
LbJob *lb_job_create(const char *id, const char *type, LbJobRun run,
                     void *opaque, GDestroyNotify free_fn, GError **errp);
/** lb_job_add_node: the job holds a reference to @bs until it goes, and
 * its checkpoints wait while @bs is drained.  Main loop, before start. */
void lb_job_add_node(LbJob *job, LbNode *bs);
/** lb_job_start: running; the work starts in a job thread.  Main loop. */
void lb_job_start(LbJob *job);
/** (transfer none) the job named @id, or NULL.  Main loop. */
LbJob *lb_job_find(const char *id);
/** lb_job_list: (transfer container) jobs in creation order.  Main loop. */
GList *lb_job_list(void);
/** Ask the job to stop at its next checkpoint.  Main loop. */
void lb_job_cancel(LbJob *job);
/** Pause (nests) / resume at the next checkpoint.  Main loop. */
void lb_job_pause(LbJob *job);
void lb_job_resume(LbJob *job);
/** Bytes per second the job may process; 0 = unlimited.  Main loop. */
void lb_job_set_speed(LbJob *job, uint64_t speed);
/** Remove a concluded job (status null).  Main loop. */
void lb_job_dismiss(LbJob *job);
/** Shutdown: cancel every job and wait for its thread.  Main loop. */
void lb_jobs_cancel_all(void);

const char *lb_job_id(LbJob *job);
const char *lb_job_type(LbJob *job);
LbJobStatus lb_job_status(LbJob *job);
bool lb_job_is_cancelled(LbJob *job);   /* any context */
/** Progress in bytes (a job without bytes counts 0/1, then 1/1). */
void lb_job_progress(LbJob *job, uint64_t *current, uint64_t *total);
/** The error a concluded job failed with, or NULL (transfer none). */
const char *lb_job_error(LbJob *job);

/* ---- job thread --------------------------------------------------------- */

/** lb_job_set_total: the bytes the job will process.  Job thread. */
void lb_job_set_total(LbJob *job, uint64_t bytes);
/** lb_job_add_progress: @bytes more done.  Job thread (any copy worker). */
void lb_job_add_progress(LbJob *job, uint64_t bytes);
/**
 * lb_job_checkpoint: wait while paused or while a node of the job is
 * drained, then for as long as the speed limit asks after @bytes were
 * processed since the last checkpoint.  Job thread (or its workers).
 * Returns: false once the job is cancelled (the work should stop).
 */
bool lb_job_checkpoint(LbJob *job, uint64_t bytes);

#endif /* LB_JOB_H */
