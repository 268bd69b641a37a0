/*
 * A coupled example: Jacobi iterations for the 2-D heat equation on an N x N grid
 * of doubles, the rows striped over the job's ranks, halo rows exchanged with the
 * neighbouring ranks every iteration.
 *
 *   usage: jacobi N ITERS [PRINT_EVERY]     (3 <= N <= 4096, PRINT_EVERY default ITERS/10)
 *   prints (rank 0 only, every PRINT_EVERY iterations and after the last one):
 *     iter K checksum XXXXXXXXXXXXXXXX maxdiff XXXXXXXXXXXXXXXX
 *   then:
 *     done n=N iters=ITERS checksum XXXXXXXXXXXXXXXX hash XXXXXXXXXXXXXXXX
 *   each XXXXXXXXXXXXXXXX being the 64-bit pattern of a double in hex (hash: FNV-1a).
 *
 * The grid: row 0 (the top edge) is held at 100, column 0 at 50, the bottom row
 * and the last column at 0; the interior starts at values in [0, 1) from an
 * integer hash of the cell's index. An iteration replaces every interior cell by
 * 0.25 * (((up + down) + left) + right) of the previous grid.
 *
 * Decomposition: rank r of S owns rows [r*(N/S) + min(r, N%S), ...) -- N/S rows,
 * one more for the first N%S ranks; with S > N the ranks from N on own nothing
 * and only join the barriers. Every cell goes through the same floating-point
 * operations whatever S is, and the sums are combined in row order on rank 0, so
 * rank 0's output is the same bytes for any number of ranks.
 *
 *   checksum: the sum, in row order, of the row sums (each a sum from left to right)
 *   maxdiff:  the largest |new - old| over the interior in that iteration
 *   hash:     FNV-1a (64-bit) over the per-row FNV-1a hashes of the cells' bytes
 *
 * Building with GRID_SEQUENTIAL defined gives a program with no `grid` imports
 * (one rank, no messages): the sequential reference, test/fixtures/jacobi-seq.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GRID_SEQUENTIAL
static inline int32_t grid_rank(void) { return 0; }
static inline int32_t grid_size(void) { return 1; }
static inline int32_t grid_send(int32_t to, const void *data, int32_t len) { (void)to, (void)data, (void)len; return -1; }
static inline int32_t grid_recv(int32_t from, void *buf, int32_t cap) { (void)from, (void)buf, (void)cap; return -1; }
static inline void grid_barrier(void) {}
static inline void grid_progress(double fraction) { (void)fraction; }
#else
#include "grid.h"
#endif

/* A halo row or a rank's row sums is at most 4096 doubles (+1): one message of <= 32 KiB + 8. */
#define MAX_N 4096u
#define MAX_ITERS 100000000u

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull

static uint32_t n, iters, print_every;
static int32_t rank, size, active; /* active: the ranks that own rows, 0..active-1 */
static uint32_t first, count;      /* this rank's rows: [first, first + count) */
/* Local bands of (count + 2) rows: local row 0 is the halo above, count + 1 the halo below. */
static double *cur, *nxt;

/* Decimal digits only. (Not strtoul: libc's parser needs compiler-rt, which Debian's wasm toolchain lacks.) */
static int parse_u32(const char *text, uint32_t max, uint32_t *out) {
  uint32_t value = 0;
  if (*text == '\0') return 0;
  for (; *text; text++) {
    if (*text < '0' || *text > '9' || value > (max - 9) / 10) return 0;
    value = value * 10 + (uint32_t)(*text - '0');
  }
  if (value > max) return 0;
  *out = value;
  return 1;
}

static void die(const char *what) {
  fprintf(stderr, "jacobi rank %d: %s\n", (int)rank, what);
  exit(3);
}

static uint64_t bits(double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  return b;
}

/* An integer mix of the cell's index (lowbias32). */
static uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

