/* Benchmark kernel, store-heavy: a 2-D Jacobi sweep over two 512 x 512
 * grids of doubles (4 MiB), every cell of one grid rewritten per sweep, so
 * nearly every instruction feeds a store and the write barrier is on the
 * hot path. Prints a checksum of the final grid's bits, which the benchmark
 * compares between the original and the instrumented module.
 *
 *   usage: stencil [SWEEPS]   (default 1500: what the bench times; its
 *   checkpointed runs pass more, so that they last seconds) */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../kernel-args.h"

#define N 512
#define SWEEPS 1500

static double a[N][N], b[N][N];

static uint64_t bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static void sweep(double (*restrict dst)[N], double (*restrict src)[N]) {
  for (int i = 1; i < N - 1; i++)
    for (int j = 1; j < N - 1; j++) dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1]);
}

int main(int argc, char **argv) {
  uint32_t sweeps = SWEEPS;
  if ((argc > 1 && !parse_positive(argv[1], &sweeps)) || argc > 2) {
    fprintf(stderr, "usage: %s [SWEEPS]\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) a[i][j] = b[i][j] = (i == 0 || j == 0) ? 1.0 : (double)((i * 31 + j * 17) % 97) / 97.0;
  for (uint32_t s = 0; s < sweeps; s += 2) {
    sweep(b, a);
    sweep(a, b);
  }
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) h = (h ^ bits(a[i][j])) * 0x100000001b3ull;
  printf("stencil sweeps=%u hash=%016llx center=%.17g\n", (unsigned)sweeps, (unsigned long long)h, a[N / 2][N / 2]);
  return 0;
}
