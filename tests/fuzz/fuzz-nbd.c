/*
 * fuzz-nbd.c: fuzz harness of the NBD server's protocol state machine
 * (export/nbd: handshake options, then transmission requests).
 *
 * The first call starts the real server in this process on a unix socket
 * in a fresh temp dir, with one writable export "disk0" of a 1 MiB raw file
 * and a read-only one "ro".  Each input is one client connection: its bytes
 * are sent as the client's whole stream, everything the server answers is
 * read and dropped, and the harness returns once the server has hung up
 * (the input's end is a half-close, so a well-behaved server always does).
 * A bug shows as a crash, a sanitizer report, or a hang (libFuzzer's
 * -timeout): a server that keeps a connection open after its client's
 * stream ended and every request was answered.
 *
 * Thread context: the harness runs in the fuzzer's thread; the server's
 * threads (accept, connection, workers) run beside it, as in the daemon.
 */
#include "config.h"
#include "fuzz-targets.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "lb/block.h"
#include "lb/export.h"
#include "lb/opts.h"

/* A connection's stream is cut here: no case needs more, and it bounds time. */
#define NBD_FUZZ_MAX_INPUT (1u << 20)
/* The server answers within this; beyond it the harness fails loudly. */
#define NBD_FUZZ_REPLY_MS 20000

static char *sock_path;
static char *tmp_dir;
static LbNode *nodes[2];

static void nbd_fuzz_die(const char *what, GError *err)
{
    fprintf(stderr, "fuzz-nbd: %s: %s\n", what, err ? err->message : g_strerror(errno));
    abort();
}

static void nbd_fuzz_cleanup(void)
{
    lb_exports_shutdown();
    for (unsigned i = 0; i < G_N_ELEMENTS(nodes); i++) {
        if (nodes[i]) {
            lb_node_unref(nodes[i]);
        }
    }
    if (tmp_dir) {
        g_autofree char *img = g_build_filename(tmp_dir, "disk.img", NULL);
        g_unlink(img);
        g_unlink(sock_path);
        g_rmdir(tmp_dir);
    }
}

static LbNode *nbd_fuzz_node(const char *keyval)
{
    GError *err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(keyval, NULL, &err);
    LbNode *bs = o ? lb_node_open(o, LB_OPEN_RDWR, &err) : NULL;
    if (!bs) {
        nbd_fuzz_die(keyval, err);
    }
    return bs;
}

static void nbd_fuzz_keyval(bool (*fn)(LbOpts *, GError **), const char *what,
                            const char *implied, const char *keyval)
{
    GError *err = NULL;
    g_autoptr(LbOpts) o = lb_opts_parse_keyval(keyval, implied, &err);
    if (!o || !fn(o, &err)) {
        nbd_fuzz_die(what, err);
    }
}

static void nbd_fuzz_setup(void)
{
    GError *err = NULL;

    signal(SIGPIPE, SIG_IGN);
    tmp_dir = g_dir_make_tmp("lb-fuzz-nbd.XXXXXX", &err);
    if (!tmp_dir) {
        nbd_fuzz_die("temp dir", err);
    }
    sock_path = g_build_filename(tmp_dir, "nbd.sock", NULL);
    g_autofree char *img = g_build_filename(tmp_dir, "disk.img", NULL);
    FILE *f = fopen(img, "w");
    if (!f || ftruncate(fileno(f), 1 << 20) < 0 || fclose(f) != 0) {
        nbd_fuzz_die(img, NULL);
    }
    g_autofree char *file = g_strdup_printf(
        "driver=file,node-name=fz-file,filename=%s", img);
    nodes[0] = nbd_fuzz_node(file);
    nodes[1] = nbd_fuzz_node("driver=raw,node-name=fz,file=fz-file");
    g_autofree char *srv = g_strdup_printf(
        "addr.type=unix,addr.path=%s", sock_path);
    nbd_fuzz_keyval(lb_nbd_server_start, "nbd-server-start", NULL, srv);
    nbd_fuzz_keyval(lb_block_export_add, "export disk0", "type",
                    "type=nbd,id=e0,node-name=fz,name=disk0,writable=on");
    nbd_fuzz_keyval(lb_block_export_add, "export ro", "type",
                    "type=nbd,id=e1,node-name=fz,name=ro,description=read-only");
    atexit(nbd_fuzz_cleanup);
}

/* Send @data, half-close, and read until the server hangs up. */
static void nbd_fuzz_session(const uint8_t *data, size_t size)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    size_t sent = 0;
    bool wr_open = true;
    static uint8_t sink[65536];

    if (fd < 0) {
        nbd_fuzz_die("socket", NULL);
    }
    g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        /* A full backlog: the accept thread catches up. */
        if (errno != EAGAIN && errno != EINTR) {
            nbd_fuzz_die("connect", NULL);
        }
        g_usleep(1000);
    }
    for (;;) {
        if (wr_open && sent == size) {
            shutdown(fd, SHUT_WR);
            wr_open = false;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN | (wr_open ? POLLOUT : 0) };
        int r = poll(&p, 1, NBD_FUZZ_REPLY_MS);
        if (r == 0) {
            fprintf(stderr, "fuzz-nbd: the server kept the connection open "
                    "%d ms after the client's stream ended\n", NBD_FUZZ_REPLY_MS);
            abort();
        }
        if (r < 0) {
            continue;
        }
        if (p.revents & POLLIN) {
            ssize_t n = recv(fd, sink, sizeof(sink), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                break;    /* the server hung up (EOF or reset) */
            }
        } else if (p.revents & (POLLHUP | POLLERR)) {
            break;
        }
        if (wr_open && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += n;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                wr_open = false;  /* the server closed its side first */
            }
        }
    }
    close(fd);
}

int lb_fuzz_nbd(const uint8_t *data, size_t size)
{
    static gsize once;

    if (g_once_init_enter(&once)) {
        nbd_fuzz_setup();
        g_once_init_leave(&once, 1);
    }
    nbd_fuzz_session(data, MIN(size, NBD_FUZZ_MAX_INPUT));
    return 0;
}
