/*
 * iov.h: helpers on struct iovec arrays (scatter lists), as used by the
 * block layer's requests: sizes, copies to and from flat buffers, and
 * slices of a byte range (no allocation: the caller gives the array).
 */
#ifndef LB_IOV_H
#define LB_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/** lb_iov_size: total bytes of @iov[0..@niov). */
size_t lb_iov_size(const struct iovec *iov, int niov);
/**
 * lb_iov_to_buf / lb_iov_from_buf: copy @len bytes between the flat @buf and
 * the scatter list at byte @off.  The range must lie within @iov.
 */
void lb_iov_to_buf(const struct iovec *iov, int niov, size_t off, void *buf,
                   size_t len);
void lb_iov_from_buf(const struct iovec *iov, int niov, size_t off,
                     const void *buf, size_t len);
/** lb_iov_memset: set @len bytes at @off to @c. */
void lb_iov_memset(const struct iovec *iov, int niov, size_t off, int c,
                   size_t len);
/**
 * lb_iov_slice: describe bytes [@off, @off + @len) of @iov in @dst (room for
 * @dst_cap entries).  Returns: the number of entries, or -1 if @dst is too
 * small (it then holds the first @dst_cap entries of the slice;
 * lb_iov_slice_count() tells how many are needed).
 */
int lb_iov_slice(struct iovec *dst, int dst_cap, const struct iovec *iov,
                 int niov, size_t off, size_t len);
int lb_iov_slice_count(const struct iovec *iov, int niov, size_t off,
                       size_t len);

#endif /* LB_IOV_H */
