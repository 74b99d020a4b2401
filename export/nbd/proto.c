/*
 * export/nbd/proto.c: the NBD handshake (fixed newstyle negotiation).
 *
 * Spec: NBD protocol, "Handshake" / "Option types" / "Option reply types".
 *
 *   server: NBDMAGIC IHAVEOPT flags(FIXED_NEWSTYLE|NO_ZEROES)
 *   client: flags
 *   loop:   client option (IHAVEOPT, opt, len, data) -> server replies
 *           until GO or EXPORT_NAME enters transmission, or ABORT/EOF.
 *
 * Supported options: EXPORT_NAME, ABORT, LIST, STARTTLS, INFO, GO,
 * STRUCTURED_REPLY, LIST/SET_META_CONTEXT (base:allocation, answered from
 * the node's block status: holes of a raw/file export are reported, luks
 * payload is all data); everything else gets NBD_REP_ERR_UNSUP.  A server with
 * TLS credentials answers every option but STARTTLS and ABORT with
 * NBD_REP_ERR_TLS_REQD (and drops EXPORT_NAME, which has no error reply)
 * until the TLS session is up.
 *
 * Block sizes: the minimum advertised is the node's alignment (a luks
 * node's sector size), preferred 4096, maximum 32 MiB.  A client that asked
 * for NBD_INFO_BLOCK_SIZE in GO agreed to those constraints and gets EINVAL
 * for a misaligned request; any other client (EXPORT_NAME, GO without the
 * request) may send any offset and length, which the block layer handles by
 * read-modify-write, so no client needs NBD_REP_ERR_BLOCK_SIZE_REQD.
 *
 * Multi-conn: NBD_FLAG_CAN_MULTI_CONN is advertised for every export.  All
 * connections of an export share one node whose I/O functions are
 * thread-safe and which keeps no per-connection cache, so a write completed
 * on one connection is visible to reads on every other, and a FLUSH on any
 * connection makes every write that completed before it durable (the node
 * flush syncs the whole file).  That is exactly the spec's condition.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "lb/export.h"
#include "nbd-priv.h"

uint16_t nbd_proto_export_flags(NbdConn *conn, NbdExport *nexp)
{
    uint16_t flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
                     NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN |
                     NBD_FLAG_SEND_CACHE;

    /*
     * A structured read reply is always one OFFSET_DATA chunk here, so
     * "don't fragment" costs nothing; QEMU offers it too.  The spec only
     * allows the flag once structured replies are negotiated.
     */
    if (conn->structured) {
        flags |= NBD_FLAG_SEND_DF;
    }

    if (nexp->exp->writable) {
        flags |= NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES;
    } else {
        flags |= NBD_FLAG_READ_ONLY;
    }
    return flags;
}

static int opt_reply(NbdConn *conn, uint32_t opt, uint32_t type,
                     const void *data, uint32_t len)
{
    uint8_t hdr[20];
    put64(hdr, NBD_REP_MAGIC);
    put32(hdr + 8, opt);
    put32(hdr + 12, type);
    put32(hdr + 16, len);
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = sizeof(hdr) },
        { .iov_base = (void *)data, .iov_len = len },
    };
    return nbd_chan_writev(&conn->ch, iov, len ? 2 : 1);
}

/* QEMU's names of the options (nbd_opt_lookup), for error messages. */
static const char *opt_name(uint32_t opt)
{
    static const char *const names[] = {
        [NBD_OPT_EXPORT_NAME] = "export name",
        [NBD_OPT_ABORT] = "abort",
        [NBD_OPT_LIST] = "list",
        [4] = "peek export",
        [NBD_OPT_STARTTLS] = "starttls",
        [NBD_OPT_INFO] = "info",
        [NBD_OPT_GO] = "go",
        [NBD_OPT_STRUCTURED_REPLY] = "structured reply",
        [NBD_OPT_LIST_META_CONTEXT] = "list meta context",
        [NBD_OPT_SET_META_CONTEXT] = "set meta context",
        [11] = "extended headers",
    };
    return opt < G_N_ELEMENTS(names) && names[opt] ? names[opt] : "<unknown>";
}

