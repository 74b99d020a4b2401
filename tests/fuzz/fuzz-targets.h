/*
 * fuzz-targets.h: the fuzz harness functions, shared by the libFuzzer
 * programs (tests/fuzz/fuzz-main.c, clang -fsanitize=fuzzer) and the
 * regression test that replays saved inputs under gcc
 * (tests/unit/test-fuzz-regress.c).
 *
 * Each function takes one input, runs it through a parser the way real
 * input reaches it, and returns 0.  A bug shows as a crash, a sanitizer
 * report, an assertion, or a leak; nothing is printed on success.
 */
#ifndef LB_TESTS_FUZZ_TARGETS_H
#define LB_TESTS_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

typedef int (*LbFuzzFunc)(const uint8_t *data, size_t size);

typedef struct LbFuzzTarget {
    const char *name;   /* also the prefix of saved inputs: "luks1-..." */
    LbFuzzFunc fn;
} LbFuzzTarget;

/* LUKS1 header device: open without keys, then with a passphrase. */
int lb_fuzz_luks1(const uint8_t *data, size_t size);
/* LUKS2 header device; the checksums are fixed up before opening. */
int lb_fuzz_luks2(const uint8_t *data, size_t size);
/* LUKS2 JSON area text: decode, re-encode, and open in a 16 KiB header. */
int lb_fuzz_luks2_json(const uint8_t *data, size_t size);
/* util/opts: keyval, json: and filename option strings. */
int lb_fuzz_opts(const uint8_t *data, size_t size);
/* QMP input stream: splitter, JSON parse, request checks, validation. */
int lb_fuzz_qmp(const uint8_t *data, size_t size);
/* NBD server: one client stream (handshake, then requests) on a unix socket. */
int lb_fuzz_nbd(const uint8_t *data, size_t size);

/* NULL-terminated table of the targets above. */
extern const LbFuzzTarget lb_fuzz_targets[];
LbFuzzFunc lb_fuzz_find(const char *name);

#endif /* LB_TESTS_FUZZ_TARGETS_H */
