/* Benchmark kernel, compute-heavy: a gravitational n-body simulation of 64
 * bodies, O(n^2) force sums per step kept in registers; memory is written
 * only once per body per step, so the poll at each loop header and the
 * Asyncify instrumentation of the loops dominate what the checkpointing
 * costs. Prints the final energy and a hash of the positions' bits.
 *
 *   usage: nbody [STEPS]   (default 32000: what the bench times; its
 *   checkpointed runs pass more, so that they last seconds) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../kernel-args.h"

#define BODIES 64
#define STEPS 32000

static double px[BODIES], py[BODIES], pz[BODIES], vx[BODIES], vy[BODIES], vz[BODIES], mass[BODIES];

static uint64_t bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static void init(void) {
  uint32_t s = 2463534242u;
  for (int i = 0; i < BODIES; i++) {
    double r[7];
    for (int k = 0; k < 7; k++) {
      s ^= s << 13, s ^= s >> 17, s ^= s << 5;
      r[k] = (double)(s >> 8) / 16777216.0;
    }
    px[i] = r[0] * 10 - 5, py[i] = r[1] * 10 - 5, pz[i] = r[2] * 10 - 5;
    vx[i] = r[3] - 0.5, vy[i] = r[4] - 0.5, vz[i] = r[5] - 0.5;
    mass[i] = 0.5 + r[6];
  }
}

static void step(double dt) {
  for (int i = 0; i < BODIES; i++) {
    double ax = 0, ay = 0, az = 0;
    for (int j = 0; j < BODIES; j++) {
      double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
      double d2 = dx * dx + dy * dy + dz * dz + 0.01;
      double inv = mass[j] / (d2 * sqrt(d2));
      ax += dx * inv, ay += dy * inv, az += dz * inv;
    }
    vx[i] += ax * dt, vy[i] += ay * dt, vz[i] += az * dt;
  }
  for (int i = 0; i < BODIES; i++) px[i] += vx[i] * dt, py[i] += vy[i] * dt, pz[i] += vz[i] * dt;
}

static double energy(void) {
  double e = 0;
  for (int i = 0; i < BODIES; i++) {
    e += 0.5 * mass[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
    for (int j = i + 1; j < BODIES; j++) {
      double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
      e -= mass[i] * mass[j] / sqrt(dx * dx + dy * dy + dz * dz + 0.01);
    }
  }
  return e;
}

int main(int argc, char **argv) {
  uint32_t steps = STEPS;
  if ((argc > 1 && !parse_positive(argv[1], &steps)) || argc > 2) {
    fprintf(stderr, "usage: %s [STEPS]\n", argv[0]);
    return 2;
  }
  init();
  double before = energy();
  for (uint32_t s = 0; s < steps; s++) step(0.001);
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < BODIES; i++) h = ((h ^ bits(px[i])) * 0x100000001b3ull ^ bits(py[i]) ^ bits(pz[i])) * 0x100000001b3ull;
  printf("nbody steps=%u energy=%.17g -> %.17g hash=%016llx\n", (unsigned)steps, before, energy(), (unsigned long long)h);
  return 0;
}
