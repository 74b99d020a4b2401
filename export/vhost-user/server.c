/*
 * server.c: the vhost-user back-end of one export: its listening socket,
 * the control thread that serves one front-end at a time, the protocol
 * messages (vhost-user.rst "Front-end message types") and the lifecycle
 * of the queue threads.
 *
 * Ring lifecycle (vhost-user.rst "Ring states"):
 *
 *   SET_VRING_NUM/ADDR/BASE ──> SET_VRING_KICK: started (thread runs)
 *        SET_VRING_ENABLE 1/0: enabled/disabled (served only enabled)
 *   GET_VRING_BASE: stopped (thread joined after in-flight requests end),
 *        replies with the next available index to serve
 *
 * A front-end that disconnects (guest shut down, QEMU restarted) leaves
 * no state behind: the queues are stopped, guest memory unmapped and the
 * next connection starts afresh, so QEMU's reconnect works.  Every read
 * of the socket waits on the export's stop eventfd too, so a front-end
 * that stops talking half-way through a message never blocks
 * block-export-del.
 */
#include "config.h"
#include "vu-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb/export.h"

#define VU_PROTOCOL_FEATURES                                            \
    ((1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK) |   \
     (1ull << VU_PROTOCOL_F_CONFIG))

bool vu_has_feature(VuDev *dev, unsigned bit)
{
    return dev->features & (1ull << bit);
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* ---- queue threads ------------------------------------------------------ */

static void queue_wake(VuQueue *vq)
{
    eventfd_write(vq->wake_fd, 1);
}

/* Pop and submit until the ring is empty, paused or out of requests. */
static void queue_process(VuQueue *vq)
{
    for (;;) {
        g_mutex_lock(&vq->lock);
        if (vq->paused || vq->quit || !vq->enabled ||
            g_atomic_int_get(&vq->dev->quiesced)) {
            g_mutex_unlock(&vq->lock);
            return;
        }
        VuBlkReq *req = vu_blk_req_get(vq);
        if (!req) {
            vq->want_slot = true;     /* a completion wakes us */
            g_mutex_unlock(&vq->lock);
            return;
        }
        g_mutex_unlock(&vq->lock);

        int r = vu_queue_pop(vq, vu_blk_req_elem(req));
        if (r <= 0) {
            g_mutex_lock(&vq->lock);
            vq->free_reqs[vq->n_free++] = req;
            g_mutex_unlock(&vq->lock);
            if (r == 0 && !vu_queue_idle(vq)) {
                continue;
            }
            return;
        }
        g_mutex_lock(&vq->lock);
        bool alone = vq->in_flight++ == 0;
        g_mutex_unlock(&vq->lock);
        vu_blk_handle(vq, req, alone && !vu_queue_has_avail(vq));
    }
}

static gpointer queue_thread(gpointer opaque)
{
    VuQueue *vq = opaque;
    struct pollfd pfd[2] = {
        {.fd = vq->kick_fd, .events = POLLIN},
        {.fd = vq->wake_fd, .events = POLLIN},
    };
    eventfd_t v;

    for (;;) {
        g_mutex_lock(&vq->lock);
        bool quit = vq->quit;
        bool run = !quit && !vq->paused && vq->enabled && !vq->broken &&
                   !g_atomic_int_get(&vq->dev->quiesced);
        vq->busy = run;
        vq->want_slot = false;
        g_mutex_unlock(&vq->lock);
        if (quit) {
            break;
        }
        if (run) {
            queue_process(vq);
            g_mutex_lock(&vq->lock);
            vq->busy = false;
            g_cond_broadcast(&vq->cond);
            g_mutex_unlock(&vq->lock);
        }
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        if (pfd[0].revents & POLLIN) {
            eventfd_read(vq->kick_fd, &v);
        }
        if (pfd[1].revents & POLLIN) {
            eventfd_read(vq->wake_fd, &v);
        }
        if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            /* Not an eventfd we can wait on: wait for the control thread. */
            pfd[0].fd = -1;
        }
    }
    return NULL;
}

/* Caller holds vq->lock. */
static void queue_wait_idle_locked(VuQueue *vq)
{
    while (vq->busy || vq->in_flight > 0) {
        g_cond_wait(&vq->cond, &vq->lock);
    }
}

void vu_queue_pause(VuQueue *vq)
{
    g_mutex_lock(&vq->lock);
    vq->paused++;
    queue_wake(vq);
    queue_wait_idle_locked(vq);
    g_mutex_unlock(&vq->lock);
}

