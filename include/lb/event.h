/*
 * event.h: asynchronous events (util layer).
 *
 * Lower layers announce things (a job changed state, an export went away)
 * without knowing who listens; the QMP monitor subscribes and turns them
 * into {"event": NAME, "data": DATA, "timestamp": ...} messages.
 */
#ifndef LB_EVENT_H
#define LB_EVENT_H

typedef void (*LbEventFunc)(const char *name, const char *data_json,
                            void *opaque);

/** lb_event_subscribe: call @fn for every event; returns a handle > 0. */
unsigned lb_event_subscribe(LbEventFunc fn, void *opaque);
void lb_event_unsubscribe(unsigned handle);
/** lb_event_emit: deliver to every subscriber (thread-safe). */
void lb_event_emit(const char *name, const char *data_json);

#endif /* LB_EVENT_H */
