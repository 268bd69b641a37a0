/* Benchmark kernel, allocator-heavy: malloc/free churn of varied sizes
 * (mostly small, some of a few KiB, rarely 64 KiB) over a table of live
 * blocks, each block touched only at its ends, so wasi-libc's dlmalloc (its
 * bins, headers and loops) is where the time goes. Prints a checksum of what
 * it read back, and how many allocations failed (none should).
 *
 *   usage: alloc [STEPS]   (default 9000000: what the bench times; its
 *   checkpointed runs pass more, so that they last seconds) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kernel-args.h"

#define SLOTS 4096
#define STEPS 9000000

static uint32_t state = 88172645u;
static uint32_t next(void) {
  state ^= state << 13, state ^= state >> 17, state ^= state << 5;
  return state;
}

static uint32_t size_of(uint32_t r) {
  uint32_t kind = r & 63;
  if (kind == 0) return 4096 + (r >> 6) % 65536;
  if (kind < 8) return 256 + (r >> 6) % 4096;
  return 8 + (r >> 6) % 248;
}

int main(int argc, char **argv) {
  uint32_t steps = STEPS;
  if ((argc > 1 && !parse_positive(argv[1], &steps)) || argc > 2) {
    fprintf(stderr, "usage: %s [STEPS]\n", argv[0]);
    return 2;
  }
  static uint32_t *blocks[SLOTS];
  static uint32_t sizes[SLOTS];
  uint32_t checksum = 0, failed = 0;
  for (uint32_t step = 0; step < steps; step++) {
    uint32_t r = next();
    uint32_t slot = r % SLOTS;
    if (blocks[slot]) {
      uint32_t words = sizes[slot] / 4;
      checksum = checksum * 31u + blocks[slot][0] + blocks[slot][words - 1];
      free(blocks[slot]);
      blocks[slot] = 0;
    }
    if (r & 0x80000000u) {
      uint32_t size = size_of(next());
      uint32_t *p = malloc(size);
      if (!p) {
        failed++;
        continue;
      }
      p[0] = r, p[size / 4 - 1] = r ^ size;
      blocks[slot] = p, sizes[slot] = size;
    }
  }
  for (int i = 0; i < SLOTS; i++) free(blocks[i]);
  printf("alloc steps=%u checksum=%08x failed=%u\n", (unsigned)steps, (unsigned)checksum, (unsigned)failed);
  return failed ? 1 : 0;
}
