/*
 * export/nbd/chan.c: the byte stream of one NBD connection.
 *
 * Before STARTTLS the connection is a plain socket read with recv() and
 * written with sendmsg(); afterwards every byte goes through a gnutls
 * session on the same socket.  One thread reads (the connection thread) and
 * one thread at a time writes (under the connection's send lock), which is
 * the concurrency gnutls allows on a single session.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "lb/export.h"
#include "nbd-priv.h"

/* Small writes are corked into one TLS record; big payloads stream. */
#define NBD_TLS_CORK_MAX  (64 * 1024)

/* The socket is blocking, so GNUTLS_E_AGAIN is not expected. */
static int chan_tls_err(ssize_t r)
{
    switch (r) {
    case GNUTLS_E_PREMATURE_TERMINATION:
        return -ECONNRESET;
    case GNUTLS_E_AGAIN:
        return -EAGAIN;
    default:
        return -EIO;
    }
}

/* One recv() (or TLS record read) of up to @len bytes; >0, or -errno. */
static ssize_t chan_recv_some(NbdChan *ch, void *buf, size_t len)
{
    for (;;) {
        ssize_t r;
        if (ch->tls) {
            r = gnutls_record_recv(ch->tls, buf, len);
            if (r == GNUTLS_E_INTERRUPTED) {
                continue;
            }
            if (r < 0) {
                return chan_tls_err(r);
            }
        } else {
            r = recv(ch->fd, buf, len, 0);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                return -errno;
            }
        }
        return r == 0 ? -ECONNRESET : r;
    }
}

int nbd_chan_read(NbdChan *ch, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        if (ch->rpos < ch->rlen) {
            size_t n = MIN(len, ch->rlen - ch->rpos);
            memcpy(p, ch->rbuf + ch->rpos, n);
            ch->rpos += n;
            p += n;
            len -= n;
            continue;
        }
        /* Large payloads go straight to the caller's buffer. */
        if (len >= NBD_CHAN_RBUF / 2) {
            ssize_t r = chan_recv_some(ch, p, len);
            if (r < 0) {
                return r;
            }
            p += r;
            len -= r;
            continue;
        }
        if (!ch->rbuf) {
            ch->rbuf = g_malloc(NBD_CHAN_RBUF);
        }
        ssize_t r = chan_recv_some(ch, ch->rbuf, NBD_CHAN_RBUF);
        if (r < 0) {
            return r;
        }
        ch->rpos = 0;
        ch->rlen = r;
    }
    return 0;
}

int nbd_chan_skip(NbdChan *ch, uint64_t len)
{
    uint8_t buf[16384];

    while (len > 0) {
        size_t n = MIN(len, sizeof(buf));
        int r = nbd_chan_read(ch, buf, n);
        if (r < 0) {
            return r;
        }
        len -= n;
    }
    return 0;
}

static int chan_tls_send(gnutls_session_t s, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t r = gnutls_record_send(s, p, len);
        if (r == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        if (r < 0) {
            return chan_tls_err(r);
        }
        p += r;
        len -= r;
    }
    return 0;
}

static int chan_tls_writev(gnutls_session_t s, struct iovec *iov, int iovcnt)
{
    size_t total = 0;

    for (int i = 0; i < iovcnt; i++) {
        total += iov[i].iov_len;
    }
    bool cork = total <= NBD_TLS_CORK_MAX;
    if (cork) {
        gnutls_record_cork(s);
    }
    for (int i = 0; i < iovcnt; i++) {
        int r = chan_tls_send(s, iov[i].iov_base, iov[i].iov_len);
        if (r < 0) {
            if (cork) {
                gnutls_record_uncork(s, 0);
            }
            return r;
        }
    }
    if (cork) {
        int r;
        do {
            r = gnutls_record_uncork(s, GNUTLS_RECORD_WAIT);
        } while (r == GNUTLS_E_INTERRUPTED);
        if (r < 0) {
            return chan_tls_err(r);
        }
    }
    return 0;
}

int nbd_chan_writev(NbdChan *ch, struct iovec *iov, int iovcnt)
{
    if (ch->tls) {
        return chan_tls_writev(ch->tls, iov, iovcnt);
    }
    while (iovcnt > 0) {
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = iovcnt };
        ssize_t r = sendmsg(ch->fd, &msg, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        while (iovcnt > 0 && (size_t)r >= iov->iov_len) {
            r -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + r;
            iov->iov_len -= r;
        }
    }
    return 0;
}

