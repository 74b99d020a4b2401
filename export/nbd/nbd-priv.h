/*
 * nbd-priv.h: NBD protocol constants and the server's internal structures.
 *
 * Protocol: the NBD protocol specification (doc/proto.md of the
 * NetworkBlockDevice/nbd project), fixed newstyle negotiation, structured
 * replies, the base:allocation metadata context; no extended headers.
 *
 *   server.c  nbd-server-start/stop, accept thread, the nbd export type
 *   listen.c  listening sockets (unix, inet)
 *   chan.c    the byte channel of one connection: plain socket or gnutls
 *   proto.c   the handshake: greeting, options, STARTTLS, GO/INFO/LIST
 *   conn.c    transmission: reader thread, worker pool, replies
 *
 * Threads of one connection:
 *
 *   conn thread: handshake ─> loop { read request ─> push to worker pool }
 *   worker pool (shared by the server): do I/O ─> reply under send_lock
 *
 * Replies may leave in any order (cookies match them); a per-connection
 * send lock keeps each reply contiguous on the wire.
 */
#ifndef LB_EXPORT_NBD_NBD_PRIV_H
#define LB_EXPORT_NBD_NBD_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <glib.h>
#include <gnutls/gnutls.h>

#include "lb/block.h"
#include "lb/object.h"
#include "../export-priv.h"

/* Handshake (all integers big-endian on the wire). */
#define NBD_MAGIC                 0x4e42444d41474943ULL  /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC            0x49484156454F5054ULL  /* "IHAVEOPT" */
#define NBD_REP_MAGIC             0x0003e889045565a9ULL
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

enum {
    NBD_OPT_EXPORT_NAME = 1,
    NBD_OPT_ABORT = 2,
    NBD_OPT_LIST = 3,
    NBD_OPT_STARTTLS = 5,
    NBD_OPT_INFO = 6,
    NBD_OPT_GO = 7,
    NBD_OPT_STRUCTURED_REPLY = 8,
    NBD_OPT_LIST_META_CONTEXT = 9,
    NBD_OPT_SET_META_CONTEXT = 10,
};

#define NBD_REP_ERR_BIT           (1u << 31)
enum {
    NBD_REP_ACK = 1,
    NBD_REP_SERVER = 2,
    NBD_REP_INFO = 3,
    NBD_REP_META_CONTEXT = 4,
    NBD_REP_ERR_UNSUP = NBD_REP_ERR_BIT | 1,
    NBD_REP_ERR_POLICY = NBD_REP_ERR_BIT | 2,
    NBD_REP_ERR_INVALID = NBD_REP_ERR_BIT | 3,
    NBD_REP_ERR_PLATFORM = NBD_REP_ERR_BIT | 4,
    NBD_REP_ERR_TLS_REQD = NBD_REP_ERR_BIT | 5,
    NBD_REP_ERR_UNKNOWN = NBD_REP_ERR_BIT | 6,
    NBD_REP_ERR_SHUTDOWN = NBD_REP_ERR_BIT | 7,
    NBD_REP_ERR_TOO_BIG = NBD_REP_ERR_BIT | 9,
};

enum {
    NBD_INFO_EXPORT = 0,
    NBD_INFO_NAME = 1,
    NBD_INFO_DESCRIPTION = 2,
    NBD_INFO_BLOCK_SIZE = 3,
};

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS         (1u << 0)
#define NBD_FLAG_READ_ONLY         (1u << 1)
#define NBD_FLAG_SEND_FLUSH        (1u << 2)
#define NBD_FLAG_SEND_FUA          (1u << 3)
#define NBD_FLAG_SEND_TRIM         (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF           (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN    (1u << 8)
#define NBD_FLAG_SEND_CACHE        (1u << 10)

/* Requests and replies. */
#define NBD_REQUEST_MAGIC         0x25609513u
#define NBD_SIMPLE_REPLY_MAGIC    0x67446698u
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efu
#define NBD_REQUEST_SIZE          28
#define NBD_SIMPLE_REPLY_SIZE     16
#define NBD_CHUNK_HEADER_SIZE     20

