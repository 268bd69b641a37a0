/*
 * Estimates pi by Monte Carlo: SAMPLES points in the unit square, counting those
 * inside the quarter circle. Independent tasks: run it with a different SEED each.
 *
 *   usage: montecarlo-pi [SEED [SAMPLES]]
 *   prints: seed=SEED samples=SAMPLES inside=N pi=P
 *
 * Its generator is its own (xoshiro128** seeded by splitmix32 from SEED), not
 * random_get, so the output depends only on the arguments and examples/pi-js
 * computes exactly the same counts.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "grid.h"

#define DEFAULT_SAMPLES 40000000ULL

static uint32_t s[4];

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t splitmix32(uint32_t *x) {
  uint32_t z = (*x += 0x9e3779b9u);
  z = (z ^ (z >> 16)) * 0x85ebca6bu;
  z = (z ^ (z >> 13)) * 0xc2b2ae35u;
  return z ^ (z >> 16);
}

static uint32_t next(void) {
  uint32_t result = rotl(s[1] * 5, 7) * 9;
  uint32_t t = s[1] << 9;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 11);
  return result;
}

/* A double in [0, 1) from 53 random bits, exactly as in JavaScript. */
static double uniform(void) {
  uint32_t a = next() >> 5, b = next() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

/* Decimal digits only. (Not strtoull: libc's parser needs compiler-rt, which Debian's wasm toolchain lacks.) */
static int parse_u64(const char *text, uint64_t *out) {
  uint64_t value = 0;
  if (*text == '\0') return 0;
  for (; *text; text++) {
    if (*text < '0' || *text > '9' || value > (UINT64_MAX - 9) / 10) return 0;
    value = value * 10 + (uint64_t)(*text - '0');
  }
  *out = value;
  return 1;
}

int main(int argc, char **argv) {
  uint64_t seed = 1, samples = DEFAULT_SAMPLES;
  if ((argc > 1 && !parse_u64(argv[1], &seed)) || (argc > 2 && !parse_u64(argv[2], &samples)) || argc > 3) {
    fprintf(stderr, "usage: %s [SEED [SAMPLES]]\n", argv[0]);
    return 2;
  }
  uint32_t x = (uint32_t)seed;
  for (int i = 0; i < 4; i++) s[i] = splitmix32(&x);

  uint64_t inside = 0, chunk = samples / 100 + 1;
  for (uint64_t done = 0; done < samples;) {
    uint64_t end = done + chunk < samples ? done + chunk : samples;
    for (; done < end; done++) {
      double px = uniform(), py = uniform();
      if (px * px + py * py <= 1.0) inside++;
    }
    grid_progress((double)done / (double)samples);
  }
  printf("seed=%" PRIu64 " samples=%" PRIu64 " inside=%" PRIu64 " pi=%.6f\n", seed, samples, inside,
         samples ? 4.0 * (double)inside / (double)samples : 0.0);
  return 0;
}
