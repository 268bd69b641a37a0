/* The bench kernels' one optional argument: how much work to do (wasm.bench.ts
 * gives ten times the posted work to the checkpointed runs). */
#ifndef KERNEL_ARGS_H
#define KERNEL_ARGS_H

#include <stdint.h>

/* Decimal digits only (not strtol: libc's parser needs compiler-rt, which Debian's wasm toolchain lacks). */
static int parse_positive(const char *text, uint32_t *out) {
  uint32_t value = 0;
  if (*text == '\0') return 0;
  for (; *text; text++) {
    if (*text < '0' || *text > '9' || value > 100000000u) return 0;
    value = value * 10 + (uint32_t)(*text - '0');
  }
  if (value == 0) return 0;
  *out = value;
  return 1;
}

#endif
