/*
 * test-crypto-block-peers.c: the LUKS1 engine against cryptsetup and QEMU.
 *
 * Byte-level interop of the engine with the two reference implementations
 * (DESIGN.md "Compatibility contract"), run at test time:
 *   - headers cryptsetup formats open here with the volume key that
 *     `cryptsetup luksDump --dump-volume-key` prints; keyslots added here
 *     open in cryptsetup;
 *   - headers written here pass `cryptsetup isLuks`, `luksDump` and
 *     `open --test-passphrase`, yield the same volume key and are left
 *     byte-identical by those read-only commands;
 *   - images qemu-img/qemu-io create and write decrypt here to the same
 *     bytes, and images written here read back in qemu-io (attached and
 *     detached header), with `qemu-img info` fields equal to ours.
 * Each case is skipped when its tool is missing or (cryptsetup) needs a
 * kernel cipher the machine lacks.  cryptsetup never activates anything.
 */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "luks-test-io.h"

static char *cs_prog, *qimg_prog, *qio_prog;

/* Run @prog with @args; stdout in *@out when non-NULL.  Returns the exit
 * status, -1 when it could not run. */
static int peer_run(const char *prog, const char *const *args, char **out)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *err = NULL;
    g_autofree char *so = NULL;
    int status = 0;

    g_ptr_array_add(argv, (char *)prog);
    for (unsigned i = 0; args[i]; i++) {
        g_ptr_array_add(argv, (char *)args[i]);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL,
                      NULL, &so, &err, &status, NULL) ||
        !WIFEXITED(status)) {
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        g_test_message("%s %s: %s%s", prog, args[0], so, err);
    }
    if (out) {
        *out = g_steal_pointer(&so);
    }
    return WEXITSTATUS(status);
}

typedef struct TmpDir {
    char *dir, *pass, *hdr, *data;
} TmpDir;

static void tmp_dir_clear(TmpDir *d)
{
    if (d->dir) {
        g_unlink(d->pass);
        g_unlink(d->hdr);
        g_unlink(d->data);
        g_rmdir(d->dir);
    }
    g_free(d->dir);
    g_free(d->pass);
    g_free(d->hdr);
    g_free(d->data);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TmpDir, tmp_dir_clear)

static void tmp_dir_init(TmpDir *d, const char *pass)
{
    d->dir = g_dir_make_tmp("lb-luks1-XXXXXX", NULL);
    g_assert_nonnull(d->dir);
    d->pass = g_build_filename(d->dir, "pass", NULL);
    d->hdr = g_build_filename(d->dir, "hdr", NULL);
    d->data = g_build_filename(d->dir, "data", NULL);
    g_assert_true(g_file_set_contents(d->pass, pass, -1, NULL));
}

static void pattern_fill(guint8 *buf, size_t len, guint8 v)
{
    memset(buf, v, len);
}

/* ---- cryptsetup ------------------------------------------------------------
 */

/* The volume key cryptsetup dumps for @hdr (hex bytes after "MK dump:"). */
static GByteArray *cs_dump_key(const char *hdr, const char *passfile)
{
    const char *args[] = {"luksDump",
                          "--dump-volume-key",
                          "--batch-mode",
                          "--key-file",
                          passfile,
                          hdr,
                          NULL};
    g_autofree char *out = NULL;
    GByteArray *key = g_byte_array_new();

    g_assert_cmpint(peer_run(cs_prog, args, &out), ==, 0);
    const char *p = strstr(out, "MK dump:");
    g_assert_nonnull(p);
    g_auto(GStrv) tok = g_strsplit_set(p + 8, " \t\n", -1);
    for (unsigned i = 0; tok[i]; i++) {
        if (!tok[i][0]) {
            continue;
        }
        if (strlen(tok[i]) != 2 || !g_ascii_isxdigit(tok[i][0]) ||
            !g_ascii_isxdigit(tok[i][1])) {
            break;
        }
        guint8 b = g_ascii_xdigit_value(tok[i][0]) << 4 |
                   g_ascii_xdigit_value(tok[i][1]);
        g_byte_array_append(key, &b, 1);
    }
    return key;
}

