/* Benchmark kernel, recursion-heavy: a plain recursive quicksort (down to
 * single elements, no insertion-sort cutoff) of 1M pseudo-random integers,
 * a few times. Millions of short calls of a function on a call-graph cycle,
 * so the poll at its entry and Asyncify's instrumentation of it are on the
 * hot path, as in real divide-and-conquer code. Prints a hash of the sorted
 * arrays and whether each was sorted.
 *
 *   usage: qsort [ROUNDS]   (default 3: what the bench times; its
 *   checkpointed runs pass more, so that they last seconds) */
#include <stdint.h>
#include <stdio.h>

#include "../kernel-args.h"

#define COUNT (1 << 20)
#define ROUNDS 3

static uint32_t v[COUNT];

static void sort(uint32_t *a, int32_t lo, int32_t hi) {
  if (lo >= hi) return;
  uint32_t pivot = a[lo + (hi - lo) / 2];
  int32_t i = lo, j = hi;
  while (i <= j) {
    while (a[i] < pivot) i++;
    while (a[j] > pivot) j--;
    if (i <= j) {
      uint32_t t = a[i];
      a[i++] = a[j];
      a[j--] = t;
    }
  }
  sort(a, lo, j);
  sort(a, i, hi);
}

int main(int argc, char **argv) {
  uint32_t rounds = ROUNDS;
  if ((argc > 1 && !parse_positive(argv[1], &rounds)) || argc > 2) {
    fprintf(stderr, "usage: %s [ROUNDS]\n", argv[0]);
    return 2;
  }
  uint64_t h = 0xcbf29ce484222325ull;
  uint32_t s = 362436069u, unsorted = 0;
  for (uint32_t round = 0; round < rounds; round++) {
    for (int k = 0; k < COUNT; k++) {
      s ^= s << 13, s ^= s >> 17, s ^= s << 5;
      v[k] = s;
    }
    sort(v, 0, COUNT - 1);
    for (int k = 0; k < COUNT; k++) {
      if (k > 0 && v[k - 1] > v[k]) unsorted++;
      h = (h ^ v[k]) * 0x100000001b3ull;
    }
  }
  printf("qsort rounds=%u count=%d hash=%016llx unsorted=%u\n", (unsigned)rounds, COUNT, (unsigned long long)h, (unsigned)unsorted);
  return unsorted ? 1 : 0;
}
