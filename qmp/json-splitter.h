/*
 * json-splitter.h: cut a byte stream into top-level JSON texts (qmp layer,
 * private).
 *
 * QMP clients send one JSON object after another with arbitrary
 * whitespace and newlines between (or inside) them and may split them
 * across writes.  The splitter tracks strings and bracket depth only; the
 * texts it emits are parsed afterwards.  A text longer than the size
 * limit or nested deeper than LB_JSON_MAX_DEPTH is dropped as a whole and
 * reported once, so one bad message never ends the session.  A raw
 * control character (such as a newline) inside a string ends the text
 * with an error at once, so an unterminated string cannot swallow the
 * requests that follow it.
 */
#ifndef LB_QMP_JSON_SPLITTER_H
#define LB_QMP_JSON_SPLITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#define LB_JSON_MAX_DEPTH 1024

/* @text is a complete top-level value, or NULL with @error set. */
typedef void (*LbJsonSplitterFunc)(const char *text, size_t len,
                                   const char *error, void *opaque);

typedef struct LbJsonSplitter {
    GString *buf;
    size_t max_size;
    unsigned depth;
    bool in_string, escape, scalar;
    const char *overflow; /* why the current text is dropped */
    LbJsonSplitterFunc fn;
    void *opaque;
} LbJsonSplitter;

void lb_json_splitter_init(LbJsonSplitter *s, size_t max_size,
                           LbJsonSplitterFunc fn, void *opaque);
void lb_json_splitter_feed(LbJsonSplitter *s, const char *data, size_t len);
void lb_json_splitter_destroy(LbJsonSplitter *s);

#endif /* LB_QMP_JSON_SPLITTER_H */
