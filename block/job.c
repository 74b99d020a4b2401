/*
 * job.c: block jobs (include/lb/job.h): the registry, the status machine
 * and its JOB_STATUS_CHANGE events, node references, progress in bytes,
 * pause/cancel checkpoints, the speed limit and drain awareness.  The QMP
 * commands (query-jobs, job-cancel, ...) are only glue in qmp/job.c.
 *
 * Threads: every status change happens in the main loop.  The job thread
 * only runs the work function; when it returns it hands the result to the
 * main loop with an idle callback, which walks the status through waiting
 * and pending to concluded (or aborting to concluded), so events are
 * never raced by the thread.  The fields the thread reads (pause count,
 * cancel flag, speed, progress) are under job->lock.
 */
#include "config.h"
#include "lb/job.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "block-priv.h"
#include "lb/block-io.h"
#include "lb/event.h"
#include "lb/thread.h"

/* How long one speed-limit slice lasts (QEMU's ratelimit uses 100 ms). */
#define SLICE_US (100 * 1000)
/* How often a checkpoint looks again at a drained node. */
#define DRAIN_POLL_US (5 * 1000)

struct LbJob {
    char *id;
    char *type;
    LbJobStatus status;   /* main loop */
    GThread *thread;
    LbJobRun run;
    void *opaque;
    GDestroyNotify free_fn;
    GPtrArray *nodes;     /* LbNode *, a reference each */
    GError *error;        /* set by the thread before it finishes */
    bool done;            /* main loop: the thread returned */

    GMutex lock;          /* the fields below */
    GCond cond;           /* pause/resume/cancel/speed changes */
    int pause_count;
    bool cancelled;
    uint64_t speed;       /* bytes/s, 0 = unlimited */
    int64_t slice_end;    /* monotonic us */
    uint64_t slice_bytes;
    uint64_t current, total;
};

static GList *jobs; /* main loop only */

const char *lb_job_status_name(LbJobStatus status)
{
    static const char *const names[] = {
        [LB_JOB_STATUS_CREATED] = "created",
        [LB_JOB_STATUS_RUNNING] = "running",
        [LB_JOB_STATUS_PAUSED] = "paused",
        [LB_JOB_STATUS_WAITING] = "waiting",
        [LB_JOB_STATUS_PENDING] = "pending",
        [LB_JOB_STATUS_ABORTING] = "aborting",
        [LB_JOB_STATUS_CONCLUDED] = "concluded",
        [LB_JOB_STATUS_NULL] = "null",
    };
    g_assert((unsigned)status < G_N_ELEMENTS(names));
    return names[status];
}

static void job_set_status(LbJob *job, LbJobStatus status)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    job->status = status;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, lb_job_status_name(status));
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, job->id);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    g_autofree char *data = json_to_string(root, FALSE);
    lb_event_emit("JOB_STATUS_CHANGE", data);
}

static void job_node_release(LbNode *bs)
{
    lb_node_unuse(bs);
    lb_node_unref(bs);
}

static void job_free(LbJob *job)
{
    if (job->thread) {
        g_thread_join(job->thread);
    }
    if (job->free_fn) {
        job->free_fn(job->opaque);
    }
    g_ptr_array_unref(job->nodes);
    g_clear_error(&job->error);
    g_mutex_clear(&job->lock);
    g_cond_clear(&job->cond);
    g_free(job->id);
    g_free(job->type);
    g_free(job);
}

LbJob *lb_job_find(const char *id)
{
    LB_ASSERT_MAIN_LOOP();
    for (GList *l = jobs; l; l = l->next) {
        LbJob *job = l->data;
        if (strcmp(job->id, id) == 0) {
            return job;
        }
    }
    return NULL;
}

GList *lb_job_list(void)
{
    LB_ASSERT_MAIN_LOOP();
    return g_list_copy(jobs);
}

LbJob *lb_job_create(const char *id, const char *type, LbJobRun run,
                     void *opaque, GDestroyNotify free_fn, GError **errp)
{
    LB_ASSERT_MAIN_LOOP();
    if (lb_job_find(id)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS,
                    "Job ID '%s' already in use", id);
        if (free_fn) {
            free_fn(opaque);
        }
        return NULL;
    }
    LbJob *job = g_new0(LbJob, 1);
    job->id = g_strdup(id);
    job->type = g_strdup(type);
    job->run = run;
    job->opaque = opaque;
    job->free_fn = free_fn;
    job->nodes = g_ptr_array_new_with_free_func((GDestroyNotify)job_node_release);
    g_mutex_init(&job->lock);
    g_cond_init(&job->cond);
    jobs = g_list_append(jobs, job);
    job_set_status(job, LB_JOB_STATUS_CREATED);
    return job;
}

void lb_job_add_node(LbJob *job, LbNode *bs)
{
    LB_ASSERT_MAIN_LOOP();
    g_assert(!job->thread);
    lb_node_use(bs); /* blockdev-del: "Node %s is in use", as in QEMU */
    g_ptr_array_add(job->nodes, lb_node_ref(bs));
}


static gboolean job_completed(gpointer opaque)
{
    LbJob *job = opaque;

    g_thread_join(job->thread);
    job->thread = NULL;
    job->done = true;
    if (lb_job_is_cancelled(job) && !job->error) {
        job->error = g_error_new_literal(LB_BLOCK_ERROR, LB_BLOCK_ERROR_FAILED,
                                         "Operation cancelled");
    }
    g_mutex_lock(&job->lock);
    if (!job->error && job->total == 0) {
        job->current = job->total = 1; /* a job without bytes: one step */
    }
    g_mutex_unlock(&job->lock);
    if (job->error) {
        job_set_status(job, LB_JOB_STATUS_ABORTING);
    } else {
        job_set_status(job, LB_JOB_STATUS_WAITING);
        job_set_status(job, LB_JOB_STATUS_PENDING);
    }
    job_set_status(job, LB_JOB_STATUS_CONCLUDED);
    /* The nodes are free for blockdev-del once the job has concluded. */
    g_ptr_array_set_size(job->nodes, 0);
    return G_SOURCE_REMOVE;
}