/*
 * An error reply carrying a message, worded as QEMU words it: clients such
 * as qemu-io and nbdinfo show it to the user.
 */
static int opt_err(NbdConn *conn, uint32_t opt, uint32_t type,
                   const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static int opt_err(NbdConn *conn, uint32_t opt, uint32_t type,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return opt_reply(conn, opt, type, msg, strlen(msg));
}

/* An option that takes no data got some. */
static int opt_err_length(NbdConn *conn, uint32_t opt)
{
    return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                   "option '%s' has unexpected length", opt_name(opt));
}

static int opt_err_unknown(NbdConn *conn, uint32_t opt, const char *name)
{
    return opt_err(conn, opt, NBD_REP_ERR_UNKNOWN,
                   "export '%s' not present", name);
}

static uint32_t conn_min_block(NbdExport *nexp)
{
    unsigned align = lb_node_alignment(nexp->exp->node);
    return align ? align : 1;
}

/* NBD_OPT_LIST: one NBD_REP_SERVER per export, then ACK. */
static int opt_list(NbdConn *conn, uint32_t opt)
{
    GPtrArray *descs = NULL;
    g_autoptr(GPtrArray) names = nbd_server_export_names(conn->srv, &descs);
    int r = 0;

    for (guint i = 0; i < names->len && r == 0; i++) {
        const char *name = names->pdata[i];
        const char *desc = descs->pdata[i] ? descs->pdata[i] : "";
        size_t nlen = strlen(name), dlen = strlen(desc);
        g_autofree uint8_t *buf = g_malloc(4 + nlen + dlen);
        put32(buf, nlen);
        memcpy(buf + 4, name, nlen);
        memcpy(buf + 4 + nlen, desc, dlen);
        r = opt_reply(conn, opt, NBD_REP_SERVER, buf, 4 + nlen + dlen);
    }
    g_ptr_array_unref(descs);
    return r < 0 ? r : opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
}

/* The NBD_INFO_* replies of INFO/GO for @nexp. */
/* One NBD_INFO_NAME / NBD_INFO_DESCRIPTION reply. */
static int opt_send_info_str(NbdConn *conn, uint32_t opt, uint16_t type,
                             const char *str)
{
    uint8_t buf[2 + NBD_MAX_STRING];
    size_t n = MIN(strlen(str), NBD_MAX_STRING);

    put16(buf, type);
    memcpy(buf + 2, str, n);
    return opt_reply(conn, opt, NBD_REP_INFO, buf, 2 + n);
}

/*
 * The NBD_INFO_* replies of INFO/GO for @nexp, in QEMU's order: the name
 * when asked for, the description whenever there is one, block sizes
 * always (clients that ignore them still get correct errors), and the
 * export's size and flags last.
 */
static int opt_send_infos(NbdConn *conn, uint32_t opt, NbdExport *nexp,
                          int64_t size, const uint8_t *reqs, unsigned nreqs)
{
    uint8_t buf[14];
    bool want_name = false;
    int r = 0;

    for (unsigned i = 0; i < nreqs; i++) {
        want_name |= get16(reqs + 2 * i) == NBD_INFO_NAME;
    }
    if (want_name) {
        r = opt_send_info_str(conn, opt, NBD_INFO_NAME, nexp->name);
    }
    if (r == 0 && nexp->description) {
        r = opt_send_info_str(conn, opt, NBD_INFO_DESCRIPTION,
                              nexp->description);
    }
    if (r < 0) {
        return r;
    }
    uint32_t min = conn_min_block(nexp);
    put16(buf, NBD_INFO_BLOCK_SIZE);
    put32(buf + 2, min);
    put32(buf + 6, MAX(NBD_PREF_BLOCK, min));
    put32(buf + 10, NBD_MAX_BLOCK);
    if ((r = opt_reply(conn, opt, NBD_REP_INFO, buf, 14)) < 0) {
        return r;
    }
    put16(buf, NBD_INFO_EXPORT);
    put64(buf + 2, size);
    put16(buf + 10, nbd_proto_export_flags(conn, nexp));
    return opt_reply(conn, opt, NBD_REP_INFO, buf, 12);
}

