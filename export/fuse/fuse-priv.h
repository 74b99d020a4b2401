/*
 * fuse-priv.h: state shared by the FUSE export's session code (fuse.c)
 * and its request handlers (fuse-ops.c).
 *
 * Threading: one per CPU plus one (at most LB_FUSE_MAX_WORKERS) worker
 * threads each block in read() on the one /dev/fuse descriptor; the kernel
 * wakes one of them per request, so requests run in parallel without any lock
 * of ours on the data path. Each worker owns its receive buffer (libfuse's
 * struct fuse_buf, which holds a whole WRITE request, data included) and a read
 * buffer for READ replies, both allocated once and reused, never per request.
 */
#ifndef LB_EXPORT_FUSE_PRIV_H
#define LB_EXPORT_FUSE_PRIV_H

#define FUSE_USE_VERSION 31

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <fuse_lowlevel.h>
#include <glib.h>
#include "lb/block.h"

/* Largest READ/WRITE payload we negotiate (max_read, max_write). */
#define LB_FUSE_MAX_IO (1024 * 1024)
/* Largest zero-fill handed to the node at once by fallocate. */
#define LB_FUSE_ZERO_CHUNK (16 * 1024 * 1024)
#define LB_FUSE_MAX_WORKERS 16

typedef struct LbFuseExport LbFuseExport;

typedef struct LbFuseWorker {
    LbFuseExport *exp;
    pthread_t thread;
    bool started;
    struct fuse_buf fbuf; /* request buffer, libfuse allocates it */
    uint8_t *rbuf;        /* LB_FUSE_MAX_IO bytes */
} LbFuseWorker;

struct LbFuseExport {
    char *id;
    char *mountpoint;
    LbNode *node;   /* reference held */
    unsigned align; /* node alignment: sizes are multiples */
    bool writable;
    bool growable;
    bool writethrough;
    bool allow_other; /* whether the mount got allow_other */

    struct fuse_session *se;
    bool mounted;
    unsigned n_workers;
    LbFuseWorker workers[LB_FUSE_MAX_WORKERS];

    /*
     * Serialises size changes (truncate, growing writes) against each other;
     * never taken by reads and writes inside the current length.
     */
    GMutex resize_lock;
    GMutex attr_lock; /* st_mode, st_uid, st_gid */
    mode_t st_mode;
    uid_t st_uid;
    gid_t st_gid;
};

/* fuse.c: stop workers, unmount, release the node.  Accepts NULL. */
void lb_fuse_export_free(LbFuseExport *exp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbFuseExport, lb_fuse_export_free)

/* fuse-ops.c: the request handlers, for fuse_session_new(). */
extern const struct fuse_lowlevel_ops lb_fuse_ops;

/* The worker running the current request (set by fuse.c). */
LbFuseWorker *lb_fuse_current_worker(void);

#endif /* LB_EXPORT_FUSE_PRIV_H */
