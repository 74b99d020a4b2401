/*
 * test-util-event.c: event subscription and delivery (util/event.c),
 * including emission from several threads and unsubscribing.
 */
#include "config.h"
#include "lb/event.h"

#include <string.h>
#include <glib.h>

typedef struct Seen {
    gint count;
    char *last_name;
    char *last_data;
    GMutex lock;
} Seen;

static void on_event(const char *name, const char *data, void *opaque)
{
    Seen *s = opaque;

    g_mutex_lock(&s->lock);
    s->count++;
    g_free(s->last_name);
    g_free(s->last_data);
    s->last_name = g_strdup(name);
    s->last_data = g_strdup(data);
    g_mutex_unlock(&s->lock);
}

static gpointer emitter(gpointer p)
{
    for (int i = 0; i < 100; i++) {
        lb_event_emit("JOB_STATUS_CHANGE", "{\"id\":\"j\"}");
    }
    return NULL;
}

static void test_event(void)
{
    Seen a = {0}, b = {0};
    unsigned ha = lb_event_subscribe(on_event, &a);
    unsigned hb = lb_event_subscribe(on_event, &b);

    g_assert_cmpuint(ha, >, 0);
    g_assert_cmpuint(hb, !=, ha);
    lb_event_emit("BLOCK_EXPORT_DELETED", "{\"id\":\"e0\"}");
    g_assert_cmpint(a.count, ==, 1);
    g_assert_cmpstr(a.last_name, ==, "BLOCK_EXPORT_DELETED");
    g_assert_cmpstr(b.last_data, ==, "{\"id\":\"e0\"}");
    lb_event_emit("X", NULL);
    g_assert_cmpstr(a.last_data, ==, "{}");

    GThread *t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = g_thread_new("emit", emitter, NULL);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(t[i]);
    }
    g_assert_cmpint(a.count, ==, 402);
    g_assert_cmpint(b.count, ==, 402);

    lb_event_unsubscribe(ha);
    lb_event_emit("Y", "{}");
    g_assert_cmpint(a.count, ==, 402);
    g_assert_cmpint(b.count, ==, 403);
    lb_event_unsubscribe(hb);
    lb_event_unsubscribe(12345); /* unknown handles are ignored */
    g_free(a.last_name);
    g_free(a.last_data);
    g_free(b.last_name);
    g_free(b.last_data);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/event/subscribe-emit", test_event);
    return g_test_run();
}