/*
 * NBD_OPT_INFO / NBD_OPT_GO.  Returns 1 when GO entered transmission, 0 to
 * keep negotiating, -errno when the connection is gone.
 */
static int opt_info_go(NbdConn *conn, uint32_t opt, const uint8_t *data,
                       uint32_t len)
{
    if (len < 4) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Inconsistent lengths in option %s", opt_name(opt));
    }
    uint32_t nlen = get32(data);
    if (nlen > NBD_MAX_STRING) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Invalid name length: %" G_GUINT32_FORMAT, nlen);
    }
    uint16_t nreqs = nlen <= len - 4 && len - 4 - nlen >= 2
                         ? get16(data + 4 + nlen) : 0;
    if (nlen > len - 4 || len - 4 - nlen < 2 ||
        4 + nlen + 2 + 2u * nreqs != len) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Inconsistent lengths in option %s", opt_name(opt));
    }
    g_autofree char *name = g_strndup((const char *)data + 4, nlen);
    NbdExport *nexp = nbd_server_export_get(conn->srv, name);
    if (!nexp) {
        return opt_err_unknown(conn, opt, name);
    }
    int64_t size = lb_node_length(nexp->exp->node);
    int r;
    if (size < 0) {
        r = opt_err(conn, opt, NBD_REP_ERR_SHUTDOWN, "export '%s' failed: %s",
                    name, g_strerror((int)-size));
    } else {
        r = opt_send_infos(conn, opt, nexp, size, data + 6 + nlen, nreqs);
        if (r == 0) {
            r = opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
        }
    }
    if (r == 0 && opt == NBD_OPT_GO && size >= 0) {
        nbd_server_conn_set_export(conn->srv, conn, nexp);
        /* A context selected for another export does not carry over. */
        if (conn->meta_alloc && strcmp(conn->meta_export, name) != 0) {
            conn->meta_alloc = false;
        }
        conn->min_block = 1;
        for (unsigned i = 0; i < nreqs; i++) {
            if (get16(data + 6 + nlen + 2 * i) == NBD_INFO_BLOCK_SIZE) {
                conn->min_block = conn_min_block(nexp);
            }
        }
        return 1;
    }
    nbd_server_export_put(conn->srv, nexp);
    return r;
}

/* NBD_OPT_EXPORT_NAME: no error reply exists; unknown names hang up. */
static int opt_export_name(NbdConn *conn, const uint8_t *data, uint32_t len)
{
    g_autofree char *name = g_strndup((const char *)data, len);
    NbdExport *nexp = nbd_server_export_get(conn->srv, name);
    if (!nexp) {
        return -ENOENT;
    }
    int64_t size = lb_node_length(nexp->exp->node);
    if (size < 0) {
        nbd_server_export_put(conn->srv, nexp);
        return (int)size;
    }
    uint8_t buf[10 + 124] = { 0 };
    put64(buf, size);
    put16(buf + 8, nbd_proto_export_flags(conn, nexp));
    int r = nbd_chan_write(&conn->ch, buf, conn->no_zeroes ? 10 : 134);
    if (r < 0) {
        nbd_server_export_put(conn->srv, nexp);
        return r;
    }
    nbd_server_conn_set_export(conn->srv, conn, nexp);
    conn->min_block = 1;
    conn->meta_alloc = false;         /* EXPORT_NAME ends negotiation bare */
    return 1;
}

/*
 * NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT.  Only
 * "base:allocation" exists; LIST also matches it for no query at all and
 * for the "base:" namespace query.  SET replaces any earlier selection.
 */
