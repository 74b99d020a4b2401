/*
 * argon2.c: Argon2i/Argon2id key derivation for LUKS2 keyslots.
 *
 * LUKS-FORMAT.md §3.5: a LUKS2 argon2 keyslot maps onto libargon2's
 * argon2i_hash_raw()/argon2id_hash_raw() with t_cost = "time", m_cost =
 * "memory" (KiB), lanes = threads = "cpus", version 0x13 and no secret or
 * associated data; the output length is the keyslot's area key_size.
 * It runs through argon2_ctx() with our allocator: the working memory,
 * which holds password-derived state, is its own mapping, excluded from
 * core dumps and mlock()ed where the limit allows (libargon2 wipes it
 * before handing it back; munmap then returns it to the kernel).
 *
 * Calibration follows the idea of cryptsetup's benchmark: start with the
 * minimum cost (time 4, small memory), measure, and scale memory first (up
 * to the caller's bound) and then the time cost until one derivation takes
 * about the requested time.  Memory never exceeds @max_memory_kib, so a
 * calibration cannot exhaust the machine.
 */
#include "config.h"
#include "lb/crypto.h"

#include <argon2.h>
#include <string.h>
#include <sys/mman.h>

#include "lb/secret.h"

#define LB_ARGON2_MIN_TIME 4u
#define LB_ARGON2_MIN_MEMORY_KIB 32u
#define LB_ARGON2_MAX_MEMORY_KIB (4u * 1024 * 1024) /* 4 GiB */
#define LB_ARGON2_CALIBRATE_ROUNDS 16

/* libargon2 memory: a private mapping, locked where allowed, never in a
 * core dump.  Failure is reported, not fatal (the memory may be GiBs). */
static int argon2_mem_alloc(uint8_t **memory, size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        *memory = NULL;
        return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
#ifdef MADV_DONTDUMP
    (void)madvise(p, bytes, MADV_DONTDUMP);
#endif
    (void)mlock(p, bytes);
    *memory = p;
    return ARGON2_OK;
}

static void argon2_mem_free(uint8_t *memory, size_t bytes)
{
    /* libargon2 has wiped it (clear_internal_memory); munlock is
     * implied by munmap. */
    munmap(memory, bytes);
}

bool lb_argon2(LbArgon2Type type, const void *pass, size_t passlen,
               const guint8 *salt, size_t saltlen, uint32_t time_cost,
               uint32_t memory_kib, uint32_t parallel, guint8 *out,
               size_t outlen, GError **errp)
{
    int r;

    if (time_cost < 1 || parallel < 1 || memory_kib < 8u * parallel ||
        saltlen < ARGON2_MIN_SALT_LENGTH || outlen < ARGON2_MIN_OUTLEN) {
        g_set_error(errp, LB_CRYPTO_ERROR, LB_CRYPTO_ERROR_INVALID,
                    "invalid argon2 parameters (time %u, memory %u KiB, "
                    "threads %u, salt %zu bytes, output %zu bytes)",
                    time_cost, memory_kib, parallel, saltlen, outlen);
        return false;
    }
    /* libargon2 rejects a NULL password even when its length is 0. */
    if (!pass) {
        pass = "";
    }
    argon2_context ctx = {
        .out = out,
        .outlen = (uint32_t)MIN(outlen, UINT32_MAX),
        /* Not modified: ARGON2_FLAG_CLEAR_PASSWORD is not set. */
        .pwd = (uint8_t *)pass,
        .pwdlen = (uint32_t)MIN(passlen, UINT32_MAX),
        .salt = (uint8_t *)salt,
        .saltlen = (uint32_t)MIN(saltlen, UINT32_MAX),
        .t_cost = time_cost,
        .m_cost = memory_kib,
        .lanes = parallel,
        .threads = parallel,
        .version = ARGON2_VERSION_13,
        .allocate_cbk = argon2_mem_alloc,
        .free_cbk = argon2_mem_free,
        .flags = ARGON2_DEFAULT_FLAGS,
    };
    g_assert(type == LB_ARGON2I || type == LB_ARGON2ID);
    r = argon2_ctx(&ctx, type == LB_ARGON2I ? Argon2_i : Argon2_id);
    /* libargon2 wipes its memory blocks; wipe its stack frames too. */
    lb_stack_wipe(LB_STACK_WIPE_BYTES);
    if (r != ARGON2_OK) {
        lb_memzero(out, outlen);
        g_set_error(errp, LB_CRYPTO_ERROR,
                    r == ARGON2_MEMORY_ALLOCATION_ERROR
                        ? LB_CRYPTO_ERROR_FAILED
                        : LB_CRYPTO_ERROR_INVALID,
                    "argon2 failed: %s", argon2_error_message(r));
        return false;
    }
    return true;
}

