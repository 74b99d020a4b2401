/*
 * luks-test-io.h: helpers shared by the LUKS engine unit tests.
 *
 * MemDev is an in-memory header device (a GByteArray behind LbLuksIO
 * callbacks) that records the highest offset read or written, the number
 * of writes and the order of writes and flushes ("W<off> F W0 F "), so
 * tests can prove the engine stays inside the header area and orders its
 * updates.  Test-only code: static functions in a header on purpose.
 */
#ifndef LB_TESTS_UNIT_LUKS_TEST_IO_H
#define LB_TESTS_UNIT_LUKS_TEST_IO_H

#include <string.h>

#include <glib.h>

#include "lb/crypto.h"
#include "lb/luks.h"
#include "lb/secret.h"
#include "crypto/block-luks-priv.h"

/* ---- in-memory header device --------------------------------------------- */

typedef struct MemDev {
    GByteArray *buf;
    uint64_t max_read_end;
    uint64_t max_write_end;
    unsigned n_writes;
    GString *log; /* "W<off> F W0 F": write/flush order */
} MemDev;

static bool mem_read(void *opaque, uint64_t off, void *buf, size_t len,
                     GError **errp)
{
    MemDev *m = opaque;

    m->max_read_end = MAX(m->max_read_end, off + len);
    if (off > m->buf->len || len > m->buf->len - off) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "short read at %" G_GUINT64_FORMAT, off);
        return false;
    }
    memcpy(buf, m->buf->data + off, len);
    return true;
}

static bool mem_write(void *opaque, uint64_t off, const void *buf, size_t len,
                      GError **errp)
{
    MemDev *m = opaque;

    m->max_write_end = MAX(m->max_write_end, off + len);
    m->n_writes++;
    g_string_append_printf(m->log, "W%" G_GUINT64_FORMAT " ", off);
    if (off + len > m->buf->len) {
        size_t old = m->buf->len;
        g_byte_array_set_size(m->buf, off + len);
        memset(m->buf->data + old, 0, m->buf->len - old);
    }
    memcpy(m->buf->data + off, buf, len);
    return true;
}

static int64_t mem_length(void *opaque, GError **errp)
{
    return ((MemDev *)opaque)->buf->len;
}

static bool mem_truncate(void *opaque, uint64_t size, GError **errp)
{
    MemDev *m = opaque;
    size_t old = m->buf->len;

    g_byte_array_set_size(m->buf, size);
    if (size > old) {
        memset(m->buf->data + old, 0, size - old);
    }
    return true;
}

static bool mem_flush(void *opaque, GError **errp)
{
    g_string_append(((MemDev *)opaque)->log, "F ");
    return true;
}

static G_GNUC_UNUSED MemDev *mem_new(size_t size)
{
    MemDev *m = g_new0(MemDev, 1);

    m->buf = g_byte_array_sized_new(size);
    g_byte_array_set_size(m->buf, size);
    if (size) {
        memset(m->buf->data, 0, size);
    }
    m->log = g_string_new("");
    return m;
}

static G_GNUC_UNUSED void mem_reset_stats(MemDev *m)
{
    m->max_read_end = m->max_write_end = 0;
    m->n_writes = 0;
    g_string_truncate(m->log, 0);
}

static G_GNUC_UNUSED void mem_free(MemDev *m)
{
    g_byte_array_unref(m->buf);
    g_string_free(m->log, TRUE);
    g_free(m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MemDev, mem_free)

static G_GNUC_UNUSED LbLuksIO mem_io(MemDev *m)
{
    return (LbLuksIO){
        .read = mem_read,
        .write = mem_write,
        .length = mem_length,
        .truncate = mem_truncate,
        .flush = mem_flush,
        .opaque = m,
    };
}

static G_GNUC_UNUSED LbSecret *pass_new(const char *s)
{
    return lb_secret_new_from(s, strlen(s));
}

static G_GNUC_UNUSED uint32_t be32_at(const MemDev *m, size_t off)
{
    const guint8 *p = m->buf->data + off;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

static G_GNUC_UNUSED void put_be32(MemDev *m, size_t off, uint32_t v)
{
    guint8 *p = m->buf->data + off;
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

#define SLOT_OFF(i) (208 + 48 * (i))

/* Open with @pass on the device and check the volume key equals @vk. */
static G_GNUC_UNUSED void assert_opens(MemDev *m, const char *pass,
                                       const LbSecret *vk, int want_slot)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new(pass);
    LbLuksIO io = mem_io(m);
    /* A detached header (payload offset 0) needs its payload elsewhere. */
    unsigned flags = be32_at(m, 104) == 0 ? LB_LUKS_OPEN_DETACHED : 0;
    g_autoptr(LbLuks) l = lb_luks_open(&io, p, flags, &err);

    g_assert_no_error(err);
    g_assert_nonnull(l);
    g_assert_cmpint(lb_luks_unlocked_slot(l), ==, want_slot);
    g_assert_cmpuint(lb_secret_len(l->master_key), ==, lb_secret_len(vk));
    g_assert_cmpmem(lb_secret_cdata(l->master_key), lb_secret_len(vk),
                    lb_secret_cdata(vk), lb_secret_len(vk));
}

static G_GNUC_UNUSED LbLuks *create_on(MemDev *m, const LbLuksCreateOpts *opts,
                                       const char *pass)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new(pass);
    LbLuksIO io = mem_io(m);
    LbLuks *l = lb_luks_create(&io, opts, p, &err);

    g_assert_no_error(err);
    g_assert_nonnull(l);
    return l;
}

static G_GNUC_UNUSED MemDev *mem_load(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    MemDev *m = mem_new(len);
    memcpy(m->buf->data, data, len);
    return m;
}

static G_GNUC_UNUSED void mem_save(const MemDev *m, const char *path,
                                   size_t extra)
{
    g_autofree guint8 *data = g_malloc0(m->buf->len + extra);

    memcpy(data, m->buf->data, m->buf->len);
    g_assert_true(
        g_file_set_contents(path, (char *)data, m->buf->len + extra, NULL));
}

#endif /* LB_TESTS_UNIT_LUKS_TEST_IO_H */
