/*
 * job.c: the job registry and the job commands (query-jobs, job-cancel,
 * job-dismiss, job-finalize).
 *
 * The worker thread only runs the job's function; it hands the result to
 * the main loop with an idle callback, which walks the status through
 * waiting and pending to concluded (or aborting to concluded on error),
 * so status changes and events are never raced by the thread.  A job that
 * is cancelled while running cannot be interrupted (the work is one
 * library call); it concludes with "Operation cancelled" once it returns.
 */
#include "config.h"
#include "qmp/job.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "lb-qapi-commands-job.h"
#include "lb/event.h"
#include "lb/thread.h"
#include "qmp/qmp.h"

struct LbJob {
    char *id;
    char *type;
    LbQapiJobStatus status;
    GThread *thread;
    LbJobFunc fn;
    void *opaque;
    GDestroyNotify free_fn;
    GError *error;
    bool cancelled;
    bool done;
};

static GList *jobs;

static void job_set_status(LbJob *job, LbQapiJobStatus status)
{
    g_autofree char *data = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();

    job->status = status;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, lb_qapi_JobStatus_str[status]);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, job->id);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    data = json_to_string(root, FALSE);
    lb_event_emit("JOB_STATUS_CHANGE", data);
}

static void job_free(LbJob *job)
{
    if (job->thread) {
        g_thread_join(job->thread);
    }
    if (job->free_fn) {
        job->free_fn(job->opaque);
    }
    g_clear_error(&job->error);
    g_free(job->id);
    g_free(job->type);
    g_free(job);
}

static gboolean job_completed(gpointer opaque)
{
    LbJob *job = opaque;

    g_thread_join(job->thread);
    job->thread = NULL;
    job->done = true;
    if (job->cancelled && !job->error) {
        job->error = g_error_new_literal(LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                                         "Operation cancelled");
    }
    if (job->error) {
        job_set_status(job, LB_QAPI_JOB_STATUS_ABORTING);
    } else {
        job_set_status(job, LB_QAPI_JOB_STATUS_WAITING);
        job_set_status(job, LB_QAPI_JOB_STATUS_PENDING);
    }
    job_set_status(job, LB_QAPI_JOB_STATUS_CONCLUDED);
    return G_SOURCE_REMOVE;
}

static gpointer job_thread(gpointer opaque)
{
    LbJob *job = opaque;
    GError *err = NULL;

    lb_thread_set_context(LB_CTX_JOB);
    if (!job->fn(job->opaque, &err)) {
        job->error = err;
    }
    g_idle_add(job_completed, job);
    return NULL;
}

static LbJob *job_find(const char *id)
{
    for (GList *l = jobs; l; l = l->next) {
        LbJob *job = l->data;
        if (strcmp(job->id, id) == 0) {
            return job;
        }
    }
    return NULL;
}

bool lb_job_start(const char *id, const char *type, LbJobFunc fn, void *opaque,
                  GDestroyNotify free_fn, GError **errp)
{
    if (job_find(id)) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Job ID '%s' already in use", id);
        if (free_fn) {
            free_fn(opaque);
        }
        return false;
    }
    LbJob *job = g_new0(LbJob, 1);
    job->id = g_strdup(id);
    job->type = g_strdup(type);
    job->fn = fn;
    job->opaque = opaque;
    job->free_fn = free_fn;
    jobs = g_list_append(jobs, job);
    job_set_status(job, LB_QAPI_JOB_STATUS_CREATED);
    job_set_status(job, LB_QAPI_JOB_STATUS_RUNNING);
    job->thread = g_thread_new("lb-job", job_thread, job);
    return true;
}

void lb_jobs_cancel_all(void)
{
    while (jobs) {
        LbJob *job = jobs->data;
        jobs = g_list_remove(jobs, job);
        job->cancelled = true;
        /* Wait for the worker, then drop the idle callback it queued. */
        if (job->thread) {
            g_thread_join(job->thread);
            job->thread = NULL;
            while (g_idle_remove_by_data(job)) {
            }
        }
        job_free(job);
    }
}

static LbJob *find_job(const char *id, GError **errp)
{
    LbJob *job = job_find(id);

    if (!job) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "Job not found");
    }
    return job;
}

static bool verb_error(LbJob *job, const char *verb, GError **errp)
{
    g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                "Job '%s' in state '%s' cannot accept command verb '%s'",
                job->id, lb_qapi_JobStatus_str[job->status], verb);
    return false;
}

bool lb_qmp_query_jobs(JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    for (GList *l = jobs; l; l = l->next) {
        LbJob *job = l->data;
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, job->id);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, job->type);
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b, lb_qapi_JobStatus_str[job->status]);
        json_builder_set_member_name(b, "current-progress");
        json_builder_add_int_value(b, job->done && !job->error ? 1 : 0);
        json_builder_set_member_name(b, "total-progress");
        json_builder_add_int_value(b, 1);
        if (job->done && job->error) {
            json_builder_set_member_name(b, "error");
            json_builder_add_string_value(b, job->error->message);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    *ret = json_builder_get_root(b);
    return true;
}

bool lb_qmp_job_cancel(const LbQmpJobCancelArgs *args, JsonNode **ret,
                       GError **errp)
{
    LbJob *job = find_job(args->id, errp);

    if (!job) {
        return false;
    }
    if (job->done || job->cancelled) {
        return verb_error(job, "cancel", errp);
    }
    job->cancelled = true;
    return true;
}

bool lb_qmp_job_dismiss(const LbQmpJobDismissArgs *args, JsonNode **ret,
                        GError **errp)
{
    LbJob *job = find_job(args->id, errp);

    if (!job) {
        return false;
    }
    if (job->status != LB_QAPI_JOB_STATUS_CONCLUDED) {
        return verb_error(job, "dismiss", errp);
    }
    jobs = g_list_remove(jobs, job);
    job_set_status(job, LB_QAPI_JOB_STATUS_NULL);
    job_free(job);
    return true;
}

bool lb_qmp_job_finalize(const LbQmpJobFinalizeArgs *args, JsonNode **ret,
                         GError **errp)
{
    LbJob *job = find_job(args->id, errp);

    if (!job) {
        return false;
    }
    /* Jobs finalize automatically, so there is never one to finalize. */
    return verb_error(job, "finalize", errp);
}
