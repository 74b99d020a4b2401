/*
 * block-luks2-reencrypt-map.c: the data path of a LUKS2 volume opened in
 * the middle of a reencryption (a "clean", resumable header).
 *
 * Each request is split at the segment boundaries and each piece goes
 * through its own segment: a linear segment is copied as it is, a crypt
 * segment is encrypted with the key of the digest it is bound to (old or
 * new), its own cipher, sector size and iv_tweak.  So a half-converted
 * volume reads and writes correctly through every tool and export.  A
 * header with an in-reencryption segment (a crash) is refused with
 * LB_LUKS_ERROR_NEEDS_RECOVERY: the caller recovers it first
 * (lb_luks2_reencrypt() with LB_REENC_REPAIR), it is never read as clean.
 *
 * Cipher contexts: one small pool per key, as block-luks.c keeps for the
 * single-segment case, so requests do not allocate.
 */
#include "config.h"
#include "block-luks2-reencrypt-priv.h"

#include <errno.h>
#include <string.h>

#define MAP_POOL_MAX 8

typedef struct MapKey {
    char name[LB_LUKS1_NAME_LEN];
    char mode[LB_LUKS1_NAME_LEN];
    LbSecret *vk;
    GMutex lock;
    LbBlockCipher *pool[MAP_POOL_MAX];
    unsigned n;
} MapKey;

typedef struct MapSeg {
    uint64_t start, end; /* payload bytes; end G_MAXUINT64 = dynamic */
    int key;             /* 0 old, 1 new, -1 linear */
    unsigned sector_size;
    uint64_t iv_tweak; /* at start */
} MapSeg;

struct LbLuks2ReencMap {
    MapKey keys[2];
    MapSeg segs[LB_LUKS2_MAX_SEGMENTS];
    unsigned nsegs;
};

void lb_luks2_reenc_map_free(LbLuks2ReencMap *m)
{
    if (!m) {
        return;
    }
    for (unsigned k = 0; k < 2; k++) {
        for (unsigned i = 0; i < m->keys[k].n; i++) {
            lb_block_cipher_free(m->keys[k].pool[i]);
        }
        lb_secret_free(m->keys[k].vk);
        g_mutex_clear(&m->keys[k].lock);
    }
    g_free(m);
}

static void key_spec(MapKey *k, const char *spec)
{
    const char *dash = strchr(spec, '-');

    memset(k->name, 0, sizeof(k->name));
    memcpy(k->name, spec, MIN((size_t)(dash - spec), sizeof(k->name) - 1));
    g_strlcpy(k->mode, dash + 1, sizeof(k->mode));
}

static LbBlockCipher *key_get(MapKey *k)
{
    LbBlockCipher *c = NULL;

    g_mutex_lock(&k->lock);
    if (k->n) {
        c = k->pool[--k->n];
    }
    g_mutex_unlock(&k->lock);
    return c ? c
             : lb_block_cipher_new(k->name, k->mode, lb_secret_cdata(k->vk),
                                   lb_secret_len(k->vk), NULL);
}

static void key_put(MapKey *k, LbBlockCipher *c)
{
    g_mutex_lock(&k->lock);
    if (k->n < MAP_POOL_MAX) {
        k->pool[k->n++] = c;
        c = NULL;
    }
    g_mutex_unlock(&k->lock);
    lb_block_cipher_free(c);
}

/* Unlock digest @di with @pass through any keyslot bound to it. */
static int unlock(LbLuks *luks, const LbLuks2Hdr *hdr, int di,
                  const LbSecret *pass, LbSecret **vk, GError **errp)
{
    for (int id = 0; id < LB_LUKS2_MAX_KEYSLOTS; id++) {
        const LbLuks2Keyslot *ks = &hdr->meta.keyslots[id];
        if (!ks->used || ks->re.used || ks->priority == 0 ||
            !(hdr->meta.digests[di].keyslots & (1u << id))) {
            continue;
        }
        int r = lb_luks2_keyslot_unlock_digest(luks, hdr, id, di, pass, vk,
                                               errp);
        if (r != 0) {
            return r < 0 ? -1 : id;
        }
    }
    return -2;
}

