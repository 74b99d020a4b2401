/*
 * fuzz-main.c: the libFuzzer entry point of one harness; the build
 * compiles it once per target with LB_FUZZ_TARGET set to the harness
 * function (tests/fuzz/meson.build, clang -fsanitize=fuzzer only).
 */
#include "config.h"
#include "fuzz-targets.h"

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return LB_FUZZ_TARGET(data, size);
}
