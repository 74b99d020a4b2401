/*
 * mem.c: the guest memory table of a vhost-user connection
 * (VHOST_USER_SET_MEM_TABLE, vhost-user.rst "Memory access").
 *
 * Each region arrives as an fd (memfd or a file on tmpfs/hugetlbfs) plus
 * the guest physical address, the size, the front-end's own virtual
 * address and the offset of the region in the fd.  We map the fd from
 * offset 0 (mmap offsets must be page aligned, region offsets need not be).
 *
 * Hostile front-ends: every address the guest or the front-end gives is
 * translated here and must lie wholly inside one region (or, for data
 * buffers, a run of regions), with overflow-checked arithmetic.  A mapping
 * past the end of its file would fault with SIGBUS, so each region is
 * checked against fstat(); a memfd is additionally sealed against
 * shrinking (F_SEAL_SHRINK) so the front-end cannot truncate it under us
 * later.  QEMU's memory-backend-memfd seals by default; an unsealed memfd
 * gets the seal here, and one sealed against new seals without
 * F_SEAL_SHRINK is refused.  A plain file (hugetlbfs, /dev/shm) cannot be
 * sealed: truncating it under a running guest is outside this model.
 */
#include "config.h"
#include "vu-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lb/export.h"

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#endif

static bool region_seal(int fd, unsigned i, GError **errp)
{
    int seals = fcntl(fd, F_GET_SEALS);

    if (seals < 0) {
        return true;                  /* not a memfd: no seals possible */
    }
    if (seals & F_SEAL_SHRINK) {
        return true;
    }
    if ((seals & F_SEAL_SEAL) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "memory region %u: memfd cannot be sealed against "
                    "shrinking", i);
        return false;
    }
    return true;
}

static bool region_map(VuRegion *r, const VuRegionDesc *d, int fd, unsigned i,
                       GError **errp)
{
    struct stat st;
    uint64_t end;

    if (d->size == 0 || d->size > G_MAXSIZE / 2 ||
        !g_uint64_checked_add(&end, d->mmap_offset, d->size) ||
        end > G_MAXSIZE / 2 || d->gpa + d->size < d->gpa ||
        d->uaddr + d->size < d->uaddr) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "memory region %u: invalid size or offset", i);
        return false;
    }
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < end) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "memory region %u: beyond the end of its file", i);
        return false;
    }
    if (!region_seal(fd, i, errp)) {
        return false;
    }
    void *p = mmap(NULL, end, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p == MAP_FAILED) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "memory region %u: mmap: %s", i, g_strerror(errno));
        return false;
    }
    /* Guest RAM in core dumps of the daemon would leak guest data. */
    madvise(p, end, MADV_DONTDUMP);
    r->gpa = d->gpa;
    r->size = d->size;
    r->uaddr = d->uaddr;
    r->map = p;
    r->map_len = end;
    r->host = (uint8_t *)p + d->mmap_offset;
    return true;
}

VuMem *vu_mem_map(const VuRegionDesc *desc, unsigned n, const int *fds,
                  GError **errp)
{
    VuMem *mem = g_new0(VuMem, 1);
    bool ok = n <= VU_MAX_REGIONS;

    if (!ok) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "too many memory regions (%u)", n);
    }
    for (unsigned i = 0; ok && i < n; i++) {
        ok = region_map(&mem->r[i], &desc[i], fds[i], i, errp);
        mem->n = ok ? i + 1 : i;
    }
    for (unsigned i = 0; i < n && i < VU_MAX_FDS; i++) {
        close(fds[i]);
    }
    if (!ok) {
        vu_mem_free(mem);
        return NULL;
    }
    return mem;
}

void vu_mem_free(VuMem *mem)
{
    if (!mem) {
        return;
    }
    for (unsigned i = 0; i < mem->n; i++) {
        munmap(mem->r[i].map, mem->r[i].map_len);
    }
    g_free(mem);
}

/* The region holding byte @a of the space selected by @user, or NULL. */
static const VuRegion *region_find(const VuMem *mem, uint64_t a, bool user)
{
    for (unsigned i = 0; mem && i < mem->n; i++) {
        const VuRegion *r = &mem->r[i];
        uint64_t base = user ? r->uaddr : r->gpa;
        if (a >= base && a - base < r->size) {
            return r;
        }
    }
    return NULL;
}

static void *translate(const VuMem *mem, uint64_t a, uint64_t len, bool user)
{
    const VuRegion *r = region_find(mem, a, user);

    if (!r) {
        return NULL;
    }
    uint64_t off = a - (user ? r->uaddr : r->gpa);
    if (len > r->size - off) {
        return NULL;
    }
    return r->host + off;
}

void *vu_mem_gpa(const VuMem *mem, uint64_t gpa, uint64_t len)
{
    return translate(mem, gpa, len, false);
}

void *vu_mem_uaddr(const VuMem *mem, uint64_t uaddr, uint64_t len)
{
    return translate(mem, uaddr, len, true);
}

bool vu_mem_gpa_iov(const VuMem *mem, uint64_t gpa, uint32_t len,
                    struct iovec *iov, unsigned *n, unsigned cap)
{
    while (len > 0) {
        const VuRegion *r = region_find(mem, gpa, false);
        if (!r || *n >= cap) {
            return false;
        }
        uint64_t off = gpa - r->gpa;
        uint64_t chunk = MIN((uint64_t)len, r->size - off);
        iov[*n].iov_base = r->host + off;
        iov[*n].iov_len = chunk;
        (*n)++;
        gpa += chunk;
        len -= chunk;
    }
    return true;
}