static gpointer job_thread(gpointer opaque)
{
    LbJob *job = opaque;
    GError *err = NULL;

    lb_thread_set_context(LB_CTX_JOB);
    if (lb_job_checkpoint(job, 0) && !job->run(job, job->opaque, &err)) {
        job->error = err;
    }
    g_idle_add(job_completed, job);
    return NULL;
}

void lb_job_start(LbJob *job)
{
    LB_ASSERT_MAIN_LOOP();
    g_assert(job->status == LB_JOB_STATUS_CREATED);
    job_set_status(job, LB_JOB_STATUS_RUNNING);
    g_mutex_lock(&job->lock);
    bool paused = job->pause_count > 0;
    g_mutex_unlock(&job->lock);
    if (paused) {
        job_set_status(job, LB_JOB_STATUS_PAUSED);
    }
    job->thread = g_thread_new("lb-job", job_thread, job);
}

void lb_job_cancel(LbJob *job)
{
    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&job->lock);
    job->cancelled = true;
    g_cond_broadcast(&job->cond);
    g_mutex_unlock(&job->lock);
}

void lb_job_pause(LbJob *job)
{
    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&job->lock);
    bool first = job->pause_count++ == 0;
    g_mutex_unlock(&job->lock);
    if (first && job->status == LB_JOB_STATUS_RUNNING) {
        job_set_status(job, LB_JOB_STATUS_PAUSED);
    }
}

void lb_job_resume(LbJob *job)
{
    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&job->lock);
    g_assert(job->pause_count > 0);
    bool last = --job->pause_count == 0;
    g_cond_broadcast(&job->cond);
    g_mutex_unlock(&job->lock);
    if (last && job->status == LB_JOB_STATUS_PAUSED) {
        job_set_status(job, LB_JOB_STATUS_RUNNING);
    }
}

void lb_job_set_speed(LbJob *job, uint64_t speed)
{
    LB_ASSERT_MAIN_LOOP();
    g_mutex_lock(&job->lock);
    job->speed = speed;
    job->slice_end = 0;
    g_cond_broadcast(&job->cond);
    g_mutex_unlock(&job->lock);
}

void lb_job_dismiss(LbJob *job)
{
    LB_ASSERT_MAIN_LOOP();
    g_assert(job->status == LB_JOB_STATUS_CONCLUDED);
    jobs = g_list_remove(jobs, job);
    job_set_status(job, LB_JOB_STATUS_NULL);
    job_free(job);
}

void lb_jobs_cancel_all(void)
{
    LB_ASSERT_MAIN_LOOP();
    while (jobs) {
        LbJob *job = jobs->data;
        jobs = g_list_remove(jobs, job);
        lb_job_cancel(job);
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

const char *lb_job_id(LbJob *job)
{
    return job->id;
}

const char *lb_job_type(LbJob *job)
{
    return job->type;
}

LbJobStatus lb_job_status(LbJob *job)
{
    return job->status;
}

bool lb_job_is_cancelled(LbJob *job)
{
    g_mutex_lock(&job->lock);
    bool c = job->cancelled;
    g_mutex_unlock(&job->lock);
    return c;
}

void lb_job_progress(LbJob *job, uint64_t *current, uint64_t *total)
{
    g_mutex_lock(&job->lock);
    *current = job->current;
    *total = job->total ? job->total : 1;
    g_mutex_unlock(&job->lock);
}

const char *lb_job_error(LbJob *job)
{
    return job->done && job->error ? job->error->message : NULL;
}

void lb_job_set_total(LbJob *job, uint64_t bytes)
{
    g_mutex_lock(&job->lock);
    job->total = bytes;
    g_mutex_unlock(&job->lock);
}

void lb_job_add_progress(LbJob *job, uint64_t bytes)
{
    g_mutex_lock(&job->lock);
    job->current += bytes;
    g_mutex_unlock(&job->lock);
}

/* Whether a node of the job is in a drained section (caller: job->lock). */
static bool job_nodes_drained(LbJob *job)
{
    for (guint i = 0; i < job->nodes->len; i++) {
        if (lb_node_is_drained(job->nodes->pdata[i])) {
            return true;
        }
    }
    return false;
}

bool lb_job_checkpoint(LbJob *job, uint64_t bytes)
{
    g_mutex_lock(&job->lock);
    job->slice_bytes += bytes;
    for (;;) {
        if (job->cancelled) {
            break;
        }
        int64_t now = g_get_monotonic_time();
        if (job->pause_count > 0) {
            g_cond_wait(&job->cond, &job->lock);
        } else if (job_nodes_drained(job)) {
            /* Drained sections have no callback to us: look again soon. */
            g_cond_wait_until(&job->cond, &job->lock, now + DRAIN_POLL_US);
        } else if (job->speed && job->slice_end &&
                   job->slice_bytes * G_USEC_PER_SEC / SLICE_US >
                       job->speed && now < job->slice_end) {
            /* Over the limit in this slice: wait for its end. */
            g_cond_wait_until(&job->cond, &job->lock, job->slice_end);
        } else {
            if (!job->slice_end || now >= job->slice_end) {
                job->slice_end = now + SLICE_US;
                job->slice_bytes = 0;
            }
            break;
        }
    }
    bool go_on = !job->cancelled;
    g_mutex_unlock(&job->lock);
    return go_on;
}
