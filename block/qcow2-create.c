/*
 * block/qcow2-create.c: `luksblk-img create -f qcow2 FILE SIZE` makes an
 * empty qcow2 (version 3) image laid out as QEMU's qemu-img makes one with
 * default options, so a detached LUKS header's payload can be a qcow2 file
 * as in QEMU's luks-detached-header test:
 *
 *   cluster 0  header (112 bytes, header-extension end marker)
 *   cluster 1  refcount table: one entry -> cluster 2
 *   cluster 2  refcount block: 16-bit refcounts, clusters 0..3+ set to 1
 *   cluster 3  L1 table (zeros, l1_size entries; the file ends there)
 *
 * luksblk cannot open qcow2 images (there is no qcow2 driver); the file is
 * for QEMU, or a file node whose bytes are a LUKS payload.  Only the
 * default options are accepted.
 */
#include "config.h"
#include "block-priv.h"

#include <string.h>

#define QCOW2_CLUSTER_BITS 16
#define QCOW2_CLUSTER ((uint64_t)1 << QCOW2_CLUSTER_BITS)
#define QCOW2_HEADER_LEN 112

static void put_be32(guint8 *p, uint32_t v)
{
    v = GUINT32_TO_BE(v);
    memcpy(p, &v, 4);
}

static void put_be64(guint8 *p, uint64_t v)
{
    v = GUINT64_TO_BE(v);
    memcpy(p, &v, 8);
}

/* Control plane, any thread: no node is involved. */
bool lb_qcow2_create(const char *filename, uint64_t size, LbOpts *opts,
                     GError **errp)
{
    const uint64_t l2_entries = QCOW2_CLUSTER / 8;
    uint64_t l1_size = (size + QCOW2_CLUSTER * l2_entries - 1) /
                       (QCOW2_CLUSTER * l2_entries);
    uint64_t l1_clusters = MAX(1, (l1_size * 8 + QCOW2_CLUSTER - 1) /
                                      QCOW2_CLUSTER);
    uint64_t n_clusters = 3 + l1_clusters;

    g_autoptr(GList) keys = lb_opts_keys(opts);
    if (keys) {             /* only the default options */
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Invalid parameter '%s'", (const char *)keys->data);
        return false;
    }
    /* One refcount block (32768 16-bit entries) covers the metadata. */
    if (l1_size > UINT32_MAX || n_clusters > QCOW2_CLUSTER / 2) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Image size is too large for a qcow2 image");
        return false;
    }
    uint64_t len = 3 * QCOW2_CLUSTER + MAX(l1_size * 8, 8);
    g_autofree guint8 *buf = g_malloc0(3 * QCOW2_CLUSTER);
    guint8 *h = buf;

    put_be32(h + 0, 0x514649fb);            /* "QFI\xfb" */
    put_be32(h + 4, 3);                     /* version */
    put_be32(h + 20, QCOW2_CLUSTER_BITS);
    put_be64(h + 24, size);
    put_be32(h + 36, (uint32_t)l1_size);
    put_be64(h + 40, 3 * QCOW2_CLUSTER);    /* l1_table_offset */
    put_be64(h + 48, QCOW2_CLUSTER);        /* refcount_table_offset */
    put_be32(h + 56, 1);                    /* refcount_table_clusters */
    put_be32(h + 96, 4);                    /* refcount_order: 16 bits */
    put_be32(h + 100, QCOW2_HEADER_LEN);    /* header_length */
    /* compression type zlib (0) and padding; then the end extension
     * (type 0, length 0) at QCOW2_HEADER_LEN: already zero. */
    put_be64(buf + QCOW2_CLUSTER, 2 * QCOW2_CLUSTER);
    for (uint64_t i = 0; i < n_clusters; i++) {
        guint8 *rc = buf + 2 * QCOW2_CLUSTER + i * 2;
        rc[0] = 0;
        rc[1] = 1;
    }

    g_autofree guint8 *zero = g_malloc0(len - 3 * QCOW2_CLUSTER);
    g_autoptr(GByteArray) all = g_byte_array_sized_new((guint)len);
    g_byte_array_append(all, buf, 3 * QCOW2_CLUSTER);
    g_byte_array_append(all, zero, (guint)(len - 3 * QCOW2_CLUSTER));
    return g_file_set_contents(filename, (const char *)all->data,
                               (gssize)all->len, errp);
}