int nbd_chan_write(NbdChan *ch, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    return nbd_chan_writev(ch, &iov, 1);
}

bool nbd_chan_start_tls(NbdChan *ch, LbTlsCreds *creds, GError **errp)
{
    bool is_psk = false;
    void *backend = lb_tls_creds_backend(creds, &is_psk);
    bool is_anon = lb_tls_creds_is_anon(creds);
    /* The priority strings QEMU uses for each kind of credentials. */
    const char *priority = is_anon  ? "NORMAL:+ANON-ECDH:+ANON-DH"
                           : is_psk ? "NORMAL:+ECDHE-PSK:+DHE-PSK:+PSK"
                                    : "NORMAL";
    gnutls_credentials_type_t type = is_anon  ? GNUTLS_CRD_ANON
                                     : is_psk ? GNUTLS_CRD_PSK
                                              : GNUTLS_CRD_CERTIFICATE;
    bool check_cert = !is_anon && !is_psk && lb_tls_creds_verify_peer(creds);
    gnutls_session_t s = NULL;

    g_assert(!ch->creds);
    ch->creds = creds;                /* released by nbd_chan_close */

    /*
     * Plaintext sent after STARTTLS but before the handshake must not be
     * taken as if it came through TLS (the classic STARTTLS injection).
     */
    if (ch->rpos < ch->rlen) {
        g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                    "client sent data before the TLS handshake");
        return false;
    }
    int r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL);

    if (r < 0) {
        goto fail;
    }
    r = gnutls_priority_set_direct(s, priority, NULL);
    if (r < 0) {
        goto fail;
    }
    r = gnutls_credentials_set(s, type, backend);
    if (r < 0) {
        goto fail;
    }
    if (check_cert) {
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    }
    gnutls_transport_set_int(s, ch->fd);
    /* The socket blocks; handshake-max-seconds shuts it down on expiry. */
    do {
        r = gnutls_handshake(s);
    } while (r == GNUTLS_E_INTERRUPTED);
    if (r < 0) {
        goto fail;
    }
    if (check_cert) {
        unsigned status = 0;
        r = gnutls_certificate_verify_peers2(s, &status);
        if (r < 0 || status != 0) {
            g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                        "TLS client certificate rejected (status 0x%x)",
                        status);
            gnutls_deinit(s);
            return false;
        }
    }
    ch->tls = s;
    return true;

fail:
    g_set_error(errp, LB_EXPORT_ERROR, LB_EXPORT_ERROR_FAILED,
                "TLS handshake failed: %s", gnutls_strerror(r));
    if (s) {
        gnutls_deinit(s);
    }
    return false;
}

char *nbd_chan_tls_identity(NbdChan *ch)
{
    if (!ch->tls) {
        return NULL;
    }
    if (gnutls_auth_get_type(ch->tls) == GNUTLS_CRD_PSK) {
        const char *user = gnutls_psk_server_get_username(ch->tls);
        return user ? g_strdup(user) : NULL;
    }
    unsigned n = 0;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(ch->tls, &n);
    gnutls_x509_crt_t crt = NULL;
    char *dn = NULL;
    size_t len = 0;
    if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0) {
        return NULL;
    }
    /* The first certificate is the client's own; gnutls prints its DN as
     * RFC 4514 ("CN=client,O=example"), the form QEMU authorizes. */
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn(crt, NULL, &len) ==
            GNUTLS_E_SHORT_MEMORY_BUFFER) {
        dn = g_malloc0(len + 1);
        if (gnutls_x509_crt_get_dn(crt, dn, &len) < 0) {
            g_clear_pointer(&dn, g_free);
        }
    }
    gnutls_x509_crt_deinit(crt);
    return dn;
}

void nbd_chan_close(NbdChan *ch)
{
    if (ch->tls) {
        gnutls_bye(ch->tls, GNUTLS_SHUT_WR);
        gnutls_deinit(ch->tls);
        ch->tls = NULL;
    }
    g_clear_pointer(&ch->creds, lb_tls_creds_unref);
    if (ch->fd >= 0) {
        close(ch->fd);
        ch->fd = -1;
    }
    g_clear_pointer(&ch->rbuf, g_free);
    ch->rpos = ch->rlen = 0;
}