/* One timed derivation with a dummy password; returns milliseconds. */
static bool argon2_measure(LbArgon2Type type, uint32_t t, uint32_t m,
                           uint32_t p, size_t outlen, uint64_t *ms,
                           GError **errp)
{
    static const guint8 salt[32] = {0};
    guint8 out[512];
    gint64 start = g_get_monotonic_time();

    if (!lb_argon2(type, "luksblk-benchmark", 17, salt, sizeof(salt), t, m, p,
                   out, MIN(outlen, sizeof(out)), errp)) {
        return false;
    }
    *ms = (uint64_t)(g_get_monotonic_time() - start) / 1000;
    lb_memzero(out, sizeof(out));
    return true;
}

/*
 * Spread a cost budget of @units (time x memory, in KiB passes) over time
 * and memory: memory first up to the bound, then time (cryptsetup's
 * preference), never below the minimums.
 */
static void argon2_split(uint64_t units, uint32_t min_m, uint32_t max_m,
                         uint32_t *t, uint32_t *m)
{
    uint64_t want_m = units / LB_ARGON2_MIN_TIME;

    if (want_m <= max_m) {
        *t = LB_ARGON2_MIN_TIME;
        *m = (uint32_t)MAX(want_m, (uint64_t)min_m);
    } else {
        *m = max_m;
        *t = (uint32_t)MIN(MAX(units / max_m, (uint64_t)LB_ARGON2_MIN_TIME),
                           (uint64_t)UINT32_MAX);
    }
}

bool lb_argon2_calibrate(LbArgon2Type type, uint64_t ms,
                         uint32_t max_memory_kib, uint32_t parallel,
                         size_t outlen, uint32_t *time_cost,
                         uint32_t *memory_kib, GError **errp)
{
    uint32_t min_m, max_m, t = LB_ARGON2_MIN_TIME, m;
    uint64_t took = 0;

    if (parallel < 1) {
        parallel = 1;
    }
    min_m = MAX(LB_ARGON2_MIN_MEMORY_KIB, 8u * parallel);
    max_m = MIN(max_memory_kib, LB_ARGON2_MAX_MEMORY_KIB);
    if (max_m < min_m) {
        max_m = min_m;
    }
    if (ms == 0) {
        ms = 1;
    }

    /*
     * Cheap probes first: grow the cost eightfold until one derivation
     * takes at least an eighth of the target (or a bound is reached), so
     * that the measurement is long enough to extrapolate from.
     */
    m = MIN(max_m, MAX(min_m, 1024u));
    for (int round = 0; round < LB_ARGON2_CALIBRATE_ROUNDS; round++) {
        if (!argon2_measure(type, t, m, parallel, outlen, &took, errp)) {
            g_prefix_error(errp, "argon2 benchmark: ");
            return false;
        }
        took = MAX(took, 1);
        if (took * 8 >= ms) {
            break;
        }
        argon2_split((uint64_t)t * m * 8, min_m, max_m, &t, &m);
    }
    /* Extrapolate linearly in time x memory, check once, correct once. */
    for (int pass = 0; pass < 2; pass++) {
        uint64_t units = (uint64_t)t * m * ms / took;
        uint32_t nt, nm;
        argon2_split(units, min_m, max_m, &nt, &nm);
        if (pass == 1 || (nt == t && nm == m)) {
            t = nt;
            m = nm;
            break;
        }
        t = nt;
        m = nm;
        if (!argon2_measure(type, t, m, parallel, outlen, &took, errp)) {
            g_prefix_error(errp, "argon2 benchmark: ");
            return false;
        }
        took = MAX(took, 1);
    }
    *time_cost = t;
    *memory_kib = m;
    return true;
}