typedef struct CsCase {
    const char *name;
    const char *spec, *bits, *hash; /* cryptsetup -c -s -h, NULL = default */
    bool detached;
    uint64_t want_payload; /* bytes */
} CsCase;

static const CsCase cs_cases[] = {
    {"default-detached", NULL, NULL, NULL, true, 0},
    {"default-attached", NULL, NULL, NULL, false, 4096 * 512},
    {"cbc-essiv-128-sha1", "aes-cbc-essiv:sha256", "128", "sha1", false,
     2048 * 512},
    {"cbc-essiv-192", "aes-cbc-essiv:sha256", "192", NULL, true, 0},
    {"xts-256-sha512", "aes-xts-plain64", "256", "sha512", true, 0},
    {"cbc-plain-256-sha224", "aes-cbc-plain", "256", "sha224", true, 0},
    {"cbc-plain64be-256", "aes-cbc-plain64be", "256", NULL, true, 0},
    {"cbc-benbi-128-ripemd160", "aes-cbc-benbi", "128", "ripemd160", true, 0},
    {"cbc-null-256-sha384", "aes-cbc-null", "256", "sha384", true, 0},
    {"ecb-128", "aes-ecb", "128", NULL, true, 0},
    {"twofish-cbc", "twofish-cbc-plain64", "256", NULL, true, 0},
    {"serpent-xts", "serpent-xts-plain64", "512", NULL, true, 0},
    {"cast5-cbc", "cast5-cbc-plain64", "128", NULL, true, 0},
};

/* Headers cryptsetup writes open here with the volume key it reports. */
static void test_cs_open(gconstpointer data)
{
    const CsCase *c = data;
    g_auto(TmpDir) d = {0};
    g_autoptr(GError) err = NULL;

    if (!cs_prog) {
        g_test_skip("cryptsetup not installed");
        return;
    }
    tmp_dir_init(&d, "cs pass");
    g_autofree guint8 *zero = g_malloc0(4 << 20);
    g_assert_true(g_file_set_contents(d.data, (char *)zero, 4 << 20, NULL));
    const char *args[20] = {"luksFormat",
                            "--type",
                            "luks1",
                            "--batch-mode",
                            "--pbkdf-force-iterations",
                            "1000",
                            "--key-file",
                            d.pass};
    unsigned n = 8;
    if (c->spec) {
        args[n++] = "-c";
        args[n++] = c->spec;
    }
    if (c->bits) {
        args[n++] = "-s";
        args[n++] = c->bits;
    }
    if (c->hash) {
        args[n++] = "-h";
        args[n++] = c->hash;
    }
    if (c->detached) {
        args[n++] = "--header";
        args[n++] = d.hdr;
    }
    args[n++] = d.data;
    if (peer_run(cs_prog, args, NULL) != 0) {
        g_test_skip("cryptsetup cannot format this cipher here");
        return;
    }
    const char *hdr = c->detached ? d.hdr : d.data;
    g_autoptr(GByteArray) want = cs_dump_key(hdr, d.pass);
    g_autoptr(MemDev) m = mem_load(hdr);
    LbLuksIO io = mem_io(m);
    g_autoptr(LbSecret) p = pass_new("cs pass");
    g_autoptr(LbLuks) l =
        lb_luks_open(&io, p, c->detached ? LB_LUKS_OPEN_DETACHED : 0, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(lb_secret_cdata(l->master_key),
                    lb_secret_len(l->master_key), want->data, want->len);
    g_assert_cmpuint(lb_luks_payload_offset(l), ==, c->want_payload);
    g_assert_cmpuint(lb_luks_header_size(l), <=, m->buf->len);
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l);
    g_assert_cmpint(info->detached_header, ==, c->detached);

    /* A slot added here opens in cryptsetup; a removed one no longer. */
    g_autoptr(LbSecret) p2 = pass_new("second");
    g_assert_cmpint(lb_luks_add_key(l, p2, -1, 1, &err), ==, 1);
    g_assert_true(lb_luks_remove_key(l, 0, &err));
    g_assert_no_error(err);
    mem_save(m, hdr, 0);
    g_assert_true(g_file_set_contents(d.pass, "second", -1, NULL));
    const char *test_args[] = {
        "open", "--test-passphrase", "--key-file", d.pass, hdr, NULL};
    g_assert_cmpint(peer_run(cs_prog, test_args, NULL), ==, 0);
    g_autoptr(GByteArray) again = cs_dump_key(hdr, d.pass);
    g_assert_cmpmem(again->data, again->len, want->data, want->len);
    g_assert_true(g_file_set_contents(d.pass, "cs pass", -1, NULL));
    g_assert_cmpint(peer_run(cs_prog, test_args, NULL), !=, 0);
}

