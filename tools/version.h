/*
 * tools/version.h: the --version text shared by luksblk-img, luksblk-io
 * and luksblk-storage-daemon, shaped like qemu-img's (program, version,
 * copyright line) plus one line naming the features of this build the way
 * `systemctl --version` does: +NAME built in, -NAME left out.
 *
 * A feature is "+" when config.h (meson.build) or the compiler flags
 * define its LB_HAVE_* macro; a layer that adds an optional feature
 * defines the macro and it shows up here without further edits.
 */
#ifndef LB_TOOLS_VERSION_H
#define LB_TOOLS_VERSION_H

#include <stdio.h>

#include "config.h"

#ifdef LB_HAVE_FUSE3
#define LB_FEAT_FUSE "+FUSE"
#else
#define LB_FEAT_FUSE "-FUSE"
#endif
#ifdef LB_HAVE_RBD
#define LB_FEAT_RBD "+rbd"
#else
#define LB_FEAT_RBD "-rbd"
#endif
#ifdef LB_HAVE_VHOST_USER
#define LB_FEAT_VHOST_USER "+vhost-user"
#else
#define LB_FEAT_VHOST_USER "-vhost-user"
#endif

/* LUKS1/LUKS2, argon2 (libargon2) and TLS (GnuTLS) are always built. */
#define LB_FEATURES                                                        \
    "+LUKS1 +LUKS2 +argon2 " LB_FEAT_FUSE " " LB_FEAT_RBD " "              \
    LB_FEAT_VHOST_USER " +TLS"

/* Print the --version text of @prog to stdout. Main thread, from main(). */
static inline void lb_tool_print_version(const char *prog)
{
    printf("%s version " LB_VERSION "\n"
           "Copyright (c) 2026 the luksblk developers\n"
           "Features: " LB_FEATURES "\n",
           prog);
}

#endif
