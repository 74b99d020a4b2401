/*
 * luks-engine-tool.c: a tiny test driver of the LUKS engine on a file, so
 * shell tests (tests/interop/test-cryptsetup-luks2.sh) can exercise the
 * engine directly against cryptsetup.  Built for tests only; the product
 * tools are luksblk-img and friends.
 *
 *   luks-engine-tool create   HDR KEYFILE [key=value...]
 *   luks-engine-tool dump-key HDR KEYFILE           (volume key in hex)
 *   luks-engine-tool info     HDR                   (key=value lines)
 *   luks-engine-tool add-key  HDR KEYFILE NEWKEYFILE
 *   luks-engine-tool remove-key HDR SLOT
 *   luks-engine-tool encrypt|decrypt HDR KEYFILE OFFSET IN OUT
 *
 * create options: version pbkdf sector detached label iterations memory
 * parallel time iter-time cipher-alg cipher-mode ivgen hdr-size uuid.
 * The passphrase is the key file's bytes (as cryptsetup --key-file).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb/crypto.h"
#include "lb/luks.h"
#include "lb/secret.h"
#include "crypto/block-luks-priv.h"

static bool f_read(void *o, uint64_t off, void *buf, size_t len, GError **errp)
{
    ssize_t n = pread(GPOINTER_TO_INT(o), buf, len, off);
    if (n != (ssize_t)len) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED,
                    "short read at %" G_GUINT64_FORMAT, off);
        return false;
    }
    return true;
}

static bool f_write(void *o, uint64_t off, const void *buf, size_t len,
                    GError **errp)
{
    ssize_t n = pwrite(GPOINTER_TO_INT(o), buf, len, off);
    if (n != (ssize_t)len) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED, "short write");
        return false;
    }
    return true;
}

static int64_t f_length(void *o, GError **errp)
{
    off_t end = lseek(GPOINTER_TO_INT(o), 0, SEEK_END);
    if (end < 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED, "lseek failed");
    }
    return end;
}

static bool f_truncate(void *o, uint64_t size, GError **errp)
{
    if (ftruncate(GPOINTER_TO_INT(o), size) < 0) {
        g_set_error(errp, LB_LUKS_ERROR, LB_LUKS_ERROR_FAILED, "truncate: %s",
                    g_strerror(errno));
        return false;
    }
    return true;
}

static bool f_flush(void *o, GError **errp)
{
    return fsync(GPOINTER_TO_INT(o)) == 0;
}

static LbLuksIO file_io(const char *path, bool create)
{
    int fd = open(path, O_RDWR | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        g_printerr("%s: %s\n", path, g_strerror(errno));
        exit(1);
    }
    LbLuksIO io = {.read = f_read,
                   .write = f_write,
                   .length = f_length,
                   .truncate = f_truncate,
                   .flush = f_flush,
                   .opaque = GINT_TO_POINTER(fd)};
    return io;
}

static LbSecret *key_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        g_printerr("%s\n", err->message);
        exit(1);
    }
    LbSecret *s = lb_secret_new_from(data, len);
    lb_memzero(data, len);
    return s;
}

static G_NORETURN void die(GError *err)
{
    g_printerr("error: %s (code %d)\n", err->message, err->code);
    exit(err->domain == LB_LUKS_ERROR &&
                 err->code == LB_LUKS_ERROR_BAD_PASSPHRASE
             ? 2
             : 1);
}

static uint64_t num(const char *s)
{
    return g_ascii_strtoull(s, NULL, 0);
}

static int do_create(int argc, char **argv)
{
    LbLuksCreateOpts o = {.version = 2};
    LbLuksIO io = file_io(argv[2], true);
    g_autoptr(LbSecret) pass = key_file(argv[3]);
    g_autoptr(GError) err = NULL;

    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        const char *v = eq ? eq + 1 : "1";
        if (eq) {
            *eq = '\0';
        }
        const char *k = argv[i];
        if (g_str_equal(k, "version"))
            o.version = num(v);
        else if (g_str_equal(k, "pbkdf"))
            o.pbkdf = v;
        else if (g_str_equal(k, "sector"))
            o.sector_size = num(v);
        else if (g_str_equal(k, "detached"))
            o.detached = num(v) != 0;
        else if (g_str_equal(k, "label"))
            o.label = v;
        else if (g_str_equal(k, "subsystem"))
            o.subsystem = v;
        else if (g_str_equal(k, "iterations"))
            o.iterations = num(v);
        else if (g_str_equal(k, "memory"))
            o.pbkdf_memory_kib = num(v);
        else if (g_str_equal(k, "parallel"))
            o.pbkdf_parallel = num(v);
        else if (g_str_equal(k, "time"))
            o.pbkdf_time = num(v);
        else if (g_str_equal(k, "iter-time"))
            o.iter_time_ms = num(v);
        else if (g_str_equal(k, "cipher-alg"))
            o.cipher_alg = v;
        else if (g_str_equal(k, "cipher-mode"))
            o.cipher_mode = v;
        else if (g_str_equal(k, "ivgen"))
            o.ivgen_alg = v;
        else if (g_str_equal(k, "hash"))
            o.hash_alg = v;
        else if (g_str_equal(k, "hdr-size"))
            o.hdr_size = num(v);
        else if (g_str_equal(k, "payload-offset"))
            o.payload_offset = num(v);
        else if (g_str_equal(k, "uuid"))
            o.uuid = v;
        else {
            g_printerr("unknown option %s\n", k);
            return 1;
        }
    }
    g_autoptr(LbLuks) l = lb_luks_create(&io, &o, pass, &err);
    if (!l) {
        die(err);
    }
    return 0;
}

static LbLuks *open_keys(const char *hdr, const char *kf, unsigned flags)
{
    LbLuksIO io = file_io(hdr, false);
    g_autoptr(LbSecret) pass = kf ? key_file(kf) : NULL;
    g_autoptr(GError) err = NULL;
    LbLuks *l =
        lb_luks_open(&io, pass, kf ? flags : LB_LUKS_OPEN_NO_KEYS, &err);
    if (!l) {
        die(err);
    }
    return l;
}

static void print_info(LbLuks *l)
{
    g_autoptr(LbLuksInfo) i = lb_luks_get_info(l);

    printf("version=%u\ncipher=%s\nkey-bytes=%u\nsector-size=%u\n"
           "payload-offset=%" G_GUINT64_FORMAT "\nseqid=%" G_GUINT64_FORMAT
           "\nlabel=%s\nuuid=%s\nhdr-size=%" G_GUINT64_FORMAT
           "\nkeyslots-size=%" G_GUINT64_FORMAT "\nactive=%u\n",
           i->version, i->cipher_spec, i->key_bytes, i->sector_size,
           i->payload_offset, i->seqid, i->label ? i->label : "", i->uuid,
           i->hdr_size, i->keyslots_size, i->n_slots);
    for (unsigned s = 0; s < i->n_slots; s++) {
        printf("slot%d=%s\n", i->slots[s].id,
               i->slots[s].kdf ? i->slots[s].kdf : "");
    }
}

static int do_crypt(bool enc, char **argv)
{
    g_autoptr(LbLuks) l = open_keys(argv[2], argv[3], LB_LUKS_OPEN_READ_ONLY);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(argv[5], &data, &len, &err)) {
        die(err);
    }
    int r = enc ? lb_luks_encrypt(l, num(argv[4]), data, data, len)
                : lb_luks_decrypt(l, num(argv[4]), data, data, len);
    if (r < 0) {
        g_printerr("crypt: %s\n", g_strerror(-r));
        return 1;
    }
    if (!g_file_set_contents(argv[6], data, len, &err)) {
        die(err);
    }
    return 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    const char *cmd = argc > 2 ? argv[1] : "";

    if (g_str_equal(cmd, "create") && argc >= 4) {
        return do_create(argc, argv);
    } else if (g_str_equal(cmd, "dump-key") && argc == 4) {
        g_autoptr(LbLuks) l =
            open_keys(argv[2], argv[3], LB_LUKS_OPEN_READ_ONLY);
        for (size_t i = 0; i < lb_secret_len(l->master_key); i++) {
            printf("%02x", lb_secret_cdata(l->master_key)[i]);
        }
        printf("\n");
        return 0;
    } else if (g_str_equal(cmd, "info") && argc == 3) {
        g_autoptr(LbLuks) l = open_keys(argv[2], NULL, 0);
        print_info(l);
        return 0;
    } else if (g_str_equal(cmd, "add-key") && argc == 5) {
        g_autoptr(LbLuks) l = open_keys(argv[2], argv[3], 0);
        g_autoptr(LbSecret) np = key_file(argv[4]);
        int slot = lb_luks_add_key(l, np, -1, 10, &err);
        if (slot < 0) {
            die(err);
        }
        printf("%d\n", slot);
        return 0;
    } else if (g_str_equal(cmd, "remove-key") && argc == 4) {
        LbLuksIO io = file_io(argv[2], false);
        g_autoptr(LbLuks) l =
            lb_luks_open(&io, NULL, LB_LUKS_OPEN_NO_KEYS, &err);
        if (!l || !lb_luks_remove_key(l, (int)num(argv[3]), &err)) {
            die(err);
        }
        return 0;
    } else if ((g_str_equal(cmd, "encrypt") || g_str_equal(cmd, "decrypt")) &&
               argc == 7) {
        return do_crypt(g_str_equal(cmd, "encrypt"), argv);
    }
    g_printerr("usage: see the comment at the top of luks-engine-tool.c\n");
    return 1;
}
