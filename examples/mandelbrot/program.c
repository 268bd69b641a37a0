/*
 * Renders the Mandelbrot set over [-2.5, 1] x [-1.25, 1.25] and prints, for every
 * row, the sum of its escape iterations and an FNV-1a hash of them, then a final
 * checksum over the whole image. Compute-heavy, output-light, fully deterministic.
 *
 *   usage: mandelbrot [WIDTH [HEIGHT [MAXITER]]]
 *   prints: row=Y iterations=N hash=H   (HEIGHT lines)
 *           mandelbrot WIDTHxHEIGHT maxiter=M iterations=N hash=H
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "grid.h"

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* Decimal digits only. (Not strtol: libc's parser needs compiler-rt, which Debian's wasm toolchain lacks.) */
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

static uint32_t escape_iterations(double cr, double ci, uint32_t maxiter) {
  double zr = 0.0, zi = 0.0;
  uint32_t n = 0;
  while (n < maxiter && zr * zr + zi * zi <= 4.0) {
    double t = zr * zr - zi * zi + cr;
    zi = 2.0 * zr * zi + ci;
    zr = t;
    n++;
  }
  return n;
}

static uint32_t fnv1a(uint32_t hash, uint32_t value) {
  for (int i = 0; i < 4; i++) {
    hash ^= (value >> (8 * i)) & 0xffu;
    hash *= FNV_PRIME;
  }
  return hash;
}

int main(int argc, char **argv) {
  uint32_t width = 1024, height = 768, maxiter = 3000;
  if ((argc > 1 && !parse_positive(argv[1], &width)) || (argc > 2 && !parse_positive(argv[2], &height)) ||
      (argc > 3 && !parse_positive(argv[3], &maxiter)) || argc > 4) {
    fprintf(stderr, "usage: %s [WIDTH [HEIGHT [MAXITER]]] (positive integers)\n", argv[0]);
    return 2;
  }
  uint64_t total = 0;
  uint32_t image_hash = FNV_OFFSET;
  for (uint32_t y = 0; y < height; y++) {
    double ci = -1.25 + 2.5 * (y + 0.5) / height;
    uint64_t row_total = 0;
    uint32_t row_hash = FNV_OFFSET;
    for (uint32_t x = 0; x < width; x++) {
      double cr = -2.5 + 3.5 * (x + 0.5) / width;
      uint32_t n = escape_iterations(cr, ci, maxiter);
      row_total += n;
      row_hash = fnv1a(row_hash, n);
    }
    total += row_total;
    image_hash = fnv1a(image_hash, row_hash);
    printf("row=%" PRIu32 " iterations=%" PRIu64 " hash=%08" PRIx32 "\n", y, row_total, row_hash);
    grid_progress((double)(y + 1) / height);
  }
  printf("mandelbrot %" PRIu32 "x%" PRIu32 " maxiter=%" PRIu32 " iterations=%" PRIu64 " hash=%08" PRIx32 "\n", width,
         height, maxiter, total, image_hash);
  return 0;
}
