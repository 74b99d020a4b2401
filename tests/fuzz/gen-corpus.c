/*
 * gen-corpus.c: write the LUKS part of the fuzz seed corpus
 * (tests/fuzz/corpus/{luks1,luks2,luks2-json}/) with the LUKS engine.
 *
 * Usage: gen-corpus OUTDIR
 *
 * Seeds use the passphrase "fuzz" and the cheapest key derivation the
 * engine allows (1000 PBKDF2 iterations, argon2 with 32 KiB and one pass)
 * so the harnesses unlock them.  Each seed is cut after keyslot 0's key
 * material: fuzzing small inputs is faster, and the engine must cope with
 * header devices shorter than the layout anyway.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "lb/luks.h"
#include "lb/secret.h"
#include "crypto/block-luks2-priv.h"

typedef struct Seed {
    const char *dir, *name;
    LbLuksCreateOpts opts;
} Seed;

static const Seed seeds[] = {
    { "luks1", "aes128-cbc-essiv",
      { .version = 1, .cipher_alg = "aes-128", .cipher_mode = "cbc",
        .ivgen_alg = "essiv", .iterations = 1000, .detached = true } },
    { "luks1", "aes128-cbc-plain64-sha1",
      { .version = 1, .cipher_alg = "aes-128", .cipher_mode = "cbc",
        .ivgen_alg = "plain64", .hash_alg = "sha1",
        .iterations = 1000, .detached = true } },
    { "luks2", "argon2id-aes128-cbc",
      { .version = 2, .cipher_alg = "aes-128", .cipher_mode = "cbc",
        .ivgen_alg = "plain64", .pbkdf = "argon2id",
        .pbkdf_memory_kib = 32, .pbkdf_parallel = 1, .pbkdf_time = 1,
        .iterations = 1000, .detached = true } },
    { "luks2", "pbkdf2-aes128-cbc-4k",
      { .version = 2, .cipher_alg = "aes-128", .cipher_mode = "cbc",
        .ivgen_alg = "essiv", .pbkdf = "pbkdf2", .sector_size = 4096,
        .iterations = 1000, .label = "seed", .detached = true } },
};

typedef struct Mem {
    GByteArray *buf;
} Mem;

static bool m_read(void *o, uint64_t off, void *buf, size_t len, GError **e)
{
    GByteArray *b = ((Mem *)o)->buf;

    if (off > b->len || len > b->len - off) {
        g_set_error(e, G_FILE_ERROR, G_FILE_ERROR_IO, "short read");
        return false;
    }
    memcpy(buf, b->data + off, len);
    return true;
}

static bool m_truncate(void *o, uint64_t size, GError **e)
{
    GByteArray *b = ((Mem *)o)->buf;
    size_t old = b->len;

    g_byte_array_set_size(b, size);
    if (size > old) {
        memset(b->data + old, 0, size - old);
    }
    return true;
}

static bool m_write(void *o, uint64_t off, const void *buf, size_t len,
                    GError **e)
{
    GByteArray *b = ((Mem *)o)->buf;

    if (off + len > b->len) {
        m_truncate(o, off + len, e);
    }
    memcpy(b->data + off, buf, len);
    return true;
}

static int64_t m_length(void *o, GError **e)
{
    return ((Mem *)o)->buf->len;
}

static bool write_file(const char *out, const char *dir, const char *name,
                       const void *data, size_t len)
{
    g_autofree char *d = g_build_filename(out, dir, NULL);
    g_autofree char *path = g_build_filename(d, name, NULL);
    g_autoptr(GError) err = NULL;

    g_mkdir_with_parents(d, 0755);
    if (!g_file_set_contents(path, data, len, &err)) {
        fprintf(stderr, "gen-corpus: %s\n", err->message);
        return false;
    }
    printf("%s (%zu bytes)\n", path, len);
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen-corpus OUTDIR\n");
        return 2;
    }
    g_autoptr(LbSecret) pass = lb_secret_new_from("fuzz", 4);
    for (unsigned i = 0; i < G_N_ELEMENTS(seeds); i++) {
        const Seed *s = &seeds[i];
        Mem m = { g_byte_array_new() };
        LbLuksIO io = { .read = m_read, .write = m_write, .length = m_length,
                        .truncate = m_truncate, .opaque = &m };
        g_autoptr(GError) err = NULL;
        g_autoptr(LbLuks) luks = lb_luks_create(&io, &s->opts, pass, &err);
        if (!luks) {
            fprintf(stderr, "gen-corpus: %s: %s\n", s->name, err->message);
            return 1;
        }
        g_autoptr(LbLuksInfo) info = lb_luks_get_info(luks);
        const LbLuksSlotInfo *s0 = &info->slots[0];
        size_t cut = MIN(m.buf->len, s0->key_offset + s0->area_size);
        if (s->opts.version == 1) {
            /* LUKS1 area_size is the whole slot; keep the used sectors. */
            cut = MIN(cut, s0->key_offset +
                               (info->key_bytes * 4000 + 511) / 512 * 512);
        }
        if (!write_file(argv[1], s->dir, s->name, m.buf->data, cut)) {
            return 1;
        }
        if (s->opts.version == 2) {
            const char *json = (const char *)m.buf->data + LB_LUKS2_BIN_SIZE;
            g_autofree char *name = g_strconcat(s->name, ".json", NULL);
            if (!write_file(argv[1], "luks2-json", name, json,
                            strlen(json))) {
                return 1;
            }
        }
        g_byte_array_unref(m.buf);
    }
    return 0;
}
