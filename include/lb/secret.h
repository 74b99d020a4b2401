/*
 * secret.h: locked, wiped memory for key material (util layer).
 *
 * Every passphrase, derived key, split key or volume key lives in an
 * LbSecret: zero-filled, mlock()ed where the system allows, excluded from
 * core dumps, and wiped with explicit_bzero() before it is freed.
 */
#ifndef LB_SECRET_H
#define LB_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

typedef struct LbSecret LbSecret;

/**
 * lb_secret_new: allocate @len zeroed bytes of locked memory.
 * @len may be 0 (an empty passphrase).  Never returns NULL.
 * Returns: (transfer full) the secret.
 */
LbSecret *lb_secret_new(size_t len);
/** lb_secret_new_from: a new secret holding a copy of @data[0..len). */
LbSecret *lb_secret_new_from(const void *data, size_t len);
/** lb_secret_dup: a new secret with the same bytes as @s. */
LbSecret *lb_secret_dup(const LbSecret *s);
guint8 *lb_secret_data(LbSecret *s);
const guint8 *lb_secret_cdata(const LbSecret *s);
size_t lb_secret_len(const LbSecret *s);
/** lb_secret_free: wipe, unlock and free; accepts NULL. */
void lb_secret_free(LbSecret *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LbSecret, lb_secret_free)

/** lb_memzero: wipe @len bytes at @p in a way the compiler keeps. */
void lb_memzero(void *p, size_t len);
/**
 * lb_stack_wipe: wipe @len bytes (at most 16 KiB) of the stack just below
 * the caller's frame, where the functions it called kept their locals.
 * Call it after a library routine that leaves key material in its stack
 * frames (nettle's PBKDF2 and hash compression functions, key setup).
 */
void lb_stack_wipe(size_t len);
#define LB_STACK_WIPE_BYTES (16 * 1024)
/** lb_memeq_consttime: compare in time independent of the contents. */
bool lb_memeq_consttime(const void *a, const void *b, size_t len);

#endif /* LB_SECRET_H */
