/*
 * json-splitter.c: cut a QMP byte stream into top-level JSON texts.
 *
 * A small state machine over the bytes: outside any value, whitespace is
 * skipped, '{' or '[' opens a structured value and anything else starts a
 * scalar (which ends at whitespace or a bracket).  Inside a value only
 * strings (with backslash escapes) and bracket depth are tracked.  When
 * the depth returns to zero the text is handed on, unparsed.
 */
#include "config.h"
#include "qmp/json-splitter.h"

#include <string.h>

#include "lb/secret.h"

void lb_json_splitter_init(LbJsonSplitter *s, size_t max_size,
                           LbJsonSplitterFunc fn, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->buf = g_string_new(NULL);
    s->max_size = max_size;
    s->fn = fn;
    s->opaque = opaque;
}

void lb_json_splitter_destroy(LbJsonSplitter *s)
{
    if (s->buf) {
        lb_memzero(s->buf->str, s->buf->allocated_len);
        g_string_free(s->buf, TRUE);
        s->buf = NULL;
    }
}

static void buf_clear(LbJsonSplitter *s)
{
    lb_memzero(s->buf->str, s->buf->len);
    g_string_truncate(s->buf, 0);
}

static void emit(LbJsonSplitter *s)
{
    const char *why = s->overflow;

    s->depth = 0;
    s->in_string = s->escape = s->scalar = false;
    s->overflow = NULL;
    if (why) {
        buf_clear(s);
        s->fn(NULL, 0, why, s->opaque);
        return;
    }
    /* Copy out first: the callback may feed the splitter again.  Requests
     * may carry passphrases (object-add), so both copies are wiped. */
    g_autofree char *text = g_strndup(s->buf->str, s->buf->len);
    size_t len = s->buf->len;
    lb_memzero(s->buf->str, s->buf->len);
    g_string_truncate(s->buf, 0);
    s->fn(text, len, NULL, s->opaque);
    lb_memzero(text, len);
}

/* Append @c, growing the buffer by hand: GString's realloc would leave
 * unwiped copies of a request (and its passphrase) in freed memory. */
static void buf_append(LbJsonSplitter *s, char c)
{
    GString *old = s->buf;

    if (old->len + 2 > old->allocated_len) {
        s->buf = g_string_sized_new(old->allocated_len * 2 + 64);
        g_string_append_len(s->buf, old->str, old->len);
        lb_memzero(old->str, old->allocated_len);
        g_string_free(old, TRUE);
    }
    g_string_append_c(s->buf, c);
}

static void append(LbJsonSplitter *s, char c)
{
    if (s->overflow) {
        return;
    }
    if (s->buf->len >= s->max_size) {
        s->overflow = "message size limit exceeded";
        buf_clear(s);
        return;
    }
    buf_append(s, c);
}

static void bad_string(LbJsonSplitter *s)
{
    if (!s->overflow) {
        s->overflow = "control character in string";
    }
    emit(s);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One byte outside any structured value (depth 0). */
static void feed_top(LbJsonSplitter *s, char c)
{
    if (s->scalar && !s->in_string) {
        if (is_space(c) || strchr("{}[]", c)) {
            emit(s);
        } else {
            append(s, c);
            return;
        }
    } else if (s->in_string) {
        if ((unsigned char)c < 0x20) {
            bad_string(s);
            return;
        }
        append(s, c);
        if (s->escape) {
            s->escape = false;
        } else if (c == '\\') {
            s->escape = true;
        } else if (c == '"') {
            emit(s);
        }
        return;
    }
    if (is_space(c)) {
        return;
    }
    if (c == '{' || c == '[') {
        s->depth = 1;
        append(s, c);
    } else if (c == '}' || c == ']') {
        buf_append(s, c);
        emit(s);
    } else {
        s->scalar = true;
        s->in_string = c == '"';
        append(s, c);
    }
}

void lb_json_splitter_feed(LbJsonSplitter *s, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];

        if (s->depth == 0) {
            feed_top(s, c);
            continue;
        }
        append(s, c);
        if (s->in_string && (unsigned char)c < 0x20) {
            /* JSON strings cannot hold raw control characters; as QEMU's
             * lexer does, end the bad text here, so an unterminated string
             * cannot swallow the requests after it. */
            bad_string(s);
            continue;
        }
        if (s->in_string) {
            if (s->escape) {
                s->escape = false;
            } else if (c == '\\') {
                s->escape = true;
            } else if (c == '"') {
                s->in_string = false;
            }
        } else if (c == '"') {
            s->in_string = true;
        } else if (c == '{' || c == '[') {
            if (++s->depth > LB_JSON_MAX_DEPTH && !s->overflow) {
                s->overflow = "nesting depth limit exceeded";
            }
        } else if (c == '}' || c == ']') {
            if (--s->depth == 0) {
                emit(s);
            }
        }
    }
}
