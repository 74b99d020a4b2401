/*
 * vu-priv.h: the vhost-user-blk export's internal structures.
 *
 * Protocol: QEMU's docs/interop/vhost-user.rst (the back-end side) and the
 * virtio 1.2 specification, sections 2.7 (split virtqueues) and 5.2 (block
 * device).  Only split rings, no IOMMU, no migration log, no inflight fd.
 *
 *   blk.c     the export type: options, config space, virtio-blk requests
 *   server.c  listening socket, the control thread, vhost-user messages
 *   mem.c     guest memory table: mmap of the front-end's fds, translation
 *   vq.c      split virtqueues: descriptor chains, used ring, notifications
 *   listen.c  the listening socket (unix or an inherited fd)
 *
 * Threads of one export:
 *
 *   control thread: accept ─> loop { read message ─> handle ─> reply }
 *   one thread per started virtqueue: wait for a kick ─> pop chains ─>
 *       parse request ─> lb_node_submit() (many in flight per queue)
 *   completion (any thread): status byte ─> used ring ─> call eventfd
 *
 * Everything that changes what a queue thread or an in-flight request may
 * touch (memory table, ring addresses, kick fd, stop, disconnect) first
 * pauses the queue: vu_queue_pause() returns once the queue thread is idle
 * and no request of the queue is in flight.
 */
#ifndef LB_EXPORT_VHOST_USER_VU_PRIV_H
#define LB_EXPORT_VHOST_USER_VU_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>

#include "lb/block.h"
#include "../export-priv.h"

/* ---- vhost-user protocol ------------------------------------------------ */

enum {
    VU_GET_FEATURES = 1,
    VU_SET_FEATURES = 2,
    VU_SET_OWNER = 3,
    VU_RESET_OWNER = 4,
    VU_SET_MEM_TABLE = 5,
    VU_SET_LOG_BASE = 6,
    VU_SET_LOG_FD = 7,
    VU_SET_VRING_NUM = 8,
    VU_SET_VRING_ADDR = 9,
    VU_SET_VRING_BASE = 10,
    VU_GET_VRING_BASE = 11,
    VU_SET_VRING_KICK = 12,
    VU_SET_VRING_CALL = 13,
    VU_SET_VRING_ERR = 14,
    VU_GET_PROTOCOL_FEATURES = 15,
    VU_SET_PROTOCOL_FEATURES = 16,
    VU_GET_QUEUE_NUM = 17,
    VU_SET_VRING_ENABLE = 18,
    VU_GET_CONFIG = 24,
    VU_SET_CONFIG = 25,
};

#define VU_FLAG_VERSION          0x1u
#define VU_FLAG_VERSION_MASK     0x3u
#define VU_FLAG_REPLY            (1u << 2)
#define VU_FLAG_NEED_REPLY       (1u << 3)

#define VU_F_PROTOCOL_FEATURES   30
#define VU_PROTOCOL_F_MQ         0
#define VU_PROTOCOL_F_REPLY_ACK  3
#define VU_PROTOCOL_F_CONFIG     9

#define VU_VRING_IDX_MASK        0xffu
#define VU_VRING_NOFD_MASK       (1u << 8)

#define VU_MAX_REGIONS           8
#define VU_MAX_FDS               8
#define VU_MAX_CONFIG_SIZE       256
/* The largest payload accepted; anything longer drops the connection. */
#define VU_MAX_PAYLOAD           4096

typedef struct VuMsgHdr {
    uint32_t request;
    uint32_t flags;
    uint32_t size;
} __attribute__((packed)) VuMsgHdr;

typedef struct VuVringState {
    uint32_t index;
    uint32_t num;
} VuVringState;

typedef struct VuVringAddr {
    uint32_t index;
    uint32_t flags;
    uint64_t desc;
    uint64_t used;
    uint64_t avail;
    uint64_t log;
} VuVringAddr;

typedef struct VuRegionDesc {
    uint64_t gpa;
    uint64_t size;
    uint64_t uaddr;
    uint64_t mmap_offset;
} VuRegionDesc;

typedef struct VuConfigMsg {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
    uint8_t data[VU_MAX_CONFIG_SIZE];
} VuConfigMsg;

typedef struct VuMsg {
    VuMsgHdr hdr;
    union {
        uint64_t u64;
        VuVringState state;
        VuVringAddr addr;
        struct {
            uint32_t nregions;
            uint32_t padding;
            VuRegionDesc regions[VU_MAX_REGIONS];
        } mem;
        VuConfigMsg config;
        uint8_t raw[VU_MAX_PAYLOAD];
    } p;
    int fds[VU_MAX_FDS];
    unsigned nfds;
} VuMsg;

G_STATIC_ASSERT(sizeof(VuMsgHdr) == 12);
G_STATIC_ASSERT(sizeof(VuVringAddr) == 40);
G_STATIC_ASSERT(sizeof(VuRegionDesc) == 32);

/* ---- virtio ------------------------------------------------------------- */

#define VIRTIO_F_NOTIFY_ON_EMPTY     24
#define VIRTIO_RING_F_INDIRECT_DESC  28
#define VIRTIO_RING_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1           32

