/*
 * tests/unit/test-crypto-peers.c: the crypto primitives against cryptsetup.
 *
 * cryptsetup formats a detached LUKS1 header with a given hash and cipher
 * spec; this test then unlocks key slot 0 using only the primitives (PBKDF2,
 * LbBlockCipher with the spec's IV generator, AF merge, the 20-byte
 * volume-key digest; LUKS-FORMAT.md section 1.5) and compares the result
 * with `cryptsetup luksDump --dump-volume-key`.  It covers what the engine
 * peer tests do not: the hashes nettle lacks (whirlpool, ours) or that are
 * rarely used (sha3, sm3), and IV generators under XTS, ECB and CTR.
 * Skipped when cryptsetup is missing or cannot format a spec here (specs
 * needing a kernel cipher).  cryptsetup never activates anything.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "lb/crypto.h"

typedef struct {
    const char *spec; /* cryptsetup -c */
    const char *bits; /* -s */
    const char *hash; /* -h */
} PeerCase;

static const PeerCase peer_cases[] = {
    {"aes-xts-plain64", "512", "whirlpool"},
    {"aes-xts-essiv:sha256", "256", "sm3"},
    {"aes-cbc-plain64be", "256", "sha3-512"},
    {"aes-xts-benbi", "512", "sha3-256"},
    {"aes-ecb", "256", "whirlpool"},
    {"aes-ctr-plain64", "256", "sha256"},
    {"aes-xts-plain", "256", "sha1"},
    {"aes-cbc-essiv:sha256", "128", "ripemd160"},
};

static char *cs_prog;

static guint32 be32(const guint8 *p)
{
    return (guint32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static bool run(const char *const *argv, char **out)
{
    int status = -1;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
                      NULL, NULL, out, NULL, &status, NULL)) {
        return false;
    }
    return g_spawn_check_wait_status(status, NULL);
}

/* The hex volume key printed after "MK dump:". */
static char *parse_mk_dump(const char *dump)
{
    const char *p = strstr(dump, "MK dump:");
    GString *hex = g_string_new(NULL);

    g_assert_nonnull(p);
    for (p += 8; *p; p++) {
        if (g_ascii_isxdigit(*p)) {
            g_string_append_c(hex, g_ascii_tolower(*p));
        }
    }
    return g_string_free(hex, FALSE);
}

static void test_peer_unlock(gconstpointer data)
{
    const PeerCase *tc = data;
    g_autofree char *dir = g_dir_make_tmp("lb-crypto-peers-XXXXXX", NULL);
    g_autofree char *pass = g_build_filename(dir, "pass", NULL);
    g_autofree char *hdr = g_build_filename(dir, "hdr", NULL);
    g_autofree char *img = g_build_filename(dir, "img", NULL);
    g_autofree char *dump = NULL;
    g_autofree char *want = NULL;
    g_autofree guint8 *h = NULL;
    gsize hlen = 0;
    g_autoptr(GError) err = NULL;

    if (!cs_prog) {
        g_test_skip("cryptsetup not installed");
        return;
    }
    g_assert_nonnull(dir);
    g_assert_true(g_file_set_contents(pass, "peer pass", -1, NULL));
    g_assert_true(g_file_set_contents(img, "", 0, NULL));
    g_assert_cmpint(truncate(img, 1 << 20), ==, 0);
    const char *fmt[] = {cs_prog,
                         "luksFormat",
                         "--type",
                         "luks1",
                         "--batch-mode",
                         "--key-file",
                         pass,
                         "--pbkdf-force-iterations",
                         "1000",
                         "-c",
                         tc->spec,
                         "-s",
                         tc->bits,
                         "-h",
                         tc->hash,
                         "--header",
                         hdr,
                         img,
                         NULL};
    if (!run(fmt, NULL)) {
        g_test_skip("cryptsetup cannot format this spec here");
        goto out;
    }
    const char *dumpv[] = {cs_prog,
                           "luksDump",
                           "--dump-volume-key",
                           "--batch-mode",
                           "--key-file",
                           pass,
                           hdr,
                           NULL};
    g_assert_true(run(dumpv, &dump));
    want = parse_mk_dump(dump);
    g_assert_true(g_file_get_contents(hdr, (char **)&h, &hlen, NULL));
    g_assert_cmpuint(hlen, >=, 4096);

    {
        char name[33] = "";
        char mode[33] = "";
        char hash[33] = "";
        const guint8 *slot = h + 208;
        guint32 kb = be32(h + 108);
        guint32 iters = be32(slot + 4);
        guint32 off = be32(slot + 40);
        guint32 stripes = be32(slot + 44);
        size_t len = ((size_t)kb * stripes + 511) / 512 * 512;
        g_autofree guint8 *mat = NULL;
        guint8 dk[64];
        guint8 key[64];
        guint8 digest[20];
        g_autofree char *got = NULL;
        g_autoptr(LbBlockCipher) c = NULL;
        LbHashAlg alg;

        memcpy(name, h + 8, 32);
        memcpy(mode, h + 40, 32);
        memcpy(hash, h + 72, 32);
        g_assert_cmpuint(be32(slot), ==, 0x00ac71f3);
        g_assert_cmpuint(kb, <=, sizeof(key));
        g_assert_cmpuint((size_t)off * 512 + len, <=, hlen);
        g_assert_true(lb_hash_from_name(hash, &alg, &err));
        g_assert_no_error(err);
        g_assert_true(
            lb_pbkdf2(alg, "peer pass", 9, slot + 8, 32, iters, dk, kb, &err));
        mat = g_memdup2(h + (size_t)off * 512, len);
        c = lb_block_cipher_new(name, mode, dk, kb, &err);
        g_assert_no_error(err);
        g_assert_cmpint(lb_block_cipher_decrypt(c, 0, 512, mat, mat, len), ==,
                        0);
        g_assert_true(lb_afsplit_decode(alg, kb, stripes, mat, key, &err));
        g_assert_true(lb_pbkdf2(alg, key, kb, h + 132, 32, be32(h + 164),
                                digest, sizeof(digest), &err));
        g_assert_cmpmem(digest, sizeof(digest), h + 112, 20);
        got = g_malloc0(2 * kb + 1);
        for (guint32 i = 0; i < kb; i++) {
            g_snprintf(got + 2 * i, 3, "%02x", key[i]);
        }
        g_assert_cmpstr(got, ==, want);
    }
out:
    g_unlink(pass);
    g_unlink(hdr);
    g_unlink(img);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    cs_prog = g_find_program_in_path("cryptsetup");
    for (unsigned i = 0; i < G_N_ELEMENTS(peer_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/crypto/peers/cryptsetup/%s-%s-%s", peer_cases[i].spec,
            peer_cases[i].bits, peer_cases[i].hash);
        g_test_add_data_func(path, &peer_cases[i], test_peer_unlock);
    }
    return g_test_run();
}