typedef struct SpecCase {
    const char *alg, *mode, *ivgen, *ivhash, *hash;
    bool detached;
} SpecCase;

/* Create options cryptsetup (AES through the kernel API here) and, for
 * the qemu tests, QEMU accept. */
static const SpecCase cs_specs[] = {
    {"aes-256", "xts", "plain64", NULL, "sha256", true},
    {"aes-256", "xts", "plain64", NULL, "sha256", false},
    {"aes-128", "xts", "plain", NULL, "sha1", false},
    {"aes-128", "cbc", "essiv", "sha256", "sha512", true},
    {"aes-192", "cbc", "essiv", "sha256", "sha256", false},
    {"aes-256", "cbc", "plain64be", NULL, "sha224", true},
    {"aes-128", "cbc", "benbi", NULL, "ripemd160", true},
    {"aes-256", "xts", "null", NULL, "sha384", false},
    {"aes-128", "ecb", NULL, NULL, "sha256", true},
};

/* Headers written here pass cryptsetup's checks and unlock there. */
static void test_cs_check(gconstpointer data)
{
    const SpecCase *c = data;
    g_auto(TmpDir) d = {0};
    g_autofree char *out = NULL;

    if (!cs_prog) {
        g_test_skip("cryptsetup not installed");
        return;
    }
    LbLuksCreateOpts opts = {
        .cipher_alg = c->alg,
        .cipher_mode = c->mode,
        .ivgen_alg = c->ivgen,
        .ivgen_hash_alg = c->ivhash,
        .hash_alg = c->hash,
        .iterations = 1000,
        .detached = c->detached,
    };
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "cs pass");
    tmp_dir_init(&d, "cs pass");
    mem_save(m, d.hdr, c->detached ? 0 : 1 << 20);
    g_autofree char *before = NULL;
    gsize before_len = 0;
    g_assert_true(g_file_get_contents(d.hdr, &before, &before_len, NULL));

    const char *is_args[] = {"isLuks", "--type", "luks1", d.hdr, NULL};
    g_assert_cmpint(peer_run(cs_prog, is_args, NULL), ==, 0);
    const char *dump_args[] = {"luksDump", d.hdr, NULL};
    g_assert_cmpint(peer_run(cs_prog, dump_args, &out), ==, 0);
    g_autofree char *want_off =
        g_strdup_printf("Payload offset:\t%" G_GUINT64_FORMAT "\n",
                        lb_luks_payload_offset(l) / 512);
    g_assert_nonnull(strstr(out, want_off));
    const char *test_args[] = {
        "open", "--test-passphrase", "--key-file", d.pass, d.hdr, NULL};
    g_assert_cmpint(peer_run(cs_prog, test_args, NULL), ==, 0);
    if (c->detached) {
        g_autofree guint8 *zero = g_malloc0(1 << 20);
        g_assert_true(g_file_set_contents(d.data, (char *)zero, 1 << 20, NULL));
        const char *hdr_args[] = {"open",       "--test-passphrase",
                                  "--key-file", d.pass,
                                  "--header",   d.hdr,
                                  d.data,       NULL};
        g_assert_cmpint(peer_run(cs_prog, hdr_args, NULL), ==, 0);
    }
    g_autoptr(GByteArray) key = cs_dump_key(d.hdr, d.pass);
    g_assert_cmpmem(key->data, key->len, lb_secret_cdata(l->master_key),
                    lb_secret_len(l->master_key));
    g_autofree char *after = NULL;
    gsize after_len = 0;
    g_assert_true(g_file_get_contents(d.hdr, &after, &after_len, NULL));
    g_assert_cmpmem(after, after_len, before, before_len);

    /* Keyslot edits by cryptsetup are read here: a key it adds opens, the
     * slot it kills no longer does. */
    g_autofree char *newpass = g_build_filename(d.dir, "newpass", NULL);
    g_assert_true(g_file_set_contents(newpass, "new pass", -1, NULL));
    const char *add_args[] = {
        "luksAddKey", "--batch-mode", "--pbkdf-force-iterations",
        "1000",       "--key-file",   d.pass,
        d.hdr,        newpass,        NULL};
    g_assert_cmpint(peer_run(cs_prog, add_args, NULL), ==, 0);
    const char *kill_args[] = {"luksKillSlot",
                               "--batch-mode",
                               "--key-file",
                               newpass,
                               d.hdr,
                               "0",
                               NULL};
    g_assert_cmpint(peer_run(cs_prog, kill_args, NULL), ==, 0);
    g_autoptr(MemDev) e = mem_load(d.hdr);
    assert_opens(e, "new pass", l->master_key, 1);
    g_autoptr(LbSecret) old = pass_new("cs pass");
    g_autoptr(GError) err = NULL;
    LbLuksIO io = mem_io(e);
    g_autoptr(LbLuks) gone =
        lb_luks_open(&io, old, c->detached ? LB_LUKS_OPEN_DETACHED : 0, &err);
    g_assert_null(gone);
    g_assert_error(err, LB_LUKS_ERROR, LB_LUKS_ERROR_BAD_PASSPHRASE);
    g_unlink(newpass);
}