static double initial(uint32_t i, uint32_t j) {
  if (i == 0) return 100.0;
  if (j == 0) return 50.0;
  if (i == n - 1 || j == n - 1) return 0.0;
  return (double)(hash32(i * n + j) & 0xffffu) / 65536.0;
}

static void rows_of(int32_t r, uint32_t *start, uint32_t *rows) {
  uint32_t base = n / (uint32_t)size, extra = n % (uint32_t)size, ur = (uint32_t)r;
  *rows = base + (ur < extra ? 1 : 0);
  *start = ur * base + (ur < extra ? ur : extra);
}

static void send_row(int32_t to, const double *row) {
  if (grid_send(to, row, (int32_t)(n * sizeof(double))) != 0) die("send failed");
}

static void recv_row(int32_t from, double *row) {
  if (grid_recv(from, row, (int32_t)(n * sizeof(double))) != (int32_t)(n * sizeof(double))) die("unexpected halo message");
}

/* Sends the first and last owned rows to the neighbours, then receives their rows into the halos. */
static void exchange_halos(void) {
  if (count == 0) return;
  int up = rank > 0, down = rank < active - 1;
  if (up) send_row(rank - 1, cur + (size_t)1 * n);
  if (down) send_row(rank + 1, cur + (size_t)count * n);
  if (up) recv_row(rank - 1, cur);
  if (down) recv_row(rank + 1, cur + (size_t)(count + 1) * n);
}

/* One Jacobi step over the owned interior rows, cur -> nxt; returns max |new - old| if asked. */
static double update(int with_diff) {
  double maxdiff = 0.0;
  for (uint32_t l = 1; l <= count; l++) {
    uint32_t g = first + l - 1;
    if (g == 0 || g == n - 1) continue;
    const double *up = cur + (size_t)(l - 1) * n, *row = cur + (size_t)l * n, *down = cur + (size_t)(l + 1) * n;
    double *out = nxt + (size_t)l * n;
    if (with_diff) {
      for (uint32_t j = 1; j < n - 1; j++) {
        double v = 0.25 * (((up[j] + down[j]) + row[j - 1]) + row[j + 1]);
        double d = v > row[j] ? v - row[j] : row[j] - v;
        if (d > maxdiff) maxdiff = d;
        out[j] = v;
      }
    } else {
      for (uint32_t j = 1; j < n - 1; j++) out[j] = 0.25 * (((up[j] + down[j]) + row[j - 1]) + row[j + 1]);
    }
  }
  double *t = cur;
  cur = nxt;
  nxt = t;
  return maxdiff;
}

/* Rank 0's buffers for the whole grid's row sums / row hashes, and everyone's message buffer. */
static double *all_sums;
static uint64_t *all_hashes;
static uint64_t *message;

/* Row sums of the owned rows (and, with the max diff, sent to rank 0); rank 0 prints the iter line. */
static void report(uint32_t iter, double maxdiff) {
  if (count > 0) {
    double *sums = rank == 0 ? all_sums : (double *)(message + 1);
    for (uint32_t l = 1; l <= count; l++) {
      const double *row = cur + (size_t)l * n;
      double s = 0.0;
      for (uint32_t j = 0; j < n; j++) s += row[j];
      sums[l - 1] = s;
    }
    if (rank != 0) {
      memcpy(message, &maxdiff, sizeof maxdiff);
      if (grid_send(0, message, (int32_t)((count + 1) * sizeof(double))) != 0) die("send failed");
    }
  }
  if (rank == 0) {
    for (int32_t r = 1; r < active; r++) {
      uint32_t start, rows;
      rows_of(r, &start, &rows);
      int32_t len = (int32_t)((rows + 1) * sizeof(double));
      if (grid_recv(r, message, len) != len) die("unexpected row sums message");
      double d;
      memcpy(&d, message, sizeof d);
      if (d > maxdiff) maxdiff = d;
      memcpy(all_sums + start, message + 1, rows * sizeof(double));
    }
    double total = 0.0;
    for (uint32_t i = 0; i < n; i++) total += all_sums[i];
    printf("iter %" PRIu32 " checksum %016" PRIx64 " maxdiff %016" PRIx64 "\n", iter, bits(total), bits(maxdiff));
    fflush(stdout);
  }
  grid_barrier();
}