static int opt_meta_context(NbdConn *conn, uint32_t opt, const uint8_t *data,
                            uint32_t len)
{
    bool set = opt == NBD_OPT_SET_META_CONTEXT;
    static const char alloc[] = NBD_META_ALLOCATION;
    const size_t alen = sizeof(alloc) - 1;

    if (set && !conn->structured) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "request option '%s' when structured reply is not "
                       "negotiated", opt_name(opt));
    }
    if (len < 8) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Inconsistent lengths in option %s", opt_name(opt));
    }
    uint32_t nlen = get32(data);
    if (nlen > NBD_MAX_STRING) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Invalid name length: %" G_GUINT32_FORMAT, nlen);
    }
    if (nlen > len - 8) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Inconsistent lengths in option %s", opt_name(opt));
    }
    g_autofree char *name = g_strndup((const char *)data + 4, nlen);
    uint32_t nq = get32(data + 4 + nlen);
    const uint8_t *p = data + 8 + nlen, *end = data + len;
    bool match = nq == 0 && !set;
    for (uint32_t i = 0; i < nq; i++) {
        if (end - p < 4 || get32(p) > (size_t)(end - p - 4)) {
            return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                           "Inconsistent lengths in option %s",
                           opt_name(opt));
        }
        uint32_t qlen = get32(p);
        const char *q = (const char *)p + 4;
        match |= qlen == alen && memcmp(q, alloc, alen) == 0;
        match |= !set && qlen == 5 && memcmp(q, "base:", 5) == 0;
        p += 4 + qlen;
    }
    if (p != end) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                       "Inconsistent lengths in option %s", opt_name(opt));
    }
    NbdExport *nexp = nbd_server_export_get(conn->srv, name);
    if (!nexp) {
        return opt_err_unknown(conn, opt, name);
    }
    nbd_server_export_put(conn->srv, nexp);
    if (set) {
        conn->meta_alloc = match;
        g_free(conn->meta_export);
        conn->meta_export = g_steal_pointer(&name);
    }
    if (match) {
        uint8_t buf[4 + sizeof(alloc)];
        put32(buf, NBD_META_ID_ALLOCATION);
        memcpy(buf + 4, alloc, alen);
        int r = opt_reply(conn, opt, NBD_REP_META_CONTEXT, buf, 4 + alen);
        if (r < 0) {
            return r;
        }
    }
    return opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
}

static int opt_starttls(NbdConn *conn, uint32_t opt, uint32_t len)
{
    g_autoptr(LbTlsCreds) creds = nbd_server_tls(conn->srv);

    if (len != 0) {
        return opt_err_length(conn, opt);
    }
    if (conn->ch.tls) {
        return opt_err(conn, opt, NBD_REP_ERR_INVALID, "TLS already enabled");
    }
    if (!creds) {
        return opt_err(conn, opt, NBD_REP_ERR_POLICY, "TLS not configured");
    }
    int r = opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
    if (r < 0) {
        return r;
    }
    g_autoptr(GError) err = NULL;
    if (!nbd_chan_start_tls(&conn->ch, g_steal_pointer(&creds), &err)) {
        g_debug("nbd: %s", err->message);
        return -EPROTO;
    }
    if (!nbd_server_tls_authorize(conn->srv, &conn->ch, &err)) {
        g_printerr("option negotiation failed: %s\n", err->message);
        return -EACCES;
    }
    /* State negotiated in plaintext does not survive STARTTLS. */
    conn->structured = false;
    conn->meta_alloc = false;
    return 0;
}

/* One option: 1 = transmission, 0 = continue, -errno = end. */
static int opt_handle(NbdConn *conn, uint32_t opt, const uint8_t *data,
                      uint32_t len)
{
    bool tls_reqd = nbd_server_tls_required(conn->srv) && !conn->ch.tls;

    if (tls_reqd && opt != NBD_OPT_STARTTLS && opt != NBD_OPT_ABORT) {
        if (opt == NBD_OPT_EXPORT_NAME) {
            return -EACCES;
        }
        return opt_err(conn, opt, NBD_REP_ERR_TLS_REQD,
                       "Option 0x%" G_GINT32_MODIFIER "x not permitted "
                       "before TLS", opt);
    }
    switch (opt) {
    case NBD_OPT_EXPORT_NAME:
        return opt_export_name(conn, data, len);
    case NBD_OPT_ABORT:
        opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
        return -ECONNRESET;
    case NBD_OPT_LIST:
        if (len != 0) {
            return opt_err_length(conn, opt);
        }
        return opt_list(conn, opt);
    case NBD_OPT_STARTTLS:
        return opt_starttls(conn, opt, len);
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        return opt_info_go(conn, opt, data, len);
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        return opt_meta_context(conn, opt, data, len);
    case NBD_OPT_STRUCTURED_REPLY:
        if (len != 0) {
            return opt_err_length(conn, opt);
        }
        if (conn->structured) {
            return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                           "structured reply already negotiated");
        }
        conn->structured = true;
        return opt_reply(conn, opt, NBD_REP_ACK, NULL, 0);
    default:
        return opt_err(conn, opt, NBD_REP_ERR_UNSUP,
                       "Unsupported option %" G_GUINT32_FORMAT " (%s)", opt,
                       opt_name(opt));
    }
}

