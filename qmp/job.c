/*
 * job.c: the job commands of the monitor (query-jobs, job-cancel,
 * job-dismiss, job-finalize): glue only.  Jobs themselves (status machine,
 * events, progress, checkpoints, node references) live in block/job.c.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "lb-qapi-commands-job.h"
#include "lb/job.h"
#include "qmp/qmp.h"

static LbJob *find_job(const char *id, GError **errp)
{
    LbJob *job = lb_job_find(id);

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
                lb_job_id(job), lb_job_status_name(lb_job_status(job)), verb);
    return false;
}

bool lb_qmp_query_jobs(JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GList) list = lb_job_list();

    json_builder_begin_array(b);
    for (GList *l = list; l; l = l->next) {
        LbJob *job = l->data;
        uint64_t cur, total;
        lb_job_progress(job, &cur, &total);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, lb_job_id(job));
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, lb_job_type(job));
        json_builder_set_member_name(b, "status");
        json_builder_add_string_value(b,
                                      lb_job_status_name(lb_job_status(job)));
        json_builder_set_member_name(b, "current-progress");
        json_builder_add_int_value(b, (gint64)cur);
        json_builder_set_member_name(b, "total-progress");
        json_builder_add_int_value(b, (gint64)total);
        if (lb_job_error(job)) {
            json_builder_set_member_name(b, "error");
            json_builder_add_string_value(b, lb_job_error(job));
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
    LbJobStatus st = lb_job_status(job);
    if ((st != LB_JOB_STATUS_RUNNING && st != LB_JOB_STATUS_PAUSED &&
         st != LB_JOB_STATUS_CREATED) ||
        lb_job_is_cancelled(job)) {
        return verb_error(job, "cancel", errp);
    }
    lb_job_cancel(job);
    return true;
}

bool lb_qmp_job_dismiss(const LbQmpJobDismissArgs *args, JsonNode **ret,
                        GError **errp)
{
    LbJob *job = find_job(args->id, errp);

    if (!job) {
        return false;
    }
    if (lb_job_status(job) != LB_JOB_STATUS_CONCLUDED) {
        return verb_error(job, "dismiss", errp);
    }
    lb_job_dismiss(job);
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