void vu_queue_resume(VuQueue *vq)
{
    g_mutex_lock(&vq->lock);
    g_assert(vq->paused > 0);
    vq->paused--;
    g_mutex_unlock(&vq->lock);
    queue_wake(vq);
}

bool vu_queue_start(VuQueue *vq, GError **errp)
{
    if (!vu_queue_map_rings(vq, vq->dev->mem)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "queue %u: ring addresses outside guest memory",
                    vq->idx);
        return false;
    }
    vq->used_idx = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
    vq->signalled_valid = false;
    vq->broken = false;
    vq->quit = false;
    vq->started = true;
    g_autofree char *name = g_strdup_printf("vu-q%u", vq->idx);
    vq->thread = g_thread_new(name, queue_thread, vq);
    return true;
}

void vu_queue_stop(VuQueue *vq)
{
    if (!vq->started) {
        return;
    }
    g_mutex_lock(&vq->lock);
    vq->quit = true;
    g_mutex_unlock(&vq->lock);
    queue_wake(vq);
    g_thread_join(vq->thread);
    vq->thread = NULL;
    g_mutex_lock(&vq->lock);
    queue_wait_idle_locked(vq);
    vq->started = false;
    g_mutex_unlock(&vq->lock);
    close_fd(&vq->kick_fd);
}

/* ---- device state -------------------------------------------------------- */

static void dev_queues_pause(VuDev *dev)
{
    for (unsigned i = 0; i < dev->nq; i++) {
        vu_queue_pause(&dev->qs[i]);
    }
}

static void dev_queues_resume(VuDev *dev)
{
    for (unsigned i = 0; i < dev->nq; i++) {
        vu_queue_resume(&dev->qs[i]);
    }
}

/* Back to the state of a new connection. */
static void dev_reset(VuDev *dev)
{
    for (unsigned i = 0; i < dev->nq; i++) {
        VuQueue *vq = &dev->qs[i];
        vu_queue_stop(vq);
        g_mutex_lock(&vq->lock);
        close_fd(&vq->call_fd);
        g_mutex_unlock(&vq->lock);
        close_fd(&vq->err_fd);
        vu_blk_req_pool_free(vq);
        vq->num = 0;
        vq->has_addr = false;
        vq->enabled = false;
        vq->last_avail = 0;
        vq->broken = false;
    }
    g_clear_pointer(&dev->mem, vu_mem_free);
    dev->features = 0;
    dev->protocol_features = 0;
}

/* ---- messages ------------------------------------------------------------ */

typedef struct VuConn {
    VuServer *srv;
    int fd;
} VuConn;

/* Wait until @fd is ready for @events or the export stops. */
static bool conn_wait(VuConn *c, short events)
{
    struct pollfd pfd[2] = {
        {.fd = c->fd, .events = events},
        {.fd = c->srv->stop_fd, .events = POLLIN},
    };

    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        if (pfd[1].revents) {
            return false;
        }
        return true;
    }
}

static void msg_take_fds(VuMsg *m, struct msghdr *mh)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
         cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < n; i++) {
            if (m->nfds < VU_MAX_FDS) {
                m->fds[m->nfds++] = fds[i];
            } else {
                close(fds[i]);
            }
        }
    }
}

static void msg_close_fds(VuMsg *m)
{
    for (unsigned i = 0; i < m->nfds; i++) {
        if (m->fds[i] >= 0) {
            close(m->fds[i]);
        }
    }
    m->nfds = 0;
}

/* Read exactly @len bytes into @buf, collecting passed fds into @m. */
static bool conn_read(VuConn *c, void *buf, size_t len, VuMsg *m)
{
    uint8_t *p = buf;
    union {
        char buf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } ctl;

    while (len > 0) {
        struct iovec iov = {.iov_base = p, .iov_len = len};
        struct msghdr mh = {
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = ctl.buf,
            .msg_controllen = sizeof(ctl.buf),
        };
        ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!conn_wait(c, POLLIN)) {
                return false;
            }
            continue;
        }
        if (n <= 0) {
            return false;
        }
        msg_take_fds(m, &mh);
        if (mh.msg_flags & MSG_CTRUNC) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

static bool conn_write(VuConn *c, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!conn_wait(c, POLLOUT)) {
                return false;
            }
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