/* ---- QEMU ------------------------------------------------------------------
 */

/* QEMU takes no bare ecb, no 24-byte keys, no plain64be/benbi/null IVs
 * (LUKS-FORMAT.md §5.1), but all its ciphers are in userspace. */
static const SpecCase qemu_specs[] = {
    {"aes-256", "xts", "plain64", NULL, "sha256", false},
    {"aes-256", "xts", "plain64", NULL, "sha256", true},
    {"aes-128", "cbc", "essiv", "sha256", "sha1", false},
    {"aes-128", "xts", "plain", NULL, "sha512", true},
    {"aes-256", "cbc", "plain64", NULL, "ripemd160", false},
    {"serpent-256", "xts", "plain64", NULL, "sha384", true},
    {"twofish-128", "cbc", "essiv", "sha256", "sha224", false},
    {"cast5-128", "cbc", "plain64", NULL, "sha256", true},
};

static char *qemu_image_arg(const TmpDir *d, bool detached, bool key)
{
    if (detached) {
        return g_strdup_printf(
            "json:{\"driver\":\"luks\",\"file\":{\"driver\":\"file\","
            "\"filename\":\"%s\"},\"header\":{\"driver\":\"file\","
            "\"filename\":\"%s\"}%s}",
            d->data, d->hdr, key ? ",\"key-secret\":\"s0\"" : "");
    }
    return g_strdup_printf("json:{\"driver\":\"luks\",\"file\":{\"driver\":"
                           "\"file\",\"filename\":\"%s\"}%s}",
                           d->hdr, key ? ",\"key-secret\":\"s0\"" : "");
}

#define QEMU_SECRET "secret,id=s0,data=qemu pass"

