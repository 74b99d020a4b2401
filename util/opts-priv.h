/*
 * opts-priv.h: the private value model of LbOpts, shared by util/opts.c
 * (tree, getters) and util/opts-parse.c (keyval and JSON text).
 */
#ifndef LB_UTIL_OPTS_PRIV_H
#define LB_UTIL_OPTS_PRIV_H

#include "lb/opts.h"

typedef enum {
    LB_OPTS_V_STR,
    LB_OPTS_V_INT,
    LB_OPTS_V_DOUBLE,
    LB_OPTS_V_BOOL,
    LB_OPTS_V_NULL,
    LB_OPTS_V_OBJ,
    LB_OPTS_V_LIST,
} LbOptsValType;

typedef struct LbOptsVal {
    LbOptsValType type;
    char *str; /* LB_OPTS_V_STR value; textual form for INT/DOUBLE/BOOL */
    int64_t i;
    bool b;
    LbOpts *obj;
    GPtrArray *list; /* of LbOptsVal * */
} LbOptsVal;

typedef struct LbOptsEntry {
    char *key;
    LbOptsVal *val;
    bool used;      /* read by a getter */
    bool traversed; /* a dotted lookup went through this object */
} LbOptsEntry;

struct LbOpts {
    gint ref;
    GPtrArray *entries; /* of LbOptsEntry * */
    char *path;         /* dotted prefix of this object for messages */
};

void lb_opts_val_free(LbOptsVal *v);
LbOptsVal *lb_opts_val_new(LbOptsValType t);
/* The entry named exactly @key (no dotted lookup), or NULL. */
LbOptsEntry *lb_opts_find_entry(LbOpts *o, const char *key);
/* Set @key to @v (taking it), replacing an existing value in place. */
void lb_opts_put(LbOpts *o, const char *key, LbOptsVal *v);
/* Record that @child sits at @parent's @key (for error messages). */
void lb_opts_set_path(LbOpts *child, LbOpts *parent, const char *key);

#endif /* LB_UTIL_OPTS_PRIV_H */