static bool msg_reply(VuConn *c, VuMsg *m, const void *payload, uint32_t size)
{
    VuMsgHdr h = {
        .request = m->hdr.request,
        .flags = VU_FLAG_VERSION | VU_FLAG_REPLY,
        .size = size,
    };
    uint8_t buf[sizeof(h) + sizeof(m->p)];

    g_assert(size <= sizeof(m->p));
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), payload, size);
    return conn_write(c, buf, sizeof(h) + size);
}

static bool msg_reply_u64(VuConn *c, VuMsg *m, uint64_t v)
{
    return msg_reply(c, m, &v, sizeof(v));
}

/* The payload must be exactly @size bytes (at least, for @at_least). */
static bool msg_size_ok(VuMsg *m, size_t size, bool at_least)
{
    return at_least ? m->hdr.size >= size : m->hdr.size == size;
}

/* The queue named by a vring state/address message, or NULL. */
static VuQueue *msg_queue(VuDev *dev, uint32_t index)
{
    return index < dev->nq ? &dev->qs[index] : NULL;
}

static bool handle_mem_table(VuDev *dev, VuMsg *m, GError **errp)
{
    uint32_t n = m->p.mem.nregions;

    if (!msg_size_ok(m, 8, true) || n == 0 || n > VU_MAX_REGIONS ||
        m->hdr.size < 8 + n * sizeof(VuRegionDesc) || m->nfds != n) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "malformed memory table");
        return false;
    }
    VuMem *mem = vu_mem_map(m->p.mem.regions, n, m->fds, errp);
    m->nfds = 0;                      /* consumed */
    if (!mem) {
        return false;
    }
    /*
     * Replacement: no queue may look at the old mapping any more, so the
     * queues pause (in-flight requests finish) while the table changes.
     */
    dev_queues_pause(dev);
    VuMem *old = dev->mem;
    dev->mem = mem;
    for (unsigned i = 0; i < dev->nq; i++) {
        VuQueue *vq = &dev->qs[i];
        if (vq->started && !vu_queue_map_rings(vq, mem)) {
            vq->broken = true;
        }
    }
    dev_queues_resume(dev);
    vu_mem_free(old);
    return true;
}

static bool handle_vring_fd(VuDev *dev, VuMsg *m, GError **errp)
{
    VuQueue *vq = msg_size_ok(m, 8, false)
                      ? msg_queue(dev, m->p.u64 & VU_VRING_IDX_MASK)
                      : NULL;
    bool nofd = m->p.u64 & VU_VRING_NOFD_MASK;

    if (!vq || (nofd ? m->nfds != 0 : m->nfds != 1)) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "malformed vring fd message");
        return false;
    }
    int fd = nofd ? -1 : m->fds[0];
    m->nfds = 0;
    switch (m->hdr.request) {
    case VU_SET_VRING_CALL:
        g_mutex_lock(&vq->lock);
        close_fd(&vq->call_fd);
        vq->call_fd = fd;
        g_mutex_unlock(&vq->lock);
        return true;
    case VU_SET_VRING_ERR:
        close_fd(&vq->err_fd);
        vq->err_fd = fd;
        return true;
    default:
        break;
    }
    /* SET_VRING_KICK (re)starts the ring. */
    vu_queue_stop(vq);
    if (fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "queue %u: polling without a kick fd is not supported",
                    vq->idx);
        return false;
    }
    vq->kick_fd = fd;
    if (!dev->mem || !vq->has_addr || vq->num == 0) {
        close_fd(&vq->kick_fd);
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "queue %u: kick before memory table and ring setup",
                    vq->idx);
        return false;
    }
    if (!vu_queue_start(vq, errp)) {
        close_fd(&vq->kick_fd);
        return false;
    }
    return true;
}

static bool handle_vring_state(VuDev *dev, VuMsg *m, GError **errp)
{
    VuQueue *vq = msg_size_ok(m, sizeof(VuVringState), false)
                      ? msg_queue(dev, m->p.state.index)
                      : NULL;
    uint32_t num = vq ? m->p.state.num : 0;

    if (!vq) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "malformed vring state message");
        return false;
    }
    switch (m->hdr.request) {
    case VU_SET_VRING_NUM:
        if (vq->started || num == 0 || num > VU_MAX_QUEUE_SIZE ||
            (num & (num - 1))) {
            break;
        }
        if (num != vq->num) {
            vu_blk_req_pool_free(vq);
        }
        vq->num = num;
        return true;
    case VU_SET_VRING_BASE:
        if (vq->started || num > G_MAXUINT16) {
            break;
        }
        vq->last_avail = num;
        return true;
    case VU_SET_VRING_ENABLE:
        if (num > 1) {
            break;
        }
        g_mutex_lock(&vq->lock);
        vq->enabled = num;
        g_mutex_unlock(&vq->lock);
        queue_wake(vq);
        return true;
    }
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                "queue %u: invalid value %u for request %u", vq->idx, num,
                m->hdr.request);
    return false;
}