#define VIRTIO_BLK_F_SIZE_MAX        1
#define VIRTIO_BLK_F_SEG_MAX         2
#define VIRTIO_BLK_F_RO              5
#define VIRTIO_BLK_F_BLK_SIZE        6
#define VIRTIO_BLK_F_FLUSH           9
#define VIRTIO_BLK_F_TOPOLOGY        10
#define VIRTIO_BLK_F_CONFIG_WCE      11
#define VIRTIO_BLK_F_MQ              12
#define VIRTIO_BLK_F_DISCARD         13
#define VIRTIO_BLK_F_WRITE_ZEROES    14

#define VRING_DESC_F_NEXT            1
#define VRING_DESC_F_WRITE           2
#define VRING_DESC_F_INDIRECT        4
#define VRING_AVAIL_F_NO_INTERRUPT   1

/* Split ring layout (virtio 1.2, 2.7); little-endian (we are x86/LE). */
typedef struct VringDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VringDesc;

typedef struct VringAvail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];                  /* then used_event */
} VringAvail;

typedef struct VringUsedElem {
    uint32_t id;
    uint32_t len;
} VringUsedElem;

typedef struct VringUsed {
    uint16_t flags;
    uint16_t idx;
    VringUsedElem ring[];             /* then avail_event */
} VringUsed;

G_STATIC_ASSERT(sizeof(VringDesc) == 16);

/* virtio-blk (virtio 1.2, 5.2.6). */
#define VIRTIO_BLK_T_IN              0
#define VIRTIO_BLK_T_OUT             1
#define VIRTIO_BLK_T_FLUSH           4
#define VIRTIO_BLK_T_GET_ID          8
#define VIRTIO_BLK_T_DISCARD         11
#define VIRTIO_BLK_T_WRITE_ZEROES    13
#define VIRTIO_BLK_S_OK              0
#define VIRTIO_BLK_S_IOERR           1
#define VIRTIO_BLK_S_UNSUPP          2
#define VIRTIO_BLK_ID_BYTES          20
#define VIRTIO_BLK_WZ_F_UNMAP        1

typedef struct VirtioBlkOutHdr {
    uint32_t type;
    uint32_t ioprio;
    uint64_t sector;
} VirtioBlkOutHdr;

typedef struct VirtioBlkDwz {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
} VirtioBlkDwz;

/* The config space as the guest sees it (virtio 1.2, 5.2.4). */
typedef struct VirtioBlkConfig {
    uint64_t capacity;                /* 512-byte sectors */
    uint32_t size_max;
    uint32_t seg_max;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors;
    uint32_t blk_size;
    uint8_t physical_block_exp;
    uint8_t alignment_offset;
    uint16_t min_io_size;
    uint32_t opt_io_size;
    uint8_t wce;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
} __attribute__((packed)) VirtioBlkConfig;

G_STATIC_ASSERT(sizeof(VirtioBlkConfig) == 60);
G_STATIC_ASSERT(G_STRUCT_OFFSET(VirtioBlkConfig, wce) == 32);

/* ---- mem.c: the guest memory table ------------------------------------- */

typedef struct VuRegion {
    uint64_t gpa;                     /* guest physical address */
    uint64_t size;
    uint64_t uaddr;                   /* the front-end's virtual address */
    uint8_t *host;                    /* our mapping of gpa */
    void *map;                        /* mmap() base (offset 0 of the fd) */
    size_t map_len;
} VuRegion;

typedef struct VuMem {
    unsigned n;
    VuRegion r[VU_MAX_REGIONS];
} VuMem;

/**
 * vu_mem_map: map the regions of a SET_MEM_TABLE message (@fds are
 * consumed: closed whatever the outcome).  Checks every region against its
 * fd's size so no access can run past the end of a file (SIGBUS).
 */
VuMem *vu_mem_map(const VuRegionDesc *desc, unsigned n, const int *fds,
                  GError **errp);
void vu_mem_free(VuMem *mem);
/** Host pointer for [@gpa, @gpa + @len) if it lies in one region, else NULL. */
void *vu_mem_gpa(const VuMem *mem, uint64_t gpa, uint64_t len);
/** The same for a front-end virtual address (ring addresses). */
void *vu_mem_uaddr(const VuMem *mem, uint64_t uaddr, uint64_t len);
/**
 * vu_mem_gpa_iov: describe [@gpa, @gpa + @len) as host iovecs appended at
 * @iov[*@n] (room for @cap entries), split at region ends.
 * Returns: false if any byte lies outside the regions or room runs out.
 */
bool vu_mem_gpa_iov(const VuMem *mem, uint64_t gpa, uint32_t len,
                    struct iovec *iov, unsigned *n, unsigned cap);

/* ---- vq.c: split virtqueues -------------------------------------------- */

/* The most iovecs one request may have (data, header and status). */
#define VU_MAX_IOV       260
#define VU_MAX_QUEUE_SIZE 32768

typedef struct VuDev VuDev;
typedef struct VuQueue VuQueue;

