/*
 * tools/img-reencrypt.c: luksblk-img reencrypt (argument parsing and
 * messages only; the work is in block/crypto-reencrypt.c and the engine
 * crypto/block-luks2-reencrypt.c).
 *
 *   luksblk-img reencrypt [--object OBJDEF]... --key-secret ID
 *       [--new-key-secret ID] [--encrypt | --decrypt] [--header HDR]
 *       [--cipher SPEC] [--key-size BITS] [--sector-size N]
 *       [--resilience checksum|journal|datashift|none]
 *       [--hotzone-size SIZE] [--reduce-device-size SIZE] [--iter-time MS]
 *       [--pbkdf KDF] [--init-only | --resume-only | --repair] [-p] [-q]
 *       DEVICE
 *
 * cryptsetup's vocabulary: without --encrypt/--decrypt it re-keys.
 * SIGINT and SIGTERM stop after the current hotzone with a clean,
 * resumable header (exit status 2, as an interrupted cryptsetup).
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "lb/opts.h"
#include "lb/reencrypt.h"

enum {
    RE_KEY_SECRET = 512,
    RE_NEW_KEY_SECRET,
    RE_ENCRYPT,
    RE_DECRYPT,
    RE_HEADER,
    RE_CIPHER,
    RE_KEY_SIZE,
    RE_SECTOR_SIZE,
    RE_RESILIENCE,
    RE_HOTZONE,
    RE_REDUCE,
    RE_ITER_TIME,
    RE_PBKDF,
    RE_INIT_ONLY,
    RE_RESUME_ONLY,
    RE_REPAIR,
};

static volatile sig_atomic_t re_stop;

static void re_on_signal(int sig)
{
    (void)sig;
    re_stop = 1;
}

static void re_progress(void *opaque, uint64_t done, uint64_t total)
{
    (void)opaque;
    fprintf(stderr, "\r    (%.2f/100%%)", total ? 100.0 * done / total : 100);
    if (done == total) {
        fputc('\n', stderr);
    }
}

static void re_warn(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "luksblk-img: warning: %s\n", msg);
}

static bool re_uint(const char *what, const char *s, unsigned *out)
{
    guint64 v;

    if (!g_ascii_string_to_unsigned(s, 10, 1, G_MAXUINT32, &v, NULL)) {
        img_error("invalid %s '%s'", what, s);
        return false;
    }
    *out = (unsigned)v;
    return true;
}

int img_reencrypt(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "key-secret", required_argument, NULL, RE_KEY_SECRET },
        { "new-key-secret", required_argument, NULL, RE_NEW_KEY_SECRET },
        { "encrypt", no_argument, NULL, RE_ENCRYPT },
        { "decrypt", no_argument, NULL, RE_DECRYPT },
        { "header", required_argument, NULL, RE_HEADER },
        { "cipher", required_argument, NULL, RE_CIPHER },
        { "key-size", required_argument, NULL, RE_KEY_SIZE },
        { "sector-size", required_argument, NULL, RE_SECTOR_SIZE },
        { "resilience", required_argument, NULL, RE_RESILIENCE },
        { "hotzone-size", required_argument, NULL, RE_HOTZONE },
        { "reduce-device-size", required_argument, NULL, RE_REDUCE },
        { "iter-time", required_argument, NULL, RE_ITER_TIME },
        { "pbkdf", required_argument, NULL, RE_PBKDF },
        { "init-only", no_argument, NULL, RE_INIT_ONLY },
        { "resume-only", no_argument, NULL, RE_RESUME_ONLY },
        { "repair", no_argument, NULL, RE_REPAIR },
        { NULL, 0, NULL, 0 },
    };
    LbReencOpts o = { .stop = &re_stop, .warn = re_warn };
    const char *key = NULL, *new_key = NULL, *header = NULL;
    uint64_t reduce = 0;
    unsigned stages = 0, modes = 0, iter = 0;
    bool quiet = false;
    int c;

    while ((c = getopt_long(argc, argv, "hpq", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: luksblk-img reencrypt [--object OBJDEF]... "
                   "--key-secret ID [--new-key-secret ID]\n"
                   "    [--encrypt | --decrypt] [--header HDR] "
                   "[--cipher SPEC] [--key-size BITS]\n"
                   "    [--sector-size N] "
                   "[--resilience checksum|journal|datashift|none]\n"
                   "    [--hotzone-size SIZE] [--reduce-device-size SIZE] "
                   "[--iter-time MS] [--pbkdf KDF]\n"
                   "    [--init-only | --resume-only | --repair] [-p] [-q] "
                   "DEVICE\n");
            return 0;
        case IMG_OPT_OBJECT:
            if (!img_add_object(optarg)) {
                return 1;
            }
            break;
        case RE_KEY_SECRET: key = optarg; break;
        case RE_NEW_KEY_SECRET: new_key = optarg; break;
        case RE_ENCRYPT: o.mode = LB_REENC_ENCRYPT; modes++; break;
        case RE_DECRYPT: o.mode = LB_REENC_DECRYPT; modes++; break;
        case RE_HEADER: header = optarg; break;
        case RE_CIPHER: o.cipher = optarg; break;
        case RE_KEY_SIZE:
            if (!re_uint("key size", optarg, &o.key_bits)) {
                return 1;
            }
            break;
        case RE_SECTOR_SIZE:
            if (!re_uint("sector size", optarg, &o.sector_size)) {
                return 1;
            }
            break;
        case RE_RESILIENCE: o.resilience = optarg; break;
        case RE_HOTZONE:
        case RE_REDUCE: {
            g_autoptr(GError) err = NULL;
            uint64_t *dst = c == RE_HOTZONE ? &o.hotzone_size : &reduce;
            if (!lb_parse_size(optarg, dst, &err) || *dst == 0) {
                img_error("invalid size '%s'", optarg);
                return 1;
            }
            break;
        }
        case RE_ITER_TIME:
            if (!re_uint("iter-time", optarg, &iter)) {
                return 1;
            }
            o.iter_time_ms = iter;
            break;
        case RE_PBKDF: o.pbkdf = optarg; break;
        case RE_INIT_ONLY: o.stage = LB_REENC_INIT_ONLY; stages++; break;
        case RE_RESUME_ONLY: o.stage = LB_REENC_RESUME_ONLY; stages++; break;
        case RE_REPAIR: o.stage = LB_REENC_REPAIR; stages++; break;
        case 'p': o.progress = re_progress; break;
        case 'q': quiet = true; break;
        default:
            return img_usage_error("reencrypt", "invalid option");
        }
    }
    if (optind != argc - 1) {
        return img_usage_error("reencrypt", "expecting one DEVICE argument");
    }
    if (!key) {
        return img_usage_error("reencrypt", "--key-secret is required");
    }
    if (modes > 1 || stages > 1) {
        return img_usage_error("reencrypt",
                               modes > 1 ? "--encrypt and --decrypt "
                                           "exclude each other"
                                         : "--init-only, --resume-only and "
                                           "--repair exclude each other");
    }
    if (reduce || (o.resilience && g_str_has_prefix(o.resilience,
                                                    "datashift"))) {
        img_error("reencryption with data shift (--reduce-device-size, "
                  "datashift) is not supported yet");
        return 1;
    }
    if (o.mode == LB_REENC_ENCRYPT && !header) {
        img_error("--encrypt without --header needs --reduce-device-size "
                  "(data shift), which is not supported yet");
        return 1;
    }
    if (quiet) {
        o.progress = NULL;
    }

    struct sigaction sa = { .sa_handler = re_on_signal };
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    g_autoptr(GError) err = NULL;
    bool stopped = false;
    if (!lb_luks_reencrypt_files(argv[optind], header, key, new_key, &o,
                                 &stopped, &err)) {
        img_error("%s", err->message);
        return 1;
    }
    if (stopped) {
        fprintf(stderr, "luksblk-img: reencryption interrupted; resume it "
                        "with --resume-only\n");
        return 2;
    }
    return 0;
}
