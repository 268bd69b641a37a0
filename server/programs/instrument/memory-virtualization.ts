/**
 * Hides the unwind buffer's pages from the program. The driver reserves the
 * top `reserved` pages of memory for Asyncify's data at the first checkpoint
 * (client/runtime/checkpointable/unwind-region.ts). An allocator that claims
 * "everything up to memory.size" on first use (wasi-libc's dlmalloc does;
 * so does AssemblyScript's TLSF) would otherwise take them when the first
 * checkpoint comes before its first allocation. So the program's
 * `memory.size` answers `size - reserved`, and its `memory.grow(n)` answers
 * `old - reserved`: the program sees exactly the memory it would without us,
 * and the reserved pages slide up, staying on top, as it grows. The pages it
 * gains from below the old top were reserved pages, which the driver keeps
 * zero while the program runs, as fresh pages must be.
 */
import { Added } from './added-names.ts';
import { B } from './binaryen-api.ts';
import type { Module } from './binaryen-api.ts';

/** Adds the reserved-pages global and the two helpers; call before the module has a second memory. */
export function addMemoryHelpers(m: Module): void {
  m.addGlobal(Added.reserved, B.i32, true, m.i32.const(0));
  const reserved = () => m.global.get(Added.reserved, B.i32);
  m.addFunction(Added.memorySize, B.none, B.i32, [], m.i32.sub(m.memory.size(), reserved()));
  const old = 1;
  m.addFunction(
    Added.memoryGrow,
    B.i32,
    B.i32,
    [B.i32],
    m.block(null, [
      m.local.set(old, m.memory.grow(m.local.get(0, B.i32))),
      m.if(m.i32.eq(m.local.get(old, B.i32), m.i32.const(-1)), m.return(m.i32.const(-1))),
      m.return(m.i32.sub(m.local.get(old, B.i32), reserved())),
    ]),
  );
}