/* One popped descriptor chain. */
typedef struct VuElem {
    uint16_t head;
    bool bad;                         /* malformed or outside the regions */
    unsigned n_out, n_in;             /* device-readable, then writable */
    struct iovec iov[VU_MAX_IOV];     /* out entries, then in entries */
    uint8_t *status;                  /* last writable byte, or NULL */
} VuElem;

typedef struct VuBlkReq VuBlkReq;

struct VuQueue {
    VuDev *dev;
    unsigned idx;

    GMutex lock;
    GCond cond;
    /* Set while the ring is stopped (control thread). */
    unsigned num;
    uint64_t desc_ua, avail_ua, used_ua;
    bool has_addr;
    int kick_fd;
    int call_fd;                      /* under lock: replaced while running */
    int err_fd;
    bool enabled;
    bool started;
    /* Ring pointers, valid while started (translated at start). */
    VringDesc *desc;
    VringAvail *avail;
    VringUsed *used;
    uint16_t last_avail;              /* queue thread */
    uint16_t used_idx;                /* under lock */
    uint16_t signalled_used;          /* under lock */
    bool signalled_valid;
    bool broken;                      /* a fatal ring error: stop popping */
    /* Pause protocol, under lock. */
    unsigned paused;
    bool busy;                        /* queue thread is popping */
    bool want_slot;                   /* queue thread waits for a free req */
    unsigned in_flight;
    GThread *thread;
    int wake_fd;                      /* eventfd: wakes the queue thread */
    bool quit;
    /* Request pool (num entries, lazily allocated). */
    VuBlkReq **free_reqs;
    unsigned n_free;
    unsigned n_alloc;
};

/**
 * vu_queue_pop: take the next available chain into @elem (translated
 * against the device's memory table).  Returns: 1 if one was taken (check
 * elem->bad), 0 if the ring is empty, -1 on a fatal ring error (the queue
 * is marked broken).  Queue thread only.
 */
int vu_queue_pop(VuQueue *vq, VuElem *elem);
/**
 * vu_queue_push: return @head with @len bytes written to the used ring and
 * signal the guest if it wants it.  Any thread; takes vq->lock.
 */
void vu_queue_push_locked(VuQueue *vq, uint16_t head, uint32_t len);
/** Re-arm notifications (EVENT_IDX: publish avail_event); true if idle. */
bool vu_queue_idle(VuQueue *vq);
/** Translate the ring addresses against @mem; false if outside. */
bool vu_queue_map_rings(VuQueue *vq, const VuMem *mem);

/* ---- server.c / blk.c: the device -------------------------------------- */

struct VuDev {
    LbExport *exp;
    unsigned nq;
    VuQueue *qs;
    /* Negotiated, control thread. */
    uint64_t features;
    uint64_t protocol_features;
    VuMem *mem;                       /* replaced only with queues paused */
    GMutex cfg_lock;
    VirtioBlkConfig cfg;              /* wce changes at run time */
    uint64_t length;                  /* bytes */
    uint32_t blk_size;
    bool writable;
    int quiesced;                     /* atomic: the node is drained */
};

/* One export's back-end (server.c). */
typedef struct VuServer {
    LbExport *exp;
    VuDev *dev;
    int listen_fd;
    int stop_fd;                      /* eventfd: the export goes away */
    GThread *thread;                  /* the control thread */
    int connected;                    /* atomic: a front-end is attached */
    VuMsg msg;                        /* the message being handled */
} VuServer;

bool vu_server_start(VuServer *srv, GError **errp);
/** Disconnect the front-end (if any) and join every thread. */
void vu_server_stop(VuServer *srv);

/* listen.c: "addr" of block-export-add (unix or fd) -> listening socket. */
bool vu_listen(LbOpts *addr, int *fd, char **unix_path, GError **errp);
void vu_unlisten(int fd, char *unix_path);

bool vu_has_feature(VuDev *dev, unsigned bit);
/** Pause @vq (nests): wait until its thread is idle and nothing in flight. */
void vu_queue_pause(VuQueue *vq);
void vu_queue_resume(VuQueue *vq);
/** Start the queue thread of a ring whose kick fd is set. */
bool vu_queue_start(VuQueue *vq, GError **errp);
/** Stop the ring: join its thread after in-flight requests finish. */
void vu_queue_stop(VuQueue *vq);

/* blk.c */
uint64_t vu_blk_features(VuDev *dev);
/**
 * Handle one popped chain (takes ownership of the pool entry); @alone: no
 * other request of the queue is in flight or available, so it may run
 * synchronously on the queue thread.
 */
void vu_blk_handle(VuQueue *vq, VuBlkReq *req, bool alone);
/** Whether the available ring has entries not taken yet. */
bool vu_queue_has_avail(VuQueue *vq);
VuBlkReq *vu_blk_req_get(VuQueue *vq);
void vu_blk_req_pool_free(VuQueue *vq);
VuElem *vu_blk_req_elem(VuBlkReq *req);
bool vu_blk_set_config(VuDev *dev, const VuConfigMsg *c);
void vu_blk_get_config(VuDev *dev, VuConfigMsg *c);

#endif /* LB_EXPORT_VHOST_USER_VU_PRIV_H */