/* `qemu-img info --output=json` matches what the engine reports. */
static void check_qemu_info(const TmpDir *d, bool detached, LbLuks *l)
{
    g_autofree char *image = qemu_image_arg(d, detached, false);
    const char *args[] = {"info", "--output=json", image, NULL};
    g_autofree char *out = NULL;
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(l);
    g_autoptr(JsonParser) parser = json_parser_new();

    g_assert_cmpint(peer_run(qimg_prog, args, &out), ==, 0);
    g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(parser));
    JsonObject *fs = json_object_get_object_member(o, "format-specific");
    g_assert_cmpstr(json_object_get_string_member(fs, "type"), ==, "luks");
    JsonObject *q = json_object_get_object_member(fs, "data");

    g_assert_cmpstr(json_object_get_string_member(q, "cipher-alg"), ==,
                    info->cipher_alg);
    g_assert_cmpstr(json_object_get_string_member(q, "cipher-mode"), ==,
                    info->cipher_mode);
    g_assert_cmpstr(json_object_get_string_member(q, "ivgen-alg"), ==,
                    info->ivgen_alg);
    g_assert_cmpstr(
        json_object_get_string_member_with_default(q, "ivgen-hash-alg", NULL),
        ==, info->ivgen_hash_alg);
    g_assert_cmpstr(json_object_get_string_member(q, "hash-alg"), ==,
                    info->hash_alg);
    g_assert_cmpstr(json_object_get_string_member(q, "uuid"), ==, info->uuid);
    g_assert_cmpint(json_object_get_boolean_member(q, "detached-header"), ==,
                    info->detached_header);
    g_assert_cmpuint(json_object_get_int_member(q, "payload-offset"), ==,
                     info->payload_offset);
    g_assert_cmpuint(json_object_get_int_member(q, "master-key-iters"), ==,
                     info->master_key_iters);
    JsonArray *slots = json_object_get_array_member(q, "slots");
    g_assert_cmpuint(json_array_get_length(slots), ==, info->n_slots);
    for (unsigned i = 0; i < info->n_slots; i++) {
        JsonObject *s = json_array_get_object_element(slots, i);
        const LbLuksSlotInfo *si = &info->slots[i];
        g_assert_cmpint(json_object_get_boolean_member(s, "active"), ==,
                        si->active);
        g_assert_cmpuint(json_object_get_int_member(s, "key-offset"), ==,
                         si->key_offset);
        if (si->active) {
            g_assert_cmpuint(json_object_get_int_member(s, "iters"), ==,
                             si->iters);
            g_assert_cmpuint(json_object_get_int_member(s, "stripes"), ==,
                             si->stripes);
        }
    }
}

enum { QDATA = 1 << 20, QOFF = 3 * 512, QLEN = 64 * 1024 };

/* Images QEMU creates and writes decrypt here. */
static void test_qemu_made(gconstpointer data)
{
    const SpecCase *c = data;
    g_auto(TmpDir) d = {0};
    g_autoptr(GError) err = NULL;

    if (!qimg_prog || !qio_prog) {
        g_test_skip("qemu-img/qemu-io not installed");
        return;
    }
    tmp_dir_init(&d, "qemu pass");
    g_autofree char *o = g_strdup_printf(
        "key-secret=s0,iter-time=10,cipher-alg=%s,cipher-mode=%s,"
        "ivgen-alg=%s%s%s,hash-alg=%s",
        c->alg, c->mode, c->ivgen, c->ivhash ? ",ivgen-hash-alg=" : "",
        c->ivhash ? c->ivhash : "", c->hash);
    const char *cargs[] = {"create",   "-q",        "-f", "luks",
                           "--object", QEMU_SECRET, "-o", o,
                           d.hdr,      "1M",        NULL};
    g_assert_cmpint(peer_run(qimg_prog, cargs, NULL), ==, 0);
    g_autofree char *image = qemu_image_arg(&d, false, true);
    g_autofree char *cmd = g_strdup_printf("write -P 0xa5 %d %d", QOFF, QLEN);
    const char *wargs[] = {"--object", QEMU_SECRET, "-c", cmd, image, NULL};
    g_assert_cmpint(peer_run(qio_prog, wargs, NULL), ==, 0);

    g_autoptr(MemDev) m = mem_load(d.hdr);
    LbLuksIO io = mem_io(m);
    g_autoptr(LbSecret) p = pass_new("qemu pass");
    g_autoptr(LbLuks) l = lb_luks_open(&io, p, 0, &err);
    g_assert_no_error(err);
    uint64_t af = lb_luks_af_sectors(lb_secret_len(l->master_key));
    g_assert_cmpuint(lb_luks_payload_offset(l), ==,
                     (8 + 8 * ((af + 7) / 8 * 8)) * 512);
    uint64_t at = lb_luks_payload_offset(l) + QOFF;
    g_assert_cmpuint(m->buf->len, >=, at + QLEN);
    g_autofree guint8 *want = g_malloc(QLEN);
    pattern_fill(want, QLEN, 0xa5);
    g_assert_cmpint(
        lb_luks_decrypt(l, QOFF, m->buf->data + at, m->buf->data + at, QLEN),
        ==, 0);
    g_assert_cmpmem(m->buf->data + at, QLEN, want, QLEN);
    check_qemu_info(&d, false, l);
}