enum {
    NBD_CMD_READ = 0,
    NBD_CMD_WRITE = 1,
    NBD_CMD_DISC = 2,
    NBD_CMD_FLUSH = 3,
    NBD_CMD_TRIM = 4,
    NBD_CMD_CACHE = 5,
    NBD_CMD_WRITE_ZEROES = 6,
    NBD_CMD_BLOCK_STATUS = 7,
};
#define NBD_CMD_FLAG_FUA          (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE      (1u << 1)
#define NBD_CMD_FLAG_DF           (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE      (1u << 3)

#define NBD_REPLY_FLAG_DONE       (1u << 0)
#define NBD_REPLY_TYPE_NONE       0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR      ((1u << 15) | 1)

/* The one metadata context we offer. */
#define NBD_META_ALLOCATION       "base:allocation"
#define NBD_META_ID_ALLOCATION    1

/* Errors on the wire (fixed values, not the host's errno). */
enum {
    NBD_EPERM = 1,
    NBD_EIO = 5,
    NBD_ENOMEM = 12,
    NBD_EINVAL = 22,
    NBD_ENOSPC = 28,
    NBD_EOVERFLOW = 75,
    NBD_ENOTSUP = 95,
    NBD_ESHUTDOWN = 108,
};

/* Limits. */
#define NBD_MAX_BLOCK             (32u * 1024 * 1024)   /* max payload */
#define NBD_PREF_BLOCK            4096u
#define NBD_MAX_STRING            4096u    /* names, descriptions */
/* Option payloads read whole: GO with every info request fits. */
#define NBD_MAX_OPTION            (256u * 1024)
#define NBD_MAX_INFLIGHT          64u      /* requests per connection */
#define NBD_MAX_INFLIGHT_BYTES    (64u * 1024 * 1024)
#define NBD_HANDSHAKE_MAX_DEFAULT 10       /* seconds, as QEMU */

/* Big-endian fields of handshake and reply headers (unaligned buffers). */
static inline void put16(uint8_t *p, uint16_t v)
{
    v = GUINT16_TO_BE(v);
    memcpy(p, &v, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

static inline uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return GUINT16_FROM_BE(v);
}

static inline uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return GUINT32_FROM_BE(v);
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return GUINT64_FROM_BE(v);
}

/* ---- chan.c: the byte stream of one connection ------------------------- */

#define NBD_CHAN_RBUF 65536

typedef struct NbdChan {
    int fd;
    gnutls_session_t tls;             /* NULL until STARTTLS */
    LbTlsCreds *creds;                /* what @tls uses, referenced */
    /*
     * Read buffer: many small requests arrive per recv().  Only the
     * connection thread reads, so it needs no lock.
     */
    size_t rpos, rlen;
    uint8_t *rbuf;
} NbdChan;

/* 0, or -errno (-ECONNRESET on EOF). */
int nbd_chan_read(NbdChan *ch, void *buf, size_t len);
/* Write every byte of @iov; 0 or -errno.  Modifies @iov. */
int nbd_chan_writev(NbdChan *ch, struct iovec *iov, int iovcnt);
int nbd_chan_write(NbdChan *ch, const void *buf, size_t len);
/* Discard @len incoming bytes. */
int nbd_chan_skip(NbdChan *ch, uint64_t len);
/* Run the server side TLS handshake on the socket; false + errp. */
/*
 * Run the server side TLS handshake on the socket with @creds (x509, psk
 * or anon); the channel takes over the reference, held until close.
 */
bool nbd_chan_start_tls(NbdChan *ch, LbTlsCreds *creds, GError **errp);
/*
 * (transfer full) who the TLS client is: the distinguished name of its
 * x509 certificate or its PSK username; NULL without TLS or certificate.
 */
char *nbd_chan_tls_identity(NbdChan *ch);
void nbd_chan_close(NbdChan *ch);

/* ---- listen.c ---------------------------------------------------------- */

#define NBD_MAX_LISTEN 8

typedef struct NbdListeners {
    int fds[NBD_MAX_LISTEN];
    unsigned n;
    bool tcp;                         /* set TCP_NODELAY on accepted sockets */
    char *unix_path;                  /* unlinked on close */
} NbdListeners;

/*
 * Listen on @addr: QMP's SocketAddressLegacy ({"type": "unix", "data":
 * {"path": ..}}) or the flat form of the command line (addr.type=unix,
 * addr.path=..); types unix and inet.
 */
