/*
 * header-ops.h: LUKS header operations that detached headers make
 * possible (block layer): back up, restore, detach, attach.
 *
 *   backup   copy the header area of IMAGE (attached image or header
 *            file) into a new file, mode 0600 (cryptsetup luksHeaderBackup)
 *   restore  write a backup over IMAGE's header area; a header of another
 *            volume (other UUID) needs @force (cryptsetup luksHeaderRestore)
 *   detach   move the header of an attached IMAGE into a new header file
 *            and wipe it from IMAGE; the payload offset is kept, no data
 *            moves: open with header=HEADER, file=IMAGE afterwards
 *   attach   copy a detached header whose payload offset leaves room for
 *            it back into the start of IMAGE
 *
 * Every operation validates the header it copies (no-keys open) before it
 * writes anything, and overwrites existing data only when @confirmed.
 */
#ifndef LB_HEADER_OPS_H
#define LB_HEADER_OPS_H

#include <stdbool.h>
#include <glib.h>

bool lb_luks_header_backup(const char *image, const char *backup,
                           bool confirmed, GError **errp);
bool lb_luks_header_restore(const char *image, const char *backup,
                            bool confirmed, bool force, GError **errp);
bool lb_luks_header_detach(const char *image, const char *header,
                           bool confirmed, GError **errp);
bool lb_luks_header_attach(const char *image, const char *header,
                           bool confirmed, bool force, GError **errp);

#endif /* LB_HEADER_OPS_H */
