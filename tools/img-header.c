/*
 * tools/img-header.c: luksblk-img header-backup, header-restore,
 * header-detach and header-attach (argument parsing and messages only;
 * the work is in block/crypto-header.c).
 *
 *   luksblk-img header-backup  [-y] IMAGE BACKUP     (luksHeaderBackup)
 *   luksblk-img header-restore [-y] [--force] IMAGE BACKUP
 *   luksblk-img header-detach  [-y] IMAGE HEADER
 *   luksblk-img header-attach  [-y] [--force] IMAGE HEADER
 *
 * cryptsetup's spellings work too: `luksblk-img luksHeaderBackup
 * --header-backup-file BACKUP IMAGE` and `luksHeaderRestore`.
 * Overwriting anything needs -y/--yes (or typing YES at a terminal prompt,
 * as cryptsetup asks); a header of another volume also needs --force.
 */
#include "config.h"
#include "img.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "lb/block.h"
#include "lb/header-ops.h"

typedef enum { HDR_BACKUP, HDR_RESTORE, HDR_DETACH, HDR_ATTACH } HdrOp;

static const struct {
    const char *cmd;
    const char *alias;         /* cryptsetup's name, or NULL */
    const char *second;        /* what the second file is */
    const char *question;      /* confirmation prompt */
} hdr_ops[] = {
    [HDR_BACKUP] = { "header-backup", "luksHeaderBackup", "BACKUP",
                     "overwrite the existing backup file" },
    [HDR_RESTORE] = { "header-restore", "luksHeaderRestore", "BACKUP",
                      "replace the LUKS header of the image" },
    [HDR_DETACH] = { "header-detach", NULL, "HEADER",
                     "wipe the LUKS header from the image" },
    [HDR_ATTACH] = { "header-attach", NULL, "HEADER",
                     "write the header over the start of the image" },
};

/* cryptsetup's interactive confirmation, only when stdin is a terminal. */
static bool ask_yes(const char *question, const char *image)
{
    char line[64];

    if (!isatty(STDIN_FILENO)) {
        return false;
    }
    fprintf(stderr, "WARNING: this will %s %s.\n"
                    "Are you sure? (Type 'yes' in capital letters): ",
            question, image);
    return fgets(line, sizeof(line), stdin) && strcmp(line, "YES\n") == 0;
}

static void hdr_usage(HdrOp op)
{
    printf("usage: luksblk-img %s [-y|--yes]%s IMAGE %s\n", hdr_ops[op].cmd,
           op == HDR_RESTORE || op == HDR_ATTACH ? " [--force]" : "",
           hdr_ops[op].second);
}

static int hdr_main(HdrOp op, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "yes", no_argument, NULL, 'y' },
        { "batch-mode", no_argument, NULL, 'q' },
        { "force", no_argument, NULL, IMG_OPT_FORCE },
        { "header-backup-file", required_argument, NULL, 'B' },
        { NULL, 0, NULL, 0 },
    };
    const char *cmd = hdr_ops[op].cmd;
    const char *second = NULL;
    bool yes = false, force = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "hyq", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            hdr_usage(op);
            return 0;
        case 'y':
        case 'q':
            yes = true;
            break;
        case IMG_OPT_FORCE:
            force = true;
            break;
        case 'B':
            second = optarg;
            break;
        default:
            return img_usage_error(cmd, "invalid option");
        }
    }
    if (!second && argc - optind == 2) {
        second = argv[optind + 1];
    } else if (!(second && argc - optind == 1)) {
        return img_usage_error(cmd, "Expecting IMAGE and %s",
                               hdr_ops[op].second);
    }
    const char *image = argv[optind];

    /* Ask up front only where something will certainly be overwritten. */
    bool overwrites = op == HDR_RESTORE || op == HDR_DETACH ||
                      (op == HDR_BACKUP && g_file_test(second,
                                                       G_FILE_TEST_EXISTS));
    if (overwrites && !yes) {
        yes = ask_yes(hdr_ops[op].question,
                      op == HDR_BACKUP ? second : image);
    }

    g_autoptr(GError) err = NULL;
    bool ok = false;
    switch (op) {
    case HDR_BACKUP:
        ok = lb_luks_header_backup(image, second, yes, &err);
        break;
    case HDR_RESTORE:
        ok = lb_luks_header_restore(image, second, yes, force, &err);
        break;
    case HDR_DETACH:
        ok = lb_luks_header_detach(image, second, yes, &err);
        break;
    case HDR_ATTACH:
        ok = lb_luks_header_attach(image, second, yes, force, &err);
        break;
    }
    if (!ok) {
        bool hint = g_error_matches(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM) ||
                    g_error_matches(err, LB_BLOCK_ERROR, LB_BLOCK_ERROR_EXISTS);
        img_error("%s%s", err->message, hint ? " (confirm with -y/--yes)" : "");
        return 1;
    }
    return 0;
}

int img_header_backup(int argc, char **argv)
{
    return hdr_main(HDR_BACKUP, argc, argv);
}

int img_header_restore(int argc, char **argv)
{
    return hdr_main(HDR_RESTORE, argc, argv);
}

int img_header_detach(int argc, char **argv)
{
    return hdr_main(HDR_DETACH, argc, argv);
}

int img_header_attach(int argc, char **argv)
{
    return hdr_main(HDR_ATTACH, argc, argv);
}
