/*
 * job.h: background jobs of the monitor (qmp layer, private).
 *
 *   created -> running -> waiting -> pending -> concluded -> null
 *                  \-> aborting -----------------/ (error or cancel)
 *
 * A job runs its work function in a worker thread; every status change
 * happens in the main loop and emits JOB_STATUS_CHANGE.  Jobs stay
 * concluded until job-dismiss, as QEMU's blockdev-create jobs do.
 */
#ifndef LB_QMP_JOB_H
#define LB_QMP_JOB_H

#include <stdbool.h>
#include <glib.h>

typedef struct LbJob LbJob;
/* Runs in the worker thread; @opaque is the job's private data. */
typedef bool (*LbJobFunc)(void *opaque, GError **errp);

/**
 * lb_job_start: create job @id of @type ("create", "amend") and start
 * @fn(@opaque) in a thread; @free_fn releases @opaque when the job ends.
 */
bool lb_job_start(const char *id, const char *type, LbJobFunc fn, void *opaque,
                  GDestroyNotify free_fn, GError **errp);

#endif /* LB_QMP_JOB_H */
