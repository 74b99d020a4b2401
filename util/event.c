/*
 * event.c: a process-wide list of event subscribers.
 *
 * Emitters (jobs, exports) call lb_event_emit() from any thread; the list
 * is protected by a mutex and subscribers are called with it released, so
 * a subscriber may itself emit or unsubscribe.
 */
#include "config.h"
#include "lb/event.h"

#include <glib.h>

typedef struct Sub {
    unsigned handle;
    LbEventFunc fn;
    void *opaque;
} Sub;

static GMutex sub_lock;
static GArray *subs; /* of Sub */
static unsigned next_handle = 1;

unsigned lb_event_subscribe(LbEventFunc fn, void *opaque)
{
    Sub s = {.fn = fn, .opaque = opaque};

    g_mutex_lock(&sub_lock);
    if (!subs) {
        subs = g_array_new(FALSE, FALSE, sizeof(Sub));
    }
    s.handle = next_handle++;
    g_array_append_val(subs, s);
    g_mutex_unlock(&sub_lock);
    return s.handle;
}

void lb_event_unsubscribe(unsigned handle)
{
    g_mutex_lock(&sub_lock);
    for (guint i = 0; subs && i < subs->len; i++) {
        if (g_array_index(subs, Sub, i).handle == handle) {
            g_array_remove_index(subs, i);
            break;
        }
    }
    g_mutex_unlock(&sub_lock);
}

void lb_event_emit(const char *name, const char *data_json)
{
    g_autoptr(GArray) copy = NULL;

    /* Copy the list so subscribers run without the lock held. */
    g_mutex_lock(&sub_lock);
    if (subs && subs->len) {
        copy = g_array_sized_new(FALSE, FALSE, sizeof(Sub), subs->len);
        g_array_append_vals(copy, subs->data, subs->len);
    }
    g_mutex_unlock(&sub_lock);
    for (guint i = 0; copy && i < copy->len; i++) {
        Sub *s = &g_array_index(copy, Sub, i);
        s->fn(name, data_json ? data_json : "{}", s->opaque);
    }
}