/*
 * An option longer than any valid one: its data is skipped unread, and
 * the reply is the one QEMU gives after reading it (QEMU streams options
 * of any length): a name length that is too long, data for an option that
 * takes none, else NBD_REP_ERR_TOO_BIG.
 */
static int opt_too_big(NbdConn *conn, uint32_t opt, uint32_t len)
{
    uint8_t first[4];

    if (opt == NBD_OPT_EXPORT_NAME || nbd_chan_read(&conn->ch, first, 4) < 0 ||
        nbd_chan_skip(&conn->ch, len - 4) < 0) {
        return -EPROTO;
    }
    if (nbd_server_tls_required(conn->srv) && !conn->ch.tls &&
        opt != NBD_OPT_STARTTLS && opt != NBD_OPT_ABORT) {
        return opt_handle(conn, opt, NULL, 0);      /* TLS required */
    }
    switch (opt) {
    case NBD_OPT_ABORT:
    case NBD_OPT_LIST:
    case NBD_OPT_STARTTLS:
    case NBD_OPT_STRUCTURED_REPLY:
        return opt_err_length(conn, opt);
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        if (get32(first) > NBD_MAX_STRING) {
            return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                           "Invalid name length: %" G_GUINT32_FORMAT,
                           get32(first));
        }
        /* No valid INFO/GO is this long; a meta context list might be. */
        if (opt == NBD_OPT_INFO || opt == NBD_OPT_GO) {
            return opt_err(conn, opt, NBD_REP_ERR_INVALID,
                           "Inconsistent lengths in option %s",
                           opt_name(opt));
        }
        return opt_err(conn, opt, NBD_REP_ERR_TOO_BIG,
                       "option '%s' is too long", opt_name(opt));
    }
    return opt_handle(conn, opt, NULL, 0);    /* unsupported */
}

bool nbd_proto_negotiate(NbdConn *conn)
{
    uint8_t hello[18];
    put64(hello, NBD_MAGIC);
    put64(hello + 8, NBD_OPTS_MAGIC);
    put16(hello + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    if (nbd_chan_write(&conn->ch, hello, sizeof(hello)) < 0) {
        return false;
    }
    uint8_t cflags_be[4];
    if (nbd_chan_read(&conn->ch, cflags_be, 4) < 0) {
        return false;
    }
    uint32_t cflags = get32(cflags_be);
    if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        return false;
    }
    conn->no_zeroes = cflags & NBD_FLAG_C_NO_ZEROES;

    for (;;) {
        uint8_t hdr[16];
        if (nbd_chan_read(&conn->ch, hdr, sizeof(hdr)) < 0 ||
            get64(hdr) != NBD_OPTS_MAGIC) {
            return false;
        }
        uint32_t opt = get32(hdr + 8), len = get32(hdr + 12);
        int r;
        if (len > NBD_MAX_OPTION) {
            r = opt_too_big(conn, opt, len);
        } else {
            g_autofree uint8_t *data = g_malloc(len + 1);
            if (nbd_chan_read(&conn->ch, data, len) < 0) {
                return false;
            }
            r = opt_handle(conn, opt, data, len);
        }
        if (r < 0) {
            return false;
        }
        if (r == 1) {
            return true;
        }
    }
}