static bool handle_vring_addr(VuDev *dev, VuMsg *m, GError **errp)
{
    VuQueue *vq = msg_size_ok(m, sizeof(VuVringAddr), false)
                      ? msg_queue(dev, m->p.addr.index)
                      : NULL;

    if (!vq) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "malformed vring address message");
        return false;
    }
    /* Allowed while the ring runs (logging changes): pause around it. */
    vu_queue_pause(vq);
    vq->desc_ua = m->p.addr.desc;
    vq->avail_ua = m->p.addr.avail;
    vq->used_ua = m->p.addr.used;
    vq->has_addr = true;
    bool ok = !vq->started || vu_queue_map_rings(vq, dev->mem);
    if (vq->started) {
        vq->broken = !ok;
    }
    vu_queue_resume(vq);
    if (!ok) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_INVALID,
                    "queue %u: ring addresses outside guest memory",
                    vq->idx);
    }
    return ok;
}

/*
 * Handle one message.  Returns false to drop the connection; a request
 * that merely fails sets *@failed (REPLY_ACK reports it).
 */
static bool handle_msg(VuConn *c, VuMsg *m, bool *failed)
{
    VuDev *dev = c->srv->dev;
    g_autoptr(GError) err = NULL;
    bool ok = true;

    switch (m->hdr.request) {
    case VU_GET_FEATURES:
        return msg_reply_u64(c, m, vu_blk_features(dev));
    case VU_SET_FEATURES:
        if (!msg_size_ok(m, 8, false) ||
            (m->p.u64 & ~vu_blk_features(dev))) {
            ok = false;
            break;
        }
        dev->features = m->p.u64;
        if (!vu_has_feature(dev, VU_F_PROTOCOL_FEATURES)) {
            /* Without protocol features rings are enabled at once. */
            for (unsigned i = 0; i < dev->nq; i++) {
                g_mutex_lock(&dev->qs[i].lock);
                dev->qs[i].enabled = true;
                g_mutex_unlock(&dev->qs[i].lock);
                queue_wake(&dev->qs[i]);
            }
        }
        break;
    case VU_GET_PROTOCOL_FEATURES:
        return msg_reply_u64(c, m, VU_PROTOCOL_FEATURES);
    case VU_SET_PROTOCOL_FEATURES:
        if (!msg_size_ok(m, 8, false) || (m->p.u64 & ~VU_PROTOCOL_FEATURES)) {
            ok = false;
            break;
        }
        dev->protocol_features = m->p.u64;
        break;
    case VU_SET_OWNER:
        break;
    case VU_RESET_OWNER:
        for (unsigned i = 0; i < dev->nq; i++) {
            vu_queue_stop(&dev->qs[i]);
        }
        break;
    case VU_GET_QUEUE_NUM:
        return msg_reply_u64(c, m, dev->nq);
    case VU_SET_MEM_TABLE:
        ok = handle_mem_table(dev, m, &err);
        break;
    case VU_SET_VRING_NUM:
    case VU_SET_VRING_BASE:
    case VU_SET_VRING_ENABLE:
        ok = handle_vring_state(dev, m, &err);
        break;
    case VU_SET_VRING_ADDR:
        ok = handle_vring_addr(dev, m, &err);
        break;
    case VU_GET_VRING_BASE: {
        VuQueue *vq = msg_size_ok(m, sizeof(VuVringState), false)
                          ? msg_queue(dev, m->p.state.index)
                          : NULL;
        if (!vq) {
            return false;             /* it needs a reply we cannot give */
        }
        vu_queue_stop(vq);
        VuVringState st = {.index = vq->idx, .num = vq->last_avail};
        return msg_reply(c, m, &st, sizeof(st));
    }
    case VU_SET_VRING_KICK:
    case VU_SET_VRING_CALL:
    case VU_SET_VRING_ERR:
        ok = handle_vring_fd(dev, m, &err);
        break;
    case VU_GET_CONFIG: {
        VuConfigMsg cfg = {0};
        if (!msg_size_ok(m, 12, true) ||
            m->p.config.size > VU_MAX_CONFIG_SIZE ||
            m->p.config.offset > VU_MAX_CONFIG_SIZE - m->p.config.size) {
            /* An empty payload tells the front-end it failed. */
            return msg_reply(c, m, &cfg, 0);
        }
        cfg.offset = m->p.config.offset;
        cfg.size = m->p.config.size;
        cfg.flags = m->p.config.flags;
        vu_blk_get_config(dev, &cfg);
        return msg_reply(c, m, &cfg, 12 + cfg.size);
    }
    case VU_SET_CONFIG:
        ok = msg_size_ok(m, 12, true) && m->p.config.size <= 8 &&
             m->hdr.size >= 12 + m->p.config.size &&
             vu_blk_set_config(dev, &m->p.config);
        break;
    default:
        ok = false;
        break;
    }
    if (err) {
        g_warning("vhost-user-blk export '%s': %s", c->srv->exp->id,
                  err->message);
    }
    *failed = !ok;
    return true;
}