bool nbd_listeners_open(NbdListeners *ls, LbOpts *addr, GError **errp);
void nbd_listeners_close(NbdListeners *ls);

/* ---- server.c ---------------------------------------------------------- */

typedef struct NbdServer NbdServer;
typedef struct NbdConn NbdConn;

/* The state of one nbd export (LbExport.impl). */
typedef struct NbdExport {
    LbExport *exp;
    char *name;
    char *description;                /* may be NULL */
    unsigned n_clients;               /* guarded by the server lock */
    bool removed;                     /* no new clients */
} NbdExport;

/*
 * Look up @name for a connection and count it as a client; NULL if there is
 * no such export.  An empty name picks the only export when there is one.
 */
NbdExport *nbd_server_export_get(NbdServer *srv, const char *name);
void nbd_server_export_put(NbdServer *srv, NbdExport *nexp);
/*
 * Set conn->nexp (NULL: none).  Export deletion reads it from the main
 * loop under the server lock to kick the export's clients, so the
 * connection thread writes it under that lock too.
 */
void nbd_server_conn_set_export(NbdServer *srv, NbdConn *conn,
                                NbdExport *nexp);
/* (transfer full) list of nbd export names and descriptions for LIST. */
GPtrArray *nbd_server_export_names(NbdServer *srv, GPtrArray **descs);
/* Whether clients must STARTTLS (the server has tls-creds). */
bool nbd_server_tls_required(NbdServer *srv);
/* (transfer full) the server's TLS credentials, or NULL (none, or gone). */
LbTlsCreds *nbd_server_tls(NbdServer *srv);
/*
 * tls-authz: whether the client of @ch, just through the TLS handshake, is
 * allowed (always, without tls-authz); false + errp when refused.
 */
bool nbd_server_tls_authorize(NbdServer *srv, NbdChan *ch, GError **errp);
GThreadPool *nbd_server_pool(NbdServer *srv);
/*
 * The handshake of @conn is over: handshake-max-seconds no longer applies
 * (until then the accept thread cuts the connection off at the deadline).
 */
void nbd_server_handshake_done(NbdServer *srv, NbdConn *conn);

/* ---- conn.c / proto.c -------------------------------------------------- */

struct NbdConn {
    NbdServer *srv;
    NbdChan ch;
    gint64 handshake_deadline;        /* monotonic µs, 0: none (srv lock) */
    NbdExport *nexp;                  /* set once GO / EXPORT_NAME succeed;
                                         written under the server lock */
    bool structured;
    bool no_zeroes;
    bool meta_alloc;                  /* base:allocation selected */
    char *meta_export;                /* ... for this export name */
    uint32_t min_block;

    GMutex send_lock;                 /* one reply at a time on the wire */
    gint small_us;                    /* average µs of small requests */
    uint8_t *obuf;                    /* replies held back, under send_lock */
    size_t olen;
    GMutex lock;                      /* in-flight accounting below */
    GCond cond;
    unsigned waiters;                 /* threads in g_cond_wait(cond) */
    unsigned inflight;
    size_t inflight_bytes;
    bool dead;                        /* stop replying, drain */
    GSList *free_reqs;                /* recycled NbdReq, guarded by lock */
    unsigned n_free_reqs;
};

/*
 * The handshake.  Returns true when the connection enters transmission
 * (conn->nexp set), false when it ended (abort, error, client gone).
 */
bool nbd_proto_negotiate(NbdConn *conn);
/* Transmission flags for @nexp as seen by @conn. */
uint16_t nbd_proto_export_flags(NbdConn *conn, NbdExport *nexp);

NbdConn *nbd_conn_new(NbdServer *srv, int fd);
/* The connection thread body: handshake, transmission, teardown. */
void nbd_conn_run(NbdConn *conn);
void nbd_conn_free(NbdConn *conn);
/* Wake the connection up for teardown: shut the socket down. */
void nbd_conn_kick(NbdConn *conn);
/* GThreadPool worker function (data: NbdReq, user_data: unused). */
void nbd_conn_worker(gpointer data, gpointer user_data);

#endif /* LB_EXPORT_NBD_NBD_PRIV_H */