/* Images written here read back in qemu-io. */
static void test_qemu_reads_ours(gconstpointer data)
{
    const SpecCase *c = data;
    g_auto(TmpDir) d = {0};
    g_autofree char *out = NULL;

    if (!qimg_prog || !qio_prog) {
        g_test_skip("qemu-img/qemu-io not installed");
        return;
    }
    LbLuksCreateOpts opts = {
        .cipher_alg = c->alg,
        .cipher_mode = c->mode,
        .ivgen_alg = c->ivgen,
        .ivgen_hash_alg = c->ivhash,
        .hash_alg = c->hash,
        .iterations = 1000,
        .detached = c->detached,
    };
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) l = create_on(m, &opts, "qemu pass");
    tmp_dir_init(&d, "qemu pass");
    g_autofree guint8 *payload = g_malloc0(QDATA);
    pattern_fill(payload + QOFF, QLEN, 0x5a);
    g_assert_cmpint(
        lb_luks_encrypt(l, QOFF, payload + QOFF, payload + QOFF, QLEN), ==, 0);
    if (c->detached) {
        mem_save(m, d.hdr, 0);
        g_assert_true(
            g_file_set_contents(d.data, (char *)payload, QDATA, NULL));
    } else {
        g_assert_cmpuint(m->buf->len, ==, lb_luks_payload_offset(l));
        g_byte_array_append(m->buf, payload, QDATA);
        mem_save(m, d.hdr, 0);
    }
    g_autofree char *image = qemu_image_arg(&d, c->detached, true);
    g_autofree char *cmd = g_strdup_printf("read -P 0x5a %d %d", QOFF, QLEN);
    const char *rargs[] = {"--object", QEMU_SECRET, "-c", cmd, image, NULL};
    g_assert_cmpint(peer_run(qio_prog, rargs, &out), ==, 0);
    g_assert_null(strstr(out, "Pattern verification failed"));
    check_qemu_info(&d, c->detached, l);
}

static void add_spec_tests(const char *prefix, const SpecCase *cases, size_t n,
                           GTestDataFunc fn)
{
    for (size_t i = 0; i < n; i++) {
        const SpecCase *c = &cases[i];
        g_autofree char *path =
            g_strdup_printf("/crypto/block/luks1/%s/%s-%s-%s%s%s-%s-%s", prefix,
                            c->alg, c->mode, c->ivgen ? c->ivgen : "none",
                            c->ivhash ? "_" : "", c->ivhash ? c->ivhash : "",
                            c->hash, c->detached ? "detached" : "attached");
        g_test_add_data_func(path, c, fn);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    cs_prog = g_find_program_in_path("cryptsetup");
    qimg_prog = g_find_program_in_path("qemu-img");
    qio_prog = g_find_program_in_path("qemu-io");
    for (unsigned i = 0; i < G_N_ELEMENTS(cs_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/crypto/block/luks1/cryptsetup-made/%s", cs_cases[i].name);
        g_test_add_data_func(path, &cs_cases[i], test_cs_open);
    }
    add_spec_tests("cryptsetup-check", cs_specs, G_N_ELEMENTS(cs_specs),
                   test_cs_check);
    /* qemu-img 10.0 refuses detached-header=on in `create` (only QMP
     * blockdev-create has it), so QEMU-made images are attached ones;
     * the reverse direction covers detached headers. */
    for (unsigned i = 0; i < G_N_ELEMENTS(qemu_specs); i++) {
        if (!qemu_specs[i].detached) {
            add_spec_tests("qemu-made", &qemu_specs[i], 1, test_qemu_made);
        }
    }
    add_spec_tests("qemu-reads-ours", qemu_specs, G_N_ELEMENTS(qemu_specs),
                   test_qemu_reads_ours);
    return g_test_run();
}