static bool conn_serve_one(VuConn *c)
{
    VuMsg *m = &c->srv->msg;
    bool failed = false;

    m->nfds = 0;
    if (!conn_read(c, &m->hdr, sizeof(m->hdr), m)) {
        goto drop;
    }
    if ((m->hdr.flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION ||
        m->hdr.size > sizeof(m->p)) {
        goto drop;
    }
    memset(&m->p, 0, sizeof(m->p));
    if (m->hdr.size > 0 && !conn_read(c, &m->p, m->hdr.size, m)) {
        goto drop;
    }
    bool need_ack = (m->hdr.flags & VU_FLAG_NEED_REPLY) &&
                    (c->srv->dev->protocol_features &
                     (1ull << VU_PROTOCOL_F_REPLY_ACK));
    uint32_t req = m->hdr.request;
    if (!handle_msg(c, m, &failed)) {
        goto drop;
    }
    msg_close_fds(m);
    /* Requests with their own reply never get an extra ack. */
    bool replied = req == VU_GET_FEATURES || req == VU_GET_PROTOCOL_FEATURES ||
                   req == VU_GET_QUEUE_NUM || req == VU_GET_VRING_BASE ||
                   req == VU_GET_CONFIG;
    if (need_ack && !replied) {
        return msg_reply_u64(c, m, failed ? 1 : 0);
    }
    return true;

drop:
    msg_close_fds(m);
    return false;
}

/* ---- the control thread ------------------------------------------------- */

static gpointer control_thread(gpointer opaque)
{
    VuServer *srv = opaque;
    struct pollfd pfd[2] = {
        {.fd = srv->listen_fd, .events = POLLIN},
        {.fd = srv->stop_fd, .events = POLLIN},
    };

    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
            break;
        }
        if (pfd[1].revents) {
            break;
        }
        if (!(pfd[0].revents & POLLIN)) {
            continue;
        }
        int fd = accept4(srv->listen_fd, NULL, NULL,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            continue;
        }
        VuConn c = {.srv = srv, .fd = fd};
        g_atomic_int_set(&srv->connected, 1);
        while (conn_serve_one(&c)) {
        }
        dev_reset(srv->dev);
        close(fd);
        g_atomic_int_set(&srv->connected, 0);
    }
    return NULL;
}

bool vu_server_start(VuServer *srv, GError **errp)
{
    VuDev *dev = srv->dev;

    for (unsigned i = 0; i < dev->nq; i++) {
        VuQueue *vq = &dev->qs[i];
        vq->dev = dev;
        vq->idx = i;
        g_mutex_init(&vq->lock);
        g_cond_init(&vq->cond);
        vq->kick_fd = vq->call_fd = vq->err_fd = -1;
        vq->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    srv->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (srv->stop_fd < 0) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "eventfd: %s", g_strerror(errno));
        return false;
    }
    srv->thread = g_thread_new("vu-ctl", control_thread, srv);
    return true;
}

void vu_server_stop(VuServer *srv)
{
    VuDev *dev = srv->dev;

    if (srv->thread) {
        eventfd_write(srv->stop_fd, 1);
        g_thread_join(srv->thread);
        srv->thread = NULL;
    }
    close_fd(&srv->stop_fd);
    for (unsigned i = 0; i < dev->nq; i++) {
        VuQueue *vq = &dev->qs[i];
        close_fd(&vq->wake_fd);
        g_mutex_clear(&vq->lock);
        g_cond_clear(&vq->cond);
    }
}