LbLuks2ReencMap *lb_luks2_reenc_map_new(LbLuks *luks, const LbLuks2Hdr *hdr,
                                        const LbSecret *pass, int *slot,
                                        GError **errp)
{
    const LbLuks2Meta *m = &hdr->meta;
    int prev = lb_luks2_seg_find(m, "backup-previous");
    int fin = lb_luks2_seg_find(m, "backup-final");
    int dig[2] = {-1, -1};
    g_autoptr(LbLuks2ReencMap) map = g_new0(LbLuks2ReencMap, 1);

    g_mutex_init(&map->keys[0].lock);
    g_mutex_init(&map->keys[1].lock);
    if (lb_luks2_seg_find(m, "in-reencryption") >= 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_NEEDS_RECOVERY,
                    "LUKS2 reencryption was interrupted in a hotzone; the "
                    "volume needs recovery (luksblk-img reencrypt --repair)");
        return NULL;
    }
    if (m->segments[prev].offset != m->segments[fin].offset ||
        lb_luks2_seg_find(m, "backup-moved-segment") >= 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                    "LUKS2 reencryption with data shift in progress: "
                    "finish it with cryptsetup reencrypt first");
        return NULL;
    }
    const int seg_of[2] = {prev, fin};
    *slot = -1;
    for (unsigned k = 0; k < 2; k++) {
        const LbLuks2Segment *s = &m->segments[seg_of[k]];
        if (s->linear) {
            continue;
        }
        dig[k] = lb_luks2_seg_digest(m, seg_of[k]);
        if (dig[k] < 0) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS2 metadata: a backup segment has no digest");
            return NULL;
        }
        int id = unlock(luks, hdr, dig[k], pass, &map->keys[k].vk, errp);
        if (id == -1) {
            return NULL;
        }
        if (id < 0) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE,
                        LB_LUKS_BAD_PASSPHRASE_MSG);
            return NULL;
        }
        *slot = *slot < 0 ? id : *slot;
        key_spec(&map->keys[k], s->encryption);
        g_autoptr(LbBlockCipher) c = key_get(&map->keys[k]);
        if (!c) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_UNSUPPORTED,
                        "cipher %s is not supported", s->encryption);
            return NULL;
        }
    }
    if (!lb_luks2_reenc_digest_verify(m, map->keys[0].vk, map->keys[1].vk,
                                      errp)) {
        return NULL;
    }
    uint64_t base = m->segments[fin].offset;
    for (int i = 0; i < LB_LUKS2_MAX_SEGMENTS; i++) {
        const LbLuks2Segment *s = &m->segments[i];
        if (!s->used || i == prev || i == fin ||
            lb_luks2_seg_has_flag(s, "backup-moved-segment")) {
            continue;
        }
        MapSeg *ms = &map->segs[map->nsegs++];
        if (s->offset < base) {
            g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                        "LUKS2 metadata: segment %d starts before the data",
                        i);
            return NULL;
        }
        ms->start = s->offset - base;
        ms->end = s->dynamic ? G_MAXUINT64 : ms->start + s->size;
        ms->sector_size = s->sector_size;
        ms->iv_tweak = s->iv_tweak;
        ms->key = -1;
        if (!s->linear) {
            /* The new key when bound to the new digest only. */
            bool is_new = dig[1] >= 0 &&
                          (m->digests[dig[1]].segments & (1u << i)) &&
                          !(dig[0] >= 0 &&
                            (m->digests[dig[0]].segments & (1u << i)));
            ms->key = is_new ? 1 : 0;
            if (!map->keys[ms->key].vk) {
                g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_CORRUPT,
                            "LUKS2 metadata: segment %d has no key", i);
                return NULL;
            }
        }
    }
    return g_steal_pointer(&map);
}

int lb_luks2_reenc_map_crypt(LbLuks2ReencMap *map, bool encrypt,
                             uint64_t offset, const guint8 *in, guint8 *out,
                             size_t len)
{
    while (len > 0) {
        const MapSeg *s = NULL;
        for (unsigned i = 0; i < map->nsegs && !s; i++) {
            if (offset >= map->segs[i].start && offset < map->segs[i].end) {
                s = &map->segs[i];
            }
        }
        if (!s) {
            return -EIO; /* past the last segment */
        }
        size_t n = (size_t)MIN((uint64_t)len, s->end - offset);
        int r = 0;
        if (offset % s->sector_size || n % s->sector_size) {
            return -EINVAL;
        }
        if (s->key < 0) {
            memmove(out, in, n);
        } else {
            MapKey *k = &map->keys[s->key];
            LbBlockCipher *c = key_get(k);
            uint64_t iv = s->iv_tweak + (offset - s->start) / 512;
            if (!c) {
                return -ENOMEM;
            }
            r = encrypt ? lb_block_cipher_encrypt(c, iv, s->sector_size, in,
                                                  out, n)
                        : lb_block_cipher_decrypt(c, iv, s->sector_size, in,
                                                  out, n);
            key_put(k, c);
        }
        if (r < 0) {
            return r;
        }
        offset += n;
        in += n;
        out += n;
        len -= n;
    }
    return 0;
}

const LbSecret *lb_luks2_reenc_map_key(const LbLuks2ReencMap *map)
{
    return map->keys[1].vk ? map->keys[1].vk : map->keys[0].vk;
}

unsigned lb_luks2_reenc_map_sector(const LbLuks2ReencMap *map)
{
    unsigned s = 512;

    for (unsigned i = 0; i < map->nsegs; i++) {
        s = MAX(s, map->segs[i].sector_size);
    }
    return s;
}
