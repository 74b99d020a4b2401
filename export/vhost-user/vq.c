/*
 * vq.c: split virtqueues (virtio 1.2, section 2.7) from the device side:
 * taking descriptor chains off the available ring, returning them on the
 * used ring, and deciding when to notify the guest (EVENT_IDX, 2.7.7 and
 * 2.7.10).
 *
 * The guest writes the rings while we read them, so every field is read
 * once into a local before it is checked and used (no double fetch).  A
 * chain that points outside guest memory, mixes the order of readable and
 * writable buffers, or has more buffers than VU_MAX_IOV is still taken off
 * the ring and comes back with an error status where its status byte can
 * be found ("bad").  What cannot be answered at all - a head index beyond
 * the ring, a loop, the available index running ahead by more than the
 * ring size - marks the queue broken: it is not served again until the
 * front-end restarts it (the guest resets the device).
 */
#include "config.h"
#include "vu-priv.h"

#include <string.h>
#include <sys/eventfd.h>

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

bool vu_queue_map_rings(VuQueue *vq, const VuMem *mem)
{
    uint64_t n = vq->num;

    if (!vq->has_addr || n == 0 || (vq->desc_ua & 15) || (vq->avail_ua & 1) ||
        (vq->used_ua & 3)) {
        return false;
    }
    vq->desc = vu_mem_uaddr(mem, vq->desc_ua, 16 * n);
    vq->avail = vu_mem_uaddr(mem, vq->avail_ua, 6 + 2 * n);
    vq->used = vu_mem_uaddr(mem, vq->used_ua, 6 + 8 * n);
    return vq->desc && vq->avail && vq->used;
}

static uint16_t *used_event(VuQueue *vq)
{
    return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event(VuQueue *vq)
{
    return (uint16_t *)&vq->used->ring[vq->num];
}

static void mark_broken(VuQueue *vq, const char *why)
{
    if (!vq->broken) {
        g_warning("vhost-user-blk export '%s': queue %u: %s; queue stopped "
                  "until the guest resets the device",
                  vq->dev->exp->id, vq->idx, why);
    }
    vq->broken = true;
}

/*
 * Add the buffer of one descriptor to @elem.  The status byte is the last
 * byte of the last writable buffer; it is found even when the buffers
 * before it are not acceptable, so such a request still gets IOERR.
 */
static void elem_add(VuQueue *vq, VuElem *elem, uint64_t addr, uint32_t len,
                     bool writable)
{
    unsigned n = elem->n_out + elem->n_in;

    if (writable && len > 0) {
        uint64_t last;
        elem->status = g_uint64_checked_add(&last, addr, len - 1)
                           ? vu_mem_gpa(vq->dev->mem, last, 1)
                           : NULL;
    }
    if (elem->bad) {
        return;
    }
    if (!writable && elem->n_in > 0) {
        elem->bad = true;             /* readable after writable (2.7.4.2) */
        return;
    }
    if (!vu_mem_gpa_iov(vq->dev->mem, addr, len, elem->iov, &n, VU_MAX_IOV)) {
        elem->bad = true;
        return;
    }
    if (writable) {
        elem->n_in = n - elem->n_out;
    } else {
        elem->n_out = n;
    }
}

/*
 * Walk the chain starting at @head.  Returns false on a structural error
 * (the chain cannot be followed); a chain that can be followed but is not
 * acceptable sets elem->bad.
 */
static bool walk_chain(VuQueue *vq, uint16_t head, VuElem *elem)
{
    const uint8_t *table = (const uint8_t *)vq->desc;
    uint32_t max = vq->num, i = head, steps = 0;
    bool indirect = false;

    for (;;) {
        if (i >= max || ++steps > max) {
            return false;
        }
        /*
         * One copy, then only the copy is used.  An indirect table need
         * not be aligned, hence memcpy rather than a struct access.
         */
        VringDesc d;
        memcpy(&d, table + (size_t)i * sizeof(d), sizeof(d));
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (d.flags & VRING_DESC_F_INDIRECT) {
            /* One level only; an indirect descriptor ends its chain. */
            if (indirect || (d.flags & VRING_DESC_F_NEXT) ||
                !vu_has_feature(vq->dev, VIRTIO_RING_F_INDIRECT_DESC) ||
                d.len == 0 || d.len % sizeof(VringDesc) != 0) {
                return false;
            }
            table = vu_mem_gpa(vq->dev->mem, d.addr, d.len);
            if (!table) {
                return false;
            }
            indirect = true;
            max = d.len / sizeof(VringDesc);
            i = 0;
            steps = 0;
            continue;
        }
        elem_add(vq, elem, d.addr, d.len, d.flags & VRING_DESC_F_WRITE);
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            return true;
        }
        i = d.next;
    }
}

int vu_queue_pop(VuQueue *vq, VuElem *elem)
{
    if (vq->broken) {
        return -1;
    }
    uint16_t avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
    if (avail_idx == vq->last_avail) {
        return 0;
    }
    if ((uint16_t)(avail_idx - vq->last_avail) > vq->num) {
        mark_broken(vq, "available index ran ahead of the ring");
        return -1;
    }
    uint16_t head = READ_ONCE(vq->avail->ring[vq->last_avail % vq->num]);
    if (head >= vq->num) {
        mark_broken(vq, "descriptor head beyond the ring");
        return -1;
    }
    vq->last_avail++;
    elem->head = head;
    elem->bad = false;
    elem->n_out = elem->n_in = 0;
    elem->status = NULL;
    if (!walk_chain(vq, head, elem)) {
        /*
         * Answer the head anyway (with an error status if one was found),
         * so the guest gets its buffer back instead of a stuck request.
         */
        elem->bad = true;
    }
    return 1;
}

bool vu_queue_has_avail(VuQueue *vq)
{
    return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) !=
           vq->last_avail;
}

bool vu_queue_idle(VuQueue *vq)
{
    if (vu_has_feature(vq->dev, VIRTIO_RING_F_EVENT_IDX)) {
        /* Ask for a kick at the next entry, then check for a race. */
        WRITE_ONCE(*avail_event(vq), vq->last_avail);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
    return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) ==
           vq->last_avail;
}

/* Whether the guest wants an interrupt for used index @new (2.7.10). */
static bool need_notify(VuQueue *vq, uint16_t old, uint16_t new)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vu_has_feature(vq->dev, VIRTIO_F_NOTIFY_ON_EMPTY) &&
        READ_ONCE(vq->avail->idx) == vq->last_avail) {
        return true;
    }
    if (!vu_has_feature(vq->dev, VIRTIO_RING_F_EVENT_IDX)) {
        return !(READ_ONCE(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    }
    uint16_t ev = READ_ONCE(*used_event(vq));
    bool valid = vq->signalled_valid;
    vq->signalled_valid = true;
    return !valid || (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
}

void vu_queue_push_locked(VuQueue *vq, uint16_t head, uint32_t len)
{
    uint16_t idx = vq->used_idx;

    WRITE_ONCE(vq->used->ring[idx % vq->num].id, head);
    WRITE_ONCE(vq->used->ring[idx % vq->num].len, len);
    vq->used_idx = idx + 1;
    __atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);

    uint16_t old = vq->signalled_used;
    if (need_notify(vq, old, vq->used_idx) && vq->call_fd >= 0) {
        vq->signalled_used = vq->used_idx;
        eventfd_write(vq->call_fd, 1);
    }
}
