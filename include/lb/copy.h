/*
 * copy.h: the block layer's one chunked copy loop (block/copy.c), shared
 * by `luksblk-img convert` and block jobs (later reencryption and
 * mirror-like jobs): @threads workers copy @chunk-sized pieces of
 * [0, @size) from @src to @dst, sparse-aware as qemu-img convert.
 */
#ifndef LB_COPY_H
#define LB_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct LbNode LbNode;
typedef struct LbJob LbJob;

typedef struct LbCopyParams {
    LbNode *src, *dst;
    uint64_t size;          /* bytes to copy from offset 0 */
    uint64_t sparse;        /* -S: zero blocks of this size are not
                               written (0 = write every byte) */
    bool zero_init;         /* dst reads as zeros where never written */
    unsigned threads;       /* workers, >= 1 */
    size_t chunk;           /* bytes per piece, 0 = 1 MiB */
    LbJob *job;             /* optional: progress, pause, cancel, speed */
    /* Optional: called (serialised) as bytes complete; any worker. */
    void (*progress)(void *opaque, uint64_t done, uint64_t total);
    void *opaque;
} LbCopyParams;

/**
 * lb_copy_run: copy, then flush @dst.  Any context but the workers' own;
 * blocks until done.  Returns: 0, -ECANCELED when @job was cancelled, or
 * the first -errno of a read, write or flush.
 */
int lb_copy_run(const LbCopyParams *p);

#endif /* LB_COPY_H */