static uint64_t fnv64(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * FNV64_PRIME;
  return h;
}

/* The final line: the checksum of the last report (all_sums) and a hash of every cell. */
static void finish(void) {
  uint64_t *hashes = rank == 0 ? all_hashes : message;
  for (uint32_t l = 1; l <= count; l++) hashes[l - 1] = fnv64(FNV64_OFFSET, cur + (size_t)l * n, n * sizeof(double));
  if (rank != 0 && count > 0 && grid_send(0, message, (int32_t)(count * sizeof(uint64_t))) != 0) die("send failed");
  if (rank == 0) {
    for (int32_t r = 1; r < active; r++) {
      uint32_t start, rows;
      rows_of(r, &start, &rows);
      int32_t len = (int32_t)(rows * sizeof(uint64_t));
      if (grid_recv(r, all_hashes + start, len) != len) die("unexpected row hashes message");
    }
    double total = 0.0;
    for (uint32_t i = 0; i < n; i++) total += all_sums[i];
    uint64_t h = FNV64_OFFSET;
    for (uint32_t i = 0; i < n; i++) h = fnv64(h, &all_hashes[i], sizeof all_hashes[i]);
    printf("done n=%" PRIu32 " iters=%" PRIu32 " checksum %016" PRIx64 " hash %016" PRIx64 "\n", n, iters, bits(total), h);
    fflush(stdout);
  }
  grid_barrier();
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4 || !parse_u32(argv[1], MAX_N, &n) || n < 3 || !parse_u32(argv[2], MAX_ITERS, &iters) ||
      (argc > 3 && (!parse_u32(argv[3], MAX_ITERS, &print_every) || print_every == 0))) {
    fprintf(stderr, "usage: %s N ITERS [PRINT_EVERY]   (3 <= N <= %u, 0 <= ITERS <= %u, PRINT_EVERY >= 1)\n",
            argc > 0 ? argv[0] : "jacobi", MAX_N, MAX_ITERS);
    return 2;
  }
  if (argc <= 3) print_every = iters >= 10 ? iters / 10 : 1;
  rank = grid_rank();
  size = grid_size();
  if (size < 1 || rank < 0 || rank >= size) die("bad rank or size");
  active = (uint32_t)size < n ? size : (int32_t)n;
  if (rank < active) rows_of(rank, &first, &count);

  size_t band = (size_t)(count + 2) * n;
  cur = calloc(band, sizeof(double));
  nxt = calloc(band, sizeof(double));
  message = malloc((n + 1) * sizeof(uint64_t));
  if (rank == 0) {
    all_sums = malloc(n * sizeof(double));
    all_hashes = malloc(n * sizeof(uint64_t));
  }
  if (!cur || !nxt || !message || (rank == 0 && (!all_sums || !all_hashes))) die("out of memory");
  for (uint32_t l = 1; l <= count; l++)
    for (uint32_t j = 0; j < n; j++) cur[(size_t)l * n + j] = nxt[(size_t)l * n + j] = initial(first + l - 1, j);

  uint32_t progress_every = iters >= 100 ? iters / 100 : 1;
  if (iters == 0) report(0, 0.0);
  for (uint32_t iter = 1; iter <= iters; iter++) {
    int print = iter % print_every == 0 || iter == iters;
    exchange_halos();
    double maxdiff = update(print);
    if (print) report(iter, maxdiff);
    if (iter % progress_every == 0) grid_progress(iter / (double)iters);
  }
  finish();
  grid_progress(1.0);
  return 0;
}
