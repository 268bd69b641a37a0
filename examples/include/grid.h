/*
 * The grid's imports for C programs (module "grid"; see the Program ABI in API.md).
 * Include this header and build as a WASI command:
 *   clang --target=wasm32-wasi -O2 -I examples/include program.c -o program.wasm
 * Only the functions a program calls become imports.
 */
#ifndef GRID_H
#define GRID_H

#include <stdint.h>

#define GRID_IMPORT(name) __attribute__((import_module("grid"), import_name(#name)))

/* This rank, 0-based. */
GRID_IMPORT(rank) int32_t grid_rank(void);
/* Number of ranks. */
GRID_IMPORT(size) int32_t grid_size(void);
/* Queues a message of `len` bytes to rank `to`; 0 on success. */
GRID_IMPORT(send) int32_t grid_send(int32_t to, const void *data, int32_t len);
/* Blocks until the next message from rank `from` arrives and copies it to `buf`;
   returns its length, negative if it is longer than `cap`. */
GRID_IMPORT(recv) int32_t grid_recv(int32_t from, void *buf, int32_t cap);
/* Waits until every rank reaches it. */
GRID_IMPORT(barrier) void grid_barrier(void);
/* Reports progress, 0 to 1. */
GRID_IMPORT(progress) void grid_progress(double fraction);

#endif
